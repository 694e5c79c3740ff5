"""Rate limits on the endpoints that take or mint credentials: the login form and the token API (issue 24).

A token has 256 bits of entropy, so guessing one is hopeless; the limit is there so that a script hammering
``/login`` or ``/api/v1/tokens`` (a leaked token minting others, a broken client in a loop) is slowed to a few
attempts a minute per client address instead of using the server's capacity, and is told when to come back:
``429 Too Many Requests`` with ``Retry-After`` in the API's one error shape.

The window slides: at most ``limit`` attempts in any ``window_s`` seconds per client address (the TCP peer: behind
a reverse proxy every client shares the proxy's address, so set the limit for the proxy or limit there).
Memory is bounded: at most ``max_clients`` addresses are remembered, the least recently seen dropped first.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

from fastapi import Request


class AttemptLimit:
    """At most ``limit`` attempts per ``window_s`` seconds per key (sliding window); thread-safe."""

    def __init__(self, limit: int = 10, window_s: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self.refused = 0  # 429s sent, for /metrics
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def attempt(self, key: str, now: float | None = None) -> float | None:
        """Count an attempt by ``key``: None when allowed, else the seconds until the next one would be."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._seen.pop(key, None) or deque()
            while times and times[0] <= now - self.window_s:
                times.popleft()
            self._seen[key] = times  # most recently seen last
            while len(self._seen) > self.max_clients:
                self._seen.popitem(last=False)
            if len(times) >= self.limit:
                self.refused += 1
                return times[0] + self.window_s - now
            times.append(now)
            return None


def client_key(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def refusal(request: Request, what: str) -> tuple[str, int] | None:
    """Count an attempt at ``what`` ("login", "token"): None when allowed, else the one-line message and the
    seconds to put in ``Retry-After`` (the callers answer 429: JSON for the API, the form for the login page)."""
    limit: AttemptLimit = request.app.state.auth_limit
    wait = limit.attempt(client_key(request))
    if wait is None:
        return None
    seconds = max(1, math.ceil(wait))
    message = (f"too many {what} attempts from this address (at most {limit.limit} in {limit.window_s:g} s); "
               f"retry after {seconds} s")  # fmt: skip
    return message, seconds
