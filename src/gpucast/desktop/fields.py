"""The desktop forms' fields as data, and form text -> config sections -> validated inputs (no widgets here).

Each field names the CLI flag it stands for and the config ``(section, key)`` ``inputs.flag_map.FLAG_TO_CONFIG`` maps
that flag to, so a form becomes exactly the sections ``gpucast inference|training`` build from their flags. Text
is converted the way the CLI's argparse converts it (the same ``float``/``int``/:func:`~gpucast.console.flags.token_count`
types and argparse's own "invalid float value" messages), and validated by the input dataclasses' own checks
(:func:`gpucast.planning.request.resolve`, the ``validate`` methods), so a field shows the CLI's message word for word.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..console.flags import token_count
from ..errors import GpucastError, InputError
from ..wording import shorten_quoted

CHEAPEST = "cheapest"  # the GPU (or cloud) picker's "let the planner choose" entry
DEFAULT = "default"  # a choice left to the planner's default (precision: the checkpoint's; ZeRO: searched)
MAX_ERRORS = 8  # fields checked one after another: a bad field is set aside and the rest re-checked


@dataclass(frozen=True)
class Field:
    """One form field: its name, label, the CLI flag(s) it stands for, where it goes in the config sections,
    how its text is converted (``float``, ``int``, ``tokens``, ``text``, ``choice``, ``bool``) and its default."""

    name: str
    label: str
    flags: tuple[str, ...]
    section: str
    key: str
    kind: str = "text"
    default: str = ""
    choices: tuple[str, ...] = ()
    hint: str = ""

    @property
    def flag(self) -> str:
        return self.flags[0]


def _converter(kind: str) -> Callable[[str], Any]:
    """The argparse ``type`` of the CLI flag a field stands for."""
    if kind == "float":
        return float
    if kind == "int":
        return int
    return token_count if kind == "tokens" else str


def convert(field: Field, text: str) -> Any:
    """The value of ``text`` as the CLI's argparse converts the flag's argument (raises GpucastError with argparse's
    own message, e.g. ``argument --rps: invalid float value: 'abc'``). Empty text is None (flag not given)."""
    text = text.strip()
    if not text or (field.choices and text in (CHEAPEST, DEFAULT)):
        return None
    if field.kind == "bool":
        return text == "1" or text.lower() == "true"
    parser = argparse.ArgumentParser(prog="gpucast", exit_on_error=False, add_help=False)
    parser.add_argument(field.flag, dest="value", type=_converter(field.kind))
    try:
        return parser.parse_args([f"{field.flag}={text}"]).value
    except argparse.ArgumentError as error:
        raise GpucastError(str(error)) from None


def sections_from_values(fields: tuple[Field, ...], values: dict[str, str]) -> dict[str, Any]:
    """Config sections from the form's text (as ``sections_from_args`` builds them from flags); a field whose
    text cannot be converted raises :class:`FieldError` naming the field."""
    sections: dict[str, Any] = {}
    for field in fields:
        try:
            value = convert(field, values.get(field.name, ""))
        except GpucastError as error:
            raise FieldError(field.name, str(error)) from None
        if value is None or value is False:  # not given (an unticked box is a flag left out)
            continue
        sections.setdefault(field.section, {})[field.key] = value
    return sections


class FieldError(InputError):
    """A message that belongs next to one field of a form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_of(fields: tuple[Field, ...], message: str) -> str | None:
    """The field a validation message is about: the first whose flag the message names (``(--rps)``, ``--cloud``)."""
    for field in fields:
        for flag in field.flags:
            if re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", message):
                return field.name
    return None


def check_form(
    fields: tuple[Field, ...], values: dict[str, str], check: Callable[[dict[str, Any]], None]
) -> tuple[dict[str, str], str]:
    """(messages by field name, a message about no one field): ``check`` (the planner's validation) is run on the
    form's sections; each message it raises is placed beside the field whose flag it names, that field is set
    aside (its default used) and the rest checked again, so every bad field shows its own message at once."""
    errors: dict[str, str] = {}
    defaults = {field.name: field.default for field in fields}
    for _ in range(MAX_ERRORS):
        current = values | {name: defaults.get(name, "") for name in errors}
        try:
            check(sections_from_values(fields, current))
            return errors, ""
        except GpucastError as error:
            name = error.field if isinstance(error, FieldError) else field_of(fields, str(error))
            if name is None:
                return errors, shorten_quoted(str(error))
            if name in errors:  # its default is refused too: the other fields cannot be checked alone
                return errors, ""
            errors[name] = shorten_quoted(str(error))  # as the CLI prints it (a 100,000-character value is cut)
    return errors, ""


def values_from_sections(fields: tuple[Field, ...], sections: dict[str, Any]) -> dict[str, str]:
    """The form's text for stored sections (reopening a plan from the history fills the form it came from)."""
    values = {}
    for field in fields:
        value = sections.get(field.section, {}).get(field.key)
        if value is None:
            continue
        if isinstance(value, bool):
            values[field.name] = "1" if value else "0"
        elif isinstance(value, float) and value.is_integer() and field.kind in ("int", "tokens"):
            values[field.name] = str(int(value))
        else:
            values[field.name] = f"{value:g}" if isinstance(value, float) else str(value)
    return values


def off_form(fields: tuple[Field, ...], sections: dict[str, Any]) -> list[str]:
    """``--flag value`` for each stored input that no field of the form holds (a plan saved by ``gpucast inference
    --max-num-seqs 300`` or ``--dp-attention 8``): reopening fills the form without them, so planning again from
    it would silently give another plan; the status line names them instead."""
    from ..inputs.flag_map import FLAG_TO_CONFIG

    shown = {(field.section, field.key) for field in fields}
    flags = {place: "--" + dest.replace("_", "-") for dest, place in FLAG_TO_CONFIG.items()}
    return [f"{flags[(section, key)]} {value:g}" if isinstance(value, float) else f"{flags[(section, key)]} {value}"
            for section, values in sections.items() if isinstance(values, dict)
            for key, value in values.items()
            if (section, key) not in shown and (section, key) in flags and value is not None
            and not isinstance(value, bool)]  # fmt: skip
