"""A concurrent load ("200 concurrent users", "100 users at once", "50 simultaneous users", "300 requests in flight")
as the request rate the planner sizes for.

What an experienced capacity planner reads in "N concurrent users": N requests in flight at the busiest time, each
user waiting for its answer before sending the next (a closed loop, as a load test's ``--concurrency N`` /
``--max-concurrency N`` runs it), not a population that sends at some unknown rate. By Little's law the request rate
of a closed loop is N / W, W the time one request takes (TTFT + the output tokens x the token latency): the rate
follows from the deployment itself. A replica planned within the targets holds ``concurrency_per_replica`` requests
in flight at ``rps_per_replica`` (``plan.throughput``, the replica's operating point at its capacity within the
targets, the same Little's law: ``docs/plan-deployment.md``), so W = concurrency / rps per replica and the peak rate
is N x rps_per_replica / concurrency_per_replica. The planner then sizes ceil(N x (1 + margin) / concurrency per
replica) replicas: N in flight spread over replicas that each hold their share within the targets. That operating
point depends on the GPU and layout, not on the total rate, so the plan is made again with the derived rate until
the rate settles (twice in practice; where the GPU is not pinned the cheapest one can change with the rate, and
the first plan sized above what its own operating point needs is kept). The stated concurrency is the peak; the average is the peak / the default
peak multiplier (1.5x), so the plan keeps fewer replicas off-peak. Users who pause between messages (a think time)
send less: they are read as a rate per user instead ("200 users, each sending a message every 30 s").

Before 2026-12-08 "200 concurrent users" was a user count and the rate question asked how often each sends a
request; ``gpucast estimate --concurrency N`` (closed loop) is the same load on a fixed fleet.
"""

from __future__ import annotations

import re
from typing import Any

from ..wording import rate
from .numbers import number_value, numbered
from .values import Values

# "200 concurrent users", "50 simultaneous users", "100 users at once / at the same time / concurrently",
# "300 concurrent requests", "300 requests in flight", "concurrency of 200", "200 concurrent sessions"
_WHO = r"(?:users?|customers?|people|sessions?|connections?|requests?|queries|chats?|conversations?|streams?)"
_FORMS = (
    re.compile(numbered("c") + rf"\s*(?:concurrent|simultaneous|parallel|active\s+concurrent)\s+{_WHO}\b"),
    re.compile(
        numbered("c") + rf"\s*{_WHO}\s+(?:at once|at (?:the )?same time|concurrently|simultaneously|"
        r"in parallel|in flight|in-flight|in progress)\b"
    ),
    # "50 of them active at the same time", "maybe 40 users online at once"
    re.compile(
        numbered("c")
        + rf"\s*(?:of them|{_WHO}|engineers?|developers?|employees?)\s+(?:are\s+|being\s+)?"
        + r"(?:active|online|connected|using it|on it|chatting)\s+(?:at once|at (?:the )?same time|concurrently|"
        + r"simultaneously)\b"
    ),
    re.compile(
        r"\b(?:concurrency|max[- ]?concurrency|in[- ]flight)\s*(?:of|is|=|:|~|at|about|around)?\s*"
        + numbered("c")
        + r"(?!\s*(?:ms|s\b|%|x\b))"
    ),
)
ROUNDS = 4  # plans made at most to settle the rate (it settles at the second: the operating point is per replica)


def stated(low: str) -> tuple[float, int, int] | None:
    """(requests in flight, start, end) of a concurrent load said in ``low``, or None."""
    for form in _FORMS:
        if (match := form.search(low)) is not None:
            count = number_value(match["numc"], match["multc"])
            if count > 0:
                return count, match.start(), match.end()
    return None


def first_guess(values: Values) -> float:
    """A peak rate to make the first plan with: N / (TTFT target + output tokens x 50 ms); the plan corrects it."""
    seconds = float(values.get("ttft_ms") or 2000.0) / 1000.0 + float(values["output_tokens"]) * 0.05
    return float(values["concurrency"]) / max(seconds, 0.05)


def peak_rate(concurrency: float, throughput: Any) -> float | None:
    """N in flight as requests/s at a replica's operating point (Little's law), or None where the plan meets no
    target (no operating point within them)."""
    in_flight, per_s = float(throughput.concurrency_per_replica), float(throughput.rps_per_replica)
    if not throughput.meets_latency_sla or in_flight <= 0 or per_s <= 0:
        return None
    return concurrency * per_s / in_flight


def explanation(concurrency: float, throughput: Any, peak: float, multiplier: float, compared_on: str = "") -> str:
    """The paragraph that says how the concurrency became the rate the plan is sized for; ``compared_on``: the GPU of
    the plan whose request time gave the rate every GPU of a comparison is ranked at."""
    seconds = float(throughput.concurrency_per_replica) / float(throughput.rps_per_replica)
    where = f"{compared_on}, the cheapest plan's GPU," if compared_on else "this plan"
    held = ("; every GPU above is ranked at that rate (its own request time would give its own)" if compared_on else
            f", so the copies sized for it hold the {concurrency:,.0f} within the targets")  # fmt: skip
    return (f"Load from concurrency: {concurrency:,.0f} requests in flight at once (users each waiting for their "
            f"answer, as a load test's concurrency) is, by Little's law, {concurrency:,.0f} / {seconds:.2f} s (the "
            f"time one request takes on {where} at the load each copy carries within the targets) = {rate(peak)} "
            f"requests/s at peak{held}. I took it as the peak and the average as 1/{multiplier:g} of it. If your "
            "users pause between messages, give their rate instead (e.g. 'a message every 30 s each'): they then send "
            "less.")  # fmt: skip
