"""Flags shared by the CLI's commands and the conversation's replayed ``gpucast predict`` / ``--save``."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import InputError
from ..inputs.numbers import read_count


def token_count(text: str) -> int | float:
    """A token-count flag: "500" and "500.0" are 500; any other number ("100.5", "1e-300", "nan") is passed on as a
    float for the input's validation to refuse in one line naming the flag (token counts are whole numbers >= 1)."""
    try:
        return read_count(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of tokens (a whole number, 1 or more)") from None


def _whole_number(text: str, minimum: int, described: str) -> int:
    """``text`` as a whole number of at least ``minimum``, else argparse's one-line refusal naming it."""
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{text!r} is not {described}")
    return value


def positive_count(text: str) -> int:
    """A count flag such as ``--top``: a whole number of 1 or more ("0" and "-3" are refused, not ignored)."""
    return _whole_number(text, 1, "a whole number of 1 or more")


def gpu_count(text: str) -> int:
    """``--current-gpus``: a whole number of 0 or more (-1 reached the planner, whose error named no flag)."""
    return _whole_number(text, 0, "a whole number of GPUs, 0 or more")


def add_save_flags(parser: argparse.ArgumentParser, *, service_flag: bool = True, filed_only: bool = False) -> None:
    """``--save [--service NAME] [--as USER] [--db URL]`` for a planning command; ``filed_only``: ``--service``
    only says which service a saved result belongs to (an estimate of one fixed configuration takes no defaults)."""
    group = parser.add_argument_group("plan history (database)")
    group.add_argument("--save", action="store_true", help="store the plan in the database (see `gpucast history`)")
    if service_flag and filed_only:
        group.add_argument("--service", help="with --save: the stored service the saved result is filed under")
        parser.set_defaults(service_files_only=True)  # read by console.saving.save_if_requested
    elif service_flag:
        group.add_argument("--service", help="plan for this stored service: its settings and criticality are defaults")
    else:
        group.add_argument("--save-service", metavar="NAME", help="the stored service the saved plan belongs to")
    group.add_argument("--as", dest="actor", metavar="USER", help="who saves the plan (default: the OS user)")
    group.add_argument("--db", help="database path or SQLAlchemy URL (default $GPUCAST_DATABASE_URL or the user file)")


# The forecast functions name their keyword arguments in their errors (the Python API's words); the commands that
# pass flags through to them say the flag the user typed instead
_KEYWORDS = r"\b(timestamp_col|value_col|id_col|growth_rate|unique_id)\b"
_WORDS = r"(?<![-\w])(freq|horizon|scenario)\b(?= ['\"]| must)"


@contextmanager
def keywords_as_flags(renamed: dict[str, str] | None = None) -> Iterator[None]:
    """Re-raise an InputError whose message names a forecast keyword (``timestamp_col``, ``freq``) with the flag
    instead (``--timestamp-col``, ``--freq``); ``renamed`` maps a keyword to a flag of another name
    (``unique_id`` -> ``--service``)."""
    try:
        yield
    except InputError as error:
        names = renamed or {}

        def flag(match: re.Match[str]) -> str:
            return names.get(match.group(1), "--" + match.group(1).replace("_", "-"))

        message = re.sub(_WORDS, flag, re.sub(_KEYWORDS, flag, str(error)))
        if message == str(error):
            raise
        raise InputError(message) from None


_DASH_VALUE = re.compile(r"-\.?\d")  # "-1h", "-1e3", "-.5d": no gpucast flag starts so
_NEGATIVE = re.compile(r"-\d+|-\d*\.\d+")  # what argparse itself already reads as a value


def attach_dash_values(argv: list[str]) -> list[str]:
    """``--freq -1h`` as ``--freq=-1h``: argparse takes a value that starts with "-" and is not a plain negative
    number ("-1h", "-1e3") for a flag and says only "expected one argument"; attached, the value reaches the
    flag's own check, which names it and what is accepted. No gpucast flag starts with "-" and a digit."""
    out: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            return out + argv[index:]
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if (token.startswith("--") and "=" not in token and len(token) > 2 and _DASH_VALUE.match(following)
                and not _NEGATIVE.fullmatch(following)):  # fmt: skip
            out.append(f"{token}={following}")
            index += 2
            continue
        out.append(token)
        index += 1
    return out
