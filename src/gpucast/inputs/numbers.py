"""The value checks every input shares, each with the one-line error that names the field, the value and what
is accepted: positive numbers and whole counts (the input dataclasses, the store, the estimate adapter),
fractions, and one non-negative number from a file's cell (the usage-history reader in the store and the
length-profile reader both take request rates from CSV/JSON cells; one parser keeps their messages the same)."""

from __future__ import annotations

import math
import numbers
from dataclasses import fields
from typing import Any, TypeVar

from ..errors import InputError

T = TypeVar("T")


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
    except OverflowError:  # a JSON whole number past a float (10**400): an OverflowError traceback before
        value = math.inf
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{where} {_shown(raw) if isinstance(raw, int) else repr(raw)} must be a finite number >= 0")
    return value


def finite(value: int | float) -> bool:
    """math.isfinite that also takes a whole number past a float's range (a JSON 10**400 raised OverflowError in
    math.isfinite: a traceback of `--config`; sweep 2026-12-08): such a number is finite, and out of every range."""
    return isinstance(value, int) or math.isfinite(value)


def check_positive(name: str, value: Any, *, integer: bool = False, upper: float | None = None) -> None:
    """Raise InputError unless ``value`` is a finite number > 0 (and <= upper)."""
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        kind = "a whole number" if integer else "a number"
        raise InputError(f"{name} {value!r} must be {kind} greater than 0")
    if not finite(value) or value <= 0:
        raise InputError(f"{name} {_shown(value)} must be greater than 0")
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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not finite(value):
        raise InputError(f"{name} {value!r} must be a number between 0 and 1")
    low_ok = value >= 0 if allow_zero else value > 0  # compared once it is known to be a number
    if not (low_ok and value <= 1):
        raise InputError(f"{name} {value!r} must be between 0 and 1")


def fold_case(value: Any) -> Any:
    """A name as the planner spells it (lower case, no surrounding blanks); anything else unchanged, for the
    check that follows to name it. Catalog ids (clouds, engines, methods) are lower case; a user types "AWS",
    "vLLM" or "LoRA" as the vendors and papers write them."""
    return value.strip().lower() if isinstance(value, str) else value


def plain_numbers(obj: Any) -> None:
    """Turn a dataclass's NumPy/pandas scalar fields into Python numbers, in place (``np.int64(500)`` tokens ->
    ``500``, ``np.float32(0.7)`` -> ``0.7``). A Python API caller's values often come out of a DataFrame; the
    checks test ``isinstance(value, int)``, which a NumPy integer fails, and refused ``np.int64(500)`` tokens as
    "must be a whole number greater than 0". A Series or an array of several values is one InputError."""
    for item in fields(obj):
        value = plain(getattr(obj, item.name))
        if hasattr(value, "__array__"):  # a Series or an array: `x not in CHOICES` compared it element by element
            size = getattr(value, "size", "several")
            raise InputError(f"{item.name} must be one number or name, not a {type(value).__name__} of length {size}")
        setattr(obj, item.name, value)


def plain(value: Any) -> Any:
    """One value as ``plain_numbers`` turns it: a NumPy scalar or 0-d array as the Python value it holds (``.item()``:
    ``np.bool_`` as a bool), another non-Python real number as int or float, anything else unchanged."""
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        value = value.item()
    if isinstance(value, (bool, int, float)) or not isinstance(value, numbers.Real):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def check_instance(name: str, value: object, kind: type[T], example: str) -> T:
    """An entry point's argument must be the input dataclass it takes (``plan_inference(workload, ...)`` given a
    dict, a string or None raised AttributeError: 'dict' object has no attribute 'validate')."""
    if not isinstance(value, kind):
        shown = repr(value) if len(repr(value)) <= 60 else f"a {type(value).__name__}"
        article = "an" if kind.__name__[0] in "AEIOU" else "a"
        raise InputError(f"{name} {' '.join(shown.split())} must be {article} {kind.__name__}, e.g. {example}")
    return value


def check_flag(name: str, value: Any) -> None:
    """A true/false option: only a bool (a config's "no", or 0/1 from a form, is no answer to a yes/no question)."""
    if not isinstance(value, bool):
        raise InputError(f"{name} {value!r} must be true or false")


def name_list(flag: str, value: object) -> tuple[str, ...] | None:
    """A list of names as the Python API takes it (``compare_gpu_options(precisions=..., gpu_types=...)``): a list or
    tuple of strings, or one comma-separated string, as ``--clouds`` reads it; None = not given. A number was
    "'int' object is not iterable", ``[1]`` an AttributeError, and "FP8" was read letter by letter. An empty list
    names nothing and is refused, as ``--gpus ''`` and ``ServingOptions(clouds=[])`` are: ``clouds=[]`` searched
    every provider, as if no filter had been given."""
    if value is None:
        return None
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{flag} {value!r} must be a list of names or a comma-separated string")
    chosen = tuple(n.strip() for n in names if n.strip())
    if not chosen:
        raise InputError(f"{flag} {value!r} names nothing: give some names, or leave it out (None) for the default")
    return chosen
