"""The search over GPUs: the best configuration of every allowed GPU for a resolved request, ranked."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..catalog import loader
from ..core.agent_search import VariantCandidate, best_variant_for_gpu
from ..core.search import Candidate, best_for_gpu
from ..errors import InfeasibleError
from .request import ResolvedRequest

T = TypeVar("T")


def candidates_for(request: ResolvedRequest, *, cloud: str | None = None) -> tuple[list[Candidate], list[str]]:
    """The best configuration of every allowed GPU, ranked; plus why the others failed."""
    if request.variant.active:
        ranked, why = variant_candidates_for(request, cloud=cloud)
        return [v.candidate for v in ranked], why
    found, reasons = _per_gpu(request, cloud, best_for_gpu)
    found.sort(key=Candidate.sort_key)
    return found, reasons


def variant_candidates_for(
    request: ResolvedRequest, *, cloud: str | None = None
) -> tuple[list[VariantCandidate], list[str]]:
    """``candidates_for`` with the agent / speculative inputs, keeping what they changed per GPU."""
    found, reasons = _per_gpu(request, cloud, lambda **search: best_variant_for_gpu(variant=request.variant, **search))
    found.sort(key=lambda v: v.candidate.sort_key())
    return found, reasons


def _per_gpu(request: ResolvedRequest, cloud: str | None, search: Callable[..., T]) -> tuple[list[T], list[str]]:
    """Run ``search`` (the best configuration of one GPU) for every allowed GPU; collect why the others fail."""
    clouds = (cloud,) if cloud else request.searched_clouds
    found: list[T] = []
    reasons: list[str] = []
    for gpu in request.gpus:
        try:
            found.append(
                search(
                    model=request.model,
                    gpu=gpu,
                    efficiency=loader.efficiency_for(
                        gpu, request.options.engine, model=request.model, engine_version=request.options.engine_version
                    ),
                    precision=request.precision,
                    kv_precision=request.kv_precision,
                    workload=request.workload,
                    slo=request.slo,
                    settings=request.settings,
                    prices=loader.offers_for(clouds, gpu.id, request.region),
                    pricing=request.options.pricing,
                    tp=request.options.tp,
                    pp=request.options.pp,
                    ep=request.options.ep,
                    attention_dp=request.options.attention_dp,
                )
            )
        except InfeasibleError as error:
            reasons.append(f"{gpu.name}: {error}")
    return found, reasons


def no_plan_message(request: ResolvedRequest, reasons: list[str]) -> str:
    causes = {reason.split(": ", 1)[-1] for reason in reasons}  # "GPU: why"; one cause for all (a pinned --tp) is named
    if len(reasons) == 1:
        detail = reasons[0]
    elif len(causes) == 1:
        detail = f"{causes.pop()} (on each of the {len(reasons)} allowed GPUs)"
    else:
        detail = f"no allowed GPU can hold it ({len(reasons)} tried)"
    return f"{request.model.name} at {request.precision.name} cannot be served: {detail}"
