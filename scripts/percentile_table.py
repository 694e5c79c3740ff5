"""Issue 21's leave-one-source-out table and the signed TTFT error of every percentile row (docs/tail-latency.md).

Each file of ``data/benchmarks/percentiles`` is one source, never fitted (``scripts/calibrate.py`` reads only
``data/benchmarks/*.csv``), so its errors are leave-one-source-out figures as they stand. Prints, as Markdown:

1. per source and percentile metric the median absolute error, % (rows), then the rows pooled and the median of the
   per-source medians (each from the per-source figure rounded to 0.1, as the docs' table shows it);
2. per TTFT percentile row: measured, predicted, and the signed error (predicted / measured - 1), which says whether
   the model misses time (negative) or counts too much (positive).

    python scripts/percentile_table.py
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from gpucast.validation.inference import validate_file
from gpucast.validation.percentiles import PERCENTILE_METRICS

FOLDER = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "percentiles"
LENGTH_FILES = {"sharegpt_seed0_200.csv"}  # per-request lengths a source names, not measurements
CANDIDATES = tuple(m for m in PERCENTILE_METRICS if m.split("_p")[0] in ("ttft", "tpot", "itl"))


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({len(values)})" if values else "–"


def main() -> None:
    files = sorted(p for p in FOLDER.glob("*.csv") if p.name not in LENGTH_FILES)
    reports = {path: validate_file(path).rows for path in files}
    present = {r.metric for rows in reports.values() for r in rows}
    columns = tuple(c for c in CANDIDATES if c in present)  # a percentile no source reports gets no column
    pooled: dict[str, list[float]] = {c: [] for c in columns}
    medians: dict[str, list[float]] = {c: [] for c in columns}
    every: list[float] = []
    every_median: list[float] = []
    signed: list[tuple[str, dict[str, str], float, float]] = []
    print("| source (file) | " + " | ".join(c.removesuffix("_ms").replace("_p", " p") for c in columns) + " | all |")
    print("|---" * (len(columns) + 2) + "|")
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            meta = {row["id"]: row for row in csv.DictReader(handle)}
        rows = [r for r in reports[path] if r.metric in columns]
        cells = []
        for column in columns:
            errors = [abs(r.predicted / r.measured - 1.0) * 100 for r in rows if r.metric == column]
            cells.append(_median(errors))
            pooled[column] += errors
            if errors:
                medians[column].append(round(statistics.median(errors), 1))
        errors = [abs(r.predicted / r.measured - 1.0) * 100 for r in rows]
        every += errors
        every_median.append(round(statistics.median(errors), 1))
        print(f"| `{path.name}` | " + " | ".join(cells) + f" | {_median(errors)} |")
        signed += [(path.name, meta[r.id], r.measured, r.predicted) for r in rows if r.metric.startswith("ttft_")]
    print("| all (rows pooled) | " + " | ".join(_median(pooled[c]) for c in columns) + f" | {_median(every)} |")
    cells = [f"{statistics.median(medians[c]):.1f}" if medians[c] else "–" for c in columns]
    print("| median of the per-source medians | " + " | ".join(cells) + f" | {statistics.median(every_median):.1f} |")

    print("\n| file | id | engine | load | metric | measured ms | predicted ms | signed error |")
    print("|---|---|---|---|---|---:|---:|---:|")
    for name, row, measured, predicted in signed:
        load = f"{row['load']} {row['load_value']}" + (" (replay)" if "prefix_cache=replay" in row["notes"] else "")
        print(
            f"| `{name}` | {row['id']} | {row['engine']} {row['precision']} TP{row['tp']} | {load} | {row['metric']} "
            f"| {measured:.1f} | {predicted:.1f} | {(predicted / measured - 1) * 100:+.0f}% |"
        )


if __name__ == "__main__":
    main()
