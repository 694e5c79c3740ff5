"""Forecast accuracy on real LLM-serving traffic (Alibaba ServeGen, data/traffic/): rolling-origin evaluation.

Not a test: prints figures for the README. Each 14-day hourly series is cut at days 7, 8, ..., 12; the forecaster
is fitted on the history before the cut and scored on the next 48 hours (never seen by the fit): 6 origins × 3
series = 18 cases, scored against the raw file's values (outage hours included). Printed: the ensemble's MAE
divided by SeasonalNaive's (the last day repeated; < 1 is better), and the share of held-out hours inside the 80%
and 95% intervals, with the mean relative width of the 80% band.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from gpucast.forecast import forecast_load, load_history  # noqa: E402

SERIES = ["servegen_m_large", "servegen_m_mid", "servegen_m_small"]
CUT_DAYS = range(7, 13)
HOLDOUT = 48


def evaluate(name: str) -> list[tuple[float, float, float, float]]:
    """(MAE ratio, coverage 80, coverage 95, relative 80% width) per origin of one series."""
    raw = pd.read_csv(REPO / "data" / "traffic" / f"{name}.csv")  # the raw file: actuals and baseline unrepaired
    y = raw["rps"].to_numpy(dtype=float)
    out = []
    for day in CUT_DAYS:
        end = day * 24
        # the forecaster gets the raw rows before the cut and applies its own documented repairs
        result = forecast_load(load_history(raw.iloc[:end][["timestamp", "rps"]]), HOLDOUT)
        actual = y[end : end + HOLDOUT]
        mean = np.array([p.mean for p in result.forecast])
        season = result.backtest.baseline_season
        naive = np.resize(y[end - season : end], HOLDOUT)
        ratio = float(np.mean(np.abs(mean - actual)) / np.mean(np.abs(naive - actual)))
        cover = []
        for level in (80, 95):
            lo = np.array([p.lo[level] for p in result.forecast])
            hi = np.array([p.hi[level] for p in result.forecast])
            cover.append(float(np.mean((actual >= lo) & (actual <= hi))))
        width = float(np.mean([p.hi80 - p.lo80 for p in result.forecast]) / np.mean(mean))
        out.append((ratio, cover[0], cover[1], width))
    return out


def main() -> None:
    rows = []
    print(f"{'series':<18} {'MAE/naive (median)':>18} {'cov80':>6} {'cov95':>6} {'width80':>8}")
    for name in SERIES:
        cases = evaluate(name)
        rows += cases
        ratio = statistics.median(c[0] for c in cases)
        cov80, cov95, width = (statistics.fmean(c[i] for c in cases) for i in (1, 2, 3))
        print(f"{name:<18} {ratio:>18.3f} {cov80:>6.2f} {cov95:>6.2f} {width:>8.2f}")
    ratio = statistics.median(c[0] for c in rows)
    cov80, cov95, width = (statistics.fmean(c[i] for c in rows) for i in (1, 2, 3))
    print(f"{'all 18 origins':<18} {ratio:>18.3f} {cov80:>6.2f} {cov95:>6.2f} {width:>8.2f}")


if __name__ == "__main__":
    main()
