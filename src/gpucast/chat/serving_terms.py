"""Serving settings stated in free text, as the CLI's flags take them: the statistic the latency targets bound
(``--slo-percentile``: "p95 under 800 ms", "median TTFT 200 ms"), the context window (``--context-window``: "32k
context"), the pricing (``--pricing``: "spot instances are fine"), the engine (``--engine``: "with sglang") and the
parallelism (``--tp``/``--pp``: "TP 4", "8-way tensor parallel"). Each was read by nothing before 2026-12-07:
the conversation planned p99, a 4,096-token window, on-demand prices, vLLM and a searched layout whatever the answer
said."""

from __future__ import annotations

import re
from typing import Any

from .numbers import NUMBER, number_value, token_count

# the statistic a latency target bounds, stated beside the target
_PERCENTILES = (
    ("50", r"\b(?:p50|median|50(?:th)?[- ]percentile)\b"),
    ("90", r"\b(?:p90|90(?:th)?[- ]percentile)\b"),
    ("95", r"\b(?:p95|95(?:th)?[- ]percentile)\b"),
    ("99", r"\b(?:p99|99(?:th)?[- ]percentile)\b"),
    (
        "mean",
        r"\b(?:mean|average|avg)\s+(?:ttft|itl|tpot|e2e|latency|latencies|time to first token|first[- ]token|"
        r"response time|inter[- ]token|time per output token|end[- ]to[- ]end)",
    ),
)
_WINDOW = r"context[ -]?(?:window|length|len|size)|max[-_ ]?model[-_ ]?len(?:gth)?"


def stated_percentile(low: str) -> tuple[str | None, list[str]]:
    """The statistic ``low`` names for its latency targets ("50", "90", "95", "99", "mean" or None) and the doubts to
    ask back: one statistic bounds every target of a plan, so of two different ones the first is used."""
    stated = [(match.start(), name) for name, pattern in _PERCENTILES for match in re.finditer(pattern, low)]
    names = list(dict.fromkeys(name for _, name in sorted(stated)))
    if not names:
        return None, []
    if len(names) == 1:
        return names[0], []
    shown = " and ".join(percentile_text(name) for name in names)
    return names[0], [f"you gave targets at {shown}; a plan bounds all its targets at one: I used "
                      f"{percentile_text(names[0])}"]  # fmt: skip


def percentile_text(name: str) -> str:
    """ "p95", "the mean": how a statistic an SLO bounds is named in the conversation."""
    return "the mean" if name == "mean" else f"p{name}"


def deployment(low: str) -> dict[str, Any]:
    """The context window ("32k context", "context length 128k", "max_model_len 8192") and the pricing ("spot
    instances are fine", "no spot", "1-year reserved", "on-demand") stated in ``low``."""
    out: dict[str, Any] = {}
    window = (
        re.search(rf"(?:{_WINDOW})\s*(?:of|is|=|:|~|about|around|up to)?\s*{NUMBER}", low)
        or re.search(rf"{NUMBER}(?:[- ]?tokens?)?[- ]?(?:{_WINDOW})\b", low)
        or re.search(rf"{NUMBER}[- ]?(?:context|ctx)\b", low)
    )
    if window and (count := token_count(number_value(window["num"], window["mult"]))) is not None:
        kilo = count // 1000
        if (window["mult"] or "").lower() == "k" and count == kilo * 1000 and kilo & (kilo - 1) == 0:
            count = kilo * 1024  # "32k context" is max_model_len 32,768, as model cards and engines count it
        out["context_window"] = count
    if re.search(r"\b(?:no|not|never|without|avoid|don'?t want)\b[^.,;]{0,20}\b(?:spot|preemptible)\b", low):
        out["pricing"] = "on-demand"
    elif re.search(r"\b(?:spot|preemptible)\b", low):
        out["pricing"] = "spot"
    elif re.search(r"\b(?:reserv\w*|commit\w*|savings plans?)\b", low):
        years = re.search(r"\b(1|one|3|three)[- ]?(?:yr|years?)\b", low)
        if years:
            out["pricing"] = "1yr" if years[1] in ("1", "one") else "3yr"
    elif re.search(r"\bon[- ]demand\b", low):
        out["pricing"] = "on-demand"
    for engine, pattern in _ENGINES:
        if re.search(pattern, low):
            out["engine"] = engine
            break
    for key, word in (("tp", "tensor"), ("pp", "pipeline")):
        forms = (
            rf"\b{key}\s*(?:=|:|of|size)?\s*(\d+)\b",  # "TP 4", "tp=2"
            rf"\b{word}[- ]parallel(?:ism)?\s*(?:=|:|of|size)?\s*(\d+)\b",  # "tensor parallel 8"
            rf"\b(\d+)[- ]way\s+{word}",  # "8-way tensor parallelism"
            rf"\b(\d+)\s+{word}(?:[- ]parallel)?\s+stages?\b",  # "2 pipeline stages"
        )
        degree = next((int(m[1]) for form in forms if (m := re.search(form, low)) is not None), None)
        if degree is not None and degree >= 1:
            out[key] = degree
    return out


# the serving engine (``--engine``): the catalog's ids and the names people use for them
_ENGINES = (
    ("trtllm", r"\b(?:tensorrt[- _]?llm|trt[- _]?llm|trtllm|tensorrt)\b"),
    ("sglang", r"\bsglang\b"),
    ("lmdeploy", r"\b(?:lmdeploy|turbomind)\b"),
    ("nim", r"\bnvidia\s+nim\b|\bnim\b"),
    ("vllm", r"\bvllm\b"),
)
