"""Which seasons a series has, and how its rolling-origin backtest is laid out.

Seasons are *detected*, not assumed: the candidates are one day and one week in steps of the series' frequency
(24 and 168 at 1h, 288 and 2016 at 5min, 7 at 1d). A candidate counts when the history holds at least two of its
cycles and the autocorrelation at that lag of the detrended series (minus a centred moving average one season
long; for the weekly candidate also minus the daily profile, because every weekly lag is a daily lag too) exceeds
``ACF_THRESHOLD`` and the white-noise band 3/sqrt(n).

The backtest uses up to ``MAX_FOLDS`` consecutive, non-overlapping folds at the end of the fit window, each
``fold_h`` steps long: the forecast horizon, but at most the longest candidate season (a week at hourly
resolution) and a quarter of the history. Fewer folds are used, and then seasons dropped, when the training part
would hold less than two cycles of a season; each such fallback is reported as a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

DAY_S = 86_400.0
WEEK_S = 7 * DAY_S
ACF_THRESHOLD = 0.2  # lag correlation above which a daily/weekly cycle is treated as real
MAX_FOLDS = 3
MIN_TRAIN_POINTS = 4  # the smallest training part that a trend model can be fitted on
NO_SEASON = (
    "no daily or weekly seasonality used: forecast with non-seasonal members (levels, exponential smoothing and "
    "trends over the whole history)"
)


@dataclass(frozen=True)
class SeriesPlan:
    """How one series is fitted: seasons (steps, ascending), the backtest layout and fallbacks taken."""

    seasons: tuple[int, ...]
    fold_h: int
    folds: int
    baseline_season: int  # SeasonalNaive's season: the longest season used, else the daily candidate, else 1
    warnings: list[str] = field(default_factory=list)
    outages: tuple[int, ...] = ()  # steps of the fit window the loader interpolated as outages (fast engine bands)
    cycle: int = 1  # the shortest candidate season (a day at sub-daily steps), detected or not: fast.engine_season


def candidate_seasons(step_s: float) -> list[tuple[str, int]]:
    """Daily and weekly periods in whole steps of ``step_s`` seconds (a period must be >= 2 steps)."""
    out = []
    for name, span in (("daily", DAY_S), ("weekly", WEEK_S)):
        steps = span / step_s
        if steps >= 2 and math.isclose(steps, round(steps), rel_tol=1e-9):
            out.append((name, round(steps)))
    return out


def _detrend(y: np.ndarray, period: int) -> np.ndarray:
    kernel = np.ones(period) / period
    trend = np.convolve(y, kernel, mode="same")
    half = period // 2
    out = y - trend
    return out[half : len(y) - half] if len(y) > 2 * half + 2 else out


def _acf(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    denominator = float(np.dot(x, x))
    if lag >= len(x) or denominator <= 0:
        return 0.0
    return float(np.dot(x[:-lag], x[lag:]) / denominator)


def _phase_profile(x: np.ndarray, period: int) -> np.ndarray:
    """Mean of x per phase (index mod period), tiled back to x's length: the repeating part of x."""
    phases = np.arange(len(x)) % period
    means = np.bincount(phases, weights=x, minlength=period) / np.maximum(np.bincount(phases, minlength=period), 1)
    return means[phases]


def detect_seasons(y: np.ndarray, step_s: float) -> tuple[list[int], list[str]]:
    """Detected season lengths (ascending) and warnings for candidates the history is too short to test."""
    found: list[int] = []
    warnings: list[str] = []
    n = len(y)
    for name, period in candidate_seasons(step_s):
        if n < 2 * period:
            days = n * step_s / DAY_S
            warnings.append(
                f"the fitted history covers {days:.1f} days ({n} points); {name} seasonality needs at least two "
                f"cycles ({2 * period} points) — not modelled"
            )
            continue
        x = _detrend(y, period)
        if found:  # remove the shorter cycle first: its multiples also correlate at this lag
            x = x - _phase_profile(x, found[0])
        if float(np.var(x)) <= 1e-12 * max(float(np.var(y)), 1e-300):
            continue  # nothing left but float noise: its autocorrelation means nothing
        if _acf(x, period) > max(ACF_THRESHOLD, 3.0 / math.sqrt(len(x))):
            found.append(period)
    return found, warnings


def plan_series(y: np.ndarray, step_s: float, horizon: int) -> SeriesPlan:
    """Detect seasons and lay out the backtest so that every fold's training part holds two cycles of each season."""
    n = len(y)
    seasons, warnings = detect_seasons(y, step_s)
    candidates = [p for _, p in candidate_seasons(step_s)]
    longest = max(candidates, default=horizon)
    fold_h = max(1, min(horizon, longest, n // (MAX_FOLDS + 1)))
    while True:
        need = max([2 * p for p in seasons] + [MIN_TRAIN_POINTS])
        folds = next((k for k in range(MAX_FOLDS, 0, -1) if n - k * fold_h >= need), 0)
        if folds or not seasons:
            break
        dropped = seasons.pop()
        warnings.append(
            f"season of {dropped} steps dropped: too little history to backtest it (needs {2 * dropped} points before the folds)"
        )
    if folds == 0:  # tiny history: shrink the folds until one fits
        fold_h = max(1, (n - MIN_TRAIN_POINTS) // 2)
        folds = 1
    if folds < MAX_FOLDS:
        warnings.append(f"short history: backtest uses {folds} fold(s) of {fold_h} steps instead of {MAX_FOLDS}")
    if not seasons:
        warnings.append(NO_SEASON)
    baseline = seasons[-1] if seasons else next((p for p in candidates if n - folds * fold_h > p), 1)
    return SeriesPlan(tuple(seasons), fold_h, folds, baseline, warnings, cycle=min(candidates, default=1))
