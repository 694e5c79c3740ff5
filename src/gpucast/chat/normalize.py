"""Rewrite an answer into the one form the readers know, and note every guess made on the way.

People type "reqests per secnd", "1-2k rps", "1,5 rps", "within a second" or "3M daily". The readers in
``parse`` and ``questions`` only know clean words and one number per value, so this module fixes the text
first. Rewrites that cannot be wrong ("a second" after "within" is one second, "daily" is "per day") are
silent; rewrites that are a guess (a typo corrected, the upper end of a range taken, a decimal comma, "a few")
are returned as reasons, and the session echoes the reading back for confirmation instead of using it
unasked (issue 23: "every answer the parser is unsure of is echoed back for confirmation").
"""

from __future__ import annotations

import difflib
import re

from .errors import AnswerError

# Words the readers key on; a word within one or two typing slips of one of them is read as it.
VOCABULARY = (
    "request", "requests", "query", "queries", "message", "messages", "second", "seconds", "minute", "minutes",
    "hour", "hours", "day", "days", "week", "weeks", "month", "months", "token", "tokens", "input", "inputs",
    "output", "outputs", "prompt", "prompts", "response", "responses", "latency", "million", "thousand", "billion",
    "millisecond", "milliseconds", "within", "under", "average", "peak", "peaks", "first", "conversations",
    "completion", "completions", "generated", "seconds", "times", "double", "triple", "twice", "steady",
)  # fmt: skip
# Real words that sit close to a vocabulary word and must never be "corrected" into it.
KEEP = frozenset((
    "taken", "house", "hourly", "daily", "weekly", "monthly", "secondary", "second-hand", "token", "tokyo", "inside",
    "insight", "outage", "million", "millions", "billions", "thousands", "requested", "requires", "required",
    "respond", "responds", "reply", "replies", "replied", "peaky", "peaking", "peaked", "peakier", "minimal",
    "minimum", "average", "averages", "averaged", "prompted", "latencies", "daytime", "times", "timed", "timer",
    "time", "conversation", "generate", "generates", "generating", "timeout", "tools", "steadily", "triples", "doubles", "doubled", "tripled", "under", "underneath", "firsts",
    "with", "without", "write", "thanks", "thank", "these", "those", "there", "their", "tasks", "mostly", "more",
))  # fmt: skip
RATE_WORDS = {
    "daily": "per day",
    "hourly": "per hour",
    "weekly": "per week",
    "monthly": "per month",
    "quarterly": "per quarter",
}
_VAGUE = {"a couple of": "2", "a couple": "2", "a few": "3"}


def normalize(text: str) -> tuple[str, list[str]]:
    """``text`` rewritten for the readers, and the guesses made (empty when the reading is certain)."""
    guesses: list[str] = []
    text, grouped = _grouped_thousands(str(text))
    guesses += grouped
    # "llama 3.1 8b — 10 req/s — p99 1s": a pause (the dash read as a minus refused "-10"); "10 – 20 rps" a range
    text = re.sub(r"(?<!\d)\s+(?:[\u2013\u2014]|-{2,})\s+|\s+(?:[\u2013\u2014]|-{2,})\s+(?!\d)", ", ",
                  text.replace("\u00a0", " "))  # fmt: skip
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u00d7", "x")
    text = re.sub(r"(\d[kKmM]?)\s*(?:\u2192|->)\s*(\d)", r"\1/\2", text)  # "2k→500 tokens": in / out
    text, fixed = fix_typos(text)
    guesses += [f"I read {wrong!r} as {right!r}" for wrong, right in fixed]
    if re.search(r"(?i)(?<=\d)\s*rsp\b", text):  # "20 rsp": too short for the typo reader, and always "rps"
        guesses.append("I read 'rsp' as 'rps'")
        text = re.sub(r"(?i)(?<=\d)(\s*)rsp\b", r"\1rps", text)
    text = re.sub(r"(?i)\b(within|under|below|less than|at most|no more than|about|around|max(?:imum)?)\s+"
                  r"(?:a|an|one)\s+(second|sec|minute|min|millisecond)\b", r"\1 1 \2", text)  # fmt: skip
    text = re.sub(r"(?i)\bsub[- ]?(second|sec)\b", r"under 1 \1", text)  # "sub-second"
    text = re.sub(
        r"(?i)\bsub[- ]?(?=\d+(?:\.\d+)?\s*(?:ms|milliseconds?|s|secs?|seconds?)\b)", "under ", text
    )  # "sub-200ms"
    # "5000 daily active users" stays, and "40M daily tokens" (token_volume reads it: "40M per day tokens" was 40M
    # requests a day, 463 requests/s)
    text = re.sub(r"(?i)(?<=[a-z0-9])(\s+)(daily|hourly|weekly|monthly|quarterly)\b(?!\s+(?:active\s+)?(?:users?|customers?|people))"
                  r"(?!\s+(?:(?:output|generated|completion|answer|response|input|prompt)\s+)?(?:tokens?|toks?)\b)",
                  lambda m: m[1] + RATE_WORDS[m[2].lower()], text)  # fmt: skip
    for vague, number in _VAGUE.items():
        pattern = rf"(?i)\b{vague}\b(?=\s+(?:of\s+)?[a-z0-9])"
        if re.search(pattern, text):
            guesses.append(f"I took {vague!r} as {number}")
            text = re.sub(pattern, number, text)
    text, comma = _decimal_commas(text)
    guesses += comma
    text = _exponents(text)
    text = re.sub(r"(?i)(\d)\s*x\s*(-|to)\s*(\d+(?:\.\d+)?\s*x)", r"\1 \2 \3", text)  # "2x-3x": the range "2-3x"
    text, ranges = _ranges(text)
    guesses += ranges
    _refuse_negative(text)
    return text, guesses


_EXPONENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?|\.\d+)e([+-]?\d{1,4})(?![\w.])", re.IGNORECASE)
LARGEST = 1e15  # past any rate, token count or time a plan takes (the planner's own bounds are far below it)


def _exponents(text: str) -> str:
    """ "1e3 rps" as "1000 rps" and "2.5e2" as "250": the readers know plain digits only, and read "1e3" as 3
    (and "1e400" as 400) before. A number past ``LARGEST`` (or 1e400, infinite as a float) cannot be a value."""

    def plain(match: re.Match[str]) -> str:
        value = float(match[0])
        if not value <= LARGEST:
            raise AnswerError(f"{match[0]} is too large to be a usable value here; give a plain number such as '20'.")
        return f"{value:.15g}" if value != int(value) else str(int(value))

    return _EXPONENT.sub(plain, text)


# a minus sign touches its number ("-5 rps"); "llama 8b - 10 rps" is a pause, not a negative rate (it was refused)
_NEGATIVE = re.compile(r"(?:(?<![\w.\-:])[-\u2212](?=\.?\d)|\bminus\s+|\bnegative\s+)(?=\.?\d)", re.IGNORECASE)


def _refuse_negative(text: str) -> None:
    """A minus sign before a number ("-5 rps", "-2k in", "minus 5") is never a usable rate, size or time, and the
    readers dropped it (reading 5 requests/s). Ranges ("10-20", "10 - 20") were read before; names and dates
    ("llama-3.1-8b", "2026-01-01") have a letter or digit before their hyphens."""
    match = _NEGATIVE.search(text)
    if match:
        shown = re.match(r"[-\u2212]?\s?\.?[\d.,]+\S*", text[match.start() :].replace("minus ", "-"))
        value = shown[0] if shown else text[match.start() :].split()[0]
        raise AnswerError(f"{value} is negative: a rate, a token count, a size or a time must be greater than 0.")


def fix_typos(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Words one or two slips from a vocabulary word, corrected ("reqests" -> "requests"), and the pairs changed.

    A correction needs the same first letter, a length within one letter (two for long words) and a close
    spelling (difflib ratio 0.8, or 0.75 with the same last letter: "hoor" is "hour"): "under" is never
    "hundred", "with" never "within", nor "taken" a "token" (``KEEP``)."""
    from . import names  # model, GPU and cloud words are the catalog's, never typos of the vocabulary

    fixed: list[tuple[str, str]] = []

    def repair(match: re.Match[str]) -> str:
        word = match.group(0)
        low = word.lower()
        if len(low) < 4 or low in VOCABULARY or low in KEEP or names.is_name_word(low):
            return word
        close = [c for c in difflib.get_close_matches(low, VOCABULARY, n=3, cutoff=0.75) if c[0] == low[0]]
        close = [c for c in close if abs(len(c) - len(low)) <= (1 if len(low) <= 5 else 2)]
        close = [c for c in close if difflib.SequenceMatcher(None, low, c).ratio() >= 0.8 or c[-1] == low[-1]]
        if not close:
            return word
        fixed.append((word, close[0]))
        return close[0]

    return re.sub(r"[A-Za-z]+", repair, text), fixed


_THOUSANDS_DOTS = re.compile(r"(?<![\w.,])[1-9]\d{0,2}(?:\.\d{3}){2,}(?![\w.,]|\.\d)")
_THOUSAND_DOT = re.compile(r"(?<![\w.,])([1-9]\d{0,2})\.(\d00)(?![\w.,]|\.\d)(?!\s*(?:ms|s|secs?|seconds?|"
                           r"milliseconds?|minutes?|mins?|hours?|x|times|%)(?![a-z]))")  # fmt: skip
_GAP = r"[ \u00a0\u202f\u2009]"
_THOUSANDS_SPACES = re.compile(rf"(?<![\w.,])[1-9]\d{{0,2}}(?:(?:{_GAP}000)+(?![\w.,]|\s*\d)(?=\s*[a-z])|"
                               rf"(?:{_GAP}\d{{3}})+(?![\w.,]|\s*\d)(?=\s*(?!(?:in|out|and|or|to|tokens?|toks?)\b)"
                               r"[a-z]))", re.IGNORECASE)  # fmt: skip


def _grouped_thousands(text: str) -> tuple[str, list[str]]:
    """Thousands grouped as much of Europe writes them: "1.500.000 requests a day" (1,500,000: read as 1.5 before),
    "1.000 requests per minute" (1,000 where English reads 1.0: asked back) and "1 000 requests" (read as 0 before).
    A single dot group is read as thousands only when it ends in 00 and is no time or multiple ("1.500 s" is 1.5
    seconds either way), and a space group only before a word ("2000 500" stays two token counts)."""
    guesses: list[str] = []

    def joined(match: re.Match[str]) -> str:
        return re.sub(r"[.\s\u00a0\u202f\u2009]", "", match[0])

    text = _THOUSANDS_DOTS.sub(joined, text)

    def asked(match: re.Match[str]) -> str:
        value = joined(match)
        guesses.append(
            f"I read {match[0]!r} as {int(value):,} (thousands grouped with a {'dot' if '.' in match[0] else 'space'})"
        )
        return value

    return _THOUSANDS_SPACES.sub(asked, _THOUSAND_DOT.sub(asked, text)), guesses


def _decimal_commas(text: str) -> tuple[str, list[str]]:
    """ "1,5 rps" is 1.5 in much of Europe, never 15 nor 1: read it as 1.5 and ask. "2,000" stays two thousand."""
    guesses: list[str] = []

    def point(match: re.Match[str]) -> str:
        value = f"{match[1]}.{match[2]}"
        guesses.append(f"I read {match[0]!r} as {value} (a decimal comma)")
        return value

    return re.sub(r"(?<![\d.,])(\d{1,3}),(\d{1,2})(?![\d,])(?!\s*\d)", point, text), guesses


_END = r"\d+(?:\.\d+)?(?:\s*(?:k|m|thousand|million)(?![a-z]))?"
_RANGE = re.compile(rf"(?<![\w.\-/])(?:between\s+)?(?P<low>{_END})\s*(?:-|to|and|or)\s*(?P<high>{_END})"
                    r"(?![\w.]*b\b)(?![\d.\-/])", re.IGNORECASE)  # fmt: skip


def _ranges(text: str) -> tuple[str, list[str]]:
    """ "10-20 rps", "between 1 and 2 seconds", "1 to 2k tokens": plan for the upper end, and say so.

    The upper end is the safe side for a load (more GPUs), a prompt length (more memory) and, for a latency
    target, the time the user still accepts. Model sizes ("3.1-8b") and dates are not ranges."""
    guesses: list[str] = []

    def upper(match: re.Match[str]) -> str:
        said = match[0].strip()
        if re.search(r"(?i)\band\b", said) and not said.lower().startswith("between"):
            return match[0]  # "2000 and 500" are two values, not a range
        high = match["high"].strip()  # "1-2k": the multiplier belongs to both ends; the upper end keeps it
        guesses.append(f"you gave a range ({said}); I planned for the upper end, {high}")
        return high

    return _RANGE.sub(upper, text), guesses
