"""Load a traffic history into statsforecast's long frame ``unique_id, ds, y`` (y = requests per second).

Accepted input: a path (``.csv``, ``.tsv``, ``.json``, ``.jsonl``/``.ndjson``, ``.parquet`` when pyarrow is
installed) or a pandas DataFrame, in one of two shapes:

* **a series**: one row per timestamp (per service). The value column is ``value_col``, else the column named
  ``rps``, ``requests``, ``value`` or ``y``, else the only non-timestamp column of a two-column file. Optional
  ``input_tokens``/``output_tokens`` columns (same aliases as below) are the mean tokens per request in the step.
* **a request log**: one row per request, with no value column (optionally ``input_tokens``/``prompt_tokens`` and
  ``output_tokens``/``completion_tokens``). Requests are counted per ``freq`` bin (default 1h) and divided by the
  bin's seconds, so y is requests per second; empty bins are 0 rps. Token columns become the mean tokens per
  request in the bin (``input_tokens``, ``output_tokens`` columns of the frame; carried forward over empty bins).

Timestamps: ``timestamp_col`` or a column named timestamp/ts/time/ds/date/datetime. ISO 8601 strings (zone
offsets are converted to UTC; naive times are taken as UTC) or epoch numbers (seconds, or milliseconds when above
1e11). Several services in one file are told apart by ``id_col`` or a column named unique_id/service/service_id/id.

Repairs (each adds a line to ``History.warnings``; nothing is repaired silently):

* unsorted rows are sorted;
* duplicate timestamps (also several samples falling into one ``freq`` bin) are averaged — rates, not counts;
* missing steps and NaN/empty values are filled by linear interpolation (more than half missing: InputError);
* a series sampled finer than ``freq`` is averaged up to ``freq``;
* dropouts — a step below ``DROPOUT_FRACTION`` (5%) of the local level (the lower of the medians of the
  ``DROPOUT_WINDOW`` (12) steps before it and the 12 after — so the start of a service's traffic is not one; the
  last steps are judged on the steps before them),
  where that level means at least ``DROPOUT_MIN_COUNT`` (100) requests per step — are treated as outages or
  logging gaps and interpolated: with 100 requests expected, seeing fewer than 5 has Poisson probability < 1e-30,
  so it is not demand, and capacity is not planned for outages. On Alibaba's ServeGen traffic (8 such hours in one
  series) this moved the ensemble's rolling-origin MAE from 0.96x to 0.90x seasonal-naive's.
  Unless silence *recurs* — one separate silent stretch per ``DROPOUT_RECUR_STEPS`` (20) steps or more: then it
  is on/off demand and kept (``dropouts.py`` says why and what it measured).

Rejected with :class:`~gpucast.errors.InputError` (one line: what, which value, what is accepted): unreadable files,
unknown columns, unparseable timestamps or values, negative values (a rate cannot be negative: usually the wrong
column or a delta-encoded counter), fewer than 8 points. Constant and short series are handled by the ensemble.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from ..errors import InputError
from ..wording import shorten
from .dropouts import (  # noqa: F401  (re-exported: the rule's constants and helpers)
    DROPOUT_FRACTION,
    DROPOUT_MIN_COUNT,
    DROPOUT_RECUR_STEPS,
    DROPOUT_WINDOW,
    repair_dropouts,
    silent_stretches,
)
from .steps import EPOCH_MS_ABOVE as EPOCH_MS_ABOVE  # re-exported: the store reads epochs alike
from .steps import freq_label, infer_freq
from .steps import normalize_freq as normalize_freq  # re-exported: callers read steps from the loader
from .steps import parse_timestamps as _parse_timestamps
from .steps import step_seconds as step_seconds
from .values import parse_columns

VALUE_NAMES = ("rps", "requests", "value", "y")
TIMESTAMP_NAMES = ("timestamp", "ts", "time", "ds", "date", "datetime")
ID_NAMES = ("unique_id", "service", "service_id", "id")
TOKEN_NAMES = {
    "input_tokens": ("input_tokens", "prompt_tokens"),
    "output_tokens": ("output_tokens", "completion_tokens"),
}
MIN_POINTS = 8  # below this no model (not even a trend) can be checked on held-out points
MAX_MISSING_FRACTION = 0.5  # interpolating more than half of a series would invent the history
DEFAULT_LOG_FREQ = "1h"


@dataclass(frozen=True)
class History:
    """A loaded history: the long frame, its step (pandas alias), and the repairs made while loading."""

    frame: pd.DataFrame  # columns unique_id, ds (UTC, tz-naive), y [, input_tokens, output_tokens]
    freq: str
    kind: str  # "series" | "requests"
    warnings: list[str] = field(default_factory=list)
    # steps per series interpolated as outages (dropouts.py): the forecast fits demand without them, and its bands
    # allow for them to recur (fast.py, OUTAGE_FLOOR)
    outages: dict[str, list[pd.Timestamp]] = field(default_factory=dict)
    # services left out by ``load_history(skip_unforecastable=True)`` (fleet modes): service -> why
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [str(i) for i in self.frame["unique_id"].unique()]


MAX_FILE_BYTES = 2 * 2**30  # a 2 GiB CSV takes ~5-10 GiB as a DataFrame: beyond it, pre-aggregate


def _read(path: Path) -> pd.DataFrame:
    try:  # is_file() passes on ENAMETOOLONG (a 300-character name was an OSError traceback) and ValueError (NUL)
        found = path.is_file()
        size = path.stat().st_size if found else 0
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else "a path cannot hold a NUL byte"
        raise InputError(f"history file {shorten(str(path))!r} cannot be read: {reason}") from None
    if not found:  # a directory "was not found" although it exists (as --config and metrics import say it)
        what = "is a directory" if path.is_dir() else "not found"
        raise InputError(f"history file {str(path)!r} {what}; pass an existing .csv, .json or .parquet file")
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"history file {path.name!r} is {size / 2**30:.1f} GiB; gpucast reads at most {MAX_FILE_BYTES / 2**30:.0f} GiB "
            "into memory — aggregate a request log to counts per interval first (scripts/aggregate_trace.py) "
            "or split the file by service"
        )
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):  # a tab-separated header without commas is a TSV (as the server sniffs it)
            with path.open("rb") as handle:
                header = handle.readline()
            return pd.read_csv(path, sep="\t" if b"\t" in header and b"," not in header else ",")
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t")
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True, convert_dates=False)
        if suffix == ".json":
            return pd.read_json(path, convert_dates=False)
        if suffix in (".parquet", ".pq"):
            try:
                import pyarrow  # type: ignore[import-untyped]  # noqa: F401
            except ImportError:
                raise InputError("reading .parquet needs pyarrow; pip install pyarrow, or use CSV/JSON") from None
            return pd.read_parquet(path)
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"history file {path.name!r} does not fit in memory; aggregate or split it first") from None
    except UnicodeDecodeError as exc:  # the codec's own words ("can't decode byte 0xe9") named no remedy
        raise InputError(f"history file {path.name!r} is not UTF-8 text (invalid byte at position {exc.start}); save "
                         "it as UTF-8 CSV, TSV or JSON, or as Parquet") from None  # fmt: skip
    except Exception as exc:  # pandas raises many types; the user needs the file and the reason, not a traceback
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        row = '{"timestamp": ..., "rps": ...}'
        shape = {".json": f"; accepted: a list of {row} objects", ".jsonl": f"; accepted: one {row} object a line",
                 ".ndjson": f"; accepted: one {row} object a line"}.get(suffix, "")  # fmt: skip
        raise InputError(f"cannot read history file {path.name!r}: {reason}{shape}") from None
    raise InputError(f"unknown history file type {suffix!r}; accepted: .csv, .tsv, .json, .jsonl, .parquet")


def _find(columns: list[str], explicit: str | None, names: tuple[str, ...], what: str, option: str) -> str | None:
    if explicit is not None:
        if explicit not in columns:
            raise InputError(f"{option} {explicit!r} is not a column; columns are {columns}")
        return explicit
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _regularise(
    frame: pd.DataFrame, freq: str, warnings: list[str], skipped: dict[str, str] | None = None
) -> pd.DataFrame:
    """Bin to ``freq``, average duplicates, fill gaps by interpolation, per series; warn for each repair. A series
    too gappy to interpolate is an InputError, or (``skipped`` given) recorded there and left out."""
    binned = frame.assign(ds=frame["ds"].dt.floor(freq))
    extra = [c for c in binned.columns if c not in ("unique_id", "ds")]
    duplicates = int(binned.duplicated(["unique_id", "ds"]).sum())
    if duplicates:
        finer = int(frame.duplicated(["unique_id", "ds"]).sum()) < duplicates
        how = (
            f"samples finer than {freq_label(freq)} averaged into {freq_label(freq)} steps"
            if finer
            else "duplicate timestamps averaged"
        )
        warnings.append(f"{duplicates} rows merged: {how}")
        binned = binned.groupby(["unique_id", "ds"], as_index=False, sort=True)[extra].mean()
    if _already_regular(binned, freq):  # the common case (an exported metrics table): nothing to bin or fill
        return binned[["unique_id", "ds", *extra]].reset_index(drop=True)
    parts = []
    for uid, part in binned.groupby("unique_id", sort=False):
        full = pd.date_range(part["ds"].min(), part["ds"].max(), freq=freq)
        part = part.set_index("ds").reindex(full)
        missing = int(part["y"].isna().sum())
        if missing:
            if missing > MAX_MISSING_FRACTION * len(part):
                reason = (
                    f"{missing} of {len(part)} {freq_label(freq)} steps are missing or NaN; "
                    f"at most {MAX_MISSING_FRACTION:.0%} can be interpolated — pass a coarser freq"
                )
                if skipped is None:
                    raise InputError(f"series {uid!r}: {reason}")
                skipped[str(uid)] = reason
                continue
            gap = int(part["y"].isna().astype(int).groupby(part["y"].notna().cumsum()).sum().max())
            warnings.append(
                f"series {uid!r}: {missing} missing or NaN {freq_label(freq)} steps filled by linear interpolation (longest gap {gap})"
            )
            part[extra] = part[extra].interpolate(method="linear", limit_direction="both")
        part = part.rename_axis("ds").reset_index()
        part["unique_id"] = uid
        parts.append(part[["unique_id", "ds", *extra]])
    if not parts:
        raise _nothing_left(skipped or {})
    return pd.concat(parts, ignore_index=True)


def _nothing_left(skipped: dict[str, str]) -> InputError:
    """The one error of a fleet load where no service can be forecast (the first service's reason shown)."""
    uid, reason = next(iter(skipped.items()))
    return InputError(f"no service can be forecast: all {len(skipped)} are too short or too gappy ({uid!r}: {reason})")


def _already_regular(frame: pd.DataFrame, freq: str) -> bool:
    """Every series' rows contiguous, one ``freq`` step apart and without a missing value: ``_regularise``'s loop
    would change nothing (and costs ~3 ms a series, 3 s of a 1,000-service fleet's serial loading)."""
    if frame.empty or frame["y"].isna().any():
        return False
    ids = frame["unique_id"].to_numpy()
    stamps = frame["ds"].to_numpy()
    if stamps.dtype.kind != "M":
        return False
    same = ids[1:] == ids[:-1]
    if int(np.count_nonzero(~same)) != frame["unique_id"].nunique() - 1:  # a series' rows are not contiguous
        return False
    step = np.timedelta64(int(step_seconds(freq) * 1e9), "ns")
    return bool(np.all((stamps[1:] - stamps[:-1])[same] == step))


def _aggregate_log(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Request log → requests per second per ``freq`` bin; token columns → mean per request in the bin."""
    seconds = step_seconds(freq)
    binned = frame.assign(ds=frame["ds"].dt.floor(freq))
    token_cols = [c for c in ("input_tokens", "output_tokens") if c in frame.columns]
    parts = []
    for uid, part in binned.groupby("unique_id", sort=False):
        grouped = part.groupby("ds")
        out = pd.DataFrame({"y": grouped.size() / seconds})
        for col in token_cols:
            out[col] = grouped[col].mean()
        full = pd.date_range(out.index.min(), out.index.max(), freq=freq)
        out = out.reindex(full)
        out["y"] = out["y"].fillna(0.0)  # no request in a bin is a real zero, not a gap
        if token_cols:
            out[token_cols] = out[token_cols].ffill().bfill()
        out = out.rename_axis("ds").reset_index()
        out.insert(0, "unique_id", uid)
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


def load_history(
    source: str | Path | pd.DataFrame,
    *,
    value_col: str | None = None,
    timestamp_col: str | None = None,
    id_col: str | None = None,
    freq: str | None = None,
    kind: str = "auto",
    unique_id: str | None = None,
    skip_unforecastable: bool = False,
) -> History:
    """Read ``source`` into a :class:`History` (see the module docstring for formats and repairs).

    ``unique_id``: keep only that service's rows, before any check or repair — so a service too short, or too
    gappy, to forecast does not stop the forecast of another one from the same file (an InputError when the
    file has no such service).

    ``skip_unforecastable`` (the fleet modes): a service too short or too gappy to forecast, or holding a value
    the loader rejects (negative, infinite, too large, not a number: ``values.parse_columns``), is left out and
    recorded in ``History.skipped`` (service -> reason) instead of failing the whole fleet; when every service is
    left out it is still one InputError. Without it (a single service) such a series is an InputError.

    ``kind`` is "series", "requests" (a raw request log) or "auto": a log when no value column is found and the
    only other columns are ids or token counts. ``freq`` (5min, 1h, 1d…) is the step to aggregate to; for a series
    it defaults to the data's own step, for a log to 1h.
    """
    if kind not in ("auto", "series", "requests"):
        raise InputError(f"kind {kind!r} is not accepted; use auto, series or requests")
    if not isinstance(source, str | Path | pd.DataFrame):  # None, 5, bytes: a TypeError from Path()
        raise InputError(f"history {type(source).__name__} is not accepted; pass a file path or a pandas DataFrame")
    raw = source.copy() if isinstance(source, pd.DataFrame) else _read(Path(source))
    raw.columns = [str(c).strip() for c in raw.columns]
    columns = list(raw.columns)
    if raw.empty:
        raise InputError("the history is empty; it needs at least 8 timestamps with values")
    warnings: list[str] = []
    ts = _find(columns, timestamp_col, TIMESTAMP_NAMES, "timestamp", "timestamp_col")
    uid = _find(columns, id_col, ID_NAMES, "id", "id_col")
    tokens = {name: _find(columns, None, alias, name, "") for name, alias in TOKEN_NAMES.items()}
    value = _find(columns, value_col, VALUE_NAMES, "value", "value_col")
    others = [c for c in columns if c not in (ts, uid, *tokens.values())]
    if ts is None and len(columns) == 2 and value is not None:
        ts = next(c for c in columns if c != value)
    if ts is None and len(columns) == 2 and value is None:
        ts = columns[0]
    if ts is None and len(columns) == 1 and ";" in columns[0]:  # "name it 'timestamp'" misled: it is named so
        raise InputError(f"the header {columns[0]!r} is one column: separate the columns with commas (CSV) or tabs "
                         "(TSV), not semicolons")  # fmt: skip
    if ts is None:
        raise InputError(f"no timestamp column among {columns}; name it 'timestamp' or pass timestamp_col")
    others = [c for c in others if c != ts]
    if value is None and kind != "requests" and len(others) == 1 and len(columns) == 2:
        value = others[0]  # a two-column file: timestamp + value, whatever the value is called
    is_log = kind == "requests" or (kind == "auto" and value is None and not others)
    if value is None and not is_log:
        raise InputError(
            f"no value column among {columns}; name it one of {list(VALUE_NAMES)} or pass value_col "
            "(or kind='requests' for a one-row-per-request log)"
        )
    named = [c for c in (ts, value, uid) if c is not None]
    twice = next((c for c in named if named.count(c) > 1), None)
    if twice is not None:  # --timestamp-col rps: the rates were read as epoch seconds and forecast as themselves
        raise InputError(f"column {twice!r} cannot be two of the timestamp, value and id columns; name each "
                         "with timestamp_col, value_col and id_col")  # fmt: skip
    blank = raw[uid].isna() | (raw[uid].astype(str).str.strip() == "") if uid else None
    if blank is not None and blank.any():  # read as the text "nan": one service made of every row without an id
        raise InputError(f"{int(blank.sum())} rows have no service id in column {uid!r} (the first: data row "
                         f"{int(blank.to_numpy().argmax()) + 1}); give every row its service")  # fmt: skip
    frame = pd.DataFrame({"unique_id": raw[uid].astype(str) if uid else "series", "ds": _parse_timestamps(raw[ts], ts)})
    if unique_id is not None:
        keep = (frame["unique_id"] == str(unique_id)).to_numpy()
        if not keep.any():
            ids = list(dict.fromkeys(frame["unique_id"]))
            raise InputError(f"unique_id {unique_id!r} is not in the history; services: {', '.join(ids[:10])}")
        frame, raw = frame[keep].reset_index(drop=True), raw[keep].reset_index(drop=True)
    if not frame.groupby("unique_id", sort=False)["ds"].is_monotonic_increasing.all():
        warnings.append("timestamps were not in order; rows sorted by time")
    skipped: dict[str, str] | None = {} if skip_unforecastable else None
    # the fleet modes (``skipped``): a service holding a value no forecast can use is left out
    numeric = [c for c in (*tokens.values(), None if is_log else value) if c is not None]  # a log has no rate column
    frame, raw, parsed = parse_columns(frame, raw, numeric, skipped)
    for name, col in tokens.items():  # a log's per-request counts, or a series' mean tokens per request per step
        if col is not None:
            frame[name] = parsed[col]
    if is_log:
        step = normalize_freq(freq or DEFAULT_LOG_FREQ)
        frame = frame.sort_values(["unique_id", "ds"], kind="stable")
        result = _aggregate_log(frame, step)
    else:
        assert value is not None  # narrowed above: a series always has a value column
        frame["y"] = parsed[value]
        frame = frame.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
        step = normalize_freq(freq) if freq else infer_freq(frame, warnings)
        result = _regularise(frame, step, warnings, skipped)
    outages: dict[str, list[pd.Timestamp]] = {}
    result = repair_dropouts(result, step, step_seconds(step), warnings, MAX_MISSING_FRACTION, outages)
    short = result.groupby("unique_id", sort=False).size()
    if skipped is not None and (short < MIN_POINTS).any():
        for uid_short, n in short[short < MIN_POINTS].items():
            skipped[str(uid_short)] = f"{int(n)} points at {freq_label(step)}; at least {MIN_POINTS} are needed"
        if (short >= MIN_POINTS).sum() == 0:
            raise _nothing_left(skipped)
        result = result[~result["unique_id"].isin(short[short < MIN_POINTS].index)]
        short = short[short >= MIN_POINTS]
    if (short < MIN_POINTS).any():
        uid_short = short.idxmin()
        raise InputError(
            f"series {uid_short!r} has {int(short.min())} points at {freq_label(step)}; at least {MIN_POINTS} are needed "
            "(use a finer freq or a longer history)"
        )
    return History(
        frame=result.reset_index(drop=True),
        freq=step,
        kind="requests" if is_log else "series",
        warnings=warnings,
        outages={k: v for k, v in outages.items() if k not in (skipped or {})},
        skipped=dict(skipped or {}),
    )


def history_from_values(values: list[float], *, freq: str = "1h", end: Any = None) -> History:
    """A history from bare values (the seed's ``rps_history`` list): equally spaced steps ending at ``end``.

    ``end`` (the last value's timestamp) defaults to the start of the current UTC hour, which is the only place the
    forecast reads the clock; pass it for reproducible results.
    """
    step = normalize_freq(freq)
    stop = pd.Timestamp(end) if end is not None else pd.Timestamp.now(tz="UTC")
    if stop.tzinfo is not None:
        stop = stop.tz_convert("UTC").tz_localize(None)
    stop = stop.floor(step)
    ds = pd.date_range(end=stop, periods=len(values), freq=step)
    return load_history(pd.DataFrame({"ds": ds, "y": list(values)}), freq=step)
