"""Numbers as people type them: "1.2k", "1,200", "three million", "half a million", "2.5 seconds".

The conversation's parser works on text where number words were first turned into digits
(``digits_for_words``), so every other rule only has to know one way of writing a number.
"""

from __future__ import annotations

import math
import re

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1000}
LARGE = ("million", "billion")  # kept as words: the number pattern reads them as multipliers

# A number as typed: "1,200", "1.5", "20"; then an optional multiplier ("k", "thousand", "M", "million", "b").
NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
# "t" only before tokens ("1T tokens" of pre-training data): "50 t/s" is no 50 trillion; "MM" is a million as finance
# writes it ("50MM tokens a day"); a multiplier may touch "tok" ("5 MTok a day", as API price sheets count tokens)
MULT = (
    r"(?:k|thousand|mm|mn|mil|millions?|m|bn|billions?|b|tn|trillions?|t(?=\s*tok))(?:(?![a-z])|(?=toks?\b|tokens?\b))"
)
NUMBER = rf"(?P<num>{NUM})\s*(?P<mult>{MULT})?"


def numbered(name: str) -> str:
    """``NUMBER`` with its groups renamed (``num<name>``, ``mult<name>``) so one regex can hold several numbers."""
    return NUMBER.replace("(?P<num>", f"(?P<num{name}>").replace("(?P<mult>", f"(?P<mult{name}>")


_MULTIPLIERS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "mn": 1e6, "mil": 1e6, "million": 1e6, "millions": 1e6,
                "b": 1e9, "bn": 1e9, "billion": 1e9, "billions": 1e9, "t": 1e12, "tn": 1e12, "trillion": 1e12,
                "trillions": 1e12}  # fmt: skip

_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?|\S+|\s+", re.IGNORECASE)


def number_value(num: str, mult: str | None = None) -> float:
    """The value of a matched ``NUMBER``: "1.2" and "k" -> 1200.0."""
    value = float(num.replace(",", ""))
    return value * _MULTIPLIERS.get((mult or "").lower(), 1.0)


def token_count(value: float, minimum: int = 1) -> int | None:
    """``value`` as a number of tokens: an int when it is a whole number of at least ``minimum`` ("1.5k" is 1500),
    else None: token counts are never fractions, so "0.5 tokens" is not read as 0 nor "200.7" as 200."""
    if not math.isfinite(value):
        return None
    nearest = round(value)
    if abs(value - nearest) > 1e-9 * max(1.0, abs(value)) or nearest < minimum:
        return None  # the tolerance only absorbs binary rounding ("1.1k" = 1100.0000000000002)
    return int(nearest)


def stated_count(value: float) -> float:
    """``value`` as a count of tokens when it is one ("1.5k" is 1500), else as stated ("0", "0.5"): a count the
    planner cannot take is refused with what is accepted (``values.refusal``), never dropped unsaid ("2k in 0 out"
    planned the default answer length; "context length 0" the default window)."""
    count = token_count(value, minimum=0)
    return count if count is not None else value


def binary_k(count: float, mult: str | None) -> float:
    """A length said in "k" that is a power of two in thousands as engines and model cards count it: "32k context"
    is max_model_len 32,768 and "seq len 4k" 4,096 ("4k" was 4,000); "2.5k" or "3k" stay as said."""
    kilo = int(count) // 1000 if math.isfinite(count) else 0
    if (mult or "").lower() == "k" and kilo > 0 and count == kilo * 1000 and kilo & (kilo - 1) == 0:
        return kilo * 1024
    return count


def first_number(text: str) -> float | None:
    """The first number in ``text`` with its multiplier, or None."""
    match = re.search(NUMBER, text, re.IGNORECASE)
    return number_value(match["num"], match["mult"]) if match else None


def digits_for_words(text: str) -> str:
    """Replace number words by digits: "three million" -> "3 million", "twenty five" -> "25",
    "a thousand" -> "1000", "half a million" -> "0.5 million", "a dozen" -> "12"."""
    text = re.sub(r"\bhalf\s+an?\s+(million|billion|thousand|hour|minute|second|day)\b", r"0.5 \1", text, flags=re.I)
    text = re.sub(r"\ba\s+dozen\b", "12", text, flags=re.IGNORECASE)
    text = re.sub(r"\ban?\s+(hundred|thousand|million|billion)\b", r"1 \1", text, flags=re.IGNORECASE)
    pieces = _WORD.findall(text)
    out: list[str] = []
    i = 0
    while i < len(pieces):
        value, end = _read_words(pieces, i)
        if end > i:
            out.append(_fmt(value))
            i = end
            continue
        out.append(pieces[i])
        i += 1
    return "".join(out)


def _read_words(pieces: list[str], start: int) -> tuple[float, int]:
    """Consume a run of number words from ``start``; return its value and the index after it."""
    total = 0.0
    current = 0.0
    end = start
    i = start
    seen = False
    while i < len(pieces):
        piece = pieces[i]
        low = piece.lower()
        parts = low.split("-")
        if (piece.isspace() and seen) or (low == "and" and seen):  # not before the first word: "have eight" kept its
            i += 1  # space ("have8 h100s" hid the count from every reader that wants a word boundary before it)
            continue
        if all(p in UNITS or p in TENS for p in parts) and parts:
            current += sum(UNITS.get(p, 0) + TENS.get(p, 0) for p in parts)
        elif low in SCALES and seen:
            current = max(current, 1.0) * SCALES[low]
            if low == "thousand":
                total, current = total + current, 0.0
        elif re.fullmatch(r"\d+(\.\d+)?", low) and not seen and i + 2 < len(pieces) and pieces[i + 2].lower() in SCALES:
            current = float(low)  # "2 thousand" -> 2000 (but "2 million" stays for the multiplier rule)
        else:
            break
        seen = True
        i += 1
        end = i
    if not seen:
        return 0.0, start
    return total + current, end


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


SECONDS = {"ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001, "msec": 0.001, "s": 1.0, "sec": 1.0,
           "secs": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
           "m": 60.0, "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0, "d": 86400.0,
           "day": 86400.0, "days": 86400.0, "week": 604800.0, "weeks": 604800.0, "w": 604800.0,
           "month": 2_629_800.0, "months": 2_629_800.0, "mo": 2_629_800.0, "quarter": 7_889_400.0,
           "quarters": 7_889_400.0}  # fmt: skip
TIME_UNIT = (r"(?:milliseconds?|msec|ms|seconds?|secs?|s|minutes?|mins?|min|m|hours?|hrs?|hr|h|days?|d|weeks?|w|"
             r"months?|mo|quarters?)(?![a-z])")  # fmt: skip
# "per", "a", "each", "/" between a count and its period ("20 requests per minute", "50M tokens a day")
PER = r"(?:\s*/\s*|\s+(?:per|a|an|each|every|in\s+a|in\s+an)\s+)"
PERIODS = {
    "daily": "day",
    "hourly": "hour",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
}  # "3M requests daily"


def seconds_in(unit: str) -> float:
    """Seconds in one ``unit`` ("minute" -> 60)."""
    return SECONDS[unit.lower()]
