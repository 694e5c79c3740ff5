"""The inference capacity plan: the seed's LLMCapacityPlan sections with gpucast's additions.

``to_dict()`` is exactly what ``--json`` prints and ``--output`` writes; its JSON Schema is
``schemas/inference-plan.schema.json`` (tests validate against it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.disaggregation import DisaggregatedPlan
from ..jsonable import dataclass_dict


@dataclass
class GPUResources:
    gpu_memory_per_replica_gb: float  # memory the replica uses (weights + KV + activations + overhead), GB
    min_gpus_per_replica: int
    recommended_gpu_type: str
    min_replicas: int
    max_replicas: int
    total_gpus: int  # GPUs to provision: max replicas x GPUs per replica
    tensor_parallel: int
    pipeline_parallel: int
    gpu_memory_gb: float  # one GPU's memory
    weights_gb_per_gpu: float
    kv_cache_gb_per_gpu: float
    activations_gb_per_gpu: float
    overhead_gb_per_gpu: float
    kv_cache_tokens: int  # KV capacity of one replica, tokens
    kv_bytes_per_token: float  # whole model, all layers
    max_concurrent_sequences: int  # per replica, from KV cache and engine caps
    expert_parallel: int = 1  # MoE: expert-parallel groups among the TP GPUs (1 = experts tensor-parallel)
    attention_data_parallel: int = 1  # MoE: attention data-parallel groups among the TP GPUs (1 = none)
    # the per-step token budget the plan chunked prefills by (vLLM max_num_batched_tokens, SGLang
    # chunked_prefill_size...): what its export launches with; 0 in plan files written before the field
    max_batched_tokens: int = 0


@dataclass
class ThroughputMetrics:
    """Capacity at the SLOs (the largest request rate one replica serves within them) and the latencies at the
    planned peak (peak RPS over max replicas) — the numbers ``gpucast estimate --request-rate`` gives there."""

    tps_per_replica: float  # output tokens/s of one replica at its capacity (the largest rate meeting the SLOs)
    total_tps_capacity: float  # output tokens/s of max replicas
    max_rps_capacity: float  # requests/s of max replicas, each at its capacity
    estimated_ttft_ms: float  # at the planned peak load (planned_rps_per_replica)
    estimated_itl_ms: float  # at the planned peak load
    meets_latency_sla: bool  # False: no load meets the SLOs (the fleet is then sized on saturation throughput)
    rps_per_replica: float  # capacity at the SLOs: the largest open-loop request rate meeting every target
    estimated_e2e_latency_ms: float  # at the planned peak load
    concurrency_per_replica: float  # requests in flight at the capacity
    bound: str  # memory | compute: what limits a decode step
    concurrency_limit: str  # what stops the rate from growing: itl, ttft, e2e, kv-cache, ... (infeasible: missed SLO)
    max_tps_per_replica: float  # output tokens/s with every KV slot busy (offline max throughput)
    planned_rps_per_replica: float = 0.0  # peak RPS / max replicas: the load each replica carries at peak
    planned_concurrency_per_replica: float = 0.0  # requests in flight at the planned peak load
    capacity_ttft_ms: float = 0.0  # TTFT at the capacity (the SLO-limited edge)
    capacity_itl_ms: float = 0.0  # ITL at the capacity
    lowest_ttft_ms: float = 0.0  # a request alone: the lowest TTFT this configuration reaches
    lowest_itl_ms: float = 0.0  # a request alone: the lowest ITL
    # the statistic the SLOs bound (inputs.slo_percentile, e.g. p99), where it is a percentile; None at "mean" (the
    # means above are then what the SLOs bound): TTFT and per-request TPOT at the planned peak and at the capacity
    ttft_at_slo_percentile_ms: float | None = None
    tpot_at_slo_percentile_ms: float | None = None
    capacity_ttft_at_slo_percentile_ms: float | None = None
    capacity_tpot_at_slo_percentile_ms: float | None = None


@dataclass
class ScalingRecommendation:
    recommended_min_replicas: int
    recommended_max_replicas: int
    auto_scale_rps_threshold: float  # per replica: scale out above this
    auto_scale_gpu_util_threshold: float
    auto_scale_latency_threshold_ms: float  # TTFT
    auto_scale_queue_depth_threshold: float  # running+waiting requests per replica
    auto_scale_kv_cache_usage_threshold: float  # fraction of KV cache in use
    average_rps: float
    peak_rps: float


@dataclass
class CostEstimate:
    monthly_gpu_cost: float  # max replicas, 730 h
    cost_per_million_tokens: float  # (input+output) at average load, fleet at max replicas
    monthly_total_cost: float
    cloud: str
    region: str
    pricing: str
    instance_type: str
    instances: int
    gpu_hourly_cost: float
    monthly_cost_at_min_replicas: float
    cost_per_million_output_tokens: float
    price_source: str
    price_as_of: str
    # issue 28: the capacity's reliability class (on-demand, reserved, spot/interruptible, marketplace), how old the
    # price is, and for a marketplace the monthly cost at the high end of its offer range
    reliability: str = ""
    price_age_days: int | None = None
    price_max_age_days: int = 90
    price_stale: bool = False
    monthly_gpu_cost_high: float | None = None


@dataclass
class Alternative:
    gpu_type: str
    tensor_parallel: int
    pipeline_parallel: int
    total_gpus: int
    monthly_gpu_cost: float | None
    meets_latency_sla: bool
    expert_parallel: int = 1
    attention_data_parallel: int = 1


@dataclass
class AgentMetrics:
    """An agent workload as the plan serves it (``core/agent.py``): calls, context, prefix cache, task latency."""

    tasks_per_second: float
    calls_per_task: float  # mean of the calls-per-task distribution
    calls_distribution: str
    calls_per_second: float  # tasks/s x calls per task: the LLM request rate planned for
    mean_input_tokens_per_call: float
    first_call_input_tokens: int
    last_call_input_tokens: int  # the longest task's last call
    max_context_tokens: int  # last call's prompt + output
    output_tokens_per_call: int
    think_time_s: float
    prefix_caching: bool
    prefix_cache_hit_rate: float  # cached prompt tokens / prompt tokens, 0-1
    reusable_fraction: float  # hit rate with an unbounded cache (upper bound)
    cached_tokens_per_call: float
    prefilled_tokens_per_call: float
    prefix_cache_tokens_per_replica: float  # KV tokens available to cached prefixes
    task_context_survival: float  # P(a task's context is still cached after its think time)
    task_latency_ms: float  # sum of (TTFT + (O-1) ITL) over the calls + think times
    task_latency_slo_ms: float | None
    meets_task_slo: bool
    tasks_per_second_per_replica: float


@dataclass
class SpeculativeMetrics:
    """Speculative decoding at the planned batch and at batch 1, against the same replica without it."""

    draft_tokens: int
    acceptance_rate: float
    proposer: str
    tokens_per_step: float  # (1 - a^(k+1)) / (1 - a)
    draft_weights_gb_per_gpu: float
    itl_ms_without: float  # planned batch, decode step only
    itl_ms_with: float
    itl_speedup_at_planned_batch: float
    itl_speedup_at_batch_1: float
    max_tps_per_replica_without: float
    max_tps_per_replica_with: float
    total_gpus_without: int | None
    helps: bool
    note: str


@dataclass
class LLMCapacityPlan:
    """What to run, how many, how fast and what it costs; ``explain`` shows the arithmetic."""

    inputs: dict[str, Any]
    model: dict[str, Any]
    gpu_resources: GPUResources
    throughput: ThroughputMetrics
    scaling: ScalingRecommendation
    cost: CostEstimate | None
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    recommendation: str = ""
    alternatives: list[Alternative] = field(default_factory=list)
    explain: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    kind: str = "inference"
    agent: AgentMetrics | None = None
    speculative: SpeculativeMetrics | None = None
    disaggregation: DisaggregatedPlan | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; non-finite numbers become null."""
        return dataclass_dict(self)
