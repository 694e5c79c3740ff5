"""The GPUs the user already has ("we have 8 H100s running Llama 3.1 8B: how much can they serve?"), against the
serving plan: how much traffic they serve within the targets, laid out as the plan's replicas (the plan's capacity
per replica) or, where another layout serves more on that many GPUs, as that one (``gpucast estimate
--slo-capacity`` with that layout). The layouts tried are those the planner searches for the model on that GPU
(``core.search.parallel_options``): tensor parallelism, pipelining at a full node, and for a mixture-of-experts
model expert parallelism alone and with attention data parallelism (``--ep`` / ``--dp-attention``), which the
answer searched none of before 2026-12-08 (DeepSeek-V3 on 16 H200s: 2 replicas of TP=8 serve 29.7 requests/s of
1,000 in / 300 out within 2 s, 2 of TP=8 EP=8 DP-attention=8 serve 51.6). Before 2026-12-08 the count was dropped
without a word and only the plan's own fleet was printed.

Why not the plan's layout alone: the plan picks the cheapest layout for the traffic asked, not the one that gets the
most out of a fixed fleet. Llama-3.1-70B on 8 H100s was answered as 4 replicas of the plan's TP=2 (6.13 requests/s)
while 2 replicas of TP=4 serve 15.9; 3 H100s were "too few for one replica" of the plan's TP=4 while one TP=2 replica
fits; and "we have 8 A100s" beside a plan on H100s was answered as 8 H100s.

A layout the user pinned ("TP 4", "tensor parallel 2", "EP 8": ``--tp/--pp/--ep``, which the plan then uses) is the
one the answer is given for, and another layout only said beside it where it serves more ("unpinned, another layout
would serve more: ..."); before 2026-12-08 the pin was ignored and the best layout searched was the answer.

Whether the fleet is enough is one rule for the plan's layout and any other (:func:`_verdict`): it holds the
replicas the planner sizes for the peak with that layout's capacity per replica (``core.fleet.replicas_at_slo`` at
the plan's safety margin), and the plan's minimum replicas (kept for availability) or it is said to fall short of
that minimum.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..catalog import loader
from ..core.fleet import replicas_at_slo
from ..core.layout import Layout
from ..core.search import parallel_options
from ..errors import GpucastError
from ..inputs.types import ModelConfig
from ..planning.estimate import EstimateRequest, EstimateResult, estimate
from ..planning.estimate_request import plan_request_shape
from ..planning.request import resolve_model_spec
from ..wording import counted, rate
from . import names
from .values import Values

BETTER = 1.02  # another layout is said where it serves at least 2% more than the plan's (not rounding noise)


def owned_fleet_line(answers: Values, plan: Any) -> str:
    """One paragraph: the user's GPUs, their capacity within the targets (the plan's layout or a better one on that
    many GPUs of that type; the layout the user pinned, "TP 4", where one was pinned), and how it compares with the
    plan's peak. An agent plan's rates are LLM calls/s, as the plan's own words say them (``explain``): the owned
    answer said "requests/s" of a plan whose peak is counted in calls before 2026-12-08."""
    line = _fleet_line(answers, plan, pinned(answers))
    return line.replace("requests/s", "LLM calls/s") if plan.agent is not None else line


def pinned(answers: Values) -> dict[str, int]:
    """The parallelism the user pinned ("TP 4", "tensor parallel 2", "EP 8": ``--tp/--pp/--ep``), by Layout field.
    The planner plans that layout; before 2026-12-08 the owned GPUs were still laid out as any layout searched."""
    return {key: int(answers[key]) for key in ("tp", "pp", "ep") if key in answers}


def _fleet_line(answers: Values, plan: Any, pins: dict[str, int]) -> str:
    owned = int(answers["owned_gpus"])
    res, thr = plan.gpu_resources, plan.throughput
    plan_gpu, per_replica = res.recommended_gpu_type, int(res.min_gpus_per_replica)
    kind = names.gpu_name(str(answers["owned_gpu"])) if answers.get("owned_gpu") else None
    if kind is not None and kind != plan_gpu:  # not the plan's GPU: its numbers say nothing about them
        best = _best_fleet(plan, kind, owned, pins)
        yours = f"Your {owned} x {kind} (not the plan's {plan_gpu})"
        if isinstance(best, str):
            return f"{yours}: {best}" + _unpinned_note(plan, kind, owned, pins, None)
        return (f"{yours} {_verb(owned, 'serve')} up to {_served(best, owned)}, {_verdict(plan, best)}"
                f"{_unpinned_note(plan, kind, owned, pins, best)}.")  # fmt: skip
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
    # own layout's figure is not comparable with an estimate's, so no other layout is offered on the plan's GPU; a
    # pinned layout is the plan's, and the answer is given for it (another one is only said beside it)
    offered = _best_fleet(plan, plan_gpu, owned) if plan.agent is None and not pins else None
    if isinstance(offered, EstimateResult) and _rank(plan, offered.replicas, offered.requests_per_s) > _rank(
        plan, replicas, _as_estimated(plan, replicas) * BETTER
    ):
        theirs = (f"the plan's {layout.label()} layout would hold {counted(replicas, 'replica')} serving "
                  f"{rate(capacity)}" if replicas else f"one replica of the plan's {layout.label()} needs {per_replica}")  # fmt: skip
        return f"{yours} {_verb(owned, 'serve')} up to {_served(offered, owned)}, {_verdict(plan, offered)}; {theirs}."
    other = (
        _unpinned_note(plan, plan_gpu, owned, pins, (replicas, _as_estimated(plan, replicas)))
        if plan.agent is None
        else ""
    )
    if replicas == 0:
        what = "the layout you pinned" if pins else "this plan"
        fix = "" if other else "; a smaller or quantized model, or more GPUs, would fit"
        return (f"{yours}: one replica of {what} needs {per_replica} ({layout.label()}), more than you have"
                f"{fix}{other}.")  # fmt: skip
    spare = owned - replicas * per_replica
    left = f" ({counted(spare, 'GPU')} left over)" if spare else ""
    whose = f"the {layout.label()} layout you pinned" if pins else f"the plan's {layout.label()} layout"
    return (f"{yours} {_verb(owned, 'hold')} {counted(replicas, 'replica')} of {whose}{left}: "
            f"within the targets {'it serves' if owned == 1 else 'they serve'} up to {rate(capacity)} requests/s"
            f"{f' ({rate(thr.rps_per_replica)} each)' if replicas > 1 else ''}, "
            f"{_verdict(plan, (layout, replicas, capacity))}{other}.")  # fmt: skip


def _unpinned_note(
    plan: Any, gpu: str, owned: int, pins: dict[str, int], fleet: EstimateResult | tuple[int, float] | None
) -> str:
    """Where a layout was pinned, "; another layout would serve more: ..." when the best of every layout the planner
    searches (:func:`_best_fleet` unpinned) ranks above the pinned one's ``fleet`` (an estimate, (replicas,
    requests/s), or None where the pinned layout does not fit); "" otherwise."""
    if not pins:
        return ""
    best = _best_fleet(plan, gpu, owned)
    if not isinstance(best, EstimateResult):
        return ""
    if fleet is not None:
        replicas, capacity = (fleet.replicas, fleet.requests_per_s) if isinstance(fleet, EstimateResult) else fleet
        if _layout_of(best) == _pinned_layout(fleet) or _rank(plan, best.replicas, best.requests_per_s) <= _rank(
            plan, replicas, capacity * BETTER
        ):
            return ""
    return f"; unpinned, another layout would serve more: {_served(best, owned)}, {_verdict(plan, best)}"


def _pinned_layout(fleet: EstimateResult | tuple[int, float]) -> Layout | None:
    return _layout_of(fleet) if isinstance(fleet, EstimateResult) else None


def _verb(owned: int, verb: str) -> str:
    """ "serves" for one GPU, "serve" for more ("Your 1 x GeForce RTX 4090 serve up to ..." read wrong)."""
    return verb + "s" if owned == 1 else verb


def _as_estimated(plan: Any, replicas: int) -> float:
    """The plan's layout on ``replicas`` replicas by the same estimate as the other layouts (compared like with like;
    for a plan of a catalog model this is the plan's own capacity per replica times the replicas)."""
    res = plan.gpu_resources
    if replicas == 0:
        return 0.0
    try:
        return estimate(_request(plan, res.recommended_gpu_type, replicas * int(res.min_gpus_per_replica),
                                 Layout(int(res.tensor_parallel), int(res.pipeline_parallel), int(res.expert_parallel),
                                        int(res.attention_data_parallel)))).requests_per_s  # fmt: skip
    except GpucastError:
        return float(replicas * plan.throughput.rps_per_replica)


def _layout_of(best: EstimateResult) -> Layout:
    return Layout(best.tp, best.pp, best.ep, best.attention_dp)


def _served(best: EstimateResult, owned: int) -> str:
    """ "1.53 requests/s within the targets as 1 replica of TP=2, 1 GPU left over (gpucast estimate ...)"."""
    layout = _layout_of(best)
    left = owned - best.replicas * layout.gpus
    spare = f", {counted(left, 'GPU')} left over" if left else ""
    return (f"{rate(best.requests_per_s)} requests/s within the targets as {counted(best.replicas, 'replica')} of "
            f"{layout.label()}{spare} (gpucast estimate --slo-capacity)")  # fmt: skip


def replicas_needed(plan: Any, per_replica: float) -> tuple[int, int]:
    """(replicas the plan's peak takes, replicas the plan keeps at least) with a layout serving ``per_replica``
    requests/s within the targets: ceil(peak x (1 + safety margin) / per_replica) (``core.fleet.replicas_at_slo``,
    the planner's rule at peak) and the plan's minimum replicas (kept for availability). For the plan's own layout
    the larger is its maximum replicas, except where the planner's average-load utilization rule sizes more (a flat
    load on loose targets): that rule keeps an autoscaled fleet's GPUs below a busy share, not the peak within the
    targets."""
    peak, margin = float(plan.scaling.peak_rps), float(plan.inputs.get("safety_margin") or 0.0)
    at_peak = replicas_at_slo(peak, per_replica, margin) if per_replica > 0 else 1 << 30
    return at_peak, int(plan.inputs.get("min_replicas") or 1)


def _rank(plan: Any, replicas: int, capacity: float) -> tuple[bool, bool, float]:
    """How a fleet ranks for the owned GPUs: enough for the peak first, then (of those) holding the plan's minimum
    replicas, then the most traffic: one TP=8 replica serving the most is not preferred to two TP=4 that are enough
    and kept as the plan keeps replicas; a fleet short of the peak either way serves the most it can."""
    if replicas == 0:
        return False, False, 0.0
    at_peak, floor = replicas_needed(plan, capacity / replicas)
    return replicas >= at_peak, replicas >= max(at_peak, floor), capacity  # short of the peak: the most traffic


def _verdict(plan: Any, fleet: EstimateResult | tuple[Layout, int, float]) -> str:
    """Whether a fleet (an estimate of another layout, or the plan's layout as (layout, replicas, requests/s)) is
    enough for the plan's peak: one rule for both (:func:`replicas_needed`). Before 2026-12-08 the plan's layout was
    compared with the plan's maximum replicas and another layout's capacity with the peak and margin alone, so one
    TP=8 replica was "enough" beside a plan that keeps at least 2."""
    layout, replicas, capacity = (
        (_layout_of(fleet), fleet.replicas, fleet.requests_per_s) if isinstance(fleet, EstimateResult) else fleet
    )
    at_peak, floor = replicas_needed(plan, capacity / replicas) if replicas else (1 << 30, 1)
    peak, margin = rate(float(plan.scaling.peak_rps)), float(plan.inputs.get("safety_margin") or 0.0)
    target = f"the planned peak of {peak} requests/s with the plan's {margin:.0%} safety margin"
    if replicas < at_peak:
        return f"short of {target}, which takes {counted(at_peak, 'replica')} of {layout.label()}"
    if replicas < floor:
        return (f"enough for {target}, but as {counted(replicas, 'replica')}, fewer than the {floor} the plan keeps "
                "for availability")  # fmt: skip
    needed = max(at_peak, floor)
    why = " (the plan's minimum, kept for availability)" if at_peak < floor else ""
    return f"enough for {target}, which takes {counted(needed, 'replica')} of {layout.label()}{why}"


def _layouts(plan: Any, gpu: str, owned: int, pins: dict[str, int] | None = None) -> list[Layout]:
    """The layouts the planner searches for the plan's model on ``gpu`` (``core.search.parallel_options``: TP, PP at
    a full node, and a MoE model's EP and EP + DP-attention), the plan's own among them, that fit in ``owned``
    GPUs. A model the catalog cannot resolve (a bare size) gets the power-of-two TPs. ``pins`` ({"tp": 4}) keeps
    the layouts with those degrees, or that layout alone where the search has none such."""
    res = plan.gpu_resources
    own = Layout(int(res.tensor_parallel), int(res.pipeline_parallel), int(res.expert_parallel),
                 int(res.attention_data_parallel))  # fmt: skip
    try:
        spec, _ = resolve_model_spec(ModelConfig(model_name=str(plan.model.get("id") or plan.inputs["model"])))
        options = parallel_options(spec, loader.resolve_gpu(gpu))
    except GpucastError:
        options = [Layout(2**power) for power in range(8)]
    mine = [own] if gpu == res.recommended_gpu_type else []
    found = list(dict.fromkeys([*options, *mine]))
    if pins:
        found = [layout for layout in found if all(getattr(layout, key) == value for key, value in pins.items())]
        found = found or [Layout(pins.get("tp", pins.get("ep", 1)), pins.get("pp", 1), pins.get("ep", 1))]
    return [layout for layout in found if layout.gpus <= owned]


def _best_fleet(plan: Any, gpu: str, owned: int, pins: dict[str, int] | None = None) -> EstimateResult | str:
    """The layout serving the most within the plan's targets on ``owned`` GPUs of ``gpu`` (:func:`_layouts`), as
    many whole replicas as fit (``estimate`` needs the count to divide), a fleet enough for the plan first
    (:func:`_rank`); of the layouts with the ``pins`` degrees where given. The reason none does where none does
    (the model does not fit, or no load meets the targets)."""
    best: EstimateResult | None = None
    layouts = _layouts(plan, gpu, owned, pins)
    reason = f"the plan's model does not fit on {owned} of them"
    if pins and not layouts:  # the smallest of the pinned layouts, none of which fits
        wanted = min(_layouts(plan, gpu, 1 << 30, pins), key=lambda layout: layout.gpus)
        reason = f"one replica of the layout you pinned ({wanted.label()}) needs {wanted.gpus}, more than you have"
    elif pins:
        shown = " or ".join(layout.label() for layout in layouts)
        reason = f"the plan's model does not fit on them as the layout you pinned ({shown})"
    for layout in layouts:
        try:
            found = estimate(_request(plan, gpu, owned // layout.gpus * layout.gpus, layout))
        except GpucastError as error:
            if "no load meets the SLOs" in str(error):
                reason = "no load meets the targets on them, even a request alone"
        else:
            if best is None or _rank(plan, found.replicas, found.requests_per_s) > _rank(
                plan, best.replicas, best.requests_per_s * (1 + 1e-6)
            ):
                best = found
    return best if best is not None else reason


def _request(plan: Any, gpu: str, num_gpus: int, layout: Layout) -> EstimateRequest:
    """``gpucast estimate --slo-capacity`` of the plan's model, precisions, engine, context window, request shape
    and targets on ``num_gpus`` of ``gpu`` at ``layout`` (``--tp/--pp/--ep/--dp-attention``; an agent plan: one call of its mean prompt,
    the cached part served from the prefix cache, as ``export estimate`` re-states it)."""
    inputs = plan.inputs
    # the plan's own numbers, unrounded (to_dict rounds to 6 decimals); a profile's means replace the lengths
    # (EstimateRequest.__post_init__)
    agent = dataclasses.asdict(plan.agent) if plan.agent is not None else None
    shape = {"input_tokens": None, "output_tokens": None, **plan_request_shape({"inputs": inputs, "agent": agent})}
    return EstimateRequest(
        gpu=gpu, num_gpus=num_gpus, tp=layout.tp, pp=layout.pp, ep=layout.ep, attention_dp=layout.attention_dp, model=str(plan.model.get("id") or inputs["model"]),
        precision=inputs["precision"], kv_precision=inputs["kv_precision"], engine=inputs["engine"],
        engine_version=inputs.get("engine_version"), max_model_len=int(inputs["context_window"]),
        max_num_seqs=inputs.get("max_num_seqs"), load="slo-capacity", ttft_slo_ms=inputs["ttft_slo_ms"],
        itl_slo_ms=inputs["itl_slo_ms"], slo_percentile=inputs.get("slo_percentile"), **shape,
    )  # fmt: skip
