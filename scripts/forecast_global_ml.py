"""A global LightGBM model as one more member of the fast engine, measured on the ServeGen series (issue 26, item 2).

Not shipped: this script is the measurement behind docs/forecast-accuracy.md's "global learned model" figures
(the member built from it, ``forecast_fleet(..., ml=True)``, was commit dd66192, reverted in 2382f02).
Same protocol as ``scripts/evaluate_forecasts.py`` and ``scripts/forecast_ceiling.py`` (``--origins`` origins
``--spacing`` hours apart, ``--horizon`` hours each, the last ending at the series' end, ``load_history`` on the rows
before each origin, MAE against seasonal-naive, geometric mean over origins and then over a family's series).

The model (one LightGBM regressor, ``objective="l1"``, seed 0, one thread):

* **global**: trained on every ServeGen series at once (``--pool servegen``: the 3 model aggregates and the 12
  clients, which share one source and one calendar), or on the series alone (``--pool self``: all a single
  ``gpucast predict`` could use);
* **level-relative log scale**: every feature and the target are ``log1p(rps)`` minus the mean of the last 24 hours
  before the anchor (bursty series vary multiplicatively; a pooled model cannot learn absolute levels that differ
  by 100x between series);
* **direct multi-step**: one model for every step ahead, the step a feature (no recursion, so no error feedback);
* features (``features``): the step; the same hour 1, 2 and 3 days back and their median; the last hour and the
  last 3 hours; the last day against the day before and against the last week; the same hour a week back;
  ``--variant stacker`` adds the engine's members' forecasts (``forecast.batched.members_at``) and learns the
  correction to their mean in log space (the variant that can learn *when* each member is right);
* **no look-ahead**: retrained every ``--retrain`` hours on the cells that landed before the checkpoint (pool
  series from their raw rows with the causal outage repair), and a forecast made at origin ``t`` uses the model of
  the latest checkpoint ``<= t`` — at the evaluation origins and at every backtest origin of the engine.

Each evaluation origin scores: the engine as it is; the model alone; the engine with the model as one more
member, combined by the engine's own rule (``rolling.member_weights``: the median of the best 4 on the backtest
at up to 72 origins, the model's backtest forecasts made like its final one); the engine *or* the model, picked
per series and origin by which erred less relative to seasonal-naive over the backtest (``selection.scores`` on
the engine's prequential forecasts and the model's own: the model used only where the backtest says it helps);
and the plain mean of the two. ``--mlforecast`` adds mlforecast's
standard recursive LightGBM (lags 1, 2, 3, 24, 48 hours, a 24-hour rolling mean, the hour of day, per-series
standardised ``log1p`` target) pooled over the same series and trained at each evaluation origin, alone.
Holidays: the traces cover 2025-01-01 to 01-14; the only holiday (1 January) is before every origin, so a holiday
feature would be constant where it is scored and is left out.

    pip install lightgbm mlforecast   # not gpucast dependencies
    python scripts/forecast_global_ml.py [--variant lags|stacker] [--pool servegen|self] [--retrain 24] [--mlforecast]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from evaluate_forecasts import DAY, Series, cuts, geomean, traces  # noqa: E402

from gpucast.forecast import fast, load_history, rolling, selection  # noqa: E402
from gpucast.forecast.batched import members_at  # noqa: E402
from gpucast.forecast.members import forecast_members, repair_outages  # noqa: E402

PARAMS = {
    "objective": "l1",  # MAE, the figure scored; in log space the conditional median
    "n_estimators": 150,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 50,
    "colsample_bytree": 0.8,
    "random_state": 0,
    "n_jobs": 1,
    "verbose": -1,
}
BASE_MEMBERS = ("SES", "RecentLevel", "Drift", "SeasonalMedian")  # the stacker's base: their mean in log space
FIRST_ANCHOR = 2 * DAY  # anchors with two days of history behind them


def features(
    z: np.ndarray, t: int, steps: int, members: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(X, base) for a forecast made at ``t`` (the first forecast index) from ``z = log1p(history)``, one row per
    step 1..``steps``; the target of row k is ``z[t + k - 1] - base[k]``. Reads only ``z[:t]`` (and ``members``,
    forecasts made at ``t``)."""
    level = float(z[t - DAY : t].mean())
    before = float(z[t - 2 * DAY : t - DAY].mean()) if t >= 2 * DAY else np.nan
    week = float(z[t - 7 * DAY : t].mean()) if t >= 7 * DAY else np.nan
    k = np.arange(1, steps + 1)
    target = t + k - 1
    phase = (k - 1) % DAY
    same_hour = [
        z[t - d * DAY + phase] - level if t >= d * DAY else np.full(steps, np.nan) for d in (1, 2, 3)
    ]  # same hour of the day, 1-3 days back (each at most t - 1)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN medians of short histories stay NaN
            median = np.nanmedian(np.stack(same_hour), axis=0)
    last_week = np.where(target - 7 * DAY < t, z[np.clip(target - 7 * DAY, 0, t - 1)] - level, np.nan)
    last_week = np.where(target - 7 * DAY >= 0, last_week, np.nan)
    columns = [
        k,
        *same_hour,
        median,
        np.full(steps, z[t - 1] - level),
        np.full(steps, z[t - 3 : t].mean() - level),
        np.full(steps, level - before),
        np.full(steps, level - week),
        last_week,
    ]
    base = np.full(steps, level)
    if members is not None:
        logs = {name: np.log1p(np.maximum(members[name][:steps], 0.0)) for name in sorted(members)}
        columns += [logs[name] - level for name in sorted(logs)]
        base = np.mean([logs[name] for name in BASE_MEMBERS], axis=0)
    return np.column_stack(columns), base


class Pool:
    """The series a global model learns from, and its models per checkpoint (cells landed before it only)."""

    def __init__(self, series: list[np.ndarray], stacker: bool, horizon: int) -> None:
        self.z, self.members = [], []
        for y in series:
            repaired = repair_outages(y, DAY)  # causal: each step judged on the seasons before it
            self.z.append(np.log1p(repaired))
            ends = np.maximum(np.arange(len(y) + 1), 1)
            self.members.append(members_at(y, repaired, DAY, horizon, np.inf, ends) if stacker else None)
        self.stacker, self.horizon = stacker, horizon
        self.models: dict[int, Any] = {}

    def member_rows(self, i: int, t: int) -> dict[str, np.ndarray] | None:
        found = self.members[i]
        return None if found is None else {name: values[t] for name, values in found.items()}

    def model(self, checkpoint: int) -> Any:
        if checkpoint not in self.models:
            import lightgbm as lgb

            xs, ys = [], []
            for i, z in enumerate(self.z):
                for t in range(FIRST_ANCHOR, min(checkpoint, len(z))):
                    x, base = features(z, t, self.horizon, self.member_rows(i, t))
                    landed = t + np.arange(self.horizon) < checkpoint
                    xs.append(x[landed])
                    ys.append(z[t + np.flatnonzero(landed)] - base[landed])
            rows = sum(len(v) for v in ys)
            self.models[checkpoint] = (
                lgb.LGBMRegressor(**PARAMS).fit(np.vstack(xs), np.concatenate(ys)) if rows >= 500 else None
            )
        return self.models[checkpoint]


def predict(
    pool: Pool, retrain: int, y_view: np.ndarray, repaired: np.ndarray, t: int, steps: int
) -> np.ndarray | None:
    """The global model's forecast made at ``t`` for a series seen as ``y_view`` (the engine's view of its rows
    before the evaluation origin), or None before the first usable checkpoint."""
    model = pool.model((t // retrain) * retrain) if t >= FIRST_ANCHOR else None
    if model is None:
        return None
    members = members_at(y_view, repaired, DAY, steps, np.inf, np.array([t])) if pool.stacker else None
    x, base = features(np.log1p(repaired), t, steps, None if members is None else {k: v[0] for k, v in members.items()})
    return np.asarray(np.expm1(base + model.predict(x)))


def mlforecast_alone(series: list[Series], end: int, horizon: int) -> dict[str, np.ndarray]:
    """mlforecast's standard recursive LightGBM, pooled over ``series``, trained on their rows before ``end``."""
    import lightgbm as lgb
    import pandas as pd
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.target_transforms import LocalStandardScaler

    frames = []
    for s in series:
        y = repair_outages(s.frame["rps"].to_numpy(dtype=float)[:end], DAY)
        stamps = pd.to_datetime(s.frame["timestamp"].iloc[:end], utc=True).dt.tz_localize(None)
        frames.append(pd.DataFrame({"unique_id": s.name, "ds": stamps.to_numpy(), "y": np.log1p(y)}))
    mlf = MLForecast(
        models=[lgb.LGBMRegressor(**PARAMS)],
        freq="h",
        lags=[1, 2, 3, 24, 48],
        lag_transforms={1: [RollingMean(window_size=24)]},
        date_features=["hour"],
        target_transforms=[LocalStandardScaler()],
    )
    mlf.fit(pd.concat(frames, ignore_index=True))
    out = mlf.predict(horizon)
    return {name: np.expm1(rows["LGBMRegressor"].to_numpy()) for name, rows in out.groupby("unique_id")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=int, default=48)
    parser.add_argument("--origins", type=int, default=16)
    parser.add_argument("--spacing", type=int, default=12)
    parser.add_argument("--retrain", type=int, default=24, help="hours between checkpoints (default 24)")
    parser.add_argument("--variant", choices=("lags", "stacker"), default="lags")
    parser.add_argument("--pool", choices=("servegen", "self"), default="servegen")
    parser.add_argument("--mlforecast", action="store_true", help="also score mlforecast's recursive model alone")
    args = parser.parse_args(argv)
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        print("needs lightgbm (pip install lightgbm; mlforecast too for --mlforecast)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    series = [s for s in traces() if s.family.startswith("ServeGen")]
    raw = {s.name: s.frame["rps"].to_numpy(dtype=float) for s in series}
    shared = Pool([raw[s.name] for s in series], args.variant == "stacker", args.horizon)
    pools = {s.name: (shared if args.pool == "servegen" else None) for s in series}
    ratios: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    weight: dict[str, list[float]] = defaultdict(list)
    chose: dict[str, list[float]] = defaultdict(list)
    ml_runs: dict[int, dict[str, np.ndarray]] = {}
    for s in series:
        if pools[s.name] is None:
            pools[s.name] = Pool([raw[s.name]], args.variant == "stacker", args.horizon)
        pool = pools[s.name]
        assert pool is not None
        actual_all = raw[s.name]
        for end in cuts(len(actual_all), args.horizon, args.origins, args.spacing):
            y = load_history(s.frame.iloc[:end]).frame["y"].to_numpy(dtype=float)
            steps = fast.calibrated_steps(len(y), DAY, args.horizon)
            bt = rolling.backtest(y, DAY, steps)
            cap = rolling.CAP_FACTOR * float(y.max())
            members = forecast_members(y, DAY, args.horizon, cap, bt.repaired)
            engine = rolling.combine(members, rolling.member_weights(bt))
            own = np.empty((len(bt.origins), steps))
            for i, t in enumerate(bt.origins.tolist()):  # the model's backtest, like every member's
                made = predict(pool, args.retrain, y[:t], bt.repaired[:t], t, steps)
                own[i] = bt.forecasts["SeasonalNaive"][i] if made is None else np.clip(made, 0.0, cap)
            final = predict(pool, args.retrain, y, bt.repaired, len(y), args.horizon)
            model = members["SeasonalNaive"] if final is None else np.clip(final, 0.0, cap)
            extended = rolling.Backtested(bt.origins, bt.actual, {**bt.forecasts, "LightGBM": own}, DAY, bt.repaired)
            weights = rolling.member_weights(extended)
            with_model = rolling.combine({**members, "LightGBM": model}, weights)
            weight[s.name].append(weights.get("LightGBM", 0.0))
            # selection per series: the engine or the model alone, whichever erred less relative to seasonal-naive
            # over the backtest origins (selection.scores on the engine's prequential forecasts and the model's own)
            score = selection.scores(
                bt.origins,
                selection.running_errors(
                    bt.actual,
                    {
                        "SeasonalNaive": bt.forecasts["SeasonalNaive"],
                        "engine": rolling.prequential(bt),
                        "LightGBM": own,
                    },
                ),
                len(y),
            )
            picked = model if score is not None and score["LightGBM"] < score["engine"] else engine
            chose[s.name].append(float(picked is model))
            actual = actual_all[end : end + args.horizon]
            naive = max(float(np.mean(np.abs(np.resize(actual_all[end - DAY : end], args.horizon) - actual))), 1e-9)
            scored = {
                "engine (before)": engine,
                "LightGBM alone": model,
                "engine + LightGBM member": with_model,
                "engine or LightGBM, picked per series on the backtest": picked,
                "mean of the engine and LightGBM": (engine + model) / 2,
            }
            if args.mlforecast:
                if end not in ml_runs:
                    ml_runs[end] = mlforecast_alone(series, end, args.horizon)
                scored["mlforecast recursive, alone"] = ml_runs[end][s.name]
            for name, forecast in scored.items():
                ratios[(s.family, s.name)][name].append(float(np.mean(np.abs(forecast - actual))) / naive)
    families = sorted({family for family, _ in ratios})
    names = list(next(iter(ratios.values())))
    print(f"variant {args.variant}, pool {args.pool}, retrained every {args.retrain} h\n")
    print("| MAE / seasonal-naive | " + " | ".join(families) + " |")
    print("| --- |" + " ---: |" * len(families))
    for name in names:
        cells = [
            f"{geomean([geomean(v[name]) for (f, _), v in ratios.items() if f == family]):.3f}" for family in families
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nper series: engine -> with the member (the member's mean weight over origins)")
    for (_, name), v in ratios.items():
        before, after = geomean(v["engine (before)"]), geomean(v["engine + LightGBM member"])
        picked = geomean(v["engine or LightGBM, picked per series on the backtest"])
        print(
            f"  {name}: {before:.3f} -> {after:.3f} (weight {np.mean(weight[name]):.2f}); picked per series "
            f"{picked:.3f} (LightGBM at {np.mean(chose[name]):.0%} of origins)"
        )
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
