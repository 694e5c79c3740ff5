"""gpucast's database: services, usage history, saved plans, capacity requests, users and the audit log.

Needs the ``[store]`` extra (SQLAlchemy, Alembic; psycopg for PostgreSQL). ``import gpucast`` never imports
this package. Typical use::

    from gpucast.store import open_store, services, workflow
    with open_store("sqlite:///capacity.db") as store, store.write() as session:
        services.add_user(session, "alice", "requester", actor="alice")
        ...

Every ``store.write()`` block is one transaction; the functions in :mod:`.services`, :mod:`.metrics`,
:mod:`.plans`, :mod:`.workflow` take its session and record each change in the audit log.
"""

from __future__ import annotations

from .db import Store, open_store, resolve_url

__all__ = ["Store", "open_store", "resolve_url"]
