"""Where the server computes plans: cache hits on the event loop, misses on a few worker threads.

``gpucast serve`` runs one event loop per process (uvicorn) plus a thread pool for handlers that block. A
cached plan or page is answered on the loop in well under a millisecond; a new question costs a capacity search
(~10 ms for a plan, ~50-100 ms for a plan page with its GPU x cloud comparison at p99 SLOs), pure Python that
holds the GIL. Computed on the loop it would stall every other request for that long; computed on the general
thread pool (40 threads), a burst of new questions would run up to 40 searches at once, each taking the GIL in
turn, and the loop — which reads every request and writes every answer — would get one turn in 40.

So misses run here, in *lanes* of one thread each, first come first served: ``plan`` for the JSON API's plans,
estimates and training plans (short) and ``page`` for plan pages and ``/compare`` (long: every GPU x cloud), so
a short plan never waits behind a queue of pages. Waiting requests use no CPU, and cheap ones (cache hits, the catalog, the form) keep flowing on
the loop. A lane is a one-thread executor that takes its next job from its own queue as soon as it finishes one
(no round trip through the event loop between jobs, which on a crowded machine costs a scheduling delay each);
a queued job whose client went away is dropped before it starts. More threads per lane would not compute faster
(the GIL runs one at a time); with ``gpucast serve --plan-processes N`` (:mod:`.processes`) a lane's thread only
sends the computation to a child process and waits without the GIL, so each lane has ``2N`` threads: up to ``N``
of its questions compute at once, on other cores than the loop's, and one more per process is already sent, so
a process starts its next question without waiting for the round trip through the lane thread (measured on the
2-core machine of docs/reliability.md: the cold site mix's p99 ~300 ms with 2N threads, ~430 ms with N).

:data:`SWITCH_INTERVAL_S` is how soon a computing thread hands the GIL back to the loop when the loop has work
(Python's default, 5 ms, adds up to 5 ms to every cheap request that arrives during a search). On a machine
crowded by other processes each handoff also waits for the OS to run the loop's thread, so a shorter interval
would trade throughput for latency; 1 ms is the compromise.

**Identical questions in flight are computed once** (:func:`once`): a request that misses the cache while the
same question (the same cache kind and canonical key) is already queued or computing does not queue a second
job; it waits for the first one's result (its exception too), so N clients asking the same new question at once
cost one computation. A request waiting here lends its admission slot (``limits.InFlightLimit.lent``) to
cheap requests until its result is ready. The computation is a task of its own, so a client that goes away does not cancel it for
the others (and its result still lands in the cache). :class:`Flights` counts the lanes' jobs and the requests
that joined one, for ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import sys
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar, get_args

T = TypeVar("T")
Lane = Literal["plan", "page"]
LANES: tuple[Lane, ...] = get_args(Lane)

LANE_THREADS = 1  # threads per lane
THREADS_PER_PROCESS = 2  # threads per lane and plan process with --plan-processes (see the module's text)
SWITCH_INTERVAL_S = 0.001  # sys.setswitchinterval of a serving process (see the module's text)
_made = threading.Lock()


def tune_interpreter() -> None:
    """Called once by ``gpucast serve`` in each server process (not by tests that build the app)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def executor(state: Any, lane: Lane) -> ThreadPoolExecutor:
    """The app's executor of one lane (made on first use; its thread starts with its first job)."""
    with _made:
        lanes: dict[str, ThreadPoolExecutor] | None = getattr(state, "plan_lanes", None)
        if lanes is None:
            lanes = state.plan_lanes = {}
        if lane not in lanes:
            threads = getattr(state, "plan_lane_threads", LANE_THREADS)  # THREADS_PER_PROCESS x plan processes
            lanes[lane] = ThreadPoolExecutor(threads, thread_name_prefix=f"gpucast-{lane}")
        return lanes[lane]


class Flights:
    """The computations in flight of one app, by key, and what happened to them (for ``/metrics``). Used on the
    event loop only (no lock)."""

    def __init__(self) -> None:
        self.running: dict[Hashable, asyncio.Future[Any]] = {}
        self.jobs: Counter[str] = Counter()  # jobs sent to each lane
        self.joined = 0  # requests that waited for an identical computation in flight instead of starting one


def flights(state: Any) -> Flights:
    found: Flights | None = getattr(state, "plan_flights", None)
    if found is None:
        found = state.plan_flights = Flights()
    return found


async def compute(state: Any, lane: Lane, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on the lane's thread (see the module's text), in this task's context; its exception is
    raised here."""
    flights(state).jobs[lane] += 1
    call = functools.partial(contextvars.copy_context().run, function, *args)
    return await asyncio.get_running_loop().run_in_executor(executor(state, lane), call)


async def once(state: Any, key: Hashable, start: Callable[[], Awaitable[T]]) -> T:
    """The result of ``start()`` (a computation, e.g. :func:`compute` of a cache miss), awaited once per ``key``
    however many requests ask for it while it runs: the first starts it, the others wait for its result or its
    exception (see the module's text). Waiting requests may be cancelled without cancelling it."""
    book = flights(state)
    running = book.running.get(key)
    if running is None:
        running = book.running[key] = asyncio.ensure_future(start())
        running.add_done_callback(functools.partial(_landed, book, key))
    else:
        book.joined += 1
    limit = getattr(state, "in_flight_limit", None)  # limits.InFlightLimit: waiting here uses no CPU, lend the slot
    with limit.lent() if limit is not None else contextlib.nullcontext():
        return await asyncio.shield(running)


def _landed(book: Flights, key: Hashable, done: asyncio.Future[Any]) -> None:
    if book.running.get(key) is done:
        del book.running[key]
    if not done.cancelled():
        done.exception()  # retrieved: when every waiter went away, asyncio does not log it as never retrieved


def shut_down(state: Any) -> None:
    """Stop the lanes' threads (when the app stops): queued jobs are dropped, a running one finishes. An app that
    starts again (tests run its lifespan more than once) makes new lanes on first use."""
    with _made:
        lanes: dict[str, ThreadPoolExecutor] = getattr(state, "plan_lanes", None) or {}
        state.plan_lanes = {}
    for pool in lanes.values():
        pool.shutdown(wait=False, cancel_futures=True)
