"""Reading one non-negative number from a file's cell, with the one-line error every file reader gives.

The usage-history reader (store) and the length-profile reader (inputs) both take request rates from CSV/JSON
cells; one parser keeps their messages the same."""

from __future__ import annotations

import math
from typing import Any

from ..errors import InputError


def non_negative_number(raw: Any, where: str) -> float:
    """`raw` as a finite float >= 0; `where` names the cell in the error ("row 3: rps")."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InputError(f"{where} {raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{where} {raw!r} must be a finite number >= 0")
    return value
