"""Alembic environment: runs on the connection ``gpucast.store.db.upgrade`` passes in (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from gpucast.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` run by hand without gpucast's upgrade()
    raise RuntimeError("run migrations through gpucast.store.db.upgrade() (it passes the connection)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
