"""Forecast speed of the default (fast) engine, issue 26's targets: one service end to end <= 1.5 s, 1,000 services
<= 60 s on a 2-core machine. Not a test: prints figures for docs/forecast-accuracy.md.

- one service: wall time of ``gpucast predict --history one.csv --horizon 14d`` in a fresh process (imports,
  loading, fitting, the printed summary), 8 weeks of hourly history, median of ``--repeats`` runs, beside
  ``python -c pass``;
- a fleet: ``forecast_fleet(history, "14d")`` on ``--services`` services (default 1,000) of 8 weeks hourly, loading
  the file included, over all cores (the process pool starts from 200 services);
- with ``--hierarchy``: ``forecast_hierarchy`` on the same fleet grouped into 20 teams in 2 environments (every
  service, team, environment and the total fitted, then reconciled bottom-up).

    python benchmarks/bench_forecast_speed.py [--services 1000] [--repeats 3] [--hierarchy] [--write-docs]

``--write-docs`` puts the printed lines into docs/forecast-accuracy.md (between the bench_forecast_speed markers).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "forecast-accuracy.md"
BEGIN, END = "<!-- bench_forecast_speed:begin -->", "<!-- bench_forecast_speed:end -->"
LINES: list[str] = []


def say(line: str) -> None:
    print(line, flush=True)
    LINES.append(line)


HOURS = 8 * 7 * 24


def synthetic(n_services: int, seed: int = 0) -> pd.DataFrame:
    """Hourly traffic with growth, daily and weekly cycles, multiplicative noise and bursts, one block per service."""
    rng = np.random.default_rng(seed)
    t = np.arange(HOURS)
    ds = pd.date_range("2026-01-05", periods=HOURS, freq="h", tz="UTC")
    frames = []
    for k in range(n_services):
        level = rng.uniform(5, 500)
        shape = (1 + 0.4 * np.sin(2 * np.pi * t / 24)) * np.where((t // 24) % 7 >= 5, 0.7, 1.0)
        y = level * (1 + 0.002 * t / 24) * shape * np.exp(rng.normal(0, 0.15, HOURS))
        bursts = rng.integers(0, HOURS, 5)
        y[bursts] *= 3
        frames.append(pd.DataFrame({"timestamp": ds, "service": f"svc-{k:04d}", "rps": y}))
    return pd.concat(frames, ignore_index=True)


def cpu() -> float:
    """CPU seconds (user + system) of this process and its finished children: on a shared machine the wall time
    depends on the other load, the CPU time much less (an idle 2-core machine needs about CPU / 2 of wall)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def wall(cmd: list[str], repeats: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``repeats`` runs of ``cmd``."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, used = time.perf_counter(), cpu()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        walls.append(time.perf_counter() - start)
        cpus.append(cpu() - used)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000, help="fleet size (default 1000; 0 skips the fleet)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the single-service command (median)")
    parser.add_argument("--hierarchy", action="store_true", help="also time the reconciled fleet hierarchy")
    parser.add_argument("--write-docs", action="store_true", help="write the figures into docs/forecast-accuracy.md")
    args = parser.parse_args()
    measure(args)
    if args.write_docs:
        page = DOC.read_text()
        head, _, rest = page.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{BEGIN}\n```\n" + "\n".join(LINES) + f"\n```\n{END}{tail}")


def measure(args: argparse.Namespace) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    sys.path.insert(0, str(REPO / "src"))
    load = os.getloadavg()[0]
    say(f"{os.cpu_count()} cores, load average {load:.1f} at the start, {time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.csv"
        synthetic(1).drop(columns="service").to_csv(one, index=False)
        start, _ = wall([sys.executable, "-c", "pass"], args.repeats, env)
        single, single_cpu = wall([sys.executable, "-m", "gpucast", "predict", "--history", str(one), "--horizon", "14d"],
                      args.repeats, env)  # fmt: skip
        say(f"one service, 8 weeks hourly, 14d horizon, `gpucast predict` end to end: {single:.2f} s wall, "
              f"{single_cpu:.2f} s CPU (target <= 1.5 s; python start-up {start:.2f} s)")  # fmt: skip
        if args.services <= 0:
            return
        fleet = Path(tmp) / "fleet.csv"
        synthetic(args.services).to_csv(fleet, index=False)
        from gpucast.forecast import forecast_fleet, load_history

        began, used = time.perf_counter(), cpu()
        history = load_history(fleet, id_col="service")
        loaded = time.perf_counter() - began
        results = forecast_fleet(history, "14d", n_jobs=-1)
        elapsed, fleet_cpu = time.perf_counter() - began, cpu() - used
        assert len(results) == args.services
        beats = sum((r.backtest.mase or 0) < (r.backtest.baseline_mase or 0) for r in results.values())
        say(f"{args.services} services, 8 weeks hourly, 14d horizon, forecast_fleet: {elapsed:.1f} s wall, "
              f"{fleet_cpu:.1f} s CPU ({loaded:.1f} s loading; {elapsed / args.services * 1e3:.0f} ms a service; target <= 60 s for 1,000); "
              f"backtest MASE below seasonal-naive's on {beats}/{len(results)}")  # fmt: skip
        if args.hierarchy:
            from gpucast.forecast.hierarchy import forecast_hierarchy

            ids = history.ids
            groups = {s: (f"team-{i % 20:02d}", "prod" if i % 20 < 14 else "staging") for i, s in enumerate(ids)}
            began, used = time.perf_counter(), cpu()
            hf = forecast_hierarchy(history, "14d", groups)
            took, took_cpu = time.perf_counter() - began, cpu() - used
            say(f"  reconciled hierarchy ({len(hf.nodes)} nodes: services, 20 teams, 2 environments, total): "
                  f"{took:.1f} s wall, {took_cpu:.1f} s CPU")  # fmt: skip


if __name__ == "__main__":
    main()
