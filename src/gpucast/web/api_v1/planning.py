"""Planning endpoints: inference and training plans, one-point estimates, GPU x cloud comparisons.

Each endpoint builds the same dataclasses the CLI builds and calls the same function
(:func:`gpucast.planning.inference.plan_inference`, :func:`gpucast.training.plan.plan_training`,
:func:`gpucast.planning.estimate.estimate`, :func:`gpucast.planning.compare.compare_gpus`); the response body is exactly the
command's ``--json`` output. Computing a plan changes nothing, so it follows the *read* policy;
``?save=true`` stores it in the history (a write: it needs a token) and the response then carries the new
plan's id in ``X-Gpucast-Plan-Id`` and ``Location``. The token is checked (401, or 403 for a viewer) by the
:func:`save_actor` dependency, before the body is validated or anything computed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ...planning.cache import PlanCache, canonical
from .. import offload, processes
from ..auth import reader, store_of, writer
from ..body_inputs import inference_inputs, training_inputs
from ..schemas import CompareBody, EstimateBody, InferenceBody, TrainingBody
from .forms import known_query

router = APIRouter(tags=["planning"], dependencies=[Depends(reader), Depends(known_query)])

SaveFlag = Query(False, description="store the result in the plan history (needs a token)")
ServiceName = Query(None, max_length=200, description="with save: the stored service the plan belongs to")


async def save_actor(request: Request, save: bool = SaveFlag) -> str | None:
    """With ``?save=true``, the acting user (a dependency: checked before the body is validated, so a caller who
    may not save learns nothing from a 422); None otherwise, with no thread hop (most requests do not save)."""
    return await run_in_threadpool(writer, request) if save else None


Saving = Depends(save_actor)


@dataclass(frozen=True)
class Encoded:
    """A result's JSON body as first sent: a cache hit is answered without encoding it again. Only the bytes are
    kept (and, with plan processes, sent back from the child: half the pickle of the result and its bytes, which
    the server unpickled on every new plan); :attr:`result` decodes them again for the rare request that saves
    the plan. The JSON of the decoded result is the same bytes (``json.loads`` then ``json.dumps`` round-trips
    every value ``JSONResponse`` writes: dict order, ints, floats by their shortest repr, strings), so the saved
    plan and its ``201`` body are what they were (tests/test_web_processes.py)."""

    body: bytes

    @property
    def result(self) -> Any:
        return json.loads(self.body)


def encoded(result: Any) -> Encoded:
    return Encoded(bytes(JSONResponse(result).body))  # the same bytes JSONResponse would send


def made_encoded(make: Callable[[], Any]) -> Encoded:
    """``make()`` and its JSON (in a plan process: the server receives the bytes it sends)."""
    return encoded(make())


def plans(request: Request) -> PlanCache:
    """The app's plan cache (:mod:`gpucast.planning.cache`): a repeated question is answered from memory."""
    cache: PlanCache = request.app.state.plan_cache
    return cache


def respond(
    request: Request,
    result: Any,
    *,
    command: str,
    kind: str,
    body: dict[str, Any],
    actor: str | None,
    service: str | None,
) -> JSONResponse:
    """The result as JSON; when ``actor`` asked to save it, also stored in the history as that user."""
    if actor is None:
        return JSONResponse(result)
    from ...store.plans import save_plan

    with store_of(request).write() as session:
        plan = save_plan(
            session, command=command, kind=kind, inputs={"body": body}, result=result, actor=actor, service=service
        )
        plan_id = plan.id
    headers = {"X-Gpucast-Plan-Id": str(plan_id), "Location": f"/api/v1/plans/{plan_id}"}
    return JSONResponse(result, status_code=201, headers=headers)


async def answer(
    request: Request,
    kind: str,
    key: str,
    lane: offload.Lane,
    make: Callable[[], Any],
    *,
    command: str,
    plan_kind: str,
    body: dict[str, Any],
    actor: str | None,
    service: str | None,
) -> Response:
    """The response of every planning endpoint: a cache hit on the event loop, sent as the JSON it was first sent
    as; a miss computed in ``lane`` (:mod:`..offload`), once for every request asking it meanwhile; saving
    (database I/O) in the thread pool."""
    cache = plans(request)

    state = request.app.state

    def computed() -> Encoded:  # in the lane's thread; the search itself in a plan process when there are some
        return cache.get_or_compute(kind, key, lambda: processes.run(state, made_encoded, make))

    found: Encoded | None = cache.peek(kind, key)
    if found is None:  # the same question already in flight is awaited, not computed again
        found = await offload.once(state, (kind, key), lambda: offload.compute(state, lane, computed))
    if actor is None:
        return Response(found.body, media_type="application/json")
    return await run_in_threadpool(
        respond, request, found.result, command=command, kind=plan_kind, body=body, actor=actor, service=service
    )


@router.post("/inference")
async def inference(
    request: Request, body: InferenceBody, actor: str | None = Saving, service: str | None = ServiceName
) -> Response:
    """Plan serving capacity (``gpucast inference --json``): GPU type, TP/PP, replicas, latency, cost."""
    from ...planning.inference import plan_inference

    workload, model, gpu, options = inference_inputs(body)
    options.require_slo = body.serving.require_slo  # the REST default is strict (422), unlike the seed's Python API
    return await answer(
        request, "inference", canonical(workload, model, gpu, options), "plan",
        partial(planned, plan_inference, workload, model, gpu, options),
        command="inference", plan_kind="inference", body=body.given(), actor=actor, service=service,
    )  # fmt: skip


@router.post("/training")
async def training(
    request: Request, body: TrainingBody, actor: str | None = Saving, service: str | None = ServiceName
) -> Response:
    """Plan a fine-tuning or pre-training run (``gpucast training --json``)."""
    from ...training.plan import plan_training

    inputs = training_inputs(body)
    return await answer(
        request, "training", canonical(*inputs), "plan", partial(planned, plan_training, *inputs),
        command="training", plan_kind="training", body=body.given(), actor=actor, service=service,
    )  # fmt: skip


@router.post("/estimate")
async def estimate(
    request: Request, body: EstimateBody, actor: str | None = Saving, service: str | None = ServiceName
) -> Response:
    """Throughput and latency of one fixed deployment under one load (``gpucast estimate --json``)."""
    given = body.request_fields()
    return await answer(
        request, "estimate", canonical(given), "plan", partial(estimated, given),
        command="estimate", plan_kind="inference", body=body.given(), actor=actor, service=service,
    )  # fmt: skip


@router.post("/compare")
async def compare(
    request: Request, body: CompareBody, actor: str | None = Saving, service: str | None = ServiceName
) -> Response:
    """Every GPU x cloud (x precision) that can serve the workload, cheapest first (``gpucast compare --json``);
    computed in the page lane (a comparison costs what a plan page does)."""
    from ...planning.compare import compare_gpus

    workload, model, gpu, options = inference_inputs(body)
    rows = partial(compared, compare_gpus, workload, model, options, clouds=body.clouds, precisions=body.precisions,
                   gpu_types=body.gpu_types or ([gpu.gpu_type] if gpu.gpu_type else None),
                   target_gpu_utilization=gpu.target_gpu_utilization, top=body.top)  # fmt: skip
    key = canonical(workload, model, gpu, options, body.clouds, body.precisions, body.gpu_types, body.top)
    return await answer(
        request, "compare", key, "page", rows,
        command="compare", plan_kind="inference", body=body.given(), actor=actor, service=service,
    )  # fmt: skip


# The computations the endpoints send to a lane: module-level functions of picklable inputs, so that a plan
# process (..processes) can run them.


def planned(plan: Callable[..., Any], *inputs: Any) -> Any:
    return plan(*inputs).to_dict()


def estimated(given: dict[str, Any]) -> Any:
    from ...planning.estimate import EstimateRequest
    from ...planning.estimate import estimate as run_estimate

    return run_estimate(EstimateRequest(**given)).to_dict()


def compared(compare: Callable[..., Any], *inputs: Any, **options: Any) -> list[dict[str, Any]]:
    """The rows as JSON; none is a question without an answer (422 with the reason), as ``gpucast compare`` says."""
    from ...planning.compare import require_rows

    rows = require_rows(compare(*inputs, **options), *inputs, clouds=options.get("clouds"),
                        gpu_types=options.get("gpu_types"))  # fmt: skip
    return [row.to_dict() for row in rows]
