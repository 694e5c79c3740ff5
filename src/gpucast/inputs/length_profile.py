"""``--length-profile NAME|FILE``: a built-in dataset profile, or the request lengths of your own traffic.

FILE is a CSV (or TSV) with a header naming ``input_tokens`` and ``output_tokens`` (one row per request), or a
usage history in the format ``gpucast service import`` already reads (CSV, JSON or JSON lines with a timestamp,
``rps`` and the mean ``input_tokens``/``output_tokens`` of each interval; ``prompt_tokens``/``completion_tokens``
are accepted too): there each row counts with its request rate. Every problem is one line naming the file, the row
and what is accepted.
"""

from __future__ import annotations

import csv
import io
import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..catalog.length_profiles import builtin_length_profile, length_profile_names, nearest_profile_hint, profile_key
from ..core.percentiles import LengthProfile, weighted_profile
from ..errors import InputError
from .numbers import non_negative_number

# column -> accepted header names (first is canonical), as the store's usage import (store.metrics.COLUMNS) names them
COLUMNS: dict[str, tuple[str, ...]] = {
    "input_tokens": ("input_tokens", "prompt_tokens", "avg_input_tokens"),
    "output_tokens": ("output_tokens", "completion_tokens", "avg_output_tokens"),
    "rps": ("rps", "requests_per_second", "requests", "value", "y"),
}
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
MAX_TOKENS = 10_000_000  # as --input-tokens


def resolve_length_profile(spec: str, *, allow_files: bool = True) -> LengthProfile:
    """The profile ``spec`` names: a built-in name (``gpucast`` lists them in the error) or, where ``allow_files``,
    a file of request lengths. The REST API passes ``allow_files=False``: a server never opens a client's path."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"--length-profile {spec!r} must be one of {', '.join(length_profile_names())} or a CSV file")
    text = spec.strip()
    name = profile_key(text)  # "lmsys_chat", "LMSYS chat": the built-in lmsys-chat
    if name in length_profile_names():
        return builtin_length_profile(name)
    looks_like_path = any(c in text for c in "/\\.") or _exists(text)
    if not allow_files or not looks_like_path:
        extra = " or a CSV file of input_tokens,output_tokens" if allow_files else ""
        hint = nearest_profile_hint(text)
        raise InputError(f"--length-profile {text!r} is not one of {', '.join(length_profile_names())}{extra}{hint}")
    return read_length_file(text)


def _exists(text: str) -> bool:
    """Whether a file of that name exists; a name past the system's length is none (Path.exists() raised
    ENAMETOOLONG for 300 characters: an OSError traceback from ``--length-profile`` and the desktop's field)."""
    try:
        return Path(text).exists()
    except (OSError, ValueError):
        return False


def read_length_file(path: str | Path) -> LengthProfile:
    """A profile from per-request lengths (CSV) or a usage history (rows weighted by their request rate); read once
    per file version (a plan asks for it several times)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return _read_length_file(path, 0, 0)  # reports why it cannot be read
    return _read_length_file(path.resolve(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _read_length_file(path: Path, mtime_ns: int, size: int) -> LengthProfile:
    del mtime_ns, size  # the cache key: a changed file is read again
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            f"--length-profile {str(path)!r}: no such file (or use a built-in: {', '.join(length_profile_names())})"
        ) from None
    except OSError as error:
        raise InputError(f"--length-profile {str(path)!r} cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"--length-profile {str(path)!r} is not UTF-8 text (CSV or JSON expected)") from None
    json_file = path.suffix.lower() in JSON_SUFFIXES
    rows = _json_rows(text, path) if json_file else _csv_rows(text, path)
    if not rows:
        raise InputError(f"--length-profile {str(path)!r} has no rows (header input_tokens,output_tokens expected)")
    names = {str(k).strip().lower(): k for row in rows for k in row if k is not None}
    mapping = {column: next((names[a] for a in accepted if a in names), None) for column, accepted in COLUMNS.items()}
    for column in ("input_tokens", "output_tokens"):
        if mapping[column] is None:
            found = ", ".join(sorted(str(v) for v in names.values())) or "nothing"
            raise InputError(f"--length-profile {str(path)!r} has no {column} column (accepted: "
                             f"{', '.join(COLUMNS[column])}; found: {found})")  # fmt: skip
    weighted = []
    first = 1 if json_file else 2  # a CSV's first data row is line 2
    key_in, key_out, key_rps = mapping["input_tokens"], mapping["output_tokens"], mapping["rps"]
    assert key_in is not None and key_out is not None  # checked above
    for number, row in enumerate(rows, start=first):
        tin = _tokens(row.get(key_in), "input_tokens", number, path)
        tout = _tokens(row.get(key_out), "output_tokens", number, path)
        weight = 1.0
        if key_rps is not None:
            weight = non_negative_number(row.get(key_rps), f"--length-profile {str(path)!r} row {number}: rps")
        weighted.append((weight, tin, tout))
    try:
        return weighted_profile(path.name, weighted)
    except ValueError as error:  # every row has rate 0
        raise InputError(f"--length-profile {str(path)!r}: {error} (every row has rps 0)") from None


def _tokens(raw: Any, column: str, row: int, path: Path) -> float:
    if raw is None:  # a CSV row shorter than its header, a JSON row without the key ("None is not a number")
        raise InputError(f"--length-profile {str(path)!r} row {row}: {column} is missing")
    if isinstance(raw, bool):  # JSON true is not one token
        raise InputError(f"--length-profile {str(path)!r} row {row}: {column} {raw!r} is not a number")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InputError(f"--length-profile {str(path)!r} row {row}: {column} {raw!r} is not a number") from None
    except OverflowError:  # a JSON whole number past a float (10**400)
        value = math.inf
    if not math.isfinite(value) or value < 1 or value > MAX_TOKENS:
        raise InputError(
            f"--length-profile {str(path)!r} row {row}: {column} {raw!r} must be a token count from 1 to {MAX_TOKENS:,}"
        )
    return value


def _csv_rows(text: str, path: Path) -> list[dict[str, Any]]:
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    try:
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        header = [str(name).strip().lower() for name in reader.fieldnames or ()]
        twice = sorted({name for name in header if name and header.count(name) > 1})
        if twice:  # DictReader keeps the last of two same-named columns: the first was ignored without a word
            raise InputError(f"--length-profile {str(path)!r} names the column {twice[0]} twice in its header")
        return [dict(r) for r in reader]
    except csv.Error as error:
        raise InputError(f"--length-profile {str(path)!r} is not a valid CSV file: {error}") from None


def _json_rows(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            data: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"--length-profile {str(path)!r} is not valid JSON: {error.msg} at line {error.lineno}"
        ) from None
    except RecursionError:  # nested past the decoder's depth: a RecursionError traceback before
        raise InputError(f"--length-profile {str(path)!r} is nested too deeply to be request rows") from None
    if isinstance(data, dict):
        data = data.get("metrics", data.get("rows", data.get("requests")))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f'--length-profile {str(path)!r}: expected a list of objects (or {{"metrics": [...]}})')
    return data
