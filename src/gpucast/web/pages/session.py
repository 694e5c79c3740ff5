"""Browser sessions for the web pages: a signed cookie naming the logged-in user, and a CSRF token per session.

The pages log in with the same users and API tokens as the JSON API (``gpucast token create --user U``): the
login form takes a token, and the cookie then names its user and the token's id (checked on every request, so
a revoked token ends the session). The cookie is signed with HMAC-SHA256 under a secret made when the app starts
(``WebSettings.session_secret`` or ``$GPUCAST_SESSION_SECRET`` keep sessions across restarts); it is HttpOnly
and SameSite=Lax. Every POST form carries the session's CSRF token in a hidden field, compared in constant time
(:func:`check_csrf`); visitors who are not logged in get a session too, so the login form is protected as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from fastapi import Request
from starlette.responses import Response

COOKIE = "gpucast_session"
MAX_AGE_S = 12 * 3600  # a working day: the cookie and its signature expire together
CSRF_FIELD = "csrf_token"


class CsrfError(Exception):
    """A POST form without the session's CSRF token (a forged cross-site request, or an expired page)."""


@dataclass(frozen=True)
class PageSession:
    """Who is browsing (None: not logged in), their role, and the CSRF token of their forms."""

    csrf: str
    user: str | None = None
    role: str | None = None
    token_id: int | None = None
    issued: int = 0
    fresh: bool = False  # not yet in a cookie: the response must set it


def _secret(request: Request) -> bytes:
    secret: bytes = request.app.state.session_secret
    return secret


def _sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def encode(session: PageSession, secret: bytes) -> str:
    data = {"c": session.csrf, "u": session.user, "r": session.role, "k": session.token_id, "t": session.issued}
    payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
    return f"{payload}.{_sign(secret, payload.encode())}"


def decode(value: str, secret: bytes, now: float | None = None) -> PageSession | None:
    """The session in a cookie, or None when it is malformed, forged or expired."""
    payload, _, signature = value.partition(".")
    if not hmac.compare_digest(signature, _sign(secret, payload.encode())):
        return None
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload.encode()))
        session = PageSession(
            csrf=str(data["c"]), user=data["u"], role=data["r"], token_id=data["k"], issued=int(data["t"])
        )
    except (ValueError, KeyError, TypeError):
        return None
    if (now or time.time()) - session.issued > MAX_AGE_S:
        return None
    return session


def new_session(user: str | None = None, role: str | None = None, token_id: int | None = None) -> PageSession:
    """A new session with a new CSRF token (on first visit, and again at login and logout)."""
    return PageSession(secrets.token_urlsafe(24), user, role, token_id, int(time.time()), fresh=True)


def current(request: Request) -> PageSession:
    """The request's session (cached on the request): from its cookie, else a new anonymous one. A logged-in
    session whose token was revoked, or whose user was removed, becomes anonymous."""
    cached = getattr(request.state, "page_session", None)
    if isinstance(cached, PageSession):
        return cached
    raw = request.cookies.get(COOKIE)
    session = decode(raw, _secret(request)) if raw else None
    if session is None:
        session = new_session()
    elif session.user is not None and not _token_valid(request, session):
        session = replace(new_session(), csrf=session.csrf)
    request.state.page_session = session
    return session


def _token_valid(request: Request, session: PageSession) -> bool:
    from ...store.models import ApiToken

    with request.app.state.store.read() as db:
        token = db.get(ApiToken, session.token_id) if session.token_id is not None else None
        return token is not None and token.revoked_at is None and token.user.name == session.user


def login(request: Request, token: str) -> PageSession | None:
    """A logged-in session for the user of an API token; None when the token is unknown or revoked."""
    from sqlalchemy import select

    from ...store.models import ApiToken
    from ...store.tokens import hash_token, user_for_token

    with request.app.state.store.read() as db:
        user = user_for_token(db, token.strip())
        if user is None:
            return None
        record = db.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
        assert record is not None  # user_for_token found it
        session = new_session(user.name, user.role, record.id)
    request.state.page_session = session
    return session


def logout(request: Request) -> PageSession:
    session = new_session()
    request.state.page_session = session
    return session


def attach(request: Request, response: Response) -> Response:
    """Set the session cookie on a response when the session is new (first visit, login, logout)."""
    session = current(request)
    if session.fresh:
        response.set_cookie(
            COOKIE, encode(session, _secret(request)), max_age=MAX_AGE_S, httponly=True, samesite="lax", path="/"
        )
    return response


def check_csrf(request: Request, form: Any) -> None:
    """Raise :class:`CsrfError` unless the form's hidden token is the session's (constant-time comparison)."""
    sent = form.get(CSRF_FIELD)
    session = current(request)
    if not isinstance(sent, str) or session.fresh or not hmac.compare_digest(sent, session.csrf):
        raise CsrfError("the form has expired or did not come from this site: reload the page and try again")
