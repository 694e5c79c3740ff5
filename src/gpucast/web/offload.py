"""Where the server computes plans: cache hits on the event loop, misses on a few worker threads.

``gpucast serve`` runs one event loop per process (uvicorn) plus a thread pool for handlers that block. A
cached plan or page is answered on the loop in well under a millisecond; a new question costs a capacity search
(~10 ms for a plan, ~50-100 ms for a plan page with its GPU x cloud comparison at p99 SLOs), pure Python that
holds the GIL. Computed on the loop it would stall every other request for that long; computed on the general
thread pool (40 threads), a burst of new questions would run up to 40 searches at once, each taking the GIL in
turn, and the loop — which reads every request and writes every answer — would get one turn in 40. So misses
run here, at most :data:`PLAN_THREADS` at once, first come first served; the rest wait without using the CPU,
and cheap requests (cache hits, the catalog, the form) keep flowing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

PLAN_THREADS = 2  # searches computed at once per process: the GIL runs one at a time anyway; two let a short
# plan pass a long page instead of waiting for it whole


def plan_limiter(state: Any) -> anyio.CapacityLimiter:
    """The app's limiter of plan computations (made on first use, inside the event loop that uses it)."""
    limiter = getattr(state, "plan_limiter", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(PLAN_THREADS)
        state.plan_limiter = limiter
    return limiter  # type: ignore[no-any-return]


async def compute(state: Any, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on a plan thread (see the module's text); its exception is raised here."""
    return await anyio.to_thread.run_sync(function, *args, limiter=plan_limiter(state))
