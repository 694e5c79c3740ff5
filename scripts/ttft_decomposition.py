"""Where p99 TTFT misses (issue 21): every TTFT percentile row's prediction taken apart, beside what the row measured.

``scripts/percentile_table.py`` says how far each row is off; this says which part of the prediction the miss is in.
For each operating point of ``data/benchmarks/percentiles`` with TTFT percentile rows it prints, in ms:

* how the row is predicted: ``analytic`` (``core.tails``), ``finite`` (a finite request-rate run, simulated) or
  ``closed`` (a closed loop whose start-up burst reaches the p99, simulated): ``validation.percentiles.tail_at``;
* the parts of the prediction at p50 and at p99: the server's front end (``Efficiency.frontend_s``), the prompt's own
  prefill alone (batch-size-1 prefill compute, chunk by chunk), the step granularity (half a running step, plus the
  running batch's attention and step overhead in every chunk), and queueing (everything else: the prefill server's
  M/G/1 wait, a finite run's backlog or a closed loop's burst, the chunks interleaving with decode). The first three
  are read at the profile point whose isolated TTFT (no wait) is that quantile of the isolated mixture; queueing is
  the prediction minus that isolated TTFT;
* measured p50 / p99 (and the mean where the file gives ``ttft_ms``), the signed errors at p50 and p99, and the
  spread's error ((predicted p99 - p50) / (measured p99 - p50) - 1): a miss in the median is a per-request level
  (front end, prefill rate), a miss in the spread alone is the tail's shape (queueing, outliers).

Nothing is fitted; the rows are validation only. ``python scripts/ttft_decomposition.py [--csv OUT]`` (~10 s).
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
from pathlib import Path

from gpucast.core.percentiles import LatencyTail
from gpucast.core.serving import OperatingPoint, max_throughput
from gpucast.core.tails import _offsets, _shape
from gpucast.validation.finite_runs import closed_loop_transient, is_transient
from gpucast.validation.inference import Group, operating, prepare, read_rows
from gpucast.validation.percentiles import percentile_value, tail_at

FOLDER = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "percentiles"
LENGTH_FILES = {"sharegpt_seed0_200.csv"}
LEVELS = {"p50": 0.50, "p90": 0.90, "p99": 0.99}


def _path(group: Group) -> str:
    """Which model predicts the group's percentiles (the branches of ``validation.percentiles.tail_at``)."""
    if group.load == "concurrency" and group.num_requests and group.uncached_tokens is None:
        clients = max(round(group.load_value / group.replicas), 1)
        if closed_loop_transient(clients, group.num_requests):
            return "closed"
    if group.load == "request-rate" and group.num_requests and group.uncached_tokens is None:
        cached = 0.0
        saturation = max_throughput(
            group.cfg, input_tokens=group.input_tokens, output_tokens=group.output_tokens,
            cached_input_tokens=cached,
        ).requests_per_s  # fmt: skip
        if is_transient(group.load_value / group.replicas / saturation, group.num_requests):
            return "finite"
    return "analytic"


def parts(group: Group, level: float) -> dict[str, float]:
    """Front end, own prefill and step granularity (s) of the profile point at the ``level`` quantile of the
    isolated TTFT (no wait), and that isolated TTFT."""
    cfg, point = group.cfg, operating(group)
    cached = max(group.input_tokens - group.uncached_tokens, 0.0) if group.uncached_tokens is not None else 0.0
    shape = _shape(cfg, group.lengths, group.input_tokens, group.output_tokens, cached, group.uncached_tokens)
    front = cfg.efficiency.frontend_s
    offsets = _offsets(shape, point, front)
    ordered = sorted(zip(offsets, shape.points, strict=True), key=lambda pair: pair[0][1])
    total, pick = 0.0, ordered[-1]
    for pair in ordered:
        total += pair[0][0]
        if total >= level - 1e-9:
            pick = pair
            break
    (_, isolated, _), (_, _, prefill, _, _) = pick
    return {"front": front, "prefill": prefill, "step": isolated - front - prefill, "isolated": isolated}


def rows() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for path in sorted(p for p in FOLDER.glob("*.csv") if p.name not in LENGTH_FILES):
        table = read_rows(path)
        meta = {r["id"]: r for r in table}
        groups, _ = prepare(table, path.parent)
        for group in groups:
            runs = _runs(group)
            if not runs:
                continue
            point = operating(group)
            run = closed = None
            if group.load == "request-rate" and group.num_requests:
                run = (group.load_value / group.replicas, group.num_requests, group.paced)
            if group.load == "concurrency" and group.num_requests:
                closed = (max(round(group.load_value / group.replicas), 1), group.num_requests)
            tail = tail_at(group.cfg, point, group.input_tokens, group.output_tokens, group.lengths,
                           group.uncached_tokens, run=run, closed=closed)  # fmt: skip
            for ident, measured in runs:
                out.append(_row(path.name, meta[ident], ident, group, point, tail, measured))
    return out


def _runs(group: Group) -> list[tuple[str, dict[str, float]]]:
    """The group's TTFT rows per benchmark run (rows of runs that share an operating point, such as one server's
    launch variants, come in order: a run ends where a metric repeats): (first row id, metric -> value)."""
    runs: list[tuple[str, dict[str, float]]] = []
    for target in group.targets:
        if not target.metric.startswith("ttft_"):
            continue
        if not runs or target.metric in runs[-1][1]:
            runs.append((target.row_id, {}))
        runs[-1][1][target.metric] = target.value
    return [run for run in runs if any(m in run[1] for m in ("ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms"))]


def _row(
    name: str,
    first: dict[str, str],
    ident: str,
    group: Group,
    point: OperatingPoint,
    tail: LatencyTail,
    measured: dict[str, float],
) -> dict[str, object]:
    """One benchmark run's measured TTFTs beside the prediction and its parts (``parts``) at each level."""
    row: dict[str, object] = {
        "file": name,
        "id": ident,
        "engine": first["engine"],
        "gpu": f"{first['gpu']} TP{first['tp']}" + (f" PP{first['pp']}" if first["pp"] not in ("", "1") else ""),
        "load": f"{group.load} {group.load_value:g}",
        "path": _path(group),
        "budget": group.cfg.chunk_tokens,
        "mean_measured": measured.get("ttft_ms", math.nan),
        "mean_predicted": point.ttft_s * 1e3,
    }
    for label, level in LEVELS.items():
        metric = f"ttft_{label}_ms"
        predicted = percentile_value(tail, metric)
        split = parts(group, level)
        row |= {
            f"{label}_measured": measured.get(metric, math.nan),
            f"{label}_predicted": predicted,
            f"{label}_front": split["front"] * 1e3,
            f"{label}_prefill": split["prefill"] * 1e3,
            f"{label}_step": split["step"] * 1e3,
            f"{label}_queue": predicted - split["isolated"] * 1e3,
        }
    return row


def _ratio(predicted: object, measured: object) -> float:
    """predicted / measured - 1 (NaN where the row does not measure it)."""
    m, p = float(measured), float(predicted)  # type: ignore[arg-type]
    return p / m - 1.0 if m == m and m > 0 else math.nan


def shape_error(r: dict[str, object]) -> float:
    """(predicted p99 / p50) / (measured p99 / p50) - 1: the tail's shape once the level (the median) is taken
    out; near 0 where the miss is already in the median."""
    return (1.0 + _ratio(r["p99_predicted"], r["p99_measured"])) / (
        1.0 + _ratio(r["p50_predicted"], r["p50_measured"])
    ) - 1.0


def _pct(value: float) -> str:
    return f"{value * 100:+.0f}%" if value == value else "–"


def _split(r: dict[str, object], label: str) -> str:
    return " + ".join(f"{float(r[f'{label}_{part}']):.0f}" for part in ("front", "prefill", "step", "queue"))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", type=Path, help="also write every number to this CSV")
    args = parser.parse_args()
    table = rows()
    print(
        "| file | id | engine | GPU | load | path | p50 measured | p50 predicted = front + prefill + step + queue "
        "| p99 measured | p99 predicted = front + prefill + step + queue | error p50 | error p99 | shape |"
    )
    print("|---|---|---|---|---|---|---:|---|---:|---|---:|---:|---:|")
    for r in table:
        m50, m99 = float(r["p50_measured"]), float(r["p99_measured"])  # type: ignore[arg-type]
        print(f"| `{r['file']}` | {r['id']} | {r['engine']} | {r['gpu']} | {r['load']} | {r['path']} | {m50:.0f} | "
              f"{float(r['p50_predicted']):.0f} = {_split(r, 'p50')} | {m99:.0f} | "  # type: ignore[arg-type]
              f"{float(r['p99_predicted']):.0f} = {_split(r, 'p99')} | "  # type: ignore[arg-type]
              f"{_pct(_ratio(r['p50_predicted'], m50))} | {_pct(_ratio(r['p99_predicted'], m99))} | "
              f"{_pct(shape_error(r))} |".replace("nan", "–"))  # fmt: skip
    print(
        "\n| file | runs with p99 | median error p50 | median error p99 | median shape | median abs error p99 "
        "| median abs shape |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in sorted({str(r["file"]) for r in table}):
        mine = [r for r in table if r["file"] == name and float(r["p99_measured"]) == float(r["p99_measured"])]  # type: ignore[arg-type]
        if not mine:
            continue
        e50 = [_ratio(r["p50_predicted"], r["p50_measured"]) for r in mine]
        e99 = [_ratio(r["p99_predicted"], r["p99_measured"]) for r in mine]
        shape = [shape_error(r) for r in mine]
        cells = [_pct(statistics.median(v)) for v in (e50, e99, shape)]
        cells += [f"{statistics.median(abs(v) for v in vs) * 100:.1f}%" for vs in (e99, shape)]
        print(f"| `{name}` | {len(mine)} | " + " | ".join(cells) + " |")
    if args.csv:
        with args.csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows(table)


if __name__ == "__main__":
    main()
