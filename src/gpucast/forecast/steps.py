"""Time steps of a traffic history: reading a ``freq`` ("1h", "5m", "1w") and inferring one from timestamps.

Split from ``history.py`` (the loader), which re-exports ``normalize_freq`` and ``step_seconds``.
"""

from __future__ import annotations

import re
import warnings

import pandas as pd  # type: ignore[import-untyped]

from ..errors import InputError

# steps metrics are exported at (1 s to 1 week); an inferred step within 2% of one is that one (``infer_freq``)
COMMON_STEPS_S = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)
STEP_SNAP = 0.02


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
        raise InputError("cannot infer the time step: all timestamps are equal; pass freq (e.g. 1h)")
    seconds = int(diffs.median().total_seconds())
    nearest = min(COMMON_STEPS_S, key=lambda common: abs(seconds - common) / common)
    if seconds != nearest and abs(seconds - nearest) <= STEP_SNAP * nearest:
        warnings.append(
            f"timestamps are not evenly spaced (median step {seconds}s): read as {normalize_freq(f'{nearest}s')} "
            "steps; pass freq to choose another"
        )
        seconds = nearest
    return normalize_freq(f"{max(seconds, 1)}s")
