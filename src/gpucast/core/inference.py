"""How one serving configuration (model, GPU, precision, TP x PP) performs for a workload.

``estimate_replica`` answers "how does config X behave": memory and KV capacity, the
largest concurrency that meets the SLOs, and the request rate one replica then sustains.
``core.fleet.size_fleet`` turns that into replicas for average and peak load. Choosing among configs
is ``search.py``'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ..errors import InfeasibleError
from . import load_memo
from .bracket import geometric_bisection, replayed_bisection
from .layout import Layout
from .memory import MemoryBreakdown, MemorySettings, estimate_memory, state_bytes_per_sequence_per_gpu
from .percentiles import LengthProfile
from .perf import Efficiency
from .replica import ReplicaConfig
from .serving import OperatingPoint, max_throughput, open_loop_point
from .specs import GPUSpec, ModelSpec, Precision
from .tails import latencies_at, latency_tail


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
    max_sequences_cap: int | None = None  # the seed's --batch-size
    context_window: int = 4096  # max_model_len: one full-length sequence must fit
    memory: MemorySettings = MemorySettings()


@dataclass(frozen=True)
class ReplicaEstimate:
    """One replica of a configuration under the workload's request shape."""

    config: ReplicaConfig
    memory: MemoryBreakdown
    kv_limited_sequences: int
    capacity: OperatingPoint  # open-loop point at the largest request rate meeting the SLOs (infeasible: saturation)
    saturation: OperatingPoint  # every KV slot busy: the most the replica can do
    meets_slo: bool  # some load meets the SLOs (False: not even a request alone does)
    limit: str  # what stopped the rate from growing: itl/ttft/e2e/kv-cache/max-num-seqs (infeasible: the SLO missed)
    lowest: OperatingPoint | None = None  # a request alone (vanishing load): the lowest latencies reachable
    cached_input_tokens: float = 0.0  # prompt tokens per request served from the prefix cache (agent plans)
    slo_excess: float = 0.0  # a request alone: the largest latency / target ratio (> 1 when infeasible)


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
    ep: int = 1,
    attention_dp: int = 1,
    short_kv_starts: bool = False,
) -> tuple[ReplicaConfig, MemoryBreakdown, int]:
    """Memory and concurrency limit of a TP x PP replica (``ep``/``attention_dp``: its MoE layout, ``core.layout``);
    raises if it cannot start. ``short_kv_starts``: the engine starts even when the KV cache holds less than one
    context window (SGLang); otherwise that is an error (vLLM refuses to start, and a plan must serve its window)."""
    layout = Layout(tp, pp, ep, attention_dp)
    problem = layout.problem(model)
    if problem is not None:
        raise InfeasibleError(problem)
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
        attention_dp=attention_dp,
    )
    if not memory.fits:
        raise InfeasibleError(
            f"{model.name} at {precision.name} needs {memory.weights_gib:.1f} GiB of weights per GPU "
            f"at {layout.label()}; one {gpu.name} leaves {memory.usable_gib:.1f} GiB — "
            "use more GPUs per replica (TP/PP), a smaller precision or a larger GPU"
        )
    # linear-attention layers (Qwen3-Next) hold a fixed state per sequence besides the per-token KV cache
    state_tokens = state_bytes_per_sequence_per_gpu(model, Precision.BF16, tp // attention_dp, pp) / (
        memory.kv_bytes_per_token_per_gpu
    )
    if not short_kv_starts and memory.kv_capacity_tokens < settings.context_window + state_tokens * attention_dp:
        raise InfeasibleError(
            f"KV cache holds {memory.kv_capacity_tokens} tokens at {layout.label()} on {gpu.name}, "
            f"less than one {settings.context_window}-token sequence (context window): the engine would not start; "
            "use a shorter context window or more GPUs per replica"
        )
    reserved = settings.memory.kv_tokens_per_sequence(workload.input_tokens, workload.output_tokens)
    if workload.lengths is not None:  # running sequences are length-biased: long outputs stay longer
        reserved = workload.lengths.kv_tokens_per_sequence(full=settings.memory.kv_reservation == "full")
    kv_limited = int(memory.kv_capacity_tokens // (reserved + state_tokens))
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
        ep=ep,
        attention_dp=attention_dp,
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
    ep: int = 1,
    attention_dp: int = 1,
) -> ReplicaEstimate:
    """Capacity of one configuration at the SLOs: the largest open-loop request rate whose operating point
    (the one ``estimate --request-rate`` gives) meets every latency target.

    Only the request's shape (tokens in and out) enters, not its rate: the result is remembered
    (:func:`replica_estimates`), so a comparison over clouds, or another rate of the same shape, reuses it."""
    outcome = replica_estimates(
        model,
        gpu,
        efficiency,
        precision=precision,
        kv_precision=kv_precision,
        tp=tp,
        pp=pp,
        input_tokens=workload.input_tokens,
        output_tokens=workload.output_tokens,
        slo=slo,
        settings=settings,
        ep=ep,
        attention_dp=attention_dp,
        lengths=workload.lengths,
    )
    if isinstance(outcome, str):
        raise InfeasibleError(outcome)
    return outcome


ESTIMATES_KEPT = 16384  # replica estimates kept per process: ~4.4 KiB each at p99 (tails attached), ~70 MiB at most;
# a cold plan-page mix of 200 questions asks ~11,000 (a plan page ~50 layouts x its shapes)


@lru_cache(maxsize=ESTIMATES_KEPT)
def replica_estimates(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int,
    input_tokens: int,
    output_tokens: int,
    slo: SLO,
    settings: PlanSettings,
    ep: int = 1,
    attention_dp: int = 1,
    lengths: LengthProfile | None = None,
) -> ReplicaEstimate | str:
    """:func:`estimate_replica` of a request shape, memoized, or why the layout cannot run (the message of its
    ``InfeasibleError``, remembered as well): a pure function of frozen, hashable inputs (its result is frozen
    too), and the capacity search costs ~1 ms — a plan searches every GPU's layouts, and the plan page's
    comparison repeats that search once per cloud with other prices only."""
    shape = Workload(0.0, input_tokens, output_tokens, lengths=lengths)  # the rate does not enter: only the shape
    try:
        cfg, memory, kv_limited = replica_config(
            model,
            gpu,
            efficiency,
            precision=precision,
            kv_precision=kv_precision,
            tp=tp,
            pp=pp,
            workload=shape,
            settings=settings,
            ep=ep,
            attention_dp=attention_dp,
        )
    except InfeasibleError as error:
        return str(error)
    return slo_capacity(
        cfg,
        memory,
        kv_limited,
        settings,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        slo=slo,
        lengths=lengths,
    )


def slo_violation(point: OperatingPoint, slo: SLO) -> str | None:
    """The first latency target ``point`` misses (itl, ttft, e2e) at the SLO's percentile, or None."""
    return latency_violation(slo.latencies(point), slo)


def latency_violation(latencies: tuple[float, float, float], slo: SLO) -> str | None:
    """:func:`slo_violation` of a point's (TTFT, ITL, E2E) at the SLO's percentile (``SLO.latencies``)."""
    ttft, itl, e2e = latencies
    if itl * 1e3 > slo.itl_ms:
        return "itl"
    if ttft * 1e3 > slo.ttft_ms:
        return "ttft"
    if slo.e2e_ms is not None and e2e * 1e3 > slo.e2e_ms:
        return "e2e"
    return None


def latency_ratio(latencies: tuple[float, float, float], slo: SLO) -> float:
    """The largest latency / target ratio of a point's (TTFT, ITL, E2E) at the SLO's percentile (> 1: missed)."""
    ttft, itl, e2e = latencies
    return max(itl * 1e3 / slo.itl_ms, ttft * 1e3 / slo.ttft_ms, e2e * 1e3 / slo.e2e_ms if slo.e2e_ms else 0.0)


LONE_REQUEST = 1e-3  # requests in flight that stand for "a request alone": the load where latency is lowest
RATE_TOLERANCE = 1e-4  # relative precision of the capacity search (far below the model's own error)


def slo_capacity(
    cfg: ReplicaConfig,
    memory: MemoryBreakdown,
    kv_limited: int,
    settings: PlanSettings,
    *,
    input_tokens: float,
    output_tokens: float,
    slo: SLO,
    violation: Callable[[OperatingPoint], str | None] | None = None,
    cached_input_tokens: float = 0.0,
    lengths: LengthProfile | None = None,
) -> ReplicaEstimate:
    """Largest open-loop arrival rate whose operating point has no ``violation``.

    The open-loop point at concurrency C (``serving.open_loop_point``: the rate C requests in flight sustain, with
    prefill queueing at that rate's share of saturation) is the exact inverse of ``at_request_rate``, and
    latency and rate both grow with C, so a geometric bisection on C finds the capacity (with the SLOs alone,
    ``bracket.replayed_bisection``: the same answer from ~8 loads instead of 17); the plan's safety margin and
    target utilization then size the fleet from it and never enter the latency model.
    When even a request alone misses a target the configuration is infeasible: its ``capacity`` is the
    saturation point (a fleet sized on what the hardware can push, never one request per replica),
    ``meets_slo`` is False and ``limit`` names the target missed. When the replica is full before any target
    binds, the limit is the KV cache, the engine's max-num-seqs or the caller's batch size.
    ``violation`` reports at least what ``slo_violation(point, slo)`` reports (it may add targets of its own).
    Without one the targets are the SLOs alone, so the decision at a load needs only the point's latencies, read
    from :mod:`.load_memo` where a search of other SLOs tried the same load (the same decisions, bit for bit).
    """
    shared = violation is None
    missed_by = violation or (lambda point: slo_violation(point, slo))
    shape = {"input_tokens": input_tokens, "output_tokens": output_tokens, "cached_input_tokens": cached_input_tokens}
    saturation = max_throughput(cfg, **shape)
    tails = slo.needs_tail(lengths)
    bare: dict[float, OperatingPoint] = {}  # the mean model's point at each load tried
    seen: dict[float, OperatingPoint] = {}  # with its tail where the SLOs need one (the ends are asked again)

    def mean_point(concurrency: float) -> OperatingPoint:
        if concurrency not in bare:
            bare[concurrency] = open_loop_point(
                cfg, concurrency=concurrency, saturation_rate=saturation.requests_per_s, **shape
            )
        return bare[concurrency]

    def at(concurrency: float) -> OperatingPoint:
        if concurrency in seen:
            return seen[concurrency]
        point = mean_point(concurrency)
        if tails:
            point = with_tail(point, cfg, saturation.requests_per_s, shape, lengths)
        seen[concurrency] = point
        return point

    def meets(concurrency: float) -> bool:
        """Whether the load meets the SLOs, without a tail where the means already miss: an SLO at a percentile
        is never looser than on the means (``SLO.latencies``), and every ``violation`` reports what
        ``slo_violation`` does, so a point whose means miss a target misses it with its tail too (exactly)."""
        if shared:
            return judge(concurrency)[0]
        if tails and slo.percentile != "mean" and slo_violation(mean_point(concurrency), slo) is not None:
            return False
        return missed_by(at(concurrency)) is None

    def judge(concurrency: float) -> tuple[bool, float]:
        """``meets`` from the latencies alone (the targets are the SLOs alone), remembered across SLOs, and the
        worst latency / target ratio of the latencies it read (``bracket``'s guide to the next load)."""
        if tails and slo.percentile != "mean":
            key = (cfg, input_tokens, output_tokens, cached_input_tokens, concurrency)
            means = load_memo.mean_latencies(key, lambda: slo.latencies(mean_point(concurrency)))
            if latency_violation(means, slo) is not None:
                return False, latency_ratio(means, slo)
        latencies = shared_latencies(concurrency)
        return latency_violation(latencies, slo) is None, latency_ratio(latencies, slo)

    def shared_latencies(concurrency: float) -> tuple[float, float, float]:
        """``slo.latencies(at(concurrency))``, remembered across SLOs; a tail's percentile alone is computed
        (``tails.latencies_at``: the same floats), not the whole tail ``at`` attaches."""
        key = (cfg, input_tokens, output_tokens, cached_input_tokens, concurrency)
        if not tails:
            return load_memo.mean_latencies(key, lambda: slo.latencies(mean_point(concurrency)))

        def percentile_latencies() -> tuple[float, float, float]:
            if concurrency in seen:
                return slo.latencies(seen[concurrency])
            point = mean_point(concurrency)
            rate = saturation.requests_per_s
            at_percentile = latencies_at(cfg, point, slo.percentile, saturation_rate=rate, lengths=lengths, **shape)
            return slo.with_means(point, at_percentile)

        return load_memo.tail_latencies((key, lengths, slo.percentile), percentile_latencies)

    top = float(cfg.max_sequences)
    lowest = at(min(LONE_REQUEST, top))
    excess = latency_ratio(slo.latencies(lowest), slo)

    def found(capacity: OperatingPoint, meets_slo: bool, limit: str) -> ReplicaEstimate:
        return ReplicaEstimate(
            cfg, memory, kv_limited, capacity, saturation, meets_slo, limit, lowest, cached_input_tokens, excess
        )

    if tails:
        saturation = with_tail(saturation, cfg, saturation.requests_per_s, shape, lengths)
    missed = missed_by(lowest)
    if missed is not None:
        return found(saturation, False, missed)
    if meets(top):
        full = at(top)
        limit = "kv-cache" if kv_limited <= cfg.max_sequences else "max-num-seqs"
        if settings.max_sequences_cap is not None and cfg.max_sequences == settings.max_sequences_cap:
            limit = "batch-size"
        return found(full, True, limit)
    lo, hi = min(LONE_REQUEST, top), top  # invariant: at(lo) meets the SLOs, at(hi) does not
    if shared:
        lo, hi = replayed_bisection(lo, hi, RATE_TOLERANCE, judge, excess, judge(hi)[1])
    else:
        lo, hi = geometric_bisection(lo, hi, RATE_TOLERANCE, meets)
    missed = latency_violation(shared_latencies(hi), slo) if shared else missed_by(at(hi))
    return found(at(lo), True, missed or "slo")


def with_tail(
    point: OperatingPoint,
    cfg: ReplicaConfig,
    saturation_rate: float,
    shape: dict[str, float],
    lengths: LengthProfile | None,
) -> OperatingPoint:
    """``point`` with its latency percentiles (``core.tails``) attached."""
    tail = latency_tail(cfg, point, saturation_rate=saturation_rate, lengths=lengths, input_tokens=shape["input_tokens"],
                        output_tokens=shape["output_tokens"], cached_input_tokens=shape.get("cached_input_tokens", 0.0))  # fmt: skip
    p = point  # the constructor, not dataclasses.replace (~5x its cost): the capacity search tails many points
    return OperatingPoint(p.concurrency, p.batch, p.requests_per_s, p.output_tokens_per_s, p.total_tokens_per_s,
                          p.ttft_s, p.itl_s, p.e2e_s, p.prefill_share, p.step, p.saturated, tail)  # fmt: skip
