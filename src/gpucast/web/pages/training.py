"""The training plan page: a form (model, GPU, dataset, batch, method, parallelism limits, cloud) and its result:
memory per GPU, parallelism, duration and cost.

Planning only reads, so the form is a GET (``/training?model=...``: bookmarkable). The fields become the JSON API's
:class:`~gpucast.web.schemas.TrainingBody` (same range checks and messages), then the same
:func:`~gpucast.web.body_inputs.training_inputs` and :func:`gpucast.training.plan.plan_training` as
``POST /api/v1/training``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from ...charts.plans import training_memory_chart
from ...core.training_setup import FRAMEWORKS, TRAINING_PRECISIONS
from ...errors import GpucastError
from ..body_inputs import training_inputs
from ..schemas import TrainingBody
from .planning import pickers
from .render import cli_count, error_message, form_values, render, require_reader
from .saving import Computed, save_result

router = APIRouter(include_in_schema=False)

TRAINING_FIELDS = ("dataset_size_tokens", "sequence_length", "num_epochs", "global_batch_size", "method", "lora_rank",
                   "framework", "zero", "num_gpus", "deadline_hours", "optimize")  # fmt: skip
TOKEN_FIELDS = ("dataset_size_tokens", "sequence_length")
FIELDS = ("model", "precision", "gpu", "cloud", "pricing", *TRAINING_FIELDS)
DEFAULTS = {"model": "llama-3.1-8b", "precision": "BF16", "dataset_size_tokens": "1000000000", "sequence_length": "4096",
            "num_epochs": "1", "global_batch_size": "64", "method": "lora", "optimize": "speed", "cloud": "aws",
            "pricing": "on-demand"}  # fmt: skip
# the precisions a training run takes (the plan page's INT4/FP4/MXFP4 are refused by the planner, FP32 was missing)
CHOICES = {"methods": ("full", "lora", "qlora"), "zeros": ("0", "1", "2", "3"), "optimizes": ("speed", "cost"),
           "precisions": tuple(p.name for p in TRAINING_PRECISIONS),
           "frameworks": FRAMEWORKS}  # --framework: the software stack's fitted factors (docs/fine-tune.md)  # fmt: skip


def body_from_form(values: dict[str, str]) -> TrainingBody:
    """The JSON API's request body from the form's fields (Pydantic checks types and ranges)."""
    body = {
        # token counts as the CLI reads --dataset-size and --sequence-length ("1e9" tokens)
        "training": {
            k: cli_count(values[k]) if k in TOKEN_FIELDS else values[k] for k in TRAINING_FIELDS if k in values
        },
        "model": {k: v for k, v in (("model_name", values.get("model")), ("precision", values.get("precision"))) if v},
        "gpu": {"gpu_type": values["gpu"]} if values.get("gpu") else {},
        "serving": {k: values[k] for k in ("cloud", "pricing") if k in values},
    }
    return TrainingBody.model_validate(body)


def _page(request: Request, values: dict[str, str], result: Any = None, error: str | None = None,
          status: int = 200) -> Response:  # fmt: skip
    context = {"values": values, "pickers": pickers(), "choices": CHOICES, "result": result, "error": error}
    return render(request, "training.html", context, status)


@router.get("/training")
def training_page(request: Request) -> Response:
    """The form filled with a sample run; with fields in the query, the plan below it (or the error, 422)."""
    require_reader(request)
    values = form_values(request.query_params, FIELDS)
    if not values:
        return _page(request, DEFAULTS)
    from ...training.plan import plan_training

    try:
        plan = plan_training(*training_inputs(body_from_form(values))).to_dict()
    except (ValidationError, RequestValidationError, GpucastError) as error:
        message, status = error_message(error)
        return _page(request, values, error=message, status=status)
    query = str(request.url.query)
    return _page(request, values, {"plan": plan, "memory": training_memory_chart(plan), "query": query})


@router.post("/training/save")
async def save(request: Request) -> Response:
    """Store the training plan computed from the posted fields in the history (as the logged-in user)."""
    return await save_result(request, (*FIELDS, "service"), _computed, _failed)


def _computed(_request: Request, values: dict[str, str], _form: Any) -> Computed:
    from ...training.plan import plan_training

    body = body_from_form(values)
    result = plan_training(*training_inputs(body)).to_dict()
    return Computed("training", "training", {"body": body.given()}, result)


def _failed(request: Request, values: dict[str, str], message: str, status: int) -> Response:
    return _page(request, values, error=message, status=status)
