"""API tokens for ``gpucast serve``: created once, shown once, stored only as a SHA-256 hash.

A token is 32 random bytes (``secrets.token_urlsafe``) behind a ``gpc_`` prefix, so it is recognisable in
logs and secret scanners. SHA-256 without salt is enough here: the token has 256 bits of entropy, so no
dictionary or rainbow table applies (salting and slow hashes protect low-entropy *passwords*), and an
unsalted hash lets the server find the token with one indexed lookup.

Who may create a token for a user: the user themselves, an admin, or anyone while no admin exists (the
same bootstrap rule as ``user add``). Like all roles in the store these are guard-rails for the CLI; over
HTTP a token is the only proof of identity.

Scopes (issue 24) narrow what a token may do below what its user's role allows: ``read`` (GET), ``plan`` (plan
computations), ``write`` (services, metrics, saved plans, drafting and submitting requests), ``approve``
(approving, rejecting, provisioning) and ``admin`` (other users' tokens). A token cannot hold a scope its user's
role never has (:data:`ROLE_SCOPES`), so a leaked read-only token stays read-only. A token may expire
(``expires_at``); rotating one revokes it and issues a new token with the same user, label, scopes and lifetime.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InputError, StoreConflictError, StoreNotFoundError, WorkflowError
from .models import ApiToken, User, can_be_id, utcnow
from .services import audit, find_user, get_user, iso

TOKEN_PREFIX = "gpc_"
PREFIX_SHOWN = 10  # characters kept in clear to tell tokens apart in `token list`
SCOPES = ("read", "plan", "write", "approve", "admin")
ROLE_SCOPES = {
    "viewer": ("read", "plan"),
    "requester": ("read", "plan", "write"),
    "approver": ("read", "plan", "write", "approve"),
    "admin": SCOPES,
}
ACTION_SCOPE = {"submit": "write", "approve": "approve", "reject": "approve", "provision": "approve"}
MAX_DAYS = 3650  # the longest lifetime a token may be given


def parse_scopes(scopes: Iterable[str] | str | None, role: str) -> tuple[str, ...]:
    """Scopes in canonical order; None: all the role allows. InputError for an unknown scope, or for scopes given but
    naming none (``--scope ''``, ``"scopes": []``: an unset variable made a token with every scope the role allows,
    QA 2026-12-07), WorkflowError for one the role never has (no token may do more than its user)."""
    allowed = ROLE_SCOPES.get(role, ())
    if scopes is None:
        return allowed
    names = scopes.replace(",", " ").split() if isinstance(scopes, str) else [str(s).strip() for s in scopes]
    if not any(names):
        raise InputError(f"--scope {scopes!r} names no scope: give some of {', '.join(SCOPES)}, or leave it out for "
                         "all the user's role allows")  # fmt: skip
    for name in names:
        if name not in SCOPES:
            raise InputError(f"--scope {name!r} is not one of {', '.join(SCOPES)}")
    beyond = [name for name in names if name not in allowed]
    if beyond:
        raise WorkflowError(f"a {role} cannot hold the scope {', '.join(beyond)} (a {role} token may have "
                            f"{', '.join(allowed) or 'none'})")  # fmt: skip
    return tuple(s for s in SCOPES if s in names)


def effective_scopes(record: ApiToken) -> frozenset[str]:
    """What a token may do now: its scopes, within its user's current role (a demoted user's token shrinks)."""
    return frozenset(record.scopes.split()) & frozenset(ROLE_SCOPES.get(record.user.role, ()))


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256 of its UTF-8 text."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    user: str,
    actor: str,
    label: str | None = None,
    *,
    scopes: Iterable[str] | str | None = None,
    expires_in_days: float | None = None,
) -> tuple[str, ApiToken]:
    """A new token for ``user``; returns the token text (the only time it exists) and its stored record.
    ``scopes`` None: all its user's role allows; ``expires_in_days`` None: never expires."""
    owner = get_user(session, user)
    chosen = parse_scopes(scopes, owner.role)
    if expires_in_days is not None and not 0 < expires_in_days <= MAX_DAYS:
        raise InputError(f"--expires-days {expires_in_days} must be more than 0 and at most {MAX_DAYS}")
    has_admin = session.scalar(select(func.count()).select_from(User).where(User.role == "admin"))
    if has_admin and actor != owner.name:
        me = find_user(session, actor)
        if me is None or me.role != "admin":
            raise WorkflowError(f"only {owner.name!r} or an admin may create a token for {owner.name!r}; {actor!r} "
                                "is neither (use --as ADMIN)")  # fmt: skip
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(days=expires_in_days) if expires_in_days is not None else None
    record = ApiToken(user_id=owner.id, token_hash=hash_token(token), prefix=token[:PREFIX_SHOWN], label=label,
                      created_by=actor, created_at=now, scopes=" ".join(chosen), expires_at=expires)  # fmt: skip
    session.add(record)
    session.flush()
    audit(session, actor, "create", "api_token", record.id, user=owner.name, prefix=record.prefix,
          scopes=record.scopes)  # fmt: skip
    return token, record


def token_for(session: Session, token: str) -> ApiToken | None:
    """The stored record of a presented token, or None when it is unknown, revoked or expired."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if record is None or record.revoked_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= utcnow():
        return None
    return record


def user_for_token(session: Session, token: str) -> User | None:
    """The user a presented token belongs to, or None when it is unknown, revoked or expired."""
    record = token_for(session, token)
    return record.user if record is not None else None


def list_tokens(session: Session, user: str | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if user:
        query = query.where(ApiToken.user_id == get_user(session, user).id)
    return list(session.scalars(query))


def rotate_token(session: Session, token_id: int, actor: str) -> tuple[str, ApiToken]:
    """Revoke a token and issue its successor (same user, label, scopes and lifetime); the owner or an admin may
    do it. Returns the new token's text (shown once) and record. A revoked token stays revoked: rotating it (or
    rotating a token twice) would give a live successor to a token someone chose to end."""
    found, me = find_token(session, token_id), find_user(session, actor)
    if actor != found.user.name and (me is None or me.role != "admin"):  # who may, before what state it is in
        raise WorkflowError(f"only {found.user.name!r} or an admin may rotate token {token_id}")
    if found.revoked_at is not None:
        raise StoreConflictError(f"token {token_id} was revoked at {iso(found.revoked_at)} and cannot be rotated; "
                                 f"create a new one with `gpucast token create --user {found.user.name}`")  # fmt: skip
    old = revoke_token(session, token_id, actor)
    lifetime = old.expires_at - old.created_at if old.expires_at is not None else None
    days = lifetime.total_seconds() / 86400 if lifetime is not None else None
    token, record = create_token(session, old.user.name, actor, old.label, scopes=old.scopes.split() or None,
                                 expires_in_days=days)  # fmt: skip
    audit(session, actor, "rotate", "api_token", old.id, user=old.user.name, successor=record.id)
    return token, record


def find_token(session: Session, token_id: int) -> ApiToken:
    record = session.get(ApiToken, token_id) if can_be_id(token_id) else None
    if record is None:
        raise StoreNotFoundError(f"token {token_id} does not exist (see `gpucast token list`)")
    return record


def revoke_token(session: Session, token_id: int, actor: str) -> ApiToken:
    """Revoke a token (kept as a record); the owner or an admin may do it."""
    record = find_token(session, token_id)
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
            "revoked_at": iso(record.revoked_at), "scopes": record.scopes.split(),
            "expires_at": iso(record.expires_at)}  # fmt: skip
