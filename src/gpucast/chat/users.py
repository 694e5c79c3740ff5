"""Load stated without a rate: through users ("10k users, each sends about 20 messages a day", "200 concurrent users,
each sending a request every 30 seconds"), an interval ("a request every 30 seconds") or a batch job ("summarize 2
million documents of 3k tokens within 24 hours"). A rate said per user is multiplied by the users; a rate beside a
user count that does not say whether it is per user is read as the total and asked back. Without this, "10k users,
each sends 20 messages a day" was planned as 20 messages a day in all, 10,000 times too few (2026-12-07)."""

from __future__ import annotations

import re

from .numbers import TIME_UNIT, number_value, numbered, seconds_in

_USERS = re.compile(
    numbered("u") + r"\s*(?:(?:daily|weekly|monthly)\s+)?(?:(?:concurrent|active|simultaneous|registered|internal)\s+)?"
    r"(?:users?|customers?|people|employees?|engineers?|developers?|analysts?|students?|staff|seats?|"
    r"agents? using it|daus?|maus?|wau)\b"
)
# "each", "per user", "every user", "apiece" beside the rate; "users making / sending / who ask ..." right after them
_PER_USER = r"\b(?:each|per (?:user|person|customer|employee|head|seat)|every (?:user|one)|a user|apiece)\b"
# "5 requests per user per hour": the rate's own words say it is per user
PER_USER_INSIDE = r"\s+(?:per|each|a|for each|every)\s+(?:user|person|customer|employee|seat|head)"
_USER_VERB = r"\s*,?\s*(?:each\s+)?(?:who\s+|that\s+)?(?:mak|send|do|ask|submit|us|generat|run|post|writ)\w*\b"
# "a request every 30 seconds", "one message every 2 minutes": 1 / interval
EVERY = (
    r"\b(?:a|an|one|1)\s+(?:requests?|queries|query|calls?|messages?|prompts?|questions?|chats?)\s+every\s+"
    rf"(?:(?P<num>\d+(?:\.\d+)?)\s*)?(?P<unit>{TIME_UNIT})"
)


def every_rate(low: str) -> tuple[float, int, int] | None:
    """(requests/s, start, end) of "a request every 30 seconds" in ``low``, or None."""
    match = re.search(EVERY, low)
    if match is None:
        return None
    interval = float(match["num"] or 1.0) * seconds_in(match["unit"])
    return (1.0 / interval, match.start(), match.end()) if interval > 0 else None


def user_count(low: str) -> tuple[float, int] | None:
    """(users, end of the phrase) of the first user count in ``low`` ("10k users", "200 concurrent users")."""
    match = _USERS.search(low)
    if match is None:
        return None
    count = number_value(match["numu"], match["multu"])
    return (count, match.end()) if count > 0 else None


def said_per_user(low: str, users_end: int, start: int, end: int) -> bool:
    """Whether the rate at ``low[start:end]`` is said per user: "each" or "per user" just before or after it, or a
    verb right after the user count ("1000 users making 2 requests per minute")."""
    before = low[max(users_end, start - 30) : start]
    after = low[end : end + 20]
    if re.search(_PER_USER, before) or re.search(_PER_USER, after) or re.search(PER_USER_INSIDE, low[start:end]):
        return True
    return 0 <= start - users_end <= 40 and re.match(_USER_VERB, low[users_end:start]) is not None


# a batch job is work to serve, not data to train on: "summarize 2 million documents of 3k tokens each into 200
# tokens within 24 hours" was read as a 6-billion-token fine-tune (2026-12-07)
_SERVING_TASK = (
    r"\b(?:summari[sz]\w*|classif\w*|translat\w*|extract\w*|label\w*|tag(?:ging)?|embed\w*|"
    r"transcri\w*|answer\w*|serv(?:e|ing)|inference|batch (?:job|inference|processing)|process\w*)\b"
)
_TRAINING_WORDS = r"\b(?:train\w*|fine[- ]?tun\w*|q?lora|epochs?|pre-?train\w*|sft|dpo|rlhf)\b"
ITEMS = r"(?:documents?|docs?|files?|items?|records?|pages?|articles?|tickets?|emails?|rows?|prompts?|requests?)"
_BATCH = (numbered("i") + rf"\s*{ITEMS}\b.*?"
          r"(?:\b(?:within|in|over|every|per|each)\s+(?:a\s+|one\s+|(?P<tnum>\d+(?:\.\d+)?)\s*)?"
          rf"(?P<tunit>{TIME_UNIT})|\b(?P<night>overnight)\b)")  # fmt: skip
OVERNIGHT_HOURS = 12.0  # "overnight": an evening to the next morning, e.g. 19:00 to 07:00, said back as a guess


def is_training(low: str) -> bool:
    """Whether ``low`` speaks of training (fine-tuning, LoRA, epochs)."""
    return re.search(_TRAINING_WORDS, low) is not None


def is_batch_job(low: str) -> bool:
    """Whether ``low`` describes work to serve (a serving task word, no training word)."""
    return re.search(_SERVING_TASK, low) is not None and re.search(_TRAINING_WORDS, low) is None


def batch_rate(low: str) -> float | None:
    """Requests/s of a batch job ("2 million documents ... within 24 hours" -> 23.1), or None."""
    if not is_batch_job(low):
        return None
    match = re.search(_BATCH, low)
    if match is None:
        return None
    # "summarize 1M documents overnight": read by nothing before 2026-12-08
    window = OVERNIGHT_HOURS * 3600.0 if match["night"] else float(match["tnum"] or 1.0) * seconds_in(match["tunit"])
    count = number_value(match["numi"], match["multi"])
    return count / window if window > 0 and count > 0 else None


# growth the plan sizes for (``--growth-rate``, percent on top of the peak): "expect 50% growth", "traffic will
# double"; a period ("every 6 months") is not a plan setting, so it is asked back
_GROWTH = (
    r"(?:grow(?:th|s|ing)?|increase|rise|up)\s+(?:of\s+|by\s+)?(?:about\s+|around\s+|~\s*)?(\d+(?:\.\d+)?)\s*%",
    r"(\d+(?:\.\d+)?)\s*%\s+(?:more\s+(?:traffic|load|requests|users)|(?:traffic\s+|load\s+)?(?:growth|increase))",
)
_MULTIPLES = {
    "double": 100.0,
    "doubles": 100.0,
    "doubling": 100.0,
    "triple": 200.0,
    "triples": 200.0,
    "tripling": 200.0,
    "twofold": 100.0,
    "threefold": 200.0,
    "quadruple": 300.0,
    "quadruples": 300.0,
    "fourfold": 300.0,
    "fivefold": 400.0,
    "tenfold": 900.0,
}  # not "2x": a peak


# a time of day beside a multiple: the day's busiest hours over its average, not growth ("traffic doubles at lunch"
# was a plan for +100% growth on top of the default 1.5x peak)
_TIME_OF_DAY = (r"\b(?:at|around|during|in|over)\s+(?:the\s+)?(?:lunch(?:time)?|noon|midday|evenings?|mornings?|"
                r"nights?|business hours|office hours|working hours|work hours|daytime|rush hours?|busiest hours?|"
                r"peak(?: hours?| times?)?)\b")  # fmt: skip


def daily_peak(low: str) -> float | None:
    """The peak multiplier of a multiple said with a time of day ("traffic doubles at lunch": 2x), or None."""
    multiple = re.search(r"\b(" + "|".join(_MULTIPLES) + r")\b[^.;,]{0,30}?" + _TIME_OF_DAY, low) or re.search(
        _TIME_OF_DAY + r"[^.;,]{0,30}?\b(" + "|".join(_MULTIPLES) + r")\b", low
    )
    return 1.0 + _MULTIPLES[multiple[1]] / 100.0 if multiple else None


def growth(low: str) -> tuple[float, list[str]] | None:
    """(growth in percent, doubts) stated in ``low``, or None."""
    for pattern in _GROWTH:
        if match := re.search(pattern, low):
            return float(match[1]), []
    multiple = re.search(r"\b(?:traffic|load|usage|requests|users|demand)\b[^.;]{0,30}?\b(" + "|".join(_MULTIPLES)
                         + r")\b|\b(" + "|".join(_MULTIPLES) + r")\b[^.;]{0,20}?\b(?:traffic|load|usage|users)\b",
                         low)  # fmt: skip
    if multiple is None or re.search(r"\b(?:peaks?|busiest|bursts?|spikes?)\b", multiple[0]) or daily_peak(low):
        return None  # "peak traffic doubles the average", "traffic doubles at lunch": the peak multiplier's
    percent = _MULTIPLES[multiple[1] or multiple[2]]
    period = re.search(r"\b(?:every|each|per|in|within|over|by)\s+(?:the\s+next\s+)?(?:\d+\s*)?(?:months?|years?|"
                       r"quarters?|weeks?)\b", low)  # fmt: skip
    doubts = [f"the plan sizes for one growth step on top of the peak: I used +{percent:g}%"] if period else []
    return percent, doubts
