"""The inference plan page: a form (catalog pickers, workload, SLOs, cloud) and its result with charts.

Planning only reads, so the form is a GET (``/plan?model=...``: a result can be bookmarked and shared); saving
the result to the history is a POST with the CSRF token, as the logged-in user. The form's fields become the
JSON API's :class:`~gpucast.web.schemas.InferenceBody` (the same range checks and messages), then the same
dataclasses and :func:`gpucast.planning.inference.plan_inference`; the comparison is :func:`gpucast.planning.compare.compare_gpus`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from ...catalog import loader
from ...catalog.length_profiles import load_length_profiles
from ...catalog.summary import gpu_rows, model_rows
from ...charts.curve import plan_curve
from ...charts.plans import compare_chart, result_charts
from ...errors import GpucastError
from ...inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from ...planning.cache import PlanCache, canonical
from .. import processes
from ..body_inputs import inference_inputs
from ..schemas import InferenceBody
from . import cached
from .render import cli_count, error_message, form_values, render, require_reader
from .saving import Computed, save_result
from .wording import label

router = APIRouter(include_in_schema=False)

PRECISIONS = ("FP16", "BF16", "FP8", "INT8", "INT4", "FP4", "MXFP4")
FIELDS = ("model", "precision", "kv_precision", "gpu", "rps", "input_tokens", "output_tokens", "length_profile", "peak",
          "ttft_slo_ms", "itl_slo_ms", "slo_percentile", "cloud", "region", "pricing", "engine", "tp", "pp",
          "min_replicas", "service")  # fmt: skip
KV_PRECISIONS = ("FP16", "BF16", "FP8", "INT8", "INT4")  # --kv-precision (FP4 KV is refused by every engine's flags)
DEFAULTS = {"model": "llama-3.1-70b", "precision": "FP8", "rps": "10", "input_tokens": "500", "output_tokens": "200",
            "peak": "1.5", "ttft_slo_ms": "2000", "itl_slo_ms": "100", "slo_percentile": "99", "cloud": "aws",
            "pricing": "on-demand", "engine": "vllm"}  # fmt: skip
# the statistic the SLOs bound (--slo-percentile), p99 first: SLOs are stated as percentiles
PERCENTILE_CHOICES = (("99", "p99"), ("95", "p95"), ("90", "p90"), ("50", "p50 (median)"), ("mean", "mean"))
COMPARE_ROWS = 12
REQUIRED = ("model", "rps", "input_tokens", "output_tokens")  # what a plan cannot do without (the form marks them)


@cache
def pickers() -> dict[str, Any]:
    """Catalog choices for the form (the catalogs never change while the server runs)."""
    return {
        "models": [(m["id"], f"{m['name']} ({m['params_b']:g}B)") for m in model_rows()],
        "gpus": [(g["id"], f"{g['name']} ({g['memory_gib']:g} GiB)") for g in gpu_rows()],
        "clouds": list(loader.clouds()),
        # --region: every priced region, with the clouds that have it (a region of another cloud is refused by name)
        "regions": [
            (r, f"{r} ({', '.join(c for c in loader.clouds() if r in loader.regions(c))})") for r in loader.regions()
        ],
        "precisions": PRECISIONS,
        "kv_precisions": KV_PRECISIONS,
        # no precision: the CLI's default (--precision left out), which the select could not ask for
        "checkpoint": "the checkpoint's (FP8 for DeepSeek and Kimi-K2, MXFP4 for GPT-OSS, else FP16)",
        # the pricing models plans accept (core.cost.PRICING_MODELS) and "all": the cheapest of them
        "pricings": ("on-demand", "spot", "1yr", "3yr", "marketplace", "all"),
        "percentiles": PERCENTILE_CHOICES,
        "engines": tuple(loader.load_engines()),  # --engine: the plan changes with it (kernels, scheduler, memory)
        "length_profiles": [(name, f"{name}: {entry.description}") for name, entry in load_length_profiles().items()],
    }


def body_from_form(values: dict[str, str]) -> InferenceBody:
    """The JSON API's request body from the form's fields (Pydantic checks types and ranges)."""
    tokens = {k: cli_count(values[k]) for k in ("input_tokens", "output_tokens") if k in values}  # "1e3", as the CLI
    workload = {"requests_per_second": values.get("rps"), "avg_input_tokens": tokens.get("input_tokens"),
                "avg_output_tokens": tokens.get("output_tokens"), "peak_load_multiplier": values.get("peak"),
                "length_profile": values.get("length_profile") or None}  # fmt: skip
    serving = {"cloud": values.get("cloud"), "region": values.get("region") or None, "pricing": values.get("pricing"),
               "ttft_slo_ms": values.get("ttft_slo_ms"), "itl_slo_ms": values.get("itl_slo_ms"),
               "slo_percentile": values.get("slo_percentile") or None, "engine": values.get("engine"),
               # --tp, --pp and --min-replicas: empty = searched / the default (2), as the flags left out
               **{k: values.get(k) or None for k in ("tp", "pp", "min_replicas")}}  # fmt: skip
    body = {
        "workload": {k: v for k, v in workload.items() if v is not None},
        "model": {
            k: v
            for k, v in {
                "model_name": values.get("model"),
                "precision": values.get("precision"),
                "kv_precision": values.get("kv_precision"),
            }.items()
            if v
        },
        "gpu": {"gpu_type": values["gpu"]} if values.get("gpu") else {},
        "serving": {k: v for k, v in serving.items() if v is not None},
    }
    return InferenceBody.model_validate(body)


def compute(body: InferenceBody, cache: PlanCache | None = None, state: Any = None) -> dict[str, Any]:
    """The plan, its concurrency curve and the GPU x cloud comparison, ready for the template; from ``cache``
    when the same question was asked before (the page's charts and comparison cost ~13-50 ms to make); computed in
    the app's plan processes (``state``, :mod:`..processes`) when it has some."""
    inputs = inference_inputs(body)
    if cache is None:
        return processes.run(state, _compute, *inputs)
    return cache.get_or_compute("plan-page", canonical(*inputs), lambda: processes.run(state, _compute, *inputs))


def _compute(workload: LLMWorkloadInput, model: ModelConfig, gpu: GPUConfig, options: ServingOptions) -> dict[str, Any]:
    from ...planning.compare import compare_gpus
    from ...planning.inference import plan_inference

    plan = plan_inference(workload, model, gpu, options).to_dict()
    curve = plan_curve(workload, model, gpu, options, plan)
    rows = compare_gpus(workload, model, options, clouds=list(loader.clouds()),
                        target_gpu_utilization=gpu.target_gpu_utilization, top=COMPARE_ROWS)  # fmt: skip
    return {"plan": plan, "charts": result_charts(plan, curve, options), "compare": [r.to_dict() for r in rows]} | {
        "compare_chart": compare_chart(rows, plan)
    }


@router.get("/")
async def plan_form(request: Request) -> Response:
    """The empty form, filled with a sample workload (the same page for every anonymous visitor: kept)."""
    return await cached.page(request, "/", _plan_form)


def _plan_form(request: Request) -> Response:
    require_reader(request)
    return render(request, "plan.html", {"values": DEFAULTS, "pickers": pickers(), "error": None, "result": None})


@router.get("/plan")
async def plan_page(request: Request) -> Response:
    """The form with its result below, or with the error next to it (422); an anonymous visitor's page is kept
    by its address (:mod:`.cached`), a new question is planned on a plan thread."""
    return await cached.page(request, "/plan?" + request.url.query, _plan_page, compute=True)


def _plan_page(request: Request) -> Response:
    require_reader(request)
    values = form_values(request.query_params, FIELDS)
    try:
        result = compute(body_from_form(values), request.app.state.plan_cache, request.app.state)
    except (ValidationError, RequestValidationError, GpucastError) as error:
        message, status = error_message(error)
        missing = {k: v for k, v in DEFAULTS.items() if k not in values and k in REQUIRED}
        if missing:  # a shortened address (/plan?model=...&rps=10): the form offers the sample values for the rest
            shown = ", ".join(label(k) for k in missing)
            message = (
                f"{message.rstrip('.')}. The form below shows sample values for {shown}: check them and press Plan."
            )
        return render(request, "plan.html", {"values": values | missing, "pickers": pickers(), "error": message,
                                             "result": None}, status)  # fmt: skip
    return render(request, "plan.html", {"values": values, "pickers": pickers(), "error": None, "result": result,
                                         "query": str(request.url.query)})  # fmt: skip


@router.post("/plan/save")
async def save(request: Request) -> Response:
    """Store the plan computed from the posted fields in the history (as the logged-in user)."""
    return await save_result(request, FIELDS, _computed, _failed)


def _computed(_request: Request, values: dict[str, str], _form: Any) -> Computed:
    from ...planning.inference import plan_inference

    body = body_from_form(values)
    result = plan_inference(*inference_inputs(body)).to_dict()
    return Computed("inference", "inference", {"body": body.given()}, result)


def _failed(request: Request, values: dict[str, str], message: str, status: int) -> Response:
    context = {"values": values, "pickers": pickers(), "error": message, "result": None}
    return render(request, "plan.html", context, status)
