"""The least a layout can cost, known before its capacity search: lets the layout search skip layouts that
cannot beat the cheapest one found so far, without changing which one it picks.

A layout's capacity search (``capacity.slo_capacity``) bisects its load for the largest arrival rate that meets
the SLOs: ~20 loads, each with its latency tail at a percentile SLO. The fleet it then sizes needs at least
``ceil(peak x (1 + margin) / capacity)`` replicas, so an *upper bound* of the capacity gives a *lower bound* of
the replicas and, as an offer's price never falls when it hosts more replicas (``cost.cheapest_fleet``: whole
instances times a price, the offers it may use not depending on the number of replicas), of the fleet's cost. When that floor is already dearer than the cheapest layout found
(or as dear with more GPUs), the layout cannot be chosen (``search.Candidate.sort_key``), whatever its search
would say, and is skipped.

The bound is the least of three. Two hold for every load, whatever the latency model does between them: the
open-loop rate at C requests in flight solves C = lambda (a + b / (1 - lambda P)) (``serving._solve_rate``) for the
root with lambda P < 1, where P is the replica time a prompt's prefill takes under load, a the time to first token
(at least the prompt's prefill alone, L) and b >= 0 the decode time. So lambda <= 1 / P, and lambda <= C / a <=
max_sequences / L. The third, and by far the tightest (the decode time, not the prefill, bounds most replicas), is
the saturation rate: the search tries loads up to a full replica only, and the rate grows with the load (the
premise of the capacity search itself, ``capacity.slo_capacity``, as a closed queueing network's throughput never
falls as its population grows: Lazowska et al., Quantitative System Performance (1984), ch. 6; tests/
test_search_floor.py checks it over the catalog's layouts), so no capacity found exceeds
the rate of a full replica; a replica full before any target binds has exactly that capacity. With it, a cold mix
of plan pages searches ~40% fewer layouts (docs/reliability.md). ``CEILING_SLACK`` keeps the bound above the
computed rates' rounding (relative error ~1e-16 x (a + b + CP) / a, far below it), so a skip never depends on the
last bits of a float.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ..errors import InfeasibleError
from .inference import ESTIMATES_KEPT, replica_config
from .layout import Layout
from .percentiles import LengthProfile
from .perf import Efficiency
from .replica import prefill_costs
from .serving import max_throughput
from .specs import GPUSpec, ModelSpec, Precision
from .workload import PlanSettings, Workload

CEILING_SLACK = 1e-6  # relative headroom of the capacity bound over float rounding (see the module's text)


@dataclass(frozen=True)
class Ceiling:
    """What a layout can do at most, from two operating points instead of a capacity search."""

    gpus: int  # GPUs per replica
    saturation_rps: float  # the replica's full throughput (every KV slot busy), as the search computes it
    capacity_rps: float  # no load meets the SLOs at a higher arrival rate than this


@lru_cache(maxsize=ESTIMATES_KEPT)
def capacity_ceiling(
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
    settings: PlanSettings,
    ep: int = 1,
    attention_dp: int = 1,
    lengths: LengthProfile | None = None,
) -> Ceiling | None:
    """The layout's :class:`Ceiling` for a request shape (the keys of ``inference.replica_estimates``), or None
    when it cannot start (its estimate then fails at once, saying why, and it is never chosen). Without a finite
    bound the capacity is infinite: the floor is then the HA minimum of replicas."""
    shape = Workload(0.0, input_tokens, output_tokens, lengths=lengths)
    try:
        cfg, _, _ = replica_config(
            model, gpu, efficiency, precision=precision, kv_precision=kv_precision, tp=tp, pp=pp, workload=shape,
            settings=settings, ep=ep, attention_dp=attention_dp,
        )  # fmt: skip
    except InfeasibleError:
        return None
    saturation = max_throughput(cfg, input_tokens=input_tokens, output_tokens=output_tokens, cached_input_tokens=0.0)
    alone, under_load = prefill_costs(cfg, input_tokens - 0.0, 0.0)  # the arguments slo_capacity's loads use
    bounds = [saturation.requests_per_s]  # the search's loads stop at a full replica (see the module's text)
    if under_load > 0.0:
        bounds.append(1.0 / under_load)
    if alone > 0.0:
        bounds.append(cfg.max_sequences / alone)
    most = min(bounds) * (1.0 + CEILING_SLACK)
    return Ceiling(cfg.gpus, saturation.requests_per_s, most if math.isfinite(most) else math.inf)


def fewest_replicas(ceiling: Ceiling, workload: Workload, settings: PlanSettings) -> int:
    """A lower bound of ``fleet.size_fleet``'s max replicas for any capacity up to the ceiling's (the same
    arithmetic, which only grows as the capacity falls)."""
    most = ceiling.capacity_rps
    at_average = math.ceil(workload.requests_per_s / (max(ceiling.saturation_rps, most) * settings.target_utilization)
                           - 1e-9)  # fmt: skip
    at_peak = math.ceil(workload.peak_requests_per_s * (1.0 + settings.safety_margin) / most - 1e-9)
    return max(settings.min_replicas, at_average, at_peak)


def layout_size(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    layout: Layout,
    *,
    precision: Precision,
    kv_precision: Precision,
    workload: Workload,
    settings: PlanSettings,
) -> tuple[int, int] | None:
    """(GPUs per replica, fewest replicas) of one layout for the workload (:func:`fewest_replicas` of its
    :func:`capacity_ceiling`), or None when the layout cannot start: what every cost floor is priced from, the
    same on every cloud — the layout search's (:func:`layout_cost_floor`) and the comparison's row floors
    (``planning.compare_top``)."""
    ceiling = capacity_ceiling(
        model, gpu, efficiency, precision=precision, kv_precision=kv_precision, tp=layout.tp, pp=layout.pp,
        input_tokens=workload.input_tokens, output_tokens=workload.output_tokens, settings=settings, ep=layout.ep,
        attention_dp=layout.attention_dp, lengths=workload.lengths,
    )  # fmt: skip
    return None if ceiling is None else (ceiling.gpus, fewest_replicas(ceiling, workload, settings))


def layout_cost_floor(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    layout: Layout,
    *,
    precision: Precision,
    kv_precision: Precision,
    workload: Workload,
    settings: PlanSettings,
    monthly: Callable[[int, int], float],
) -> tuple[bool, float, float, int] | None:
    """The least ``Candidate.sort_key()[:4]`` the layout can have when it meets the SLOs (one that does not sorts
    after every layout that does), or None when it cannot start: its cheapest fleet at the fewest replicas
    (``monthly``: ``cost.fleet_monthly`` of the offers, :func:`layout_size`), and their GPUs. The layout search
    (``search.best_for_gpu``) bounds with it."""
    size = layout_size(
        model, gpu, efficiency, layout, precision=precision, kv_precision=kv_precision, workload=workload,
        settings=settings,
    )  # fmt: skip
    if size is None:
        return None
    gpus, replicas = size
    return (False, 0.0, monthly(gpus, replicas), replicas * gpus)
