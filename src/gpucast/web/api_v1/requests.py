"""Capacity requests and their workflow (``gpucast request``): the store decides who may do what."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from ...store.tokens import ACTION_SCOPE, ROLE_SCOPES
from ..auth import Identity, mover, reader, require_scope, store_of, writer
from ..schemas import MAX_ID, CapacityRequestBody, TransitionBody
from .forms import known_query
from .history import MAX_PAGE, page, page_body

router = APIRouter(tags=["capacity requests"])


@router.get("/requests", dependencies=[Depends(reader), Depends(known_query)])
def list_requests(
    request: Request,
    service: str | None = Query(None, max_length=200),
    status: str | None = Query(None, description="draft, submitted, approved, rejected or provisioned"),
    offset: int = Query(0, ge=0, le=10**9),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
) -> JSONResponse:
    """Capacity requests, oldest first, optionally of one service or in one state."""
    from ...store import workflow

    with store_of(request).read() as session:
        rows = workflow.list_requests(session, service=service, status=status)
        items, next_offset = page(rows, offset, limit)
        records = [workflow.request_record(r) for r in items]
    return JSONResponse(page_body(records, offset, limit, next_offset))


@router.post("/requests", status_code=201)
def create_request(request: Request, body: CapacityRequestBody, actor: str = Depends(writer)) -> JSONResponse:
    """Draft a capacity request; the token's user is the requester (needs requester, approver or admin)."""
    from ...store import workflow

    with store_of(request).write() as session:
        record = workflow.request_record(workflow.create_request(session, actor=actor, **body.given()), full=True)
    return JSONResponse(record, status_code=201, headers={"Location": f"/api/v1/requests/{record['id']}"})


@router.get("/requests/{request_id}", dependencies=[Depends(reader), Depends(known_query)])
def show_request(request: Request, request_id: int = Path(ge=1, le=MAX_ID)) -> JSONResponse:
    """One request with its history of transitions and comments."""
    from ...store import workflow

    with store_of(request).read() as session:
        record = workflow.request_record(workflow.get_request(session, request_id), full=True)
    return JSONResponse(record)


@router.post("/requests/{request_id}/{action}")
def move_request(
    request: Request,
    action: Literal["submit", "approve", "reject", "provision"],
    request_id: int = Path(ge=1, le=MAX_ID),
    body: TransitionBody | None = Body(None),
    identity: Identity = Depends(mover),
) -> JSONResponse:
    """Submit, approve, reject or provision, with an optional comment. Refusals: 403 (role, own request),
    409 (the request is not in the state the action needs)."""
    from ...store import workflow

    scope = ACTION_SCOPE[action]  # submit: write; approve, reject, provision: approve
    if scope in ROLE_SCOPES.get(identity.role, ()):  # else the store's role check refuses, naming the role
        require_scope(identity, scope)
    comment = body.comment if body else None
    with store_of(request).write() as session:
        moved = workflow.transition(session, request_id, action, identity.name, comment=comment)
        record = workflow.request_record(moved, full=True)
    return JSONResponse(record)
