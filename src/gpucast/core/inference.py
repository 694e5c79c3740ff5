"""How one serving configuration (model, GPU, precision, TP x PP) performs for a workload.

``estimate_replica`` answers "how does config X behave": memory and KV capacity, the
largest concurrency that meets the SLOs, and the request rate one replica then sustains.
``core.fleet.size_fleet`` turns that into replicas for average and peak load. Choosing among configs
is ``search.py``'s job.
"""

from __future__ import annotations

from functools import lru_cache

from ..errors import InfeasibleError
from .capacity import ReplicaEstimate, slo_capacity
from .engine_releases import rank_chunk_tokens, replica_memory
from .layout import Layout
from .memory import MemoryBreakdown, estimate_memory, state_bytes_per_sequence_per_gpu
from .percentiles import LengthProfile
from .perf import Efficiency
from .replica import ReplicaConfig
from .specs import GPUSpec, ModelSpec, Precision
from .workload import SLO, PlanSettings, Workload


def replica_config(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int,
    workload: Workload,
    settings: PlanSettings,
    ep: int = 1,
    attention_dp: int = 1,
    short_kv_starts: bool = False,
) -> tuple[ReplicaConfig, MemoryBreakdown, int]:
    """Memory and concurrency limit of a TP x PP replica (``ep``/``attention_dp``: its MoE layout, ``core.layout``);
    raises if it cannot start. ``short_kv_starts``: the engine starts even when the KV cache holds less than one
    context window (SGLang); otherwise that is an error (vLLM refuses to start, and a plan must serve its window)."""
    layout = Layout(tp, pp, ep, attention_dp)
    problem = layout.problem(model) or gpu.weights_problem(precision)
    if problem is not None:
        raise InfeasibleError(problem)
    mean_tokens = workload.input_tokens + workload.output_tokens / 2.0
    # the engine's step budget on this GPU (vLLM: 2048 or 8192) and its default fraction for this layout and GPU (SGLang)
    engine_memory = replica_memory(settings.memory, gpu, tp, pp, attention_dp)
    memory = estimate_memory(
        model,
        gpu,
        precision=precision,
        kv_precision=kv_precision,
        tp=tp,
        pp=pp,
        settings=engine_memory,
        context_tokens=int(mean_tokens),
        attention_dp=attention_dp,
    )
    if not memory.fits:
        if memory.weights_gib < memory.usable_gib:  # the weights fit: the profiling pass's activations do not
            raise InfeasibleError(
                f"{model.name} at {precision.name} at {layout.label()} needs {memory.weights_gib:.1f} GiB of "
                f"weights + {memory.activations_gib:.1f} GiB of activations (one forward pass over "
                f"{engine_memory.max_batched_tokens:,} tokens, the engine's profiling budget) + "
                f"{memory.overhead_gib:.1f} GiB of runtime per GPU, no room for a KV cache in the "
                f"{memory.usable_gib:.1f} GiB one {gpu.name} leaves — use a shorter context (max model length), an "
                "engine release with chunked prefill, more GPUs per replica (TP/PP) or a larger GPU"
            )
        raise InfeasibleError(
            f"{model.name} at {precision.name} needs {memory.weights_gib:.1f} GiB of weights per GPU "
            f"at {layout.label()}; one {gpu.name} leaves {memory.usable_gib:.1f} GiB — "
            "use more GPUs per replica (TP/PP), a smaller precision or a larger GPU"
        )
    # linear-attention layers (Qwen3-Next) hold a fixed state per sequence besides the per-token KV cache
    state_tokens = state_bytes_per_sequence_per_gpu(model, Precision.BF16, tp // attention_dp, pp) / (
        memory.kv_bytes_per_token_per_gpu
    )
    # a sequence lives in one attention-DP group's pool: each group (vLLM: each DP engine core) must hold a window
    if not short_kv_starts and memory.sequence_pool_tokens < settings.context_window + state_tokens:
        held = f"{memory.kv_capacity_tokens} tokens"
        if attention_dp > 1:
            held += f" ({memory.sequence_pool_tokens} in each of its {attention_dp} attention-DP groups)"
        raise InfeasibleError(
            f"KV cache holds {held} at {layout.label()} on {gpu.name}, "
            f"less than one {settings.context_window}-token sequence (context window): the engine would not start; "
            "use a shorter context window or more GPUs per replica"
        )
    reserved = settings.memory.kv_tokens_per_sequence(workload.input_tokens, workload.output_tokens)
    if workload.lengths is not None:  # running sequences are length-biased: long outputs stay longer
        reserved = workload.lengths.kv_tokens_per_sequence(full=settings.memory.kv_reservation == "full")
    kv_limited = int(memory.kv_capacity_tokens // (reserved + state_tokens))
    cap = settings.replica_sequence_limit(gpu, attention_dp)
    if settings.max_sequences_cap is not None:
        cap = min(cap, settings.max_sequences_cap)
    cfg = ReplicaConfig(
        model,
        gpu,
        efficiency,
        precision,
        kv_precision,
        tp,
        pp,
        max(1, min(kv_limited, cap)),
        engine_memory.max_batched_tokens,
        ep=ep,
        attention_dp=attention_dp,
        # SGLang divides its chunk over the attention-DP ranks: each rank's scheduler prefills by its share
        # and vLLM steps each rank by the whole budget (an engine core per rank)
        rank_chunk_tokens=rank_chunk_tokens(
            engine_memory,
            engine_memory.max_batched_tokens,
            attention_dp,
            scheduler_per_rank=settings.max_sequences_per_dp_rank,
        ),
    )
    return cfg, memory, kv_limited


def estimate_replica(
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
    ep: int = 1,
    attention_dp: int = 1,
) -> ReplicaEstimate:
    """Capacity of one configuration at the SLOs: the largest open-loop request rate whose operating point
    (the one ``estimate --request-rate`` gives) meets every latency target.

    Only the request's shape (tokens in and out) enters, not its rate: the result is remembered
    (:func:`replica_estimates`), so a comparison over clouds, or another rate of the same shape, reuses it."""
    outcome = replica_estimates(
        model,
        gpu,
        efficiency,
        precision=precision,
        kv_precision=kv_precision,
        tp=tp,
        pp=pp,
        input_tokens=workload.input_tokens,
        output_tokens=workload.output_tokens,
        slo=slo,
        settings=settings,
        ep=ep,
        attention_dp=attention_dp,
        lengths=workload.lengths,
    )
    if isinstance(outcome, str):
        raise InfeasibleError(outcome)
    return outcome


ESTIMATES_KEPT = 16384  # replica estimates kept per process: ~4.4 KiB each at p99 (tails attached), ~70 MiB at most;
# a cold plan-page mix of 200 questions asks ~11,000 (a plan page ~50 layouts x its shapes)


@lru_cache(maxsize=ESTIMATES_KEPT)
def replica_estimates(
    model: ModelSpec,
    gpu: GPUSpec,
    efficiency: Efficiency,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int,
    input_tokens: int,
    output_tokens: int,
    slo: SLO,
    settings: PlanSettings,
    ep: int = 1,
    attention_dp: int = 1,
    lengths: LengthProfile | None = None,
) -> ReplicaEstimate | str:
    """:func:`estimate_replica` of a request shape, memoized, or why the layout cannot run (the message of its
    ``InfeasibleError``, remembered as well): a pure function of frozen, hashable inputs (its result is frozen
    too), and the capacity search costs ~1 ms — a plan searches every GPU's layouts, and the plan page's
    comparison repeats that search once per cloud with other prices only."""
    shape = Workload(0.0, input_tokens, output_tokens, lengths=lengths)  # the rate does not enter: only the shape
    try:
        cfg, memory, kv_limited = replica_config(
            model,
            gpu,
            efficiency,
            precision=precision,
            kv_precision=kv_precision,
            tp=tp,
            pp=pp,
            workload=shape,
            settings=settings,
            ep=ep,
            attention_dp=attention_dp,
        )
    except InfeasibleError as error:
        return str(error)
    return slo_capacity(
        cfg,
        memory,
        kv_limited,
        settings,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        slo=slo,
        lengths=lengths,
    )
