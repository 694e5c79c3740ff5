"""What ``gpucast estimate`` is asked: one fixed deployment and one load (:class:`EstimateRequest`), and its checks.

Split from :mod:`gpucast.planning.estimate`, which runs it: the request's fields, defaults and validation (every
bad value one :class:`~gpucast.errors.InputError` naming the flag) are what the CLI, the REST body and the Python API
share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.engine_era import check_engine_version
from ..core.percentiles import LengthProfile, check_percentile
from ..core.workload import SLO
from ..errors import InputError
from ..inputs.length_profile import resolve_length_profile
from ..inputs.numbers import check_fraction, check_positive, plain_numbers, whole
from ..inputs.types import check_speculation, parse_precision

LOADS = ("concurrency", "request-rate", "max-throughput", "static-batch", "slo-capacity")
# slo-capacity's targets where none is given: the planner's (core.workload.SLO; p99, as inputs.types.ServingOptions)
DEFAULT_TTFT_SLO_MS, DEFAULT_ITL_SLO_MS, DEFAULT_SLO_PERCENTILE = 2000.0, 100.0, "99"
DEFAULT_PRECISION = "BF16"  # `estimate`'s weights without --precision when the checkpoint is not quantized (unchanged)


@dataclass
class EstimateRequest:
    """A fixed deployment and load. ``load_value`` is requests in flight (concurrency, across all
    replicas), requests/s (request-rate, across all replicas), or the batch (static-batch). ``slo-capacity`` takes no
    value: the load is the largest request rate the deployment serves within the SLO fields (the planner's capacity
    search on this one deployment: "how much traffic do my 8 H100s take?"). Token counts are whole numbers of at
    least 1 (a whole float such as 500.0 is taken as that int)."""

    gpu: str
    num_gpus: int
    input_tokens: int
    output_tokens: int
    load: str = "max-throughput"
    load_value: float | None = None
    model: str | None = None
    model_config: str | None = None
    tp: int | None = None
    pp: int = 1
    ep: int = 1  # expert-parallel groups among the TP GPUs (MoE, core.layout)
    attention_dp: int = 1  # attention data-parallel groups among the TP GPUs (MoE, core.layout)
    precision: str | None = None  # None: the published checkpoint's (FP8 for DeepSeek-V3/R1), else DEFAULT_PRECISION
    kv_precision: str | None = None
    engine: str = "vllm"
    # the engine release ("0.7.3"); None = the current one: an older release may run the model on earlier kernels
    # (core.engine_era, calibration.toml [eras.*])
    engine_version: str | None = None
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    max_num_seqs: int | None = None
    # a built-in profile name or a CSV of per-request lengths (issue 21): its means replace input/output tokens, and
    # the KV cache per sequence and the percentiles use the distribution
    length_profile: str | None = None
    # speculative decoding, as `inference` takes it: k drafted tokens per round, their acceptance rate, the proposer
    speculative_tokens: int = 0
    acceptance_rate: float | None = None
    draft_model: str = "mtp"
    # prompt tokens per request served from the prefix cache (an agent's repeated context, a shared system prompt):
    # only the rest is prefilled, as the planner's agent plans count it
    cached_input_tokens: float = 0.0
    # the targets of load="slo-capacity" (None: the planner's defaults, DEFAULT_*); refused with any other load
    ttft_slo_ms: float | None = None
    itl_slo_ms: float | None = None
    slo_percentile: str | None = None

    def __post_init__(self) -> None:
        plain_numbers(self)
        self.input_tokens, self.output_tokens = whole(self.input_tokens), whole(self.output_tokens)
        self.max_model_len = whole(self.max_model_len)
        if self.length_profile is not None:
            lengths = self.lengths
            assert lengths is not None
            self.input_tokens = max(1, round(lengths.mean_input))
            self.output_tokens = max(1, round(lengths.mean_output))

    @property
    def lengths(self) -> LengthProfile | None:
        """The request-length distribution (None: every request has input_tokens/output_tokens)."""
        if self.length_profile is None:
            return None
        if not isinstance(self.length_profile, str):
            raise InputError(f"--length-profile {self.length_profile!r} must be a profile name or a file path")
        return resolve_length_profile(self.length_profile)

    @property
    def longest(self) -> int:
        """The longest request (prompt + output) the engine must admit."""
        lengths = self.lengths
        return lengths.longest if lengths is not None else self.input_tokens + self.output_tokens

    def validate(self) -> None:
        if (self.model is None) == (self.model_config is None):
            raise InputError("give one of --model NAME and --model-config PATH (model= or model_config=)")
        for flag, value, required in (("--model", self.model, False), ("--model-config", self.model_config, False),
                                      ("--gpu", self.gpu, True), ("--engine", self.engine, True)):  # fmt: skip
            if (value is not None or required) and (not isinstance(value, str) or not value.strip()):
                raise InputError(f"{flag} {value!r} must be a non-empty string")
        check_positive("--num-gpus", self.num_gpus, integer=True, upper=100_000)
        check_positive("--input-tokens", self.input_tokens, integer=True, upper=10_000_000)
        check_positive("--output-tokens", self.output_tokens, integer=True, upper=1_000_000)
        if self.load not in LOADS:
            raise InputError(f"load {self.load!r} is not one of {', '.join(LOADS)}")
        self._check_slos()
        if self.load == "slo-capacity":
            if self.load_value is not None:
                raise InputError(f"load_value {self.load_value!r} is not used by slo-capacity (the load is the largest "
                                 "rate meeting the SLOs): leave it out")  # fmt: skip
        elif self.load != "max-throughput":
            if self.load_value is None:
                raise InputError(f"--{self.load} needs a value")
            check_positive(f"--{self.load}", self.load_value, upper=1e7)
            if self.load == "static-batch":  # a batch of sequences: 2.5 was run as 2.5 sequences, 1e-9 as one
                check_positive("--static-batch", whole(self.load_value), integer=True)
        elif self.load_value is not None and (type(self.load_value) not in (int, float) or self.load_value != 0):
            # 0 is the validation tables' "no value"; anything else was float()-ed ('abc': ValueError), echoed back
            # as NaN in the result's inputs, or (10) ignored: max-throughput is the default load, so a rate given
            # without load="request-rate" was answered at full load without a word
            raise InputError(
                f"load_value {self.load_value!r} is not used by max-throughput (the default load): give "
                'load="concurrency", "request-rate" or "static-batch" with it, or leave it out'
            )
        for flag, name in (("--precision", self.precision), ("--kv-precision", self.kv_precision)):
            if name is not None:  # "" and 0 were taken as "not given" (the engine's default KV precision)
                parse_precision(name, flag)
        if self.tp is not None:
            check_positive("--tp", self.tp, integer=True, upper=64)
        check_positive("--pp", self.pp, integer=True, upper=64)
        check_positive("--ep", self.ep, integer=True, upper=256)
        check_positive("--dp-attention", self.attention_dp, integer=True, upper=256)
        if self.gpu_memory_utilization is not None:
            check_fraction("--gpu-memory-utilization", self.gpu_memory_utilization)
        check_engine_version(self.engine_version)
        if self.max_model_len is not None:
            check_positive("--max-model-len", self.max_model_len, integer=True, upper=10_000_000)
            needed = self.longest
            if self.max_model_len < needed:
                what = (
                    "the length profile's longest request"
                    if self.length_profile
                    else "--input-tokens + --output-tokens"
                )
                raise InputError(
                    f"--max-model-len {self.max_model_len} is smaller than {what} = {needed}: "
                    "a request does not fit the engine's context"
                )
        if self.max_num_seqs is not None:
            check_positive("--max-num-seqs", self.max_num_seqs, integer=True, upper=1_000_000)
        check_speculation(self.speculative_tokens, self.acceptance_rate, self.draft_model)
        cached = self.cached_input_tokens
        if isinstance(cached, bool) or not isinstance(cached, (int, float)) or not 0 <= cached < self.input_tokens:
            said = f"{cached:g}" if isinstance(cached, (int, float)) and not isinstance(cached, bool) else repr(cached)
            raise InputError(
                f"--cached-input-tokens {said} must be a number of tokens from 0 to less than --input-tokens "
                f"({self.input_tokens}): at least one prompt token is prefilled"
            )
        self._check_parallelism()

    @property
    def slo(self) -> SLO:
        """The latency targets of ``slo-capacity`` (the planner's defaults where a field is None)."""
        return SLO(
            ttft_ms=DEFAULT_TTFT_SLO_MS if self.ttft_slo_ms is None else float(self.ttft_slo_ms),
            itl_ms=DEFAULT_ITL_SLO_MS if self.itl_slo_ms is None else float(self.itl_slo_ms),
            percentile=check_percentile(DEFAULT_SLO_PERCENTILE if self.slo_percentile is None else self.slo_percentile),
        )

    def _check_slos(self) -> None:
        """The SLO fields bound the slo-capacity search; with another load they would be ignored without a word."""
        given = [flag for flag, value in (("--ttft-slo-ms", self.ttft_slo_ms), ("--itl-slo-ms", self.itl_slo_ms),
                                          ("--slo-percentile", self.slo_percentile)) if value is not None]  # fmt: skip
        if given and self.load != "slo-capacity":
            raise InputError(f"{', '.join(given)} bound --slo-capacity (the largest rate within the SLOs); "
                             f"--{self.load} takes no latency target")  # fmt: skip
        if self.ttft_slo_ms is not None:
            check_positive("--ttft-slo-ms", self.ttft_slo_ms, upper=1e7)
        if self.itl_slo_ms is not None:
            check_positive("--itl-slo-ms", self.itl_slo_ms, upper=1e6)
        if self.slo_percentile is not None:
            try:
                check_percentile(self.slo_percentile)
            except ValueError as error:
                raise InputError(f"--slo-percentile {error}") from error

    def _check_parallelism(self) -> None:
        """A replica spans TP x PP GPUs, so --num-gpus must hold a whole number of them (at least one)."""
        if self.pp > self.num_gpus:
            raise InputError(
                f"--pp {self.pp} is more than --num-gpus {self.num_gpus}: one replica spans TP x PP GPUs, so "
                "--num-gpus must be a multiple of TP x PP"
            )
        if self.tp is not None and self.tp * self.pp > self.num_gpus:
            raise InputError(
                f"TP x PP = {self.tp * self.pp} (--tp {self.tp}, --pp {self.pp}) is more than --num-gpus "
                f"{self.num_gpus}: --num-gpus must be a multiple of TP x PP"
            )
        if self.num_gpus % self.pp:
            raise InputError(
                f"--num-gpus {self.num_gpus} is not a multiple of --pp {self.pp} (GPUs beyond TP x PP are replicas)"
            )


def plan_request_shape(plan: dict[str, Any]) -> dict[str, Any]:
    """The request shape of a serving plan as :class:`EstimateRequest` fields: an agent plan's one call of its mean
    prompt with the cached part served from the prefix cache, a length profile by name, or the average lengths; plus
    its speculative decoding. One reading for the two places that re-state a plan to ``estimate``: the re-check
    command (``export.recheck.estimate_argv``) and the conversation's fleet of GPUs the user has (``chat.owned``)."""
    inputs, agent = plan["inputs"], plan.get("agent")
    shape: dict[str, Any]
    if agent:
        shape = {"input_tokens": round(float(agent["mean_input_tokens_per_call"])),
                 "output_tokens": agent["output_tokens_per_call"],
                 "cached_input_tokens": float(agent["cached_tokens_per_call"])}  # fmt: skip
    elif inputs.get("length_profile"):
        shape = {"length_profile": inputs["length_profile"]}
    else:
        shape = {"input_tokens": inputs["avg_input_tokens"], "output_tokens": inputs["avg_output_tokens"]}
    if inputs.get("speculative_tokens"):
        shape |= {"speculative_tokens": inputs["speculative_tokens"], "acceptance_rate": inputs["acceptance_rate"],
                  "draft_model": inputs["draft_model"]}  # fmt: skip
    return shape
