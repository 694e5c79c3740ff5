"""Plans with the agent-workload inputs and serving options: the ``agent``, ``speculative`` and
``disaggregation`` sections of the plan, their warnings and ``--explain`` rows.

``plan_with_options`` runs the variant-aware search (``core/agent_search.py``; the variant comes from
``request.resolve_variant``), builds the ordinary plan from its best configuration and adds the sections.
Without the new inputs ``inference.plan_inference`` never comes here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..core.agent import call_input_tokens, largest_calls, max_context_tokens, mean_calls
from ..core.agent_search import AgentDetail, VariantCandidate, estimate_variant
from ..core.disaggregation import DEFAULT_LINK_GB_S, DisaggregatedPlan, plan_disaggregated
from ..core.fleet import size_fleet
from ..core.replica import decode_step_time
from ..core.specs import GIB
from ..errors import InfeasibleError
from ..plans.inference import AgentMetrics, LLMCapacityPlan, SpeculativeMetrics
from .build import build_plan
from .infeasible import require_feasible
from .request import ResolvedRequest
from .search import candidates_for, no_plan_message, variant_candidates_for

GB = 1e9


def plan_with_options(request: ResolvedRequest, *, inputs: dict[str, Any]) -> LLMCapacityPlan:
    """The plan under the variant, with the agent / speculative / disaggregation sections."""
    if request.variant.active:
        ranked, reasons = variant_candidates_for(request)
    else:
        plain, reasons = candidates_for(request)
        ranked = [VariantCandidate(c, AgentDetail(None, None, None)) for c in plain]
    if not ranked:
        raise InfeasibleError(no_plan_message(request, reasons))
    require_feasible(request, [v.candidate for v in ranked], lambda changed: candidates_for(changed)[0])
    inputs = dict(inputs, context_window=request.settings.context_window)
    plan = build_plan(request, [v.candidate for v in ranked], inputs=inputs)
    best = ranked[0]
    plan.warnings[:0] = list(request.notes)
    if request.variant.agent is not None:
        plan.agent = agent_metrics(request, best)
        plan.warnings += _agent_warnings(plan.agent)
        plan.explain += _agent_explain(plan.agent)
    if request.variant.speculative is not None:
        plan.speculative = speculative_metrics(request, best)
        plan.warnings += [] if plan.speculative.helps else [f"speculative decoding: {plan.speculative.note}"]
    if request.options.disaggregation:
        plan.disaggregation = disaggregation(request, best)
    return plan


def agent_metrics(request: ResolvedRequest, best: VariantCandidate) -> AgentMetrics:
    shape = request.variant.agent
    assert shape is not None
    detail, est = best.detail, best.candidate.estimate
    flow, cache = detail.flow, detail.cache
    assert flow is not None
    cached = cache.cached_tokens_per_call if cache else 0.0
    latency = detail.task_latency_s or 0.0
    slo = request.variant.task_slo_ms
    calls = mean_calls(shape)
    return AgentMetrics(
        tasks_per_second=shape.tasks_per_s,
        calls_per_task=calls,
        calls_distribution=shape.distribution,
        calls_per_second=shape.tasks_per_s * calls,
        mean_input_tokens_per_call=flow.mean_input_tokens,
        first_call_input_tokens=call_input_tokens(shape, 1),
        last_call_input_tokens=call_input_tokens(shape, largest_calls(shape)),
        max_context_tokens=max_context_tokens(shape),
        output_tokens_per_call=shape.output_tokens,
        think_time_s=shape.think_time_s,
        prefix_caching=request.variant.prefix_caching,
        prefix_cache_hit_rate=cache.hit_rate if cache else 0.0,
        reusable_fraction=flow.reusable_fraction,
        cached_tokens_per_call=cached,
        prefilled_tokens_per_call=request.workload.input_tokens - cached,
        prefix_cache_tokens_per_replica=max(cache.cache_tokens, 0.0) if cache else 0.0,
        task_context_survival=cache.task_survival if cache else 0.0,
        task_latency_ms=latency * 1e3,
        task_latency_slo_ms=slo,
        meets_task_slo=slo is None or latency * 1e3 <= slo,
        tasks_per_second_per_replica=est.capacity.requests_per_s / calls,
    )


def _agent_warnings(agent: AgentMetrics) -> list[str]:
    notes = []
    if not agent.meets_task_slo and agent.task_latency_slo_ms is not None:
        notes.append(
            f"tasks take {agent.task_latency_ms / 1e3:.1f} s, over the {agent.task_latency_slo_ms / 1e3:g} s task SLO: "
            "fewer calls per task, shorter outputs or a faster GPU"
        )
    if (
        agent.prefix_caching
        and agent.reusable_fraction > 0
        and agent.prefix_cache_hit_rate < 0.5 * agent.reusable_fraction
    ):
        notes.append(
            f"prefix cache hit rate {agent.prefix_cache_hit_rate:.0%} of a possible {agent.reusable_fraction:.0%}: "
            "contexts are evicted during think time — more KV memory (--prefix-cache-gib, FP8 KV) would help"
        )
    return notes


def _agent_explain(agent: AgentMetrics) -> list[dict[str, Any]]:
    rows = [
        ("LLM calls per second", f"{agent.calls_per_second:.3f}", "tasks/s x mean calls per task"),
        ("mean prompt per call", f"{agent.mean_input_tokens_per_call:,.0f} tokens",
         "P + D E[C(C+1)]/(2E[C]) + O E[C(C-1)]/(2E[C])  (call k: P + kD + (k-1)O)"),
        ("reusable prompt share", f"{agent.reusable_fraction:.1%}", "(E[C] P + (D+O) E[C(C-1)]/2) / sum of prompts"),
        ("task context survival", f"{agent.task_context_survival:.1%}",
         "1 - exp(-(cache tokens / tokens inserted per s) / think time)  (LRU characteristic time)"),
        ("prefix-cache hit rate", f"{agent.prefix_cache_hit_rate:.1%}", "cached prompt tokens / prompt tokens"),
        ("prefilled tokens per call", f"{agent.prefilled_tokens_per_call:,.0f}", "prompt - cached"),
        ("task latency", f"{agent.task_latency_ms / 1e3:.2f} s", "calls x (TTFT + (O-1) x ITL) + (calls-1) x think time"),
    ]  # fmt: skip
    return [{"quantity": q, "value": v, "formula": f} for q, v, f in rows]


def speculative_metrics(request: ResolvedRequest, best: VariantCandidate) -> SpeculativeMetrics:
    """The chosen replica with and without speculation: per-token step at the planned batch and at 1."""
    est = best.candidate.estimate
    cfg = est.config
    spec = cfg.speculative
    assert spec is not None
    plain_cfg = replace(cfg, speculative=None)
    context = request.workload.input_tokens + request.workload.output_tokens / 2.0
    batch = max(est.capacity.batch, 1.0)
    without = decode_step_time(plain_cfg, batch, context).total_s
    with_spec = decode_step_time(cfg, batch, context).total_s
    one_without = decode_step_time(plain_cfg, 1.0, context).total_s
    one_with = decode_step_time(cfg, 1.0, context).total_s
    total_without: int | None = None
    tps_without = 0.0
    try:
        plain, _ = estimate_variant(
            cfg.model, cfg.gpu, cfg.efficiency, precision=cfg.precision, kv_precision=cfg.kv_precision, tp=cfg.tp,
            pp=cfg.pp, workload=request.workload, slo=request.slo, settings=request.settings,
            variant=replace(request.variant, speculative=None),
        )  # fmt: skip
        total_without = size_fleet(plain, request.workload, request.settings).max_replicas * cfg.gpus
        tps_without = plain.saturation.output_tokens_per_s
    except InfeasibleError:
        pass
    speed_planned, speed_one = without / with_spec, one_without / one_with
    helps = speed_planned > 1.0
    name = spec.draft_model.name if spec.draft_model is not None else "MTP/EAGLE head (one layer)"
    why = (  # a MoE target: a sequence's k+1 verified tokens route to up to k+1 times the experts
        f"the {spec.draft_tokens + 1} verified tokens read more experts than one"
        if cfg.model.is_moe
        else "the draft steps cost more than the accepted tokens save"
    )
    slower_alone = f"slower at batch 1 ({speed_one:.2f}x the speed: {why})"
    if helps and speed_one >= 1.0:
        note = f"{speed_one:.2f}x faster tokens at batch 1 and {speed_planned:.2f}x at the planned batch of {batch:.0f}"
    elif helps:
        note = f"{speed_planned:.2f}x faster tokens at the planned batch of {batch:.0f}, but {slower_alone}"
    else:
        alone = f"{speed_one:.2f}x faster at batch 1 but" if speed_one >= 1.0 else f"{slower_alone}, and"
        note = (
            f"{alone} {speed_planned:.2f}x at the planned batch of {batch:.0f}: the "
            f"verification step is compute-bound there, so the {spec.draft_tokens} extra tokens per sequence cost more "
            "than the accepted tokens save — turn it off at this load"
        )
    return SpeculativeMetrics(
        draft_tokens=spec.draft_tokens,
        acceptance_rate=spec.acceptance_rate,
        proposer=name,
        tokens_per_step=spec.tokens_per_step,
        draft_weights_gb_per_gpu=best.detail.draft_weights_gib_per_gpu * GIB / GB,
        itl_ms_without=without * 1e3,
        itl_ms_with=with_spec * 1e3,
        itl_speedup_at_planned_batch=speed_planned,
        itl_speedup_at_batch_1=speed_one,
        max_tps_per_replica_without=tps_without,
        max_tps_per_replica_with=est.saturation.output_tokens_per_s,
        total_gpus_without=total_without,
        helps=helps,
        note=note,
    )


def disaggregation(request: ResolvedRequest, best: VariantCandidate) -> DisaggregatedPlan:
    """Prefill and decode pools for the chosen GPU and sharding, against the unified plan at peak."""
    cand = best.candidate
    est = cand.estimate
    cache = best.detail.cache
    return plan_disaggregated(
        est.config,
        input_tokens=request.workload.input_tokens,
        output_tokens=request.workload.output_tokens,
        cached_input_tokens=cache.cached_tokens_per_call if cache else 0.0,
        peak_calls_per_s=cand.fleet.planned_peak_rps,
        safety_margin=request.settings.safety_margin,
        ttft_slo_ms=request.slo.ttft_ms,
        itl_slo_ms=request.slo.itl_ms,
        unified_total_gpus=cand.total_gpus,
        unified_itl_ms=est.capacity.itl_s * 1e3,
        unified_prefill_share=est.capacity.prefill_share,
        link_gb_s=request.options.kv_transfer_gb_s or DEFAULT_LINK_GB_S,
    )
