"""One fixed operating point: ``gpucast estimate`` and its Python API.

Where the planner searches for the cheapest configuration, this answers "how does this exact
deployment perform": model, GPU, number of GPUs, TP x PP, precision, request shape, and a load
(closed-loop concurrency, open-loop request rate, or max throughput), for a named engine
whose memory policy and limits come from ``engines.toml``. ``gpucast validate`` runs it on
published measurements.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..catalog import loader
from ..core.engine_era import check_engine_version, parse_engine_version
from ..core.inference import replica_config
from ..core.layout import Layout
from ..core.memory import MemorySettings, for_engine_release
from ..core.percentiles import QUANTILES, LengthProfile
from ..core.replica import ReplicaConfig
from ..core.serving import OperatingPoint, max_throughput, under_load
from ..core.tails import latency_tail
from ..core.workload import PlanSettings, Workload
from ..errors import InfeasibleError, InputError
from ..inputs.length_profile import resolve_length_profile
from ..inputs.numbers import check_fraction, check_positive, whole
from ..inputs.types import ModelConfig, parse_precision, resolve_precision
from .request import check_profile_fits, check_request_fits, engine_gpus, resolve_model_spec

LOADS = ("concurrency", "request-rate", "max-throughput", "static-batch")
DEFAULT_PRECISION = "BF16"  # `estimate`'s weights without --precision when the checkpoint is not quantized (unchanged)


@dataclass
class EstimateRequest:
    """A fixed deployment and load. ``load_value`` is requests in flight (concurrency, across all
    replicas), requests/s (request-rate, across all replicas), or the batch (static-batch). Token counts are whole
    numbers of at least 1 (a whole float such as 500.0 is taken as that int)."""

    gpu: str
    num_gpus: int
    input_tokens: int
    output_tokens: int
    load: str = "max-throughput"
    load_value: float | None = None
    model: str | None = None
    model_config: str | None = None
    tp: int | None = None
    pp: int = 1
    ep: int = 1  # expert-parallel groups among the TP GPUs (MoE, core.layout)
    attention_dp: int = 1  # attention data-parallel groups among the TP GPUs (MoE, core.layout)
    precision: str | None = None  # None: the published checkpoint's (FP8 for DeepSeek-V3/R1), else DEFAULT_PRECISION
    kv_precision: str | None = None
    engine: str = "vllm"
    # the engine release ("0.7.3"); None = the current one: an older release may run the model on earlier kernels
    # (core.engine_era, calibration.toml [eras.*])
    engine_version: str | None = None
    gpu_memory_utilization: float | None = None
    max_model_len: int | None = None
    max_num_seqs: int | None = None
    # a built-in profile name or a CSV of per-request lengths (issue 21): its means replace input/output tokens, and
    # the KV cache per sequence and the percentiles use the distribution
    length_profile: str | None = None

    def __post_init__(self) -> None:
        self.input_tokens, self.output_tokens = whole(self.input_tokens), whole(self.output_tokens)
        self.max_model_len = whole(self.max_model_len)
        if self.length_profile is not None:
            lengths = self.lengths
            assert lengths is not None
            self.input_tokens = max(1, round(lengths.mean_input))
            self.output_tokens = max(1, round(lengths.mean_output))

    @property
    def lengths(self) -> LengthProfile | None:
        """The request-length distribution (None: every request has input_tokens/output_tokens)."""
        if self.length_profile is None:
            return None
        if not isinstance(self.length_profile, str):
            raise InputError(f"--length-profile {self.length_profile!r} must be a profile name or a file path")
        return resolve_length_profile(self.length_profile)

    @property
    def longest(self) -> int:
        """The longest request (prompt + output) the engine must admit."""
        lengths = self.lengths
        return lengths.longest if lengths is not None else self.input_tokens + self.output_tokens

    def validate(self) -> None:
        if (self.model is None) == (self.model_config is None):
            raise InputError("give one of --model NAME and --model-config PATH (model= or model_config=)")
        for flag, value, required in (("--model", self.model, False), ("--model-config", self.model_config, False),
                                      ("--gpu", self.gpu, True), ("--engine", self.engine, True)):  # fmt: skip
            if (value is not None or required) and (not isinstance(value, str) or not value.strip()):
                raise InputError(f"{flag} {value!r} must be a non-empty string")
        check_positive("--num-gpus", self.num_gpus, integer=True, upper=100_000)
        check_positive("--input-tokens", self.input_tokens, integer=True, upper=10_000_000)
        check_positive("--output-tokens", self.output_tokens, integer=True, upper=1_000_000)
        if self.load not in LOADS:
            raise InputError(f"load {self.load!r} is not one of {', '.join(LOADS)}")
        if self.load != "max-throughput":
            if self.load_value is None:
                raise InputError(f"--{self.load} needs a value")
            check_positive(f"--{self.load}", self.load_value, upper=1e7)
        if self.tp is not None:
            check_positive("--tp", self.tp, integer=True, upper=64)
        check_positive("--pp", self.pp, integer=True, upper=64)
        check_positive("--ep", self.ep, integer=True, upper=256)
        check_positive("--dp-attention", self.attention_dp, integer=True, upper=256)
        if self.gpu_memory_utilization is not None:
            check_fraction("--gpu-memory-utilization", self.gpu_memory_utilization)
        check_engine_version(self.engine_version)
        if self.max_model_len is not None:
            check_positive("--max-model-len", self.max_model_len, integer=True, upper=10_000_000)
            needed = self.longest
            if self.max_model_len < needed:
                what = (
                    "the length profile's longest request"
                    if self.length_profile
                    else "--input-tokens + --output-tokens"
                )
                raise InputError(
                    f"--max-model-len {self.max_model_len} is smaller than {what} = {needed}: "
                    "a request does not fit the engine's context"
                )
        if self.max_num_seqs is not None:
            check_positive("--max-num-seqs", self.max_num_seqs, integer=True, upper=1_000_000)
        self._check_parallelism()

    def _check_parallelism(self) -> None:
        """A replica spans TP x PP GPUs, so --num-gpus must hold a whole number of them (at least one)."""
        if self.pp > self.num_gpus:
            raise InputError(
                f"--pp {self.pp} is more than --num-gpus {self.num_gpus}: one replica spans TP x PP GPUs, so "
                "--num-gpus must be a multiple of TP x PP"
            )
        if self.tp is not None and self.tp * self.pp > self.num_gpus:
            raise InputError(
                f"TP x PP = {self.tp * self.pp} (--tp {self.tp}, --pp {self.pp}) is more than --num-gpus "
                f"{self.num_gpus}: --num-gpus must be a multiple of TP x PP"
            )
        if self.num_gpus % self.pp:
            raise InputError(
                f"--num-gpus {self.num_gpus} is not a multiple of --pp {self.pp} (GPUs beyond TP x PP are replicas)"
            )


@dataclass
class EstimateResult:
    output_tokens_per_s: float
    output_tokens_per_s_per_gpu: float
    total_tokens_per_s: float
    requests_per_s: float
    ttft_ms: float
    itl_ms: float
    e2e_ms: float
    concurrency: float  # requests in flight, all replicas
    tp: int
    pp: int
    replicas: int
    kv_cache_tokens: int  # per replica, as the engine allocates it
    max_concurrent_sequences: int  # per replica
    weights_gib_per_gpu: float
    bound: str  # compute | memory | kv-capacity | max-num-seqs
    model: str
    gpu: str
    engine: str
    precision: str
    kv_precision: str
    inputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ep: int = 1  # expert-parallel groups (MoE layout, core.layout)
    attention_dp: int = 1  # attention data-parallel groups
    # ttft_p50_ms ... e2e_p99_ms (core.tails; issue 21): percentiles beside the means, flattened into the JSON
    percentiles: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("percentiles"))
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in data.items()}


def build_replica(request: EstimateRequest) -> tuple[ReplicaConfig, Any, int, int]:
    """Validated request -> (replica config, memory breakdown, KV-limited sequences, replicas)."""
    cfg, memory, kv_limited, replicas, _ = _build_replica(request)
    return cfg, memory, kv_limited, replicas


def _build_replica(request: EstimateRequest) -> tuple[ReplicaConfig, Any, int, int, str]:
    """``build_replica`` plus the note saying why the precision was chosen when none was given ("" otherwise)."""
    request.validate()
    spec, _ = resolve_model_spec(ModelConfig(model_name=request.model, model_config_path=request.model_config))
    gpu = loader.resolve_gpu(request.gpu)
    engine = loader.resolve_engine(request.engine)
    engine_gpus(engine, (gpu,), named=True)
    spec = engine.serves(spec)
    lengths = request.lengths
    if lengths is None:
        check_request_fits(spec, request.input_tokens, request.output_tokens)
    else:
        check_profile_fits(spec, lengths)
    precision, precision_note = resolve_precision(
        request.precision, spec, default=DEFAULT_PRECISION, from_catalog=request.model is not None
    )
    kv = (
        parse_precision(request.kv_precision, "--kv-precision")
        if request.kv_precision
        else engine.default_kv_precision(precision)
    )
    pp = request.pp
    tp = request.tp if request.tp is not None else _best_tp(request, spec, gpu, engine, precision, kv)
    layout = Layout(tp, pp, request.ep, request.attention_dp)
    problem = layout.problem(spec)
    if problem is not None and not layout.is_plain:
        raise InputError(f"--tp {tp} --ep {request.ep} --dp-attention {request.attention_dp}: {problem}")
    if spec.num_heads % layout.attention_tp:
        raise InputError(f"--tp {tp} does not divide {spec.name}'s {spec.num_heads} attention heads")
    if problem is not None:
        raise InputError(f"--tp {tp} --pp {pp}: {problem}")
    if request.num_gpus % (tp * pp):
        raise InputError(f"--num-gpus {request.num_gpus} is not a multiple of TP x PP = {tp * pp}")
    cfg, memory, kv_limited = replica_config(
        spec,
        gpu,
        loader.efficiency_for(gpu, engine.id, model=spec, engine_version=request.engine_version),
        precision=precision,
        kv_precision=kv,
        tp=tp,
        pp=pp,
        workload=_shape(request),
        settings=_settings(request, engine, spec),
        ep=request.ep,
        attention_dp=request.attention_dp,
        short_kv_starts=engine.starts_with_short_kv,
    )
    return cfg, memory, kv_limited, request.num_gpus // (tp * pp), precision_note


def _settings(request: EstimateRequest, engine: Any, spec: Any) -> PlanSettings:
    fraction = request.gpu_memory_utilization or engine.default_memory_fraction
    needed = math.ceil(request.longest)
    return PlanSettings(
        engine_max_sequences=request.max_num_seqs or engine.max_num_seqs,
        context_window=request.max_model_len or needed,
        memory=for_engine_release(
            MemorySettings.for_engine(engine, fraction),
            engine.id,
            spec,
            parse_engine_version(request.engine_version),
            request.max_model_len or spec.max_context,
        ),
    )


def _best_tp(request: EstimateRequest, spec: Any, gpu: Any, engine: Any, precision: Any, kv: Any) -> int:
    """Without --tp: the power-of-two TP (dividing the heads and --num-gpus / PP) at which the
    deployment reaches the highest output throughput under the request's load; when none fits, the largest
    such TP, so that the caller reports why the model does not fit there (TP 1 always qualifies: ``validate``
    made --num-gpus a multiple of PP)."""
    best: tuple[float, int] | None = None
    largest = 1
    tp = 1
    while tp * request.pp <= request.num_gpus:
        layout = Layout(tp, request.pp, request.ep, request.attention_dp)
        if spec.num_heads % tp == 0 and request.num_gpus % (tp * request.pp) == 0 and layout.problem(spec) is None:
            largest = tp
            try:
                eff = loader.efficiency_for(gpu, engine.id, model=spec, engine_version=request.engine_version)
                cfg, _, _ = replica_config(
                    spec, gpu, eff, precision=precision, kv_precision=kv, tp=tp,
                    pp=request.pp, workload=_shape(request), settings=_settings(request, engine, spec), ep=request.ep,
                    attention_dp=request.attention_dp,
                )  # fmt: skip
            except InfeasibleError:
                cfg = None
            if cfg is not None:
                replicas = request.num_gpus // (tp * request.pp)
                tokens = run_load(cfg, request, replicas).output_tokens_per_s * replicas
                if best is None or tokens > best[0] * 1.0001:
                    best = (tokens, tp)
        tp *= 2
    return best[1] if best else largest  # the caller reports why it does not fit


def _shape(request: EstimateRequest) -> Workload:
    return Workload(1.0, request.input_tokens, request.output_tokens, lengths=request.lengths)


def run_load(cfg: ReplicaConfig, request: EstimateRequest, replicas: int) -> OperatingPoint:
    """The operating point of one replica under the request's load."""
    return under_load(
        cfg,
        load=request.load,
        value=float(request.load_value or 0.0),
        replicas=replicas,
        input_tokens=request.input_tokens,
        output_tokens=request.output_tokens,
    )


def estimate(request: EstimateRequest) -> EstimateResult:
    """Throughput and latency of a fixed deployment under a fixed load."""
    cfg, memory, kv_limited, replicas, precision_note = _build_replica(request)
    point = run_load(cfg, request, replicas)
    bound = point.step.bound
    if point.concurrency >= cfg.max_sequences:
        bound = "kv-capacity" if kv_limited <= cfg.max_sequences else "max-num-seqs"
    warnings = [precision_note] if precision_note else []
    window = _settings(request, loader.resolve_engine(request.engine), cfg.model).context_window
    needed = request.longest
    if memory.kv_capacity_tokens < needed:
        raise InfeasibleError(
            f"KV cache holds {memory.kv_capacity_tokens} tokens at {cfg.layout.label()} on {cfg.gpu.name}, less than "
            f"one {needed}-token request: the engine would reject it"
        )
    if memory.kv_capacity_tokens < window:
        warnings.append(
            f"the KV cache holds {memory.kv_capacity_tokens:,} tokens, less than the {window:,}-token context: "
            f"{loader.resolve_engine(request.engine).name} starts anyway and rejects prompts longer than that "
            "(vLLM would refuse to start)"
        )
    if point.concurrency > cfg.max_sequences:
        warnings.append(
            f"{point.concurrency:.0f} requests per replica exceed the {cfg.max_sequences} it can run at once "
            f"({bound}); the rest queue, which TTFT includes"
        )
    if not math.isfinite(point.ttft_s):
        capacity = max_throughput(cfg, input_tokens=request.input_tokens, output_tokens=request.output_tokens)
        warnings.append(
            f"--request-rate {request.load_value:g} exceeds the capacity of {capacity.requests_per_s * replicas:.3g} req/s: "
            "the queue grows without bound (TTFT and E2E are infinite, reported as null)"
        )
    if not cfg.gpu.supports(cfg.precision.value.compute_key):
        warnings.append(
            f"{cfg.gpu.name} has no native {cfg.precision.name} tensor cores: computed in FP16 (weight-only)"
        )
    gpus = cfg.gpus * replicas
    return EstimateResult(
        output_tokens_per_s=point.output_tokens_per_s * replicas,
        output_tokens_per_s_per_gpu=point.output_tokens_per_s * replicas / gpus,
        total_tokens_per_s=point.total_tokens_per_s * replicas,
        requests_per_s=point.requests_per_s * replicas,
        ttft_ms=point.ttft_s * 1e3,
        itl_ms=point.itl_s * 1e3,
        e2e_ms=point.e2e_s * 1e3,
        concurrency=point.concurrency * replicas,
        tp=cfg.tp,
        pp=cfg.pp,
        replicas=replicas,
        kv_cache_tokens=memory.kv_capacity_tokens,
        max_concurrent_sequences=cfg.max_sequences,
        weights_gib_per_gpu=memory.weights_gib,
        bound=bound,
        model=cfg.model.name,
        gpu=cfg.gpu.name,
        engine=loader.resolve_engine(request.engine).name,
        precision=cfg.precision.name,
        kv_precision=cfg.kv_precision.name,
        inputs=asdict(request),
        warnings=warnings,
        ep=cfg.ep,
        attention_dp=cfg.attention_dp,
        percentiles=_percentiles(cfg, point, request),
    )


def _percentiles(cfg: ReplicaConfig, point: OperatingPoint, request: EstimateRequest) -> dict[str, float]:
    """p50/p90/p95/p99 of TTFT, per-token ITL, per-request TPOT and E2E in ms at ``point`` (``core.tails``); none
    for a static batch."""
    if request.load == "static-batch":
        return {}
    tin, tout = float(request.input_tokens), float(request.output_tokens)
    saturation = max_throughput(cfg, input_tokens=tin, output_tokens=tout).requests_per_s
    tail = latency_tail(
        cfg, point, input_tokens=tin, output_tokens=tout, saturation_rate=saturation, lengths=request.lengths
    )
    out: dict[str, float] = {}
    for name, values in (("ttft", tail.ttft_s), ("itl", tail.itl_s), ("tpot", tail.tpot), ("e2e", tail.e2e_s)):
        for q, value in zip(QUANTILES, values[1:], strict=True):
            out[f"{name}_p{q}_ms"] = value * 1e3
    return out
