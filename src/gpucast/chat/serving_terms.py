"""Serving settings stated in free text, as the CLI's flags take them: the statistic the latency targets bound
(``--slo-percentile``: "p95 under 800 ms", "median TTFT 200 ms"), the context window (``--context-window``: "32k
context"), the pricing (``--pricing``: "spot instances are fine"), the engine (``--engine``: "with sglang") and the
parallelism (``--tp``/``--pp``: "TP 4", "8-way tensor parallel"). Each was read by nothing before 2026-12-07:
the conversation planned p99, a 4,096-token window, on-demand prices, vLLM and a searched layout whatever the answer
said."""

from __future__ import annotations

import re
from typing import Any

from . import users
from .numbers import NUMBER, binary_k, number_value, stated_count
from .training_terms import fleet_said, nodes_without_count, vague_fleet
from .values import LEFT_OUT, UNSURE

# the statistic a latency target bounds, stated beside the target: "p95 under 800 ms", "90th percentile", "median
# TTFT 200 ms", "average latency 500 ms"; in an answer to the latency question a bare "median" or "on average" too
SLO_LEVELS = (50, 90, 95, 99)  # the percentiles a plan can bound (core.percentiles.PERCENTILES, besides the mean)
LEVEL = re.compile(r"\bp(\d{2}(?:\.\d+)?)(?![\d.])|\b(\d{2}(?:\.\d+)?)(?:th|st|nd|rd)?[ -]*percentile\b|"
                    # "95% of requests within 10 seconds": the 95th percentile (planned at p99 before)
                    r"\b(\d{2}(?:\.\d+)?)\s*%\s*of\s+(?:the\s+|all\s+)?(?:requests?|responses?|queries|calls|users|"
                    r"answers|replies|the time|time)\b")  # fmt: skip
_LATENCY_WORDS = (r"(?:ttft|itl|tpot|e2e|latency|latencies|time to first token|first[- ]token|response time|"
                  r"inter[- ]token|time per output token|end[- ]to[- ]end)")  # fmt: skip
_STATISTIC_WORDS = (("50", r"\bmedian\b"), ("mean", r"\b(?:mean|average|avg|typical(?:ly)?)\b"))
_WINDOW = r"context[ -]?(?:window|length|len|size)|max[-_ ]?model[-_ ]?len(?:gth)?"


def stated_percentile(low: str, *, words: bool = False) -> tuple[str | None, list[str]]:
    """The statistic ``low`` names for its latency targets ("50", "90", "95", "99", "mean" or None) and the doubts to
    ask back. ``words``: ``low`` answers the latency question, so a bare "median" or "on average" names it too
    (elsewhere only beside a latency word: "median TTFT", not "the median prompt"). A percentile a plan cannot
    bound (p75, p99.9) is read as the next one up (p99 at most) and asked back; of two different ones the first is
    used and asked back (one statistic bounds every target of a plan)."""
    stated: list[tuple[int, str]] = []
    doubts: list[str] = []
    for match in LEVEL.finditer(low):
        level = float(match[1] or match[2] or match[3])
        name = str(next((known for known in SLO_LEVELS if known >= level), 99))
        if float(name) != level:
            doubts.append(f"gpucast bounds the mean, p50, p90, p95 or p99: I read p{level:g} as p{name}")
        stated.append((match.start(), name))
    for name, word in _STATISTIC_WORDS:
        pattern = word if words else rf"{word[:-2]}\s+{_LATENCY_WORDS}"
        stated += [(match.start(), name) for match in re.finditer(pattern, low)]
    names = list(dict.fromkeys(name for _, name in sorted(stated)))
    if not names:
        return None, doubts
    if len(names) > 1:
        shown = " and ".join(percentile_text(name) for name in names)
        doubts.append(f"you gave targets at {shown}; a plan bounds all its targets at one: I used "
                      f"{percentile_text(names[0])}")  # fmt: skip
    return names[0], doubts


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
    if window:
        count = stated_count(number_value(window["num"], window["mult"]))  # "context length 0": refused, with why
        out["context_window"] = binary_k(count, window["mult"])  # "32k context" is max_model_len 32,768
    # "we can't use spot" was read as spot pricing
    negation = r"\b(?:no|not|never|without|avoid|don'?t|can'?t|cannot|won'?t|shouldn'?t|mustn'?t)\b"
    if re.search(rf"{negation}[^.,;]{{0,20}}\b(?:spot|preemptible)\b", low):
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
    for key, word in (("tp", "tensor"), ("pp", "pipeline"), ("ep", "expert")):
        forms = (
            rf"\b{key}\s*(?:=|:|of|size)?\s*(\d+)\b",  # "TP 4", "tp=2"
            rf"\b{word}[- ]parallel(?:ism)?\s*(?:=|:|of|size)?\s*(\d+)\b",  # "tensor parallel 8"
            rf"\b(\d+)[- ]way\s+{word}",  # "8-way tensor parallelism"
            rf"\b(\d+)\s+{word}(?:[- ]parallel)?\s+stages?\b",  # "2 pipeline stages"
        )
        degree = next((int(m[1]) for form in forms if (m := re.search(form, low)) is not None), None)
        if degree is not None:  # "TP 0", "TP 3": refused with what is accepted (values.LIMITS), as --tp refuses them
            out[key] = degree
    out.update(_fleet_floor(low))
    if not users.is_training(low) and (nodes := nodes_without_count(low)) is not None:  # "8xH100 nodes": how many?
        out[LEFT_OUT] = {"owned_gpus": f"{nodes!r} does not say how many nodes you have: say e.g. 'we have 2 "
                                       f"{nodes}'"}  # fmt: skip
    if not users.is_training(low) and (vague := vague_fleet(low)) is not None:  # "several A100s": how many?
        out[LEFT_OUT] = {"owned_gpus": f"{vague!r} does not say how many GPUs you have: say e.g. 'we have 4 "
                                       f"{vague.split()[-1]}'"}  # fmt: skip
    if not users.is_training(low) and (owned := fleet_said(low)) is not None:  # "we have 8 H100s": a fleet to size
        out["owned_gpus"] = owned[0]  # how much traffic it serves within the targets is said beside the plan (owned)
        if owned[1] is not None:  # their type, which need not be the plan's ("plan on H100; we have 8 A100s")
            out["owned_gpu"] = owned[1]
        if owned[2] is not None:  # "two H100 nodes": 8 GPUs each, said back
            out[UNSURE] = [*out.get(UNSURE, []), owned[2]]
    return out


def _fleet_floor(low: str) -> dict[str, Any]:
    """The replicas kept at all times ("at least 3 replicas": ``--min-replicas``) and the capacity over the peak
    ("30% headroom": ``--safety-margin`` 0.3), both read by nothing before 2026-12-07 (the plan kept 2 and 25%)."""
    out: dict[str, Any] = {}
    floor = re.search(r"(?:at least|minimum(?: of)?|min(?:imum)?|never (?:fewer|less) than)\s+(\d+)\s+(?:replicas?|copies|"
                      r"instances)\b|\b(\d+)\s+(?:replicas?|copies)\s+(?:minimum|at least|min)\b|"
                      r"min[-_ ]?replicas\s*(?:=|:|of|is)?\s*(\d+)", low)  # fmt: skip
    if floor:
        out["min_replicas"] = int(next(group for group in floor.groups() if group is not None))
    margin = re.search(r"(\d+(?:\.\d+)?)\s*%\s*(?:of\s+)?(?:headroom|safety margin|margin|buffer|spare capacity|"
                       r"over-?provisioning)|(?:headroom|safety margin|buffer|spare capacity)\s*(?:of|:|=|is)?\s*"
                       r"(\d+(?:\.\d+)?)\s*%", low)  # fmt: skip
    if margin:
        out["safety_margin"] = float(margin[1] or margin[2]) / 100.0
    return out


# the serving engine (``--engine``): the catalog's ids and the names people use for them
_ENGINES = (
    ("trtllm", r"\b(?:tensorrt[- _]?llm|trt[- _]?llm|trtllm|tensorrt)\b"),
    ("sglang", r"\bsglang\b"),
    ("lmdeploy", r"\b(?:lmdeploy|turbomind)\b"),
    ("nim", r"\bnvidia\s+nim\b|\bnim\b"),
    ("vllm", r"\bvllm\b"),
)
