"""A multipart endpoint's form fields and a read's query parameters: any other is refused, as the JSON bodies refuse
an unknown key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from ..errors import ApiError


def known_form_fields(*names: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing a multipart field the endpoint does not take (422 naming it and the accepted ones), as
    the JSON bodies refuse an unknown key: a misspelt ``horizn=28d`` was ignored, and the answer a 200 with the
    default 14-day horizon (QA 2026-12-07). Declared after the endpoint's ``actor`` parameter, so who may write is
    still checked first. The form is the one FastAPI already parsed (Starlette caches it on the request)."""

    async def check(request: Request) -> None:
        unknown = sorted(set((await request.form()).keys()) - set(names))
        if unknown:
            raise ApiError(422, f"unknown form field {unknown[0]!r} (accepted: {', '.join(names)})", unknown[0])

    return check


def _query_names(route: Any) -> frozenset[str]:
    """The query parameters a route declares, its dependencies' included (a few dependants: walked per request)."""
    names: set[str] = set()
    pending = [route.dependant]  # Dependant.query_params and .dependencies: public attributes since fastapi 0.x
    while pending:
        dependant = pending.pop()
        names.update(field.alias for field in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


async def known_query(request: Request) -> None:
    """A dependency refusing a query parameter the read does not take (422 naming it and the accepted ones): a
    misspelt filter (``/api/v1/plans?knd=training``) was ignored, and the answer a 200 listing every plan (QA
    2026-12-07). Listed after the read's token check, so who may read is still checked first; reads only (a write's
    token is checked by its own parameters, after the route's dependencies)."""
    if request.method not in ("GET", "HEAD"):
        return
    route = request.scope.get("route")
    if getattr(route, "dependant", None) is None:
        return
    names = _query_names(route)
    unknown = sorted(set(request.query_params.keys()) - names)
    if unknown:
        accepted = ", ".join(sorted(names)) or "none"
        raise ApiError(422, f"unknown query parameter {unknown[0]!r} (accepted: {accepted})", unknown[0])
