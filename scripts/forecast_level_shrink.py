"""Shrink the engine's forecast level toward the week's daily level, measured on the ServeGen series (issue 26).

Not shipped: the measurement behind docs/forecast-accuracy.md's "level shrinkage" row. Why it was tried: the
ServeGen series' *daily* mean log levels mean-revert (the lag-1 autocorrelation of their day-to-day changes over
the 14 days is -0.09 to -0.72 on 14 of the 15 series, +0.09 on m-small/client-14), and seasonal-naive's error is mostly that day-to-day change; a forecast
moved part of the way from the last day's level toward the median of the last week's daily levels would gain
where the last day was unusual.

The correction, at an origin ``t`` with ``z = log1p`` of the outage-repaired history: ``gap`` = median of the last
(up to) 7 days' mean ``z`` minus the last day's mean ``z``; forecast = ``expm1(log1p(engine) + lambda * gap)``.
Scored: every fixed ``lambda`` of ``LAMBDAS``, and ``lambda`` picked per series and origin on the rolling backtest
(the engine's prequential forecasts corrected with each origin's own gap, ``selection.scores``: the lambda with the
lowest mean MAE relative to seasonal-naive over the backtest origins). Same protocol as
``scripts/evaluate_forecasts.py`` (16 origins 12 h apart, 48 hours each, MAE / seasonal-naive, geometric means).

    python scripts/forecast_level_shrink.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from evaluate_forecasts import DAY, cuts, geomean, traces  # noqa: E402

from gpucast.forecast import fast, load_history, rolling, selection  # noqa: E402
from gpucast.forecast.members import forecast_members  # noqa: E402

LAMBDAS = (0.0, 0.25, 0.5, 0.75, 1.0)
WEEK_DAYS = 7
HORIZON, ORIGINS, SPACING = 48, 16, 12


def gap(z: np.ndarray, t: int) -> float:
    """Median of the last (up to) 7 days' mean log level minus the last day's, from ``z[:t]`` only."""
    days = min(WEEK_DAYS, t // DAY)
    if days < 2:
        return 0.0
    daily = z[t - days * DAY : t].reshape(days, DAY).mean(axis=1)
    return float(np.median(daily) - daily[-1])


def score_series(frame: pd.DataFrame, raw: np.ndarray) -> dict[str, float]:
    ratios: dict[str, list[float]] = {f"lambda {lam}": [] for lam in LAMBDAS}
    ratios["lambda picked on the backtest"] = []
    for end in cuts(len(raw), HORIZON, ORIGINS, SPACING):
        y = load_history(frame.iloc[:end]).frame["y"].to_numpy(dtype=float)
        bt = rolling.backtest(y, DAY, fast.calibrated_steps(len(y), DAY, HORIZON))
        z = np.log1p(bt.repaired)
        gaps = np.array([gap(z, t) for t in bt.origins.tolist()])
        ensemble_bt = rolling.prequential(bt)
        candidates = {str(lam): np.expm1(np.log1p(ensemble_bt) + lam * gaps[:, None]) for lam in LAMBDAS}
        running = selection.running_errors(bt.actual, {"SeasonalNaive": bt.forecasts["SeasonalNaive"], **candidates})
        score = selection.scores(bt.origins, running, len(y))
        picked = 0.0 if score is None else min(LAMBDAS, key=lambda lam: score[str(lam)])
        cap = rolling.CAP_FACTOR * float(y.max())
        members = forecast_members(y, DAY, HORIZON, cap, bt.repaired)
        engine = np.clip(rolling.combine(members, rolling.member_weights(bt)), 0.0, None)
        actual = raw[end : end + HORIZON]
        naive = max(float(np.mean(np.abs(np.resize(raw[end - DAY : end], HORIZON) - actual))), 1e-9)
        g = gap(z, len(y))
        for lam in LAMBDAS:
            forecast = np.expm1(np.log1p(engine) + lam * g)
            ratios[f"lambda {lam}"].append(float(np.mean(np.abs(forecast - actual))) / naive)
        forecast = np.expm1(np.log1p(engine) + picked * g)
        ratios["lambda picked on the backtest"].append(float(np.mean(np.abs(forecast - actual))) / naive)
    return {name: geomean(values) for name, values in ratios.items()}


def main() -> int:
    results = {}
    for s in (t for t in traces() if t.hourly):
        if s.family.startswith("ServeGen"):
            results[(s.family, s.name)] = score_series(s.frame, s.frame["rps"].to_numpy(dtype=float))
    families = sorted({family for family, _ in results})
    print("| MAE / seasonal-naive | " + " | ".join(families) + " |")
    print("| --- |" + " ---: |" * len(families))
    for name in next(iter(results.values())):
        cells = [f"{geomean([v[name] for (f, _), v in results.items() if f == fam]):.3f}" for fam in families]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
