"""Capacity requests and their approval workflow.

::

    draft --submit--> submitted --approve--> approved --provision--> provisioned
                                 \\--reject--> rejected

Who may do what (roles are checked against the ``users`` table; the acting user must be registered):

=============  ==========================================================================
create         requester, approver or admin
submit         the request's requester, or an admin
approve        approver or admin — never the request's own requester (four-eyes rule)
reject         approver or admin — never the request's own requester
provision      approver or admin, once approved
=============  ==========================================================================

Who may act is checked before the request's state: a role that may never take the action is refused before
the request is even looked up, and the requester rules (submit your own, never approve your own) before the
state, so a caller without the right learns nothing about the request from the refusal.

Every transition is a row in ``request_comments`` (with the optional comment) and in the audit log, written
in the same transaction as the status change. The state check is also a guarded UPDATE (``WHERE status =
<expected>``), so two concurrent approvers cannot both move the same request.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..errors import InputError, StoreNotFoundError, WorkflowError
from .models import STATUSES, CapacityRequest, RequestComment, User, can_be_id, utcnow
from .plans import get_plan
from .services import audit, get_service, get_user, iso

# action -> (state it starts from, state it leads to, roles allowed)
TRANSITIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "submit": ("draft", "submitted", ("requester", "approver", "admin")),
    "approve": ("submitted", "approved", ("approver", "admin")),
    "reject": ("submitted", "rejected", ("approver", "admin")),
    "provision": ("approved", "provisioned", ("approver", "admin")),
}
CREATE_ROLES = ("requester", "approver", "admin")
MAX_GPUS, MAX_MONTHLY_COST = 1_000_000, 1e12  # per request; the REST API checks the same bounds
TIMESTAMP_OF = {"submitted": "submitted_at", "approved": "decided_at", "rejected": "decided_at",
                "provisioned": "provisioned_at"}  # fmt: skip


def check_transition(action: str, status: str, role: str, *, is_requester: bool, who: str = "the acting user") -> str:
    """The new status if ``action`` is allowed from ``status`` for a user with ``role``; else WorkflowError.
    Pure: the rules in one place, tested by a property test over all combinations. Who may act is checked first
    (role, then the requester rules), the state last."""
    check_role(action, role, who=who)
    start, end, _roles = TRANSITIONS[action]
    if action == "submit" and role != "admin" and not is_requester:
        raise WorkflowError(f"only the request's requester (or an admin) may submit it; {who} is neither")
    if action in ("approve", "reject") and is_requester:
        raise WorkflowError(
            f"{who} requested this capacity and cannot {action} their own request; ask another approver"
        )
    if status != start:
        allowed = [a for a, (s, _e, _r) in TRANSITIONS.items() if s == status]
        hint = f"allowed from {status}: {', '.join(allowed)}" if allowed else f"{status} is final"
        raise WorkflowError(f"cannot {action} a request that is {status} ({action} needs {start}; {hint})")
    return end


def check_role(action: str, role: str, *, who: str = "the acting user") -> None:
    """WorkflowError unless a user with ``role`` may ever take ``action`` (needs no request: checked first)."""
    if action not in TRANSITIONS:
        raise InputError(f"action {action!r} is not one of {', '.join(TRANSITIONS)}")
    roles = TRANSITIONS[action][2]
    if role not in roles:
        raise WorkflowError(f"{action} needs the role {' or '.join(roles)}; {who} has the role {role}")


def estimate_monthly_cost(gpu_type: str, count: int, cloud: str) -> float | None:
    """Cheapest on-demand price of the GPU on the cloud x count x hours per month (None when not priced)."""
    from ..catalog import loader
    from ..core.cost import HOURS_PER_MONTH

    gpu = loader.resolve_gpu(gpu_type)
    rates = [p.on_demand_usd_h / p.gpus for p in loader.prices_for(cloud, gpu.id) if p.gpus and p.on_demand_usd_h]
    return round(min(rates) * count * HOURS_PER_MONTH, 2) if rates else None


def create_request(
    session: Session,
    *,
    service: str,
    gpu_type: str,
    count: int,
    region: str,
    justification: str,
    actor: str,
    plan_id: int | None = None,
    monthly_cost: float | None = None,
    comment: str | None = None,
) -> CapacityRequest:
    """A new request in the draft state; monthly cost from the catalog price when not given."""
    from ..catalog import loader

    user = _registered(session, actor)
    if user.role not in CREATE_ROLES:
        raise WorkflowError(f"creating a request needs the role {' or '.join(CREATE_ROLES)}; {actor!r} is {user.role}")
    # the REST API's bounds (web.schemas.CapacityRequestBody), here for the CLI and the Python API too: a 20-digit
    # count overflowed SQLite's INTEGER (a traceback), and a NaN cost was stored as NULL, infinity as "Infinity"
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MAX_GPUS:
        raise InputError(f"--count {count!r} must be a whole number of GPUs > 0 and at most {MAX_GPUS:,}")
    if not justification.strip():
        raise InputError("--justification must not be empty: say why the capacity is needed")
    if not region.strip():
        raise InputError("--region must not be empty")
    if monthly_cost is not None and not (
        isinstance(monthly_cost, (int, float))
        and not isinstance(monthly_cost, bool)
        and math.isfinite(monthly_cost)
        and 0 <= monthly_cost <= MAX_MONTHLY_COST
    ):
        raise InputError(f"--monthly-cost {monthly_cost!r} must be a number from 0 to {MAX_MONTHLY_COST:g}")
    target = get_service(session, service)
    gpu = loader.resolve_gpu(gpu_type).name
    if plan_id is not None:
        get_plan(session, plan_id)
    if monthly_cost is None:
        monthly_cost = estimate_monthly_cost(gpu, count, target.cloud)
    request = CapacityRequest(service_id=target.id, plan_id=plan_id, gpu_type=gpu, gpu_count=count, region=region,
                              monthly_cost=monthly_cost, justification=justification, status="draft",
                              requester_id=user.id)  # fmt: skip
    session.add(request)
    session.flush()
    session.add(RequestComment(request_id=request.id, author=actor, from_status=None, to_status="draft", text=comment))
    audit(session, actor, "create", "capacity_request", request.id, service=service, gpu_type=gpu, count=count)
    return request


def transition(
    session: Session, request_id: int, action: str, actor: str, comment: str | None = None
) -> CapacityRequest:
    """Apply a workflow action (submit, approve, reject, provision) as ``actor``; the role is checked before the
    request is looked up."""
    user = _registered(session, actor)
    check_role(action, user.role, who=repr(actor))
    request = get_request(session, request_id)
    new_status = check_transition(
        action, request.status, user.role, is_requester=request.requester_id == user.id, who=repr(actor)
    )
    old_status = request.status
    now = utcnow()
    values: dict[str, Any] = {"status": new_status, "updated_at": now, TIMESTAMP_OF[new_status]: now}
    if action in ("approve", "reject"):
        values["approver_id"] = user.id
    moved = session.execute(
        update(CapacityRequest)
        .where(CapacityRequest.id == request.id, CapacityRequest.status == old_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 1) != 1:  # someone else moved it between our read and this write
        raise WorkflowError(f"request {request_id} changed while you acted on it; check `gpucast request show`")
    session.add(RequestComment(request_id=request.id, author=actor, from_status=old_status, to_status=new_status,
                               text=comment))  # fmt: skip
    audit(session, actor, action, "capacity_request", request.id, from_status=old_status, to_status=new_status,
          comment=comment)  # fmt: skip
    session.flush()
    session.refresh(request)
    return request


def get_request(session: Session, request_id: int) -> CapacityRequest:
    query = (
        select(CapacityRequest)
        .where(CapacityRequest.id == request_id)
        .options(selectinload(CapacityRequest.comments))
        .execution_options(populate_existing=True)
    )
    request = session.scalar(query) if can_be_id(request_id) else None
    if request is None:
        raise StoreNotFoundError(f"capacity request {request_id} does not exist (see `gpucast request list`)")
    return request


def list_requests(session: Session, *, service: str | None = None, status: str | None = None) -> list[CapacityRequest]:
    if status and status not in STATUSES:
        raise InputError(f"--status {status!r} is not one of {', '.join(STATUSES)}")
    query = select(CapacityRequest).order_by(CapacityRequest.id)
    if service:
        query = query.where(CapacityRequest.service_id == get_service(session, service).id)
    if status:
        query = query.where(CapacityRequest.status == status)
    return list(session.scalars(query))


def request_record(request: CapacityRequest, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": request.id, "service": request.service.name, "plan_id": request.plan_id, "gpu_type": request.gpu_type,
        "count": request.gpu_count, "region": request.region, "monthly_cost": request.monthly_cost,
        "justification": request.justification, "status": request.status, "requester": request.requester.name,
        "approver": request.approver.name if request.approver else None, "created_at": iso(request.created_at),
        "updated_at": iso(request.updated_at), "submitted_at": iso(request.submitted_at),
        "decided_at": iso(request.decided_at), "provisioned_at": iso(request.provisioned_at),
    }  # fmt: skip
    if full:
        data["history"] = [
            {"at": iso(c.created_at), "author": c.author, "from": c.from_status, "to": c.to_status, "comment": c.text}
            for c in request.comments
        ]
    return data


def _registered(session: Session, actor: str) -> User:
    try:
        return get_user(session, actor)
    except StoreNotFoundError as error:
        raise WorkflowError(f"capacity requests need a registered user: {error} (or act with --as USER)") from None
