"""Sweep serving configurations and rank them: TP x PP per GPU, then GPUs and clouds.

Estimation (``inference.py``) says how one configuration performs; this module enumerates
the valid ones (TP divides the attention heads, stays inside one node; PP only when a full
node is not enough) and keeps the cheapest that meets the SLOs (fewest GPUs when no price
is known), preferring lower latency on ties.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from ..errors import InfeasibleError
from .capacity import ReplicaEstimate
from .cost import FleetCost, InstancePrice, cheapest_fleet, fleet_monthly, same_offer
from .fleet import FleetSize, size_fleet
from .inference import estimate_replica
from .layout import Layout
from .perf import Efficiency
from .search_floor import layout_cost_floor
from .specs import GPUSpec, ModelSpec, Precision
from .workload import SLO, PlanSettings, Workload

T = TypeVar("T")
WIDE_EP_GPUS = 16  # smallest expert-parallel group that spans more than one 8-GPU node


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

    def sort_key(self) -> tuple[bool, float, float, int, float, float]:
        """Feasible first, cheapest (fewest GPUs without a price), lowest ITL, then the most capacity per replica;
        the infeasible by how close a request alone comes to the SLOs (the nearest miss first). The ITL at capacity
        is compared to 3 significant digits: layouts whose capacity an ITL SLO bounds sit at that SLO and differ only
        by float noise there, which would otherwise decide between them instead of their capacity."""
        capacity = self.estimate.capacity
        if not self.estimate.meets_slo:
            return (True, float(f"{self.estimate.slo_excess:.3g}"), 0.0, self.total_gpus, capacity.itl_s, 0.0)
        monthly = self.cost_at_peak.monthly_usd if self.cost_at_peak else math.inf
        return (False, 0.0, monthly, self.total_gpus, float(f"{capacity.itl_s:.3g}"), -capacity.requests_per_s)


def parallel_options(model: ModelSpec, gpu: GPUSpec) -> list[Layout]:
    """Layouts to try: TP in powers of two within a node dividing the head count; PP in 2, 4, 8 across nodes only
    at full-node TP. A mixture-of-experts model also tries, at every TP > 1, expert parallelism alone and with
    attention data parallelism (the layouts SGLang, TensorRT-LLM and vLLM serve DeepSeek, Qwen3 and Llama-4 with),
    and wide EP over 2 and 4 nodes of 8 GPUs (EP + DP attention: only the dispatch/combine all-to-all crosses
    nodes); on a 72-GPU NVLink rack (GB200 NVL72) the TP 16-64 layouts are the wide ones."""
    plain = []
    tp = 1
    while tp <= gpu.gpus_per_node:
        if model.num_heads % tp == 0:
            plain.append(Layout(tp))
        tp *= 2
    full = max(o.tp for o in plain)
    pipelined = [Layout(full, pp) for pp in (2, 4, 8)]
    if not model.is_moe:
        return plain + pipelined
    options = []
    for o in plain:
        options += [o, Layout(o.tp, ep=o.tp), Layout(o.tp, ep=o.tp, attention_dp=o.tp)] if o.tp > 1 else [o]
    if full < WIDE_EP_GPUS:  # 8-GPU nodes: wide EP spans 2 and 4 nodes; an NVL72 rack already tries TP 16-64
        options += [Layout(full * nodes, ep=full * nodes, attention_dp=full * nodes) for nodes in (2, 4)]
    return [o for o in options if o.problem(model) is None] + pipelined


def priced_candidate(
    estimate: ReplicaEstimate, workload: Workload, settings: PlanSettings, prices: list[InstancePrice], pricing: str
) -> Candidate:
    """Size the fleet for one replica estimate and price it at its peak and minimum size: how every layout search
    turns an estimate into a ranked candidate, the plain one (:func:`best_for_gpu`, of ``inference.estimate_replica``)
    and the agent one (``agent_search.best_variant_for_gpu``, of its variant's estimate), so both rank alike."""
    fleet = size_fleet(estimate, workload, settings)
    gpus, tp = estimate.config.gpus, estimate.config.tp
    peak = cheapest_fleet(prices, gpus_per_replica=gpus, replicas=fleet.max_replicas, pricing=pricing, tp=tp)
    # the autoscaled floor runs on the offer the peak chose (same cloud, region, instance type and pricing)
    low = (
        cheapest_fleet(
            same_offer(prices, peak), gpus_per_replica=gpus, replicas=fleet.min_replicas, pricing=peak.pricing, tp=tp
        )
        if peak is not None
        else None
    )
    return Candidate(estimate, fleet, peak, low)


def sharding_options(
    model: ModelSpec,
    gpu: GPUSpec,
    tp: int | None,
    pp: int | None,
    ep: int | None = None,
    attention_dp: int | None = None,
) -> list[Layout]:
    """The layouts to try for one GPU; ``tp``/``pp``/``ep``/``attention_dp`` pin what is given."""
    options = parallel_options(model, gpu)
    pins = {"tp": tp, "pp": pp, "ep": ep, "attention_dp": attention_dp}
    if all(v is None for v in pins.values()):
        return options
    pinned = [replace(o, **{k: v for k, v in pins.items() if v is not None}) for o in options]
    if ep is None and attention_dp is None:  # a pinned TP/PP keeps every MoE layout of that TP
        return list(dict.fromkeys(pinned))
    return [o for o in dict.fromkeys(pinned) if o.problem(model) is None] or pinned[:1]


def cheapest_sharding(
    options: list[Layout],
    evaluate_option: Callable[[Layout], T],
    candidate_of: Callable[[T], Candidate],
    *,
    none_valid: str,
    floor: Callable[[Layout], tuple[bool, float, float, int] | None] | None = None,
) -> T:
    """The cheapest of ``evaluate_option(layout)`` over the layouts (by ``Candidate.sort_key``).

    Layouts that cannot run (``InfeasibleError``) are skipped; when none can, the last reason is raised
    (``none_valid`` if there was no layout at all). Once a pipelined layout meets the SLOs the deeper pipelines of
    the same stage (TP, EP, attention DP) are not tried: they only add latency and bubbles. Other stages still are:
    with PP pinned every layout is pipelined, and the first TP that meets the SLOs (TP=4 x PP=2) is not the cheapest
    when a wider one (TP=8 x PP=2) needs a quarter of the replicas. Shared by the plain and the agent planner.

    ``floor(layout)``, when given, is the least ``sort_key()[:4]`` the layout could have (``core.search_floor``),
    or None: a layout whose floor is above the best key found so far cannot be the cheapest and is not evaluated.
    The answer is the same as without it: a skipped pipelined layout is still evaluated, where the search reaches a
    deeper pipeline of its stage, to learn whether it would have stopped the search there."""
    found: list[T] = []
    reasons: list[str] = []
    best: tuple[bool, float, float, int, float, float] | None = None
    best_gpus = 0  # GPUs per replica of the best found: a layout of no more GPUs is rarely dearer, so not bounded
    skipped: list[Layout] = []  # pipelined layouts skipped by their floor, not yet known to stop the search or not
    stopped: dict[tuple[int, int, int], int] = {}  # a stage's shallowest pipeline depth that met the SLOs

    def stage(option: Layout) -> tuple[int, int, int]:
        return option.tp, option.ep, option.attention_dp

    def passed(option: Layout) -> bool:
        """A deeper pipeline of a stage whose shallower pipeline met the SLOs: not to be tried."""
        return option.pp > stopped.get(stage(option), option.pp)

    def tried(option: Layout) -> None:
        """Evaluate one layout; a pipelined one that meets the SLOs stops its stage's deeper pipelines."""
        nonlocal best, best_gpus
        try:
            result = evaluate_option(option)
        except InfeasibleError as error:
            reasons.append(str(error))
            return
        found.append(result)
        key = candidate_of(result).sort_key()
        if best is None or key < best:
            best, best_gpus = key, option.gpus
        if option.pp > 1 and candidate_of(result).estimate.meets_slo:
            stopped[stage(option)] = min(option.pp, stopped.get(stage(option), option.pp))

    for option in options:
        if passed(option):
            continue
        if floor is not None and best is not None and not best[0] and option.gpus > best_gpus:
            least = floor(option)
            if least is not None and best[:4] < least:
                if option.pp > 1:
                    skipped.append(option)
                continue
        for late in [s for s in skipped if stage(s) == stage(option) and s.pp < option.pp]:
            skipped.remove(late)
            if not passed(late):
                tried(late)
        if not passed(option):
            tried(option)
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
    ep: int | None = None,
    attention_dp: int | None = None,
) -> Candidate:
    """Best layout for one GPU type; ``tp``/``pp``/``ep``/``attention_dp`` pin it when given."""

    def option(o: Layout) -> Candidate:
        estimate = estimate_replica(
            model, gpu, efficiency, precision=precision, kv_precision=kv_precision, tp=o.tp, pp=o.pp,
            workload=workload, slo=slo, settings=settings, ep=o.ep, attention_dp=o.attention_dp,
        )  # fmt: skip
        return priced_candidate(estimate, workload, settings, prices, pricing)

    def floor(o: Layout) -> tuple[bool, float, float, int] | None:
        return layout_cost_floor(
            model, gpu, efficiency, o, precision=precision, kv_precision=kv_precision, workload=workload,
            settings=settings, monthly=monthly,
        )  # fmt: skip

    monthly = fleet_monthly(prices, pricing)

    return cheapest_sharding(
        sharding_options(model, gpu, tp, pp, ep, attention_dp),
        option,
        lambda candidate: candidate,
        none_valid=f"no valid sharding of {model.name} on {gpu.name}",
        floor=floor,
    )
