"""The forecasting ensemble: statsforecast members, rolling-origin backtest, combination and conformal intervals.

Members (configured statsforecast objects, chosen by the detected seasons; see ``seasonality.py``):

* ``SeasonalNaive`` — the baseline, always fitted and always reported;
* ``MSTL`` (trend by AutoETS), ``MSTL-ARIMA`` (trend by a *restricted* ARIMA: fixed order (2,1,0), no search —
  unrestricted seasonal AutoARIMA with season 24 takes ~50 s per fit), ``MSTL-Theta`` and ``MSTL-log`` (MSTL on
  log1p(y); its back-transform is capped at ``LOG_CAP_FACTOR`` × the window's maximum so exp() of a trend cannot
  explode) — i.e. ETS, ARIMA and Theta on the seasonally adjusted series, the approach that handles two seasons;
* ``AutoETS``, ``AutoTheta`` and a non-seasonal restricted ``ARIMA`` on the raw series, only when there is at most
  one season of <= 24 steps (those models cannot carry a 168-step weekly cycle).

Fitting uses at most the last ``MAX_FIT_POINTS`` points (8 weeks at hourly resolution) so cost does not grow with
the history. STL runs with LOESS jumps of ``STL_JUMP`` steps.

Backtest: statsforecast ``cross_validation`` (refitted at every cutoff: ``forward`` with stale parameters scored
members 20–50% worse than they forecast after refitting, after a level shift) gives each member's errors. The ``TOP_K`` best members by MAE are combined either by their median or by a
weighted mean (weights ∝ 1/MAE) — whichever had the lower backtest MAE. This choice uses the same folds it is
scored on, so the reported ensemble figures are slightly optimistic; SeasonalNaive's are not.

Intervals are conformal: relative residuals r = (y − ŷ) / max(ŷ, floor) of the ensemble on the folds give the
quantiles, so bands scale with the level (traffic noise grows with traffic). Beyond the fold length bands widen by
sqrt(step / fold_h). Coverage is checked cross-conformally: each fold is scored with quantiles from the others.
"""

from __future__ import annotations

import math
import warnings as pywarnings
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from .history import step_seconds
from .result import Backtest, ForecastPoint, ForecastResult, Member
from .seasonality import SeriesPlan, plan_series

MAX_FIT_POINTS = 8 * 7 * 24  # 8 weeks at hourly resolution: caps fit cost whatever the history length
STL_JUMP = 20  # STL evaluates LOESS every 20 points and interpolates (statsmodels' *_jump options): 3× faster,
# no loss of accuracy measured on hourly synthetic traffic
LOG_CAP_FACTOR = 2.0  # log-fitted members may at most reach 2× the window's peak
TOP_K = 3  # members combined: the measurements found a median of a few members best on real traffic
INTERVAL_FLOOR_FRACTION = 0.1  # relative residuals use max(ŷ, 10% of mean level): no blow-up near zero traffic


def _models(seasons: tuple[int, ...], baseline_season: int) -> tuple[list[Any], list[Any]]:
    """(raw members, log members) as configured statsforecast objects."""
    from statsforecast.models import ARIMA, MSTL, AutoARIMA, AutoETS, AutoTheta, SeasonalNaive, Theta

    def restricted_arima() -> Any:
        # a fixed low order, no search: AutoARIMA even without seasons costs 2× the rest of the ensemble
        return ARIMA(order=(2, 1, 0))

    jumps = {"seasonal_jump": STL_JUMP, "trend_jump": STL_JUMP, "low_pass_jump": STL_JUMP}
    raw: list[Any] = [SeasonalNaive(season_length=baseline_season, alias="SeasonalNaive")]
    log: list[Any] = []
    if seasons:
        periods = list(seasons)
        raw.append(MSTL(periods, stl_kwargs=jumps, alias="MSTL"))
        raw.append(MSTL(periods, trend_forecaster=restricted_arima(), stl_kwargs=jumps, alias="MSTL-ARIMA"))
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
    models: list[Any], df: pd.DataFrame, freq: str, plan: SeriesPlan, horizon: int, n_jobs: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Backtest and final forecasts of ``models`` for every series in ``df`` (statsforecast warnings silenced)."""
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    sf = StatsForecast(models=models, freq=freq, n_jobs=n_jobs, fallback_model=Naive())
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        cv = sf.cross_validation(df=df, h=plan.fold_h, n_windows=plan.folds, step_size=plan.fold_h, refit=True)
        fc = sf.forecast(df=df, h=horizon)
    return cv.sort_values(["unique_id", "cutoff", "ds"]), fc.sort_values(["unique_id", "ds"])


def _scale(y: np.ndarray, season: int) -> float:
    """MASE denominator: in-sample MAE of the seasonal-naive forecast (falls back to naive, then to NaN)."""
    tiny = 1e-9 * max(float(np.mean(np.abs(y))), 1e-12)  # float noise of an exactly periodic series is not error
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


def _combine(preds: dict[str, np.ndarray], names: list[str], how: str, weights: dict[str, float]) -> np.ndarray:
    stack = np.stack([preds[n] for n in names])
    if how == "median":
        return np.asarray(np.median(stack, axis=0))
    w = np.array([weights[n] for n in names])
    return np.asarray(np.tensordot(w, stack, axes=1))


def _quantiles(r: np.ndarray, level: int) -> tuple[float, float]:
    alpha = 1 - level / 100
    return float(np.quantile(r, alpha / 2)), float(np.quantile(r, 1 - alpha / 2))


def _coverage(y: np.ndarray, f: np.ndarray, scale: np.ndarray, r: np.ndarray, level: int) -> float | None:
    """Cross-conformal coverage: fold i's band comes from the residuals of the other folds."""
    if len(y) < 2:
        return None
    inside = 0
    for i in range(len(y)):
        others = np.concatenate([r[j] for j in range(len(y)) if j != i])
        lo, hi = _quantiles(others, level)
        inside += int(np.sum((y[i] >= f[i] + lo * scale[i]) & (y[i] <= f[i] + hi * scale[i])))
    return inside / y.size


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

    floor = max(INTERVAL_FLOOR_FRACTION * float(np.mean(y)), 1e-9)
    cv_scale = np.maximum(ens_cv, floor)
    r = (truth - ens_cv) / cv_scale
    base = cv["SeasonalNaive"]
    ens_mae, base_mae = float(np.mean(np.abs(ens_cv - truth))), float(np.mean(np.abs(base - truth)))
    backtest = Backtest(
        mase=ens_mae / scale,
        smape=_smape(truth.ravel(), ens_cv.ravel()),
        mae=ens_mae,
        baseline_mase=base_mae / scale,
        baseline_smape=_smape(truth.ravel(), base.ravel()),
        baseline_mae=base_mae,
        coverage={lv: _coverage(truth, ens_cv, cv_scale, r, lv) for lv in levels},
        folds=plan.folds,
        fold_horizon=plan.fold_h,
        baseline_season=plan.baseline_season,
    )
    steps = np.arange(1, len(ens_fc) + 1)
    widen = np.sqrt(np.maximum(1.0, steps / plan.fold_h))
    fc_scale = np.maximum(ens_fc, floor) * widen
    bands = {lv: _quantiles(r.ravel(), lv) for lv in levels}
    points = []
    for k, mean in enumerate(ens_fc):
        ts = last_ds + (k + 1) * pd.tseries.frequencies.to_offset(freq)
        lo = {lv: max(0.0, float(mean + q[0] * fc_scale[k])) for lv, q in bands.items()}
        hi = {lv: max(float(mean), float(mean + q[1] * fc_scale[k])) for lv, q in bands.items()}
        lo = {lv: min(v, float(mean)) for lv, v in lo.items()}
        points.append(ForecastPoint(ts.strftime("%Y-%m-%dT%H:%M:%SZ"), float(mean), lo, hi))
    return ForecastResult(
        unique_id=uid,
        freq=freq,
        forecast=points,
        backtest=backtest,
        members=members,
        seasonalities=list(plan.seasons),
        combination=how,
        fit_points=len(y),
        warnings=[*notes, *plan.warnings],
    )


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
    backtest = Backtest(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, dict.fromkeys(levels, 1.0), 0, 0, 1)
    return ForecastResult(uid, freq, points, backtest, [], [], "constant", len(y), warnings=[*notes, warning])


def forecast_frame(
    frame: pd.DataFrame,
    freq: str,
    horizon: int,
    *,
    levels: tuple[int, ...] = (80, 95),
    n_jobs: int = 1,
    notes: list[str] | None = None,
) -> dict[str, ForecastResult]:
    """Forecast every series of a long frame ``unique_id, ds, y`` (regular steps of ``freq``, no NaN).

    Series that share a plan (same seasons and backtest layout) are fitted in one statsforecast call, so ``n_jobs``
    spreads a fleet over cores. ``notes`` (e.g. loading repairs) are prepended to every result's warnings.
    """
    step_s = step_seconds(freq)
    results: dict[str, ForecastResult] = {}
    groups: dict[tuple[tuple[int, ...], int, int, int], list[tuple[str, np.ndarray, pd.Timestamp, SeriesPlan]]] = (
        defaultdict(list)
    )
    for uid, part in frame.groupby("unique_id", sort=False):
        y = part["y"].to_numpy(dtype="float64")[-MAX_FIT_POINTS:]
        last_ds = part["ds"].iloc[-1]
        series_notes = list(notes or [])
        if len(part) > MAX_FIT_POINTS:
            series_notes.append(f"fitted on the last {MAX_FIT_POINTS} of {len(part)} points (fit window cap)")
        if float(np.ptp(y)) == 0.0:
            results[str(uid)] = _constant(str(uid), y, last_ds, freq, horizon, levels, series_notes)
            continue
        plan = plan_series(y, step_s, horizon)
        plan.warnings[:0] = series_notes
        groups[(plan.seasons, plan.fold_h, plan.folds, plan.baseline_season)].append((str(uid), y, last_ds, plan))
    for members in groups.values():
        plan = members[0][3]
        raw_models, log_models = _models(plan.seasons, plan.baseline_season)
        df = pd.concat(
            [
                pd.DataFrame({"unique_id": uid, "ds": pd.date_range(end=last, periods=len(y), freq=freq), "y": y})
                for uid, y, last, _ in members
            ],
            ignore_index=True,
        )
        cv, fc = _run(raw_models, df, freq, plan, horizon, n_jobs)
        if log_models:
            cv_log, fc_log = _run(log_models, df.assign(y=np.log1p(df["y"])), freq, plan, horizon, n_jobs)
            for name in (m.alias for m in log_models):
                cv[name], fc[name] = cv_log[name].to_numpy(), fc_log[name].to_numpy()
        names = [m.alias for m in raw_models + log_models]
        cv_by = dict(tuple(cv.groupby("unique_id", sort=False)))
        fc_by = dict(tuple(fc.groupby("unique_id", sort=False)))
        for uid, y, last_ds, series_plan in members:
            cv_part, fc_part = cv_by[uid], fc_by[uid]
            cv_arrays = {"y": cv_part["y"].to_numpy(dtype="float64")} | {
                n: cv_part[n].to_numpy(dtype="float64") for n in names
            }
            fc_arrays = {n: fc_part[n].to_numpy(dtype="float64") for n in names}
            results[uid] = _assemble(uid, y, last_ds, freq, series_plan, cv_arrays, fc_arrays, levels, [])
    return {uid: results[uid] for uid in map(str, frame["unique_id"].unique())}
