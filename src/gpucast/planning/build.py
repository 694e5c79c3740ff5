"""Turn the chosen configuration into an LLMCapacityPlan: sections, warnings, assumptions,
alternatives and the ``--explain`` trail of intermediate quantities with their formulas."""

from __future__ import annotations

from typing import Any

from ..catalog import loader
from ..core.cost import HOURS_PER_MONTH, cost_per_million_tokens
from ..core.engine_releases import replica_memory
from ..core.fleet import planned_point, scale_out_point
from ..core.memory import kv_bytes_per_token
from ..core.params import count_parameters
from ..core.percentiles import slo_statistic, token_target
from ..core.replica import ReplicaConfig
from ..core.search import Candidate
from ..core.serving import OperatingPoint
from ..core.specs import GIB, GPUSpec
from ..core.workload import SLO, PlanSettings
from ..plans.inference import (
    Alternative,
    CostEstimate,
    GPUResources,
    LLMCapacityPlan,
    ScalingRecommendation,
    ThroughputMetrics,
)
from ..version import __version__
from ..wording import counted
from .explain_rows import explain
from .price_age import age_days, stale_warning
from .request import ResolvedRequest, weight_only_note

GB = 1e9


def build_plan(request: ResolvedRequest, ranked: list[Candidate], *, inputs: dict[str, Any]) -> LLMCapacityPlan:
    best = ranked[0]
    est, fleet = best.estimate, best.fleet
    cfg, mem, point = est.config, est.memory, est.capacity
    workload, settings = request.workload, request.settings
    planned = planned_point(est, fleet, workload)
    lowest = est.lowest or point
    gpus_per_replica = cfg.gpus
    used_gib = mem.weights_gib + mem.activations_gib + mem.overhead_gib + max(mem.kv_cache_gib, 0.0)
    resources = GPUResources(
        gpu_memory_per_replica_gb=used_gib * GIB / GB * gpus_per_replica,
        min_gpus_per_replica=gpus_per_replica,
        recommended_gpu_type=cfg.gpu.name,
        min_replicas=fleet.min_replicas,
        max_replicas=fleet.max_replicas,
        total_gpus=fleet.max_replicas * gpus_per_replica,
        tensor_parallel=cfg.tp,
        pipeline_parallel=cfg.pp,
        gpu_memory_gb=cfg.gpu.memory_bytes / GB,
        weights_gb_per_gpu=mem.weights_gib * GIB / GB,
        kv_cache_gb_per_gpu=mem.kv_cache_gib * GIB / GB,
        activations_gb_per_gpu=mem.activations_gib * GIB / GB,
        overhead_gb_per_gpu=mem.overhead_gib * GIB / GB,
        kv_cache_tokens=mem.kv_capacity_tokens,
        kv_bytes_per_token=kv_bytes_per_token(
            cfg.model, cfg.kv_precision, int(workload.input_tokens + workload.output_tokens / 2)
        ),
        max_concurrent_sequences=cfg.max_sequences,
        expert_parallel=cfg.ep,
        attention_data_parallel=cfg.attention_dp,
        max_batched_tokens=cfg.chunk_tokens,
    )
    rps = point.requests_per_s
    throughput = ThroughputMetrics(
        tps_per_replica=point.output_tokens_per_s,
        total_tps_capacity=point.output_tokens_per_s * fleet.max_replicas,
        max_rps_capacity=rps * fleet.max_replicas,
        estimated_ttft_ms=planned.ttft_s * 1e3,
        estimated_itl_ms=planned.itl_s * 1e3,
        meets_latency_sla=est.meets_slo,
        rps_per_replica=rps,
        estimated_e2e_latency_ms=planned.e2e_s * 1e3,
        concurrency_per_replica=point.concurrency,
        bound=point.step.bound,
        concurrency_limit=est.limit,
        max_tps_per_replica=est.saturation.output_tokens_per_s,
        planned_rps_per_replica=planned.requests_per_s,
        planned_concurrency_per_replica=planned.concurrency,
        capacity_ttft_ms=point.ttft_s * 1e3,
        capacity_itl_ms=point.itl_s * 1e3,
        lowest_ttft_ms=lowest.ttft_s * 1e3,
        lowest_itl_ms=lowest.itl_s * 1e3,
        **_at_slo_percentile(request.slo, planned, point),
    )
    trigger = scale_out_point(est, workload, settings)  # the load the fleet is sized on: capacity / (1 + margin)
    scaling = ScalingRecommendation(
        recommended_min_replicas=fleet.min_replicas,
        recommended_max_replicas=fleet.max_replicas,
        auto_scale_rps_threshold=trigger.requests_per_s,
        auto_scale_gpu_util_threshold=settings.target_utilization,
        auto_scale_latency_threshold_ms=0.8 * request.slo.ttft_ms,
        auto_scale_queue_depth_threshold=trigger.concurrency,
        auto_scale_kv_cache_usage_threshold=min(
            1.0,
            trigger.batch * (workload.input_tokens + workload.output_tokens / 2) / max(mem.kv_capacity_tokens, 1),
        ),
        average_rps=workload.requests_per_s,
        peak_rps=fleet.planned_peak_rps,
    )
    return LLMCapacityPlan(
        # the fraction the plan's replica ran at: as given, else the engine's default for its layout and GPU (SGLang's
        # follows both), which the exported launch then passes
        inputs=dict(inputs, gpu_memory_utilization=replica_fraction(request, best)),
        model=_model_info(request),
        gpu_resources=resources,
        throughput=throughput,
        scaling=scaling,
        cost=_cost(best, workload, request.options.price_max_age_days),
        assumptions=_assumptions(request, best),
        warnings=_warnings(request, best),
        recommendation=_recommendation(request, ranked),
        alternatives=[_alternative(c) for c in ranked[1:6]],
        explain=explain(request, best, planned, trigger),
        versions={"gpucast": __version__, **loader.catalog_versions()},
    )


def _model_info(request: ResolvedRequest) -> dict[str, Any]:
    params = count_parameters(request.model)
    return {
        "name": request.model.name,
        "id": request.model.id,
        "total_params_b": params.total / 1e9,
        "active_params_b": params.active / 1e9,
        "source": request.model_note,
    }


def _cost(best: Candidate, workload: Any, max_age_days: int) -> CostEstimate | None:
    peak, low = best.cost_at_peak, best.cost_at_average
    if peak is None or low is None:
        return None
    tokens_per_s = workload.requests_per_s * (workload.input_tokens + workload.output_tokens)
    output_per_s = workload.requests_per_s * workload.output_tokens
    return CostEstimate(
        monthly_gpu_cost=peak.monthly_usd,
        cost_per_million_tokens=cost_per_million_tokens(peak.hourly_usd, tokens_per_s),
        monthly_total_cost=peak.monthly_usd,
        cloud=peak.cloud,
        region=peak.region,
        pricing=peak.pricing,
        instance_type=peak.instance_type,
        instances=peak.instances,
        gpu_hourly_cost=peak.gpu_hourly_usd,
        monthly_cost_at_min_replicas=low.monthly_usd,
        cost_per_million_output_tokens=cost_per_million_tokens(peak.hourly_usd, output_per_s),
        price_source=peak.source,
        price_as_of=peak.as_of,
        reliability=peak.reliability,
        price_age_days=age_days(peak.as_of),
        price_max_age_days=max_age_days,
        price_stale=bool(stale_warning(peak.as_of, max_age_days)),
        monthly_gpu_cost_high=peak.hourly_high_usd * HOURS_PER_MONTH if peak.hourly_high_usd is not None else None,
    )


def _alternative(c: Candidate) -> Alternative:
    cfg = c.estimate.config
    return Alternative(
        gpu_type=cfg.gpu.name,
        tensor_parallel=cfg.tp,
        pipeline_parallel=cfg.pp,
        total_gpus=c.total_gpus,
        expert_parallel=cfg.ep,
        attention_data_parallel=cfg.attention_dp,
        monthly_gpu_cost=c.cost_at_peak.monthly_usd if c.cost_at_peak else None,
        meets_latency_sla=c.estimate.meets_slo,
    )


def _recommendation(request: ResolvedRequest, ranked: list[Candidate]) -> str:
    best = ranked[0]
    est, cfg = best.estimate, best.estimate.config
    shard = cfg.layout.label()
    if not est.meets_slo:
        return infeasible_summary(request, best) + (
            f"; the fleet shown ({best.fleet.max_replicas} x {cfg.gpus} {cfg.gpu.name}, {shard}) carries the traffic at "
            "saturation throughput without meeting them"
        )
    text = (
        f"{best.fleet.min_replicas}-{best.fleet.max_replicas} replicas of {cfg.gpus} x {cfg.gpu.name} ({shard}); "
        f"each serves up to {est.capacity.requests_per_s:.2f} req/s within the SLOs (limited by {est.limit}) "
        f"and {best.fleet.planned_peak_rps / best.fleet.max_replicas:.2f} req/s at the planned peak"
    )
    feasible = [c for c in ranked if c.estimate.meets_slo]
    if request.gpu_pinned or len(feasible) == 1:
        return text
    if best.cost_at_peak and feasible[1].cost_at_peak:
        nxt = feasible[1]
        saving = nxt.cost_at_peak.monthly_usd - best.cost_at_peak.monthly_usd  # type: ignore[union-attr]
        text += f"; cheapest of {len(feasible)} GPU types meeting the SLOs on {', '.join(request.searched_clouds)}, "
        text += f"${saving:,.0f}/month less than {nxt.estimate.config.gpu.name}"
    return text


def infeasible_summary(request: ResolvedRequest, best: Candidate) -> str:
    """One sentence: the SLOs no load meets, and the lowest latencies the best configuration reaches."""
    est, cfg = best.estimate, best.estimate.config
    lowest = est.lowest or est.capacity
    shard = cfg.layout.label()
    slo = (
        f"TTFT <= {request.slo.ttft_ms:g} ms, {token_target(request.slo.percentile)} <= {request.slo.itl_ms:g} ms"
        + (f", end-to-end <= {request.slo.e2e_ms:g} ms" if request.slo.e2e_ms else "")
        + (f", task <= {request.variant.task_slo_ms:g} ms" if request.variant.task_slo_ms else "")
    )
    return (
        f"infeasible: no load meets {slo} ({est.limit} missed); the lowest reachable with one request in flight on "
        f"{cfg.gpus} x {cfg.gpu.name} ({shard}, {cfg.precision.name}) is TTFT {lowest.ttft_s * 1e3:,.0f} ms, "
        f"ITL {lowest.itl_s * 1e3:,.1f} ms, end-to-end {lowest.e2e_s * 1e3:,.0f} ms"
    )


def _at_slo_percentile(slo: SLO, planned: OperatingPoint, capacity: OperatingPoint) -> dict[str, float | None]:
    """TTFT and per-request TPOT (ms) at the percentile the SLOs bound, at the planned peak and at the capacity
    (``SLO.latencies``: what the capacity search compared with the targets); None when the SLOs bound the means."""
    if slo.percentile == "mean":
        return {}
    peak_ttft, peak_tpot, _ = slo.latencies(planned)
    edge_ttft, edge_tpot, _ = slo.latencies(capacity)
    return {
        "ttft_at_slo_percentile_ms": peak_ttft * 1e3,
        "tpot_at_slo_percentile_ms": peak_tpot * 1e3,
        "capacity_ttft_at_slo_percentile_ms": edge_ttft * 1e3,
        "capacity_tpot_at_slo_percentile_ms": edge_tpot * 1e3,
    }


def _lengths_assumption(request: ResolvedRequest) -> list[str]:
    lengths = request.workload.lengths
    if lengths is None:
        return []
    return [
        f"Request lengths: length profile {lengths.name!r} (mean {lengths.mean_input:,.0f} in / "
        f"{lengths.mean_output:,.0f} out, longest {lengths.longest:,} tokens): capacity, KV cache and latency "
        "percentiles use the distribution (core.percentiles)"
    ]


def replica_fraction(request: ResolvedRequest, best: Candidate) -> float:
    """The memory fraction the chosen replica was sized with (``core.inference.replica_config``): the one given,
    else the engine's default on its GPU and layout (SGLang: by release, TP and GPU memory)."""
    cfg = best.estimate.config
    return replica_memory(request.settings.memory, cfg.gpu, cfg.tp, cfg.pp, cfg.attention_dp).gpu_memory_utilization


def _fraction_text(request: ResolvedRequest, best: Candidate) -> str:
    """How much of each GPU the engine takes: its fraction, or vLLM 0.34's measured sizing (fraction unset), and the
    CUDA graphs charged inside it (vLLM 0.20+, ``core.cuda_graphs``)."""
    memory = best.estimate.memory
    fraction = replica_fraction(request, best)
    graphs = f", CUDA graphs {memory.cuda_graph_gib:.2f} GiB/GPU inside it" if memory.cuda_graph_gib else ""
    if request.settings.memory.extensible_kv and fraction == 1.0:
        return (f"Engine sizes the KV cache after warmup from the free memory ({memory.usable_gib:.1f} GiB/GPU: "
                f"memory fraction unset{graphs})")  # fmt: skip
    return f"Engine reserves {fraction:.0%} of GPU memory{graphs}"


def _assumptions(request: ResolvedRequest, best: Candidate) -> list[str]:
    eff = best.estimate.config.efficiency
    engine = loader.resolve_engine(request.options.engine)
    s = request.settings
    return [
        f"Model: {request.model_note}",
        *([request.precision_note] if request.precision_note else []),
        # the release asked for (--engine-version), not the catalog's current label: "vLLM 0.10 (V1 engine)" was
        # printed over a plan that took vLLM 0.7.3's V0 arithmetic
        f"Engine: {engine.name} {request.options.engine_version or engine.version} (continuous batching, chunked "
        f"prefill of up to {_chunk_text(best.estimate.config)} a step, paged KV cache; "
        f"{engine.memory_mode!r} memory policy; efficiencies include its fitted factors, if any)",
        f"{_fraction_text(request, best)}; runtime overhead "
        f"{s.memory.overhead_gib(best.estimate.config.gpu.vendor):g} GiB/GPU; at most "
        f"{_sequence_limit_text(s, best.estimate.config.gpu, best.estimate.config.attention_dp)}",
        f"Efficiencies ({eff.source}): HBM {eff.bandwidth_fraction:.0%}, decode compute {eff.compute_fraction:.0%}, "
        f"prefill compute {eff.prefill_fraction:.0%}, step overhead {eff.step_overhead_s * 1e3:.1f} ms "
        f"+ {eff.sequence_overhead_s * 1e6:.1f} us per sequence",
        f"Engine max_model_len (context window): {s.context_window} tokens",
        "Capacity: the largest request rate per replica whose estimate (gpucast estimate --request-rate) meets the "
        f"SLOs; peak traffic x{request.workload.peak_multiplier:g} with growth {request.workload.growth_rate_percent:g}% "
        f"and a {s.safety_margin:.0%} safety margin over it; average traffic at most {s.target_utilization:.0%} of a "
        f"replica's saturation throughput; at least {s.min_replicas} replicas for availability",
        f"SLOs ({slo_statistic(request.slo.percentile)}): TTFT <= {request.slo.ttft_ms:g} ms, "
        f"{token_target(request.slo.percentile)} <= {request.slo.itl_ms:g} ms"
        + (f", end-to-end <= {request.slo.e2e_ms:g} ms" if request.slo.e2e_ms else ""),
        *_lengths_assumption(request),
        "Month = 730 hours; costs are GPU instance prices only (no storage, network or egress)",
    ]


# Capacity at the SLOs below this share of a replica's saturation rate: the targets sit so close to a request's own
# latency that the plan buys replicas to keep each nearly idle (Llama-4-Scout FP8, 100k-token prompts at TTFT p99
# 2 s on TP=8 H100s, a 1.8 s prefill alone: 662 replicas for 1 req/s). Typical plans run at 30-90%.
NEAR_EMPTY_SHARE = 0.05


def _warnings(request: ResolvedRequest, best: Candidate) -> list[str]:
    est = best.estimate
    cfg = est.config
    notes = []
    if not est.meets_slo:
        notes.append(
            f"no configuration meets the SLOs at any load: {infeasible_summary(request, best)} — relax the SLOs, "
            "use more GPUs per replica (TP), a smaller precision (FP8) or a faster GPU"
        )
    near_empty = est.capacity.requests_per_s < NEAR_EMPTY_SHARE * est.saturation.requests_per_s
    if est.meets_slo and near_empty and est.limit in ("ttft", "itl", "e2e"):
        notes.append(
            f"the SLOs leave each replica {est.capacity.requests_per_s:.3g} of the {est.saturation.requests_per_s:.3g} "
            f"req/s it can serve ({est.limit}: a request alone already takes {est.slo_excess:.0%} of its target, so any "
            f"queueing misses it): the fleet is sized for near-empty replicas; a looser {est.limit} target cuts it"
        )
    if est.limit == "kv-cache":
        notes.append(f"KV cache limits concurrency to {cfg.max_sequences} sequences per replica")
    if est.limit == "batch-size":
        notes.append(f"--batch-size caps concurrency at {cfg.max_sequences} sequences per replica")
    if weight_only := weight_only_note(cfg.gpu, request.precision):
        notes.append(weight_only)
    if not cfg.gpu.supports(request.kv_precision.value.compute_key) and request.kv_precision.name == "BF16":
        notes.append(f"{cfg.gpu.name} has no BF16 support: engines run it in FP16")
    notes += request.price_notes
    if release := loader.engine_release_note(request.options.engine, request.options.engine_version):
        notes.append(release)
    if best.cost_at_peak is None:
        where = ", ".join(request.searched_clouds) + (f" in {request.region}" if request.region else "")
        hint = loader.pricing_hint(
            request.options.pricing, tuple(request.searched_clouds), cfg.gpu.id, request.region,
            gpus_per_replica=cfg.gpus, replicas=best.fleet.max_replicas, tp=cfg.tp,
        )  # fmt: skip
        notes.append(f"no {request.options.pricing} price for {cfg.gpu.name} on {where}: cost omitted{hint}")
    elif stale := stale_warning(best.cost_at_peak.as_of, request.options.price_max_age_days):
        notes.append(stale)
    if best.cost_at_peak is not None and (idle := best.cost_at_peak.paid_gpus - best.total_gpus) >= cfg.gpus:
        peak = best.cost_at_peak
        notes.append(
            f"{peak.instances} x {peak.instance_type} ({counted(peak.instance_gpus, 'GPU')} each) "
            f"{'is' if peak.instances == 1 else 'are'} paid for, {counted(best.total_gpus, 'GPU')} used at peak size: "
            f"{counted(idle, 'idle GPU')} could run {counted(idle // cfg.gpus, 'more replica')} at no extra cost"
        )
    offer = best.cost_at_peak
    if offer is not None and offer.reliability == "reserved" and best.fleet.min_replicas < best.fleet.max_replicas:
        floor = best.cost_at_average.monthly_usd if best.cost_at_average is not None else 0.0
        above = best.fleet.max_replicas - best.fleet.min_replicas
        notes.append(  # a commitment is billed every hour: scaling in releases nothing of it
            f"{offer.pricing} reserved capacity is billed whether it runs or not: autoscaling to "
            f"{counted(best.fleet.min_replicas, 'replica')} saves nothing on a commitment for "
            f"{best.fleet.max_replicas} (${offer.monthly_usd:,.0f}/month); ${floor:,.0f} at min replicas is a "
            f"commitment for that floor alone, with the {counted(above, 'replica')} "
            "above it rented on-demand when the load needs them, at on-demand prices"
        )
    if offer is not None and cfg.tp > offer.instance_gpus and cfg.gpu.gpus_per_node > offer.instance_gpus:
        notes.append(  # a rack-scale NVLink domain (GB200 NVL72): the instances a TP group spans must share it
            f"each TP={cfg.tp} group spans {-(-cfg.tp // offer.instance_gpus)} {offer.instance_type} instances: launch "
            f"them in one NVLink domain (OCI: one GPU memory cluster), or their all-reduces leave NVLink"
        )
    if request.settings.context_window > request.model.max_context:
        notes.append(
            f"context window {request.settings.context_window} exceeds {request.model.name}'s {request.model.max_context}"
        )
    return notes


def _chunk_text(cfg: ReplicaConfig) -> str:
    """The prefill chunk a step takes: the budget, or where the engine divides it over attention-DP ranks (SGLang)
    each rank's share of the launched budget, which a prompt (on one rank) is chunked by."""
    if not cfg.rank_chunk_tokens:
        return f"{cfg.chunk_tokens:,} tokens"
    if cfg.rank_chunk_tokens == cfg.chunk_tokens:  # vLLM: an engine core per rank, each the whole budget
        return f"{cfg.chunk_tokens:,} tokens per attention-DP rank (each of its {cfg.attention_dp} ranks schedules its own)"
    return (f"{cfg.rank_chunk_tokens:,} tokens per attention-DP rank (the engine divides its "
            f"{cfg.chunk_tokens:,}-token chunked prefill size over its {cfg.attention_dp} ranks)")  # fmt: skip


def _sequence_limit_text(settings: PlanSettings, gpu: GPUSpec, attention_dp: int) -> str:
    """The engine's sequence limit as the plan applies it: per GPU class, and per attention-DP rank where each rank
    schedules its own ("1024 sequences per DP rank x 8 = 8192 per replica")."""
    limit, replica = settings.engine_sequence_limit(gpu), settings.replica_sequence_limit(gpu, attention_dp)
    if replica != limit:
        return f"{limit} sequences per DP rank x {attention_dp} = {replica} per replica"
    return f"{limit} sequences per replica"
