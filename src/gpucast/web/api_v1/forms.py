"""A multipart endpoint's form fields and a read's query parameters: any other is refused, as the JSON bodies refuse
an unknown key."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ..errors import ApiError


def _declared(route: Any, kind: str) -> list[str]:
    """The names a route declares as ``kind`` ("query_params", or "body_params": a multipart endpoint's form fields),
    its dependencies' included, the endpoint's own first in the order of its signature. Derived from the route, so
    the accepted names are the signature's and cannot drift from a hand-kept list (a few dependants: walked per
    request). ``Dependant.query_params``, ``.body_params`` and ``.dependencies`` are public attributes of fastapi."""
    names: list[str] = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop(0)
        names.extend(field.alias for field in getattr(dependant, kind) if field.alias not in names)
        pending.extend(dependant.dependencies)
    return names


async def known_form_fields(request: Request) -> None:
    """A dependency refusing a multipart field the endpoint does not take (422 naming it and the accepted ones), as
    the JSON bodies refuse an unknown key: a misspelt ``horizn=28d`` was ignored, and the answer a 200 with the
    default 14-day horizon (QA 2026-12-07). Declared after the endpoint's ``actor`` parameter, so who may write is
    still checked first. The form is the one FastAPI already parsed (Starlette caches it on the request)."""
    route = request.scope.get("route")
    if getattr(route, "dependant", None) is None:
        return
    names = _declared(route, "body_params")
    unknown = sorted(set((await request.form()).keys()) - set(names))
    if unknown:
        raise ApiError(422, f"unknown form field {unknown[0]!r} (accepted: {', '.join(names)})", unknown[0])


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
    names = _declared(route, "query_params")
    unknown = sorted(set(request.query_params.keys()) - set(names))
    if unknown:
        accepted = ", ".join(sorted(names)) or "none"
        raise ApiError(422, f"unknown query parameter {unknown[0]!r} (accepted: {accepted})", unknown[0])
