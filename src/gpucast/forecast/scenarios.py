"""What-if scenarios over a forecast, and the peaks a capacity plan should be sized for.

Standard library only: scenarios transform a :class:`ForecastResult`'s points, they never refit.

Scenarios (every value of a step — mean and all bounds — is multiplied by the same factor, so the fan keeps its
shape and bounds stay ordered):

``baseline``
    The ensemble forecast unchanged.
``optimistic``
    Demand lands on the lower 80% bound: factor = lo80 / mean per step (the 10th percentile path).
``pessimistic``
    Demand lands on the upper 80% bound: factor = hi80 / mean per step (the 90th percentile path).
``spike``
    The baseline with a surge: factor ``spike_multiplier`` (default 2.0) for ``spike_hours`` (default 24 h) starting
    at the beginning of the UTC day that holds the forecast's highest mean — a launch or viral event at the worst
    time. Other steps are unchanged.

``growth_rate`` (percent per month, may be negative, > -100, at most ``MAX_GROWTH_RATE``) is an overlay applied after the scenario: step k is
multiplied by (1 + growth_rate/100) ** (elapsed_days_k / 30.4375), elapsed from the last history point. It adds
growth the history does not show yet (a planned launch, a migration); the models already extrapolate the trend
they see, so 0 means "the trend as observed".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..errors import InputError
from .result import ForecastPoint, ForecastResult

SCENARIOS = ("baseline", "optimistic", "pessimistic", "spike")
SPIKE_MULTIPLIER = 2.0  # a doubling: the order of a launch-day or viral surge
SPIKE_HOURS = 24.0
DAYS_PER_MONTH = 30.4375  # 365.25 / 12
PEAK_QUANTILE = 95.0  # capacity is sized for p95 of the upper band, not its single largest step (one outlier)


def _time(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _scaled(point: ForecastPoint, factor: float) -> ForecastPoint:
    return ForecastPoint(
        point.timestamp,
        point.mean * factor,
        {lv: v * factor for lv, v in point.lo.items()},
        {lv: v * factor for lv, v in point.hi.items()},
    )


def _ratio(numerator: float, mean: float) -> float:
    return numerator / mean if mean > 0 else 1.0


def _spike_factors(points: list[ForecastPoint], multiplier: float, hours: float) -> list[float]:
    peak = max(points, key=lambda p: p.mean)
    start = _time(peak.timestamp).replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=hours)
    return [multiplier if start <= _time(p.timestamp) < end else 1.0 for p in points]


# 1000% a month (11x) is the web API's bound already; over the longest horizon (366 days) it multiplies the
# forecast by 11^12 = 3e12, still finite; an unbounded rate ("inf", 1e300) overflowed the overlay to inf/NaN
MAX_GROWTH_RATE = 1000.0


def scenario_name(scenario: Any) -> Any:
    """A scenario as written here (lower case, no surrounding blanks): the CLI reads ``--engine VLLM`` and
    ``--cloud AWS`` in any case, so ``--scenario Spike`` is the spike scenario, not an unknown one."""
    return scenario.strip().lower() if isinstance(scenario, str) else scenario


def apply_scenario(
    result: ForecastResult,
    scenario: str = "baseline",
    growth_rate: float = 0.0,
    *,
    spike_multiplier: float = SPIKE_MULTIPLIER,
    spike_hours: float = SPIKE_HOURS,
) -> ForecastResult:
    """A copy of ``result`` with ``scenario`` (any case, as every other named choice) and the ``growth_rate``
    overlay applied (see the module docstring)."""
    scenario = scenario_name(scenario)
    if isinstance(growth_rate, bool) or not isinstance(growth_rate, int | float):  # "5", None: a TypeError below
        raise InputError(f"growth_rate {growth_rate!r} must be a number (percent per month)")
    if scenario not in SCENARIOS:
        raise InputError(f"unknown scenario {scenario!r}; accepted: {', '.join(SCENARIOS)}")
    if not -100 < growth_rate <= MAX_GROWTH_RATE:
        raise InputError(
            f"growth_rate {growth_rate:g}% per month is not accepted; it must be > -100 and at most {MAX_GROWTH_RATE:g}"
        )
    if spike_multiplier <= 0 or spike_hours <= 0:
        raise InputError(f"spike_multiplier and spike_hours must be > 0, got {spike_multiplier:g} and {spike_hours:g}")
    if scenario not in ("baseline", "spike") and 80 not in result.levels:
        raise InputError(f"scenario {scenario!r} needs the 80% interval; forecast with level including 80")
    points = result.forecast
    if not points:
        return result.with_points([], scenario=scenario, growth_rate=growth_rate)
    if scenario == "optimistic":
        factors = [_ratio(p.lo80, p.mean) for p in points]
    elif scenario == "pessimistic":
        factors = [_ratio(p.hi80, p.mean) for p in points]
    elif scenario == "spike":
        factors = _spike_factors(points, spike_multiplier, spike_hours)
    else:
        factors = [1.0] * len(points)
    if growth_rate:
        step = _time(points[1].timestamp) - _time(points[0].timestamp) if len(points) > 1 else timedelta(hours=1)
        origin = _time(points[0].timestamp) - step
        monthly = 1 + growth_rate / 100
        factors = [
            f * monthly ** ((_time(p.timestamp) - origin).total_seconds() / 86_400 / DAYS_PER_MONTH)
            for f, p in zip(factors, points, strict=True)
        ]
    # factor 1 everywhere (the baseline without growth): the points as they are — multiplying by 1.0 changes no
    # value, and a fleet of 1,000 services spent ~4 s copying 336 points each
    scaled = (
        list(points)
        if all(f == 1.0 for f in factors)
        else [_scaled(p, f) for p, f in zip(points, factors, strict=True)]
    )
    return result.with_points(scaled, scenario=scenario, growth_rate=growth_rate)


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default), q in percent."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Peak:
    """The load to size capacity for in one period: p95 of the upper band (``peak``) and the largest mean."""

    period_start: str  # ISO 8601 date (day) or the Monday of the week, UTC
    peak: float
    mean_peak: float
    points: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "period_start": self.period_start,
            "peak": round(self.peak, 4),
            "mean_peak": round(self.mean_peak, 4),
            "points": self.points,
        }


def period_start(timestamp: str, period: str) -> str:
    """The UTC day (``period='day'``) or the Monday of the ISO week (``'week'``) a forecast timestamp falls in."""
    day = _time(timestamp).date()
    return (day if period == "day" else day - timedelta(days=day.weekday())).isoformat()


def peaks(
    result: ForecastResult, period: str = "day", *, level: int = 80, quantile: float = PEAK_QUANTILE
) -> list[Peak]:
    """Per UTC day or ISO week: ``quantile`` (p95) of the upper ``level`` (80%) bound over that period's steps.

    The capacity plan should be sized for this, not the mean: the mean forecast underestimates every busy hour.
    """
    if period not in ("day", "week"):
        raise InputError(f"peak period {period!r} is not accepted; use day or week")
    if result.forecast and level not in result.levels:
        raise InputError(f"interval level {level} was not forecast; levels: {result.levels}")
    groups: dict[str, list[ForecastPoint]] = {}
    for p in result.forecast:
        groups.setdefault(period_start(p.timestamp, period), []).append(p)
    return [
        Peak(start, _quantile([p.hi[level] for p in pts], quantile), max(p.mean for p in pts), len(pts))
        for start, pts in groups.items()
    ]
