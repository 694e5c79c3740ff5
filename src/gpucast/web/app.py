"""The FastAPI application factory: ``create_app(db_url, settings)`` builds one app over one store.

The app is an adapter (DESIGN.md): routers translate HTTP to calls of gpucast's Python API and the store's
functions, and gpucast's errors to one JSON shape (:mod:`.errors`). Tests build the app directly and talk
to it through FastAPI's TestClient; ``gpucast serve`` hands the same app to uvicorn.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from ..planning.cache import PlanCache
from ..store import Store, open_store
from ..version import __version__
from . import errors, offload
from .headers import SecurityHeaders
from .limits import InFlightLimit
from .observe import Metrics, Observe
from .processes import PlanProcesses
from .ratelimit import AttemptLimit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PLAN_MODULES = ("gpucast.web.api_v1.planning", "gpucast.web.pages.planning")  # what the lanes send to processes
MAX_BODY_BYTES = 5 * 1024 * 1024  # plan bodies are < 4 KiB; 5 MiB leaves room for a metrics CSV upload


@dataclass(frozen=True)
class WebSettings:
    """How the server runs. ``read_token_required`` None means: reading is open on a loopback host only."""

    host: str = "127.0.0.1"
    read_token_required: bool | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    session_secret: str | None = None  # signs page session cookies; None: $GPUCAST_SESSION_SECRET or a new random one
    # overload (.limits): requests handled at once, and how many may queue for how long before a 503 + Retry-After
    max_in_flight: int = 100
    max_queued: int = 1000
    queue_seconds: float = 10.0
    plan_cache_size: int = 512  # plans and plan pages remembered (gpucast.planning.cache; a page entry is ~100 KB)
    plan_processes: int = 0  # child processes computing new questions (.processes); 0: the lanes' threads do
    auth_attempts_per_minute: int = 10  # logins and token API calls per client address (.ratelimit)

    def reads_need_token(self) -> bool:
        if self.read_token_required is not None:
            return self.read_token_required
        return not is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``: addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413: at once by Content-Length, else while reading a
    chunked body. The body is read here, before the app, and replayed to it: once FastAPI reads a body it turns
    any error into a 400, and the limit (a few MiB) makes buffering harmless."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        from .errors import wants_html

        request = Request(scope, receive)
        if wants_html(request):  # a browser's upload form (/forecast): a page saying so, not the API's raw JSON
            from .pages.render import error_page

            limit = f"{self.max_bytes / 2**20:g} MiB"
            page = error_page(request, 413, f"The upload is larger than {limit}, the most this server takes")
            await page(scope, receive, send)
            return
        body = json.dumps({"error": f"request body larger than {self.max_bytes} bytes", "field": None}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive callable that first returns ``messages``, then defers to the server's own."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def create_app(
    db_url: str | None = None, settings: WebSettings | None = None, *, store: Store | None = None
) -> FastAPI:
    """The gpucast web app over the database ``db_url`` (opened and migrated now; None = the default store)."""
    from . import docs
    from .api_v1 import router
    from .pages import install as install_pages

    settings = settings or WebSettings()
    opened = store or open_store(db_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.plan_processes:  # started (and warmed) with the server, stopped with it
            _app.state.plan_processes = PlanProcesses(settings.plan_processes, warm=PLAN_MODULES)
            _app.state.plan_lane_threads = settings.plan_processes * offload.THREADS_PER_PROCESS
            await run_in_threadpool(_app.state.plan_processes.wait_ready)
        try:
            yield
        finally:
            offload.shut_down(_app.state)
            if _app.state.plan_processes is not None:
                _app.state.plan_processes.shut_down()
                _app.state.plan_processes = None
        if store is None:  # the app opened it, the app closes it
            opened.close()

    app = FastAPI(
        title="gpucast",
        version=__version__,
        description="Capacity planning for LLM serving and training: plans, comparisons, services, history and "
        "capacity requests. Writes need `Authorization: Bearer <token>` (`gpucast token create --user U`).",
        lifespan=lifespan,
        docs_url=None,  # /docs is added by .docs with Swagger UI served from /static, never from a CDN
        redoc_url=None,
    )
    app.state.store = opened
    app.state.plan_cache = PlanCache(settings.plan_cache_size)
    app.state.plan_processes = None  # .processes.PlanProcesses while the app runs with --plan-processes N
    app.state.page_cache = PlanCache(settings.plan_cache_size)  # rendered pages for anonymous visitors (.pages.cached)
    app.state.auth_limit = AttemptLimit(settings.auth_attempts_per_minute, 60.0)
    app.state.metrics = Metrics()
    app.state.settings = settings
    app.state.session_secret = (settings.session_secret or os.environ.get("GPUCAST_SESSION_SECRET") or
                                secrets.token_hex(32)).encode()  # fmt: skip
    errors.install(app)
    app.include_router(router)
    install_pages(app)
    docs.install(app)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> PlainTextResponse:
        """Prometheus text format (gpucast.web.observe): open, like the health check, and never queued."""
        return PlainTextResponse(app.state.metrics.render(app), media_type="text/plain; version=0.0.4")

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(  # a request over the limits is answered before anything but the observer runs
        InFlightLimit,
        max_in_flight=settings.max_in_flight,
        max_queued=settings.max_queued,
        queue_seconds=settings.queue_seconds,
        app_state=app.state,
    )
    app.add_middleware(Observe, fastapi_app=app)  # outside the limit: a refused request is counted and logged too
    return app
