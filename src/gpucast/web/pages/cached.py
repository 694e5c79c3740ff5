"""Whole rendered pages kept for visitors who are not logged in: the plan form and plan result pages.

What a page shows to a visitor who is not logged in depends only on its address: the session's user, role and
CSRF token appear only inside ``{% if me %}`` blocks (the log-out button, the save form), so one rendering
serves every anonymous visitor. It is kept in the app's page cache (a :class:`~gpucast.planning.cache.PlanCache`
of its own, the same size as the plan cache and dropped with it when the catalogs change), keyed by the path and
query string; a hit costs a dictionary look-up on the event loop instead of a template rendering (~1 ms) on a
thread. A logged-in visitor's page is rendered for them each time (from the cached plan), as before.

Each kept page carries an ``ETag`` (a hash of its bytes) and ``Cache-Control: private, no-cache``: a browser may
keep it but asks again each time, and a page that did not change is answered ``304 Not Modified`` without its
body. Only 200 pages are kept (an error page is cheap, and keeping them would let junk addresses push out useful
entries).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...planning.cache import PlanCache
from .. import offload
from . import session as sessions
from .render import require_reader

KIND = "page"


@dataclass(frozen=True)
class KeptPage:
    body: bytes
    etag: str
    media_type: str | None


def cache_of(request: Request) -> PlanCache:
    cache: PlanCache = request.app.state.page_cache
    return cache


def anonymous(request: Request) -> bool:
    """True when the visitor is not logged in, known without the database: no session cookie, or one naming no
    user (a logged-in cookie needs its token checked in the store, which the thread pool does)."""
    raw = request.cookies.get(sessions.COOKIE)
    if not raw:
        return True
    session = sessions.decode(raw, request.app.state.session_secret)
    return session is None or session.user is None


async def page(request: Request, key: str, make: Callable[[Request], Response], *, compute: bool = False) -> Response:
    """The page ``make(request)`` renders, from the page cache for an anonymous visitor. ``make`` runs in the
    thread pool, or in the ``page`` lane (:mod:`..offload`) when ``compute`` says it may plan: then once for all
    the anonymous visitors who ask for the same page while it is made (:func:`..offload.once`)."""
    if not anonymous(request):
        return await run_in_threadpool(make, request)
    require_reader(request)  # reads that need a token send an anonymous visitor to log in first
    kept: KeptPage | None = cache_of(request).peek(KIND, key)
    if kept is None:
        made = await (_planned(request, key, make) if compute else _rendered(request, key, make))
        if isinstance(made, Response):  # not 200: not kept
            return made
        kept = made
    if kept.etag in _sent_etags(request):
        fresh = Response(status_code=304, headers=_validators(kept))
    else:
        fresh = Response(kept.body, media_type=kept.media_type, headers=_validators(kept))
    return sessions.attach(request, fresh)


async def _planned(request: Request, key: str, make: Callable[[Request], Response]) -> KeptPage | Response:
    """A page that plans, made in the page lane once for every anonymous visitor who asks for it meanwhile."""
    state = request.app.state

    async def made_here() -> tuple[int, KeptPage]:
        status, made = await offload.compute(state, "page", _made, make, request)
        if status == 200:
            cache_of(request).get_or_compute(KIND, key, lambda: made)  # one miss, however many waited for it
        return status, made

    status, made = await offload.once(state, (KIND, key), made_here)
    if status != 200:
        return sessions.attach(request, Response(made.body, status_code=status, media_type=made.media_type))
    return made


async def _rendered(request: Request, key: str, make: Callable[[Request], Response]) -> KeptPage | Response:
    """A page that does not plan (the form), rendered in the thread pool and kept when it is a 200."""
    response = await run_in_threadpool(make, request)
    if response.status_code != 200:
        return response
    made = _kept(response)
    cache_of(request).get_or_compute(KIND, key, lambda: made)
    return made


def _made(make: Callable[[Request], Response], request: Request) -> tuple[int, KeptPage]:
    """``make(request)``'s status and bytes, shared by the anonymous visitors who asked for the page meanwhile
    (what it shows them does not depend on their sessions; each gets its own cookie when new)."""
    response = make(request)
    return response.status_code, _kept(response)


def _kept(response: Response) -> KeptPage:
    body = bytes(response.body)
    return KeptPage(body, _etag(body), response.media_type)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _validators(kept: KeptPage) -> dict[str, str]:
    return {"ETag": kept.etag, "Cache-Control": "private, no-cache"}


def _sent_etags(request: Request) -> set[str]:
    """The entity tags of ``If-None-Match`` (weak ones compared by their value, as RFC 9110 asks for GET)."""
    header = request.headers.get("if-none-match", "")
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
