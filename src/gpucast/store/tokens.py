"""API tokens for ``gpucast serve``: created once, shown once, stored only as a SHA-256 hash.

A token is 32 random bytes (``secrets.token_urlsafe``) behind a ``gpc_`` prefix, so it is recognisable in
logs and secret scanners. SHA-256 without salt is enough here: the token has 256 bits of entropy, so no
dictionary or rainbow table applies (salting and slow hashes protect low-entropy *passwords*), and an
unsalted hash lets the server find the token with one indexed lookup.

Who may create a token for a user: the user themselves, an admin, or anyone while no admin exists (the
same bootstrap rule as ``user add``). Like all roles in the store these are guard-rails for the CLI; over
HTTP a token is the only proof of identity.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import StoreNotFoundError, WorkflowError
from .models import ApiToken, User, can_be_id, utcnow
from .services import audit, find_user, get_user, iso

TOKEN_PREFIX = "gpc_"
PREFIX_SHOWN = 10  # characters kept in clear to tell tokens apart in `token list`


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256 of its UTF-8 text."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, user: str, actor: str, label: str | None = None) -> tuple[str, ApiToken]:
    """A new token for ``user``; returns the token text (the only time it exists) and its stored record."""
    owner = get_user(session, user)
    has_admin = session.scalar(select(func.count()).select_from(User).where(User.role == "admin"))
    if has_admin and actor != owner.name:
        me = find_user(session, actor)
        if me is None or me.role != "admin":
            raise WorkflowError(f"only {owner.name!r} or an admin may create a token for {owner.name!r}; {actor!r} "
                                "is neither (use --as ADMIN)")  # fmt: skip
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user_id=owner.id, token_hash=hash_token(token), prefix=token[:PREFIX_SHOWN], label=label,
                      created_by=actor)  # fmt: skip
    session.add(record)
    session.flush()
    audit(session, actor, "create", "api_token", record.id, user=owner.name, prefix=record.prefix)
    return token, record


def user_for_token(session: Session, token: str) -> User | None:
    """The user a presented token belongs to, or None when it is unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if record is None or record.revoked_at is not None:
        return None
    return record.user


def list_tokens(session: Session, user: str | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if user:
        query = query.where(ApiToken.user_id == get_user(session, user).id)
    return list(session.scalars(query))


def revoke_token(session: Session, token_id: int, actor: str) -> ApiToken:
    """Revoke a token (kept as a record); the owner or an admin may do it."""
    record = session.get(ApiToken, token_id) if can_be_id(token_id) else None
    if record is None:
        raise StoreNotFoundError(f"token {token_id} does not exist (see `gpucast token list`)")
    me = find_user(session, actor)
    if actor != record.user.name and (me is None or me.role != "admin"):
        raise WorkflowError(f"only {record.user.name!r} or an admin may revoke token {token_id}")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit(session, actor, "revoke", "api_token", record.id, user=record.user.name)
    return record


def token_record(record: ApiToken) -> dict[str, Any]:
    """A token as JSON-able data: never the token or its hash, only the display prefix."""
    return {"id": record.id, "user": record.user.name, "prefix": record.prefix, "label": record.label,
            "created_by": record.created_by, "created_at": iso(record.created_at),
            "revoked_at": iso(record.revoked_at)}  # fmt: skip
