"""Who is calling: ``Authorization: Bearer <token>`` checked against the hashed tokens in the store.

* Every write (creating services, importing metrics, saving plans, capacity requests and their transitions)
  needs a valid token; the token's user is the acting user, so the store's own rules decide what they may
  do (viewers may not write; only approvers approve; nobody approves their own request).
* Who may write is checked before what was written: :func:`writer` is a dependency, so it runs before the body
  or the upload is validated, and it refuses a viewer (who may change nothing) with 403 at once. A caller
  without the right never learns from a 404, 409 or 422 whether a record exists, what state it is in, or what
  is wrong with their input.
* Reading (GET, and plan computations that save nothing) is open when the settings say so — by default when
  the server is bound to a loopback address — and needs a token otherwise (``--read-token-required``).
* A token's scopes (:mod:`gpucast.store.tokens`) narrow it further: ``read`` for GET, ``plan`` for plan
  computations, ``write`` for changes, ``approve`` for approving, rejecting and provisioning, ``admin`` for other
  users' tokens. A token without the scope gets 403 naming the scope it lacks; an expired token is 401.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..store import Store
from ..store.services import viewer_refusal
from ..store.tokens import effective_scopes, token_for
from .errors import ApiError

CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Identity:
    """Who a token speaks for, and what it may do (its scopes within its user's role)."""

    name: str
    role: str
    scopes: frozenset[str]
    token_id: int


def require_scope(identity: Identity, scope: str) -> None:
    """403 unless the token holds ``scope``."""
    if scope not in identity.scopes:
        held = ", ".join(sorted(identity.scopes)) or "none"
        raise ApiError(403, f"this token lacks the scope {scope!r} (it has: {held}); create one with `gpucast token "
                            f"create --user {identity.name} --scope {scope}`", "authorization")  # fmt: skip


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "the Authorization header must be 'Bearer <token>' (create one with `gpucast token create --user USER`)",
            "authorization",
            CHALLENGE,
        )
    return token.strip()


def token_identity(request: Request) -> Identity | None:
    """Who the request's token speaks for; None without a token; 401 for an unknown, revoked or expired token.
    Kept on ``request.state.identity`` for the handler (and the logs: the user, never the token)."""
    token = _bearer(request)
    if token is None:
        return None
    with store_of(request).read() as session:
        record = token_for(session, token)
        identity = None
        if record is not None:
            user = record.user
            identity = Identity(user.name, user.role, effective_scopes(record), record.id)
    if identity is None:
        raise ApiError(401, "the API token is unknown, revoked or expired", "authorization", CHALLENGE)
    request.state.identity = identity
    return identity


def token_user(request: Request, scope: str | None = None) -> str | None:
    """The user name behind the request's token (needing ``scope``); None without a token; 401 for an unknown,
    revoked or expired token."""
    identity = token_identity(request)
    if identity is not None and scope is not None:
        require_scope(identity, scope)
    return identity.name if identity is not None else None


def writer(request: Request) -> str:
    """Dependency for writes: the acting user, from a valid token with the ``write`` scope (401 without one; 403 for
    a viewer or a token without the scope, before anything else about the request is looked at)."""
    return acting(request, "write").name


def mover(request: Request) -> Identity:
    """Dependency for request transitions: the acting identity (the scope depends on the action: the handler
    checks it)."""
    return acting(request, None)


def acting(request: Request, scope: str | None) -> Identity:
    """The identity of a request that changes data: 401 without a token, 403 for a viewer or (when ``scope`` is
    given) a token without that scope."""
    identity = token_identity(request)
    if identity is None:
        raise ApiError(
            401,
            "this request changes data and needs 'Authorization: Bearer <token>' (create one with "
            "`gpucast token create --user USER`)",
            "authorization",
            CHALLENGE,
        )
    if identity.role == "viewer":
        raise ApiError(403, viewer_refusal(identity.name), "authorization")
    if scope is not None:
        require_scope(identity, scope)
    return identity


async def reader(request: Request) -> str | None:
    """Dependency for reads: open, or token-only when the server's settings require it.

    Async so that an open read without a token (most requests) costs no thread hop; a token is checked
    against the store in the thread pool, keeping database I/O off the event loop."""
    needs_token = request.app.state.settings.reads_need_token()
    if not needs_token and "authorization" not in request.headers:
        return None
    scope = "read" if request.method in ("GET", "HEAD") else "plan"  # POSTs that save nothing compute plans
    return await run_in_threadpool(_token_reader if needs_token else token_user, request, scope)


def _token_reader(request: Request, scope: str) -> str:
    """A read on a server whose reads need a token: the token's user (401 without one)."""
    name = token_user(request, scope)
    if name is None:
        raise ApiError(
            401,
            "this server requires a token for reading (it is not bound to a loopback address, or runs with "
            "--read-token-required): send 'Authorization: Bearer <token>' (create one with `gpucast token create "
            "--user USER`)",
            "authorization",
            CHALLENGE,
        )
    return name
