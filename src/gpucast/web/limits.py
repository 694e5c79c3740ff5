"""Overload: how the server degrades when more clients arrive than it can serve at once.

At most ``max_in_flight`` requests are handled at a time; the next ones queue (first come, first served) for
up to ``queue_seconds``, and at most ``max_queued`` of them. A request that would queue past either bound is
answered at once with ``503`` in the API's one error shape and ``Retry-After``, so a client backs off instead of
piling on; the server never grows its memory without bound and never stops answering ``/api/v1/health``
(load balancers poll it, and it must say "alive" even when the server is busy).

Why queue at all: a burst above ``max_in_flight`` that drains within a second is better served late than
refused; a standing overload is refused within ``queue_seconds``, never left hanging.

A request waiting for a new plan in a plan lane (``offload.once``) uses no CPU, so it *lends* its slot
(:meth:`InFlightLimit.lent`) while it waits: otherwise, with many clients on new plan pages (each waits its turn
in the one-thread page lane for seconds), those waiters fill every slot and cached pages, the form and the catalog
queue behind them although the loop could answer them in a millisecond. At most ``max_in_flight`` requests lend at
a time (so at most twice that many are admitted), and a lender takes its slot back as soon as its plan is ready,
even past the bound: what is left is writing the answer.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

Scope = dict[str, Any]

EXEMPT = frozenset({"/api/v1/health", "/metrics"})


class InFlightLimit:
    """ASGI middleware: bounded concurrency with a bounded, time-limited FIFO queue (see the module's text)."""

    def __init__(
        self,
        app: Any,
        max_in_flight: int = 100,
        max_queued: int = 1000,
        queue_seconds: float = 10.0,
        app_state: Any = None,
    ) -> None:
        self.app = app
        if app_state is not None:  # /metrics reads in_flight and refused from here
            app_state.in_flight_limit = self
        self.max_in_flight = max_in_flight
        self.max_queued = max_queued
        self.queue_seconds = queue_seconds
        self.in_flight = 0
        self.refused = 0  # 503s sent, for /metrics
        self.lending = 0  # admitted requests waiting in a plan lane without a slot
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT:
            await self.app(scope, receive, send)
            return
        if self.in_flight < self.max_in_flight:
            self.in_flight += 1
        elif not await self._wait_for_slot():  # on success the slot was handed over, already counted
            self.refused += 1
            await self._refuse(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _wait_for_slot(self) -> bool:
        """Queue for a slot; False when the queue is full or the wait ran out (the caller answers 503)."""
        if len(self._waiters) >= self.max_queued:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.queue_seconds)
        except TimeoutError:
            if waiter.done():  # handed a slot just as the wait ran out: take it
                return True
            self._waiters.remove(waiter)
            return False
        except asyncio.CancelledError:  # the client went away while queued: pass a handed slot on
            if waiter.done():
                self._release()
            else:
                self._waiters.remove(waiter)
            raise
        return True

    @contextmanager
    def lent(self) -> Iterator[None]:
        """While the block runs (an admitted request waits for a plan lane's result), its slot serves the next
        request; it is taken back when the block ends (see the module's text)."""
        if self.lending >= self.max_in_flight:
            yield
            return
        self.lending += 1
        self._release()
        try:
            yield
        finally:
            self.lending -= 1
            self.in_flight += 1

    def _release(self) -> None:
        """Free a slot: hand it straight to the oldest waiter (it stays counted), else count it free."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_flight -= 1

    async def _refuse(self, send: Any) -> None:
        message = (
            f"the server is busy ({self.in_flight} requests in progress, {len(self._waiters)} waiting); "
            "retry after 1 second"
        )
        body = json.dumps({"error": message, "field": None}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", b"1"),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})
