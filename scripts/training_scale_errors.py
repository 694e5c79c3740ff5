"""Does gpucast's training error grow with scale? Signed errors of the training fit split by GPUs, nodes,
parallelism degree and model size.

An outside check found large-scale runs (64-1024+ GPUs, multi-node, TP x PP x DP x CP x EP) missed by ~22% while the
leave-one-source-out error over all fitted throughput rows is ~8%. This script answers with the repo's own data:

- the fitted rows (the files ``scripts/calibrate_training.py`` reads by default), predicted leave-one-source-out (each
  source by a fit without it: the error a new source would see), one error per configuration (the median of its
  throughput rows: tokens/s and MFU of one run are one measurement, not two);
- the held-out rows of ``data/benchmarks/training/`` (never fitted), predicted by the full fit.

Each bucket prints n (configurations), sources, the median signed error (predicted / measured - 1: negative =
gpucast too slow), the median |error| and the 10th / 90th percentile of the signed error.

    PYTHONPATH=src python scripts/training_scale_errors.py            # both tables (leave-one-source-out: minutes)
    PYTHONPATH=src python scripts/training_scale_errors.py --no-loso  # in-sample fitted rows + held-out rows only
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrate_training import DEFAULT_DATA, FIT_DIR, MEASURED_DIR, REPO, _eff, fit, prepare

from gpucast.core.params import count_parameters
from gpucast.validation.training import THROUGHPUT, Case, predict

HELD_OUT_DIR = REPO / "data" / "benchmarks" / "training"  # never read by the fit (its README)
Row = tuple[Case, float]  # a configuration and its signed error (predicted / measured - 1)


def _read(paths: Sequence[Path]) -> list[Case]:
    rows: list[dict[str, str]] = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return [c for c in prepare(rows)[0] if any(t[1] in THROUGHPUT for t in c.targets)]


def signed(cases: Sequence[Case], fitted: Callable[[Sequence[Case]], dict], by_source: bool) -> list[Row]:
    """One signed error per configuration: the median over its throughput rows of predicted / measured - 1."""
    out: list[Row] = []
    groups = sorted({c.source for c in cases}) if by_source else [None]
    for source in groups:
        held = [c for c in cases if source is None or c.source == source]
        effs = fitted([c for c in cases if c.source != source]) if by_source else fitted(cases)
        for c in held:
            errs = [predict(c, m, _eff(effs, c)) / v - 1 for _, m, v, _ in c.targets if m in THROUGHPUT]
            out.append((c, float(np.median(errs))))
    return out


def _size(c: Case) -> str:
    b = count_parameters(c.setup.model).total / 1e9
    edges = ((3, "<3B"), (15, "3-15B"), (50, "15-50B"), (150, "50-150B"))
    return next((name for edge, name in edges if b < edge), ">=150B")


def _gpus(c: Case) -> str:
    n = c.setup.num_gpus
    edges = ((1, "1"), (8, "2-8"), (63, "9-63"), (255, "64-255"), (1023, "256-1023"))
    return next((name for edge, name in edges if n <= edge), ">=1024")


def _nodes(c: Case) -> str:
    nodes = math.ceil(c.setup.num_gpus / c.setup.gpu.gpus_per_node)
    return "1" if nodes == 1 else "2-7" if nodes < 8 else "8-31" if nodes < 32 else ">=32"


def _degree(name: str) -> Callable[[Case], str]:
    def key(c: Case) -> str:
        v = getattr(c.setup, name)
        return str(v) if v <= 8 else ">8" if v <= 64 else ">64"

    return key


SPLITS: dict[str, Callable[[Case], str]] = {
    "total GPUs": _gpus,
    "nodes": _nodes,
    "TP": _degree("tp"),
    "PP": _degree("pp"),
    "DP": _degree("dp"),
    "CP": _degree("cp"),
    "EP": _degree("ep"),
    "VPP": _degree("vpp"),
    "ZeRO stage": lambda c: str(c.setup.zero),
    "model size": _size,
    "stack": lambda c: c.setup.framework,
}


def _order(label: str) -> tuple[float, str]:
    digits = "".join(ch if ch.isdigit() else " " for ch in label).split()
    return (float(digits[0]) + (0.5 if label.startswith(">") else 0.0) if digits else math.inf, label)


def table(rows: Sequence[Row], title: str) -> list[str]:
    lines = [title, f"  {'split':<12}{'bucket':<10}{'n':>5}{'src':>5}{'signed':>9}{'|err|':>8}{'p10':>8}{'p90':>8}"]
    everything = np.array([e for _, e in rows]) * 100
    lines.append(
        f"  {'all':<12}{'':<10}{len(rows):>5}{len({c.source for c, _ in rows}):>5}{np.median(everything):>+9.1f}"
        f"{np.median(abs(everything)):>8.1f}{np.percentile(everything, 10):>+8.1f}{np.percentile(everything, 90):>+8.1f}"
    )
    for split, key in SPLITS.items():
        buckets: dict[str, list[Row]] = {}
        for row in rows:
            buckets.setdefault(key(row[0]), []).append(row)
        if len(buckets) < 2:
            continue
        for label in sorted(buckets, key=_order):
            errs = np.array([e for _, e in buckets[label]]) * 100
            sources = len({c.source for c, _ in buckets[label]})
            lines.append(
                f"  {split:<12}{label:<10}{len(errs):>5}{sources:>5}{np.median(errs):>+9.1f}{np.median(abs(errs)):>8.1f}"
                f"{np.percentile(errs, 10):>+8.1f}{np.percentile(errs, 90):>+8.1f}"
            )
            split = ""
    return lines


def worst(rows: Sequence[Row], count: int) -> list[str]:
    ranked = sorted(rows, key=lambda r: -abs(math.log1p(r[1])))[:count]
    out = []
    for c, e in ranked:
        s = c.setup
        out.append(
            f"  {e * 100:+6.1f}% {c.targets[0][0][:58]:<58} {s.num_gpus:>5} GPUs tp{s.tp} pp{s.pp} dp{s.dp} cp{s.cp} "
            f"ep{s.ep} vpp{s.vpp} mb{s.micro_batch} ga{s.grad_accum} zero{s.zero} {s.recompute}"
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-loso", action="store_true", help="fitted rows in sample instead of leave-one-source-out")
    parser.add_argument("--worst", type=int, default=12)
    args = parser.parse_args(argv)
    fitted_paths = [REPO / DEFAULT_DATA, *sorted(FIT_DIR.glob("*.csv")), *sorted(MEASURED_DIR.glob("*.csv"))]
    cases = _read(fitted_paths)

    def effs(train: Sequence[Case]) -> dict:
        return fit(list(train)).efficiencies()

    label = "in sample" if args.no_loso else "leave-one-source-out"
    fitted_rows = signed(cases, effs, by_source=not args.no_loso)
    print("\n".join(table(fitted_rows, f"fitted rows, {label} (signed = predicted / measured - 1, %)")))
    print("\n".join(["  worst:", *worst(fitted_rows, args.worst)]))
    held = _read(sorted(HELD_OUT_DIR.glob("*.csv")))
    full = effs(cases)
    held_rows = signed(held, lambda _: full, by_source=False)
    print("\n".join(table(held_rows, "\nheld-out rows (data/benchmarks/training/, never fitted), full fit")))
    print("\n".join(["  worst:", *worst(held_rows, args.worst)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
