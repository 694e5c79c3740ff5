"""Agent workloads: many LLM calls per task over a growing context, and what a prefix cache saves.

Convention (stated, as the issue leaves it open): a task makes C calls; call k (1..C) sends the
shared prefix P (system prompt + tool definitions, the same for every task), the task's own new
tokens D per turn (user message, tool results) and the outputs O of the calls before it:

    input_k = P + k x D + (k - 1) x O.

So call 1 is P + D (a chatbot request when C = 1) and call k repeats call k-1's whole prompt and
output before adding D new tokens. Summed over a task (``E`` over the calls-per-task distribution):

    sum input   = E[C] P + D E[C(C+1)]/2 + O E[C(C-1)]/2
    sum reused  = E[C] P + (D + O) E[C(C-1)]/2            (every call reuses all but its D new tokens)

With prefix caching (vLLM automatic prefix caching, SGLang RadixAttention: Zheng et al.,
"SGLang", NeurIPS 2024) the reused tokens skip prefill if their KV blocks are still cached. The
cache is LRU over the KV memory the running batch does not use; under the characteristic-time
approximation of LRU (Che, Tung & Wang, IEEE JSAC 2002; Fagin 1977) a block survives if it is
re-used within T_C = cache tokens / tokens inserted per second. With exponentially distributed
gaps of mean G (think time between a task's calls; 1 / task rate for the shared prefix) the
probability it survives is P(gap < T_C) = 1 - exp(-T_C / G).

Hit rate = reused tokens actually served from cache / all input tokens. Block granularity (vLLM
hashes 16-token blocks) is ignored: it costs at most one block per call.
Task latency = sum over calls of (TTFT + (O - 1) x ITL) + (C - 1) x think time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DISTRIBUTIONS = ("fixed", "geometric")


@dataclass(frozen=True)
class AgentShape:
    """One agent workload in core units (validated at the boundary)."""

    tasks_per_s: float
    calls_per_task: float  # mean
    shared_prefix_tokens: int  # P
    context_growth_tokens: int  # D: new tokens per call (user turn, tool results)
    output_tokens: int  # O per call
    think_time_s: float = 0.0  # mean gap between a call's end and the task's next call
    distribution: str = "fixed"  # "fixed" (mean C, split between floor and ceil) or "geometric"
    max_calls: int = 0  # cap (agents' max-turns); 0 = none (geometric: 5 x mean, tail mass e^-5 ~ 0.7%)

    @property
    def calls_per_s(self) -> float:
        return self.tasks_per_s * mean_calls(self)


def calls_pmf(shape: AgentShape) -> tuple[tuple[int, float], ...]:
    """(calls, probability) pairs of the calls-per-task distribution.

    fixed: a non-integer mean m is split between floor(m) and ceil(m) so the mean is exact.
    geometric: P(C = k) = p (1-p)^(k-1) with p = 1/m (tasks end after each call with probability p),
    truncated at ``max_calls`` with the tail mass put on the cap (a max-turns limit).
    """
    m = shape.calls_per_task
    if shape.distribution == "fixed":
        low = math.floor(m)
        frac = m - low
        if shape.max_calls:
            low, frac = min(low, shape.max_calls), (frac if low < shape.max_calls else 0.0)
        if frac < 1e-12:
            return ((max(low, 1), 1.0),)
        return ((low, 1.0 - frac), (low + 1, frac)) if low >= 1 else ((1, 1.0),)
    p = 1.0 / m
    cap = shape.max_calls or max(1, math.ceil(5 * m))
    pmf = [(k, p * (1.0 - p) ** (k - 1)) for k in range(1, cap)]
    pmf.append((cap, (1.0 - p) ** (cap - 1)))
    return tuple((k, q) for k, q in pmf if q > 0.0)


def _moments(shape: AgentShape) -> tuple[float, float, float]:
    """E[C], E[C(C-1)]/2 and E[C(C+1)]/2 of the calls-per-task distribution."""
    pmf = calls_pmf(shape)
    mean = sum(k * q for k, q in pmf)
    pairs_before = sum(k * (k - 1) / 2.0 * q for k, q in pmf)
    pairs_incl = sum(k * (k + 1) / 2.0 * q for k, q in pmf)
    return mean, pairs_before, pairs_incl


def mean_calls(shape: AgentShape) -> float:
    return _moments(shape)[0]


def largest_calls(shape: AgentShape) -> int:
    return max(k for k, _ in calls_pmf(shape))


def call_input_tokens(shape: AgentShape, k: int) -> int:
    """Prompt tokens of call k (1-based): P + k D + (k-1) O."""
    return shape.shared_prefix_tokens + k * shape.context_growth_tokens + (k - 1) * shape.output_tokens


def max_context_tokens(shape: AgentShape) -> int:
    """Tokens the longest task's last call holds at its end (prompt + output)."""
    return call_input_tokens(shape, largest_calls(shape)) + shape.output_tokens


@dataclass(frozen=True)
class TokenFlow:
    """Mean tokens per call: prompt, reusable from the same task, reusable shared prefix."""

    mean_input_tokens: float
    task_reusable_tokens: float  # earlier prompt + outputs of the same task (calls 2..C), incl. P
    shared_reusable_tokens: float  # the shared prefix P on calls that are first of their task

    @property
    def reusable_fraction(self) -> float:
        """Hit rate with an unbounded cache: reusable / input."""
        if self.mean_input_tokens <= 0:
            return 0.0
        return (self.task_reusable_tokens + self.shared_reusable_tokens) / self.mean_input_tokens


def token_flow(shape: AgentShape) -> TokenFlow:
    """Per-call means from the task sums in the module docstring."""
    mean, before, incl = _moments(shape)
    p, d, o = shape.shared_prefix_tokens, shape.context_growth_tokens, shape.output_tokens
    total_input = mean * p + d * incl + o * before
    # calls 2..k of a task reuse call k-1's prompt + output: P + (k-1)(D+O)
    task_reused = (mean - 1.0) * p + (d + o) * before
    return TokenFlow(total_input / mean, task_reused / mean, p / mean)


def lru_survival(cache_tokens: float, insert_tokens_per_s: float, mean_gap_s: float) -> float:
    """Probability a cached prefix is still there after an exponential gap of mean ``mean_gap_s``.

    Characteristic time T_C = cache_tokens / insert rate (Che et al. 2002); P(gap < T_C) =
    1 - exp(-T_C / gap). No cache: 0. No gap (the next call follows at once): 1.
    """
    if cache_tokens <= 0.0:
        return 0.0
    if mean_gap_s <= 0.0 or insert_tokens_per_s <= 0.0:
        return 1.0
    t_c = cache_tokens / insert_tokens_per_s
    return 1.0 - math.exp(-t_c / mean_gap_s)


@dataclass(frozen=True)
class CacheOutcome:
    """Prefix-cache result for one replica at one operating point."""

    cache_tokens: float  # KV tokens available to cached prefixes
    insert_tokens_per_s: float  # tokens written into the cache per second (new prompt + output)
    task_survival: float  # P(a task's context survives its think time)
    shared_survival: float  # P(the shared prefix survives between two tasks)
    cached_tokens_per_call: float  # mean prompt tokens served from cache
    hit_rate: float  # cached / input tokens, 0..1


def cache_outcome(
    flow: TokenFlow,
    shape: AgentShape,
    *,
    cache_tokens: float,
    calls_per_s: float,
    enabled: bool = True,
) -> CacheOutcome:
    """Cached tokens per call on one replica serving ``calls_per_s`` calls.

    A task's context either survives its think time (all reusable tokens hit) or not (only the
    shared prefix, kept hot by every other task, may hit). Sticky routing is assumed: a task's
    calls go to the replica holding its context (SGLang router / prefix-aware routing).
    """
    if not enabled or flow.mean_input_tokens <= 0:
        return CacheOutcome(max(cache_tokens, 0.0), 0.0, 0.0, 0.0, 0.0, 0.0)
    calls = mean_calls(shape)
    new_per_call = flow.mean_input_tokens - flow.task_reusable_tokens - flow.shared_reusable_tokens
    insert = calls_per_s * (new_per_call + shape.output_tokens)
    task_survival = lru_survival(cache_tokens, insert, shape.think_time_s)
    task_rate = calls_per_s / calls if calls > 0 else 0.0
    shared_gap = 1.0 / task_rate if task_rate > 0 else 0.0
    shared_survival = lru_survival(cache_tokens, insert, shared_gap) if shape.shared_prefix_tokens else 0.0
    p = float(shape.shared_prefix_tokens)
    # of the task-reusable tokens, the (C-1)/C x P shared part may still hit if the context was evicted
    shared_in_task = p * (calls - 1.0) / calls
    cached = (
        task_survival * flow.task_reusable_tokens
        + (1.0 - task_survival) * shared_survival * shared_in_task
        + shared_survival * flow.shared_reusable_tokens
    )
    cached = min(cached, flow.mean_input_tokens)
    return CacheOutcome(
        cache_tokens=cache_tokens,
        insert_tokens_per_s=insert,
        task_survival=task_survival,
        shared_survival=shared_survival,
        cached_tokens_per_call=cached,
        hit_rate=min(1.0, max(0.0, cached / flow.mean_input_tokens)),
    )


def task_latency_s(shape: AgentShape, *, ttft_s: float, itl_s: float) -> float:
    """Mean time to complete a task: sum of call latencies plus the think time between calls."""
    calls = mean_calls(shape)
    per_call = ttft_s + max(shape.output_tokens - 1.0, 0.0) * itl_s
    return calls * per_call + max(calls - 1.0, 0.0) * shape.think_time_s
