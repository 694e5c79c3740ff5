"""Import a service's usage history (CSV or JSON) into ``usage_metrics``, idempotently.

Standard library parsing (no pandas needed to keep history): one row per timestamp with ``rps`` and optional
token, latency and GPU-utilisation columns. A sample is identified by (service, timestamp), a unique key in the
schema, so importing the same file twice adds nothing; a stored sample whose values differ from the file is
kept and counted as a conflict unless ``replace=True``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InputError
from ..inputs.numbers import non_negative_number
from .models import UsageMetric, row_limit
from .services import audit, check_may_write, get_service

# column -> accepted names in a file (first is canonical)
COLUMNS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "ts", "time", "ds", "date", "datetime"),
    "rps": ("rps", "requests_per_second", "requests", "value", "y"),
    "input_tokens": ("input_tokens", "prompt_tokens", "avg_input_tokens"),
    "output_tokens": ("output_tokens", "completion_tokens", "avg_output_tokens"),
    "latency_p50_ms": ("latency_p50_ms", "p50_latency_ms", "latency_p50", "p50_ms"),
    "latency_p95_ms": ("latency_p95_ms", "p95_latency_ms", "latency_p95", "p95_ms"),
    "latency_p99_ms": ("latency_p99_ms", "p99_latency_ms", "latency_p99", "p99_ms"),
    "gpu_utilization": ("gpu_utilization", "gpu_util", "utilization"),
}
VALUE_COLUMNS = tuple(k for k in COLUMNS if k != "timestamp")
EPOCH_MS_ABOVE = 1e11  # as in gpucast.forecast.history: larger epoch numbers are milliseconds
# The span of pandas' nanosecond timestamps (pandas.Timestamp.min/max, whole days inside), in which the forecaster
# reads a stored history: a sample outside it would be stored and then break every forecast of the service.
EARLIEST, LATEST = datetime(1677, 9, 22), datetime(2262, 4, 10)
# The largest rate or token count the forecaster reads (gpucast.forecast.values.MAX_VALUE; that module needs pandas,
# the store does not): 1e308 req/s was stored, and then every forecast of the service refused it.
MAX_FORECAST_VALUE = 1e150
FORECAST_COLUMNS = ("rps", "input_tokens", "output_tokens")


@dataclass
class ImportReport:
    service: str
    rows_read: int = 0
    added: int = 0
    unchanged: int = 0
    conflicts: int = 0  # stored sample differs from the file (kept, or replaced when asked)
    replaced: int = 0
    duplicates_in_file: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_timestamp(raw: Any, row: int) -> datetime:
    """ISO 8601 (zone converted to UTC, naive taken as UTC) or epoch seconds/milliseconds -> naive UTC."""
    text = str(raw).strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    try:
        if number is not None:
            if not math.isfinite(number):
                raise ValueError
            moment = datetime.fromtimestamp(number / 1000 if abs(number) > EPOCH_MS_ABOVE else number, UTC)
        else:
            moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise InputError(f"row {row}: timestamp {text!r} is not ISO 8601 or epoch seconds") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if not EARLIEST <= moment <= LATEST:
        raise InputError(f"row {row}: timestamp {text!r} is outside {EARLIEST:%Y-%m-%d} .. {LATEST:%Y-%m-%d}, the "
                         "span the forecaster reads")  # fmt: skip
    return moment


def _number(raw: Any, column: str, row: int, *, required: bool) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InputError(f"row {row}: {column} is empty (every row needs a value)")
        return None
    if isinstance(raw, bool):  # JSON true is not the number 1
        raise InputError(f"row {row}: {column} {raw!r} is not a number")
    value = non_negative_number(raw, f"row {row}: {column}")
    if column in FORECAST_COLUMNS and value > MAX_FORECAST_VALUE:
        raise InputError(f"row {row}: {column} {raw!r} is too large to forecast (at most {MAX_FORECAST_VALUE:g}); "
                         "check the column and its unit")  # fmt: skip
    return value


def read_rows(path: str | Path, shown: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of a CSV/TSV or JSON (list of objects, or {"metrics": [...]}, or JSON lines) file, canonical columns.
    Returns the rows and the file's columns that were ignored. ``shown`` names the file in errors (an upload's
    server-side temporary path means nothing to its sender)."""
    path = Path(path)
    shown = shown or f"metrics file {str(path)!r}"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputError(f"{shown} cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{shown} is not UTF-8 text (CSV or JSON expected)") from None
    raw_rows = (
        _json_rows(text, path, shown)
        if path.suffix.lower() in (".json", ".jsonl", ".ndjson")
        else _csv_rows(text, path)
    )
    if not raw_rows:
        raise InputError(f"{shown} has no rows")
    names = {str(k).strip().lower(): str(k) for row in raw_rows for k in row}
    mapping: dict[str, str] = {}
    for column, accepted in COLUMNS.items():
        found = next((names[a] for a in accepted if a in names), None)
        if found is not None:
            mapping[column] = found
    for column in ("timestamp", "rps"):
        if column not in mapping:
            raise InputError(f"{shown} has no {column} column (accepted: {', '.join(COLUMNS[column])}; "
                             f"found: {', '.join(sorted(names.values()))})")  # fmt: skip
    ignored = sorted(set(names.values()) - set(mapping.values()))
    rows = []
    for number, raw in enumerate(raw_rows, start=2 if path.suffix.lower() not in (".json", ".jsonl", ".ndjson") else 1):
        row: dict[str, Any] = {"timestamp": parse_timestamp(raw.get(mapping["timestamp"]), number)}
        for column in VALUE_COLUMNS:
            if column in mapping:
                row[column] = _number(raw.get(mapping[column]), column, number, required=column == "rps")
        rows.append(row)
    return rows, ignored


def _csv_rows(text: str, path: Path) -> list[dict[str, Any]]:
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    rows = [dict(r) for r in reader]
    for number, row in enumerate(rows, start=2):
        if None in row:  # DictReader keeps a row's extra fields under the key None: they would be dropped unsaid
            raise InputError(f"row {number}: {len(reader.fieldnames or []) + len(row[None])} fields, more than the "
                             f"header's {len(reader.fieldnames or [])} columns ({', '.join(reader.fieldnames or [])})")  # fmt: skip
    return rows


def _json_rows(text: str, path: Path, shown: str) -> list[dict[str, Any]]:
    lines = [(0, text)]  # JSON lines are decoded one by one: the decoder's line 1 is the file's line offset + 1
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        lines = [(offset, line) for offset, line in enumerate(text.splitlines()) if line.strip()]
    decoded = []
    for offset, content in lines:
        try:
            decoded.append(json.loads(content))
        except json.JSONDecodeError as error:
            raise InputError(f"{shown} is not valid JSON: {error.msg} at line {error.lineno + offset}") from None
        except RecursionError:  # the decoder's own limit: a RecursionError traceback before
            raise InputError(f"{shown} is nested too deeply to be usage rows (JSON line {offset + 1})") from None
    data: Any = decoded if path.suffix.lower() in (".jsonl", ".ndjson") else decoded[0]
    if isinstance(data, dict):
        data = data.get("metrics", data.get("rows"))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f'{shown}: expected a list of objects (or {{"metrics": [...]}})')
    return data


def import_rows(
    session: Session, service_name: str, rows: list[dict[str, Any]], actor: str, *, replace: bool = False
) -> ImportReport:
    """Store ``rows`` for the service: new timestamps are added, identical ones skipped, different ones kept
    (or overwritten with ``replace``). Runs inside the caller's transaction: all rows or none."""
    check_may_write(session, actor)
    service = get_service(session, service_name)
    report = ImportReport(service=service.name, rows_read=len(rows))
    unique: dict[datetime, dict[str, Any]] = {}
    for row in rows:
        if row["timestamp"] in unique:
            report.duplicates_in_file += 1
        else:
            unique[row["timestamp"]] = row
    if not unique:
        return report
    existing = {
        m.timestamp: m
        for m in session.scalars(
            select(UsageMetric).where(
                UsageMetric.service_id == service.id,
                UsageMetric.timestamp >= min(unique),
                UsageMetric.timestamp <= max(unique),
            )
        )
    }
    new = []
    for moment, row in unique.items():
        stored = existing.get(moment)
        if stored is None:
            new.append({column: row.get(column) for column in VALUE_COLUMNS} | {"timestamp": moment})
        elif all(getattr(stored, c) == row.get(c) for c in VALUE_COLUMNS if c in row):
            report.unchanged += 1
        else:
            report.conflicts += 1
            if replace:
                for column in VALUE_COLUMNS:
                    if column in row:
                        setattr(stored, column, row[column])
                report.replaced += 1
    if new:
        session.execute(_insert_ignoring_duplicates(session), [{"service_id": service.id, **r} for r in new])
    report.added = len(new)
    if report.added or report.replaced:
        audit(session, actor, "import", "usage_metrics", service.id, service=service.name, added=report.added,
              replaced=report.replaced, first=min(unique).isoformat(), last=max(unique).isoformat())  # fmt: skip
    return report


def _insert_ignoring_duplicates(session: Session) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: a concurrent importer of the same samples cannot fail this one."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(UsageMetric).on_conflict_do_nothing(index_elements=["service_id", "timestamp"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(UsageMetric).on_conflict_do_nothing(index_elements=["service_id", "timestamp"])


def list_metrics(session: Session, service_name: str, *, limit: int | None = None) -> list[UsageMetric]:
    service = get_service(session, service_name)
    query = select(UsageMetric).where(UsageMetric.service_id == service.id).order_by(UsageMetric.timestamp)
    return list(session.scalars(query.limit(row_limit(limit)) if row_limit(limit) is not None else query))


def metric_record(metric: UsageMetric) -> dict[str, Any]:
    return {"timestamp": metric.timestamp.isoformat()} | {c: getattr(metric, c) for c in VALUE_COLUMNS}
