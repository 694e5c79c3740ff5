"""Users, services and the audit log: the records every other part of the store refers to.

Roles are workflow guard-rails, not access control (anyone who can write the database file can edit it;
on PostgreSQL use database permissions for that). Rules:

* ``user add``: anyone while the database has no admin (bootstrap), afterwards admins only;
* services and metrics: anyone except a registered *viewer* (so single-user use needs no set-up);
* capacity requests: see :mod:`gpucast.store.workflow`.
"""

from __future__ import annotations

import getpass
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InputError, StoreConflictError, StoreNotFoundError, WorkflowError
from .models import ENVIRONMENTS, ROLES, TIERS, AuditLog, CapacityRequest, Service, User, utcnow

# A service name is a DNS-1123 label, as Kubernetes names its objects: it is safe as a URL path segment, a file
# name, an HTTP header value, a metric label and a Kubernetes resource name, with no quoting anywhere.
SERVICE_NAME_MAX = 63
SERVICE_NAME = re.compile(rf"[a-z0-9](?:[-a-z0-9]{{0,{SERVICE_NAME_MAX - 2}}}[a-z0-9])?")
SERVICE_NAME_RULE = (f"use lowercase letters, digits and '-', starting and ending with a letter or digit "
                     f"(1-{SERVICE_NAME_MAX} characters), e.g. 'chat-assistant'")  # fmt: skip
EDITABLE = ("team", "owner", "environment", "criticality", "cloud", "region", "allowed_instance_types", "model",
            "precision", "input_tokens", "output_tokens", "ttft_slo_ms", "itl_slo_ms", "tags", "notes")  # fmt: skip


def acting_user(as_user: str | None = None) -> str:
    """``--as USER`` or the operating-system user: who is recorded for every change."""
    name = unicodedata.normalize("NFC", (as_user or "").strip())  # as user names are stored (check_user_name)
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): fall back to the uid
        return f"uid-{os.getuid()}"


def audit(session: Session, actor: str, action: str, entity: str, entity_id: int | None, **details: Any) -> None:
    """Record a change in the same transaction as the change (both commit, or neither)."""
    session.add(AuditLog(actor=actor, action=action, entity=entity, entity_id=entity_id, details=details))


def find_user(session: Session, name: str) -> User | None:
    """The user of that name, as typed or in NFC (names are stored in NFC: "é" typed as e + U+0301 is "é")."""
    spellings = {name, unicodedata.normalize("NFC", name)}
    return session.scalars(select(User).where(User.name.in_(spellings)).order_by(User.id)).first()


def get_user(session: Session, name: str) -> User:
    user = find_user(session, name)
    if user is None:
        known = ", ".join(session.scalars(select(User.name).order_by(User.name).limit(10))) or "none yet"
        raise StoreNotFoundError(f"user {name!r} does not exist (users: {known}); add it with `gpucast user add`")
    return user


USER_NAME_MAX = 100  # login names, e-mail addresses and OS user names all fit


def check_user_name(name: str) -> str:
    """The name, trimmed, if it can name a user: 1-100 printable characters without blanks or '/' (login names,
    e-mail addresses; no control characters, which PostgreSQL refuses and logs would hide); else an InputError."""
    # NFC: "é" as one code point and as e + U+0301 look the same and were two users (or one refused as the other)
    trimmed = unicodedata.normalize("NFC", name.strip())
    bad = not trimmed or len(trimmed) > USER_NAME_MAX or "/" in trimmed
    if bad or any(not ch.isprintable() or ch.isspace() for ch in trimmed):
        shown = trimmed if len(trimmed) <= 80 else trimmed[:77] + "..."
        raise InputError(
            f"user name {shown!r} is not valid: use 1-{USER_NAME_MAX} printable characters without blanks or '/' "
            "(e.g. 'alice' or 'alice@example.com')"
        )
    return trimmed


def add_user(session: Session, name: str, role: str, actor: str) -> User:
    """Register a user; after the first admin exists only admins may do this."""
    name = check_user_name(name)
    if role not in ROLES:
        raise InputError(f"--role {role!r} is not one of {', '.join(ROLES)}")
    has_admin = session.scalar(select(func.count()).select_from(User).where(User.role == "admin"))
    if has_admin:
        me = find_user(session, actor)
        if me is None or me.role != "admin":
            raise WorkflowError(f"only an admin may add users once an admin exists; {actor!r} is "
                                f"{me.role if me else 'not a registered user'} (use --as ADMIN)")  # fmt: skip
    if find_user(session, name) is not None:
        raise StoreConflictError(f"user {name!r} already exists")
    user = User(name=name, role=role)
    session.add(user)
    session.flush()
    audit(session, actor, "create", "user", user.id, name=name, role=role)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def check_may_write(session: Session, actor: str) -> None:
    """Registered viewers are read-only; everyone else may change services, metrics and plans."""
    user = find_user(session, actor)
    if user is not None and user.role == "viewer":
        raise WorkflowError(viewer_refusal(actor))


def viewer_refusal(actor: str) -> str:
    """Why a viewer's write is refused (the store's rule, and the web layer's 403 before anything else)."""
    return f"user {actor!r} has the viewer role and may not change data (needs requester or above)"


@dataclass
class ServiceFields:
    """A service's settings as given on the command line (None = not given)."""

    team: str | None = None
    owner: str | None = None
    environment: str | None = None
    criticality: str | None = None
    cloud: str | None = None
    region: str | None = None
    allowed_instance_types: list[str] | None = None
    model: str | None = None
    precision: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    ttft_slo_ms: float | None = None
    itl_slo_ms: float | None = None
    tags: list[str] | None = None
    notes: str | None = None

    def given(self) -> dict[str, Any]:
        """Only the settings that were given, validated and canonicalised."""
        values = {k: getattr(self, k) for k in EDITABLE if getattr(self, k) is not None}
        _validate(values)
        return values


def _validate(values: dict[str, Any]) -> None:
    from ..catalog import loader
    from ..inputs.numbers import check_positive
    from ..inputs.types import parse_precision

    for key, accepted in (("environment", ENVIRONMENTS), ("criticality", TIERS)):
        if key in values and values[key] not in accepted:
            raise InputError(f"--{key} {values[key]!r} is not one of {', '.join(accepted)}")
    if "cloud" in values and values["cloud"] not in loader.clouds():
        raise InputError(f"--cloud {values['cloud']!r} is not one of {', '.join(loader.clouds())}")
    if "allowed_instance_types" in values:  # once each, in the order given ("H100,H100-SXM" is one GPU type)
        values["allowed_instance_types"] = list(dict.fromkeys(loader.resolve_gpu(g).name
                                                              for g in values["allowed_instance_types"]))  # fmt: skip
    if "tags" in values:  # "a,b,,a" was stored as a, b, a (blank tags are dropped on the command line, not over REST)
        values["tags"] = list(dict.fromkeys(str(t).strip() for t in values["tags"] if str(t).strip()))
    if "model" in values:
        loader.resolve_model(values["model"])  # raises UnknownModelError with close matches
    if "precision" in values:
        values["precision"] = parse_precision(values["precision"]).name
    for key in ("input_tokens", "output_tokens"):
        if key in values:
            check_positive(f"--{key.replace('_', '-')}", values[key], integer=True, upper=10_000_000)
    for key in ("ttft_slo_ms", "itl_slo_ms"):
        if key in values:
            check_positive(f"--{key.replace('_', '-')}", values[key], upper=1e7)
    for key in ("team", "region"):
        if key in values and not str(values[key]).strip():
            raise InputError(f"--{key} must not be empty")


def check_service_name(name: str) -> str:
    """The name, trimmed, if it is a valid service name (:data:`SERVICE_NAME`); else a one-line InputError."""
    trimmed = name.strip()
    if SERVICE_NAME.fullmatch(trimmed) is None:
        shown = trimmed if len(trimmed) <= 80 else trimmed[:77] + "..."
        raise InputError(f"service name {shown!r} is not valid: {SERVICE_NAME_RULE}")
    return trimmed


def check_stored_name(what: str, name: str) -> str:
    """A user or service name read back from a database export (``db import``), checked by the rule the name's
    ``add`` command applies (:func:`check_user_name`, :func:`check_service_name`): the one validator for both.

    A name stored before that rule (service names before 2026-12-04 were any text) keeps loading as it was saved,
    so an old export still restores whole, when it is usable: at least one character, printable (no control
    characters, which terminals and logs act on), without blanks at either end. An empty, blank or control-character
    name (``''``, ``'  '``, ``'chat\\x1b[2J'``) is refused with one line, before anything is written: it imported,
    and then no command could name the record."""
    check = check_service_name if what == "service" else check_user_name
    try:
        if check(name) == name:
            return name
    except InputError:
        pass
    if name and name == name.strip() and name.isprintable():
        return name  # stored under an older rule: restored as saved
    shown = name if len(name) <= 80 else name[:77] + "..."
    rule = SERVICE_NAME_RULE if what == "service" else (f"use 1-{USER_NAME_MAX} printable characters without blanks "
                                                          "or '/' (e.g. 'alice' or 'alice@example.com')")  # fmt: skip
    raise InputError(f"{what} name {shown!r} is not valid: {rule}")


def add_service(session: Session, name: str, fields: ServiceFields, actor: str) -> Service:
    """Add a service: who may (a viewer may not) is checked first, then the name and the fields, then the write."""
    check_may_write(session, actor)
    name = check_service_name(name)
    values = fields.given()
    missing = [f"--{k}" for k in ("team", "environment", "criticality", "cloud", "region") if k not in values]
    if missing:
        raise InputError(f"service add needs {', '.join(missing)}")
    if find_service(session, name) is not None:
        raise StoreConflictError(f"service {name!r} already exists (change it with `gpucast service update`)")
    service = Service(name=name, created_by=actor, **values)
    session.add(service)
    session.flush()
    audit(session, actor, "create", "service", service.id, name=name, **_jsonable(values))
    return service


def update_service(session: Session, name: str, fields: ServiceFields, actor: str) -> Service:
    check_may_write(session, actor)
    service = get_service(session, name)
    values = fields.given()
    if not values:
        raise InputError(f"nothing to update for service {name!r}: give at least one setting, e.g. --region")
    before = {k: getattr(service, k) for k in values}
    for key, value in values.items():
        setattr(service, key, value)
    service.updated_at = utcnow()
    audit(session, actor, "update", "service", service.id, name=name, before=_jsonable(before), after=_jsonable(values))
    return service


def delete_service(session: Session, name: str, actor: str) -> None:
    """Delete a service and its metrics; refused while capacity requests refer to it (they are records)."""
    check_may_write(session, actor)
    service = get_service(session, name)
    requests = session.scalar(select(func.count()).where(CapacityRequest.service_id == service.id))
    if requests:
        raise StoreConflictError(f"service {name!r} has {requests} capacity request(s) and cannot be deleted")
    audit(session, actor, "delete", "service", service.id, name=name)
    session.delete(service)


def find_service(session: Session, name: str) -> Service | None:
    return session.scalar(select(Service).where(Service.name == name))


def get_service(session: Session, name: str) -> Service:
    service = find_service(session, name)
    if service is None:
        known = ", ".join(session.scalars(select(Service.name).order_by(Service.name).limit(10))) or "none yet"
        raise StoreNotFoundError(
            f"service {name!r} does not exist (services: {known}); add it with `gpucast service add`"
        )
    return service


def list_services(session: Session, *, team: str | None = None, environment: str | None = None) -> list[Service]:
    query = select(Service).order_by(Service.name)
    if team:
        query = query.where(Service.team == team)
    if environment:
        query = query.where(Service.environment == environment)
    return list(session.scalars(query))


def service_record(service: Service) -> dict[str, Any]:
    """The service as plain JSON-able data (what `service show --json` prints)."""
    data: dict[str, Any] = {"id": service.id, "name": service.name}
    data.update({k: getattr(service, k) for k in EDITABLE})
    data.update(created_by=service.created_by, created_at=iso(service.created_at), updated_at=iso(service.updated_at))
    return data


def user_record(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "role": user.role, "created_at": iso(user.created_at)}


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text of a stored (naive UTC) time, None kept."""
    return value.isoformat() if value is not None else None


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (iso(v) if isinstance(v, datetime) else v) for k, v in values.items()}
