"""The value checks of the traffic loader: what a request-rate (or token) column may hold, and, for a fleet,
leaving out the one service whose values fail instead of the whole file.

Kept apart from ``history`` (reading, timestamps, regular steps) so that each module has one job.
"""

from __future__ import annotations

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from ..errors import InputError

# Numeric headroom, not a traffic bound (no service sees 1e150 req/s): the additive members' squared errors and the
# season test's variances square the values, and float64 ends at 1.8e308 — past ~1e154 they overflow (the SES
# weight is then chosen among infinities, a forecast times 1e160 is not the forecast times 1e160; near 1.8e308
# the forecast is inf and NaN)
MAX_VALUE = 1e150


TOKEN_COLUMNS = ("input_tokens", "prompt_tokens", "output_tokens", "completion_tokens")


def parse_values(raw: pd.Series, column: str) -> pd.Series:
    """A value column as float64 request rates (or tokens per request), or the InputError naming the first bad
    value (not a number — JSON ``true`` included, which ``metrics import`` refuses too —, negative, infinite, or
    above MAX_VALUE)."""
    unit = "token counts" if column.lower() in TOKEN_COLUMNS else "request rates"
    flags = raw.map(lambda v: isinstance(v, (bool, np.bool_))) if raw.dtype in (bool, object) else None
    if flags is not None and flags.any():  # pandas reads JSON true as 1: a flag is not a rate
        raise InputError(
            f"value {bool(raw[flags].iloc[0])} in column {column!r} is not a number; {unit} must be numeric"
        )
    values = pd.to_numeric(raw, errors="coerce")
    # only a value that became NaN can be bad (the string check is 0.4 s on a million rows: skipped when none did)
    bad = values.isna() & raw.notna() & (raw.astype("string").str.strip() != "") if values.isna().any() else None
    if bad is not None and bad.any():
        first = raw[bad].iloc[0]
        if _overflows(first):  # "1e309": a number, past float64 (pandas coerces it to NaN), was "not a number"
            raise InputError(f"value {first!r} in column {column!r} is past the largest number a float holds "
                             f"(1.8e308); {unit} are at most {MAX_VALUE:g}")  # fmt: skip
        raise InputError(f"value {first!r} in column {column!r} is not a number; {unit} must be numeric")
    if (values < 0).any():
        first = values[values < 0].iloc[0]
        raise InputError(
            f"negative value {first:g} in column {column!r}; {unit} must be >= 0 (wrong column or a delta counter?)"
        )
    if np.isinf(values).any():
        raise InputError(f"infinite value in column {column!r}; {unit} must be finite")
    if (values > MAX_VALUE).any():
        raise InputError(
            f"value {values[values > MAX_VALUE].iloc[0]:g} in column {column!r} is too large to forecast (at most "
            f"{MAX_VALUE:g}); check the column and its unit"
        )
    return values.astype("float64")


def _overflows(value: object) -> bool:
    """Whether ``value`` is text of a finite-looking number that float64 reads as infinite ("1e309", "-1e400")."""
    text = str(value).strip().lower()
    try:
        return np.isinf(float(text)) and "inf" not in text
    except ValueError:
        return False


def parse_columns(
    frame: pd.DataFrame, raw: pd.DataFrame, columns: list[str], skipped: dict[str, str] | None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.Series]]:
    """Each of ``columns`` parsed once (``parse_values``), with ``frame`` and ``raw`` as the parse kept them.

    ``skipped`` None (one service): the first value ``parse_values`` rejects is the error. ``skipped`` given (the
    fleet modes): the services whose columns hold such a value (negative, infinite, too large, not a number) are
    left out, each recorded in ``skipped`` with that error as its reason — one service's counter reset must not
    stop its fleet. Checked per service only when a whole column fails (a clean file is parsed once); every
    service bad (a wrong column) is the column's own error."""
    try:
        return frame, raw, {col: parse_values(raw[col], col) for col in columns}
    except InputError as whole:
        if skipped is None:
            raise
        bad = np.zeros(len(frame), dtype=bool)
        for uid, rows in frame.groupby("unique_id", sort=False).indices.items():
            for col in columns:
                try:
                    parse_values(raw[col].iloc[rows], col)
                except InputError as error:
                    skipped[str(uid)], bad[rows] = str(error), True
                    break
        if bad.all():
            raise whole from None
    keep = ~bad
    frame, raw = frame[keep].reset_index(drop=True), raw[keep].reset_index(drop=True)
    return frame, raw, {col: parse_values(raw[col], col) for col in columns}
