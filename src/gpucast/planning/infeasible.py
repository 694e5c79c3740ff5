"""SLOs no load can meet: the answer is "infeasible", with the lowest latencies reached and what would do it.

A configuration whose lone request (no queueing, one sequence in the batch) already misses a latency target
cannot meet the SLOs at any load; sizing a fleet at one request per replica would be a silent 40x plan. When
the best configuration of a plan is like that, :func:`require_feasible` raises :class:`SLOInfeasibleError`
(the CLI's exit 2, the REST API's 422) naming the lowest TTFT and ITL reached and the nearest feasible
alternatives: the same question with free sharding (more TP), FP8 weights and KV, or every priced GPU.
The seed's Python API keeps returning the plan, with ``meets_latency_sla`` false and a recommendation that says
why (``ServingOptions.require_slo`` is False there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..catalog import loader
from ..core.search import Candidate
from ..core.specs import Precision
from ..errors import SLOInfeasibleError
from .build import infeasible_summary
from .request import ResolvedRequest

Search = Callable[["ResolvedRequest"], list[Candidate]]
SIXTEEN_BIT = (Precision.FP32, Precision.FP16, Precision.BF16)


def require_feasible(request: ResolvedRequest, ranked: list[Candidate], search: Search) -> None:
    """Raise SLOInfeasibleError when the request must meet its SLOs and its best configuration cannot."""
    if not request.options.require_slo or not ranked or ranked[0].estimate.meets_slo:
        return
    best = ranked[0]
    alternatives = nearest_feasible(request, search)
    summary = infeasible_summary(request, best)
    if alternatives:
        hint = "nearest feasible: " + "; ".join(a["summary"] for a in alternatives)
    else:
        hint = "neither more TP, FP8 nor a faster GPU meets them: relax the SLOs"
    cfg, lowest = best.estimate.config, best.estimate.lowest or best.estimate.capacity
    detail: dict[str, object] = {
        "slo": {"ttft_ms": request.slo.ttft_ms, "itl_ms": request.slo.itl_ms, "e2e_ms": request.slo.e2e_ms},
        "missed": best.estimate.limit,
        "best_tried": {
            "gpu_type": cfg.gpu.name,
            "tensor_parallel": cfg.tp,
            "pipeline_parallel": cfg.pp,
            "precision": cfg.precision.name,
            "lowest_ttft_ms": lowest.ttft_s * 1e3,
            "lowest_itl_ms": lowest.itl_s * 1e3,
            "lowest_e2e_ms": lowest.e2e_s * 1e3,
        },
        "alternatives": alternatives,
    }
    raise SLOInfeasibleError(f"{summary}; {hint}", detail)


def nearest_feasible(request: ResolvedRequest, search: Search) -> list[dict[str, Any]]:
    """The cheapest feasible plan of each nearby question: free TP/PP, FP8, every priced GPU (then all together)."""
    changes: list[tuple[str, Callable[[ResolvedRequest], ResolvedRequest]]] = []
    if request.options.tp is not None or request.options.pp is not None:
        changes.append(("more TP", _free_sharding))
    if request.precision in SIXTEEN_BIT:
        changes.append(("FP8", _fp8))
    if request.gpu_pinned:
        changes.append(("a faster GPU", _every_gpu))
    answers = [_describe(label, best) for label, change in changes if (best := _best_feasible(search, change(request)))]
    if not answers and len(changes) > 1:  # nothing alone: all of them together
        combined = request
        for _, change in changes:
            combined = change(combined)
        if best := _best_feasible(search, combined):
            answers.append(_describe(" + ".join(label for label, _ in changes), best))
    return answers


def _free_sharding(request: ResolvedRequest) -> ResolvedRequest:
    return replace(request, options=replace(request.options, tp=None, pp=None))


def _fp8(request: ResolvedRequest) -> ResolvedRequest:
    kv = loader.resolve_engine(request.options.engine).default_kv_precision(Precision.FP8)
    return replace(request, precision=Precision.FP8, kv_precision=kv)


def _every_gpu(request: ResolvedRequest) -> ResolvedRequest:
    return replace(request, gpus=loader.priced_gpus(request.searched_clouds, request.region), gpu_pinned=False)


def _best_feasible(search: Search, request: ResolvedRequest) -> Candidate | None:
    feasible = [c for c in search(request) if c.estimate.meets_slo]
    return feasible[0] if feasible else None


def _describe(label: str, candidate: Candidate) -> dict[str, Any]:
    est = candidate.estimate
    cfg, lowest = est.config, est.lowest or est.capacity
    shard = cfg.layout.label()
    cost = f", ${candidate.cost_at_peak.monthly_usd:,.0f}/month" if candidate.cost_at_peak else ""
    summary = (
        f"{label}: {candidate.total_gpus} x {cfg.gpu.name} ({shard}, {cfg.precision.name}{cost}; lowest TTFT "
        f"{lowest.ttft_s * 1e3:,.0f} ms, ITL {lowest.itl_s * 1e3:,.1f} ms)"
    )
    return {
        "change": label,
        "gpu_type": cfg.gpu.name,
        "tensor_parallel": cfg.tp,
        "pipeline_parallel": cfg.pp,
        "expert_parallel": cfg.ep,
        "attention_data_parallel": cfg.attention_dp,
        "precision": cfg.precision.name,
        "total_gpus": candidate.total_gpus,
        "monthly_gpu_cost": candidate.cost_at_peak.monthly_usd if candidate.cost_at_peak else None,
        "lowest_ttft_ms": lowest.ttft_s * 1e3,
        "lowest_itl_ms": lowest.itl_s * 1e3,
        "summary": summary,
    }
