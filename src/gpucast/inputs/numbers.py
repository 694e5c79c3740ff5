"""The value checks every input shares, each with the one-line error that names the field, the value and what
is accepted: positive numbers and whole counts (the input dataclasses, the store, the estimate adapter),
fractions, and one non-negative number from a file's cell (the usage-history reader in the store and the
length-profile reader both take request rates from CSV/JSON cells; one parser keeps their messages the same)."""

from __future__ import annotations

import math
from typing import Any

from ..errors import InputError


def read_count(text: str) -> int | float:
    """A count as typed ("500", "500.0", "1e3" are whole numbers; "100.5", "nan" stay floats, for the count's
    check to refuse naming its field); ValueError for text that is no number. ``--input-tokens`` and the other
    token flags read their text so (``console.flags.token_count``), and the web pages' token fields with them."""
    try:
        return int(text)
    except ValueError:
        pass
    value = float(text)
    return int(value) if value.is_integer() else value


def non_negative_number(raw: Any, where: str) -> float:
    """`raw` as a finite float >= 0; `where` names the cell in the error ("row 3: rps")."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InputError(f"{where} {raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{where} {raw!r} must be a finite number >= 0")
    return value


def check_positive(name: str, value: float, *, integer: bool = False, upper: float | None = None) -> None:
    """Raise InputError unless ``value`` is a finite number > 0 (and <= upper)."""
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        kind = "a whole number" if integer else "a number"
        raise InputError(f"{name} {value!r} must be {kind} greater than 0")
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} {value!r} must be greater than 0")
    if upper is not None and value > upper:
        raise InputError(f"{name} {_shown(value)} must be at most {upper:g}")


def _shown(value: float) -> str:
    """A value for a message: a whole number of more than 20 digits in e-notation (``1e308`` read as a count was
    quoted as 309 digits)."""
    digits = str(value) if isinstance(value, int) else ""
    return f"{digits[0]}.{digits[1:3]}e+{len(digits) - 1}" if len(digits) > 20 else repr(value)


def whole(value: Any) -> Any:
    """A float that is a whole number as that int (500.0 from JSON is 500 tokens); anything else unchanged, for
    ``check_positive(..., integer=True)`` to refuse with the field's name (100.5, 1e-300 and NaN are not counts)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def check_fraction(name: str, value: float, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name} {value!r} must be a number between 0 and 1")
    low_ok = value >= 0 if allow_zero else value > 0  # compared once it is known to be a number
    if not (low_ok and value <= 1):
        raise InputError(f"{name} {value!r} must be between 0 and 1")


def fold_case(value: Any) -> Any:
    """A name as the planner spells it (lower case, no surrounding blanks); anything else unchanged, for the
    check that follows to name it. Catalog ids (clouds, engines, methods) are lower case; a user types "AWS",
    "vLLM" or "LoRA" as the vendors and papers write them."""
    return value.strip().lower() if isinstance(value, str) else value
