"""The agent workload input (config section ``agent``, ``--tasks-per-second`` and its flags) and its validation.

Split from ``inputs.types``: ``LLMWorkloadInput.for_agent`` turns it into a request-level workload; the core's
``core.agent`` holds the token-flow formulas it hands on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..core.agent import DISTRIBUTIONS, AgentShape, mean_calls, token_flow
from ..errors import InputError
from .numbers import check_flag, check_positive, plain_numbers, whole

MAX_CALLS_PER_TASK = 1_000_000  # = web.schemas' bound on max_calls_per_task


@dataclass
class AgentWorkloadInput:
    """An agent workload (config section ``agent``): tasks of several LLM calls over a growing context.

    Call k of a task sends ``shared_prefix_tokens`` + k x ``context_growth_tokens`` + (k-1) x output
    tokens (core/agent.py). ``output_tokens_per_call`` defaults to the workload's avg_output_tokens.
    """

    tasks_per_second: float
    calls_per_task: float = 1.0
    shared_prefix_tokens: int = 0
    context_growth_tokens: int = 0
    output_tokens_per_call: int | None = None
    think_time_s: float = 0.0
    calls_distribution: str = "fixed"
    max_calls_per_task: int | None = None
    prefix_caching: bool = True
    prefix_cache_gib: float | None = None  # KV memory per GPU for cached prefixes (default: what is free)
    task_latency_slo_ms: float | None = None

    def __post_init__(self) -> None:
        plain_numbers(self)
        self.shared_prefix_tokens = whole(self.shared_prefix_tokens)
        self.context_growth_tokens = whole(self.context_growth_tokens)
        self.output_tokens_per_call = whole(self.output_tokens_per_call)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentWorkloadInput:
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise InputError(f"agent.{key} is not a known key (accepted: {', '.join(sorted(known))})")
        if "tasks_per_second" not in data:
            raise InputError("agent.tasks_per_second (--tasks-per-second) is required for an agent workload")
        return cls(**data)

    def validate(self, output_tokens: int | None = None) -> None:
        check_positive("agent.tasks_per_second (--tasks-per-second)", self.tasks_per_second, upper=1e7)
        check_positive("agent.calls_per_task (--calls-per-task)", self.calls_per_task, upper=10_000)
        if self.calls_per_task < 1:
            raise InputError(f"agent.calls_per_task (--calls-per-task) {self.calls_per_task!r} must be at least 1")
        for name, value in (
            ("agent.shared_prefix_tokens (--shared-prefix-tokens)", self.shared_prefix_tokens),
            ("agent.context_growth_tokens (--context-growth-tokens)", self.context_growth_tokens),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
                raise InputError(f"{name} {value!r} must be a whole number between 0 and 10000000")
        if self.shared_prefix_tokens + self.context_growth_tokens <= 0:
            raise InputError(
                "agent: --shared-prefix-tokens + --context-growth-tokens must be at least 1 (the first call's prompt)"
            )
        if self.output_tokens_per_call is not None:
            check_positive("agent.output_tokens_per_call", self.output_tokens_per_call, integer=True, upper=1_000_000)
        t = self.think_time_s
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not (0 <= t <= 1e6):
            raise InputError(f"agent.think_time_s (--think-time-s) {t!r} must be a number of seconds from 0 to 1000000")
        if self.calls_distribution not in DISTRIBUTIONS:
            raise InputError(
                f"agent.calls_distribution (--calls-distribution) {self.calls_distribution!r} is not one of "
                f"{', '.join(DISTRIBUTIONS)}"
            )
        if self.max_calls_per_task is not None:
            # the REST body's bound: the geometric distribution lists every count up to the cap, so 10**12 filled
            # the memory until the process was killed (CLI and Python API alike)
            check_positive(
                "agent.max_calls_per_task (--max-calls-per-task)",
                self.max_calls_per_task,
                integer=True,
                upper=MAX_CALLS_PER_TASK,
            )
        check_flag("agent.prefix_caching", self.prefix_caching)
        if self.prefix_cache_gib is not None:
            check_positive("agent.prefix_cache_gib (--prefix-cache-gib)", self.prefix_cache_gib, upper=1e6)
            if not self.prefix_caching:
                raise InputError(
                    f"agent.prefix_cache_gib (--prefix-cache-gib) {self.prefix_cache_gib:g} sizes the prefix cache, "
                    "which --no-prefix-caching (agent.prefix_caching = false) turns off: give one or the other"
                )
        if self.task_latency_slo_ms is not None:
            check_positive("agent.task_latency_slo_ms (--task-slo-ms)", self.task_latency_slo_ms, upper=1e9)
        if self.output_tokens_per_call is None and output_tokens is None:
            raise InputError("agent: give --output-tokens (output tokens per call)")

    def shape(self, output_tokens: int) -> AgentShape:
        """The core's view; ``output_tokens`` is used when output_tokens_per_call is not set."""
        return AgentShape(
            tasks_per_s=float(self.tasks_per_second),
            calls_per_task=float(self.calls_per_task),
            shared_prefix_tokens=self.shared_prefix_tokens,
            context_growth_tokens=self.context_growth_tokens,
            output_tokens=self.output_tokens_per_call or output_tokens,
            think_time_s=float(self.think_time_s),
            distribution=self.calls_distribution,
            max_calls=self.max_calls_per_task or 0,
        )

    def derived(self, output_tokens: int) -> tuple[float, int]:
        """(LLM calls per second, mean input tokens per call, rounded): the request-level workload."""
        shape = self.shape(output_tokens)
        return shape.tasks_per_s * mean_calls(shape), max(1, round(token_flow(shape).mean_input_tokens))
