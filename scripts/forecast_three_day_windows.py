"""Forecasts from three to three and a half days of hourly history (issue 26, the one-week traces' first origins).

``fast.engine_season`` gives a series without a detected season the daily cycle on such short histories only where
it shows (``leads.cycle_evident``), its unchecked bands no narrower than seasonal-naive's one-day errors
(``leads.naive_floored``). The 48-hour table of ``scripts/evaluate_forecasts.py`` has no such origin outside the
Azure 2024 week, so this script scores the rule where it acts, on many windows:

* ``servegen``: windows of 72, 78 and 84 hours cut from the 15 hourly ServeGen series (every 36 hours at a 24-hour
  horizon, every 12 hours at longer ones), each forecast ``--horizon`` hours ahead from its window only;
* ``synthetic``: the same windows cut from 20 series without any cycle (10 of i.i.d. gamma noise, 10 log random
  walks; seeded), where the daily members can only add noise.

Printed per kind: the windows, the geometric mean and median over them of gpucast's MAE / seasonal-naive's (the
last 24 hours repeated), the mean 80% / 95% cover, and how many windows used the daily cycle and the floor.

    python scripts/forecast_three_day_windows.py [--kind servegen|synthetic|both] [--horizon 24]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate_forecasts as ev

from gpucast.forecast import forecast_load, load_history

LENGTHS = (72, 78, 84)


def synthetic(count: int = 20, n: int = 300, seed: int = 0) -> list[ev.Series]:
    """Hourly series without a cycle: even ones i.i.d. gamma(4, 5) noise, odd ones exp(3 + a N(0, 0.05) walk)."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2025-01-01", periods=n, freq="h").strftime("%Y-%m-%dT%H:%M:%SZ")
    out = []
    for i in range(count):
        y = rng.gamma(4.0, 5.0, n) if i % 2 == 0 else np.exp(3 + np.cumsum(rng.normal(0, 0.05, n)))
        out.append(ev.Series(f"synthetic-{i}", "synthetic", pd.DataFrame({"timestamp": stamps, "rps": y})))
    return out


def score(series: list[ev.Series], horizon: int) -> str:
    ratios: list[float] = []
    cover: dict[int, list[float]] = {80: [], 95: []}
    seasonal = floored = 0
    for s in series:
        y = s.frame["rps"].to_numpy(dtype=float)
        for start in range(0, len(y) - max(LENGTHS) - horizon, 36 if horizon <= 24 else 12):
            for length in LENGTHS:
                end = start + length
                result = forecast_load(load_history(s.frame.iloc[start:end]), horizon)
                actual = y[end : end + horizon]
                mean = np.array([p.mean for p in result.forecast])
                naive = float(np.mean(np.abs(np.resize(y[end - 24 : end], horizon) - actual)))
                ratios.append(float(np.mean(np.abs(mean - actual))) / max(naive, 1e-9))
                seasonal += result.backtest.baseline_season > 1
                floored += any("no narrower than seasonal-naive" in w for w in result.warnings)
                for level, store in cover.items():
                    lo = np.array([p.lo[level] for p in result.forecast])
                    hi = np.array([p.hi[level] for p in result.forecast])
                    store.append(float(np.mean((actual >= lo) & (actual <= hi))))
    geo = math.exp(statistics.fmean(math.log(max(r, 1e-9)) for r in ratios))
    return (
        f"{len(ratios)} windows, {horizon} h ahead: MAE / seasonal-naive {geo:.3f} (geometric mean), "
        f"{statistics.median(ratios):.3f} (median); cover {np.mean(cover[80]):.3f} / {np.mean(cover[95]):.3f}; "
        f"daily cycle used in {seasonal}, band floored in {floored}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("servegen", "synthetic", "both"), default="both")
    parser.add_argument("--horizon", type=int, default=24)
    args = parser.parse_args(argv)
    if args.kind in ("servegen", "both"):
        hourly = [s for s in ev.traces() if s.hourly and s.family != "synthetic sample"]
        print("servegen:", score(hourly, args.horizon))
    if args.kind in ("synthetic", "both"):
        print("synthetic:", score(synthetic(), args.horizon))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
