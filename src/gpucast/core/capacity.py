"""The capacity search: the largest open-loop arrival rate one replica serves within its SLOs.

``slo_capacity`` is the inverse of ``estimate --request-rate`` (``serving.open_loop_point`` at each load it tries);
``inference.estimate_replica`` builds a configuration and asks it, ``fleet.size_fleet`` sizes the fleet from the
answer (issue 17: margin and utilization never enter the latency model). Out of ``inference`` so that each
module keeps one job (the configuration, the search).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import load_memo
from .bracket import geometric_bisection, replayed_bisection
from .memory import MemoryBreakdown
from .percentiles import LengthProfile
from .replica import ReplicaConfig
from .serving import OperatingPoint, max_throughput, open_loop_point
from .tails import latencies_at, latency_tail
from .workload import SLO, PlanSettings


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
