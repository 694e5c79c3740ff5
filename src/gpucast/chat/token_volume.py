"""Load stated as a token volume instead of a request rate: "about 50 million tokens per day", "2B tokens a month",
"300k TPM", "5M output tokens daily" — how API bills and provider dashboards count traffic. Before 2026-12-08 the
volume was ignored and the plan used the default 10 requests/s whatever the volume said.

The volume becomes a request rate once the request shape is known: tokens per second / tokens per request, where a
plain "tokens" counts prompt and answer together (as billing and dashboards do), "output/completion tokens" the
answers only and "input/prompt tokens" the prompts only. A rate per second is left out: "50 tokens per second" is
a speed (how fast each answer streams), which the latency reader owns.
"""

from __future__ import annotations

import re

from .numbers import number_value, numbered, seconds_in
from .values import Values

# which tokens a volume counts: its key in the answers (tokens per second of that kind)
KEYS = {"total": "total_tokens_per_s", "output": "output_tokens_per_s", "input": "input_tokens_per_s"}
_KIND = r"(?:(?P<kind>output|generated|completion|answer|response|input|prompt)\s+)?"
_UNIT = r"(?P<unit>minutes?|mins?|min|hours?|hrs?|hr|h|days?|d|weeks?|w|months?|mo)(?![a-z])"
_PER = r"(?:\s*/\s*|\s+(?:per|a|an|each|every|in\s+a|in\s+an)\s+)"
_FORMS = (
    re.compile(numbered("t") + rf"\s*{_KIND}(?:tokens?|toks?){_PER}{_UNIT}"),  # "50M tokens per day"
    re.compile(numbered("t") + rf"\s*{_KIND}(?:tokens?|toks?)\s+(?P<period>daily|hourly|weekly|monthly)\b"),
    re.compile(
        r"\b(?P<period>daily|hourly|weekly|monthly)\s+(?:token\s+)?(?:volume|traffic|usage|load)\s*"
        r"(?:is|of|=|:|~|at)?\s*(?:about\s+|around\s+|roughly\s+|~\s*)?"
        + numbered("t")
        + rf"\s*{_KIND}(?:tokens?|toks?)\b"
    ),
    re.compile(numbered("t") + r"\s*(?P<tpm>tpm|tokens per minute)\b"),  # "300k TPM" (rate-limit dashboards)
)
_PERIODS = {"daily": "day", "hourly": "hour", "weekly": "week", "monthly": "month"}
_OUTPUT = ("output", "generated", "completion", "answer", "response")


def token_volume(low: str) -> Values:
    """``{"total_tokens_per_s": 578.7}`` (or the output/input key) for the first token volume stated in ``low``; {}
    when none is."""
    for form in _FORMS:
        match = form.search(low)
        if match is None:
            continue
        tokens = number_value(match["numt"], match["multt"])
        groups = match.groupdict()
        unit = "minute" if groups.get("tpm") else _PERIODS.get(groups.get("period") or "", groups.get("unit") or "")
        if tokens <= 0 or not unit:
            continue
        said = groups.get("kind") or ""
        kind = "output" if said in _OUTPUT else "input" if said in ("input", "prompt") else "total"
        return {KEYS[kind]: tokens / seconds_in(unit)}
    return {}


def without_volumes(low: str) -> str:
    """``low`` with every token volume blanked out, for the readers of request lengths: "5M output tokens a day" is
    no 5,000,000-token answer (it was read as one, and refused)."""
    for form in _FORMS:
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
