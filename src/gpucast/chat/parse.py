"""The rule-based reader of free-form answers: text in, the values it states out.

``extract`` finds every value a message states explicitly, wherever it is asked ("serve llama
3 70b on H100s on aws, about 1.2k requests per minute, 2k tokens in and 500 out, p99 under 2
seconds"). ``interpret`` reads the answer to one question, where a bare "20" is enough because
the question says what it means. Neither raises on any text except ``AnswerError`` from
``interpret``, whose message tells the user what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import concurrency, names, users
from .agent import extract_agent
from .budget import stated_budget
from .corrections import read_corrected
from .latency_terms import stated_latency
from .numbers import (
    NUMBER,
    PER,
    PERIODS,
    TIME_UNIT,
    digits_for_words,
    first_number,
    number_value,
    numbered,
    seconds_in,
    stated_count,
)
from .serving_terms import deployment
from .token_volume import token_volume, without_volumes
from .training_terms import training_terms
from .values import UNSURE, Values

INTENT_WORDS = (
    # "rank" asks for a ranking, but "LoRA rank 16" / "rank=8" is the adapter's rank, not a comparison
    (
        "compare",
        r"\b(compare|comparison|rank(?!\s*(?:of\s*)?[=:]?\s*\d)|versus|vs\.?|which gpu is cheapest|cheapest gpu|"
        # "which cloud is cheapest for H100s", "which is cheaper: aws or gcp?": a ranking over clouds
        r"which (?:(?:cloud|provider|gpu)s?\s+)?(?:is|are|would be)\s+(?:the\s+)?cheap(?:er|est)|"
        r"cheap(?:er|est) (?:cloud|provider)s?)\b",
    ),
    ("forecast", r"\b(forecast|predict|history|historical|trend|future load)\b"),
    ("training", r"\b(fine[- ]?tun\w*|train\w*|pre-?train\w*|lora|qlora|sft)\b"),
    ("inference", r"\b(serv\w*|inference|deploy\w*|host\w*|chatbot|api|endpoint|agent)\b"),
    # growth alone asks for a forecast; beside a serving word it is the plan's --growth-rate ("serve ..., expect 50%
    # growth" was a forecast of a history never given)
    ("forecast", r"\b(growth|grow|grows|growing)\b"),
)
PRECISIONS = {"fp32": "FP32", "fp16": "FP16", "bf16": "BF16", "fp8": "FP8", "int8": "INT8", "int4": "INT4",
              "fp4": "FP4", "8-bit": "FP8", "8 bit": "FP8", "4-bit": "INT4", "4 bit": "INT4", "awq": "INT4",
              "gptq": "INT4", "half precision": "FP16", "nvfp4": "FP4", "mxfp4": "FP4"}  # fmt: skip
YES = (
    r"(y|yes|yeah|yep|yup|sure|ok|okay|correct|right|confirm|confirmed|go|go ahead|do it|compute|looks good|"
    r"fine|please)"
)
NO = r"(n|no|nope|nah|not really|wrong|change|incorrect|cancel)"
REQ = (
    r"(?:requests?|reqs?|queries|query|calls?|hits?|messages?|msgs?|prompts?|chats?|conversations?|questions?|"
    r"completions?|generations?|r|q)"
)
_N = NUMBER


def _num(match: re.Match[str], group: str = "") -> float:
    return number_value(match[f"num{group}"], match[f"mult{group}"])


def _clean(text: str) -> str:
    return digits_for_words(str(text)).replace("\u00a0", " ").strip()


def extract(text: str) -> Values:
    """Every value ``text`` states explicitly, a correction in the same message winning ("8b, actually 70b").
    Unknown text gives an empty dict, never an error."""
    return read_corrected(text, _extract)


# a file the user names: quoted, it may hold spaces ('prod traffic.csv'); bare, a name with a data file's extension
# or a path of two or more directories ("/srv/x/y"), brackets around it not part of it ("(data/x.csv)")
_QUOTED_FILE = re.compile(r"([\"'`])([^\"'`]+?\.(?:csv|json|parquet|jsonl|tsv))\1", re.IGNORECASE)
_FILE = re.compile(
    r"[^\s,;\"'`()\[\]<>]+\.(?:csv|json|parquet|jsonl|tsv)\b"
    r"|(?<![^\s\"'`(\[<])(?:~|\.{1,2})?/[^\s,;\"'`()\[\]<>]+/[^\s,;\"'`()\[\]<>]+",
    re.IGNORECASE,
)


def _files(text: str) -> tuple[list[str], str]:
    """The file paths ``text`` names, and the text without them: the words of a path are not answers (a history in
    /srv/serve/traffic.csv is not "serve a model", one in ~/train/ not a fine-tune)."""
    quoted = [match[2] for match in _QUOTED_FILE.finditer(text)]
    text = _QUOTED_FILE.sub(" ", text)
    return quoted + _FILE.findall(text), _FILE.sub(" ", text)


def _extract(text: str) -> Values:
    files, text = _files(_clean(text))
    low = text.lower()
    found: Values = {}
    for intent, pattern in INTENT_WORDS:
        if re.search(pattern, low):
            found["intent"] = intent
            break
    if re.search(r"\bagent(s|ic)?\b", low):
        found["agent"] = True
    agent, low = extract_agent(low)  # before the rest: "a 4k system prompt" is not a 4000-token request
    model = names.find_model(text)
    if model:
        found["model"] = model
    elif (size := re.search(rf"{_N}\s*(?:params?|parameters?|parameter model|model)\b", low)) and (
        size["mult"] or ""
    ).lower().startswith("b"):
        found["model_size"] = _num(size) / 1e9
    gpus = names.find_gpus(text)
    if gpus:
        found["gpu"], found["gpus"] = gpus[0], gpus
    clouds = names.find_clouds(text)
    if clouds:
        found["cloud"], found["clouds"] = clouds[0], clouds
    for word, name in PRECISIONS.items():
        if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", low):
            found["precision"] = name
            break
    found.update(_rates(low))
    found.update(_tokens(low))
    latency = stated_latency(low)
    if UNSURE in latency:  # both may be guesses: keep the reasons of each
        latency[UNSURE] = [*found.get(UNSURE, []), *latency[UNSURE]]
    found.update(latency)
    trained = training_terms(low)
    if UNSURE in trained:
        trained[UNSURE] = [*found.get(UNSURE, []), *trained[UNSURE]]
    found.update(trained)
    budget = stated_budget(low)  # no command sizes to it: the plan's cost is compared with it (chat.budget)
    if UNSURE in budget:
        budget[UNSURE] = [*found.get(UNSURE, []), *budget[UNSURE]]
    found.update(budget)
    terms = deployment(low)
    if UNSURE in terms:  # "two H100 nodes" beside "10 rps, 20 rps": both doubts are asked (the first was dropped)
        terms[UNSURE] = [*found.get(UNSURE, []), *terms[UNSURE]]
    found.update(terms)
    if found.get("owned_gpu") and "gpu" not in found:  # "we have 2 p5.48xlarge": plan on their GPU, as "8 H100s" does
        found["gpu"] = found["owned_gpu"]
    found.update(_forecast(text))
    if files:
        found["history"] = files[0]
    found.update(agent)
    return found


def _rates(low: str) -> Values:
    out: Values = {}
    volume = token_volume(low)
    low = without_volumes(low)  # "daily volume of 40M tokens" was 40 requests a day
    short = {"rps": 1.0, "qps": 1.0, "req/s": 1.0, "r/s": 1.0, "rpm": 60.0, "qpm": 60.0, "rph": 3600.0, "rpd": 86400.0}
    seen: dict[str, list[float]] = {}
    spans: dict[str, tuple[int, int]] = {}  # where each rate that was kept is said
    for match in re.finditer(rf"{_N}\s*(?P<short>rps|qps|req/s|r/s|rpm|qpm|rph|rpd)\b", low):
        key = _rate_key(low, match.start(), match.end())
        out[key] = _num(match) / short[match["short"]]
        spans[key] = match.span()
        seen.setdefault(key, []).append(out[key])
    noun = rf"(?:more\s+)?(?:user\s+|api\s+|llm\s+|inference\s+)?{REQ}"
    forms = (
        rf"{_N}\s*{noun}(?:{users.PER_USER_INSIDE})?{PER}(?P<unit>{TIME_UNIT})",
        # "50/s at peak and 10/s average" (the 50 was the average, the 10 dropped), "3M requests daily volume"
        rf"(?<![\w$.€£]){_N}\s*/\s*(?P<unit>s|secs?|seconds?|min|minutes?|h|hr|hours?|d|days?)(?![\w/])",
        rf"\b(?P<unit>daily|hourly|weekly|monthly)\s+(?:volume|traffic|load|requests?)\s*(?:is|of|=|:|~|at)?\s*"
        rf"(?:about\s+|around\s+|roughly\s+|~\s*)?{_N}(?!\s*(?:tokens?|toks?|users?|%))",
    )
    found = sorted((m for form in forms for m in re.finditer(form, low)), key=lambda m: m.start())
    for match in found:
        key = _rate_key(low, match.start(), match.end())
        if key == "rps" and _is_llm_calls(low, match.start()):
            continue
        value = _num(match) / seconds_in(PERIODS.get(match["unit"], match["unit"]))
        if key not in out:
            out[key], spans[key] = value, match.span()
        seen.setdefault(key, []).append(value)
    if "rps" not in out and (every := users.every_rate(low)) is not None:
        out["rps"], spans["rps"] = every[0], every[1:]
    if (
        not {"rps", "peak_rps"} & set(out) and (batch := users.batch_rate(low)) is not None
    ):  # not the peak again  # "2M documents within 24 hours"
        out["rps"] = batch
        if re.search(r"\bovernight\b", low):  # the window is a guess, said back
            out[UNSURE] = [*out.get(UNSURE, []), f"I took 'overnight' as {users.OVERNIGHT_HOURS:g} hours"]
    if (stated_users := users.user_count(low)) is not None:
        count, users_end = stated_users
        for key, (start, end) in spans.items():
            if users.said_per_user(low, users_end, start, end):
                out[key] *= count
                seen[key] = [rate * count for rate in seen.get(key, [])]
            else:
                out[UNSURE] = [*out.get(UNSURE, []), f"you gave {count:g} users and a rate that may be per user; I "
                                                      f"read {out[key]:g} requests/s in total"]  # fmt: skip
    else:  # "5 requests per user per hour" without a user count: the total is unknown, asked back
        for key, (start, end) in spans.items():
            if re.search(users.PER_USER_INSIDE, low[start:end]):
                out[UNSURE] = [*out.get(UNSURE, []), f"you gave a rate per user but no number of users; I read "
                                                      f"{out[key]:g} requests/s in total"]  # fmt: skip
    for key, rates in seen.items():  # "10 rps, 20 rps": two answers to one question, asked back (it took one silently)
        if len({round(r, 9) for r in rates}) > 1:
            shown = " and ".join(f"{r:g}" for r in rates)
            out[UNSURE] = [*out.get(UNSURE, []), f"you gave two {'peak ' if key == 'peak_rps' else ''}rates "
                                                  f"({shown} requests/s); I used {out[key]:g}"]  # fmt: skip
    if "rps" not in out and "peak_rps" in out:  # "15 qps at peak, 5 on average": the unit is the peak's
        # "150 rps at peak, 50 normally" (read by nothing before 2026-12-08)
        usual = r"on average|average|avg|normally|usually|typically|otherwise|off[- ]peak|the rest of the (?:day|time)"
        average = re.search(rf"{_N}\s*(?:rps|qps|req/s)?\s*(?:{usual})\b", low) or re.search(
            rf"(?:on average|average|avg)\s*(?:of|is|=|:|~|about|around)?\s*{_N}(?!\s*(?:tokens?|ms|s\b|sec|x\b|times))",
            low,
        )
        if average and _num(average) > 0:
            out["rps"] = _num(average)  # requests/s, as the peak's
    said = rf"\b(?:{REQ})\s*(?:/|per|a)\s*(?P<unit>{TIME_UNIT})\s*(?:of|is|=|:|~|at|about|around)?\s*{_N}"
    if "rps" not in out and (first := re.search(said, low)):  # "reqs per sec: 30"
        out["rps"] = _num(first) / seconds_in(first["unit"])
    if "rps" not in out:
        named = r"(?:rps|qps|requests per second|request rate|load|traffic)\s*(?:of|is|=|:|~|at|about)?"
        label = re.search(rf"{named}\s*{_N}", low)
        if label and not re.match(r"\s*(?:tokens?|ms|s\b|seconds?)", low[label.end() :]):
            out["rps"] = _num(label)
    peak = re.search(r"(?:peaks?|bursts?|spikes?)\D{0,12}?(\d+(?:\.\d+)?)\s*(?:x|×|times)(?![a-z0-9])", low)
    peak = peak or re.search(r"(\d+(?:\.\d+)?)\s*(?:x|×|times)\s+(?:at|in|during|the)?\s*(?:peaks?|busy|bursts?)", low)
    if peak:
        out["peak_multiplier"] = float(peak.group(1))
    elif (daily := users.daily_peak(low)) is not None:  # "traffic doubles at lunch"
        out["peak_multiplier"] = daily
    bare_form = rf"\bpeaks?\s*(?:of|is|=|:|at|~|around|about|maybe)?\s*{_N}(?!\s*(?:x|×|times|%|[a-z/]))"
    # "3 req/s avg, 10 at peak": the peak after its number (read by nothing before 2026-12-08)
    after = rf"(?<![\w.]){_N}\s+(?:at|in|during)\s+(?:the\s+)?(?:peak|busiest\s+hour)\b(?!\s*(?:hours?|times))"
    if not {"peak_rps", "peak_multiplier"} & set(out) and (
        ("rps" in out and (bare_peak := re.search(bare_form, low))) or (bare_peak := re.search(after, low))
    ):  # "..., sorry, 60 at peak": a correction's part holds no average, but says the peak all the same
        out["peak_rps"] = _num(bare_peak)  # "requests per second 20, peak 60": dropped before; its unit is a guess
        out[UNSURE] = [*out.get(UNSURE, []), f"I read {bare_peak[0]!r} as a peak of {_num(bare_peak):g} requests/s"]
    if not {"rps", "peak_rps"} & set(out):  # "50M tokens a day": a request rate once the request shape is known
        out.update(volume)
    elif volume:
        out[UNSURE] = [*out.get(UNSURE, []), "you gave a request rate and a token volume; I used the request rate"]
    in_flight = concurrency.stated(low)  # "200 concurrent users": requests in flight, a rate by Little's law
    if in_flight is not None and not {"rps", "peak_rps"} & set(out) and not volume:
        out["concurrency"] = in_flight[0]  # the rate follows from the plan's per-request time (chat.concurrency)
    elif stated_users is not None and not {"rps", "peak_rps"} & set(out) and not volume:  # "for 5000 users": asked
        out["users"] = stated_users[0]  # how often each sends a request (traffic.read_rps)
    if (grown := users.growth(low)) is not None:  # "expect 50% growth", "traffic will double"
        out["growth_rate"] = grown[0]
        if grown[1]:
            out[UNSURE] = [*out.get(UNSURE, []), *grown[1]]
    calls = re.search(rf"{_N}\s*(?:llm|model|inference|tool|sub-?)?\s*(?:calls?|invocations?|steps?|hops?|requests?)\s*"
                      r"(?:per|each|for each|every|/|in each|in every)\s*(?:user\s*|incoming\s*|agent\s*)?"
                      r"(?:requests?|query|queries|tasks?|turns?|runs?|conversations?|messages?)", low)  # fmt: skip
    calls = calls or re.search(rf"(?:makes?|does|triggers?|with|fans? out to|calls? the (?:llm|model))\s+{_N}\s*"
                               r"(?:llm\s+|model\s+|tool\s+)?(?:calls?|times|requests?|invocations?)\b"
                               rf"(?!{PER}{TIME_UNIT})", low)  # fmt: skip  # "with 10 requests a day": a rate
    if calls:
        out["llm_calls"] = _num(calls)
        out["agent"] = True
    return out


def _rate_key(low: str, start: int, end: int) -> str:
    """ "rps" or "peak_rps" when the rate is said to be the peak ("peak of 60 rps")."""
    before = low[max(0, start - 24) : start]
    after = low[end : end + 16]
    if re.match(r"\s*(?:on\s+)?(?:average|avg|mean)\b", after):  # "50/s at peak and 10/s average"
        return "rps"
    peak = re.search(r"\b(peaks?|busiest|max(imum)?|spikes?|bursts?)\b", before) or re.search(
        r"^\s*(?:(?:at|in|during)\s+)?peak\b", after
    )
    return "peak_rps" if peak else "rps"


def _is_llm_calls(low: str, start: int) -> bool:
    return bool(re.search(r"\b(llm|model)\s*$", low[max(0, start - 8) : start]))


def _tokens(low: str) -> Values:
    out: Values = {}
    low = without_volumes(low)  # "5M output tokens a day" is a load, not a length
    tok = r"(?:\s*(?:tokens?|toks?))?"
    pair = re.search(rf"{numbered('a')}{tok}\s*(?:/|in\s*(?:,|and|/)?|input\s*(?:,|and|/)?)\s*"
                     rf"{numbered('b')}{tok}\s*(?:out|output)?", low)  # fmt: skip
    stated = (
        bool(pair)
        and ("token" in low or re.search(r"(?<![a-z])(in|input)\b", low))  # "2000in/500out"
        and re.search(r"(?<![a-z])(out|output|tokens?)", low)
    )
    # "2k/500", "2k in 500 out"; "1k input, 2 rps" is no pair (it was 2 tokens out)
    marked = pair is not None and ("/" in pair.group(0) or re.search(r"(?:out|output)$", pair.group(0)) is not None)
    if pair and stated and marked and ("/" in pair.group(0) or re.search(r"(?<![a-z])(in|input)\b", pair.group(0))):
        for key, group in (("input_tokens", "a"), ("output_tokens", "b")):
            out[key] = stated_count(_num(pair, group))  # "0.5 in", "0 out": refused, saying what is accepted
        return out
    # "outputs are long, like 4000 tokens" (read by nothing before 2026-12-08: the default 300 out was planned)
    fill = (r"(?:\s*(?:of|is|are|=|:|~|about|around|length|up to|on average|average|avg|typically|usually|roughly|"
            r"long|quite long|short|like|maybe|approximately|approx\.?|,\s*(?:like|maybe|say|about|around|roughly)))*")  # fmt: skip
    word = r"(?:[\s-]*(?:tokens?|toks?))?"  # "300-token answers"
    # "8k tokens of context" is the prompt; a bare "32k context" is the window (serving_terms), not also a prompt
    ins = (rf"{_N}{tok}\s*(?:in|input|of input|of prompt)\b",
           rf"{_N}\s*(?:tokens?|toks?)\s*(?:of\s*)?context(?![ -]?(?:window|length|len|size)\b)",
           rf"{_N}\s*(?:tokens?|toks?)\s*prompts?\b",
           rf"{_N}\s*(?:prompt|input)\s+(?:tokens?|toks?)\b",  # "avg 3k prompt tokens"
           rf"(?:inputs?|prompts?)\s*\(\s*(?:~\s*|about\s+|around\s+)?{_N}\s*(?:tokens?|toks?)?\s*\)",  # "prompts (8k)"
           rf"(?:inputs?|prompts?)(?:\s*tokens?)?{fill}\s*{_N}(?!\s*{REQ})")  # fmt: skip
    outs = (
        # "500 completions per minute" is a rate, not 500 tokens out
        rf"{_N}{word}\s*(?:out|output|completions?|responses?|answers?|generated|of output)\b(?!{PER}{TIME_UNIT})",
        rf"(?:output|outputs|completions?|responses?|answers?|replies|generates?|generating)(?:\s*tokens?)?\s*"
        # "we answer 5 questions per second" is a rate, not 5 tokens out (it was both)
        rf"{fill}\s*{_N}\s*(?:tokens?|toks?)?(?!\s*(?:ms|s\b|seconds?|{REQ}|[a-z]+{PER}{TIME_UNIT}))",
    )
    labelled = [m.span("num") for m in re.finditer(rf"\b(?:inputs?|prompts?)\s*(?:tokens?)?\s*[:=]?\s*{_N}", low)]
    for key, patterns in (("input_tokens", ins), ("output_tokens", outs)):
        for pattern in patterns:
            match = re.search(pattern, low)
            if match and key == "output_tokens" and match.span("num") in labelled:
                continue  # "input 2,000 output 500": the 2,000 is the input's, not "2,000 output" (it was)
            if match and (key == "output_tokens" or "token" in low or "prompt" in low):
                out[key] = stated_count(_num(match))
                break
    if users.is_batch_job(low):  # "documents of 3k tokens each into 200 tokens"
        each = re.search(rf"(?:documents?|docs?|files?|items?|records?|pages?|articles?|tickets?|emails?|rows?)\s+"
                         rf"of\s+(?:about\s+|around\s+|~\s*)?{_N}\s*tokens?", low)  # fmt: skip
        into = re.search(rf"\binto\s+(?:about\s+|around\s+|~\s*)?{_N}[- ]?tokens?", low)
        for key, match in (("input_tokens", each), ("output_tokens", into)):
            if match and key not in out:
                out[key] = stated_count(_num(match))
    prompt = re.search(rf"{_N}[- ]tokens?\s+(?:prompts?|requests?|inputs?)", low) if "input_tokens" not in out else None
    # "4k prompts": a length with its k and no word tokens (read by nothing before 2026-12-08); "4k prompts a day" is
    # a count of prompts, a rate
    prompt = prompt or (re.search(rf"(?<![\w.]){_N}(?<=k)[- ]?(?:prompts?|inputs?)\b(?!{PER}{TIME_UNIT})", low)
                        if "input_tokens" not in out else None)  # fmt: skip
    if prompt:
        out["input_tokens"] = stated_count(_num(prompt))
    said_each = rf"{_N}[- ]?(?:tokens?|toks?)\s+(?:per|each|an?)\s+(?:request|query|call)\b(?!\s*(?:out|output))"
    if "input_tokens" not in out and (
        per_request := re.search(said_each, low)
    ):  # "2.5k tokens per request": the prompt?
        out["input_tokens"] = stated_count(_num(per_request))
        out[UNSURE] = [f"I read {per_request[0]!r} as the tokens in (the prompt)"]
    return out


def _forecast(text: str) -> Values:
    out: Values = {}
    low = text.lower()
    unit = r"(hours?|days?|weeks?|months?|quarters?|years?)\b"
    horizon = re.search(r"(?:next|ahead|horizon|over|for|coming|forecast|predict)\s*(?:the\s*)?(?:next\s*)?"
                        rf"(\d+)?\s*{unit}", low)  # fmt: skip
    horizon = horizon or re.search(rf"(\d+)\s*{unit}\s*(?:ahead|out|from now|into the future)", low)  # "2 weeks ahead"
    if horizon:
        out["horizon"] = horizon_text(float(horizon.group(1) or 1), horizon.group(2))
    return out


def horizon_text(count: float, unit: str) -> str:
    """A ``--horizon`` for ``gpucast predict``: (2, "weeks") -> "14d"; (48, "hours") -> "48h"."""
    unit = unit.lower().rstrip("s")
    if unit in ("h", "hour", "hr"):
        return f"{max(1, round(count))}h"
    days = {"d": 1, "day": 1, "w": 7, "week": 7, "month": 30, "mo": 30, "quarter": 91, "year": 365}[unit]
    return f"{max(1, round(count * days))}d"


def yes_no(text: str) -> bool | None:
    """True for yes-like answers, False for no-like ones, None otherwise."""
    low = re.sub(r"[!.?]+$", "", text.strip().lower())
    if re.fullmatch(rf"{YES}(\s*,?\s*(please|thanks|thank you|sure|go ahead|do it))?", low):
        return True
    if re.fullmatch(rf"{NO}(\s*,?\s*(thanks|thank you))?", low):
        return False
    return None


def looks_like_file(text: str) -> str | None:
    """``text`` when it names an existing file or a data file path, else None."""
    candidate = text.strip().strip("'\"")
    if candidate and (Path(candidate).expanduser().is_file() or re.search(r"\.(csv|json|parquet|tsv)$", candidate)):
        return candidate
    return None


def bare_number(text: str) -> float | None:
    """The only number of a short answer ("20", "about 1.2k", "~3 million"), else None."""
    clean = _clean(text).lower()
    numbers = re.findall(r"(?<![a-z\d.,])\d+(?:[.,]\d+)*", clean)
    if len(numbers) != 1 or len(re.findall(r"\d+(?:[.,]\d+)*", clean)) != 1:
        return None
    value = first_number(clean)
    return -value if value is not None and re.search(r"(?<![a-z\d])-\s*\d", clean) else value
