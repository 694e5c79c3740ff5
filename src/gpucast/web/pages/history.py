"""``/history``: saved plans in a table sorted and filtered on the server (query parameters, so a view can
be bookmarked), and ``/history/compare?id=..&id=..``: several plans plotted side by side.

The table is the store's :func:`~gpucast.store.plans.list_plans` (the same filters and sort fields as
``gpucast history`` and ``GET /api/v1/plans``); nothing is re-computed, the charts read the stored results.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...charts import svg as charts
from ...errors import GpucastError, StoreNotFoundError
from ...store.plans import SORT_FIELDS
from ...wording import TOO_MANY, ascii_count
from .render import error_message, form_values, render, require_reader

router = APIRouter(include_in_schema=False)
PAGE = 100  # rows per page (?offset=N pages on)
COLUMNS = ("id", "created_at", "kind", "command", "service", "gpu_type", "total_gpus", "monthly_cost", "created_by")
MAX_COMPARED = 12


@router.get("/history")
def history(request: Request) -> Response:
    require_reader(request)
    from ...store.plans import list_plans, plan_record

    params = form_values(request.query_params, ("service", "kind", "gpu", "sort", "saved", "offset"))
    sort = params.get("sort", "-created_at")
    offset = ascii_count(params.get("offset", "")) or 0  # "²" or 5,000 digits: a ValueError, a 500, before
    error = None
    records: list[dict[str, Any]] = []
    more = False
    try:
        with request.app.state.store.read() as db:
            rows = list_plans(db, service=params.get("service"), kind=params.get("kind"), gpu=params.get("gpu"),
                              sort=sort, limit=offset + PAGE + 1)  # fmt: skip
            more = len(rows) > offset + PAGE  # one row past the page says whether there is a next one
            records = [plan_record(plan, name) for plan, name in rows[offset : offset + PAGE]]
    except GpucastError as failure:
        error, _ = error_message(failure)
    filters = {k: v for k, v in params.items() if k in ("service", "kind", "gpu")}
    pages = {
        "previous": max(0, offset - PAGE) if offset else None,
        "next": offset + PAGE if more else None,
        "first_row": offset + 1,
    }
    context = {"records": records, "columns": [c for c in COLUMNS if c in SORT_FIELDS], "sort": sort,
               "filters": filters, "error": error, "saved": params.get("saved"), "pages": pages}  # fmt: skip
    return render(request, "history.html", context, 422 if error else 200)


def plan_figures(result: Any) -> dict[str, float | None]:
    """Memory per GPU (GB), tokens/s and monthly cost of a stored result, whatever command made it."""
    row = result[0] if isinstance(result, list) and result else result
    if not isinstance(row, dict):
        return {"memory_gb": None, "tokens_per_s": None, "monthly_cost": None}
    res, thr = row.get("gpu_resources") or {}, row.get("throughput") or {}
    train, cost = row.get("training_metrics") or {}, row.get("cost") or {}
    memory = res.get("gpu_memory_per_gpu_gb")
    if memory is None and "weights_gb_per_gpu" in res:
        keys = ("weights_gb_per_gpu", "kv_cache_gb_per_gpu", "activations_gb_per_gpu", "overhead_gb_per_gpu")
        memory = sum(float(res.get(k) or 0.0) for k in keys)
    tokens = thr.get("total_tps_capacity", train.get("total_tokens_per_second", row.get("total_tokens_per_s")))
    monthly = cost.get("monthly_total_cost", row.get("monthly_cost"))
    if monthly is None and "total_training_cost" in cost:
        monthly = cost["total_training_cost"]  # a training run: its total cost
    return {"memory_gb": _number(memory), "tokens_per_s": _number(tokens), "monthly_cost": _number(monthly)}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@router.get("/history/compare")
def compare(request: Request) -> Response:
    """The selected plans side by side: memory per GPU, tokens/s and cost as three bar charts."""
    require_reader(request)
    from ...store.plans import get_plan

    ids = [(v, n) for v in request.query_params.getlist("id") if (n := ascii_count(v)) is not None][:MAX_COMPARED]
    plans: list[dict[str, Any]] = []
    error = None
    try:
        with request.app.state.store.read() as db:
            for text, plan_id in ids:
                if plan_id == TOO_MANY:  # past any row id: named as typed (cut), not as the number it was read as
                    raise StoreNotFoundError(f"plan {text.strip()[:20]}... does not exist (see `gpucast history`)")
                plan = get_plan(db, plan_id)
                plans.append({"id": plan.id, "label": f"#{plan.id} {plan.gpu_type or plan.kind}",
                              "kind": plan.kind, "command": plan.command} | plan_figures(plan.result))  # fmt: skip
    except GpucastError as failure:
        error, _ = error_message(failure)
    if not ids:
        error = "select at least one plan in the history table"
    figures = []
    for key, title, unit in (("memory_gb", "Memory per GPU", "GB"), ("tokens_per_s", "Token capacity", "tok/s"),
                             ("monthly_cost", "Monthly cost (training plans: the whole run)", "$")):  # fmt: skip
        bars = [charts.Bar(p["label"], p[key], p["kind"]) for p in plans if p[key] is not None]
        if bars:
            figures.append(charts.bar_chart(bars, title=title, unit=unit))
    context = {"plans": plans, "figures": figures, "error": error}
    return render(request, "history_compare.html", context, 422 if error else 200)
