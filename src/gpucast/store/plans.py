"""Plan history: every plan a command computes with ``--save``, with what produced it.

A stored plan keeps the command's inputs, its result (exactly the ``--json`` output), the gpucast and catalog
versions, who and when — so a number in an old plan can be traced to the data it came from. Summary columns
(GPU type, GPU count, monthly cost) are copied out of the result for filtering and sorting.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InputError, StoreNotFoundError
from .models import PLAN_KINDS, Plan, Service, can_be_id, row_limit
from .services import audit, check_may_write, get_service

# which kind of plan each planning command stores (forecast/compare depend on --mode)
COMMAND_KINDS = {"inference": "inference", "estimate": "inference", "training": "training",
                 "training-estimate": "training", "predict": "forecast", "service plan": "forecast"}  # fmt: skip
SORT_FIELDS = ("id", "created_at", "kind", "command", "service", "gpu_type", "total_gpus", "monthly_cost", "created_by")
CSV_COLUMNS = ("id", "created_at", "kind", "command", "service", "gpu_type", "total_gpus", "monthly_cost",
               "created_by", "gpucast_version")  # fmt: skip


def plan_kind(command: str, mode: str | None = None) -> str:
    """The stored kind of a command's plan: inference, training or forecast."""
    if command in ("forecast", "compare"):
        return "training" if mode == "training" else "inference"
    if command not in COMMAND_KINDS:
        raise InputError(f"command {command!r} does not produce a plan to save")
    return COMMAND_KINDS[command]


def summarize(result: Any) -> dict[str, Any]:
    """GPU type, GPU count and monthly cost from any command's result (a compare table: its first row)."""
    row = result[0] if isinstance(result, list) and result else result
    if not isinstance(row, dict):
        return {"gpu_type": None, "total_gpus": None, "monthly_cost": None}
    if isinstance(row.get("recommendation"), dict):  # `service plan`: the recommended fleet
        row = row["recommendation"] | {"total_gpus": row["recommendation"].get("gpus")}
    elif isinstance(row.get("capacity"), list) and row["capacity"]:  # `predict --model`: the largest period
        largest = max(row["capacity"], key=lambda p: p.get("gpus", 0))
        row = largest | {"total_gpus": largest.get("gpus")}
    resources = row.get("gpu_resources") or {}
    cost = row.get("cost") or {}
    gpus = resources.get("total_gpus", resources.get("required_gpus", row.get("total_gpus", row.get("num_gpus"))))
    if gpus is None and all(k in row for k in ("tp", "pp", "replicas")):
        gpus = row["tp"] * row["pp"] * row["replicas"]
    gpu_type = resources.get("recommended_gpu_type", row.get("gpu_type", row.get("gpu")))
    monthly = cost.get("monthly_total_cost", row.get("monthly_cost"))
    return {
        "gpu_type": gpu_type if isinstance(gpu_type, str) else None,
        "total_gpus": int(gpus) if isinstance(gpus, (int, float)) else None,
        "monthly_cost": float(monthly) if isinstance(monthly, (int, float)) else None,
    }


def save_plan(
    session: Session,
    *,
    command: str,
    kind: str,
    inputs: dict[str, Any],
    result: Any,
    actor: str,
    service: str | None = None,
) -> Plan:
    """Store one computed plan with its provenance; returns it with its new id."""
    from ..catalog.loader import catalog_versions
    from ..version import __version__

    if kind not in PLAN_KINDS:
        raise InputError(f"plan kind {kind!r} is not one of {', '.join(PLAN_KINDS)}")
    check_may_write(session, actor)
    service_id = get_service(session, service).id if service else None
    plan = Plan(kind=kind, command=command, service_id=service_id, inputs=inputs, result=result,
                gpucast_version=__version__, catalog_versions=catalog_versions(), created_by=actor,
                **summarize(result))  # fmt: skip
    session.add(plan)
    session.flush()
    audit(session, actor, "create", "plan", plan.id, kind=kind, command=command, service=service)
    return plan


def get_plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id) if can_be_id(plan_id) else None
    if plan is None:
        raise StoreNotFoundError(f"plan {plan_id} does not exist (see `gpucast history`)")
    return plan


def list_plans(
    session: Session,
    *,
    service: str | None = None,
    kind: str | None = None,
    gpu: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sort: str = "created_at",
    limit: int | None = None,
) -> list[tuple[Plan, str | None]]:
    """Plans with their service name, filtered; ``sort`` is a field name, ``-field`` for descending."""
    if kind and kind not in PLAN_KINDS:
        raise InputError(f"--kind {kind!r} is not one of {', '.join(PLAN_KINDS)}")
    if since is not None and until is not None and since > until:  # answered "none" before, as if nothing matched
        raise InputError(f"--since {since.isoformat()} is after --until {until.isoformat()}: no plan can be in both; "
                         "swap them")  # fmt: skip
    field = sort.lstrip("-")
    if field not in SORT_FIELDS:
        raise InputError(f"--sort {sort!r} is not one of {', '.join(SORT_FIELDS)} (prefix - for descending)")
    column = Service.name if field == "service" else getattr(Plan, field)
    order = column.desc() if sort.startswith("-") else column.asc()
    query = select(Plan, Service.name).outerjoin(Service, Plan.service_id == Service.id).order_by(order, Plan.id)
    if service:
        query = query.where(Plan.service_id == get_service(session, service).id)
    if kind:
        query = query.where(Plan.kind == kind)
    if gpu:
        # equal in any case: ILIKE read '_' and '%' in a name as wildcards ("H100_SXM" matched "H100-SXM")
        query = query.where(func.lower(Plan.gpu_type) == gpu.lower())
    if since:
        query = query.where(Plan.created_at >= since)
    if until:
        query = query.where(Plan.created_at <= until)
    if row_limit(limit) is not None:
        query = query.limit(row_limit(limit))
    return [(row[0], row[1]) for row in session.execute(query)]


def plan_record(plan: Plan, service: str | None, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": plan.id, "created_at": plan.created_at.isoformat(), "kind": plan.kind, "command": plan.command,
        "service": service, "gpu_type": plan.gpu_type, "total_gpus": plan.total_gpus,
        "monthly_cost": plan.monthly_cost, "created_by": plan.created_by, "gpucast_version": plan.gpucast_version,
    }  # fmt: skip
    if full:
        data.update(catalog_versions=plan.catalog_versions, inputs=plan.inputs, result=plan.result)
    return data


def plans_csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts/lists -> {"a.b[0].c": leaf} so two plans can be compared field by field."""
    if isinstance(value, dict):
        items: dict[str, Any] = {}
        for key, inner in value.items():
            items.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return items
    if isinstance(value, list):
        items = {}
        for index, inner in enumerate(value):
            items.update(flatten(inner, f"{prefix}[{index}]"))
        return items
    return {prefix: value}


def diff_plans(a: Plan, b: Plan) -> list[dict[str, Any]]:
    """Every input and result field that differs between two plans (missing on one side = None)."""
    left = flatten({"inputs": a.inputs, "result": a.result, "catalog_versions": a.catalog_versions})
    right = flatten({"inputs": b.inputs, "result": b.result, "catalog_versions": b.catalog_versions})
    return [
        {"field": key, "a": left.get(key), "b": right.get(key)}
        for key in sorted(set(left) | set(right))
        if left.get(key) != right.get(key) and not key.startswith("result.explain")
    ]
