"""A multipart endpoint's form fields: any other is refused, as the JSON bodies refuse an unknown key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
