"""The training capacity plan: the seed's TrainingCapacityPlan sections plus gpucast's additions.

``to_dict()`` is what ``--json`` prints and ``--output`` writes for training plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..jsonable import dataclass_dict


@dataclass
class TrainingGPUResources:
    gpu_memory_per_gpu_gb: float  # peak per GPU for the chosen parallelism
    model_weights_gb: float  # per GPU
    gradients_gb: float
    optimizer_states_gb: float
    activations_gb: float
    buffers_gb: float
    required_gpus: int
    recommended_gpu_type: str
    gpu_memory_gb: float  # one GPU's memory
    fits: bool
    headroom_gb: float
    nodes: int
    gpus_per_node: int


@dataclass
class Parallelism:
    tensor_parallel: int
    pipeline_parallel: int
    data_parallel: int
    zero_stage: int
    micro_batch_size: int
    gradient_accumulation_steps: int
    recompute: str
    flash_attention: bool
    context_parallel: int = 1  # sequence split over CP ranks (GPUs = TP x PP x CP x DP)
    virtual_pipeline_stages: int = 1  # interleaved 1F1B stages per PP rank
    expert_parallel: int = 1  # MoE experts split over EP ranks


@dataclass
class TrainingMetrics:
    tokens_per_second_per_gpu: float
    total_tokens_per_second: float
    steps_per_epoch: int
    total_steps: int
    estimated_duration_hours: float
    estimated_duration_days: float
    mfu: float  # model FLOPs utilization (6N + attention per token), fraction
    tflops_per_gpu: float
    step_time_s: float
    flops_per_token: float


@dataclass
class TrainingCost:
    gpu_cost_per_hour: float  # the seed's name for the run's hourly price: all its instances (instances x one's price)
    total_training_cost: float  # gpu_cost_per_hour x estimated_duration_hours
    cost_per_epoch: float
    cloud: str
    region: str
    pricing: str
    instance_type: str
    instances: int
    price_source: str
    gpu_hourly_cost: float  # one GPU-hour: the instance's price / its GPUs (as CostEstimate.gpu_hourly_cost)
    price_as_of: str = ""  # when the price was read (as CostEstimate.price_as_of); "" in plans written before it


@dataclass
class TrainingCapacityPlan:
    inputs: dict[str, Any]
    model: dict[str, Any]
    gpu_resources: TrainingGPUResources
    parallelism: Parallelism
    training_metrics: TrainingMetrics
    cost: TrainingCost | None
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    recommendation: str = ""
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    kind: str = "training"

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)
