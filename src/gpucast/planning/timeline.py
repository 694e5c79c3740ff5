"""From a traffic forecast to a capacity timeline: per day (or week) the forecast peak, the replicas
and GPUs the inference planner sizes for it, the monthly cost at that size, and the first time the
current fleet would be exceeded.

The planner is run on the forecast peak (p95 of the 80% upper band in the period), with the peak
multiplier set to 1 because the forecast already is the peak; the safety margin still applies, and so does the
planner's target utilization (``core.fleet.size_fleet``: the rate, here the peak, at most that share of a replica's
saturation throughput), so a period needs the replicas `gpucast inference --rps PEAK --peak-multiplier 1` gives.
Each period is priced as the planner prices a fleet on the offer it chose (whole instances of that instance type,
``core.cost.same_offer``), not per GPU: 3 GPUs of an 8-GPU-only instance cost one instance.

Request sizes: when the history had token columns (a request log, or ``input_tokens``/``output_tokens``
columns), the forecast carries per-step token forecasts and each period is planned with its own token mix
(the request-weighted mean of the forecast tokens over the period), so a shift towards longer prompts shows
up as fewer requests per replica. Tokens given explicitly override the forecast ones for every period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..catalog import loader
from ..core.cost import cheapest_fleet
from ..core.fleet import replicas_at_slo, replicas_at_utilization
from ..errors import InfeasibleError, InputError
from ..forecast import ForecastResult, peaks
from ..forecast import forecast_future_needs as forecast_rps
from ..forecast.scenarios import period_start
from ..inputs.numbers import check_positive
from ..inputs.types import MAX_REQUESTS_PER_SECOND, GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from ..plans.inference import LLMCapacityPlan
from .inference import plan_inference

MAX_TOKENS = (10_000_000, 1_000_000)  # input, output tokens per request, as the planner bounds them (inputs.types)
DEFAULT_TOKENS = (500, 200)  # the seed's defaults, used when neither the caller nor the history gives tokens


@dataclass
class CapacityPeriod:
    period_start: str
    peak_rps: float
    replicas: int
    gpus: int
    gpu_type: str
    monthly_cost: float | None
    input_tokens: float  # mean tokens per request this period was planned with
    output_tokens: float
    rps_per_replica: float


@dataclass
class CapacityTimeline:
    periods: list[CapacityPeriod]
    rps_per_replica: float  # at the horizon's highest peak (the period the configuration was chosen for)
    gpus_per_replica: int
    current_gpus: int | None
    current_capacity_rps: float | None
    exceeds_capacity_at: str | None  # first forecast timestamp whose upper 80% band exceeds the current fleet
    tokens_source: str = "given"  # "given" (caller), "forecast" (history token columns) or "default" (500/200)
    min_replicas: int = 1  # the planner's floor every period is sized with (current GPUs below it: short at once)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def forecast_fields(self) -> dict[str, Any]:
        """What ``gpucast predict --json`` and ``POST /api/v1/forecast`` add to the forecast's JSON."""
        return {
            "capacity": [asdict(p) for p in self.periods],
            "exceeds_capacity_at": self.exceeds_capacity_at,
            "current_capacity_rps": self.current_capacity_rps,
            "tokens_source": self.tokens_source,
        }


def check_tokens(input_tokens: int | None, output_tokens: int | None) -> None:
    """Tokens per request given for a capacity timeline are whole numbers of at least 1 (None: not given)."""
    for flag, value, most in (
        ("--input-tokens", input_tokens, MAX_TOKENS[0]),
        ("--output-tokens", output_tokens, MAX_TOKENS[1]),
    ):
        if value is not None:
            check_positive(flag, value, integer=True, upper=most)


def unused_without_model(given: dict[str, Any], model: str) -> str | None:
    """The warning for capacity-timeline inputs given without a model (``given``: the inputs by the name the caller's
    user knows them, ``--gpu`` or ``gpu``; ``model`` the model's): they size a timeline that is not made. The CLI
    said so; the page, the REST endpoint and the desktop dropped them without a word."""
    unused = [name for name, value in given.items() if value is not None]
    if not unused:
        return None
    return f"not used without {model} (they size its capacity timeline): {', '.join(unused)}"


def require_tokens(result: ForecastResult, input_tokens: int | None, output_tokens: int | None) -> None:
    """A capacity timeline asked for explicitly (``predict --model``, the forecast endpoint) needs tokens per request:
    given, or forecast from the history's token columns; the silent 500/200 default is for the seed's API only."""
    check_tokens(input_tokens, output_tokens)
    # both columns: with one (the other empty or absent) the timeline fell back to the 500/200 default silently
    if not (input_tokens and output_tokens) and not period_tokens(result, "day"):
        raise InputError(
            "--input-tokens and --output-tokens are needed with --model for the capacity timeline "
            "(or a history with input_tokens and output_tokens columns holding values, whose forecast is then used)"
        )


def period_tokens(result: ForecastResult, period: str) -> dict[str, tuple[float, float]]:
    """Per period, the request-weighted mean forecast (input, output) tokens; empty without token forecasts."""
    tin, tout = result.tokens.get("input_tokens"), result.tokens.get("output_tokens")
    if not tin or not tout or len(tin) != len(result.forecast) or len(tout) != len(result.forecast):
        return {}
    sums: dict[str, list[float]] = {}
    for point, i, o in zip(result.forecast, tin, tout, strict=True):
        weight = max(point.mean, 1e-9)
        acc = sums.setdefault(period_start(point.timestamp, period), [0.0, 0.0, 0.0])
        acc[0] += weight * i
        acc[1] += weight * o
        acc[2] += weight
    return {key: (a / w, b / w) for key, (a, b, w) in sums.items()}


def capacity_timeline(
    result: ForecastResult,
    *,
    model: ModelConfig,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    gpu: GPUConfig | None = None,
    options: ServingOptions | None = None,
    period: str = "day",
    current_gpus: int | None = None,
) -> CapacityTimeline:
    """Size the fleet for each period's forecast peak; find when ``current_gpus`` stop being enough.

    ``input_tokens``/``output_tokens``: mean tokens per request for every period; when omitted, the forecast's
    token columns give each period its own mix, else the seed defaults (500 in, 200 out) are used.
    """
    check_tokens(input_tokens, output_tokens)
    if current_gpus is not None and (type(current_gpus) is not int or current_gpus < 0):  # "-1 GPUs carry -13 req/s"
        raise InputError(f"current GPUs must be a whole number >= 0, got {current_gpus}")
    options = options or ServingOptions()
    gpu = gpu or GPUConfig()
    period_peaks = peaks(result, period)
    forecast_mix = period_tokens(result, period)
    if input_tokens is not None and output_tokens is not None:
        source, mix = "given", {p.period_start: (float(input_tokens), float(output_tokens)) for p in period_peaks}
    elif input_tokens is not None or output_tokens is not None:
        raise InputError("give both input and output tokens per request, or neither (then the forecast's are used)")
    elif forecast_mix:
        source, mix = "forecast", forecast_mix
        empty = next(((start, t) for start, t in mix.items() if min(t) < 1.0), None)
        if empty is not None:  # was planned as 1 token silently, while the timeline reported 0
            raise InputError(
                f"the history's token columns forecast {empty[1][0]:.2g} input / {empty[1][1]:.2g} output tokens per "
                f"request for {empty[0]}: a request has at least one of each; give --input-tokens/--output-tokens"
            )
        huge = next(((start, t) for start, t in mix.items() if t[0] > MAX_TOKENS[0] or t[1] > MAX_TOKENS[1]), None)
        if huge is not None:  # the planner's message named --input-tokens, a flag the user never gave
            raise InputError(
                f"the history's token columns forecast {huge[1][0]:,.4g} input / {huge[1][1]:,.4g} output tokens per "
                f"request for {huge[0]}: at most {MAX_TOKENS[0]:,} / {MAX_TOKENS[1]:,}; check those columns' unit, or give "
                "--input-tokens/--output-tokens"
            )
    else:
        default = (float(DEFAULT_TOKENS[0]), float(DEFAULT_TOKENS[1]))
        source, mix = "default", dict.fromkeys((p.period_start for p in period_peaks), default)
    # One configuration (GPU type, TP x PP) sized at the horizon's highest peak; each period then needs
    # ceil(peak x (1 + safety margin) / RPS per replica) replicas of it (RPS per replica at that period's
    # token mix), never fewer than the HA minimum.
    top = max(period_peaks, key=lambda p: p.peak)
    if top.peak > MAX_REQUESTS_PER_SECOND:  # else the planner's message names --rps, a flag this caller never took
        raise InfeasibleError(
            f"the forecast peak (p95 of the upper 80% band) of {top.peak:,.4g} req/s in {top.period_start} is beyond "
            f"what a capacity plan is made for (at most {MAX_REQUESTS_PER_SECOND:g} req/s); check the history's units, or a "
            "band that a short history widened"
        )
    first_plan = _plan(top.peak, mix[top.period_start], model, gpu, options)
    resources = first_plan.gpu_resources
    fixed_gpu = replace(gpu, gpu_type=resources.recommended_gpu_type)
    fixed = replace(options, tp=resources.tensor_parallel, pp=resources.pipeline_parallel)
    gpus_per_replica = resources.min_gpus_per_replica
    monthly = _fleet_pricer(first_plan)
    per_replica_at: dict[tuple[float, float], tuple[float, float]] = {mix[top.period_start]: _rates(first_plan)}
    utilization = gpu.target_gpu_utilization
    periods: list[CapacityPeriod] = []
    for p in period_peaks:
        tokens = mix[p.period_start]
        if tokens not in per_replica_at:
            per_replica_at[tokens] = _rps_per_replica(p.peak, tokens, model, fixed_gpu, fixed)
        per_replica, saturation = per_replica_at[tokens]
        if per_replica <= 0.0:  # this period's mix does not fit the configuration sized at the top peak
            layout = f"TP={resources.tensor_parallel}" + (
                f" x PP={resources.pipeline_parallel}" if resources.pipeline_parallel > 1 else ""
            )
            raise InfeasibleError(
                f"the configuration sized at the highest peak ({gpus_per_replica} x {resources.recommended_gpu_type}, "
                f"{layout}) cannot serve the {p.period_start} mix of {tokens[0]:,.0f} input / {tokens[1]:,.0f} output "
                "tokens per request (from the history's token columns); give --input-tokens/--output-tokens, or "
                "check those columns"
            )
        replicas = max(  # the planner's two rules (core.fleet.size_fleet), the peak being the period's average
            options.min_replicas,
            replicas_at_utilization(p.peak, saturation, utilization),
            replicas_at_slo(p.peak, per_replica, options.safety_margin),
        )
        gpus = replicas * gpus_per_replica
        periods.append(
            CapacityPeriod(
                period_start=p.period_start,
                peak_rps=p.peak,
                replicas=replicas,
                gpus=gpus,
                gpu_type=resources.recommended_gpu_type,
                monthly_cost=monthly(gpus_per_replica, replicas),
                input_tokens=tokens[0],
                output_tokens=tokens[1],
                rps_per_replica=per_replica,
            )
        )
    top_rps = first_plan.throughput.rps_per_replica
    capacity = None
    exceeded = None
    if current_gpus is not None:
        # the highest rate a fleet of replicas_now carries under both rules the periods are sized by
        carried = {
            p.period_start: min(
                per_replica_at[mix[p.period_start]][0] / (1.0 + options.safety_margin),
                per_replica_at[mix[p.period_start]][1] * utilization,
            )
            for p in periods
        }
        replicas_now = current_gpus // gpus_per_replica
        capacity = replicas_now * carried[top.period_start]
        for point in result.forecast:
            limit = replicas_now * carried[period_start(point.timestamp, period)]
            # below the minimum replicas every period is sized with (and `gpucast fleet` counts), the fleet is short
            # from the first hour: 1 GPU "carried 13.20 req/s, not exceeded" beside a table of 2 GPUs every day
            if point.hi80 > limit or replicas_now < options.min_replicas:
                exceeded = point.timestamp
                break
    return CapacityTimeline(
        periods, top_rps, gpus_per_replica, current_gpus, capacity, exceeded, source, options.min_replicas
    )


def _plan(
    peak: float, tokens: tuple[float, float], model: ModelConfig, gpu: GPUConfig, options: ServingOptions
) -> LLMCapacityPlan:
    workload = LLMWorkloadInput(
        max(peak, 1e-6), max(1, round(tokens[0])), max(1, round(tokens[1])), peak_load_multiplier=1.0
    )
    return plan_inference(workload, model, gpu, options)


def _rates(plan: LLMCapacityPlan) -> tuple[float, float]:
    """(requests/s one replica carries within the SLOs, its saturation requests/s), as ``core.fleet.size_fleet``
    reads them: saturation is never below the SLO capacity."""
    thr = plan.throughput
    saturation = (thr.max_tps_per_replica or 0.0) / max(plan.inputs.get("avg_output_tokens") or 1, 1)
    return thr.rps_per_replica, max(saturation, thr.rps_per_replica)


def _rps_per_replica(
    peak: float, tokens: tuple[float, float], model: ModelConfig, gpu: GPUConfig, options: ServingOptions
) -> tuple[float, float]:
    """``_rates`` of one replica of the fixed configuration at this token mix ((0, 0) if it cannot serve it)."""
    try:
        return _rates(_plan(peak, tokens, model, gpu, options))
    except InfeasibleError:
        return 0.0, 0.0


def _fleet_pricer(plan: LLMCapacityPlan) -> Callable[[int, int], float | None]:
    """``monthly(gpus_per_replica, replicas)`` on the offer the plan chose (cloud, region, instance type, pricing
    model), whole instances, as the planner prices its autoscaled floor; None where the plan has no cost."""
    cost = plan.cost
    if cost is None:
        return lambda _gpus, _replicas: None
    gpu_id = loader.resolve_gpu(plan.gpu_resources.recommended_gpu_type).id
    offer = [p for p in loader.prices_for(cost.cloud, gpu_id, cost.region) if p.instance_type == cost.instance_type]

    def monthly(gpus_per_replica: int, replicas: int) -> float | None:
        fleet = cheapest_fleet(offer, gpus_per_replica=gpus_per_replica, replicas=replicas, pricing=cost.pricing)
        return fleet.monthly_usd if fleet is not None else None

    return monthly


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
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    growth_rate: float = 0.0,
    gpu: GPUConfig | None = None,
    options: ServingOptions | None = None,
    current_gpus: int | None = None,
) -> FutureNeeds:
    """Forecast hourly RPS history ``horizon_days`` ahead under ``scenario`` and size capacity per day.

    Tokens per request: as given, else the history's token columns (forecast per period), else 500 in / 200 out.
    """
    if model is not None and not isinstance(model, ModelConfig):  # a name: AttributeError 'validate' in the planner
        raise InputError(f"model must be a ModelConfig (ModelConfig(model_name=...)), got {model!r}")
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
