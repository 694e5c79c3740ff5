"""Numbers in words people read and type: counted nouns in messages (``counted(1, "replica")`` is "1 replica",
``counted(3, "replica")`` "3 replicas"), rates for display, and whole counts as typed (``ascii_count``)."""

from __future__ import annotations

import re


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` and the noun that agrees with it (``plural`` defaults to ``singular`` + "s")."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def rate(value: float) -> str:
    """A rate for people: three significant figures, thousands separated, no exponent and no trailing zeros
    (23.148148 -> "23.1", 1157.4 -> "1,157", 0.011574 -> "0.0116", 10.0 -> "10"): the planner keeps full precision,
    only the display rounds (issue 23: "23.1481 req/s")."""
    if value == 0 or value != value or value in (float("inf"), float("-inf")):
        return f"{value:g}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    digits = 3 - len(str(int(abs(value)))) if abs(value) >= 1 else 3 + _leading_zeros(abs(value))
    text = f"{value:.{max(digits, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _leading_zeros(value: float) -> int:
    """Zeros between the point and the first significant digit of a number below 1 (0.0116 -> 1)."""
    count = 0
    while value < 0.1 and count < 12:
        value *= 10
        count += 1
    return count


def duration(hours: float) -> str:
    """A run's length for people: seconds below a minute ("34 seconds": "1 minute" read as missing a 0.6-minute
    deadline the run meets), minutes below an hour ("18 minutes", "1 minute"), else hours ("2.5 h")."""
    if (seconds := round(hours * 3600)) < 60:
        return counted(max(1, seconds), "second")
    if hours < 1:
        return counted(max(1, round(hours * 60)), "minute")
    return f"{hours:,.1f} h"


def ascii_count(text: str) -> int | None:
    """The whole number >= 0 that ``text`` writes in ASCII digits ("12", " 7 "), else None; a number of more than
    19 digits is returned as ``TOO_MANY`` (10**19, past any row id, count or step a caller takes), for the caller's
    range check to refuse.

    Why not ``text.isdigit()`` then ``int(text)``: isdigit() is true for "²" and other Unicode digits that int()
    refuses, and int() refuses a text of more than 4,300 digits (``sys.get_int_max_str_digits``); both were a
    ValueError, a 500 on the pages (/history?offset=, /history/compare?id=, /fleet's current GPUs) and in the
    forecast horizon."""
    text = text.strip()
    if not text or not text.isascii() or not text.isdigit():
        return None
    return int(text) if len(text) <= 19 else TOO_MANY


TOO_MANY = 10**19  # what ascii_count returns for a number of more than 19 digits (2**63 has 19)

QUOTED_LIMIT = 240  # a typed value quoted in a message is cut past this many characters (paths fit)


def shorten(text: str, limit: int = QUOTED_LIMIT) -> str:
    """``text`` as a message quotes it: whole up to ``limit`` characters, else its start and its length
    ("xxxx… (30,000 characters)"). A form field or flag given 30,000 characters was quoted back whole: a page's
    error line of 30 KB, a window label 100,000 characters wide (the web and desktop form parity sweep)."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}… ({len(text):,} characters)"


# a quoted value: the quote opens after a space, "(", "=" or ":" and closes before a space, punctuation or the end
# (so "the history's" opens nothing); every quoted value is matched, so the scan stays on the quotes' pairs
_SINGLE, _DOUBLE = (rf"(?:(?<=[\s(=:])|^){q}((?:[^{q}\\]|\\.)*){q}(?=[\s),.:;]|$)" for q in ("'", '"'))
_QUOTED = re.compile(f"{_SINGLE}|{_DOUBLE}", re.DOTALL)


def shorten_quoted(message: str) -> str:
    """``message`` with every quoted value longer than ``QUOTED_LIMIT`` shortened (:func:`shorten`): the messages
    quote what was typed (``--horizon 'xxx…' …``, argparse's ``invalid int value: '999…'``)."""
    return _QUOTED.sub(lambda m: f"'{shorten(m[1])}'" if m[1] is not None else f'"{shorten(m[2])}"', message)


def token_slo_label(percentile: str, itl_slo_ms: float) -> str:
    """The token-latency SLO line's label on a chart of mean latencies (web and desktop): what the target bounds
    ("TPOT p99 SLO" at a percentile, the mean ITL at "mean"), so a mean curve is not read against a p99 target as if
    it were one."""
    return f"ITL SLO {itl_slo_ms:g} ms" if percentile == "mean" else f"TPOT p{percentile} SLO {itl_slo_ms:g} ms"
