"""Where the engine's remaining point error lies on the repository's traces: by step ahead, and split into the
level, the shape and bursts with oracles that look at the hold-out (issue 26).

Same protocol as ``scripts/evaluate_forecasts.py`` (its rolling origins, ``forecast_load`` on ``load_history`` of
the rows before each origin, scored on the raw hold-out; MAE / the protocol's naive MAE, geometric mean over
origins, then over a family's series). Per origin, beside the engine:

* ``level oracle (window)``: the engine's forecast moved on the log1p scale by the median log error of the whole
  hold-out — what remains when the window's level is known;
* ``level oracle (per day)`` (hourly series): the same per 24-hour block of the hold-out — each day's level known;
* ``naive's shape, day level known`` (hourly series): seasonal-naive moved the same way — the last day's shape
  instead of the engine's, each day's level known;
* ``smooth actual``: the hold-out's own centred rolling median (3 steps) — a forecast that knows the traffic up to
  its step-to-step bursts; its error is what bursts alone cost (a floor no forecast from the past reaches);
* per step block, the engine's MAE / naive MAE pooled over the family's origins;
* ``--members``: per step block and origin hour, each daily-season member alone on the ServeGen series (as
  ``scripts/forecast_ceiling.py`` computes them) beside the engine's median of the best 4.

None of the oracles is a forecast; they apportion the gap. Figures in docs/forecast-accuracy.md.

    python scripts/forecast_error_sources.py [--series ServeGen] [--members]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from evaluate_forecasts import DAY, Protocol, cuts, geomean, traces  # noqa: E402

from gpucast.forecast import fast, forecast_load, load_history, rolling  # noqa: E402
from gpucast.forecast.members import forecast_members  # noqa: E402

HOURLY = Protocol(horizon=48, origins=16, spacing=12, season=DAY, min_history=3 * DAY)


def shifted(f: np.ndarray, a: np.ndarray, block: int) -> np.ndarray:
    """``f`` moved, per block of ``block`` steps, by the median of log1p(a) - log1p(f) over that block."""
    out = np.log1p(np.asarray(f, dtype=float))
    err = np.log1p(a) - out
    for start in range(0, len(f), block):
        part = slice(start, start + block)
        out[part] += float(np.median(err[part]))
    return np.asarray(np.expm1(out))


def smooth(a: np.ndarray, width: int = 3) -> np.ndarray:
    """Centred rolling median of ``a`` (``width`` steps, shrinking at the ends)."""
    half = width // 2
    return np.array([np.median(a[max(0, i - half) : i + half + 1]) for i in range(len(a))])


def blocks(horizon: int, hourly: bool) -> list[tuple[int, int]]:
    edges = [0, 1, 3, 6, 12, 24, 48] if hourly else [0, 1, 2, 4, 6, 10, 12]
    edges = [e for e in edges if e < horizon] + [horizon]
    return list(itertools.pairwise(edges))


def by_member(horizon: int = 48, origins: int = 16, spacing: int = 12) -> None:
    """Per origin hour and step block, each member's (and the engine's) MAE / seasonal-naive MAE, pooled over the
    ServeGen hourly series and their origins."""
    acc: dict[tuple[int, str], np.ndarray] = {}
    for s in traces():
        if not s.family.startswith("ServeGen") or not s.hourly:
            continue
        y = s.frame["rps"].to_numpy(dtype=float)
        for end in cuts(len(y), horizon, origins, spacing):
            h = load_history(s.frame.iloc[:end]).frame["y"].to_numpy(dtype=float)
            bt = rolling.backtest(h, DAY, fast.calibrated_steps(len(h), DAY, horizon))
            members = forecast_members(h, DAY, horizon, rolling.CAP_FACTOR * float(h.max()), bt.repaired)
            members["engine"] = rolling.combine(members, rolling.member_weights(bt))
            a, naive_f = y[end : end + horizon], np.resize(y[end - DAY : end], horizon)
            naive = max(float(np.mean(np.abs(naive_f - a))), 1e-9)
            for name, f in members.items():
                cell = acc.setdefault((end % DAY, name), np.zeros((2, horizon)))
                cell += np.stack([np.abs(f - a), np.abs(naive_f - a)]) / naive
    spans = blocks(horizon, True)
    for hour in sorted({k for k, _ in acc}):
        print(f"\nServeGen, origin at hour {hour} of the day: MAE / seasonal-naive MAE by steps ahead (pooled)")
        print("| member | " + " | ".join(f"{lo + 1}-{hi}" for lo, hi in spans) + " |")
        print("| --- |" + " ---: |" * len(spans))
        for (at, name), cell in acc.items():
            if at == hour:
                print(
                    f"| {name} | "
                    + " | ".join(f"{cell[0, lo:hi].sum() / cell[1, lo:hi].sum():.2f}" for lo, hi in spans)
                    + " |"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="", help="only series whose name contains this text")
    parser.add_argument("--members", action="store_true", help="each member by step block on ServeGen")
    args = parser.parse_args(argv)
    if args.members:
        by_member()
        return 0
    hourly_family: dict[str, bool] = {}
    ratios: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    steps: dict[str, np.ndarray] = {}
    for s in traces():
        if args.series not in s.name or s.family == "synthetic sample":
            continue
        p = s.protocol or HOURLY
        y = s.frame["rps"].to_numpy(dtype=float)
        hourly = hourly_family[s.family] = p.season == DAY
        for end in cuts(len(y), p.horizon, p.origins, p.spacing, p.min_history):
            f = np.array([q.mean for q in forecast_load(load_history(s.frame.iloc[:end]), p.horizon).forecast])
            a = y[end : end + p.horizon]
            naive_f = np.resize(y[end - p.season : end], p.horizon)
            naive = max(float(np.mean(np.abs(naive_f - a))), 1e-9)
            row = ratios[s.family][s.name]
            row["engine"].append(float(np.mean(np.abs(f - a))) / naive)
            row["level oracle (window)"].append(float(np.mean(np.abs(shifted(f, a, p.horizon) - a))) / naive)
            if hourly:
                row["level oracle (per day)"].append(float(np.mean(np.abs(shifted(f, a, DAY) - a))) / naive)
                moved = shifted(naive_f, a, DAY)  # yesterday's shape at each day's own level
                row["naive's shape, day level known"].append(float(np.mean(np.abs(moved - a))) / naive)
            row["smooth actual (bursts only)"].append(float(np.mean(np.abs(smooth(a) - a))) / naive)
            acc = steps.setdefault(s.family, np.zeros((2, p.horizon)))
            acc += np.stack([np.abs(f - a), np.abs(naive_f - a)]) / naive
    for family, series in ratios.items():
        print(f"\n{family} ({len(series)} series); MAE / naive, geometric mean over origins")
        names = list(next(iter(series.values())))
        print("| series | " + " | ".join(names) + " |")
        print("| --- |" + " ---: |" * len(names))
        for name, row in series.items():
            print(f"| {name} | " + " | ".join(f"{geomean(row[n]):.3f}" for n in names) + " |")
        fam = [f"{geomean([geomean(r[n]) for r in series.values()]):.3f}" for n in names]
        print("| **family** | " + " | ".join(fam) + " |")
        acc = steps[family]
        spans = blocks(acc.shape[1], hourly_family[family])
        cells = [f"{lo + 1}-{hi}: {acc[0, lo:hi].sum() / acc[1, lo:hi].sum():.2f}" for lo, hi in spans]
        print("engine / naive MAE by steps ahead (pooled): " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
