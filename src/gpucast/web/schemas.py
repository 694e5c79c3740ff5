"""Request bodies of the JSON API, as Pydantic models: the shape and numeric ranges are checked at the edge
(a clear 422 naming the field) before the same values reach the dataclasses of :mod:`gpucast.inputs`, whose
own validation still runs. Bodies mirror the sections of the seed's JSON config (``workload``, ``model``,
``gpu``, ``serving``, ``training``), so a config file's sections can be posted as they are.

Defaults shown here are documentation only: handlers pass on the fields the client *set*
(``exclude_unset``), so the dataclasses stay the one source of defaults (a test pins that they agree).
Unknown keys are refused (``extra="forbid"``), like unknown keys in a config file. A server-side path
(``model_config_path``) is deliberately not accepted.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    def given(self) -> dict[str, Any]:
        """The fields the client set (so the dataclass defaults apply to the rest)."""
        return self.model_dump(exclude_unset=True)


class WorkloadBody(_Body):
    requests_per_second: float = Field(gt=0, le=1e7)
    avg_input_tokens: int = Field(gt=0, le=10_000_000)
    avg_output_tokens: int = Field(gt=0, le=1_000_000)
    peak_load_multiplier: float = Field(1.5, ge=1, le=100)
    growth_rate: float = Field(0.0, ge=0, le=1000, description="percent over the planning horizon")


class ModelBody(_Body):
    model_name: str | None = Field(None, min_length=1, max_length=200, description="catalog model (GET /models)")
    model_size_billions: float | None = Field(None, gt=0, le=2000, description="seed: a representative dense model")
    precision: str = Field("FP16", max_length=10)
    context_window: int = Field(4096, gt=0, le=10_000_000)
    batch_size: int | None = Field(None, gt=0, le=100_000, description="cap on concurrent sequences per replica")
    kv_precision: str | None = Field(None, max_length=10)


class GPUBody(_Body):
    gpu_type: str | None = Field(None, min_length=1, max_length=100, description="None: the cheapest priced GPU")
    target_gpu_utilization: float = Field(0.7, gt=0, le=1)


class ServingBody(_Body):
    cloud: str = Field("aws", max_length=50)
    pricing: str = Field("on-demand", max_length=50)
    ttft_slo_ms: float = Field(2000.0, gt=0, le=1e7)
    itl_slo_ms: float = Field(100.0, gt=0, le=1e6)
    target_latency_ms: float | None = Field(None, gt=0, le=1e8)
    safety_margin: float = Field(0.25, ge=0, le=10)
    min_replicas: int = Field(2, gt=0, le=100_000)
    tp: int | None = Field(None, gt=0, le=64)
    pp: int | None = Field(None, gt=0, le=64)
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_num_seqs: int = Field(256, gt=0, le=100_000)
    engine: str = Field("vllm", max_length=50)
    speculative_tokens: int = Field(0, ge=0, le=16, description="draft tokens per round; 0 = no speculative decoding")
    acceptance_rate: float | None = Field(None, ge=0, le=1, description="per-token acceptance (with speculation)")
    draft_model: str = Field("mtp", max_length=100, description="'mtp' (an MTP/EAGLE head) or a catalog model")
    disaggregation: bool = Field(False, description="also size separate prefill and decode pools")
    kv_transfer_gb_s: float | None = Field(None, gt=0, le=1e5, description="prefill->decode KV link per GPU, GB/s")


class InferenceBody(_Body):
    workload: WorkloadBody
    model: ModelBody
    gpu: GPUBody = Field(default_factory=GPUBody.model_construct)
    serving: ServingBody = Field(default_factory=ServingBody.model_construct)


class CompareBody(InferenceBody):
    clouds: list[str] | None = Field(None, max_length=20)
    precisions: list[str] | None = Field(None, max_length=10)
    gpu_types: list[str] | None = Field(None, max_length=50)
    top: int | None = Field(None, gt=0, le=1000, description="only the N cheapest rows")


class TrainingSection(_Body):
    """The seed's ``training`` section plus gpucast's training options (one section, as in config files)."""

    dataset_size_tokens: int = Field(gt=0, le=10**15)
    sequence_length: int = Field(gt=0, le=10_000_000)
    num_epochs: int = Field(gt=0, le=10_000)
    global_batch_size: int = Field(gt=0, le=10_000_000)
    micro_batch_size: int = Field(1, gt=0, le=100_000)
    gradient_accumulation_steps: int = Field(1, gt=0, le=100_000)
    optimizer_type: Literal["Adam", "AdamW", "Adafactor", "SGD"] = "AdamW"
    gradient_checkpointing: bool = False
    method: Literal["full", "lora", "qlora"] = "full"
    lora_rank: int = Field(16, gt=0, le=4096)
    lora_targets: list[str] = Field(default_factory=lambda: ["q", "k", "v", "o"], min_length=1, max_length=7)
    optimizer_8bit: bool = False
    zero: int | None = Field(None, ge=0, le=3)
    recompute: Literal["none", "selective", "full"] | None = None
    flash_attention: bool = True
    tp: int | None = Field(None, gt=0, le=100_000)
    pp: int | None = Field(None, gt=0, le=100_000)
    dp: int | None = Field(None, gt=0, le=100_000)
    num_gpus: int | None = Field(None, gt=0, le=100_000)
    deadline_hours: float | None = Field(None, gt=0, le=1e6)
    optimize: Literal["speed", "cost"] = "speed"
    framework: str = Field("default", max_length=50)


class TrainingServingBody(_Body):
    """Where a training run is priced (the ``serving`` section's cloud and pricing, as in config files)."""

    cloud: str = Field("aws", max_length=50)
    pricing: str = Field("on-demand", max_length=50)


class TrainingBody(_Body):
    training: TrainingSection
    model: ModelBody
    gpu: GPUBody = Field(default_factory=GPUBody.model_construct)
    serving: TrainingServingBody = Field(default_factory=TrainingServingBody.model_construct)


class EstimateBody(_Body):
    """One fixed deployment and load (the fields of :class:`gpucast.estimate.EstimateRequest`)."""

    model: Name
    gpu: str = Field(min_length=1, max_length=100)
    num_gpus: int = Field(gt=0, le=100_000)
    input_tokens: float = Field(gt=0, le=10_000_000)
    output_tokens: float = Field(gt=0, le=1_000_000)
    load: Literal["concurrency", "request-rate", "max-throughput", "static-batch"] = "max-throughput"
    load_value: float | None = Field(None, gt=0, le=1e7)
    tp: int | None = Field(None, gt=0, le=64)
    pp: int = Field(1, gt=0, le=64)
    precision: str = Field("BF16", max_length=10)
    kv_precision: str | None = Field(None, max_length=10)
    engine: str = Field("vllm", max_length=50)
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1)
    max_model_len: int | None = Field(None, gt=0, le=10_000_000)
    max_num_seqs: int | None = Field(None, gt=0, le=1_000_000)


class ServiceBody(_Body):
    """A new service (the flags of ``gpucast service add``)."""

    name: Name
    team: Name
    environment: Literal["prod", "staging", "dev"]
    criticality: Literal["tier1", "tier2", "tier3"]
    cloud: str = Field(min_length=1, max_length=50)
    region: str = Field(min_length=1, max_length=100)
    owner: str | None = Field(None, max_length=200)
    allowed_instance_types: list[str] | None = Field(None, max_length=50)
    model: str | None = Field(None, max_length=200)
    precision: str | None = Field(None, max_length=10)
    input_tokens: int | None = Field(None, gt=0, le=10_000_000)
    output_tokens: int | None = Field(None, gt=0, le=10_000_000)
    ttft_slo_ms: float | None = Field(None, gt=0, le=1e7)
    itl_slo_ms: float | None = Field(None, gt=0, le=1e7)
    tags: list[str] | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=10_000)


class CapacityRequestBody(_Body):
    """A new capacity request (the flags of ``gpucast request create``); the requester is the token's user."""

    service: Name
    gpu_type: str = Field(min_length=1, max_length=100)
    count: int = Field(gt=0, le=1_000_000)
    region: str = Field(min_length=1, max_length=100)
    justification: str = Field(min_length=1, max_length=10_000)
    plan_id: int | None = Field(None, gt=0)
    monthly_cost: float | None = Field(None, ge=0, le=1e12)
    comment: str | None = Field(None, max_length=10_000)


class TransitionBody(_Body):
    comment: str | None = Field(None, max_length=10_000)
