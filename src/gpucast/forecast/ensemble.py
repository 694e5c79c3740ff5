"""The forecasting ensemble: statsforecast members, rolling-origin backtest, combination and conformal intervals.

Members (configured statsforecast objects, chosen by the detected seasons; see ``seasonality.py``):

* ``SeasonalNaive`` — the baseline, always fitted and always reported;
* ``MSTL`` (trend by AutoETS), ``MSTL-ARIMA`` (trend by a *restricted* ARIMA: fixed order (2,1,0), no search —
  unrestricted seasonal AutoARIMA with season 24 takes ~50 s per fit), ``MSTL-Theta`` and ``MSTL-log`` (MSTL on
  log1p(y); its back-transform is capped at ``LOG_CAP_FACTOR`` × the window's maximum so exp() of a trend cannot
  explode) — i.e. ETS, ARIMA and Theta on the seasonally adjusted series, the approach that handles two seasons;
* ``AutoETS``, ``AutoTheta`` and a non-seasonal restricted ``ARIMA`` on the raw series, only when there is at most
  one season of <= 24 steps (those models cannot carry a 168-step weekly cycle).

Fast fleet mode (``fast=True``; ``forecast_fleet`` turns it on for 100+ services): members ``SeasonalNaive``,
``MSTL`` (its ETS trend searches additive-error models only: ANN/AAN/AAdN) and ``MSTL-ARIMA``, and ``FAST_FOLDS``
backtest fold(s) (coverage is then checked on that fold). Measured
on 2 cores: 78 ms per service (1,000 services in 78 s) against 387 ms for the full ensemble, with holdout MAE within
a few percent of it on the synthetic test series (before 2026-12-08: the calibrated bands add about 30 ms a
service, docs/forecast-accuracy.md). Token columns (mean tokens per request) are forecast per step by a seasonal window average.

Fitting uses at most the last 8 weeks (``fit_points``: ``MAX_FIT_POINTS`` = 1,344 points for hourly and coarser
steps, at most ``MAX_FINE_FIT_POINTS`` for finer ones) so cost does not grow with the history. STL runs with LOESS jumps of ``STL_JUMP`` steps.

Backtest: statsforecast ``cross_validation`` (refitted at every cutoff: ``forward`` with stale parameters scored
members 20–50% worse than they forecast after refitting, after a level shift) gives each member's errors. The ``TOP_K`` best members by MAE are combined either by their median or by a
weighted mean (weights ∝ 1/MAE) — whichever had the lower backtest MAE. This choice uses the same folds it is
scored on, so the reported ensemble figures are slightly optimistic; SeasonalNaive's are not.

Intervals are the default engine's, centred on this ensemble's mean (``fast.band_rule``, ``BandRule.centred``;
one implementation): per-step conformal quantiles of log1p residuals from the fast members' many-origin rolling
backtest, recency-weighted and scaled by the recent volatility, hedged for a level shift in the last hours, replayed
at past origins and recalibrated, grown past the calibrated steps by the series' own level changes, one-sided where
outages were frequent, and every upper bound held under the history's peak raised by its own record rise
(``leads.reach_capped``). Why (2026-12-08, issue 26 item 1): this engine's own bands — relative residuals of three
folds, widened to seasonal-naive's error quantiles — were too narrow on most ServeGen series (client-73: 0.50 of
the hours inside the 80% band at 48 hours; 9 of 18 seasonal series outside 70–90%), because three folds sample a
bursty series' level changes two or three times; refitting statsforecast at dozens of origins to calibrate on its
own residuals would cost dozens of fits. The folds instead check the rule around this ensemble's forecasts and widen
it by the factor its own errors needed (``fold_bands.py``). docs/forecast-accuracy.md has the measurements.
"""

from __future__ import annotations

import functools
import math
import warnings as pywarnings
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from . import fold_bands
from .fast import _scale, _smape, band_rule  # numpy only: the statsforecast ensemble scores and bands the same way
from .history import step_seconds
from .result import Backtest, CoverageSpan, ForecastPoint, ForecastResult, Member
from .seasonality import SeriesPlan, plan_series
from .steps import MAX_FIT_POINTS as MAX_FIT_POINTS  # re-exported: its old home
from .steps import fit_points

STL_JUMP = 20  # STL evaluates LOESS every 20 points and interpolates (statsmodels' *_jump options): 3× faster,
# no loss of accuracy measured on hourly synthetic traffic
LOG_CAP_FACTOR = 2.0  # log-fitted members may at most reach 2× the window's peak
TOP_K = 3  # members combined: the measurements found a median of a few members best on real traffic
FAST_FOLDS = 1  # fast fleet mode: one backtest fold (the last fold_h steps) instead of MAX_FOLDS
TOKEN_COLUMNS = ("input_tokens", "output_tokens")  # request-log columns forecast alongside the rps
TOKEN_WINDOW = 7  # token forecasts average each phase over up to a week of daily seasons
# fleets are fitted in ~20 chunks at most (progress after each) of >= 100 fast-mode or 20 full-ensemble series (~5x the
# fit each): ~8 s of work per chunk on 2 cores; fresh process pools per call cost +5-9% on 1,000 services (README)
MIN_CHUNK, FULL_COST, PROGRESS_STEPS = 100, 5, 20


def _models(seasons: tuple[int, ...], baseline_season: int, fast: bool = False) -> tuple[list[Any], list[Any]]:
    """(raw members, log members) as configured statsforecast objects (``fast``: the fleet subset, see above)."""
    from statsforecast.models import ARIMA, MSTL, AutoARIMA, AutoETS, AutoTheta, SeasonalNaive, Theta

    # fast mode: the MSTL trend's ETS searches additive-error models only (ANN, AAN, AAdN) — half the default
    # ZZN search, which also tries multiplicative errors
    trend = AutoETS(model="AZN") if fast else AutoETS(model="ZZN")

    def restricted_arima() -> Any:
        # a fixed low order, no search: AutoARIMA even without seasons costs 2× the rest of the ensemble
        return ARIMA(order=(2, 1, 0))

    jumps = {"seasonal_jump": STL_JUMP, "trend_jump": STL_JUMP, "low_pass_jump": STL_JUMP}
    raw: list[Any] = [SeasonalNaive(season_length=baseline_season, alias="SeasonalNaive")]
    log: list[Any] = []
    if seasons:
        periods = list(seasons)
        raw.append(MSTL(periods, trend_forecaster=trend, stl_kwargs=jumps, alias="MSTL"))
        raw.append(MSTL(periods, trend_forecaster=restricted_arima(), stl_kwargs=jumps, alias="MSTL-ARIMA"))
        if fast:
            return raw, log
        raw.append(MSTL(periods, trend_forecaster=Theta(), stl_kwargs=jumps, alias="MSTL-Theta"))
        log.append(MSTL(periods, stl_kwargs=jumps, alias="MSTL-log"))
    if len(seasons) <= 1 and max(seasons, default=1) <= 24:
        season = seasons[0] if seasons else 1
        raw.append(AutoETS(season_length=season, alias="AutoETS"))
        raw.append(AutoTheta(season_length=season, alias="AutoTheta"))
        if not seasons:
            raw.append(AutoARIMA(seasonal=False, max_p=2, max_q=2, max_d=1, approximation=True, alias="ARIMA"))
    return raw, log


def _run(
    models: list[Any], df: pd.DataFrame, freq: str, plan: SeriesPlan, horizon: int, n_jobs: int, backend: Any = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest and final forecasts of ``models`` for every series in ``df`` (statsforecast warnings silenced).
    ``backend`` (a ``distributed.DaskBackend``) makes the same two calls on a cluster and hands back pandas."""
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    sf = StatsForecast(models=models, freq=freq, n_jobs=n_jobs, fallback_model=Naive())
    folds: dict[str, Any] = {"h": plan.fold_h, "n_windows": plan.folds, "step_size": plan.fold_h, "refit": True}
    if backend is not None:
        cv, fc = backend.run(sf, df, folds, horizon)
    else:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            cv, fc = sf.cross_validation(df=df, **folds), sf.forecast(df=df, h=horizon)
    return cv.sort_values(["unique_id", "cutoff", "ds"]), fc.sort_values(["unique_id", "ds"])


def _combine(preds: dict[str, np.ndarray], names: list[str], how: str, weights: dict[str, float]) -> np.ndarray:
    stack = np.stack([preds[n] for n in names])
    if how == "median":
        return np.asarray(np.median(stack, axis=0))
    w = np.array([weights[n] for n in names])
    return np.asarray(np.tensordot(w, stack, axes=1))


def _assemble(
    uid: str,
    y: np.ndarray,
    last_ds: pd.Timestamp,
    freq: str,
    plan: SeriesPlan,
    cv: dict[str, np.ndarray],
    fc: dict[str, np.ndarray],
    levels: tuple[int, ...],
    notes: list[str],
) -> ForecastResult:
    """Score members on the folds, combine the best, attach conformal intervals."""
    shape = (plan.folds, plan.fold_h)
    truth = cv.pop("y").reshape(shape)
    cap = LOG_CAP_FACTOR * float(y.max())
    for preds in (cv, fc):
        for name in list(preds):
            values = preds[name]
            if name.endswith("-log"):
                values = np.expm1(np.minimum(values, math.log1p(cap)))
            preds[name] = np.clip(values, 0.0, None)
    cv = {n: p.reshape(shape) for n, p in cv.items() if np.isfinite(p).all() and np.isfinite(fc[n]).all()}
    scale = _scale(y, plan.baseline_season)
    mae = {n: float(np.mean(np.abs(p - truth))) for n, p in cv.items()}
    ranked = sorted(mae, key=lambda n: mae[n])
    top = ranked[: min(TOP_K, len(ranked))]
    inverse = {n: 1 / max(mae[n], 1e-12) for n in top}
    weights = {n: inverse[n] / sum(inverse.values()) for n in top}
    options = {"weighted": _combine(cv, top, "weighted", weights)}
    if len(top) >= 3:
        options["median"] = _combine(cv, top, "median", weights)
    how = min(options, key=lambda k: float(np.mean(np.abs(options[k] - truth))))
    if len(top) == 1:
        how = "single"
    ens_cv = options["weighted" if how == "single" else how]
    used = {n: (1 / len(top) if how == "median" else weights[n]) for n in top}
    members = [Member(n, used.get(n, 0.0), mae[n] / scale if math.isfinite(scale) else None) for n in ranked]
    ens_fc = np.clip(_combine(fc, top, "median" if how == "median" else "weighted", weights), 0.0, None)

    base = cv["SeasonalNaive"]
    rule = band_rule(y, plan, len(ens_fc), levels)  # the default engine's calibration (fast.BandRule)
    ens_mae, base_mae = float(np.mean(np.abs(ens_cv - truth))), float(np.mean(np.abs(base - truth)))
    folds = fold_bands.check(y, plan, ens_cv, truth, levels)  # the rule at each fold's cutoff, and its scale
    held, checked = folds.coverage, folds.cells
    backtest = Backtest(
        mase=ens_mae / scale,
        smape=_smape(truth.ravel(), ens_cv.ravel()),
        mae=ens_mae,
        baseline_mase=base_mae / scale,
        baseline_smape=_smape(truth.ravel(), base.ravel()),
        baseline_mae=base_mae,
        coverage=held,
        folds=plan.folds,
        fold_horizon=plan.fold_h,
        baseline_season=plan.baseline_season,
        # checked on the folds' steps only: the spans say so beside the forecast (steps past fold_h unchecked)
        coverage_horizon=len(ens_fc),
        coverage_checked_steps=min(plan.fold_h, len(ens_fc)),
        coverage_by_steps=[CoverageSpan(1, min(plan.fold_h, len(ens_fc)), checked // plan.fold_h, checked, held)],
    )
    lows, highs = replace(rule, recalibrated={lv: rule.recalibrated[lv] * folds.scale[lv] for lv in levels}).centred(
        ens_fc
    )
    widened = []
    if max(folds.scale.values()) > 1.05:
        widened = [
            "intervals widened " + " / ".join(f"{folds.scale[lv]:.2f}x at {lv}%" for lv in levels) + ": this "
            "ensemble's own backtest folds erred more than the calibrated bands allow (fold_bands.py)",
        ]
    stamps = _timestamps(last_ds, freq, len(ens_fc))
    points = [
        ForecastPoint(
            stamps[k], mean, {lv: float(lows[lv][k]) for lv in levels}, {lv: float(highs[lv][k]) for lv in levels}
        )
        for k, mean in enumerate(ens_fc.tolist())
    ]
    return ForecastResult(
        unique_id=uid,
        freq=freq,
        forecast=points,
        backtest=backtest,
        members=members,
        seasonalities=list(plan.seasons),
        combination=how,
        fit_points=len(y),
        warnings=[*notes, *plan.warnings, *widened],
    )


def _timestamps(last_ds: pd.Timestamp, freq: str, n: int) -> list[str]:
    """ISO-8601 UTC stamps of the ``n`` steps after ``last_ds`` (a fresh list; the strings are cached)."""
    return list(_stamps(last_ds, freq, n))


@functools.lru_cache(maxsize=64)
def _stamps(last_ds: pd.Timestamp, freq: str, n: int) -> tuple[str, ...]:
    """Why cached: the services of a fleet mostly end at the same hour, and formatting 336 stamps with pandas cost
    ~5 ms a service (5 s of the parent's serial time for 1,000 services)."""
    stamps = pd.date_range(last_ds, periods=n + 1, freq=freq)[1:]
    return tuple(stamps.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _constant(
    uid: str, y: np.ndarray, last_ds: pd.Timestamp, freq: str, horizon: int, levels: tuple[int, ...], notes: list[str]
) -> ForecastResult:
    value = float(y[-1])
    offset = pd.tseries.frequencies.to_offset(freq)
    points = [
        ForecastPoint(
            (last_ds + k * offset).strftime("%Y-%m-%dT%H:%M:%SZ"),
            value,
            dict.fromkeys(levels, value),
            dict.fromkeys(levels, value),
        )
        for k in range(1, horizon + 1)
    ]
    warning = f"history is constant ({value:g}); forecasting that value with zero-width intervals, no models fitted"
    # no backtest ran, so no coverage was checked: None ("not checked"), as Backtest documents, not 100%
    backtest = Backtest(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, dict.fromkeys(levels, None), 0, 0, 1)
    return ForecastResult(uid, freq, points, backtest, [], [], "constant", len(y), warnings=[*notes, warning])


def forecast_frame(
    frame: pd.DataFrame,
    freq: str,
    horizon: int,
    *,
    levels: tuple[int, ...] = (80, 95),
    n_jobs: int = 1,
    notes: list[str] | None = None,
    fast: bool = False,
    progress: Callable[[int, int], None] | None = None,
    backend: Any = None,
    chunk_size: int | None = None,
    engine: str = "fast",
    outages: Mapping[str, list[pd.Timestamp]] | None = None,
) -> dict[str, ForecastResult]:
    """Forecast every series of a long frame ``unique_id, ds, y`` (regular steps of ``freq``, no NaN).

    Series that share a plan (same seasons and backtest layout) are fitted in one statsforecast call per member set
    and chunk of ``chunk_size`` series (default: max(MIN_CHUNK, total / PROGRESS_STEPS), MIN_CHUNK / FULL_COST
    unless ``fast`` — big enough to keep the batching, small enough for ``progress(done, total)`` after each), so
    ``n_jobs`` spreads a fleet over cores.
    ``notes`` (e.g. loading repairs) are prepended to every result's warnings. ``fast``: members SeasonalNaive, MSTL,
    MSTL-ARIMA and ``FAST_FOLDS`` fold(s), ~7× less fitting. ``backend``: ``distributed.open_backend`` (None: local).
    ``engine``: "fast" (default; numpy members, many-origin backtest, see ``fast.py``) or "statsforecast" (this
    module's ensemble; ``fast`` and ``backend`` apply to it only). ``outages``: steps per series the loader
    interpolated as outages (``History.outages``; the fast engine's bands allow for them, ``fast.OUTAGE_FLOOR``).
    """
    step_s = step_seconds(freq)
    results: dict[str, ForecastResult] = {}
    groups: dict[tuple[tuple[int, ...], int, int, int], list[tuple[str, np.ndarray, pd.Timestamp, SeriesPlan]]] = (
        defaultdict(list)
    )
    jobs: list[Any] = []
    window = fit_points(step_s)
    for uid, part in frame.groupby("unique_id", sort=False):
        y = part["y"].to_numpy(dtype="float64")[-window:]
        last_ds = part["ds"].iloc[-1]
        series_notes = list(notes or [])
        if len(part) > window:
            series_notes.append(f"fitted on the last {window} of {len(part)} points (fit window cap)")
        if float(np.ptp(y)) == 0.0:
            results[str(uid)] = _constant(str(uid), y, last_ds, freq, horizon, levels, series_notes)
            continue
        plan = plan_series(y, step_s, horizon)
        if outages and outages.get(str(uid)):  # both engines' bands allow for them (fast.band_rule)
            repaired = part["ds"].isin(outages[str(uid)]).to_numpy()[-window:]
            plan = replace(plan, outages=tuple(np.flatnonzero(repaired).tolist()))
        if engine == "fast":
            plan.warnings[:0] = series_notes
            jobs.append((str(uid), y, _timestamps(last_ds, freq, horizon), freq, plan, levels))
            continue
        if fast and plan.folds > FAST_FOLDS:
            plan = replace(plan, folds=FAST_FOLDS)
        plan.warnings[:0] = series_notes
        groups[(plan.seasons, plan.fold_h, plan.folds, plan.baseline_season)].append((str(uid), y, last_ds, plan))
    total = len(results) + sum(map(len, groups.values())) + len(jobs)
    size = chunk_size or max(MIN_CHUNK // (1 if fast else FULL_COST), -(-total // PROGRESS_STEPS))
    if progress is not None:
        progress(len(results), total)  # constant series are done without a fit
    if jobs:
        from .fast import forecast_many

        done = [len(results)]
        every = max(1, -(-len(jobs) // PROGRESS_STEPS))

        def advance(k: int) -> None:
            done[0] += k
            if progress is not None and (done[0] % every == 0 or done[0] == total):
                progress(done[0], total)

        for job, result in zip(jobs, forecast_many(jobs, n_jobs, advance), strict=True):
            results[job[0]] = result
    for members in (group[i : i + size] for group in groups.values() for i in range(0, len(group), size)):
        plan = members[0][3]
        raw_models, log_models = _models(plan.seasons, plan.baseline_season, fast)
        lengths = np.array([len(y) for _, y, _, _ in members])
        ids = np.repeat(np.array([uid for uid, _, _, _ in members], dtype=object), lengths)
        ds = np.concatenate(
            [pd.date_range(end=last, periods=len(y), freq=freq).to_numpy() for _, y, last, _ in members]
        )
        df = pd.DataFrame({"unique_id": ids, "ds": ds, "y": np.concatenate([y for _, y, _, _ in members])})
        cv, fc = _run(raw_models, df, freq, plan, horizon, n_jobs, backend)
        if log_models:
            cv_log, fc_log = _run(log_models, df.assign(y=np.log1p(df["y"])), freq, plan, horizon, n_jobs, backend)
            for name in (m.alias for m in log_models):
                cv[name], fc[name] = cv_log[name].to_numpy(), fc_log[name].to_numpy()
        names = [m.alias for m in raw_models + log_models]
        # every series of a group has the same fold layout and horizon: one reshape per column, no groupby
        order = {uid: k for k, uid in enumerate(cv["unique_id"].astype(str).unique())}
        cv_rows, fc_rows = plan.folds * plan.fold_h, horizon
        cv_cols = {n: cv[n].to_numpy(dtype="float64").reshape(-1, cv_rows) for n in ["y", *names]}
        fc_cols = {n: fc[n].to_numpy(dtype="float64").reshape(-1, fc_rows) for n in names}
        fc_order = {uid: k for k, uid in enumerate(fc["unique_id"].astype(str).unique())}
        for uid, y, last_ds, series_plan in members:
            k, j = order[uid], fc_order[uid]
            cv_arrays = {n: cv_cols[n][k].copy() for n in cv_cols}
            fc_arrays = {n: fc_cols[n][j].copy() for n in fc_cols}
            results[uid] = _assemble(uid, y, last_ds, freq, series_plan, cv_arrays, fc_arrays, levels, [])
        if progress is not None:
            progress(len(results), total)
    token_cols = [c for c in TOKEN_COLUMNS if c in frame.columns]
    if token_cols:
        for uid, part in frame.groupby("unique_id", sort=False):
            result = results[str(uid)]
            tokens = _token_forecast(part, token_cols, result.backtest.baseline_season, horizon, window)
            if tokens:
                results[str(uid)] = replace(result, tokens=tokens)
    return {uid: results[uid] for uid in map(str, frame["unique_id"].unique())}


def _token_forecast(
    part: pd.DataFrame, columns: list[str], season: int, horizon: int, window: int
) -> dict[str, list[float]]:
    """Mean tokens per request for each future step: a seasonal window average (the RPS baseline's
    season, averaged over up to ``TOKEN_WINDOW`` past seasons) on the fit window of each token column. Token
    lengths move with the mix of clients over the day and rarely trend, and one day's value per hour is noisy.
    Steps without a value (no request in that hour) are interpolated; a column with no value at all is skipped."""
    out = {}
    for column in columns:
        series = part[column].astype("float64").iloc[-window:]
        if len(series) == 0 or not series.notna().any():
            continue
        x = series.interpolate(limit_direction="both").to_numpy(dtype="float64")
        length = season if len(x) >= season else 1
        window = min(TOKEN_WINDOW, len(x) // length)
        # statsforecast's SeasonalWindowAverage (SeasonalNaive when window <= 1) in numpy: no statsforecast import
        seasons = x[len(x) - max(window, 1) * length :].reshape(max(window, 1), length)
        mean = np.resize(seasons.mean(axis=0), horizon)
        out[column] = np.clip(mean, 0.0, None).tolist()
    return out
