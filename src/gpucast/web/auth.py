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
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..store import Store
from ..store.services import viewer_refusal
from ..store.tokens import user_for_token
from .errors import ApiError

CHALLENGE = {"WWW-Authenticate": "Bearer"}


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


def _token_identity(request: Request) -> tuple[str, str] | None:
    """The user name and role behind the request's token; None without a token; 401 for an unknown or revoked
    token."""
    token = _bearer(request)
    if token is None:
        return None
    with store_of(request).read() as session:
        user = user_for_token(session, token)
        identity = (user.name, user.role) if user is not None else None
    if identity is None:
        raise ApiError(401, "the API token is unknown or revoked", "authorization", CHALLENGE)
    return identity


def token_user(request: Request) -> str | None:
    """The user name behind the request's token; None without a token; 401 for an unknown or revoked token."""
    identity = _token_identity(request)
    return identity[0] if identity is not None else None


def writer(request: Request) -> str:
    """Dependency for writes: the acting user, from a valid token (401 without one; 403 for a viewer, before
    anything else about the request is looked at)."""
    identity = _token_identity(request)
    if identity is None:
        raise ApiError(
            401,
            "this request changes data and needs 'Authorization: Bearer <token>' (create one with "
            "`gpucast token create --user USER`)",
            "authorization",
            CHALLENGE,
        )
    name, role = identity
    if role == "viewer":
        raise ApiError(403, viewer_refusal(name), "authorization")
    return name


async def reader(request: Request) -> str | None:
    """Dependency for reads: open, or token-only when the server's settings require it.

    Async so that an open read without a token (most requests) costs no thread hop; a token is checked
    against the store in the thread pool, keeping database I/O off the event loop."""
    needs_token = request.app.state.settings.reads_need_token()
    if not needs_token and "authorization" not in request.headers:
        return None
    return await run_in_threadpool(_token_reader if needs_token else token_user, request)


def _token_reader(request: Request) -> str:
    """A read on a server whose reads need a token: the token's user (401 without one)."""
    name = token_user(request)
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
