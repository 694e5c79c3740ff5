"""From a traffic forecast to a capacity timeline: per day (or week) the forecast peak, the replicas
and GPUs the inference planner sizes for it, the monthly cost at that size, and the first time the
current fleet would be exceeded.

The planner is run on the forecast peak (p95 of the 80% upper band in the period), with the peak
multiplier set to 1 because the forecast already is the peak; the safety margin still applies.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from .api import plan_inference
from .core.cost import HOURS_PER_MONTH
from .forecast import ForecastResult, peaks
from .inputs import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions


@dataclass
class CapacityPeriod:
    period_start: str
    peak_rps: float
    replicas: int
    gpus: int
    gpu_type: str
    monthly_cost: float | None


@dataclass
class CapacityTimeline:
    periods: list[CapacityPeriod]
    rps_per_replica: float
    gpus_per_replica: int
    current_gpus: int | None
    current_capacity_rps: float | None
    exceeds_capacity_at: str | None  # first forecast timestamp whose upper 80% band exceeds the current fleet

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def capacity_timeline(
    result: ForecastResult,
    *,
    model: ModelConfig,
    input_tokens: int,
    output_tokens: int,
    gpu: GPUConfig | None = None,
    options: ServingOptions | None = None,
    period: str = "day",
    current_gpus: int | None = None,
) -> CapacityTimeline:
    """Size the fleet for each period's forecast peak; find when ``current_gpus`` stop being enough."""
    options = options or ServingOptions()
    gpu = gpu or GPUConfig()
    period_peaks = peaks(result, period)
    # One configuration (GPU type, TP x PP) sized at the horizon's highest peak; each period then needs
    # ceil(peak x (1 + safety margin) / RPS per replica) replicas of it, never fewer than the HA minimum.
    top = max(p.peak for p in period_peaks)
    first_plan = plan_inference(
        LLMWorkloadInput(max(top, 1e-6), input_tokens, output_tokens, peak_load_multiplier=1.0), model, gpu, options
    )
    per_replica_rps = first_plan.throughput.rps_per_replica
    gpus_per_replica = first_plan.gpu_resources.min_gpus_per_replica
    gpu_hourly = first_plan.cost.gpu_hourly_cost if first_plan.cost else None
    periods: list[CapacityPeriod] = []
    for p in period_peaks:
        replicas = max(options.min_replicas, math.ceil(p.peak * (1.0 + options.safety_margin) / per_replica_rps - 1e-9))
        gpus = replicas * gpus_per_replica
        periods.append(
            CapacityPeriod(
                period_start=p.period_start,
                peak_rps=p.peak,
                replicas=replicas,
                gpus=gpus,
                gpu_type=first_plan.gpu_resources.recommended_gpu_type,
                monthly_cost=gpus * gpu_hourly * HOURS_PER_MONTH if gpu_hourly is not None else None,
            )
        )
    per_replica = per_replica_rps
    capacity = None
    exceeded = None
    if current_gpus is not None:
        capacity = (current_gpus // gpus_per_replica) * per_replica / (1.0 + options.safety_margin)
        for point in result.forecast:
            if point.hi80 > capacity:
                exceeded = point.timestamp
                break
    return CapacityTimeline(periods, per_replica, gpus_per_replica, current_gpus, capacity, exceeded)


@dataclass
class FutureNeeds:
    """The seed's ``forecast_future_needs`` answer: the load forecast and, for a model, the capacity timeline."""

    forecast: ForecastResult
    capacity: CapacityTimeline | None

    def to_dict(self) -> dict[str, Any]:
        return {"forecast": self.forecast.to_dict(), "capacity": self.capacity.to_dict() if self.capacity else None}


def forecast_future_needs(
    rps_history: Any,
    model: ModelConfig | None,
    horizon_days: float,
    scenario: str = "baseline",
    *,
    input_tokens: int = 500,
    output_tokens: int = 200,
    growth_rate: float = 0.0,
    gpu: GPUConfig | None = None,
    options: ServingOptions | None = None,
    current_gpus: int | None = None,
) -> FutureNeeds:
    """Forecast hourly RPS history ``horizon_days`` ahead under ``scenario`` and size capacity per day."""
    from .forecast import forecast_future_needs as forecast_rps

    result = forecast_rps(rps_history, horizon_days, scenario, growth_rate=growth_rate)
    timeline = None
    if model is not None:
        timeline = capacity_timeline(
            result,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            gpu=gpu,
            options=options,
            current_gpus=current_gpus,
        )
    return FutureNeeds(result, timeline)
