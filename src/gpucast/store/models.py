"""The database schema as typed SQLAlchemy 2.x models.

The schema, not the Python code, is the last line of defence: names are unique, states, roles,
environments and tiers are CHECK constraints, and every reference is a foreign key, so a bug (or a
hand-edited row) cannot store a request in an unknown state or a metric for a missing service.
Times are naive UTC (``datetime.utcnow``-like) so SQLite and PostgreSQL round-trip them identically.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ..errors import InputError

ROLES = ("viewer", "requester", "approver", "admin")
ENVIRONMENTS = ("prod", "staging", "dev")
TIERS = ("tier1", "tier2", "tier3")
PLAN_KINDS = ("inference", "training", "forecast")
STATUSES = ("draft", "submitted", "approved", "rejected", "provisioned")
ALL_SCOPES = "read plan write approve admin"  # a token's scopes (gpucast.store.tokens), all of them
MAX_ID = 2**63 - 1  # the largest row id SQLite and PostgreSQL (bigint) store; a larger number names no row


def can_be_id(value: int) -> bool:
    """Whether ``value`` could be a row id at all: a larger one overflows the database driver (OverflowError, not
    a "not found"), so lookups answer "does not exist" before asking the database."""
    return 1 <= value <= MAX_ID


def row_limit(limit: int | None) -> int | None:
    """A list's ``--limit`` for SQL: None (every row) when none is given or when it is past any row count (a
    20-digit limit overflowed the driver: a traceback, and a 500 on the /history page's offset); 0 or less is an
    InputError (SQLite read LIMIT -1 and a falsy 0 as "no limit", listing every row)."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InputError(f"--limit {limit!r} must be a whole number > 0")
    return limit if limit <= MAX_ID else None


def utcnow() -> datetime:
    """Naive UTC now: the one clock of the store (microseconds kept, zone implied)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        datetime: DateTime(timezone=False),
    }


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="ck_users_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A REST API token (issue 8): only its SHA-256 is stored, so a copy of the database leaks no usable token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the token's first characters, to recognise it in a list
    label: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # what the token may do (gpucast.store.tokens.SCOPES), space-separated; its user's role limits it further
    scopes: Mapped[str] = mapped_column(String(100), default=ALL_SCOPES, server_default=ALL_SCOPES)
    expires_at: Mapped[datetime | None]  # None: never expires

    user: Mapped[User] = relationship()


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint(_one_of("environment", ENVIRONMENTS), name="ck_services_environment"),
        CheckConstraint(_one_of("criticality", TIERS), name="ck_services_criticality"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    team: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200))
    environment: Mapped[str] = mapped_column(String(20))
    criticality: Mapped[str] = mapped_column(String(10))
    cloud: Mapped[str] = mapped_column(String(50))
    region: Mapped[str] = mapped_column(String(100))
    allowed_instance_types: Mapped[list[str]] = mapped_column(default=list)
    model: Mapped[str | None] = mapped_column(String(200))
    precision: Mapped[str | None] = mapped_column(String(20))
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    ttft_slo_ms: Mapped[float | None] = mapped_column(Float)
    itl_slo_ms: Mapped[float | None] = mapped_column(Float)
    tags: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    metrics: Mapped[list[UsageMetric]] = relationship(back_populates="service", passive_deletes=True)


class UsageMetric(Base):
    __tablename__ = "usage_metrics"
    # one sample per service and timestamp: what makes re-importing a file add nothing
    __table_args__ = (
        UniqueConstraint("service_id", "timestamp", name="uq_usage_metrics_service_timestamp"),
        CheckConstraint("rps >= 0", name="ck_usage_metrics_rps"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    timestamp: Mapped[datetime]
    rps: Mapped[float] = mapped_column(Float)
    input_tokens: Mapped[float | None] = mapped_column(Float)
    output_tokens: Mapped[float | None] = mapped_column(Float)
    latency_p50_ms: Mapped[float | None] = mapped_column(Float)
    latency_p95_ms: Mapped[float | None] = mapped_column(Float)
    latency_p99_ms: Mapped[float | None] = mapped_column(Float)
    gpu_utilization: Mapped[float | None] = mapped_column(Float)

    service: Mapped[Service] = relationship(back_populates="metrics")


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (CheckConstraint(_one_of("kind", PLAN_KINDS), name="ck_plans_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    command: Mapped[str] = mapped_column(String(50))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"), index=True)
    inputs: Mapped[dict[str, Any]]
    result: Mapped[Any] = mapped_column(JSON)
    gpu_type: Mapped[str | None] = mapped_column(String(100))  # summary columns, for filter and sort
    total_gpus: Mapped[int | None] = mapped_column(Integer)
    monthly_cost: Mapped[float | None] = mapped_column(Float)
    gpucast_version: Mapped[str] = mapped_column(String(50))
    catalog_versions: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CapacityRequest(Base):
    __tablename__ = "capacity_requests"
    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="ck_capacity_requests_status"),
        CheckConstraint("gpu_count > 0", name="ck_capacity_requests_count"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    gpu_type: Mapped[str] = mapped_column(String(100))
    gpu_count: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(100))
    monthly_cost: Mapped[float | None] = mapped_column(Float)
    justification: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    provisioned_at: Mapped[datetime | None]

    service: Mapped[Service] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    comments: Mapped[list[RequestComment]] = relationship(order_by="RequestComment.id", passive_deletes=True)


class RequestComment(Base):
    """One row per transition (and its optional comment): the request's own history."""

    __tablename__ = "request_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("capacity_requests.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Every change, written in the same transaction as the change itself."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


TABLES_IN_ORDER = (
    "users",
    "api_tokens",
    "services",
    "usage_metrics",
    "plans",
    "capacity_requests",
    "request_comments",
    "audit_log",
)
