"""The inference capacity plan: the seed's LLMCapacityPlan sections with gpucast's additions.

``to_dict()`` is exactly what ``--json`` prints and ``--output`` writes; its JSON Schema is
``schemas/inference-plan.schema.json`` (tests validate against it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .jsonable import dataclass_dict


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


@dataclass
class ThroughputMetrics:
    tps_per_replica: float  # output tokens/s of one replica at the planned operating point
    total_tps_capacity: float  # output tokens/s of max replicas
    max_rps_capacity: float  # requests/s of max replicas at the planned operating point
    estimated_ttft_ms: float
    estimated_itl_ms: float
    meets_latency_sla: bool
    rps_per_replica: float
    estimated_e2e_latency_ms: float
    concurrency_per_replica: float
    bound: str  # memory | compute: what limits a decode step
    concurrency_limit: str  # what stops concurrency from growing: itl, ttft, e2e, kv-cache, ...
    max_tps_per_replica: float  # output tokens/s with every KV slot busy (offline max throughput)


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


@dataclass
class Alternative:
    gpu_type: str
    tensor_parallel: int
    pipeline_parallel: int
    total_gpus: int
    monthly_gpu_cost: float | None
    meets_latency_sla: bool


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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict; non-finite numbers become null."""
        return dataclass_dict(self)
