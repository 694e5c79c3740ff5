"""API tokens over HTTP (``gpucast token``): list, create (shown once), rotate, revoke — rate-limited.

A token can never mint a stronger one: a new or rotated token's scopes must be among the acting token's own,
another user's tokens need the ``admin`` scope (and the admin role, checked by the store), and no token may hold
a scope its user's role never has (the store refuses it).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from ..auth import Identity, acting, require_scope, store_of
from ..errors import ApiError
from ..ratelimit import refusal
from ..schemas import MAX_ID, Name, _Body
from .forms import known_query


async def token_attempt(request: Request) -> None:
    """Dependency of every token endpoint: one attempt, 429 with Retry-After past the limit (.ratelimit)."""
    refused = refusal(request, "token")
    if refused is not None:
        raise ApiError(429, refused[0], None, {"Retry-After": str(refused[1])})


router = APIRouter(tags=["tokens"], dependencies=[Depends(token_attempt)])
Scope = Literal["read", "plan", "write", "approve", "admin"]


class TokenBody(_Body):
    """A new token (the flags of ``gpucast token create``); ``user`` defaults to the token's own user."""

    user: Name | None = None
    label: str | None = Field(None, max_length=200)
    scopes: list[Scope] | None = Field(None, max_length=5, description="default: all the user's role allows")
    expires_in_days: float | None = Field(None, gt=0, le=3650, description="default: never expires")


def _manager(request: Request) -> Identity:
    return acting(request, None)


def _no_stronger(identity: Identity, scopes: list[str] | tuple[str, ...]) -> None:
    beyond = sorted(set(scopes) - identity.scopes)
    if beyond:
        raise ApiError(403, f"a token cannot give another more than it has: this one lacks {', '.join(beyond)}",
                       "scopes")  # fmt: skip


@router.get("/tokens")
def list_tokens(
    request: Request,
    user: str | None = Query(None, max_length=200),
    identity: Identity = Depends(_manager),
    _known: None = Depends(known_query),  # after the token: who may list is checked first
) -> JSONResponse:
    """Your tokens (prefix only, never the token); an admin token may list another user's or everyone's."""
    from ...store import tokens

    if user != identity.name:
        require_scope(identity, "admin")
    with store_of(request).read() as session:
        rows = [tokens.token_record(t) for t in tokens.list_tokens(session, user)]
    return JSONResponse(rows)


@router.post("/tokens", status_code=201)
def create_token(request: Request, body: TokenBody, identity: Identity = Depends(_manager)) -> JSONResponse:
    """A new token, in the answer's ``token`` field: shown this once, only its hash is kept."""
    from ...store import tokens
    from ...store.services import get_user

    owner = body.user or identity.name
    if owner != identity.name:
        require_scope(identity, "admin")
    with store_of(request).write() as session:
        role = get_user(session, owner).role
        chosen = tokens.parse_scopes(body.scopes, role)
        _no_stronger(identity, chosen)
        secret, made = tokens.create_token(session, owner, identity.name, body.label, scopes=chosen,
                                           expires_in_days=body.expires_in_days)  # fmt: skip
        record = tokens.token_record(made) | {"token": secret}
    return JSONResponse(record, status_code=201)


@router.post("/tokens/{token_id}/rotate", status_code=201)
def rotate_token(
    request: Request, token_id: int = Path(ge=1, le=MAX_ID), identity: Identity = Depends(_manager)
) -> JSONResponse:
    """Revoke a token and return its successor (same user, label, scopes, lifetime), shown this once."""
    from ...store import tokens

    with store_of(request).write() as session:
        old = tokens.find_token(session, token_id)
        if old.user.name != identity.name:
            require_scope(identity, "admin")
        _no_stronger(identity, old.scopes.split())
        secret, made = tokens.rotate_token(session, token_id, identity.name)
        record = tokens.token_record(made) | {"token": secret, "replaces": token_id}
    return JSONResponse(record, status_code=201)


@router.delete("/tokens/{token_id}")
def revoke_token(
    request: Request, token_id: int = Path(ge=1, le=MAX_ID), identity: Identity = Depends(_manager)
) -> JSONResponse:
    """Revoke a token (kept as a record); yours, or anyone's with an admin token."""
    from ...store import tokens

    with store_of(request).write() as session:
        if tokens.find_token(session, token_id).user.name != identity.name:
            require_scope(identity, "admin")
        record = tokens.token_record(tokens.revoke_token(session, token_id, identity.name))
    return JSONResponse(record)
