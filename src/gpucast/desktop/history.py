"""The plan history for the desktop: save, list, open and compare plans in the same database as the CLI and web.

Plans are stored with :func:`gpucast.store.plans.save_plan` exactly as ``--save`` stores them (command, kind,
inputs, the ``--json`` result, versions, who and when); ``gpucast history`` and the web's history page list what
the desktop saved and the other way round. ``db`` is a path or SQLAlchemy URL (``--db``), None for the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..console.saving import require_store

LIST_LIMIT = 200  # newest plans shown in the history list


@dataclass(frozen=True)
class Saved:
    plan_id: int
    url: str


def save(db: str | None, *, command: str, kind: str, sections: dict[str, Any] | None, result: Any,
         actor: str | None = None) -> Saved:  # fmt: skip
    """Store a computed result (as ``gpucast <command> --save`` would) and return its id and the database."""
    require_store()
    from ..store import open_store
    from ..store.plans import save_plan
    from ..store.services import acting_user

    inputs: dict[str, Any] = {"sections": sections or {}, "via": "desktop"}
    with open_store(db) as store, store.write() as session:
        plan = save_plan(session, command=command, kind=kind, inputs=inputs, result=result,
                         actor=acting_user(actor))  # fmt: skip
        return Saved(int(plan.id), store.url)


def records(db: str | None, kind: str | None = None) -> list[dict[str, Any]]:
    """The newest plans first, as ``gpucast history --json`` lists them."""
    require_store()
    from ..store import open_store, resolve_url
    from ..store.db import missing_database
    from ..store.plans import list_plans, plan_record

    if missing_database(resolve_url(db)):  # nothing saved yet: an empty list, and no empty database file left behind
        return []
    with open_store(db) as store, store.read() as session:
        rows = list_plans(session, kind=kind, sort="-id", limit=LIST_LIMIT)
        return [plan_record(plan, service) for plan, service in rows]


def record(db: str | None, plan_id: int) -> dict[str, Any]:
    """One stored plan with its inputs and result (``gpucast history show ID --json``)."""
    require_store()
    from ..store import open_store
    from ..store.plans import get_plan, plan_record

    with open_store(db, must_exist=True) as store, store.read() as session:
        return plan_record(get_plan(session, plan_id), None, full=True)


def differences(db: str | None, a: int, b: int) -> list[dict[str, Any]]:
    """Every input and result field that differs between two stored plans (``gpucast history diff A B``)."""
    require_store()
    from ..store import open_store
    from ..store.plans import diff_plans, get_plan

    with open_store(db, must_exist=True) as store, store.read() as session:
        return diff_plans(get_plan(session, a), get_plan(session, b))


def side_by_side(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(quantity, plan A, plan B) rows: the key figures and tables of both plans' reports, aligned by name."""
    from ..reports.content import build_report

    reports = [build_report(plan, alternatives=False) for plan in (a, b)]
    names: dict[str, list[str]] = {}
    order: list[str] = []
    for index, report in enumerate(reports):
        pairs = list(report.key_figures) + [(f"{t.title}: {r[0]}", r[1]) for t in report.tables[1:] for r in t.rows]
        for name, value in pairs:
            if name not in names:
                names[name] = ["—", "—"]
                order.append(name)
            names[name][index] = value
    return [(name, names[name][0], names[name][1]) for name in order]
