"""From one replica's capacity to a fleet: replicas for average and peak load, and a replica's operating point at
the planned peak (what ``gpucast estimate --request-rate`` reproduces).

``core.inference`` answers how one configuration performs; this module sizes the fleet from it, so the safety
margin and the target utilization enter here and never the latency model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .capacity import RATE_TOLERANCE, ReplicaEstimate, with_tail
from .serving import OperatingPoint, at_request_rate
from .workload import PlanSettings, Workload


@dataclass(frozen=True)
class FleetSize:
    planned_peak_rps: float
    min_replicas: int
    max_replicas: int


def replicas_at_slo(rate: float, capacity: float, safety_margin: float) -> int:
    """Replicas that carry ``rate`` with ``safety_margin`` of headroom at ``capacity`` (requests/s one replica
    serves within the SLOs): ceil(rate x (1 + margin) / capacity)."""
    return math.ceil(rate * (1.0 + safety_margin) / capacity - 1e-9)


def replicas_at_utilization(rate: float, saturation: float, target_utilization: float) -> int:
    """Replicas that carry ``rate`` at no more than ``target_utilization`` of ``saturation`` (a replica's full
    throughput, requests/s): ceil(rate / (saturation x utilization))."""
    return math.ceil(rate / (saturation * target_utilization) - 1e-9)


def size_fleet(estimate: ReplicaEstimate, workload: Workload, settings: PlanSettings) -> FleetSize:
    """Replicas for peak load with margin at the SLO capacity, and for average load at the target GPU utilization.

    max = max(min, ceil(peak RPS x (1 + safety margin) / capacity at the SLOs));
    min = max(HA minimum, ceil(avg RPS / (saturation RPS x target utilization)),
              ceil(avg RPS x (1 + safety margin) / capacity at the SLOs)):
    the target utilization is the share of a replica's full throughput (every KV slot busy) average traffic
    may use — GPU busy time, as the autoscaler's GPU-utilization trigger reads it — so it binds where the SLOs
    are loose (capacity near saturation) and the margin binds where they are tight. The minimum is what the fleet
    runs at average traffic, by the same rule as the maximum at peak (what the autoscaler's triggers,
    ``scale_out_point``, run there; a capacity timeline sizes each period's peak by both rules too), so at a peak
    multiplier of 1 the two are one count (a minimum by the utilization alone was a fleet the plan's own
    requests/s trigger scaled out of at average traffic).
    """
    capacity = estimate.capacity.requests_per_s
    saturation = max(estimate.saturation.requests_per_s, capacity)
    peak = workload.peak_requests_per_s
    average = workload.requests_per_s
    at_average = max(
        replicas_at_utilization(average, saturation, settings.target_utilization),
        replicas_at_slo(average, capacity, settings.safety_margin),
    )
    at_peak = replicas_at_slo(peak, capacity, settings.safety_margin)
    low = max(settings.min_replicas, at_average)
    return FleetSize(planned_peak_rps=peak, min_replicas=low, max_replicas=max(low, at_peak))


def _point_at(estimate: ReplicaEstimate, workload: Workload, rate: float) -> OperatingPoint:
    """One replica's open-loop operating point at ``rate`` (``serving.at_request_rate``, what ``gpucast estimate
    --request-rate`` runs), never past the capacity the fleet was sized on."""
    rate = min(rate, estimate.capacity.requests_per_s)
    if not estimate.meets_slo:  # sized on saturation: keep the open loop just below it
        rate = min(rate, estimate.saturation.requests_per_s * (1.0 - RATE_TOLERANCE))
    return at_request_rate(
        estimate.config,
        input_tokens=workload.input_tokens,
        output_tokens=workload.output_tokens,
        rate=rate,
        cached_input_tokens=estimate.cached_input_tokens,
    )


def scale_out_point(estimate: ReplicaEstimate, workload: Workload, settings: PlanSettings) -> OperatingPoint:
    """A replica's operating point at the load the fleet is sized to carry, capacity / (1 + safety margin).

    The autoscaler's triggers are read here (requests/s, requests in flight and KV-cache use per replica), so that
    an autoscaler targeting them as an average per replica -- Kubernetes' HPA: desired = ceil(total / target) --
    runs ceil(load x (1 + margin) / capacity) replicas at every load, the planner's own rule: the maximum at the
    planned peak, never wanting more than it (a trigger at target utilization x capacity wanted more at peak)."""
    return _point_at(estimate, workload, estimate.capacity.requests_per_s / (1.0 + settings.safety_margin))


def planned_point(estimate: ReplicaEstimate, fleet: FleetSize, workload: Workload) -> OperatingPoint:
    """One replica's operating point at the planned peak: peak RPS spread over the peak fleet, evaluated by
    ``serving.at_request_rate`` (what ``gpucast estimate --request-rate`` runs), so a plan's latencies are an
    estimate of its own deployment. Never past the capacity the fleet was sized on."""
    shape = {
        "input_tokens": float(workload.input_tokens),
        "output_tokens": float(workload.output_tokens),
        "cached_input_tokens": estimate.cached_input_tokens,
    }
    point = _point_at(estimate, workload, fleet.planned_peak_rps / max(fleet.max_replicas, 1))
    # percentiles always: the plan reports them whatever percentile its SLOs bound
    return with_tail(point, estimate.config, estimate.saturation.requests_per_s, shape, workload.lengths)
