"""Saving a page's result to the plan history: one POST handler shape for the plan, training and forecast pages.

A result page carries its inputs as hidden fields in a small form (``templates/_save.html``); the POST
recomputes the result from them (the server never trusts a posted result), stores it with
:func:`gpucast.store.plans.save_plan` as the logged-in user after the CSRF check, and redirects to the history
with the new plan highlighted. A failure re-renders the page with the error beside the form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...errors import GpucastError
from . import session as sessions
from .render import error_message, form_values, redirect, require_user


@dataclass(frozen=True)
class Computed:
    """What a page computed from its form: the result to store and the inputs that reproduce it."""

    command: str  # the CLI command the result matches (inference, training, predict)
    kind: str  # the history's plan kind (inference, training, forecast)
    inputs: dict[str, Any]
    result: Any


Compute = Callable[[Request, dict[str, str], Any], Computed]
Failure = Callable[[Request, dict[str, str], str, int], Response]


async def save_result(
    request: Request, fields: tuple[str, ...], compute: Compute, failure: Failure, *, max_part_size: int = 1024 * 1024
) -> Response:
    """Check the session and CSRF token, recompute from the posted fields, store, redirect to ``/history``.

    ``compute(request, values, form)`` runs in the thread pool (a forecast takes seconds; the store write is I/O)."""
    form = await request.form(max_part_size=max_part_size)
    try:
        actor = require_user(request)
        values = form_values(form, fields)
        try:
            sessions.check_csrf(request, form)
            plan_id = await run_in_threadpool(_compute_and_store, request, values, form, compute, actor)
        except (ValidationError, RequestValidationError, GpucastError, sessions.CsrfError) as error:
            message, status = error_message(error)
            return failure(request, values, message, status)
    finally:
        await form.close()
    return redirect(request, f"/history?saved={plan_id}")


def _compute_and_store(request: Request, values: dict[str, str], form: Any, compute: Compute, actor: str) -> int:
    from ...store.plans import save_plan

    sessions.check_writer(request, actor)  # who may save, before what was posted is computed
    computed = compute(request, values, form)
    with request.app.state.store.write() as db:
        plan = save_plan(db, command=computed.command, kind=computed.kind, inputs=computed.inputs,
                         result=computed.result, actor=actor, service=values.get("service") or None)  # fmt: skip
        plan_id: int = plan.id
    return plan_id


__all__ = ["Computed", "save_result"]
