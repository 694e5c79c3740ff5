"""Serving points for plan-level validation (``validation.plans``): CSV rows grouped into operating points, and
which of them are loaded.

A point is the rows sharing source, engine, model, GPU, num_gpus, TP, PP, precisions, lengths, load and load_value;
its rate, TTFT and ITL come from the metrics ``plans``' docstring names. Split out of ``plans.py`` (the planning
and the report stay there) to keep each file short.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

LOADS = ("request-rate", "concurrency")
LOAD_FACTOR = 10.0  # plan 10 x the measured rate: a fleet, not one deployment (the question)
MIN_CONCURRENCY = 25.0  # closed-loop points at or above this are loaded
TOP_RATES = 2  # the two highest request rates of a table are loaded
SATURATED_SHARE = 0.9  # ...unless the table serves less than this share of the offered rate at its lowest rate
RATE_METRICS = ("requests_per_s", "output_tok_per_s_total", "output_tok_per_s_per_gpu")
ITL_METRICS = ("tpot_ms", "itl_ms")
_MEDIAN = re.compile(r"\bmedian\b", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------- points
@dataclass
class ServingPoint:
    """One measured operating point: the deployment, its load and the measured rate and latencies."""

    ids: list[str]
    source: str
    engine: str  # the row's engine as printed
    model: str
    gpu: str
    num_gpus: int
    tp: int
    pp: int
    precision: str
    kv_precision: str
    input_tokens: float
    output_tokens: float
    load: str
    load_value: float
    rate_rps: float | None = None  # R, across the deployment
    rate_from: str = ""
    ttft_ms: float | None = None
    itl_ms: float | None = None
    itl_from: str = ""
    median: list[str] = field(default_factory=list)  # latency metrics whose notes say median
    notes: str = ""  # notes of the first row (memory fraction, request count)

    @property
    def slo_percentile(self) -> str:
        """The statistic the SLOs bound: the medians a source publishes (p50, ``core.tails``), else the means."""
        return "50" if self.median else "mean"

    @property
    def replicas(self) -> int:
        return self.num_gpus // (self.tp * self.pp)

    def needed_gpus(self, margin: float) -> int:
        """GPUs the measured deployment needs for 10 x R at ``margin``: ceil(10 x replicas x (1 + margin)) x TP x PP."""
        return math.ceil(LOAD_FACTOR * self.replicas * (1.0 + margin) - 1e-9) * self.tp * self.pp


class _LeaveOut(Exception):
    """A point that is not a loaded serving measurement; the message says why."""


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _LeaveOut(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise _LeaveOut(f"{what} {text!r} must be a positive number")
    return value


def group_points(
    rows: Iterable[dict[str, str]],
) -> tuple[list[ServingPoint], list[tuple[str, str, str]], Counter[str]]:
    """Group serving rows into points; returns (points, rows left out as (id, source, reason), other rows per load).

    Rows of other loads (max-throughput, static-batch, startup) are no serving measurement and only counted."""
    points: dict[tuple[Any, ...], ServingPoint] = {}
    bad: list[tuple[str, str, str]] = []
    other: Counter[str] = Counter()
    for row in rows:
        load = row["load"].strip()
        if load not in LOADS:
            other[load or "(blank)"] += 1
            continue
        try:
            shape = [row[c].strip() for c in ("input_tokens", "output_tokens", "load_value")]
            numbers = [_number(row[c], c) for c in ("num_gpus", "tp", "pp")]
            load_value = _number(shape[2], "load_value")
        except _LeaveOut as reason:
            bad.append((row.get("id", "?"), row.get("source", ""), str(reason)))
            continue
        cols = ("source", "engine", "model", "gpu", "precision", "kv_precision")
        source, engine, model, gpu, precision, kv = (row[c].strip() for c in cols)
        key = (source, engine, model, gpu, precision, kv, *numbers, *shape[:2], load, load_value)
        point = points.get(key)
        if point is None:
            point = points[key] = ServingPoint(
                [], source, engine, model, gpu, int(numbers[0]), int(numbers[1]), int(numbers[2]), precision, kv,
                math.nan, math.nan, load, load_value, notes=row.get("notes", ""),
            )  # fmt: skip
            with contextlib.suppress(ValueError):  # e.g. "ShareGPT (variable)": left NaN, reported per point
                point.input_tokens, point.output_tokens = (float(shape[0]), float(shape[1]))
        point.ids.append(row["id"])
        _add_metric(point, row)
    return list(points.values()), bad, other


def _add_metric(point: ServingPoint, row: dict[str, str]) -> None:
    metric, notes = row["metric"].strip(), row.get("notes", "")
    try:
        value = float(row["value"])
    except ValueError:
        return
    if not math.isfinite(value) or value <= 0:
        return
    if metric in RATE_METRICS and (
        not point.rate_from or RATE_METRICS.index(metric) < RATE_METRICS.index(point.rate_from)
    ):
        if "AMBIGUOUS" in notes and point.tp * point.pp > 1:
            return  # per-GPU vs total not known (validation skips these rows too)
        point.rate_from, point.rate_rps = metric, value
    elif metric == "ttft_ms":
        point.ttft_ms = value
        if _MEDIAN.search(notes):
            point.median.append(metric)
    elif metric in ITL_METRICS and (
        not point.itl_from or ITL_METRICS.index(metric) < ITL_METRICS.index(point.itl_from)
    ):
        point.itl_ms, point.itl_from = value, metric
        point.median = [m for m in point.median if m not in ITL_METRICS]
        if _MEDIAN.search(notes):
            point.median.append(metric)


def rate_rps(point: ServingPoint) -> float:
    """R across the deployment from the point's best rate metric (requests, else output tokens / output length)."""
    assert point.rate_rps is not None
    if point.rate_from == "requests_per_s":
        return point.rate_rps
    total = point.rate_rps * (point.num_gpus if point.rate_from == "output_tok_per_s_per_gpu" else 1)
    return total / point.output_tokens


def why_not(point: ServingPoint, top_rates: dict[tuple[Any, ...], list[float]]) -> str | None:
    """Why a point is not a loaded serving measurement (None: it is)."""
    if not (math.isfinite(point.input_tokens) and math.isfinite(point.output_tokens)):
        return "token lengths are not numbers (a dataset mix, not one request shape)"
    if point.num_gpus % (point.tp * point.pp):
        return f"num_gpus {point.num_gpus} is not a multiple of tp x pp = {point.tp * point.pp}"
    measured = (("rate", point.rate_rps), ("ttft_ms", point.ttft_ms), ("itl/tpot", point.itl_ms))
    missing = [name for name, value in measured if value is None]
    if missing:
        return f"no {', '.join(missing)} measured at this operating point"
    if len(point.median) == 1:
        return f"only {point.median[0]} is a median (notes): one statistic must bound both SLOs"
    if point.load == "concurrency" and point.load_value < MIN_CONCURRENCY:
        return f"lightly loaded: concurrency {point.load_value:g} < {MIN_CONCURRENCY:g}"
    top = top_rates.get(_table(point), [])
    if point.load == "request-rate" and point.load_value not in top:
        return f"lightly loaded: rate {point.load_value:g} is not among the table's {TOP_RATES} highest ({', '.join(f'{r:g}' for r in top)})"
    return None


def _table(point: ServingPoint) -> tuple[Any, ...]:
    return (point.source, point.engine, point.model, point.gpu, point.tp, point.pp, point.precision,
            point.input_tokens, point.output_tokens)  # fmt: skip


def loaded_points(points: Sequence[ServingPoint]) -> tuple[list[ServingPoint], list[tuple[ServingPoint, str]]]:
    """Split points into loaded ones and the others with the reason (every point lands in one of the two).

    A request-rate table that serves less than ``SATURATED_SHARE`` of the offered rate already at its lowest rate
    shows no operating point below saturation (a finite run whose queue grows at every rate): its latencies are
    the run's backlog and batch, not an SLO edge, so none of its points is a planning question."""
    rates: dict[tuple[Any, ...], set[float]] = defaultdict(set)
    lowest: dict[tuple[Any, ...], ServingPoint] = {}
    for p in points:
        if p.load == "request-rate":
            rates[_table(p)].add(p.load_value)
            if p.rate_rps is not None and (_table(p) not in lowest or p.load_value < lowest[_table(p)].load_value):
                lowest[_table(p)] = p
    top = {key: sorted(values, reverse=True)[:TOP_RATES] for key, values in rates.items()}
    loaded, left = [], []
    for p in points:
        first = lowest.get(_table(p)) if p.load == "request-rate" else None
        if first is not None and rate_rps(first) < SATURATED_SHARE * first.load_value:
            reason: str | None = (f"saturated table: already at its lowest rate, {first.load_value:g} req/s offered, "
                                  f"it served {rate_rps(first):.3g} (no point below saturation)")  # fmt: skip
        else:
            reason = why_not(p, top)
        if reason is None:
            loaded.append(p)
        else:
            left.append((p, reason))
    return loaded, left


# ---------------------------------------------------------------------------------------------- curves
def curve_elasticity(point: ServingPoint, points: Sequence[ServingPoint]) -> float | None:
    """How steeply the measured latency rises with the rate at ``point``: d ln(latency) / d ln(R) over the segment
    from it to the next heavier point of its table (same deployment, shape and load kind) — the load the capacity
    search climbs into — or, at the table's heaviest point, from the next lighter one; the larger of TTFT's and
    ITL's (the latency a 1.1 x SLO meets first). None without such a point with rate, TTFT and ITL measured, or
    where the rate did not grow over the segment (a saturated step).

    Why it matters (docs/accuracy.md): the question plans 10 R at 1.1 x the measured latencies, and "needed" assumes
    the measured deployment serves no more than R there. Where the latency grows like R^e, it serves about
    R x 1.1^(1/e) at the SLOs, so even an exact estimate plans 1.1^(-1/e) - 1 below "needed" (e = 0.2: -38%).
    Measured curves are convex, so the segment below R (at the heaviest point) understates e: first order only."""
    if point.rate_rps is None or point.ttft_ms is None or point.itl_ms is None:
        return None
    key = (_table(point), point.load, point.num_gpus)
    table = [
        q for q in points
        if (_table(q), q.load, q.num_gpus) == key and q.load_value != point.load_value
        and q.rate_rps is not None and q.ttft_ms is not None and q.itl_ms is not None
    ]  # fmt: skip
    heavier = [q for q in table if q.load_value > point.load_value]
    lighter = [q for q in table if q.load_value < point.load_value]
    if heavier:
        low, high = point, min(heavier, key=lambda q: q.load_value)
    elif lighter:
        low, high = max(lighter, key=lambda q: q.load_value), point
    else:
        return None
    step = math.log(rate_rps(high) / rate_rps(low))
    if step <= 1e-9:
        return None
    assert low.ttft_ms and high.ttft_ms and low.itl_ms and high.itl_ms
    return max(math.log(high.ttft_ms / low.ttft_ms), math.log(high.itl_ms / low.itl_ms)) / step
