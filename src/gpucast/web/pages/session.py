"""Browser sessions for the web pages: a signed cookie naming the logged-in user, and a CSRF token per session.

The pages log in with the same users and API tokens as the JSON API (``gpucast token create --user U``): the
login form takes a token, and the cookie then names its user and the token's id (checked on every request, so
a revoked token ends the session). The cookie is signed with HMAC-SHA256 under a secret made when the app starts
(``WebSettings.session_secret`` or ``$GPUCAST_SESSION_SECRET`` keep sessions across restarts); it is HttpOnly
and SameSite=Lax. Every POST form carries the session's CSRF token in a hidden field, compared in constant time
(:func:`check_csrf`); visitors who are not logged in get a session too, so the login form is protected as well.

Beside the token, every form POST must come from this site (:func:`check_origin`): the ``Origin`` header when
the request has one, else the origin of its ``Referer``, must equal the request's own origin — the scheme the
server saw and the ``Host`` header (default ports normalised, case ignored). ``Origin: null`` (a sandboxed
frame, a privacy-stripped redirect) is not this site. A request with neither header is allowed: browsers send
``Origin`` with every form POST, so such a request comes from a script or ``curl``, and the CSRF token (which only
a page of this site can read) still guards it. Behind a reverse proxy the proxy must keep the ``Host`` header
and tell the server its scheme (``X-Forwarded-Proto``, trusted from the proxy's address by uvicorn).
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
from urllib.parse import urlsplit

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
    from ...store.models import ApiToken, utcnow

    with request.app.state.store.read() as db:
        token = db.get(ApiToken, session.token_id) if session.token_id is not None else None
        if token is None or token.revoked_at is not None or token.user.name != session.user:
            return False
        return token.expires_at is None or token.expires_at > utcnow()


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
    """Raise :class:`CsrfError` unless the form was posted from this site (:func:`check_origin`) and its hidden
    token is the session's (constant-time comparison)."""
    check_origin(request)
    sent = form.get(CSRF_FIELD)
    session = current(request)
    if not isinstance(sent, str) or session.fresh or not hmac.compare_digest(sent, session.csrf):
        raise CsrfError("the form has expired or did not come from this site: reload the page and try again")


def check_origin(request: Request) -> None:
    """Raise :class:`CsrfError` unless the ``Origin`` header (else the ``Referer``'s origin) is the request's own
    origin; allow a request that has neither (see the module's notes)."""
    sent = request.headers.get("origin")
    if sent is None:
        sent = request.headers.get("referer")
        if sent is None:
            return
    url = request.url
    own = _origin(url.scheme, url.hostname, url.port)
    parts = _origin_of(sent)
    if own is not None and parts == own:
        return
    shown = _display(*parts) if parts is not None else (sent if len(sent) <= 80 else sent[:77] + "...")
    here = _display(*own) if own is not None else "unknown"
    raise CsrfError(
        f"the form was posted from {shown!r}, not from this site ({here}): open the page on this site and submit "
        "the form again"
    )


def check_writer(request: Request, actor: str, scope: str = "write") -> None:
    """Raise the store's WorkflowError (403) when ``actor`` may not change data (a viewer), or the token they
    logged in with lacks ``scope`` (a page session has no more rights than its token). Pages call it after the
    CSRF check and before the form's fields are validated, so a refused user learns nothing from a 422."""
    from ...errors import WorkflowError
    from ...store.models import ApiToken
    from ...store.services import check_may_write
    from ...store.tokens import ROLE_SCOPES, effective_scopes

    token_id = current(request).token_id
    with request.app.state.store.read() as db:
        check_may_write(db, actor)
        token = db.get(ApiToken, token_id) if token_id is not None else None
        if token is not None and scope not in ROLE_SCOPES.get(token.user.role, ()):
            return  # the role never may: the store's own check refuses, naming the role
        if token is None or scope not in effective_scopes(token):
            raise WorkflowError(f"the token you logged in with lacks the scope {scope!r}; log in with a token that "
                                f"has it (`gpucast token create --user {actor} --scope {scope}`)")  # fmt: skip


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str | None, host: str | None, port: int | None) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme and host in lower case and the default port filled in."""
    scheme = (scheme or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host.lower(), port if port is not None else DEFAULT_PORTS[scheme]


def _origin_of(url: str) -> tuple[str, str, int] | None:
    """The origin of an ``Origin`` or ``Referer`` header; None for ``null`` or anything that is not an http(s)
    URL."""
    try:
        parts = urlsplit(url.strip())
        return _origin(parts.scheme, parts.hostname, parts.port)
    except ValueError:  # a port that is not a number, or out of range
        return None


def _display(scheme: str, host: str, port: int) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if DEFAULT_PORTS[scheme] == port else f":{port}")
