"""Request bodies of the JSON API, as Pydantic models: the shape and numeric ranges are checked at the edge
(a clear 422 naming the field) before the same values reach the dataclasses of :mod:`gpucast.inputs.types`, whose
own validation still runs. Bodies mirror the sections of the seed's JSON config (``workload``, ``model``,
``gpu``, ``serving``, ``training``), so a config file's sections can be posted as they are.

Defaults shown here are documentation only: handlers pass on the fields the client *set*
(``exclude_unset``), so the dataclasses stay the one source of defaults (a test pins that they agree).
Unknown keys are refused (``extra="forbid"``), like unknown keys in a config file. A server-side path
(``model_config_path``) is deliberately not accepted.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..catalog.length_profiles import length_profile_names, nearest_profile_hint, profile_key
from ..core.percentiles import check_percentile
from ..inputs.numbers import fold_case
from ..inputs.training import optimizer_name

MAX_ID = 2**63 - 1  # the largest row id the databases store (gpucast.store.models.MAX_ID; no SQLAlchemy import here)

Name = Annotated[str, Field(min_length=1, max_length=200)]


def _profile_name(value: str) -> str:
    """A built-in length profile only: a server never opens a path a client names (like ``model_config_path``)."""
    names, key = length_profile_names(), profile_key(value)
    if key not in names:
        hint = nearest_profile_hint(value)
        raise ValueError(f"{value!r} is not one of {', '.join(names)} (files are accepted by the CLI only){hint}")
    return key


ProfileName = Annotated[
    str,
    Field(min_length=1, max_length=100, description="request-length profile: " + ", ".join(length_profile_names())),
    AfterValidator(_profile_name),
]


class _Body(BaseModel):
    # a non-finite number ("nan", "inf", 1e999) is refused as such, not by the range check it happens to fail
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)

    def given(self) -> dict[str, Any]:
        """The fields the client set (so the dataclass defaults apply to the rest)."""
        return self.model_dump(exclude_unset=True)


class WorkloadBody(_Body):
    """Required fields are checked by :meth:`InferenceBody.missing`: with an ``agent`` section the request rate and
    prompt length are derived (and must be absent), and the output length may come from the agent section."""

    requests_per_second: float | None = Field(None, gt=0, le=1e7, description="required unless agent is given")
    avg_input_tokens: int | None = Field(None, gt=0, le=10_000_000, description="required unless agent is given")
    avg_output_tokens: int | None = Field(None, gt=0, le=1_000_000, description="output tokens per request (call)")
    peak_load_multiplier: float = Field(1.5, ge=1, le=100)
    growth_rate: float = Field(0.0, ge=0, le=1000, description="percent over the planning horizon")
    length_profile: ProfileName | None = None  # its means replace avg_input_tokens / avg_output_tokens


class ModelBody(_Body):
    model_name: str | None = Field(None, min_length=1, max_length=200, description="catalog model (GET /models)")
    model_size_billions: float | None = Field(None, gt=0, le=2000, description="seed: a representative dense model")
    precision: str | None = Field(
        None, max_length=10, description="default: the published checkpoint's (FP8 for DeepSeek-R1/V3), else FP16"
    )
    context_window: int | None = Field(
        None, gt=0, le=10_000_000, description="max_model_len; default 4096, or input + output tokens when longer"
    )
    batch_size: int | None = Field(None, gt=0, le=100_000, description="cap on concurrent sequences per replica")
    kv_precision: str | None = Field(None, max_length=10)


class GPUBody(_Body):
    gpu_type: str | None = Field(None, min_length=1, max_length=100, description="None: the cheapest priced GPU")
    target_gpu_utilization: float = Field(0.7, gt=0, le=1)
    gpu_types: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="without gpu_type: choose among these GPUs only (a service's allowed types)",
    )


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
    ep: int | None = Field(None, gt=0, le=256, description="MoE expert-parallel groups among the TP GPUs")
    attention_dp: int | None = Field(None, gt=0, le=256, description="MoE attention data-parallel groups")
    slo_percentile: str = Field(
        "99", description="statistic the latency targets bound: mean, 50, 90, 95 or 99 (p99, as SLOs are stated)"
    )
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1, description="default: the engine's own")
    max_num_seqs: int | None = Field(None, gt=0, le=100_000, description="default: the engine's own")
    require_slo: bool = Field(
        True, description="true: SLOs no load can meet answer 422 with the lowest latencies reached and what would "
        "meet them; false: the closest plan, sized at saturation, with meets_latency_sla false"
    )  # fmt: skip
    engine: str = Field("vllm", max_length=50)
    engine_version: str | None = Field(
        None, max_length=50, description="the engine's release, e.g. '0.7.3' (default: the current one); releases "
        "before the engine's MLA/MoE kernels are modelled with that era's fitted factors"
    )  # fmt: skip
    speculative_tokens: int = Field(0, ge=0, le=16, description="draft tokens per round; 0 = no speculative decoding")
    acceptance_rate: float | None = Field(None, ge=0, le=1, description="per-token acceptance (with speculation)")
    draft_model: str = Field("mtp", max_length=100, description="'mtp' (an MTP/EAGLE head) or a catalog model")
    disaggregation: bool = Field(False, description="also size separate prefill and decode pools")
    kv_transfer_gb_s: float | None = Field(None, gt=0, le=1e5, description="prefill->decode KV link per GPU, GB/s")
    clouds: str | list[str] | None = Field(
        None, max_length=200, description="providers to search: a list, a comma-separated string or 'all' "
        "(default: `cloud` alone); the plan names the provider, region and reliability class it chose"
    )  # fmt: skip
    region: str | None = Field(None, max_length=100, description="only prices of this region")
    criticality: str | None = Field(
        None, max_length=50, description="the service's tier (criticality.toml): tier1/tier2 never get spot or "
        "marketplace capacity"
    )  # fmt: skip
    price_max_age_days: int = Field(90, gt=0, le=36500, description="warn when the plan's prices are older")

    # a number too ("slo_percentile": 99, as --config reads it: "Input should be a valid string" before)
    _percentile_name = field_validator("slo_percentile", mode="before")(check_percentile)


class AgentBody(_Body):
    """The config's ``agent`` section (``gpucast inference --tasks-per-second ...``); ranges as in
    :class:`gpucast.inputs.agent.AgentWorkloadInput`, whose validation still runs."""

    tasks_per_second: float = Field(gt=0, le=1e7)
    calls_per_task: float = Field(1.0, ge=1, le=10_000, description="mean LLM calls per task")
    shared_prefix_tokens: int = Field(0, ge=0, le=10_000_000, description="system prompt + tool definitions")
    context_growth_tokens: int = Field(0, ge=0, le=10_000_000, description="new tokens per call (tool results)")
    output_tokens_per_call: int | None = Field(None, gt=0, le=1_000_000, description="default: avg_output_tokens")
    think_time_s: float = Field(0.0, ge=0, le=1e6, description="mean seconds between a task's calls")
    calls_distribution: Literal["fixed", "geometric"] = "fixed"
    max_calls_per_task: int | None = Field(None, gt=0, le=1_000_000)
    prefix_caching: bool = True
    prefix_cache_gib: float | None = Field(None, gt=0, le=1e6, description="KV memory per GPU for cached prefixes")
    task_latency_slo_ms: float | None = Field(None, gt=0, le=1e9, description="time to complete a task")

    @model_validator(mode="after")
    def _first_call_has_a_prompt(self) -> AgentBody:
        if self.shared_prefix_tokens + self.context_growth_tokens <= 0:
            raise ValueError(
                "shared_prefix_tokens + context_growth_tokens must be at least 1 (the first call's prompt)"
            )
        return self


class InferenceBody(_Body):
    workload: WorkloadBody | None = None  # required unless agent is given (see missing())
    model: ModelBody
    gpu: GPUBody = Field(default_factory=GPUBody.model_construct)
    serving: ServingBody = Field(default_factory=ServingBody.model_construct)
    agent: AgentBody | None = Field(None, description="an agent workload: calls/s and prompt per call are derived")

    def missing(self) -> list[dict[str, Any]]:
        """Request-validation errors (FastAPI's shape) for the workload fields the agent section decides: without
        ``agent`` the request rate and prompt length are required (today's messages); with it they are derived and
        must be absent, and the output length comes from ``workload`` or ``agent.output_tokens_per_call``."""
        given = self.workload.given() if self.workload is not None else {}
        if self.agent is None:
            if self.workload is None:
                return [_error("missing", ("workload",), "Field required")]
            keys: tuple[str, ...] = ("requests_per_second", "avg_input_tokens", "avg_output_tokens")
            if given.get("length_profile") is not None:  # the profile's means are the average request
                keys = ("requests_per_second",)
            return [_error("missing", ("workload", k), "Field required") for k in keys if given.get(k) is None]
        derived = [k for k in ("requests_per_second", "avg_input_tokens") if k in given]
        if derived:
            return [_error("value_error", ("workload", derived[0]), "is derived from the agent section (tasks x calls "
                           "per task, mean prompt per call); leave it out")]  # fmt: skip
        if given.get("avg_output_tokens") is None and self.agent.output_tokens_per_call is None:
            return [_error("missing", ("workload", "avg_output_tokens"), "Field required (output tokens per call; or "
                           "agent.output_tokens_per_call)")]  # fmt: skip
        return []

    def sections(self) -> dict[str, Any]:
        """The config sections the client set, as a config file holds them (``agent`` still separate)."""
        out: dict[str, Any] = {"workload": self.workload.given() if self.workload else {}, "model": self.model.given(),
                               "gpu": self.gpu.given(), "serving": self.serving.given()}  # fmt: skip
        if self.agent is not None:
            out["agent"] = self.agent.given()
        return out


NonEmpty = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]


def _error(kind: str, location: tuple[str, ...], message: str) -> dict[str, Any]:
    return {"type": kind, "loc": ("body", *location), "msg": message, "input": None}


class CompareBody(InferenceBody):
    # an empty list (or name) ranked everything with a 200 while `compare --gpus ''` is refused (QA 2026-12-07)
    clouds: list[NonEmpty] | None = Field(None, min_length=1, max_length=20)
    precisions: list[NonEmpty] | None = Field(None, min_length=1, max_length=10)
    gpu_types: list[NonEmpty] | None = Field(None, min_length=1, max_length=50)
    top: int | None = Field(None, gt=0, le=1000, description="only the N cheapest rows")


class TrainingSection(_Body):
    """The seed's ``training`` section plus gpucast's training options (one section, as in config files)."""

    dataset_size_tokens: int = Field(gt=0, le=10**15)
    sequence_length: int = Field(gt=0, le=10_000_000)
    num_epochs: int = Field(gt=0, le=10_000)
    global_batch_size: int = Field(gt=0, le=10_000_000)
    micro_batch_size: int | None = Field(None, gt=0, le=100_000, description="pinned when given; default: searched")
    gradient_accumulation_steps: int | None = Field(None, gt=0, le=100_000)
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
    # the CLI's --cp, --vpp, --ep, --no-sequence-parallel and --fp8-recipe (TrainingOptions), checked there
    cp: int = Field(1, gt=0, le=100_000, description="context-parallel ranks (the sequence split over them)")
    vpp: int = Field(1, gt=0, le=1_000, description="virtual pipeline stages per PP rank (interleaved 1F1B)")
    ep: int = Field(1, gt=0, le=100_000, description="expert-parallel ranks (MoE)")
    sequence_parallel: bool = True
    fp8_recipe: str | None = Field(None, max_length=20, description="delayed, current or mxfp8 (Blackwell); FP8 only")
    master_weights: Literal["fp32", "bf16"] = Field(
        "fp32", description="fp32: FP32 master weights and optimizer states (mixed precision); bf16: pure BF16"
    )

    # names in any case ("LoRA", "Cost", "adamw"), spelled as the CLI's TrainingInput/TrainingOptions spell them
    _any_case = field_validator("method", "recompute", "optimize", mode="before")(fold_case)
    _optimizer_case = field_validator("optimizer_type", mode="before")(optimizer_name)


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
    """One fixed deployment and load (the fields of :class:`gpucast.planning.estimate.EstimateRequest`)."""

    model: Name
    gpu: str = Field(min_length=1, max_length=100)
    num_gpus: int = Field(gt=0, le=100_000)
    input_tokens: int | None = Field(
        None, gt=0, le=10_000_000, description="a whole number (500.0 is read as 500); required without length_profile"
    )
    output_tokens: int | None = Field(
        None, gt=0, le=1_000_000, description="a whole number (500.0 is read as 500); required without length_profile"
    )
    length_profile: ProfileName | None = None
    load: Literal["concurrency", "request-rate", "max-throughput", "static-batch", "slo-capacity"] = "max-throughput"
    load_value: float | None = Field(None, gt=0, le=1e7)
    tp: int | None = Field(None, gt=0, le=64)
    pp: int = Field(1, gt=0, le=64)
    ep: int = Field(1, gt=0, le=256, description="expert-parallel groups of a MoE model among the TP GPUs")
    attention_dp: int = Field(1, gt=0, le=256, description="attention data-parallel groups among the TP GPUs")
    precision: str | None = Field(
        None, max_length=10, description="default: the published checkpoint's (FP8 for DeepSeek-R1/V3), else BF16"
    )
    kv_precision: str | None = Field(None, max_length=10)
    engine: str = Field("vllm", max_length=50)
    engine_version: str | None = Field(None, max_length=50, description="the engine's release (default: current)")
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1)
    max_model_len: int | None = Field(None, gt=0, le=10_000_000)
    max_num_seqs: int | None = Field(None, gt=0, le=1_000_000)
    speculative_tokens: int = Field(0, ge=0, le=16, description="draft tokens per round; 0 = no speculative decoding")
    acceptance_rate: float | None = Field(None, ge=0, le=1, description="per-token acceptance (with speculation)")
    draft_model: str = Field("mtp", max_length=100, description="'mtp' (an MTP/EAGLE head) or a catalog model")
    cached_input_tokens: float = Field(
        0.0, ge=0, le=10_000_000, description="prompt tokens per request from the prefix cache (the rest is prefilled)"
    )
    ttft_slo_ms: float | None = Field(None, gt=0, le=1e7, description="load slo-capacity: TTFT target (default 2000)")
    itl_slo_ms: float | None = Field(None, gt=0, le=1e6, description="load slo-capacity: token latency target (100)")
    slo_percentile: str | None = Field(None, max_length=10, description="load slo-capacity: mean, 50, 90, 95, 99 (99)")

    @field_validator("slo_percentile", mode="before")
    @classmethod
    def _percentile_number(cls, value: Any) -> Any:
        """A number too ("slo_percentile": 99, as the inference body and EstimateRequest take it: "Input should be a
        valid string" before); a name or a number outside the choices is refused by EstimateRequest, in its words."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return check_percentile(value)
            except ValueError:
                return str(value)
        return value

    @model_validator(mode="after")
    def _lengths(self) -> EstimateBody:
        if self.length_profile is None and (self.input_tokens is None or self.output_tokens is None):
            raise ValueError("input_tokens and output_tokens are required unless length_profile is given")
        return self

    def request_fields(self) -> dict[str, Any]:
        """The fields the client set, with placeholder lengths where the profile sets them (EstimateRequest)."""
        from ..inputs.types import check_speculation_given

        given = self.given()
        check_speculation_given(given)  # acceptance_rate without speculative_tokens: refused, as the flags are
        if self.length_profile is not None:
            given.setdefault("input_tokens", 1)
            given.setdefault("output_tokens", 1)
        return given


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
    plan_id: int | None = Field(None, gt=0, le=MAX_ID)
    monthly_cost: float | None = Field(None, ge=0, le=1e12)
    comment: str | None = Field(None, max_length=10_000)


class TransitionBody(_Body):
    comment: str | None = Field(None, max_length=10_000)
