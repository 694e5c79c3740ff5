"""Readers of the traffic answers: the average rate, how peaky it is, and the latency target.

Each reads a short answer to its own question ("20", "3x", "2 seconds") after ``normalize`` has cleaned the
text. A number that carries a time unit is a duration, never a rate: "TTFT under 1s" answered to the load
question is a latency target (read by ``parse.extract``), not 1 request/s (issue 23). A reading that is a
guess carries ``UNSURE`` reasons, and the session asks the user to confirm it.
"""

from __future__ import annotations

import re

from .errors import AnswerError
from .numbers import NUMBER, TIME_UNIT, digits_for_words, number_value, seconds_in
from .parse import REQ, bare_number
from .serving_terms import LEVEL, stated_percentile
from .users import ITEMS, user_count
from .values import UNSURE, Values

DURATION = r"(?:ms|milliseconds?|msec|s|secs?|seconds?|minutes?|mins?)(?![a-z/])"
PEAK_LIMIT = 100.0  # a peak above 100x the daily average is a typo, not traffic
LARGE_RATE = 10_000.0  # req/s: more than any single service in the calibration data; asked back
# a rate with its period: "1.2k per minute", "20 requests a day", "2 million documents per day" (a batch job's work
# items, each one request; the average rate and each user's)
_RATE = re.compile(rf"{NUMBER}\s*(?:(?:{REQ}|{ITEMS})\s*)?(?:/|per|a|an|each|every)\s*(?P<unit>{TIME_UNIT})")


def read_rps(text: str, answers: Values) -> Values:
    """ "20", "20 rps", "1.2k per minute", "3M a day": requests per second on average. After a user count without a
    rate ("for 5000 users"), the question asks how often each user sends one: its answer is per user
    (:func:`_per_user`) unless it says it is the total."""
    clean = digits_for_words(text.lower())
    if per_user_answer(clean, answers):
        return _per_user(clean, float(answers["users"]))
    rate = _RATE.search(clean)
    if rate and number_value(rate["num"], rate["mult"]) > 0:
        return {"rps": number_value(rate["num"], rate["mult"]) / seconds_in(rate["unit"])}
    if re.search(rf"{NUMBER}\s*{DURATION}", clean) or re.search(r"\d.*(?:\bper\b|\bevery\b|/)\s*[a-z]+", clean):
        raise AnswerError("That reads as a time or an unknown unit, not a rate: give requests per second, e.g. '20', "
                          "'20 rps' or '1.2k requests per minute'.")  # fmt: skip
    if (stated := user_count(clean)) is not None:  # "300 users" is a head count, not 300 requests/s
        raise AnswerError(f"{stated[0]:g} users is not a rate: say how often each sends a request, e.g. "
                          f"'{stated[0]:g} users, each sending 20 messages a day', or the total, e.g. '5 rps'.")  # fmt: skip
    value = bare_number(text)
    if value is None or value <= 0:
        raise AnswerError("I need one number greater than 0 for the request rate, e.g. '20', '20 rps' or "
                          "'1.2k requests per minute'.")  # fmt: skip
    if value >= LARGE_RATE:
        return {"rps": value, UNSURE: [f"{value:,.0f} requests every second is a very large load (did you mean per "
                                       "minute or per day?)"]}  # fmt: skip
    return {"rps": value}


_TOTAL = r"\b(?:rps|qps|req/s|r/s|in total|total|overall|altogether|all together|across all|for all)\b"


def per_user_answer(text: str, answers: Values) -> bool:
    """Whether an answer to the rate question is each user's rate: users were stated without a rate ("for 5000
    users"), and the answer neither says it is the total nor states its own user count (which ``parse`` multiplies)."""
    low = text.lower()
    return "users" in answers and not re.search(_TOTAL, low) and user_count(digits_for_words(low)) is None


def _per_user(clean: str, count: float) -> Values:
    """The total rate of ``count`` users from how often each sends a request: "20 a day", "20 messages a day each",
    "one every 30 seconds", a bare "20" (per day, as the question asks, and said so)."""
    every = re.search(rf"\bevery\s+(?:(?P<n>\d+(?:\.\d+)?)\s*)?(?P<unit>{TIME_UNIT})", clean)  # "one every 30 s"
    rate = _RATE.search(clean)
    if every is not None and float(every["n"] or 1.0) > 0:
        return {"rps": count / (float(every["n"] or 1.0) * seconds_in(every["unit"]))}
    if rate and number_value(rate["num"], rate["mult"]) > 0:
        return {"rps": number_value(rate["num"], rate["mult"]) / seconds_in(rate["unit"]) * count}
    value = bare_number(clean)
    if value is None or value <= 0:
        raise AnswerError(f"Say how often each of the {count:,.0f} users sends a request, e.g. '20 a day' or 'one every "
                          "30 seconds', or the total, e.g. '5 rps in total'.")  # fmt: skip
    return {"rps": value / 86_400 * count,
            UNSURE: [f"I read {value:g} as {value:g} requests a day per user, {value * count:,.0f} a day in all"]}  # fmt: skip


def read_peak(text: str, answers: Values) -> Values:
    """ "3x", "2 to 3 times", "double", "flat", "50% above average", or a peak rate "60 rps" (-> ``peak_rps``)."""
    low = digits_for_words(text.strip().lower())
    if re.search(r"\b(flat|steady|constant|even|smooth|no (?:real )?peaks?|none|same)\b", low):
        return {"peak_multiplier": 1.0}
    words = {"double": 2.0, "twice": 2.0, "doubles": 2.0, "triple": 3.0, "triples": 3.0, "thrice": 3.0,
             "quadruple": 4.0}  # fmt: skip
    for word, value in words.items():
        if re.search(rf"\b{word}\b", low):
            return {"peak_multiplier": value}
    times = re.search(r"(\d+(?:\.\d+)?)\s*(?:x|times)(?![a-z])", low) or re.search(r"\bx\s*(\d+(?:\.\d+)?)\b", low)
    if times:
        return {"peak_multiplier": _multiplier(float(times.group(1)))}
    percent = re.search(r"(\d+(?:\.\d+)?)\s*%\s*(?:more|higher|above|over|up)", low)
    if percent:
        return {"peak_multiplier": _multiplier(1.0 + float(percent.group(1)) / 100.0)}
    rate = re.search(rf"{NUMBER}\s*(?:rps|qps|req/s|{REQ}\s*)?(?:/|per|a|an|each|every)\s*(?P<unit>{TIME_UNIT})", low)
    rate = rate or re.search(rf"{NUMBER}\s*(?:rps|qps|req/s|r/s)\b", low)
    if rate:
        unit = rate.groupdict().get("unit")
        return {"peak_rps": number_value(rate["num"], rate["mult"]) / (seconds_in(unit) if unit else 1.0)}
    bare = bare_number(text)
    if bare is None:
        raise AnswerError("Say how many times the average the busiest hour reaches, e.g. '2x', '3 times', 'double' "
                          "or 'flat', or the peak rate, e.g. '60 rps'.")  # fmt: skip
    value = bare
    if value > 10:
        return {"peak_rps": value, UNSURE: [f"I read {value:g} as a peak of {value:g} requests/s (say e.g. '3x' for "
                                            "a multiple of the average)"]}  # fmt: skip
    return {"peak_multiplier": _multiplier(value)}


def _multiplier(value: float) -> float:
    if value < 1.0:
        raise AnswerError(f"A peak of {value:g}x is below the average: the busiest hour is at least 1x the average "
                          "('flat' for steady traffic).")  # fmt: skip
    if value > PEAK_LIMIT:
        raise AnswerError(f"A peak of {value:g}x the average is more than {PEAK_LIMIT:g}x: give e.g. '3x', or the "
                          "peak rate, e.g. '60 rps'.")  # fmt: skip
    return value


def read_latency(text: str, answers: Values) -> Values:
    """ "2 seconds", "500 ms", "under a second", "p99 under 2s"; a bare "2" is seconds and "500" milliseconds,
    both asked back; "no limit" (or "no latency requirement") is 10 s."""
    low = digits_for_words(text.strip().lower())
    # a lone "no" is "no limit"; "no, H200" is a correction of another answer, not a 10 s target
    if re.fullmatch(r"\W*no\W*", low) or re.search(
        r"\b(none|no\s+(?:[a-z-]+\s+)?(?:limit|target|requirement|constraint|sla|slo|rush|deadline|preference)s?|"
        r"don'?t care|whatever|relaxed|batch|offline)\b", low):  # fmt: skip
        return {"ttft_ms": 10_000.0}
    statistic, doubts = stated_percentile(low, words=True)  # "p50 under 500 ms": the plan bounds that percentile
    low = LEVEL.sub(" ", low)  # the statistic's own number is no time
    numbers = re.findall(r"(?<![a-z\d.])(\d+(?:\.\d+)?)\s*(ms|milliseconds?|msec|s|secs?|seconds?|mins?|minutes?)?"
                         r"(?![a-z\d])", low)  # fmt: skip
    if len(numbers) != 1:
        raise AnswerError("Give one time such as '2 seconds', '500 ms' or 'p99 under 2s'.")
    value, unit = float(numbers[0][0]), numbers[0][1]
    if value <= 0:
        raise AnswerError("The time must be greater than 0, e.g. '2 seconds'.")
    guess: list[str] = []
    if not unit:
        unit = "s" if value <= 60 else "ms"  # a bare "2" means seconds, a bare "500" milliseconds
        guess = [f"no unit given: I read {value:g} as {value:g} {'seconds' if unit == 's' else 'ms'}"]
    factor = 60_000.0 if unit.startswith("min") else 1.0 if unit.startswith("m") else 1000.0
    key = "ttft_ms"
    if re.search(r"\b(e2e|end[- ]to[- ]end|total|whole|full|complete|entire)\b", low):
        key = "e2e_ms"
    elif re.search(r"\b(itl|inter[- ]?token|per[- ]token|between tokens|tpot|token every|each token)\b", low):
        key = "itl_ms"
    guess += doubts
    named = {"slo_percentile": statistic} if statistic is not None else {}
    return {key: value * factor, **named, **({UNSURE: guess} if guess else {})}
