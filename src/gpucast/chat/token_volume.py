"""Load stated as a token volume instead of a request rate: "about 50 million tokens per day", "2B tokens a month",
"300k TPM", "2M TPD", "50MM tokens", "5M output tokens daily" — how API bills, provider dashboards and rate limits
count traffic. Before 2026-12-08 the volume was ignored and the plan used the default 10 requests/s whatever the
volume said.

The volume becomes a request rate once the request shape is known: tokens per second / tokens per request, where a
plain "tokens" counts prompt and answer together (as billing and dashboards do), "output/completion tokens" the
answers only and "input/prompt tokens" the prompts only. A rate per second is a volume from 1,000 tokens/s ("10k
tokens per second" was ignored and the default 10 requests/s planned) or with a word saying so ("500 tokens/s in
total"); below that "50 tokens per second" is a speed (how fast each answer streams), which the latency reader owns.
"""

from __future__ import annotations

import re

from .numbers import PER, PERIODS, number_value, numbered, seconds_in
from .values import Values

# which tokens a volume counts: its key in the answers (tokens per second of that kind)
KEYS = {"total": "total_tokens_per_s", "output": "output_tokens_per_s", "input": "input_tokens_per_s"}
_KIND = r"(?:(?P<kind>output|generated|completion|answer|response|input|prompt)\s+)?"
_UNIT = r"(?P<unit>minutes?|mins?|min|hours?|hrs?|hr|h|days?|d|weeks?|w|months?|mo|quarters?)(?![a-z])"
_PERIOD = r"daily|hourly|weekly|monthly|quarterly"
_FORMS = (
    re.compile(numbered("t") + rf"\s*{_KIND}(?:tokens?|toks?){PER}{_UNIT}"),  # "50M tokens per day"
    re.compile(numbered("t") + rf"\s*{_KIND}(?:tokens?|toks?)\s+(?P<period>{_PERIOD})\b"),
    re.compile(
        rf"\b(?P<period>{_PERIOD})\s+(?:token\s+)?(?:volume|traffic|usage|load)\s*"
        r"(?:is|of|=|:|~|at)?\s*(?:about\s+|around\s+|roughly\s+|~\s*)?"
        + numbered("t")
        + rf"\s*{_KIND}(?:tokens?|toks?)\b"
    ),
    # "300k TPM" (rate-limit dashboards), "2M TPD", "50k TPH"; "400k ITPM" / "80k OTPM" count the input / output
    # tokens only (Anthropic's rate limits). "TPD" and "TPH" were read by nothing
    re.compile(numbered("t") + r"\s*(?P<side>[io])?tp(?P<abbr>[mhd])\b"),
    # "40M daily tokens", "40M tokens of traffic per day"
    re.compile(numbered("t") + rf"\s*(?P<period>{_PERIOD})\s+{_KIND}(?:tokens?|toks?)\b"),
    re.compile(numbered("t") + rf"\s*{_KIND}(?:tokens?|toks?)\s+(?:of\s+)?(?:traffic|usage|load|volume){PER}{_UNIT}"),
)
_ABBR = {"m": "minute", "h": "hour", "d": "day"}
_SIDES = {"i": "input", "o": "output"}
# "50M input tokens and 5M output tokens a day", "5M output and 50M input tokens per day": two volumes, one period
_SIDE = r"(?P<kind{n}>output|generated|completion|answer|response|input|prompt|in|out)\b"
_PAIR = re.compile(
    numbered("a")
    + r"\s*"
    + _SIDE.format(n="a")
    + r"(?:\s+(?:tokens?|toks?))?\s*(?:and|,|\+|plus|&)\s*"
    + numbered("b")
    + r"\s*"
    + _SIDE.format(n="b")
    + rf"\s+(?:tokens?|toks?)(?:{PER}{_UNIT}|\s+(?P<period>{_PERIOD})\b)"
)
# "20M tokens a day in and 2M out": the sides after the volume (the second was a 2,000,000-token answer, the first
# counted as prompts + answers)
_PAIR_AFTER = re.compile(
    numbered("a")
    + rf"\s*(?:tokens?|toks?)(?:{PER}{_UNIT}|\s+(?P<period>{_PERIOD})\b)\s+"
    + _SIDE.format(n="a")
    + r"\s*(?:and|,|\+|plus|&|/)\s*"
    + numbered("b")
    + r"(?:\s*(?:tokens?|toks?))?\s*"
    + _SIDE.format(n="b")
)
# "in: 20M tokens/day, out: 2M tokens/day": a side named before a volume
_SIDE_BEFORE = re.compile(r"\b(?P<side>input|in|prompts?|output|out|completions?)\s*[:=]\s*$")
# "10k tokens per second", "5,000 tok/s in total": a volume per second where no stream could be meant (below)
_PER_SECOND = re.compile(
    numbered("s")
    + rf"\s*(?:{_KIND.replace('<kind>', '<kinds>')}(?:tokens?|toks?)\s*(?:/\s*s(?:ec)?|per\s+second|a\s+second)|"
    r"(?P<sides>[io])?tps)"  # "5k TPS", as dashboards abbreviate tokens per second
    r"(?!\w)(?!\s*(?:per|for each|each|to each|for every|to every)\s*(?:user|stream|request|client))"
)
# a stream's speed is tens to a few hundred tokens per second: from 1,000 tokens/s (1 ms a token, beyond any GPU
# decode step) a per-second figure is a service's volume; below it only with a word saying so
_STREAM_AT_MOST = 1000.0
_AGGREGATE = re.compile(r"\b(?:throughput|total|aggregate|overall|combined|in all|across)\b")
_SPEED = re.compile(r"(?:speed|per[- ]user|each user|every user|per[- ]stream|per[- ]request)\b[^.;,]{0,40}$")
_OUTPUT = ("output", "generated", "completion", "answer", "response", "out")


def token_volume(low: str) -> Values:
    """``{"total_tokens_per_s": 578.7}`` (or the output/input key) for the token volume stated in ``low``; {} when
    none is. Prompt and answer volumes stated both ("50M input tokens and 5M output tokens a day", or two volumes
    apart) are their sum, prompts + answers: the first alone was read, and in the paired form the other number was
    taken for a 50M-token prompt."""
    found: dict[str, float] = {}
    for pair_form in (_PAIR, _PAIR_AFTER):
        if (pair := pair_form.search(low)) is not None:
            unit = PERIODS.get(pair["period"] or "", pair["unit"] or "")
            for side in ("a", "b"):
                tokens = number_value(pair[f"num{side}"], pair[f"mult{side}"])
                kind = _kind(pair[f"kind{side}"])
                if tokens > 0 and unit:
                    found.setdefault(kind, tokens / seconds_in(unit))
            low = pair_form.sub(lambda m: " " * len(m[0]), low)
    for form in _FORMS:
        for match in form.finditer(low):
            tokens = number_value(match["numt"], match["multt"])
            groups = match.groupdict()
            unit = _ABBR.get(groups.get("abbr") or "") or PERIODS.get(
                groups.get("period") or "", groups.get("unit") or ""
            )
            kind = _SIDES.get(groups.get("side") or "") or groups.get("kind") or ""
            if not kind and (before := _SIDE_BEFORE.search(low[max(0, match.start() - 14) : match.start()])):
                kind = before["side"]
            if tokens > 0 and unit:
                found.setdefault(_kind(kind), tokens / seconds_in(unit))
    rest = low
    for match in _PER_SECOND.finditer(rest):
        tokens = number_value(match["nums"], match["mults"])
        near = rest[max(0, match.start() - 30) : match.end() + 30]
        if _SPEED.search(rest[: match.start()]):  # "decode speed of 2000 tok/s": the latency reader's
            continue
        if tokens >= _STREAM_AT_MOST or (tokens > 0 and _AGGREGATE.search(near)):
            found.setdefault(_kind(_SIDES.get(match["sides"] or "") or match["kinds"] or ""), tokens)
    if "total" in found:
        return {KEYS["total"]: found["total"]}
    if "input" in found and "output" in found:
        return {KEYS["total"]: found["input"] + found["output"]}
    return {KEYS[kind]: per_s for kind, per_s in found.items()}


def _kind(said: str) -> str:
    """Which tokens a volume counts, from the word before "tokens" ("" for plain tokens: prompts + answers)."""
    said = said.rstrip("s") if said in ("prompts", "completions") else said
    return "output" if said in _OUTPUT else "input" if said in ("input", "prompt", "in") else "total"


def without_volumes(low: str) -> str:
    """``low`` with every token volume blanked out, for the readers of request lengths: "5M output tokens a day" is
    no 5,000,000-token answer (it was read as one, and refused)."""
    for form in (_PAIR, _PAIR_AFTER, *_FORMS, _PER_SECOND):
        low = form.sub(lambda match: " " * len(match[0]), low)
    return low


def stated(answers: Values) -> tuple[str, float] | None:
    """(kind, tokens per second) of the token volume among ``answers``, or None."""
    for kind, key in KEYS.items():
        if key in answers:
            return kind, float(answers[key])
    return None


def requests_per_s(answers: Values, input_tokens: float, output_tokens: float) -> float | None:
    """The request rate a stated token volume carries at ``input_tokens`` in / ``output_tokens`` out per request."""
    volume = stated(answers)
    if volume is None:
        return None
    kind, per_s = volume
    per_request = {"total": input_tokens + output_tokens, "output": output_tokens, "input": input_tokens}[kind]
    return per_s / per_request if per_request > 0 else None


def shown(kind: str, per_s: float, *, bracket: bool = True) -> str:
    """ "50M tokens a day (prompts + answers)": a volume as the user said it, per day (``bracket=False``: "50M
    tokens a day, prompts + answers")."""
    daily = per_s * 86_400
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if daily >= size:
            text = f"{daily / size:.3g}{suffix}"
            break
    else:
        text = f"{daily:.3g}"
    counted = {"total": "prompts + answers", "output": "answer tokens only", "input": "prompt tokens only"}[kind]
    return f"{text} tokens a day ({counted})" if bracket else f"{text} tokens a day, {counted}"
