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
from ..core.agent_search import add_proposer
from ..core.capacity import ReplicaEstimate, slo_capacity
from ..core.inference import replica_config
from ..core.layout import Layout
from ..core.percentiles import QUANTILES, slo_statistic, token_target
from ..core.replica import ReplicaConfig
from ..core.serving import OperatingPoint, max_throughput, under_load
from ..core.tails import latency_tail
from ..core.workload import PlanSettings, Workload
from ..errors import InfeasibleError, InputError
from ..inputs.numbers import check_instance
from ..inputs.types import ModelConfig, parse_precision, resolve_precision
from .estimate_request import DEFAULT_PRECISION, LOADS, EstimateRequest
from .request import (
    check_profile_fits,
    check_request_fits,
    check_window_fits,
    engine_gpus,
    release_memory,
    resolve_model_spec,
    resolve_speculation,
    sequence_limits,
    weight_only_note,
)

__all__ = ["LOADS", "EstimateRequest", "EstimateResult", "build_replica", "estimate", "run_load"]


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
    # load "slo-capacity": what stops the rate from growing (itl, ttft, kv-cache, max-num-seqs...); "" otherwise
    slo_limit: str = ""
    # load "slo-capacity": the targets resolved (percentile "99"/"mean", ttft_ms, itl_ms: defaults filled in, "p90"
    # read as "90") and what the capacity point reaches at that statistic (ttft_at_ms, itl_at_ms), so that a reader
    # sees the target that binds met, not the means beside it; {} (left out of the JSON) otherwise
    slo: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("percentiles"))
        if not data["slo"]:
            data.pop("slo")
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in data.items()}


def build_replica(request: EstimateRequest) -> tuple[ReplicaConfig, Any, int, int]:
    """Validated request -> (replica config, memory breakdown, KV-limited sequences, replicas)."""
    cfg, memory, kv_limited, replicas, _ = _build_replica(request)
    return cfg, memory, kv_limited, replicas


def _build_replica(request: EstimateRequest) -> tuple[ReplicaConfig, Any, int, int, str]:
    """``build_replica`` plus the note saying why the precision was chosen when none was given ("" otherwise)."""
    check_instance("request", request, EstimateRequest, 'EstimateRequest(gpu="H100", num_gpus=1, ...)')
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
    check_window_fits(spec, request.max_model_len, "--max-model-len")
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
        if request.tp is None and spec.is_moe and (tp % request.ep or tp % request.attention_dp):
            # no searched TP is a multiple of both: "--tp 1 --ep 3" named a --tp the user never gave
            raise InputError(f"--ep {request.ep} --dp-attention {request.attention_dp}: both must divide TP, and no TP "
                             f"searched (a power of two dividing --num-gpus {request.num_gpus} / --pp {pp}) is a "
                             "multiple of them; give --tp")  # fmt: skip
        raise InputError(f"--tp {tp} --ep {request.ep} --dp-attention {request.attention_dp}: {problem}")
    if spec.num_heads % layout.attention_tp:
        raise InputError(f"--tp {tp} does not divide {spec.name}'s {spec.num_heads} attention heads")
    if problem is not None:
        raise InputError(f"--tp {tp} --pp {pp}: {problem}")
    if request.num_gpus % (tp * pp):
        raise InputError(f"--num-gpus {request.num_gpus} is not a multiple of TP x PP = {tp * pp}")
    cfg, memory, kv_limited = _replica(request, spec, gpu, engine, precision, kv, tp)
    return cfg, memory, kv_limited, request.num_gpus // (tp * pp), precision_note


def _replica(
    request: EstimateRequest, spec: Any, gpu: Any, engine: Any, precision: Any, kv: Any, tp: int
) -> tuple[ReplicaConfig, Any, int]:
    """The request's replica at ``tp`` (``replica_config``), with its speculative proposer when one is asked for
    (``core.agent_search.add_proposer``, as the planner builds it)."""
    settings = _settings(request, engine, spec)
    cfg, memory, kv_limited = replica_config(
        spec,
        gpu,
        loader.efficiency_for(gpu, engine.id, model=spec, engine_version=request.engine_version),
        precision=precision,
        kv_precision=kv,
        tp=tp,
        pp=request.pp,
        workload=_shape(request),
        settings=settings,
        ep=request.ep,
        attention_dp=request.attention_dp,
        short_kv_starts=engine.starts_with_short_kv,
    )
    speculation = resolve_speculation(spec, request.speculative_tokens, request.acceptance_rate, request.draft_model)
    if speculation is not None:
        reserved = settings.memory.kv_tokens_per_sequence(request.input_tokens, request.output_tokens)
        cfg, memory, kv_limited, _ = add_proposer(
            cfg, memory, kv_limited, speculation, reserved_tokens=reserved, minimum_tokens=request.longest
        )
    return cfg, memory, kv_limited


def _settings(request: EstimateRequest, engine: Any, spec: Any) -> PlanSettings:
    fraction = request.gpu_memory_utilization  # None: the engine's default (SGLang's follows the layout and GPU)
    needed = math.ceil(request.longest)
    return PlanSettings(
        **sequence_limits(engine, request.max_num_seqs, request.engine_version),
        context_window=request.max_model_len or needed,
        memory=release_memory(
            engine, fraction, request.engine_version, spec, request.max_model_len or spec.max_context
        ),
    )


def _best_tp(request: EstimateRequest, spec: Any, gpu: Any, engine: Any, precision: Any, kv: Any) -> int:
    """Without --tp: the power-of-two TP (dividing the heads and --num-gpus / PP) at which the
    deployment reaches the highest output throughput under the request's load; when none fits, the largest
    such TP, so that the caller reports why the model does not fit there (TP 1 always qualifies: ``validate``
    made --num-gpus a multiple of PP)."""
    best: tuple[float, int] | None = None
    closest: tuple[float, int] | None = None  # slo-capacity: the TP whose lone request misses the SLOs least
    largest = 1
    tp = 1
    while tp * request.pp <= request.num_gpus:
        layout = Layout(tp, request.pp, request.ep, request.attention_dp)
        if spec.num_heads % tp == 0 and request.num_gpus % (tp * request.pp) == 0 and layout.problem(spec) is None:
            largest = tp
            try:
                cfg, memory, kv_limited = _replica(request, spec, gpu, engine, precision, kv, tp)
            except InfeasibleError:
                cfg = None
            if cfg is not None:
                replicas = request.num_gpus // (tp * request.pp)
                if request.load == "slo-capacity":  # the most traffic within the SLOs; a TP missing them serves none
                    found = _slo_capacity(cfg, memory, kv_limited, request)
                    tokens = found.capacity.output_tokens_per_s * replicas if found.meets_slo else 0.0
                    # where no TP meets the SLOs, the one whose lone request misses them least is reported (the
                    # smallest that fit was: Llama-3.1-70B, 100k-token prompts, 8 H100s, TP=2 at 12.1 s vs TP=8's 6.9)
                    if closest is None or found.slo_excess < closest[0]:
                        closest = (found.slo_excess, tp)
                else:
                    tokens = run_load(cfg, request, replicas).output_tokens_per_s * replicas
                if best is None or tokens > best[0] * 1.0001:
                    best = (tokens, tp)
        tp *= 2
    if best is not None and best[0] <= 0.0 and closest is not None:  # no TP meets the SLOs: report the nearest
        return closest[1]
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
        cached_input_tokens=float(request.cached_input_tokens),
    )


def _slo_capacity(cfg: ReplicaConfig, memory: Any, kv_limited: int, request: EstimateRequest) -> ReplicaEstimate:
    """The planner's capacity search (``core.capacity.slo_capacity``) on this replica at the request's SLOs: the
    largest open-loop rate whose point meets them, the same number a plan of this configuration reports."""
    return slo_capacity(
        cfg, memory, kv_limited, _settings(request, loader.resolve_engine(request.engine), cfg.model),
        input_tokens=request.input_tokens, output_tokens=request.output_tokens, slo=request.slo,
        cached_input_tokens=float(request.cached_input_tokens), lengths=request.lengths,
    )  # fmt: skip


def _infeasible(found: ReplicaEstimate, request: EstimateRequest, tp: int) -> InfeasibleError:
    """No load meets the SLOs: even a request alone misses one (what it reaches, against the targets; without --tp,
    at the TP that comes closest, named)."""
    slo, lone = request.slo, found.lowest or found.capacity
    ttft, itl, _ = slo.latencies(lone)
    where = (
        "this deployment" if request.tp is not None else f"{request.num_gpus} GPUs at any TP (TP={tp} comes closest)"
    )
    return InfeasibleError(
        f"no load meets the SLOs on {where}: a request alone reaches TTFT {ttft * 1e3:,.0f} ms and "
        f"{token_target(slo.percentile)} {itl * 1e3:,.1f} ms ({slo_statistic(slo.percentile)}) against targets of "
        f"{slo.ttft_ms:,.0f} ms and {slo.itl_ms:,.1f} ms; loosen them or give a faster deployment (more TP, FP8, "
        "another GPU: `gpucast inference` searches them)"
    )


def estimate(request: EstimateRequest) -> EstimateResult:
    """Throughput and latency of a fixed deployment under a fixed load."""
    cfg, memory, kv_limited, replicas, precision_note = _build_replica(request)
    limit, slo = "", {}
    if request.load == "slo-capacity":
        found = _slo_capacity(cfg, memory, kv_limited, request)
        if not found.meets_slo:
            raise _infeasible(found, request, cfg.tp)
        point, limit = found.capacity, found.limit
        ttft_at, itl_at, _ = request.slo.latencies(point)
        slo = {"percentile": request.slo.percentile, "ttft_ms": request.slo.ttft_ms, "itl_ms": request.slo.itl_ms,
               "ttft_at_ms": ttft_at * 1e3, "itl_at_ms": itl_at * 1e3}  # fmt: skip
    else:
        point = run_load(cfg, request, replicas)
    bound = point.step.bound
    if point.concurrency >= cfg.max_sequences:
        bound = "kv-capacity" if kv_limited <= cfg.max_sequences else "max-num-seqs"
    warnings = [precision_note] if precision_note else []
    if cfg.speculative is not None:
        spec = cfg.speculative
        proposer = spec.draft_model.name if spec.draft_model is not None else "an MTP/EAGLE head"
        warnings.append(
            f"speculative decoding: {spec.draft_tokens} drafted tokens per round by {proposer}, acceptance "
            f"{spec.acceptance_rate:g} assumed ({spec.tokens_per_step:.2f} tokens per verification step)"
        )
    window = _settings(request, loader.resolve_engine(request.engine), cfg.model).context_window
    needed = request.longest
    pool = memory.sequence_pool_tokens  # one attention-DP group's share: a sequence lives in one group
    per_group = f" ({pool:,} in each of its {cfg.attention_dp} attention-DP groups)" if cfg.attention_dp > 1 else ""
    if pool < needed:
        raise InfeasibleError(
            f"KV cache holds {memory.kv_capacity_tokens} tokens{per_group} at {cfg.layout.label()} on "
            f"{cfg.gpu.name}, less than one {needed}-token request: the engine would reject it"
        )
    if pool < window:
        warnings.append(
            f"the KV cache holds {memory.kv_capacity_tokens:,} tokens{per_group}, less than the {window:,}-token context: "
            f"{loader.resolve_engine(request.engine).name} starts anyway and rejects prompts longer than that "
            "(vLLM would refuse to start)"
        )
    if point.concurrency > cfg.max_sequences:
        warnings.append(
            f"{point.concurrency:.0f} requests per replica exceed the {cfg.max_sequences} it can run at once "
            f"({bound}); the rest queue, which TTFT includes"
        )
    if not math.isfinite(point.ttft_s):
        capacity = max_throughput(cfg, input_tokens=request.input_tokens, output_tokens=request.output_tokens,
                                  cached_input_tokens=float(request.cached_input_tokens))  # fmt: skip
        warnings.append(
            # "at or above", to 6 digits: a plan's capacity figure re-asked here read "6.9757 exceeds the capacity of 6.98"
            f"--request-rate {request.load_value:g} is at or above the capacity of "
            f"{capacity.requests_per_s * replicas:.6g} req/s: "
            "the queue grows without bound (TTFT and E2E are infinite, reported as null)"
        )
    if weight_only := weight_only_note(cfg.gpu, cfg.precision):
        warnings.append(weight_only)
    if release := loader.engine_release_note(request.engine, request.engine_version):
        warnings.append(release)
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
        slo_limit=limit,
        slo=slo,
    )


def _percentiles(cfg: ReplicaConfig, point: OperatingPoint, request: EstimateRequest) -> dict[str, float]:
    """p50/p90/p95/p99 of TTFT, per-token ITL, per-request TPOT and E2E in ms at ``point`` (``core.tails``); none
    for a static batch."""
    if request.load == "static-batch":
        return {}
    tin, tout = float(request.input_tokens), float(request.output_tokens)
    cached = float(request.cached_input_tokens)
    saturation = max_throughput(cfg, input_tokens=tin, output_tokens=tout, cached_input_tokens=cached).requests_per_s
    tail = latency_tail(
        cfg, point, input_tokens=tin, output_tokens=tout, saturation_rate=saturation, lengths=request.lengths,
        cached_input_tokens=cached,
    )  # fmt: skip
    out: dict[str, float] = {}
    for name, values in (("ttft", tail.ttft_s), ("itl", tail.itl_s), ("tpot", tail.tpot), ("e2e", tail.e2e_s)):
        for q, value in zip(QUANTILES, values[1:], strict=True):
            out[f"{name}_p{q}_ms"] = value * 1e3
    return out
