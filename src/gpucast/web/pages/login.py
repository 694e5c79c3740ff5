"""Login and logout pages: an API token in, a session cookie out (see :mod:`.session`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..ratelimit import refusal
from . import session as sessions
from .render import redirect, render

router = APIRouter(include_in_schema=False)


def _safe_next(url: object) -> str:
    """Only local paths: a login must not redirect to another site."""
    text = url if isinstance(url, str) else "/"
    return text if text.startswith("/") and not text.startswith("//") else "/"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    next_url = _safe_next(form.get("next"))
    try:
        sessions.check_csrf(request, form)
    except sessions.CsrfError as error:
        return render(request, "login.html", {"next": next_url, "error": str(error)}, 403)
    refused = refusal(request, "login")
    if refused is not None:  # too many attempts: the form again, with the wait, 429 and Retry-After
        page = render(request, "login.html", {"next": next_url, "error": refused[0]}, 429)
        page.headers["Retry-After"] = str(refused[1])
        return page
    token = form.get("token")
    if not isinstance(token, str) or sessions.login(request, token) is None:
        message = "unknown, revoked or expired token (create one with `gpucast token create --user NAME`)"
        return render(request, "login.html", {"next": next_url, "error": message}, 401)
    return redirect(request, next_url)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    try:
        sessions.check_csrf(request, form)
    except sessions.CsrfError as error:
        return render(request, "login.html", {"next": "/", "error": str(error)}, 403)
    sessions.logout(request)
    return redirect(request, "/")
