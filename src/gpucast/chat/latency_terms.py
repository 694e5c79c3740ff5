"""The latency targets a free-form message states, as the CLI's ``--ttft-slo-ms``, ``--itl-slo-ms`` and
``--target-latency`` take them: "p99 under 2 seconds", "50 ms per token", "3 s to first token", "within a second",
"each user should see 20 tok/s" (split from ``parse``, which reads every other value of a message)."""

from __future__ import annotations

import re

from .numbers import NUMBER, number_value, seconds_in
from .serving_terms import stated_percentile
from .values import UNSURE, Values

_N = NUMBER


def _num(match: re.Match[str]) -> float:
    return number_value(match["num"], match["mult"])


_LATENCY_TARGETS = (
    (
        "itl_ms",
        r"\b(itl|inter[- ]?token|per[- ]token|between tokens|tpot|time per output token|(?:new |next )?token "
        r"every|each (?:new )?token|every (?:new )?token)\b",
    ),
    ("e2e_ms", r"\b(e2e|end[- ]to[- ]end|total|full|whole|complete|entire)\b"),
    ("ttft_ms", r"\b(ttft|first token|start|begin|p\d{2}|latency|respond|response time|wait)\b"),
)


# a label right after the time names its target ("50 ms per token", "3 s to first token"), before any label
# in front of it: "latency of 50 ms per token" is the time between tokens, not the wait for the first one
_TRAILING_TARGETS = (
    ("itl_ms", r"\s*(?:per|/|for each|each|between|a)\s*(?:output |new |next |generated |decoded )?tokens?\b"),
    ("ttft_ms", r"\s*(?:to|for|until|till|before)\s+(?:the\s+)?first\s+token\b"),
    ("e2e_ms", r"\s*(?:end[- ]to[- ]end|in total|for the (?:whole|full|complete|entire) (?:response|answer|reply))"),
)


def stated_latency(low: str) -> Values:
    """The latency targets a lower-cased message states (``ttft_ms``, ``itl_ms``, ``e2e_ms``) and the statistic they
    bound (``slo_percentile``): a time after a label, a label after the time, a bare limit ("within a second"), or a
    stream speed ("20 tok/s per user" is a 50 ms token gap)."""
    out: Values = {}
    span = rf"{_N}\s*(?P<unit>ms|milliseconds?|msec|s|secs?|seconds?)(?![a-z])"
    lead = (r"(?P<lead>under|below|<=?|within|less than|at most|max(?:imum)?|of|:|=|~|about|around|in|up to|"
            r"no more than)?")  # fmt: skip
    for match in re.finditer(rf"(?P<what>[a-z0-9 \-/]{{0,40}}?){lead}\s*{span}", low):
        context = match["what"]
        after = low[match.end() :]
        trailing = next((key for key, pattern in _TRAILING_TARGETS if re.match(pattern, after)), None)
        if trailing is not None:
            out.setdefault(trailing, _num(match) * seconds_in(match["unit"]) * 1000.0)
            continue
        for key, pattern in _LATENCY_TARGETS:
            if re.search(pattern, context):
                out.setdefault(key, _num(match) * seconds_in(match["unit"]) * 1000.0)
                break
        else:  # "within a second", "in under 500 ms": a time limit alone is the wait for the first token
            if re.fullmatch(r"(?:under|below|<=?|within|less than|at most|no more than)", match["lead"] or ""):
                out.setdefault("ttft_ms", _num(match) * seconds_in(match["unit"]) * 1000.0)
    rate = r"(?:(?:tokens?|toks?|t)\s*(?:/\s*s(?:ec)?|per second|a second)|tps)"
    per_user = rf"{rate}\s*(?:per|for each|each|to each|for every|to every)\s*(?:user|stream|request|client)"
    # "each user should see at least 20 tok/s", "per-token speed of 30 tps": a stream's speed, said before it
    said = (r"(?:per[- ]user|each user|every user|per[- ]stream|per[- ]request|streaming speed|per[- ]token speed|"
            r"reading speed|decode speed|generation speed|output speed)\b[^.;,]{0,40}?")  # fmt: skip
    speed = re.search(rf"{_N}\s*{per_user}", low) or re.search(rf"{said}{_N}\s*{rate}", low)
    if speed and _num(speed) > 0:
        out.setdefault("itl_ms", 1000.0 / _num(speed))
    if out:
        percentile, doubts = stated_percentile(low)
        if percentile is not None:
            out["slo_percentile"] = percentile
        if doubts:
            out[UNSURE] = doubts
    return out
