"""Plan history: every saved plan, filtered, sorted and paginated (``gpucast history``), and one plan in full.

Lists are pages: ``{"items": [...], "offset": N, "limit": N, "next_offset": N or null}``. The store's query
is asked for ``offset + limit + 1`` rows, so a page costs what it shows plus one row (no COUNT over the
whole table), and ``next_offset`` is null on the last page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from ..auth import reader, store_of
from ..schemas import MAX_ID
from .forms import known_query

router = APIRouter(tags=["history"], dependencies=[Depends(reader), Depends(known_query)])
T = TypeVar("T")
MAX_PAGE = 500


def page(rows: list[T], offset: int, limit: int) -> tuple[list[T], int | None]:
    """The rows of one page and the offset of the next page (None on the last one)."""
    items = rows[offset : offset + limit]
    return items, (offset + limit if len(rows) > offset + limit else None)


def page_body(items: list[dict[str, Any]], offset: int, limit: int, next_offset: int | None) -> dict[str, Any]:
    return {"items": items, "offset": offset, "limit": limit, "next_offset": next_offset}


@router.get("/plans")
def plans(
    request: Request,
    service: str | None = Query(None, max_length=200),
    kind: str | None = Query(None, description="inference, training or forecast"),
    gpu: str | None = Query(None, max_length=100),
    since: datetime | None = Query(None, description="ISO 8601, UTC"),
    until: datetime | None = Query(None, description="ISO 8601, UTC"),
    sort: str = Query(
        "-created_at",
        description="a field, -field for descending: id, created_at, kind, "
        "command, service, gpu_type, total_gpus, monthly_cost, created_by",
    ),
    offset: int = Query(0, ge=0, le=10**9),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
) -> JSONResponse:
    """Saved plans (newest first by default)."""
    from ...store.plans import list_plans, plan_record

    with store_of(request).read() as session:
        rows = list_plans(
            session,
            service=service,
            kind=kind,
            gpu=gpu,
            since=_naive(since),
            until=_naive(until),
            sort=sort,
            limit=offset + limit + 1,
        )
        items, next_offset = page(rows, offset, limit)
        records = [plan_record(plan, name) for plan, name in items]
    return JSONResponse(page_body(records, offset, limit, next_offset))


@router.get("/plans/{plan_id}")
def plan(request: Request, plan_id: int = Path(ge=1, le=MAX_ID)) -> JSONResponse:
    """One saved plan: inputs, result (the command's JSON), gpucast and catalog versions, who and when."""
    from ...store.models import Service
    from ...store.plans import get_plan, plan_record

    with store_of(request).read() as session:
        found = get_plan(session, plan_id)
        service = session.get(Service, found.service_id) if found.service_id is not None else None
        record = plan_record(found, service.name if service else None, full=True)
    return JSONResponse(record)


def _naive(moment: datetime | None) -> datetime | None:
    """The store keeps naive UTC times: convert an aware time to UTC and drop the zone."""
    if moment is None or moment.tzinfo is None:
        return moment
    from datetime import UTC

    return moment.astimezone(UTC).replace(tzinfo=None)
