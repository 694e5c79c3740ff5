"""Forecast speed figures for the README (not a test: prints numbers, judged by people).

- one service, 8 weeks of hourly history, 14-day horizon: wall time of a fresh Python process that imports
  gpucast.forecast, loads the CSV and forecasts (imports included), median of 3 runs, beside `python -c pass`;
- a fleet of N services in one file (default 100; ``--services 1000`` for the full target), fitted with
  statsforecast's n_jobs over all cores; the time for 1,000 is extrapolated linearly when N < 1000. Fleets of
  100+ services use the fast fleet mode by default (see ``forecast_fleet``); ``--full`` times the full ensemble.
Targets (issue #6): one service < 2.5 s including imports; 1,000 services < 2 minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HOURS = 8 * 7 * 24


def synthetic(n_services: int, seed: int = 0) -> pd.DataFrame:
    """Hourly traffic with growth, daily and weekly cycles and noise, one block per service."""
    rng = np.random.default_rng(seed)
    t = np.arange(HOURS)
    ds = pd.date_range("2024-01-01", periods=HOURS, freq="h")
    frames = []
    for k in range(n_services):
        level = rng.uniform(5, 500)
        y = level * (1 + 0.002 * t / 24) * (1 + 0.4 * np.sin(2 * np.pi * t / 24)) * np.where((t // 24) % 7 >= 5, 0.7, 1)
        frames.append(
            pd.DataFrame({"timestamp": ds, "service": f"svc-{k:04d}", "rps": y + rng.normal(0, 0.05 * level, HOURS)})
        )
    return pd.concat(frames, ignore_index=True)


def wall(cmd: list[str], repeats: int = 3) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100, help="fleet size to time (default 100)")
    parser.add_argument("--full", action="store_true", help="time the full ensemble instead of the fast fleet mode")
    parser.add_argument("--skip-single", action="store_true", help="only time the fleet")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_single:
            one = Path(tmp) / "one.csv"
            synthetic(1).drop(columns="service").to_csv(one, index=False)
            script = f"from gpucast.forecast import forecast_load; forecast_load({str(one)!r}, '14d')"
            # With dask installed (the [distributed] extra, and the dev environment), statsforecast's utilsforecast
            # imports dask.dataframe at start-up (~0.5 s). HIDE_DASK times an install with only [forecast].
            hide_dask = "import sys; sys.modules['dask'] = None; "
            baseline = wall([sys.executable, "-c", "pass"])
            for label, prefix in (("[forecast] extra only", hide_dask), ("with dask installed", "")):
                single = wall([sys.executable, "-c", prefix + script])
                imports = wall([sys.executable, "-c", prefix + "import pandas, statsforecast.models"])
                print(
                    f"one service, 8 weeks hourly, 14d horizon, {label}: {single:.2f} s wall incl. imports "
                    f"(target < 2.5 s); python start {baseline:.2f} s, pandas+statsforecast imports "
                    f"{imports - baseline:.2f} s"
                )

        fleet = Path(tmp) / "fleet.csv"
        synthetic(args.services).to_csv(fleet, index=False)
        from gpucast.forecast import forecast_fleet, load_history

        start = time.perf_counter()
        history = load_history(fleet)
        loaded = time.perf_counter() - start
        fast = False if args.full else None  # None: the default, fast for 100+ services
        results = forecast_fleet(history, "14d", n_jobs=-1, fast=fast)
        elapsed = time.perf_counter() - start
        assert len(results) == args.services
        per = elapsed / args.services
        mode = "full ensemble" if args.full or args.services < 100 else "fast fleet mode"
        print(
            f"{args.services} services ({mode}) on {os.cpu_count()} cores: {elapsed:.1f} s ({loaded:.1f} s loading), "
            f"{per * 1e3:.0f} ms per service"
        )
        if args.services < 1000:
            print(f"  1000 services extrapolated: {per * 1000:.0f} s (target < 120 s)")
        beats = sum(
            r.backtest.mase is not None and r.backtest.mase < (r.backtest.baseline_mase or 0) for r in results.values()
        )
        print(f"  ensemble backtest MASE below SeasonalNaive's on {beats}/{len(results)} services")


if __name__ == "__main__":
    main()
