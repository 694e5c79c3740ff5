"""The error tables scripts/calibrate_training.py prints and writes into training_calibration.toml's header.

Pure formatting of (metric, predicted, measured) pairs: kept apart from the fit so that the fit script stays one job.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from gpucast.validation.training import MEMORY, METRICS, THROUGHPUT


def errors(pairs: list[tuple[str, float, float]]) -> dict[str, tuple[int, float, float]]:
    by: dict[str, list[float]] = defaultdict(list)
    for metric, pred, meas in pairs:
        by[metric].append(abs(pred / meas - 1) * 100)
        by["throughput (all)" if metric in THROUGHPUT else metric + " "].append(abs(pred / meas - 1) * 100)
    order = [*METRICS, "throughput (all)"]
    return {m: (len(by[m]), float(np.median(by[m])), float(np.percentile(by[m], 90))) for m in order if m in by}


def stack_lines(by_stack: dict[str, list[tuple[str, float, float]]]) -> list[str]:
    """Leave-one-source-out median (p90) |error| per software stack: throughput rows and peak-memory rows."""
    lines = [f"{'stack (leave-one-source-out)':<30}{'throughput n, median, p90':>30}{'peak memory n, median, p90':>30}"]
    for stack in sorted(by_stack):
        cells = []
        for wanted in (THROUGHPUT, MEMORY):
            errs = [abs(p / v - 1) * 100 for m, p, v in by_stack[stack] if m in wanted]
            cell = f"{len(errs):>5} {np.median(errs):>8.1f} {np.percentile(errs, 90):>8.1f}" if errs else "-"
            cells.append(f"{cell:>30}")
        lines.append(f"{stack:<30}" + "".join(cells))
    return lines


def table(columns: dict[str, dict[str, tuple[int, float, float]]]) -> list[str]:
    lines = [f"{'metric':<24}" + "".join(f"{name:>26}" for name in columns)]
    for metric in [*METRICS, "throughput (all)"]:
        cells = [
            f"{c[metric][0]:>5} {c[metric][1]:>8.1f} {c[metric][2]:>8.1f}" if metric in c else f"{'-':>23}"
            for c in columns.values()
        ]
        if any(metric in c for c in columns.values()):
            lines.append(f"{metric:<24}" + "".join(f"{cell:>26}" for cell in cells))
    return lines
