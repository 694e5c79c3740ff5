"""Load stated through users: "10k users, each sends about 20 messages a day", "200 concurrent users, each sending
a request every 30 seconds". A rate said per user is multiplied by the users; a rate beside a user count that does
not say whether it is per user is read as the total and asked back. Without this, "10k users, each sends 20 messages
a day" was planned as 20 messages a day in all, 10,000 times too few (2026-12-07)."""

from __future__ import annotations

import re

from .numbers import NUMBER, TIME_UNIT, number_value, seconds_in

_USERS = re.compile(
    NUMBER.replace("(?P<num>", "(?P<unum>").replace("(?P<mult>", "(?P<umult>")
    + r"\s*(?:(?:daily|weekly|monthly)\s+)?(?:(?:concurrent|active|simultaneous|registered|internal)\s+)?"
    r"(?:users?|customers?|people|employees?|seats?|agents? using it)\b"
)
# "each", "per user", "every user", "apiece" beside the rate; "users making / sending / who ask ..." right after them
_PER_USER = r"\b(?:each|per (?:user|person|customer|employee|head|seat)|every (?:user|one)|a user|apiece)\b"
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
    count = number_value(match["unum"], match["umult"])
    return (count, match.end()) if count > 0 else None


def said_per_user(low: str, users_end: int, start: int, end: int) -> bool:
    """Whether the rate at ``low[start:end]`` is said per user: "each" or "per user" just before or after it, or a
    verb right after the user count ("1000 users making 2 requests per minute")."""
    before = low[max(users_end, start - 30) : start]
    after = low[end : end + 20]
    if re.search(_PER_USER, before) or re.search(_PER_USER, after):
        return True
    return 0 <= start - users_end <= 40 and re.match(_USER_VERB, low[users_end:start]) is not None
