"""What a plan is asked: the load and request shape, the latency targets and the planning policy.

Shared by the configuration (``inference``), its capacity search (``capacity``) and the fleet (``fleet``); a module
of its own so that the search can read the targets without importing the module that calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .memory import MemorySettings
from .percentiles import LengthProfile
from .serving import OperatingPoint
from .specs import GPUSpec, LargeGPUDefault


@dataclass(frozen=True)
class Workload:
    """Average load and request shape (the seed's LLMWorkloadInput, in core units)."""

    requests_per_s: float
    input_tokens: int
    output_tokens: int
    peak_multiplier: float = 1.5
    growth_rate_percent: float = 0.0  # expected growth over the planning horizon
    lengths: LengthProfile | None = None  # request-length distribution (input/output tokens are its means); None: fixed

    @property
    def peak_requests_per_s(self) -> float:
        return self.requests_per_s * self.peak_multiplier * (1.0 + self.growth_rate_percent / 100.0)


@dataclass(frozen=True)
class SLO:
    """Latency targets. Defaults: TTFT 2 s (MLPerf Llama-2-70B server scenario: p99 TTFT <= 2 s), ITL 100 ms
    (10 tokens/s, faster than reading speed; MLPerf's p99 TPOT limit is 200 ms); E2E only when the seed's
    --target-latency is set. ``itl_ms`` bounds the mean ITL at "mean" and the per-request TPOT at a percentile.
    ``percentile``: the statistic every target bounds ("mean", or "50"/"90"/"95"/"99"; core.tails). The core's
    default is the mean (the mean model alone); the product's default is p99 (inputs.types.ServingOptions)."""

    ttft_ms: float = 2000.0
    itl_ms: float = 100.0
    e2e_ms: float | None = None
    percentile: str = "mean"

    def latencies(self, point: OperatingPoint) -> tuple[float, float, float]:
        """(TTFT, token latency, E2E) seconds of ``point`` at this percentile: its tail's where it has one, else its
        means. At a percentile the token latency is the per-request TPOT's (``LatencyTail.at``: MLPerf Inference's
        TPOT constraint, vLLM's "P99 TPOT"), not the per-gap ITL's, whose rare steps with a prompt chunk a request
        averages away; at the mean the two are one number. A percentile is never taken below the mean, so an SLO at
        p99 is never looser than the same SLO on means."""
        if point.tail is None:
            return point.ttft_s, point.itl_s, point.e2e_s
        return self.with_means(point, point.tail.at(self.percentile))

    def with_means(self, point: OperatingPoint, tail: tuple[float, float, float]) -> tuple[float, float, float]:
        """:meth:`latencies` of ``point`` given its tail's (TTFT, TPOT, E2E) at this percentile (``tail``)."""
        if self.percentile == "mean":
            return tail
        ttft, itl, e2e = tail
        return max(ttft, point.ttft_s), max(itl, point.itl_s), max(e2e, point.e2e_s)

    def needs_tail(self, lengths: LengthProfile | None) -> bool:
        return self.percentile != "mean" or lengths is not None


@dataclass(frozen=True)
class PlanSettings:
    """Planning policy: headroom, availability, engine limits."""

    target_utilization: float = 0.7  # planned load / capacity at average traffic (seed default)
    safety_margin: float = 0.25  # extra capacity over peak traffic
    min_replicas: int = 2  # high availability: survive the loss of one replica
    engine_max_sequences: int = 256  # vLLM's default max_num_seqs
    # the engine limit caps each attention-DP rank, not the replica (vLLM, TensorRT-LLM: a scheduler per rank)
    max_sequences_per_dp_rank: bool = False
    # the engine's default limit on large GPUs, in place of engine_max_sequences there (vLLM: 1024 on 70 GiB+ GPUs
    # but A100); None when --max-num-seqs is given or the release predates it
    large_gpu_max_sequences: LargeGPUDefault | None = None
    max_sequences_cap: int | None = None  # the seed's --batch-size
    context_window: int = 4096  # max_model_len: one full-length sequence must fit
    memory: MemorySettings = MemorySettings()

    def engine_sequence_limit(self, gpu: GPUSpec) -> int:
        """The engine's sequence limit per scheduler on ``gpu``: the large-GPU default where it applies."""
        rule = self.large_gpu_max_sequences
        return rule.limit_on(gpu, self.engine_max_sequences) if rule is not None else self.engine_max_sequences

    def replica_sequence_limit(self, gpu: GPUSpec, attention_dp: int) -> int:
        """The engine's limit for a whole replica: per attention-DP rank where each rank schedules its own."""
        return self.engine_sequence_limit(gpu) * (attention_dp if self.max_sequences_per_dp_rank else 1)
