"""A global learned member: one LightGBM model trained across every hourly series of a fleet (issue 26, item 2).

Opt-in (``forecast_fleet(..., ml=True)``) and optional (the ``forecast-ml`` extra: lightgbm). Without lightgbm,
or in a fleet of fewer than ``MIN_SERIES`` hourly series, the member is skipped and every
forecast is the engine's own, with a note saying why. lightgbm is imported only when a model is trained, so
``predict`` and the CLI never pay for it.

What it is (measured before it was built: ``scripts/forecast_global_ml.py``):

* **global**: one model for the whole fleet — a series of two weeks has too few rows for a learner of its own
  (trained on one series it was worse than seasonal-naive on the ServeGen traces); pooled, it learns the shapes
  the series share;
* **level-relative log scale**: features and target are ``log1p(rps)`` minus the mean of the day before the
  forecast origin, so series whose levels differ 100-fold share one model and a burst is "twice the usual";
* **direct multi-step**: the step ahead is a feature of one model (no recursion feeding errors back);
* features (``features``): the step; the same hour 1, 2 and 3 days back and their median; the last hour and the
  last 3 hours; the last day against the day before and against the last week; the same hour a week back.
  No holiday or day-of-week columns: the lags carry the calendar a fleet's weeks of history can show;
* **no look-ahead**: the model used at an origin ``t`` was trained at the latest checkpoint ``<= t`` on the cells
  that landed before that checkpoint (checkpoints every ``RETRAIN_SEASONS`` seasons, at most ``MAX_CHECKPOINTS``,
  each on at most ``MAX_ROWS`` sampled rows with a fixed seed), so its backtest forecasts are honest and it earns
  its weight like every other member (``rolling.member_weights``).

Steps beyond the ``steps`` it was trained for repeat its last trained season, phase-aligned.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import numpy as np

from .members import repair_outages

NAME = "LightGBM"
MIN_SERIES = 3  # fewer series than this: no pool to learn from (trained on one series it lost to seasonal-naive)
SEASON = 24  # hourly series: the features are built on days (whatever season the engine detected)
RETRAIN_SEASONS = 1  # a checkpoint a day
MAX_CHECKPOINTS = 16  # at most this many models a fleet (long histories: checkpoints further apart)
MAX_ROWS = 250_000  # rows a model is trained on at most (sampled, seed 0): bounds a large fleet's cost
MIN_ROWS = 500  # fewer landed rows before a checkpoint: no model there (the member falls back to seasonal-naive)
PARAMS: dict[str, Any] = {
    "objective": "l1",  # MAE, the figure the engine weights by; in log space the conditional median
    "n_estimators": 150,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 50,
    "colsample_bytree": 0.8,
    "random_state": 0,
    "n_jobs": 1,  # one thread: deterministic, and the fleet's other work runs beside it
    "verbose": -1,
}


def available() -> bool:
    """Whether lightgbm is installed (looked up, not imported)."""
    return importlib.util.find_spec("lightgbm") is not None


def features(z: np.ndarray, t: int, steps: int, season: int = SEASON) -> tuple[np.ndarray, np.ndarray]:
    """(X, level) for a forecast made at ``t`` (the index of the first forecast step) from ``z = log1p(history)``:
    one row per step 1..``steps``; row k's target is ``z[t + k - 1] - level``. Reads ``z[:t]`` only (needs t >= 3)."""
    level = float(z[max(t - season, 0) : t].mean())
    before = float(z[t - 2 * season : t - season].mean()) if t >= 2 * season else np.nan
    week = float(z[t - 7 * season : t].mean()) if t >= 7 * season else np.nan
    k = np.arange(1, steps + 1)
    phase = (k - 1) % season
    same_hour = np.stack(
        [z[t - d * season + phase] - level if t >= d * season else np.full(steps, np.nan) for d in (1, 2, 3)]
    )  # the same phase 1-3 seasons back: indices <= t - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns of short histories stay NaN
        median = np.nanmedian(same_hour, axis=0)
    back = t + k - 1 - 7 * season  # the same hour a week before the target
    last_week = np.where((back >= 0) & (back < t), z[np.clip(back, 0, max(t - 1, 0))] - level, np.nan)
    columns = [
        k.astype(float),
        *same_hour,
        median,
        np.full(steps, z[t - 1] - level),
        np.full(steps, z[t - 3 : t].mean() - level),
        np.full(steps, level - before),
        np.full(steps, level - week),
        last_week,
    ]
    return np.column_stack(columns), np.full(steps, level)


class GlobalModel:
    """The fleet's pooled model, trained lazily per checkpoint: ``forecasts`` at any origins of any series."""

    def __init__(self, series: list[np.ndarray], steps: int, season: int = SEASON) -> None:
        self.season, self.steps = season, steps
        self.z = [np.log1p(repair_outages(np.asarray(y, dtype=float), season)) for y in series]  # causal repair
        longest = max(len(z) for z in self.z)
        self.first = 2 * season  # anchors with two seasons behind them
        span = max(longest - self.first, 1)
        per = RETRAIN_SEASONS * season
        self.every = per * max(1, -(-span // (per * MAX_CHECKPOINTS)))  # a multiple of the season
        self.models: dict[int, Any] = {}

    def checkpoint(self, t: int) -> int:
        return (t // self.every) * self.every

    def model(self, checkpoint: int) -> Any:
        """The model trained on the cells that landed before ``checkpoint`` (None: too few)."""
        if checkpoint not in self.models:
            xs, ys = [], []
            for z in self.z:
                for t in range(self.first, min(checkpoint, len(z))):
                    x, level = features(z, t, self.steps, self.season)
                    landed = min(self.steps, checkpoint - t)
                    xs.append(x[:landed])
                    ys.append(z[t : t + landed] - level[:landed])
            rows = sum(len(v) for v in ys)
            if rows < MIN_ROWS:
                self.models[checkpoint] = None
            else:
                import lightgbm as lgb

                x_all, y_all = np.vstack(xs), np.concatenate(ys)
                if rows > MAX_ROWS:
                    keep = np.sort(np.random.default_rng(0).choice(rows, MAX_ROWS, replace=False))
                    x_all, y_all = x_all[keep], y_all[keep]
                self.models[checkpoint] = lgb.LGBMRegressor(**PARAMS).fit(x_all, y_all)
        return self.models[checkpoint]

    def forecasts(self, repaired: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Forecasts made at each of ``origins`` (indices of the first forecast step) of a series whose outages are
        repaired (``members.repair_outages``), ``horizon`` steps each; NaN rows where no model was trained yet."""
        z = np.log1p(repaired)
        steps = min(horizon, self.steps)
        out = np.full((len(origins), horizon), np.nan)
        by_checkpoint: dict[int, list[int]] = {}
        for row, t in enumerate(np.asarray(origins).tolist()):
            if t >= self.first:
                by_checkpoint.setdefault(self.checkpoint(t), []).append(row)
        for checkpoint, rows in by_checkpoint.items():
            model = self.model(checkpoint)
            if model is None:
                continue
            built = [features(z, int(origins[row]), steps, self.season) for row in rows]
            predicted = model.predict(np.vstack([x for x, _ in built])).reshape(len(rows), steps)
            levels = np.stack([level for _, level in built])
            out[rows, :steps] = np.expm1(levels + predicted)
        if horizon > steps:  # beyond the trained steps: the last trained season again, phase-aligned
            period = min(self.season, steps)
            tail = out[:, steps - period : steps]
            extra = np.arange(steps, horizon)
            out[:, steps:] = tail[:, (extra - (steps - period)) % period]
        return out


def fleet_model(series: list[np.ndarray], steps: int) -> tuple[GlobalModel | None, str | None]:
    """The fleet's global model over ``series`` (hourly), or None and why it is skipped."""
    if not available():
        return None, "the LightGBM member is skipped: lightgbm is not installed (the forecast-ml extra)"
    if len(series) < MIN_SERIES:
        return None, f"the LightGBM member is skipped: it needs at least {MIN_SERIES} hourly series to learn from"
    return GlobalModel(series, steps), None
