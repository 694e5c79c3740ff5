"""How one serving configuration (model, GPU, precision, TP x PP) performs for a workload.

``estimate_replica`` answers "how does config X behave": memory and KV capacity, the
largest concurrency that meets the SLOs, and the request rate one replica then sustains.
``size_fleet`` turns that into replicas for average and peak load. Choosing among configs
is ``search.py``'s job.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InfeasibleError
from .memory import MemoryBreakdown, MemorySettings, estimate_memory
from .perf import Efficiency
from .serving import OperatingPoint, ReplicaConfig, max_throughput, operating_point
from .specs import GPUSpec, ModelSpec, Precision


@dataclass(frozen=True)
class Workload:
    """Average load and request shape (the seed's LLMWorkloadInput, in core units)."""

    requests_per_s: float
    input_tokens: int
    output_tokens: int
    peak_multiplier: float = 1.5
    growth_rate_percent: float = 0.0  # expected growth over the planning horizon

    @property
    def peak_requests_per_s(self) -> float:
        return self.requests_per_s * self.peak_multiplier * (1.0 + self.growth_rate_percent / 100.0)


@dataclass(frozen=True)
class SLO:
    """Latency targets. Defaults: TTFT 2 s (MLPerf Llama-2-70B server scenario), ITL 100 ms
    (10 tokens/s, faster than reading speed); E2E only when the seed's --target-latency is set."""

    ttft_ms: float = 2000.0
    itl_ms: float = 100.0
    e2e_ms: float | None = None


@dataclass(frozen=True)
class PlanSettings:
    """Planning policy: headroom, availability, engine limits."""

    target_utilization: float = 0.7  # planned load / capacity at average traffic (seed default)
    safety_margin: float = 0.25  # extra capacity over peak traffic
    min_replicas: int = 2  # high availability: survive the loss of one replica
    engine_max_sequences: int = 256  # vLLM's default max_num_seqs
    max_sequences_cap: int | None = None  # the seed's --batch-size
    context_window: int = 4096  # max_model_len: one full-length sequence must fit
    memory: MemorySettings = MemorySettings()

    @property
    def peak_utilization(self) -> float:
        return 1.0 / (1.0 + self.safety_margin)


@dataclass(frozen=True)
class ReplicaEstimate:
    """One replica of a configuration under the workload's request shape."""

    config: ReplicaConfig
    memory: MemoryBreakdown
    kv_limited_sequences: int
    capacity: OperatingPoint  # largest concurrency meeting the SLOs (at peak utilization)
    saturation: OperatingPoint  # every KV slot busy: the most the replica can do
    meets_slo: bool
    limit: str  # what stopped concurrency from growing: itl/ttft/e2e/kv-cache/max-num-seqs


@dataclass(frozen=True)
class FleetSize:
    planned_peak_rps: float
    min_replicas: int
    max_replicas: int


def replica_config(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int,
    workload: Workload,
    settings: PlanSettings,
) -> tuple[ReplicaConfig, MemoryBreakdown, int]:
    """Memory and concurrency limit of a TP x PP replica; raises if it cannot start."""
    mean_tokens = workload.input_tokens + workload.output_tokens / 2.0
    memory = estimate_memory(
        model,
        gpu,
        precision=precision,
        kv_precision=kv_precision,
        tp=tp,
        pp=pp,
        settings=settings.memory,
        context_tokens=int(mean_tokens),
    )
    if not memory.fits:
        raise InfeasibleError(
            f"{model.name} at {precision.name} needs {memory.weights_gib:.1f} GiB of weights per GPU "
            f"at TP={tp} PP={pp}; one {gpu.name} leaves {memory.usable_gib:.1f} GiB — "
            "use more GPUs per replica (TP/PP), a smaller precision or a larger GPU"
        )
    if memory.kv_capacity_tokens < settings.context_window:
        raise InfeasibleError(
            f"KV cache holds {memory.kv_capacity_tokens} tokens at TP={tp} PP={pp} on {gpu.name}, "
            f"less than one {settings.context_window}-token sequence (context window)"
        )
    reserved = settings.memory.kv_tokens_per_sequence(workload.input_tokens, workload.output_tokens)
    kv_limited = int(memory.kv_capacity_tokens // reserved)
    cap = settings.engine_max_sequences
    if settings.max_sequences_cap is not None:
        cap = min(cap, settings.max_sequences_cap)
    cfg = ReplicaConfig(
        model,
        gpu,
        efficiency,
        precision,
        kv_precision,
        tp,
        pp,
        max(1, min(kv_limited, cap)),
        settings.memory.max_batched_tokens,
    )
    return cfg, memory, kv_limited


def estimate_replica(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int,
    workload: Workload,
    slo: SLO,
    settings: PlanSettings,
) -> ReplicaEstimate:
    """Largest SLO-compliant concurrency by bisection (latency grows with concurrency)."""
    cfg, memory, kv_limited = replica_config(
        model,
        gpu,
        efficiency,
        precision=precision,
        kv_precision=kv_precision,
        tp=tp,
        pp=pp,
        workload=workload,
        settings=settings,
    )
    shape = {"input_tokens": workload.input_tokens, "output_tokens": workload.output_tokens}

    def at(concurrency: int) -> OperatingPoint:
        return operating_point(cfg, concurrency=concurrency, queue_utilization=settings.peak_utilization, **shape)

    best, limit = concurrency_limit(cfg, kv_limited, settings, at, lambda point: slo_violation(point, slo))
    capacity = at(max(best, 1))
    saturation = max_throughput(cfg, **shape)
    return ReplicaEstimate(cfg, memory, kv_limited, capacity, saturation, best >= 1, limit)


def slo_violation(point: OperatingPoint, slo: SLO) -> str | None:
    """The first latency target ``point`` misses (itl, ttft, e2e), or None."""
    if point.itl_s * 1e3 > slo.itl_ms:
        return "itl"
    if point.ttft_s * 1e3 > slo.ttft_ms:
        return "ttft"
    if slo.e2e_ms is not None and point.e2e_s * 1e3 > slo.e2e_ms:
        return "e2e"
    return None


def concurrency_limit(
    cfg: ReplicaConfig,
    kv_limited: int,
    settings: PlanSettings,
    at: Callable[[int], OperatingPoint],
    violation: Callable[[OperatingPoint], str | None],
) -> tuple[int, str]:
    """Largest concurrency whose operating point ``at(c)`` has no ``violation``, and what stops it growing.

    Bisection: latency grows with concurrency. Up to the engine's sequence limit; when even that meets the
    SLOs the limit is the KV cache, the engine's max-num-seqs or the caller's batch size."""
    top = cfg.max_sequences
    if violation(at(top)) is None:
        limit = "kv-cache" if kv_limited <= top else "max-num-seqs"
        if settings.max_sequences_cap is not None and top == settings.max_sequences_cap:
            limit = "batch-size"
        return top, limit
    lo, hi = 0, top  # invariant: at(lo) ok (or lo == 0), at(hi) violates
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if violation(at(mid)) is None:
            lo = mid
        else:
            hi = mid
    return lo, violation(at(hi)) or "slo"


def size_fleet(estimate: ReplicaEstimate, workload: Workload, settings: PlanSettings) -> FleetSize:
    """Replicas for average load at the target utilization and for peak load with margin.

    min = max(HA minimum, ceil(avg RPS / (capacity x target utilization)));
    max = max(min, ceil(peak RPS x (1 + safety margin) / capacity)).
    """
    capacity = estimate.capacity.requests_per_s
    peak = workload.peak_requests_per_s
    at_average = math.ceil(workload.requests_per_s / (capacity * settings.target_utilization) - 1e-9)
    at_peak = math.ceil(peak * (1.0 + settings.safety_margin) / capacity - 1e-9)
    low = max(settings.min_replicas, at_average)
    return FleetSize(planned_peak_rps=peak, min_replicas=low, max_replicas=max(low, at_peak))
