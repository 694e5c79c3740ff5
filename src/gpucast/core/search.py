"""Sweep serving configurations and rank them: TP x PP per GPU, then GPUs and clouds.

Estimation (``inference.py``) says how one configuration performs; this module enumerates
the valid ones (TP divides the attention heads, stays inside one node; PP only when a full
node is not enough) and keeps the cheapest that meets the SLOs (fewest GPUs when no price
is known), preferring lower latency on ties.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..errors import InfeasibleError
from .cost import FleetCost, InstancePrice, cheapest_fleet, same_offer
from .inference import (
    SLO,
    FleetSize,
    PlanSettings,
    ReplicaEstimate,
    Workload,
    estimate_replica,
    size_fleet,
)
from .perf import Efficiency
from .specs import GPUSpec, ModelSpec, Precision

T = TypeVar("T")


@dataclass(frozen=True)
class Candidate:
    """One feasible configuration, sized and priced."""

    estimate: ReplicaEstimate
    fleet: FleetSize
    cost_at_peak: FleetCost | None  # max replicas, always on
    cost_at_average: FleetCost | None  # min replicas (autoscaled floor)

    @property
    def total_gpus(self) -> int:
        return self.fleet.max_replicas * self.estimate.config.gpus

    def sort_key(self) -> tuple[bool, float, float, int, float]:
        """Feasible first, cheapest (fewest GPUs without a price), lowest ITL; the infeasible by how close a request
        alone comes to the SLOs (the nearest miss first)."""
        if not self.estimate.meets_slo:
            return (True, float(f"{self.estimate.slo_excess:.3g}"), 0.0, self.total_gpus, self.estimate.capacity.itl_s)
        monthly = self.cost_at_peak.monthly_usd if self.cost_at_peak else math.inf
        return (False, 0.0, monthly, self.total_gpus, self.estimate.capacity.itl_s)


def parallel_options(model: ModelSpec, gpu: GPUSpec) -> list[tuple[int, int]]:
    """(TP, PP) pairs to try: TP in powers of two within a node dividing the head count;
    PP in 2, 4, 8 across nodes only at full-node TP."""
    options = []
    tp = 1
    while tp <= gpu.gpus_per_node:
        if model.num_heads % tp == 0:
            options.append((tp, 1))
        tp *= 2
    full = max(t for t, _ in options)
    options += [(full, pp) for pp in (2, 4, 8)]
    return options


def evaluate(
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
    prices: list[InstancePrice],
    pricing: str,
) -> Candidate:
    """Estimate, size and price one configuration."""
    estimate = estimate_replica(
        model,
        gpu,
        efficiency,
        precision=precision,
        kv_precision=kv_precision,
        tp=tp,
        pp=pp,
        workload=workload,
        slo=slo,
        settings=settings,
    )
    return priced_candidate(estimate, workload, settings, prices, pricing)


def priced_candidate(
    estimate: ReplicaEstimate, workload: Workload, settings: PlanSettings, prices: list[InstancePrice], pricing: str
) -> Candidate:
    """Size the fleet for one replica estimate and price it at its peak and minimum size."""
    fleet = size_fleet(estimate, workload, settings)
    gpus = estimate.config.gpus
    peak = cheapest_fleet(prices, gpus_per_replica=gpus, replicas=fleet.max_replicas, pricing=pricing)
    # the autoscaled floor runs on the offer the peak chose (same cloud, region, instance type and pricing)
    low = (
        cheapest_fleet(
            same_offer(prices, peak), gpus_per_replica=gpus, replicas=fleet.min_replicas, pricing=peak.pricing
        )
        if peak is not None
        else None
    )
    return Candidate(estimate, fleet, peak, low)


def sharding_options(model: ModelSpec, gpu: GPUSpec, tp: int | None, pp: int | None) -> list[tuple[int, int]]:
    """The (TP, PP) layouts to try for one GPU; ``tp``/``pp`` pin one or both when given."""
    options = parallel_options(model, gpu)
    if tp is not None or pp is not None:
        options = [(tp or o_tp, pp or o_pp) for o_tp, o_pp in options]
        options = [o for o in dict.fromkeys(options) if (tp is None or o[0] == tp) and (pp is None or o[1] == pp)]
    return options


def cheapest_sharding(
    options: list[tuple[int, int]],
    evaluate_option: Callable[[int, int], T],
    candidate_of: Callable[[T], Candidate],
    *,
    none_valid: str,
) -> T:
    """The cheapest of ``evaluate_option(tp, pp)`` over the layouts (by ``Candidate.sort_key``).

    Layouts that cannot run (``InfeasibleError``) are skipped; when none can, the last reason is raised
    (``none_valid`` if there was no layout at all). Once a pipelined layout meets the SLOs the deeper ones are
    not tried: they only add latency and bubbles. Shared by the plain and the agent planner.
    """
    found: list[T] = []
    reasons: list[str] = []
    for o_tp, o_pp in options:
        try:
            result = evaluate_option(o_tp, o_pp)
        except InfeasibleError as error:
            reasons.append(str(error))
            continue
        found.append(result)
        if o_pp > 1 and candidate_of(result).estimate.meets_slo:
            break
    if not found:
        raise InfeasibleError(reasons[-1] if reasons else none_valid)
    return min(found, key=lambda result: candidate_of(result).sort_key())


def best_for_gpu(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    *,
    precision: Precision,
    kv_precision: Precision,
    workload: Workload,
    slo: SLO,
    settings: PlanSettings,
    prices: list[InstancePrice],
    pricing: str,
    tp: int | None = None,
    pp: int | None = None,
) -> Candidate:
    """Best (TP, PP) for one GPU type; ``tp``/``pp`` pin the sharding when given."""

    def option(o_tp: int, o_pp: int) -> Candidate:
        return evaluate(
            model, gpu, efficiency, precision=precision, kv_precision=kv_precision, tp=o_tp, pp=o_pp,
            workload=workload, slo=slo, settings=settings, prices=prices, pricing=pricing,
        )  # fmt: skip

    return cheapest_sharding(
        sharding_options(model, gpu, tp, pp),
        option,
        lambda candidate: candidate,
        none_valid=f"no valid sharding of {model.name} on {gpu.name}",
    )
