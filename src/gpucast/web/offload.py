"""Where the server computes plans: cache hits on the event loop, misses on a few worker threads.

``gpucast serve`` runs one event loop per process (uvicorn) plus a thread pool for handlers that block. A
cached plan or page is answered on the loop in well under a millisecond; a new question costs a capacity search
(~10 ms for a plan, ~50-100 ms for a plan page with its GPU x cloud comparison at p99 SLOs), pure Python that
holds the GIL. Computed on the loop it would stall every other request for that long; computed on the general
thread pool (40 threads), a burst of new questions would run up to 40 searches at once, each taking the GIL in
turn, and the loop — which reads every request and writes every answer — would get one turn in 40.

So misses run here, in *lanes* of one thread each, first come first served: ``plan`` for the JSON API's plans
(short) and ``page`` for plan pages (long: plan, curve and comparison), so a short plan never waits behind a
queue of pages. Waiting requests use no CPU, and cheap ones (cache hits, the catalog, the form) keep flowing on
the loop. More threads per lane would not compute faster (the GIL runs one at a time); ``gpucast serve
--workers N`` adds processes, which do. :data:`SWITCH_INTERVAL_S` is how soon a computing thread hands the GIL
back to the loop when the loop has work (Python's default, 5 ms, adds up to 5 ms to every cheap request
that arrives during a search). On a machine crowded by other processes each handoff also waits for the OS to
run the loop's thread, so a shorter interval would trade throughput for latency; 1 ms is the compromise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")
Lane = Literal["plan", "page"]

LANE_THREADS = 1  # threads per lane
SWITCH_INTERVAL_S = 0.001  # sys.setswitchinterval of a serving process (see the module's text)


def tune_interpreter() -> None:
    """Called once by ``gpucast serve`` in each server process (not by tests that build the app)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def limiter(state: Any, lane: Lane) -> anyio.CapacityLimiter:
    """The app's limiter of one lane (made on first use, inside the event loop that uses it)."""
    limiters: dict[str, anyio.CapacityLimiter] | None = getattr(state, "plan_limiters", None)
    if limiters is None:
        limiters = state.plan_limiters = {}
    if lane not in limiters:
        limiters[lane] = anyio.CapacityLimiter(LANE_THREADS)
    return limiters[lane]


async def compute(state: Any, lane: Lane, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on the lane's thread (see the module's text); its exception is raised here."""
    return await anyio.to_thread.run_sync(function, *args, limiter=limiter(state, lane))
