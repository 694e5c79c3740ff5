"""The GPUs the user already has ("we have 8 H100s running Llama 3.1 8B: how much can they serve?"), against the
serving plan: how much traffic they serve within the targets, laid out as the plan's replicas (the plan's capacity
per replica) or, where another tensor-parallel size serves more on that many GPUs, as that one (``gpucast estimate
--slo-capacity`` with that layout). Before 2026-12-08 the count was dropped without a word and only the plan's own
fleet was printed.

Why not the plan's layout alone: the plan picks the cheapest layout for the traffic asked, not the one that gets the
most out of a fixed fleet. Llama-3.1-70B on 8 H100s was answered as 4 replicas of the plan's TP=2 (6.13 requests/s)
while 2 replicas of TP=4 serve 15.9; 3 H100s were "too few for one replica" of the plan's TP=4 while one TP=2 replica
fits; and "we have 8 A100s" beside a plan on H100s was answered as 8 H100s.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..core.layout import Layout
from ..errors import GpucastError
from ..planning.estimate import EstimateRequest, EstimateResult, estimate
from ..planning.estimate_request import plan_request_shape
from ..wording import counted, rate
from . import names
from .values import Values

BETTER = 1.02  # another layout is said where it serves at least 2% more than the plan's (not rounding noise)


def owned_fleet_line(answers: Values, plan: Any) -> str:
    """One paragraph: the user's GPUs, their capacity within the targets (the plan's layout or a better one on that
    many GPUs of that type), and how it compares with the plan's peak."""
    owned = int(answers["owned_gpus"])
    res, thr = plan.gpu_resources, plan.throughput
    plan_gpu, per_replica = res.recommended_gpu_type, int(res.min_gpus_per_replica)
    kind = names.gpu_name(str(answers["owned_gpu"])) if answers.get("owned_gpu") else None
    if kind is not None and kind != plan_gpu:  # not the plan's GPU: its numbers say nothing about them
        best = _best_fleet(plan, kind, owned)
        yours = f"Your {owned} x {kind} (not the plan's {plan_gpu})"
        if isinstance(best, str):
            return f"{yours}: {best}"
        return f"{yours} serve up to {_served(best, owned)}, {_verdict(plan, best.requests_per_s)}."
    yours = (
        f"Your {owned} x {plan_gpu}"
        if answers.get("gpu")
        else f"Your {counted(owned, 'GPU')}, if they are {plan_gpu}s,"
    )
    layout = Layout(res.tensor_parallel, res.pipeline_parallel, res.expert_parallel, res.attention_data_parallel)
    if not thr.meets_latency_sla:
        return f"{yours}: no load meets the targets on this GPU, so the count does not change the answer above."
    replicas = owned // per_replica
    capacity = replicas * thr.rps_per_replica
    # an agent plan's capacity counts its prefix cache, which `estimate` (one call of the mean prompt) does not: its
    # own layout's figure is not comparable with an estimate's, so no other layout is offered on the plan's GPU
    offered = _best_fleet(plan, plan_gpu, owned) if plan.agent is None else None
    if isinstance(offered, EstimateResult) and offered.requests_per_s > _as_estimated(plan, replicas) * BETTER:
        theirs = (f"the plan's {layout.label()} layout would hold {counted(replicas, 'replica')} serving "
                  f"{rate(capacity)}" if replicas else f"one replica of the plan's {layout.label()} needs {per_replica}")  # fmt: skip
        return f"{yours} serve up to {_served(offered, owned)}, {_verdict(plan, offered.requests_per_s)}; {theirs}."
    if replicas == 0:
        return (f"{yours}: one replica of this plan needs {per_replica} ({layout.label()}), more than you have; "
                "a smaller or quantized model, or more GPUs, would fit.")  # fmt: skip
    spare = owned - replicas * per_replica
    left = f" ({counted(spare, 'GPU')} left over)" if spare else ""
    needed = int(res.max_replicas)
    peak = rate(plan.scaling.peak_rps)
    verdict = (
        f"enough for the plan's {counted(needed, 'replica')} at the planned peak of {peak} requests/s with its headroom"
        if replicas >= needed
        else f"short of the {counted(needed, 'replica')} the plan sizes for the planned peak of {peak} requests/s "
        "with its headroom"
    )
    return (f"{yours} hold {counted(replicas, 'replica')} of the plan's {layout.label()} layout{left}: within the "
            f"targets they serve up to {rate(capacity)} requests/s ({rate(thr.rps_per_replica)} each), "
            f"{verdict}.")  # fmt: skip


def _as_estimated(plan: Any, replicas: int) -> float:
    """The plan's layout on ``replicas`` replicas by the same estimate as the other layouts (compared like with like;
    for a plan of a catalog model this is the plan's own capacity per replica times the replicas)."""
    res = plan.gpu_resources
    if replicas == 0:
        return 0.0
    try:
        return estimate(_request(plan, res.recommended_gpu_type, replicas * int(res.min_gpus_per_replica),
                                 int(res.tensor_parallel), int(res.pipeline_parallel), int(res.expert_parallel),
                                 int(res.attention_data_parallel))).requests_per_s  # fmt: skip
    except GpucastError:
        return float(replicas * plan.throughput.rps_per_replica)


def _served(best: EstimateResult, owned: int) -> str:
    """ "1.53 requests/s within the targets as 1 replica of TP=2, 1 GPU left over (gpucast estimate ...)"."""
    left = owned - best.replicas * best.tp * best.pp
    spare = f", {counted(left, 'GPU')} left over" if left else ""
    layout = Layout(best.tp, best.pp, best.ep, best.attention_dp).label()
    return (f"{rate(best.requests_per_s)} requests/s within the targets as {counted(best.replicas, 'replica')} of "
            f"{layout}{spare} (gpucast estimate --slo-capacity)")  # fmt: skip


def _verdict(plan: Any, capacity: float) -> str:
    """Whether ``capacity`` covers the plan's peak with the plan's safety margin (its rule for the SLO capacity)."""
    peak, margin = float(plan.scaling.peak_rps), float(plan.inputs.get("safety_margin") or 0.0)
    enough = "enough for" if capacity >= peak * (1.0 + margin) * (1 - 1e-9) else "short of"
    return f"{enough} the planned peak of {rate(peak)} requests/s with the plan's {margin:.0%} safety margin"


def _best_fleet(plan: Any, gpu: str, owned: int) -> EstimateResult | str:
    """The layout serving the most within the plan's targets on ``owned`` GPUs of ``gpu``: each power-of-two TP (at
    the plan's PP as well where it pipelines), as many whole replicas as fit (``estimate`` needs the count to
    divide). The reason none does where none does (the model does not fit, or no load meets the targets)."""
    best: EstimateResult | None = None
    reason = f"the plan's model does not fit on {owned} of them"
    for pp in dict.fromkeys((1, int(plan.gpu_resources.pipeline_parallel))):
        tp = 1
        while tp * pp <= owned:
            try:
                found = estimate(_request(plan, gpu, owned // (tp * pp) * tp * pp, tp, pp))
            except GpucastError as error:
                if "no load meets the SLOs" in str(error):
                    reason = "no load meets the targets on them, even a request alone"
            else:
                if best is None or found.requests_per_s > best.requests_per_s * (1 + 1e-6):
                    best = found
            tp *= 2
    return best if best is not None else reason


def _request(plan: Any, gpu: str, num_gpus: int, tp: int, pp: int, ep: int = 1, dp: int = 1) -> EstimateRequest:
    """``gpucast estimate --slo-capacity`` of the plan's model, precisions, engine, context window, request shape
    and targets on ``num_gpus`` of ``gpu`` at TP ``tp`` x PP ``pp`` (an agent plan: one call of its mean prompt,
    the cached part served from the prefix cache, as ``export estimate`` re-states it)."""
    inputs = plan.inputs
    # the plan's own numbers, unrounded (to_dict rounds to 6 decimals); a profile's means replace the lengths
    # (EstimateRequest.__post_init__)
    agent = dataclasses.asdict(plan.agent) if plan.agent is not None else None
    shape = {"input_tokens": None, "output_tokens": None, **plan_request_shape({"inputs": inputs, "agent": agent})}
    return EstimateRequest(
        gpu=gpu, num_gpus=num_gpus, tp=tp, pp=pp, ep=ep, attention_dp=dp, model=str(plan.model.get("id") or inputs["model"]),
        precision=inputs["precision"], kv_precision=inputs["kv_precision"], engine=inputs["engine"],
        engine_version=inputs.get("engine_version"), max_model_len=int(inputs["context_window"]),
        max_num_seqs=inputs.get("max_num_seqs"), load="slo-capacity", ttft_slo_ms=inputs["ttft_slo_ms"],
        itl_slo_ms=inputs["itl_slo_ms"], slo_percentile=inputs.get("slo_percentile"), **shape,
    )  # fmt: skip
