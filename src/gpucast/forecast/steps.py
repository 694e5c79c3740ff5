"""Time steps of a traffic history: reading a ``freq`` ("1h", "5m", "1w"), inferring one from timestamps, and
reading the timestamps themselves (ISO 8601 or epoch seconds/ms, within the span pandas holds).

Split from ``history.py`` (the loader), which re-exports ``normalize_freq`` and ``step_seconds``.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import datetime
from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from ..errors import InputError

# steps metrics are exported at (1 s to 1 week); an inferred step within 2% of one is that one (``infer_freq``)
COMMON_STEPS_S = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)
STEP_SNAP = 0.02
EPOCH_MS_ABOVE = 1e11  # 1e11 s is the year 5138; 1e11 ms is 1973, so larger epoch numbers are milliseconds
# whole days inside pandas' nanosecond timestamps (1677-09-21 00:12 .. 2262-04-11 23:47); the store's
# ``metrics import`` refuses the same span (store/metrics.py)
SPAN = ("1677-09-22", "2262-04-10")


def normalize_freq(freq: str) -> str:
    """Turn '1h', '5min', '1d', 'H' into the pandas alias statsforecast expects ('h', '5min', 'D')."""
    text = str(freq).strip()
    if re.fullmatch(r"\d*m", text):  # '5m' means minutes here (pandas would read months)
        text = text[:-1] + "min"
    if re.fullmatch(r"\d*[wW]", text):  # a week is 7 days here (pandas' 'W' is anchored on Sundays, not a step)
        text = f"{7 * int(text[:-1] or 1)}D"
    try:
        with warnings.catch_warnings():  # pandas' "'M' is deprecated" (months, years: no fixed step) on stderr
            warnings.simplefilter("ignore", FutureWarning)
            offset = pd.tseries.frequencies.to_offset(text)
        seconds = pd.Timedelta(offset).total_seconds()
    except (ValueError, TypeError):
        raise InputError(f"unknown freq {freq!r}; use e.g. 5min, 15min, 1h, 1d") from None
    if seconds <= 0 or seconds != int(seconds):
        raise InputError(f"freq must be a positive whole number of seconds, got {freq!r}; use e.g. 5min, 1h, 1d")
    return _alias(int(seconds))


def _alias(seconds: int) -> str:
    """The canonical alias of a step: 86400 → 'D', 3600 → 'h', 300 → '5min', 90 → '90s'."""
    for size, unit in ((86_400, "D"), (3600, "h"), (60, "min")):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count}{unit}"
    return f"{seconds}s"


def step_seconds(freq: str) -> float:
    """Seconds in one step of ``freq``."""
    return float(pd.Timedelta(pd.tseries.frequencies.to_offset(freq)).total_seconds())


def infer_freq(frame: pd.DataFrame, warnings: list[str]) -> str:
    """The most common step between consecutive timestamps of a series (median of differences), read as the
    nearest common step (``COMMON_STEPS_S``) when within ``STEP_SNAP`` of it: timestamps written when a scrape or
    a cron job ran drift by seconds, and an hourly export jittered by up to 50 minutes gave a median step of 3604 s
    — a step no horizon ("14d") is a whole number of, and bins that match no hour."""
    diffs = frame.groupby("unique_id")["ds"].diff().dropna()
    diffs = diffs[diffs > pd.Timedelta(0)]
    if diffs.empty:
        raise InputError(  # a one-row file: "pass freq" led to "1 points at 1h" next
            f"the history has one distinct timestamp ({len(frame)} rows); a forecast needs at least 8 steps"
        )
    seconds = int(diffs.median().total_seconds())
    nearest = min(COMMON_STEPS_S, key=lambda common: abs(seconds - common) / common)
    if seconds != nearest and abs(seconds - nearest) <= STEP_SNAP * nearest:
        warnings.append(
            f"timestamps are not evenly spaced (median step {seconds}s): read as {normalize_freq(f'{nearest}s')} "
            "steps; pass freq to choose another"
        )
        seconds = nearest
    return normalize_freq(f"{max(seconds, 1)}s")


def parse_timestamps(raw: pd.Series, column: str) -> pd.Series:
    """Epoch seconds/ms or ISO 8601 → tz-naive UTC timestamps; the first bad value is named."""
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
        if values.isna().any():
            raise InputError(f"timestamp column {column!r} has an empty value at row {int(values.isna().argmax())}")
        unit = "ms" if float(values.abs().max()) > EPOCH_MS_ABOVE else "s"
        try:
            return pd.to_datetime(values, unit=unit, utc=True).dt.tz_localize(None)
        except (OverflowError, ValueError):  # pandas' OutOfBoundsDatetime is a ValueError
            raise _out_of_span(float(values[values.abs().idxmax()]), column, f"epoch {unit}") from None
    parsed = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601") if raw.dtype == object else None
    if parsed is not None and not parsed.isna().any():  # clean ISO 8601 text: no stripping needed (0.3 s a million)
        return parsed.dt.tz_localize(None)
    text = raw.astype("string").str.strip()
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    if parsed.isna().any():
        bad = text[parsed.isna()].iloc[0]
        if _is_date(bad):  # a real date pandas cannot hold (year 1, 9999): say so, not "use ISO 8601"
            raise _out_of_span(bad, column, "ISO 8601")
        raise InputError(
            f"cannot parse timestamp {bad!r} in column {column!r}; use ISO 8601 (2024-03-01T13:00:00Z) or epoch seconds/ms"
        )
    return parsed.dt.tz_localize(None)


def _is_date(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _out_of_span(value: Any, column: str, what: str) -> InputError:
    """Timestamps must fit pandas' nanosecond span (the store's ``metrics import`` says the same)."""
    return InputError(f"timestamp {value!r} ({what}) in column {column!r} is outside {SPAN[0]} .. {SPAN[1]}, the "
                      "span the forecaster reads")  # fmt: skip


def freq_label(freq: str) -> str:
    """A pandas alias as a user writes the step, for messages: 'h' -> '1h', 'D' -> '1d', '7D' -> '7d' ("2 points at
    h" and "one h step" read as typos)."""
    text = freq if freq[:1].isdigit() else f"1{freq}"
    return text[:-1] + "d" if text.endswith("D") else text


MAX_FIT_POINTS = 8 * 7 * 24  # 8 weeks at hourly resolution: caps fit cost whatever the history length
FIT_SPAN_S = 8 * 7 * 86_400  # the fit window's span for steps finer than an hour ...
MAX_FINE_FIT_POINTS = 8 * 7 * 288  # ... up to 8 weeks of 5-minute steps (16,128 points; 11.2 days of minutes)


def fit_points(step_s: float) -> int:
    """Points of the fit window at a step of ``step_s`` seconds: ``MAX_FIT_POINTS`` for hourly and coarser steps,
    8 weeks for finer ones up to ``MAX_FINE_FIT_POINTS``. Why not 1,344 points whatever the step: at one minute
    that was 22 hours, shorter than the two cycles a daily season needs, so a 14-day per-minute history was fitted
    without its daily cycle (80% band held 24-26% of its backtest; its far steps grew as a walk to 22,854 req/s on a
    10-30 req/s series, and `predict --model` planned 1,731 GPUs; the forecast and history sweep, 2026-12-07). With
    8 weeks of 5-minute steps or 11.2 days of minutes both cycles fit, at 0.3-0.4 s a series (8 weeks of minutes,
    80,640 points, took 3-4 s and 700 MB)."""
    return max(MAX_FIT_POINTS, min(MAX_FINE_FIT_POINTS, math.ceil(FIT_SPAN_S / max(step_s, 1.0))))
