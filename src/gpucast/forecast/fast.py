"""The default forecasting engine: numpy members, many-origin backtest, error-ranked median, log-scale conformal bands.

One series at a time (``forecast_series``); fleets loop over their series, over ``n_jobs`` processes when large.
The statsforecast ensemble (``ensemble.py``) stays available as ``engine="statsforecast"`` and for Dask fleets.
Why this engine is the default (issue 26, measured on ServeGen and its per-client series, docs/forecast-growth.md):
its rolling-origin error-ranked combination beats the statsforecast median of MSTL, seasonal-naive and Theta on
point error, its bands are calibrated on dozens of origins instead of three folds, and it needs no statsforecast
import (~2 s).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import leads, nonseasonal, rolling
from .coverage import bands
from .coverage import check as horizon_coverage
from .members import forecast_members, level_shift, repair_outages
from .result import Backtest, ForecastPoint, ForecastResult, Member
from .seasonality import NO_SEASON, SeriesPlan

MAX_CALIBRATED_STEPS = 336  # steps measured directly (two weeks hourly); later ones widen by leads.added_spread
PARALLEL_MIN_SERIES = 200  # fleets below this size are fitted in-process: a pool's start-up costs more


def calibrated_steps(n: int, season: int, horizon: int) -> int:
    """Steps ahead measured at every origin: the horizon, at most two seasons, two weeks, and what the history
    leaves after the first origin and ``rolling.MIN_ORIGINS`` origins."""
    room = n - rolling.first_origin(n, season) - rolling.MIN_ORIGINS + 1
    return max(1, min(horizon, 2 * max(season, 1), MAX_CALIBRATED_STEPS, room))


def engine_season(y: np.ndarray, plan: SeriesPlan, horizon: int) -> int:
    """The season the members use: the plan's baseline season (the longest detected one, else the shortest
    candidate where the statsforecast engine's backtest folds leave one cycle before them, else 1); where that is 1,
    the shortest candidate (a day at hourly steps) wherever the history's seasonal rolling backtest can replay its
    band rule (``rolling.replay_count`` at least ``rolling.MIN_REPLAY_ORIGINS``), or holds three cycles — enough to
    measure seasonal-naive's error one cycle ahead on two cycles of pairs (``leads.naive_floored``, which then
    bounds the unchecked band from below: ``fit_series``) — and shows the cycle (``leads.cycle_evident``: closer to
    itself a cycle back than half a cycle back).

    Why: whether a series without a detected season got its daily members hung on the folds of the other engine,
    which depend on the horizon (n - 3 min(horizon, n / 4) > 24 at hourly steps): four days of history were
    forecast 24 hours ahead without a daily cycle and 6 hours ahead with one. On the Azure 2024 week traces,
    whose weekend damps the daily cycle's autocorrelation below the detector's bar, that flat forecast was the
    larger part of the loss after the weekend (docs/forecast-accuracy.md). Longer histories already took the
    daily members without a detected season (ServeGen m-large shows no lag-24 autocorrelation), and the backtest
    ranks them against seasonal-naive. Three days of hourly history leave one season of backtest origins and no
    replay, so until 2026-12-07 they stayed non-seasonal: the conversation trace's Wednesday was forecast flat,
    25% low (MAE 13.1 req/s against seasonal-naive's 4.2; 4.5 with the day's members), but the seasonal bands,
    resting on one day of residuals, held 0.04 of it at 80% — hence the naive floor. Without the replay, the
    backtest's one season of origins is a weak judge of whether the cycle is there at all, hence the evidence test:
    on three-day hourly windows of series without a cycle (noise, a random walk) the day's members lost 22% against
    the non-seasonal ones without it, 4% with it."""
    n = len(y)
    season = plan.baseline_season
    if season > 1 or plan.cycle <= 1:
        return season
    cycle = plan.cycle
    if rolling.replay_count(n, cycle, calibrated_steps(n, cycle, horizon)) >= rolling.MIN_REPLAY_ORIGINS:
        return cycle
    if n >= (leads.MIN_PAIRS_SEASONS + 1) * cycle and leads.cycle_evident(repair_outages(y, cycle), cycle):
        return cycle  # the band's floor (leads.naive_floored) can be measured, and the cycle shows
    return season


def _scale(y: np.ndarray, season: int) -> float:
    """MASE denominator: in-sample MAE of the seasonal-naive forecast (falls back to naive, then to NaN)."""
    tiny = 1e-9 * max(float(np.mean(np.abs(y))), 1e-12)
    for m in (season, 1):
        if len(y) > m:
            d = float(np.mean(np.abs(y[m:] - y[:-m])))
            if d > tiny:
                return d
    return math.nan


def _smape(y: np.ndarray, f: np.ndarray) -> float:
    denominator = np.abs(y) + np.abs(f)
    ratio = np.divide(2 * np.abs(y - f), denominator, out=np.zeros_like(y), where=denominator > 0)
    return float(np.mean(ratio) * 100)


def forecast_series(
    uid: str, y: np.ndarray, stamps: list[str], freq: str, plan: SeriesPlan, levels: tuple[int, ...]
) -> ForecastResult:
    """One series' forecast for ``len(stamps)`` steps: members, weights, bands and the backtest behind them."""
    return fit_series(uid, y, stamps, freq, plan, levels)[0]


@dataclass(frozen=True)
class BandRule:
    """Everything a forecast's bands are built from except the mean they sit around: the many-origin backtest of
    the fast members, the per-step log quantiles calibrated on it, the replay recalibration, the level-shift hedge,
    the growth past the calibrated steps, the outage floor and the record-rise cap's history. ``centred(mean)``
    turns it into bounds around any point forecast (``coverage.bands``): the default engine's own mean, or the
    statsforecast ensemble's (``ensemble._assemble``), so both engines' bands come from one calibration."""

    season: int
    steps: int  # calibrated steps K
    bt: rolling.Backtested
    ensemble_bt: np.ndarray  # the prequential ensemble forecast at every backtest origin
    rep: rolling.Replay
    quantiles: rolling.Quantiles | None
    band: dict[int, tuple[np.ndarray, np.ndarray]]
    recalibrated: dict[int, float]
    shift: float
    outages_now: float
    undetected: bool  # a cycle no test found (engine_season)
    unchecked: bool  # ... and bands no replay checked: floored at seasonal-naive's errors
    growth_at: Callable[[int], Any]  # the band past `steps`, as the forecast made at t would grow it

    def centred(self, mean: np.ndarray, capped: bool = True) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Lower and upper bounds per level around ``mean`` (one value per step ahead). ``capped=False``: without
        the record-rise cap (``coverage.bands`` reads ``season`` for it only), as the replay recalibration measures
        the bands (``rolling.replay``): a miss above the cap is the cap's, and no scaling of the band would hold it."""
        return bands(
            mean, self.band, self.shift, self.recalibrated, self.growth_at(len(self.bt.repaired)), self.outages_now,
            self.bt.repaired, self.season <= 1, self.season if capped else 1,
        )  # fmt: skip


def band_rule(y: np.ndarray, plan: SeriesPlan, horizon: int, levels: tuple[int, ...]) -> BandRule:
    """The default engine's band calibration for a forecast of ``horizon`` steps from history ``y`` (``BandRule``;
    ``plan.outages``: the steps the loader interpolated)."""
    season = engine_season(y, plan, horizon)
    steps = calibrated_steps(len(y), season, horizon)
    bt = rolling.backtest(y, season, steps)
    ensemble_bt = rolling.prequential(bt)
    rep = rolling.replay(bt, ensemble_bt, levels, y, plan.outages)
    outages_now = rolling.outage_rate(plan.outages, len(y), season)
    observed = np.isfinite(bt.actual)
    quantiles = rolling.calibrate(
        rep.residual, bt.origins, observed, len(y), season, levels, rep.cells, rolling.floored(levels, outages_now)
    )

    def growth_at(t: int) -> float | dict[int, np.ndarray] | leads.CappedWalk:  # the band past `steps`, made at t
        if season <= 1:
            alpha = nonseasonal.level_weight(bt.repaired[:t])
            ceiling = leads.flat_ceiling(bt.repaired[:t], steps, horizon, levels)
            return alpha if ceiling is None else leads.CappedWalk(alpha, ceiling)
        return leads.added_spread(bt.repaired[:t], season, steps, horizon, levels) or 1.0

    if quantiles is None:  # too short to calibrate: a flat band from the history's own spread
        flat = {lv: float(np.quantile(np.abs(np.diff(np.log1p(y))), lv / 100)) if len(y) > 2 else 0.0 for lv in levels}
        band = {lv: (np.full(steps, -flat[lv]), np.full(steps, flat[lv])) for lv in levels}
    else:
        band = quantiles.bands
    undetected = season > 1 and season != plan.baseline_season
    unchecked = undetected and quantiles is not None and len(rep.ends) < rolling.MIN_REPLAY_ORIGINS
    if unchecked:  # a cycle no test found, bands no replay checked: no narrower than seasonal-naive's errors
        band = leads.naive_floored(band, bt.repaired, season)
    return BandRule(
        season, steps, bt, ensemble_bt, rep, quantiles, band, rolling.recalibration(rep, levels),
        level_shift(y, season, bt.repaired), outages_now, undetected, unchecked, growth_at,
    )  # fmt: skip


def fit_series(
    uid: str, y: np.ndarray, stamps: list[str], freq: str, plan: SeriesPlan, levels: tuple[int, ...]
) -> tuple[ForecastResult, np.ndarray]:
    """``forecast_series`` and its backtest errors: actual minus the prequential ensemble forecast, shape (origins,
    steps), NaN where not observed. Series of one length and season share the origins, so a hierarchy's nodes
    can estimate their error covariance from them (``hierarchy.py``)."""
    horizon = len(stamps)
    rule = band_rule(y, plan, horizon, levels)
    season, steps, bt, ensemble_bt, rep = rule.season, rule.steps, rule.bt, rule.ensemble_bt, rule.rep
    quantiles, recalibrated, shift, outages_now = rule.quantiles, rule.recalibrated, rule.shift, rule.outages_now
    observed = np.isfinite(bt.actual)
    weights = rolling.member_weights(bt)
    mean = np.clip(
        rolling.combine(
            forecast_members(y, season, horizon, rolling.CAP_FACTOR * float(y.max()), bt.repaired), weights
        ),
        0,
        None,
    )
    coverage, by_steps, checked, checked_steps = horizon_coverage(
        bt, ensemble_bt, levels, y, rep, horizon, rule.growth_at, plan.outages, rule.undetected
    )
    unchecked = rule.unchecked
    lows, highs = rule.centred(mean)

    scale = _scale(y, season)
    truth, ens, base = bt.actual[observed], ensemble_bt[observed], bt.forecasts["SeasonalNaive"][observed]
    ens_mae, base_mae = float(np.mean(np.abs(ens - truth))), float(np.mean(np.abs(base - truth)))
    backtest = Backtest(
        mase=ens_mae / scale,
        smape=_smape(truth, ens),
        mae=ens_mae,
        baseline_mase=base_mae / scale,
        baseline_smape=_smape(truth, base),
        baseline_mae=base_mae,
        coverage=coverage,
        folds=len(bt.origins),
        fold_horizon=steps,
        baseline_season=season,
        coverage_origins=checked,
        coverage_horizon=horizon,
        coverage_checked_steps=checked_steps,
        coverage_by_steps=by_steps,
    )
    mae = {n: float(np.mean(np.abs(f[observed] - truth))) for n, f in bt.forecasts.items()}
    ranked = sorted(mae, key=lambda n: mae[n])
    members = [Member(n, weights.get(n, 0.0), mae[n] / scale if math.isfinite(scale) else None) for n in ranked]
    notes = list(plan.warnings)
    if season > 1 and not plan.seasons:  # the plan's note says non-seasonal; the members use the cycle anyway
        notes = [n for n in notes if n != NO_SEASON] + [
            f"no season passed the autocorrelation test; the members use a {season}-step cycle (seasonal-naive's), "
            "ranked against it on the backtest"
        ]
    if unchecked:
        notes.append(
            f"intervals no narrower than seasonal-naive's {season}-step errors on this history: too short to "
            "replay the band rule at past origins"
        )
    if quantiles is not None and quantiles.widen > 1.0:
        notes.append(f"intervals widened {quantiles.widen:.2f}x: the last season's errors were larger than usual")
    elif quantiles is not None and quantiles.widen < 1.0:
        notes.append(f"intervals narrowed {quantiles.widen:.2f}x: the last season's errors were smaller than usual")
    if recalibrated[levels[-1]] > 1.05:  # narrowing is routine; widening means the series surprised the rule
        notes.append(
            f"{levels[-1]}% band widened {recalibrated[levels[-1]]:.2f}x: replayed at past origins, the bands "
            "missed more often than their level (rolling.recalibration)"
        )
    floored = sorted(rolling.floored(levels, outages_now))
    if floored:
        notes.append(
            f"{'/'.join(f'{lv}%' for lv in floored)} band reaches 0: {outages_now:.1%} of the recent steps "
            "(recency-weighted) were outages, interpolated before fitting: more often than the band's lower tail"
        )
    if shift:
        notes.append(f"level shift of {math.expm1(shift):+.0%} in the last hours: intervals span the old and new level")
    points = [
        ForecastPoint(stamps[k], float(mean[k]), {lv: float(lows[lv][k]) for lv in levels},
                      {lv: float(highs[lv][k]) for lv in levels})
        for k in range(horizon)
    ]  # fmt: skip
    result = ForecastResult(
        unique_id=uid,
        freq=freq,
        forecast=points,
        backtest=backtest,
        members=members,
        seasonalities=list(plan.seasons),
        combination="median" if len(weights) > 1 else "single",
        fit_points=len(y),
        warnings=notes,
    )
    return result, bt.actual - ensemble_bt


def forecast_many(
    jobs: list[tuple[str, np.ndarray, list[str], str, SeriesPlan, tuple[int, ...]]],
    n_jobs: int,
    progress: Callable[[int], None] | None = None,
    residuals: bool = False,
) -> list[Any]:
    """``forecast_series`` over every job, in a process pool of ``n_jobs`` workers (-1: all cores) when the fleet
    has at least PARALLEL_MIN_SERIES series; ``progress(k)`` after each k finished. ``residuals``: ``fit_series``'s
    (result, errors) pairs instead of results."""
    import os

    workers = (os.cpu_count() or 1) if n_jobs < 0 else max(1, n_jobs)
    task = _star_residuals if residuals else _star
    if workers == 1 or len(jobs) < PARALLEL_MIN_SERIES:
        out = []
        for job in jobs:
            out.append(task(job))
            if progress is not None:
                progress(1)
        return out
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, len(jobs) // (workers * 10))
    results: list[Any] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(task, jobs, chunksize=chunk):
            results.append(result)
            if progress is not None:
                progress(1)
    return results


def _star(job: tuple[str, np.ndarray, list[str], str, SeriesPlan, tuple[int, ...]]) -> ForecastResult:
    return forecast_series(*job)


def _star_residuals(
    job: tuple[str, np.ndarray, list[str], str, SeriesPlan, tuple[int, ...]],
) -> tuple[ForecastResult, np.ndarray]:
    return fit_series(*job)
