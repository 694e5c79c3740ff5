"""Services and capacity requests in the browser: lists, create forms, and the request workflow (submit,
approve, reject, provision, each with a comment) with its audit trail.

Every write goes through the store's own functions as the logged-in user, so the store's rules decide (only
approvers approve; nobody approves their own request; a request moves only from the state the action needs);
a refusal is shown next to the form with the store's message and the API's status code (403 or 409).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from ...errors import GpucastError
from ..schemas import CapacityRequestBody, ServiceBody
from . import session as sessions
from .planning import pickers
from .render import cli_count, error_message, form_values, redirect, render, require_reader, require_user

router = APIRouter(include_in_schema=False)
# the tokens and SLOs are `gpucast service add`'s too: without them a service added here had no capacity timeline on
# /forecast?service= and kept the fleet page's capacity plan refused ("have no model or tokens")
SERVICE_FIELDS = ("name", "team", "environment", "criticality", "cloud", "region", "owner", "model", "precision",
                  "input_tokens", "output_tokens", "ttft_slo_ms", "itl_slo_ms")  # fmt: skip
REQUEST_FIELDS = ("service", "gpu_type", "count", "region", "justification", "plan_id", "comment")
STATUSES = ("draft", "submitted", "approved", "rejected", "provisioned")


def _services(request: Request) -> list[dict[str, Any]]:
    from ...store.services import list_services, service_record

    with request.app.state.store.read() as db:
        return [service_record(s) for s in list_services(db)]


def _services_page(request: Request, values: dict[str, str], error: str | None, status: int = 200) -> Response:
    context = {"services": _services(request), "values": values, "error": error, "pickers": pickers()}
    return render(request, "services.html", context, status)


@router.get("/services")
def services(request: Request) -> Response:
    require_reader(request)
    return _services_page(request, {"environment": "prod", "criticality": "tier2", "cloud": "aws"}, None)


@router.post("/services")
async def create_service(request: Request) -> Response:
    """Add a service (the JSON API's ServiceBody checks the fields; the store records the creator)."""
    form = await request.form()
    actor = require_user(request)
    values = form_values(form, SERVICE_FIELDS)
    try:
        sessions.check_csrf(request, form)
        sessions.check_writer(request, actor)  # who may, before what was posted
        from ...store.services import ServiceFields, add_service

        typed = values | {k: cli_count(values[k]) for k in ("input_tokens", "output_tokens") if k in values}
        fields = ServiceBody.model_validate(typed).given()
        name = fields.pop("name")
        with request.app.state.store.write() as db:
            add_service(db, name, ServiceFields(**fields), actor)
    except (ValidationError, RequestValidationError, GpucastError, sessions.CsrfError) as error:
        message, status = error_message(error)
        return _services_page(request, values, message, status)
    return redirect(request, "/services")


def _requests_page(request: Request, values: dict[str, str], error: str | None, status: int = 200) -> Response:
    from ...store import workflow

    filters = form_values(request.query_params, ("service", "status"))
    rows: list[dict[str, Any]] = []
    try:
        with request.app.state.store.read() as db:
            rows = [workflow.request_record(r) for r in workflow.list_requests(db, **filters)]
    except GpucastError as failure:
        error, status = error_message(failure)
    context = {"requests": rows, "filters": filters, "statuses": STATUSES, "values": values, "error": error,
               "services": _services(request), "pickers": pickers()}  # fmt: skip
    return render(request, "requests.html", context, status)


@router.get("/requests")
def requests(request: Request) -> Response:
    require_reader(request)
    return _requests_page(request, {}, None)


@router.post("/requests")
async def create_request(request: Request) -> Response:
    """Draft a capacity request as the logged-in user (who must be a requester, approver or admin)."""
    form = await request.form()
    actor = require_user(request)
    values = form_values(form, REQUEST_FIELDS)
    try:
        sessions.check_csrf(request, form)
        sessions.check_writer(request, actor)  # who may, before what was posted
        from ...store import workflow

        body = CapacityRequestBody.model_validate(values)
        with request.app.state.store.write() as db:
            created = workflow.create_request(db, actor=actor, **body.given())
            request_id = created.id
    except (ValidationError, RequestValidationError, GpucastError, sessions.CsrfError) as error:
        message, status = error_message(error)
        return _requests_page(request, values, message, status)
    return redirect(request, f"/requests/{request_id}")


def _detail(request: Request, request_id: int, error: str | None = None, status: int = 200) -> Response:
    from ...store import workflow

    try:
        with request.app.state.store.read() as db:
            record = workflow.request_record(workflow.get_request(db, request_id), full=True)
    except GpucastError as failure:
        message, code = error_message(failure)
        return render(request, "message.html", {"title": "Not found", "error": message}, code)
    actions = [a for a, (start, _, _) in workflow.TRANSITIONS.items() if start == record["status"]]
    done = request.query_params.get("done")
    context = {"r": record, "actions": actions, "error": error, "done": done if done in workflow.TRANSITIONS else None}
    return render(request, "request.html", context, status)


@router.get("/requests/{request_id}")
def show_request(request: Request, request_id: int) -> Response:
    require_reader(request)
    return _detail(request, request_id)


@router.post("/requests/{request_id}/transition")
async def move_request(request: Request, request_id: int) -> Response:
    """Apply the action of the button pressed, with the comment, as the logged-in user."""
    form = await request.form()
    actor = require_user(request)
    action = form.get("action")
    comment = form.get("comment")
    try:
        sessions.check_csrf(request, form)
        from ...store import workflow

        if action not in workflow.TRANSITIONS:
            raise GpucastError(f"unknown action {action!r}")
        from ...store.tokens import ACTION_SCOPE

        sessions.check_writer(request, actor, ACTION_SCOPE[str(action)])
        text = comment.strip() if isinstance(comment, str) and comment.strip() else None
        with request.app.state.store.write() as db:
            workflow.transition(db, request_id, str(action), actor, comment=text)
    except (GpucastError, sessions.CsrfError) as error:
        message, status = error_message(error)
        return _detail(request, request_id, message, status)
    return redirect(request, f"/requests/{request_id}?done={action}")
