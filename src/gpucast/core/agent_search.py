"""Estimate and search serving configurations with the options of agent workloads switched on:
prefix caching (cached prompt tokens skip prefill), speculative decoding (faster decode steps,
less KV memory), a task-level latency SLO.

This mirrors ``inference.estimate_replica`` and ``search.best_for_gpu`` (largest SLO-meeting
request rate, then the cheapest TP x PP) and calls them unchanged when none of the
options applies, so a plan without the new inputs is exactly today's plan.

The prefix-cache hit rate and the operating point depend on each other: more hits make prefill
cheaper, so the replica runs more concurrent sequences and more calls per second, which leaves
less free KV memory for the cache and inserts tokens faster, so fewer prefixes survive. The
cached tokens per call c solve c = outcome(estimate(c)); outcome(estimate(c)) - c decreases in c,
so the root is found by bisection and the lower end (a hit rate the operating point sustains) kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InfeasibleError
from .agent import AgentShape, CacheOutcome, TokenFlow, cache_outcome, task_latency_s, token_flow
from .capacity import ReplicaEstimate, slo_capacity, slo_violation
from .cost import InstancePrice
from .inference import estimate_replica, replica_config
from .layout import Layout
from .memory import MemoryBreakdown
from .perf import Efficiency
from .replica import ReplicaConfig
from .search import Candidate, cheapest_sharding, priced_candidate, sharding_options
from .serving import OperatingPoint
from .specs import GIB, GPUSpec, ModelSpec, Precision
from .speculative import SpeculativeConfig, draft_memory_per_gpu
from .workload import SLO, PlanSettings, Workload


@dataclass(frozen=True)
class ServingVariant:
    """The new inputs; all off by default (then the plain planner runs)."""

    agent: AgentShape | None = None
    prefix_caching: bool = True
    prefix_cache_gib: float | None = None  # KV memory per GPU reserved for cached prefixes; None = what is free
    speculative: SpeculativeConfig | None = None
    task_slo_ms: float | None = None

    @property
    def active(self) -> bool:
        return self.agent is not None or self.speculative is not None


@dataclass(frozen=True)
class AgentDetail:
    """What the variant changed for one configuration."""

    flow: TokenFlow | None
    cache: CacheOutcome | None
    task_latency_s: float | None
    draft_weights_gib_per_gpu: float = 0.0


@dataclass(frozen=True)
class VariantCandidate:
    candidate: Candidate
    detail: AgentDetail


def add_proposer(
    cfg: ReplicaConfig,
    memory: MemoryBreakdown,
    kv_limited: int,
    spec: SpeculativeConfig,
    *,
    reserved_tokens: float,
    minimum_tokens: int,
) -> tuple[ReplicaConfig, MemoryBreakdown, int, float]:
    """The replica with a speculative proposer: its weights and KV come out of the KV cache, and the replica's
    steps verify ``spec.draft_tokens + 1`` tokens (``cfg.speculative``). Returns (config, memory, KV-limited
    sequences, draft weight bytes per GPU); raises when the cache left holds fewer than ``minimum_tokens``.
    Used by the planner (``estimate_variant``) and by ``estimate``, so both see the same replica."""
    kv_bytes = memory.kv_cache_gib * GIB
    draft_w, draft_kv = draft_memory_per_gpu(
        cfg.model, spec, precision=cfg.precision, kv_precision=cfg.kv_precision, tp=cfg.tp
    )
    left = kv_bytes - draft_w
    # per GPU, then over the attention-DP groups, each caching its own sequences (as core.memory.estimate_memory)
    per_group = int(left // (memory.kv_bytes_per_token_per_gpu + draft_kv)) if left > 0 else 0
    tokens = per_group * max(1, cfg.attention_dp)
    if per_group < minimum_tokens:
        raise InfeasibleError(
            f"with the speculative proposer's weights and KV, the KV cache holds {per_group} tokens"
            + (" per attention-DP group" if cfg.attention_dp > 1 else "")
            + f" at TP={cfg.tp} PP={cfg.pp} on {cfg.gpu.name}, less than one {minimum_tokens}-token sequence"
        )
    kv_limited = int(tokens // reserved_tokens)
    memory = replace(memory, kv_cache_gib=left / GIB, kv_capacity_tokens=tokens)
    cfg = replace(cfg, speculative=spec, max_sequences=max(1, min(kv_limited, cfg.max_sequences)))
    return cfg, memory, kv_limited, draft_w


def _estimate_at(
    cfg: ReplicaConfig,
    memory: MemoryBreakdown,
    kv_limited: int,
    *,
    workload: Workload,
    slo: SLO,
    settings: PlanSettings,
    cached: float,
    agent: AgentShape | None,
    task_slo_ms: float | None,
) -> ReplicaEstimate:
    """``inference.estimate_replica``'s capacity search with cached prompt tokens and a task SLO."""

    def violation(point: OperatingPoint) -> str | None:
        if (missed := slo_violation(point, slo)) is not None:
            return missed
        if (
            agent is not None
            and task_slo_ms is not None
            and task_latency_s(agent, ttft_s=point.ttft_s, itl_s=point.itl_s) * 1e3 > task_slo_ms
        ):
            return "task-latency"
        return None

    return slo_capacity(
        cfg,
        memory,
        kv_limited,
        settings,
        input_tokens=workload.input_tokens,
        output_tokens=workload.output_tokens,
        violation=violation,
        slo=slo,
        cached_input_tokens=cached,
    )


def estimate_variant(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int,
    workload: Workload,
    slo: SLO,
    settings: PlanSettings,
    variant: ServingVariant,
    ep: int = 1,
    attention_dp: int = 1,
) -> tuple[ReplicaEstimate, AgentDetail]:
    """One configuration under the variant: memory, cache fixed point, SLO-limited concurrency."""
    agent = variant.agent
    flow = token_flow(agent) if agent is not None else None
    reusable = flow.task_reusable_tokens + flow.shared_reusable_tokens if flow and variant.prefix_caching else 0.0
    task_slo = variant.task_slo_ms if agent is not None else None
    if variant.speculative is None and reusable <= 0.0 and task_slo is None:
        est = estimate_replica(
            model, gpu, efficiency, precision=precision, kv_precision=kv_precision, tp=tp, pp=pp, workload=workload,
            slo=slo, settings=settings, ep=ep, attention_dp=attention_dp,
        )  # fmt: skip
        return est, _detail(flow, agent, est, None)
    cfg, memory, kv_limited = replica_config(
        model, gpu, efficiency, precision=precision, kv_precision=kv_precision, tp=tp, pp=pp, workload=workload,
        settings=settings, ep=ep, attention_dp=attention_dp,
    )  # fmt: skip
    draft_w = 0.0
    if variant.speculative is not None:
        cfg, memory, kv_limited, draft_w = add_proposer(
            cfg,
            memory,
            kv_limited,
            variant.speculative,
            reserved_tokens=settings.memory.kv_tokens_per_sequence(workload.input_tokens, workload.output_tokens),
            minimum_tokens=settings.context_window,
        )

    def run(cached: float) -> ReplicaEstimate:
        return _estimate_at(
            cfg, memory, kv_limited, workload=workload, slo=slo, settings=settings, cached=cached,
            agent=agent, task_slo_ms=task_slo,
        )  # fmt: skip

    def outcome(est: ReplicaEstimate) -> CacheOutcome | None:
        if agent is None or flow is None:
            return None
        if variant.prefix_cache_gib is not None:
            cache_tokens = variant.prefix_cache_gib * GIB / memory.kv_bytes_per_token_per_gpu
        else:
            running = est.capacity.batch * (flow.mean_input_tokens + agent.output_tokens / 2.0)
            cache_tokens = memory.kv_capacity_tokens - running
        return cache_outcome(
            flow, agent, cache_tokens=cache_tokens, calls_per_s=est.capacity.requests_per_s,
            enabled=variant.prefix_caching,
        )  # fmt: skip

    if reusable <= 0.0:
        est = run(0.0)
        return est, _detail(flow, agent, est, outcome(est), draft_w)
    est = run(reusable)
    got = outcome(est)
    if got is not None and got.cached_tokens_per_call >= reusable - 1e-9:
        return est, _detail(flow, agent, est, got, draft_w)
    lo, hi = 0.0, reusable
    best = run(0.0)
    for _ in range(12):
        mid = (lo + hi) / 2.0
        trial = run(mid)
        found = outcome(trial)
        if found is not None and found.cached_tokens_per_call >= mid:
            lo, best = mid, trial
        else:
            hi = mid
    return best, _detail(flow, agent, best, outcome(best), draft_w, cached=lo)


def _detail(
    flow: TokenFlow | None,
    agent: AgentShape | None,
    est: ReplicaEstimate,
    cache: CacheOutcome | None,
    draft_w: float = 0.0,
    cached: float | None = None,
) -> AgentDetail:
    if cache is not None and cached is not None and flow is not None and flow.mean_input_tokens > 0:
        # report the hit rate the plan uses (the fixed point's sustainable side)
        cache = replace(cache, cached_tokens_per_call=cached, hit_rate=cached / flow.mean_input_tokens)
    latency = None
    if agent is not None:
        latency = task_latency_s(agent, ttft_s=est.capacity.ttft_s, itl_s=est.capacity.itl_s)
    return AgentDetail(flow, cache, latency, draft_w / GIB)


def best_variant_for_gpu(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    *,
    precision: Precision,
    kv_precision: Precision,
    workload: Workload,
    slo: SLO,
    settings: PlanSettings,
    prices: list[InstancePrice],
    pricing: str,
    variant: ServingVariant,
    tp: int | None = None,
    pp: int | None = None,
    ep: int | None = None,
    attention_dp: int | None = None,
) -> VariantCandidate:
    """``search.best_for_gpu`` with the variant: the cheapest SLO-meeting layout for one GPU."""

    def option(o: Layout) -> VariantCandidate:
        est, detail = estimate_variant(
            model, gpu, efficiency, precision=precision, kv_precision=kv_precision, tp=o.tp, pp=o.pp,
            workload=workload, slo=slo, settings=settings, variant=variant, ep=o.ep, attention_dp=o.attention_dp,
        )  # fmt: skip
        return VariantCandidate(priced_candidate(est, workload, settings, prices, pricing), detail)

    return cheapest_sharding(
        sharding_options(model, gpu, tp, pp, ep, attention_dp),
        option,
        lambda found: found.candidate,
        none_valid=f"no valid sharding of {model.name} on {gpu.name}",
    )
