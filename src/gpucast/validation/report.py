"""What ``gpucast validate`` reports, for inference and training rows alike, and the CSV reading both share.

Kept apart from ``inference.py`` (inference rows) and ``training.py`` (training rows) so that each
format's module depends on this one rather than on the other, and the report has a single shape.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError


def read_table(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV file; a missing or unreadable file is one clear InputError."""
    try:  # -sig: a byte-order mark (Excel's "CSV UTF-8") hid the first column ("lacks column(s) id")
        with Path(path).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
            return list(reader.fieldnames or []), rows
    except OSError as error:
        raise InputError(f"{str(path)!r} cannot be read: {error.strerror}") from error
    except UnicodeDecodeError as error:  # the codec's "can't decode byte 0xe9 in position 144" said what, not why
        raise InputError(f"{str(path)!r} is not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
                         f"{error.start}): save it as a UTF-8 CSV") from error  # fmt: skip
    except csv.Error as error:
        raise InputError(f"{str(path)!r} is not a readable CSV file: {error}") from error


def require_columns(path: str | Path, header: list[str], required: Iterable[str]) -> None:
    """All missing columns in one InputError, so that a hand-made CSV is fixed in one round."""
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{str(path)!r} lacks column(s) {', '.join(missing)} (see `gpucast validate --help`)")


def abs_pct_error(predicted: float, measured: float) -> float:
    return abs(predicted / measured - 1.0) * 100.0


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), standard library only."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class RowResult:
    """One measured row: values in the row's own convention and unit; ``naive`` is the baseline formula's
    prediction (inference: the seed's bandwidth formula; training: 6N at 40% MFU), None where it has none."""

    id: str
    source: str
    metric: str
    measured: float
    predicted: float
    error_pct: float
    naive: float | None


@dataclass
class MetricSummary:
    metric: str
    n: int
    median_error_pct: float
    p90_error_pct: float
    naive_median_error_pct: float | None


@dataclass
class ValidationReport:
    rows: list[RowResult]
    skipped: list[tuple[str, str]]
    summary: list[MetricSummary]

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": [dataclasses.asdict(s) for s in self.summary],
            "rows": [dataclasses.asdict(r) for r in self.rows],
            "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
        }


def summarize(
    rows: list[RowResult], metrics: Sequence[str], groups: Mapping[str, Collection[str]] | None = None
) -> list[MetricSummary]:
    """Per metric (in ``metrics`` order) and per group of metrics (default: ALL): n, median and p90
    absolute % error, and the naive formula's median (over the rows it applies to)."""
    groups = {"ALL": metrics} if groups is None else groups
    errors: dict[str, list[float]] = defaultdict(list)
    naive: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for key in (row.metric, *(g for g, members in groups.items() if row.metric in members)):
            errors[key].append(row.error_pct)
            if row.naive is not None:
                naive[key].append(abs_pct_error(row.naive, row.measured))
    order = [m for m in (*metrics, *groups) if m in errors]
    return [
        MetricSummary(
            m,
            len(errors[m]),
            percentile(errors[m], 50),
            percentile(errors[m], 90),
            percentile(naive[m], 50) if naive.get(m) else None,
        )
        for m in order
    ]
