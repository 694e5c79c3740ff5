"""Roofline step times for one replica: decode steps, prefill, tensor-parallel communication.

Decode (DESIGN.md section 4): a step at batch B and mean context L reads the weights once
(MoE: only the experts the batch touches) and B x L KV entries, and does 2 x active params
FLOPs per sequence plus attention; it takes max(bytes / (HBM BW x eta_bw), FLOPs / (peak x
eta_c)) + 2 all-reduces per layer under TP + a fixed per-step overhead (kernel launches,
scheduling) + a per-sequence overhead x B (per-request bookkeeping, sampling, detokenization). Prefill is compute-bound: (2 x active params x tokens + attention FLOPs)
/ (peak x eta_prefill). The eta factors are data (``calibration.toml``), fitted to published
engine measurements by ``scripts/calibrate.py``, not constants in this file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache, lru_cache

from .layout import Layout, distinct_ranks, load_imbalance, parameter_split, tile_utilization, weight_bytes_per_gpu
from .memory import (
    embedding_bytes_per_param,
    kv_bytes_per_token_per_gpu,
    state_bytes_per_sequence_per_gpu,
    weight_bytes,
)
from .params import count_parameters, num_moe_layers
from .specs import GPUSpec, ModelSpec, Precision, network_gb_s


@dataclass(frozen=True)
class Efficiency:
    """Fractions of the datasheet peaks a serving engine reaches, and fixed costs.

    Defaults are used only when the calibration data file has no entry for a GPU family.
    """

    bandwidth_fraction: float = 0.75  # achieved / datasheet HBM bandwidth reading weights (decode GEMVs)
    kv_bandwidth_fraction: float = 0.6  # achieved / datasheet HBM bandwidth reading the paged KV cache (attention)
    compute_fraction: float = 0.55  # achieved / dense peak for batched decode GEMMs
    prefill_fraction: float = 0.55  # achieved / dense peak for prefill (large GEMMs + attention)
    # share of the shorter of (weight streaming, compute) of one request's prefill pass that is not hidden
    # behind the longer: 0 = ideal roofline max(); short prompts' small-M GEMMs overlap the two poorly
    prefill_serial_fraction: float = 0.0
    step_overhead_s: float = 0.004  # per decode step: scheduling, sampling, launch gaps
    # per sequence in a decode step: the host work that grows with the batch (the scheduler's per-request
    # bookkeeping, sampling and detokenizing each sequence's token); 0 = not modelled (no data)
    sequence_overhead_s: float = 0.0
    allreduce_latency_s: float = 12e-6  # per all-reduce, small messages (NVLink custom all-reduce)
    # per MoE layer per forward pass: the router, top-k, token permutation and the grouped GEMM's launch and
    # per-expert setup, which do not shrink with the batch; 0 = not modelled (fitted on MoE rows)
    moe_layer_overhead_s: float = 0.0
    # per MoE layer of a prefill pass on top of that: prefill runs eagerly (no CUDA graphs), so the MoE layer's
    # many small kernels (router, top-k, permute, quantize, grouped GEMM, combine) each pay a launch
    moe_prefill_layer_overhead_s: float = 0.0
    # routed experts' grouped GEMMs relative to the dense GEMMs' compute fraction (1 = as efficient)
    expert_compute_scale: float = 1.0
    # share of a closed-loop benchmark's prompts that arrive in synchronized waves: with fixed lengths, the C
    # requests a client keeps in flight finish together and are replaced together, so a prompt waits for the
    # prefills of about half its wave ((C - 1) / 2 prompts) instead of an M/D/1 queue; 0 = independent arrivals
    closed_loop_wave_fraction: float = 0.0
    interconnect_fraction: float = 0.7  # achieved / per-direction link bandwidth for large messages
    # per request over an OpenAI-compatible HTTP server, besides the engine's passes (HTTP, tokenizing, hand-off to
    # the engine process, detokenizing and streaming): added to TTFT/E2E of served loads only; 0 = in-process
    frontend_s: float = 0.0
    source: str = "defaults"


@dataclass(frozen=True)
class EngineFactors:
    """How one serving engine departs from the reference engine (TensorRT-LLM) on a GPU family.

    Multiplicative, so the per-family fractions stay identifiable: ``bandwidth_scale`` scales both
    HBM fractions (weights and paged KV: the engine's decode kernels), ``compute_scale`` the decode
    and prefill compute fractions (its GEMM/attention kernels), ``overhead_scale`` the per-step
    overhead (scheduler, sampling, launch gaps: Python vs C++ runtimes, CUDA graphs). 1 = no change.
    Fitted by scripts/calibrate.py ([engines.<id>] in calibration.toml).
    """

    bandwidth_scale: float = 1.0
    compute_scale: float = 1.0
    overhead_scale: float = 1.0
    # share of a closed-loop client's prompts that queue in synchronized waves (closed_loop_wave_fraction, capped at
    # 1): an engine that prefills arriving prompts ahead of the running decodes keeps the client's waves together
    wave_scale: float = 1.0
    # the prefill compute fraction on top of ``compute_scale``: a kernel generation whose prefill kernels (the
    # prompt's attention, its large GEMMs) lag its decode kernels by more than the shared factor says; 1 = as decode
    prefill_scale: float = 1.0
    # seconds, added (not a scale): the engine's OpenAI server's per-request time (Efficiency.frontend_s); 0 = none
    frontend_s: float = 0.0

    def apply(self, eff: Efficiency) -> Efficiency:
        """``eff`` with the engine's factors applied; fractions stay at most 1."""
        if self == EngineFactors():
            return eff
        return replace(
            eff,
            bandwidth_fraction=min(1.0, eff.bandwidth_fraction * self.bandwidth_scale),
            kv_bandwidth_fraction=min(1.0, eff.kv_bandwidth_fraction * self.bandwidth_scale),
            compute_fraction=min(1.0, eff.compute_fraction * self.compute_scale),
            prefill_fraction=min(1.0, eff.prefill_fraction * self.compute_scale * self.prefill_scale),
            step_overhead_s=eff.step_overhead_s * self.overhead_scale,
            sequence_overhead_s=eff.sequence_overhead_s * self.overhead_scale,
            moe_layer_overhead_s=eff.moe_layer_overhead_s * self.overhead_scale,
            moe_prefill_layer_overhead_s=eff.moe_prefill_layer_overhead_s * self.overhead_scale,
            closed_loop_wave_fraction=min(1.0, eff.closed_loop_wave_fraction * self.wave_scale),
            frontend_s=eff.frontend_s + self.frontend_s,
        )


@dataclass(frozen=True)
class StepTime:
    """One decode step of a replica, with its parts so ``--explain`` can show them."""

    total_s: float
    memory_s: float
    compute_s: float
    comm_s: float
    overhead_s: float
    bytes_per_gpu: float
    flops_per_gpu: float
    attention_s: float = 0.0  # the attention kernels' share of the step (paged KV reads)

    @property
    def bound(self) -> str:
        return "memory" if self.memory_s >= self.compute_s else "compute"


def expected_experts_touched(num_experts: int, experts_per_token: int, batch: float) -> float:
    """Distinct routed experts hit per MoE layer by ``batch`` tokens (uniform routing).

    Each token picks k of E experts; an expert is missed by all B tokens with probability
    (1 - k/E)^B, so E x (1 - (1 - k/E)^B) are read from memory.
    """
    if num_experts <= 0:
        return 0.0
    missed: float = (1.0 - experts_per_token / num_experts) ** batch
    return num_experts * (1.0 - missed)


def lookup_embedding_params(model: ModelSpec) -> int:
    """Parameters of an untied input-embedding table: a step gathers only its tokens' rows (no GEMM, no
    full read). A tied table is the lm_head too, so it is read and multiplied anyway (0 here)."""
    return 0 if model.tie_word_embeddings else model.vocab_size * model.hidden_size


@cache  # pure function of a frozen spec, asked at every decode step
def gemm_params(model: ModelSpec) -> float:
    """Parameters each token multiplies (2 FLOPs each): the active ones but the input-embedding lookup."""
    return count_parameters(model).active - lookup_embedding_params(model)


def _weights_read_bytes(model: ModelSpec, precision: Precision, batch: float) -> float:
    """Weight bytes a decode step reads (whole model): not the untied input-embedding table (a row gather),
    and for MoE only the touched experts."""
    total = weight_bytes(model, precision) - lookup_embedding_params(model) * embedding_bytes_per_param(precision)
    if not model.is_moe:
        return total
    params = count_parameters(model)
    per_expert = (params.total - params.active) / max(model.num_experts - model.experts_per_token, 1)
    touched = expected_experts_touched(model.num_experts, model.experts_per_token, batch)
    untouched = (model.num_experts - touched) * per_expert * precision.bytes_per_param
    return total - untouched


@lru_cache(maxsize=16384)  # pure, asked at every decode step with the request shape's context
def attention_flops_per_token(model: ModelSpec, context_tokens: float, *, prefill: bool = False) -> float:
    """FLOPs of QK^T and AV for one new token attending to ``context_tokens`` tokens: per head and attended
    token, 2 x the query-key width (QK^T) + 2 x the value width (AV).

    MLA runs two kernels (DeepSeek-V2 paper, section 2.1.2; vLLM's and SGLang's MLA backends): decode absorbs the
    up-projections into the query and output, so each head attends to the cached latent itself, keys of
    ``kv_lora_rank + qk_rope_head_dim`` and values of ``kv_lora_rank`` (2 x (576 + 512) per pair for DeepSeek-V3);
    ``prefill`` (compute-bound) decompresses the latent with kv_b_proj and runs plain multi-head attention, keys of
    ``qk_nope_head_dim + qk_rope_head_dim`` and values of ``v_head_dim`` (2 x (192 + 128), 3.4x fewer FLOPs).
    The up-projection of the prompt's own tokens is a GEMM in the active parameters; a cached prefix's is
    ``prefill_attention_flops``'s."""
    qk_dim = v_dim = model.head_dim
    if model.is_mla and prefill:
        qk_dim, v_dim = model.qk_nope_head_dim + model.qk_rope_head_dim, model.v_head_dim
    elif model.is_mla:
        qk_dim, v_dim = model.kv_lora_rank + model.qk_rope_head_dim, model.kv_lora_rank
    full_layers = model.full_attention_layers
    window = min(context_tokens, model.sliding_window) if model.sliding_window else context_tokens
    attended = full_layers * context_tokens + model.sliding_window_layers * window
    return 2.0 * model.num_heads * (qk_dim + v_dim) * attended


def prefill_attention_flops(model: ModelSpec, tokens: float, context_tokens: float, cached_tokens: float) -> float:
    """Attention FLOPs (whole model) of prefilling ``tokens`` new tokens whose mean attended context is
    ``context_tokens``, of which ``cached_tokens`` come from the prefix cache.

    MLA's decompressed prefill must first up-project the cached prefix's latent to per-head keys and values
    (kv_b_proj: 2 x kv_lora_rank x heads x (qk_nope + v_head_dim) FLOPs per cached token and layer, vLLM's
    chunked-context path); for a few new tokens after a long prefix the absorbed kernel, which attends to the
    latent directly, is cheaper (SGLang extends a cached prefix with it). The cheaper of the two is taken."""
    flops = tokens * attention_flops_per_token(model, context_tokens, prefill=True)
    if not model.is_mla or cached_tokens <= 0.0:
        return flops
    up_width = model.num_heads * (model.qk_nope_head_dim + model.v_head_dim)
    up_projection = cached_tokens * 2.0 * model.kv_lora_rank * up_width * model.full_attention_layers
    return min(flops + up_projection, tokens * attention_flops_per_token(model, context_tokens))


# Attention's QK^T and AV multiply on 16-bit tensor cores whatever the weights' format: FlashAttention, FlashMLA and
# the engines' paged kernels take BF16/FP16 operands (prefill attends among the prompt's fresh BF16 projections; an
# FP8 KV cache is widened on load), while an FP8 or FP4 checkpoint's GEMMs run on its own units. TensorRT-LLM's FP8
# context FMHA is the exception (not modelled: attention would be up to 2x faster there).
ATTENTION_COMPUTE_KEY = "bf16"


def allreduce_time(gpu: GPUSpec, eff: Efficiency, tp: int, message_bytes: float) -> float:
    """Ring all-reduce: 2 (tp-1)/tp x message over the link, plus a latency term."""
    if tp <= 1:
        return 0.0
    link = gpu.interconnect_bandwidth_gb_s * 1e9 * eff.interconnect_fraction
    return eff.allreduce_latency_s + 2.0 * (tp - 1) / tp * message_bytes / link


def _gemm_work(
    model: ModelSpec, precision: Precision, layout: Layout, tokens: float, eff: Efficiency
) -> tuple[float, float]:
    """(weight bytes read, GEMM FLOPs at the dense GEMMs' efficiency) of one GPU for a forward pass over ``tokens``
    tokens of one stage.

    Plain TP/PP: every weight and FLOP split over tp x pp GPUs. Routed-expert FLOPs are inflated by the busiest
    expert group's load (``layout.load_imbalance``, EP only), by the tile padding of small per-expert GEMMs
    (``layout.tile_utilization``) and by the grouped GEMMs' lower efficiency (``eff.expert_compute_scale``:
    routing, token permutation and activation quantization around many small GEMMs); attention DP replicates
    the attention weights per group (each group multiplies only its own tokens by them, so FLOPs per GPU do not
    change)."""
    shards = layout.tp * layout.pp
    weights = _weights_read_bytes(model, precision, tokens)
    flops = tokens * 2.0 * gemm_params(model)
    if not model.is_moe:
        return weights / shards, flops / shards
    split = parameter_split(model)
    k = model.experts_per_token
    routed_active = split.routed / model.num_experts * k
    touched = expected_experts_touched(model.num_experts, k, tokens)
    rows_per_expert = tokens * k / max(touched, 1e-12)  # tokens each expert the step reads multiplies
    slowdown = load_imbalance(layout.ep, max(tokens, 1.0) * k) / tile_utilization(rows_per_expert)
    slowdown /= eff.expert_compute_scale
    flops += tokens * 2.0 * routed_active * (slowdown - 1.0)
    return weight_bytes_per_gpu(model, layout, weights, precision.bytes_per_param), flops / shards


def moe_overhead(model: ModelSpec, per_layer_s: float) -> float:
    """Seconds a forward pass spends on ``per_layer_s`` of fixed work in each MoE layer (``moe_layer_overhead_s``;
    an eager prefill pass also ``moe_prefill_layer_overhead_s``)."""
    return per_layer_s * num_moe_layers(model) if model.is_moe else 0.0


def _network_link(gpu: GPUSpec, eff: Efficiency, group: int) -> float:
    """Bytes/s one GPU moves to the others of a ``group``-GPU all-to-all: NVLink inside the NVLink domain; the
    share of peers beyond it goes over the network (``NETWORK_GBIT_S`` per GPU), and the slower side sets the
    time."""
    link = gpu.interconnect_bandwidth_gb_s * 1e9 * eff.interconnect_fraction
    if group <= gpu.gpus_per_node:
        return link
    remote = 1.0 - gpu.gpus_per_node / group
    network = network_gb_s(gpu) * 1e9 * eff.interconnect_fraction
    return 1.0 / max((1.0 - remote) / link, remote / network)


def _stage_comm(model: ModelSpec, gpu: GPUSpec, eff: Efficiency, layout: Layout, tokens: float) -> float:
    """Communication of one stage's forward pass over ``tokens`` tokens.

    Plain TP: two all-reduces per layer (attention output, MLP output). Attention DP: one all-reduce inside each
    attention group on its tokens/d, and for the MLP the tokens of all groups meet (gather + reduce-scatter,
    an all-reduce's volume over the tp GPUs). EP: each MoE layer dispatches every token's hidden state to the
    expert groups of its top-k experts and combines the results back — two all-to-alls, each GPU sending its
    tokens/tp share to the ``distinct_ranks`` groups not its own ((ep - 1)/ep of them)."""
    layers = model.num_layers / layout.pp
    message = tokens * model.hidden_size * 2.0
    if layout.is_plain:
        return 2 * layers * allreduce_time(gpu, eff, layout.tp, message)
    attention = layers * allreduce_time(gpu, eff, layout.attention_tp, message / layout.attention_dp)
    moe_layers = num_moe_layers(model) / layout.pp
    dense_mlp = (layers - moe_layers) * allreduce_time(gpu, eff, layout.tp, message)
    if layout.ep == 1:
        return attention + dense_mlp + moe_layers * allreduce_time(gpu, eff, layout.tp, message)
    ep = layout.ep
    sent = message / layout.tp * distinct_ranks(ep, model.experts_per_token) * (ep - 1) / ep
    all_to_all = eff.allreduce_latency_s + sent / _network_link(gpu, eff, layout.tp)
    return attention + dense_mlp + moe_layers * 2.0 * all_to_all


@lru_cache(maxsize=1024)
def _layout(tp: int, pp: int, ep: int, attention_dp: int) -> Layout:
    """One frozen ``Layout`` per shape (building one costs more than the step's arithmetic around it)."""
    return Layout(tp, pp, ep, attention_dp)


def decode_step(
    model: ModelSpec,
    gpu: GPUSpec,
    eff: Efficiency,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int,
    batch: float,
    context_tokens: float,
    tokens_per_sequence: float = 1.0,
    ep: int = 1,
    attention_dp: int = 1,
) -> StepTime:
    """Time of one decode step of one pipeline stage processing ``batch`` sequences.

    ``tokens_per_sequence`` > 1 is a speculative-decoding verification step (Leviathan et al.
    2023): each sequence scores k+1 tokens in one pass, so GEMM and attention FLOPs (and the
    all-reduce message) grow k+1-fold while the weights and the KV cache are still read once.
    ``ep`` / ``attention_dp``: the MoE layout (``core.layout``); each attention group reads only its own
    sequences' KV cache.
    """
    layout, shards, kv_per_token, state, attention_per_token, hbm, peak, attention_peak, moe = _decode_constants(
        model, gpu, eff, precision, kv_precision, tp, pp, ep, attention_dp, context_tokens
    )
    tokens = batch * tokens_per_sequence
    weights, gemm_flops = _gemm_work(model, precision, layout, tokens, eff)
    kv = batch / attention_dp * context_tokens * kv_per_token
    # linear-attention layers read and write their fixed recurrent state once per sequence per step
    kv += 2.0 * batch / attention_dp * state
    attention_flops = tokens * attention_per_token / shards
    # A layer runs its GEMMs (weights streamed, compute on the whole batch) and its attention
    # kernel (the batch's paged KV cache streamed) one after the other, so each kernel is its own
    # roofline and their times add. Paged attention reaches a lower share of peak bandwidth than
    # dense GEMMs (scattered blocks): it has its own efficiency.
    gemm_memory = weights / (hbm * eff.bandwidth_fraction)
    gemm_compute = gemm_flops / (peak * eff.compute_fraction)
    attention_memory = kv / (hbm * eff.kv_bandwidth_fraction)
    attention_compute = attention_flops / (attention_peak * eff.compute_fraction)
    memory_s = gemm_memory + attention_memory
    compute_s = gemm_compute + attention_compute
    comm_s = _stage_comm(model, gpu, eff, layout, tokens)
    kernels = max(gemm_memory, gemm_compute) + max(attention_memory, attention_compute)
    # fixed and per-sequence host costs of the step, spread over the pipeline's stages, and the MoE layers' own
    overhead_s = (eff.step_overhead_s + eff.sequence_overhead_s * batch) / pp + moe / pp
    total = kernels + comm_s + overhead_s
    attention_s = max(attention_memory, attention_compute)
    return StepTime(total, memory_s, compute_s, comm_s, overhead_s, weights + kv, gemm_flops + attention_flops,
                    attention_s)  # fmt: skip


@lru_cache(maxsize=16384)
def _decode_constants(
    model: ModelSpec, gpu: GPUSpec, eff: Efficiency, precision: Precision, kv_precision: Precision, tp: int, pp: int,
    ep: int, attention_dp: int, context_tokens: float,
) -> tuple[Layout, int, float, float, float, float, float, float, float]:  # fmt: skip
    """What a decode step of a layout and context costs whatever its batch, looked up once, not once per term: the
    capacity search asks for steps at ~10 loads of one configuration and request shape (the same values)."""
    layout = _layout(tp, pp, ep, attention_dp)
    return (layout, tp * pp,
            kv_bytes_per_token_per_gpu(model, kv_precision, layout.attention_tp, pp, int(context_tokens)),
            state_bytes_per_sequence_per_gpu(model, Precision.BF16, layout.attention_tp, pp),
            attention_flops_per_token(model, context_tokens), gpu.memory_bandwidth_tb_s * 1e12,
            gpu.peak_flops(precision.value.compute_key), gpu.peak_flops(ATTENTION_COMPUTE_KEY),
            moe_overhead(model, eff.moe_layer_overhead_s))  # fmt: skip


def prefill_time(
    model: ModelSpec,
    gpu: GPUSpec,
    eff: Efficiency,
    *,
    precision: Precision,
    tp: int,
    pp: int,
    tokens: float,
    batched: bool = False,
    cached_tokens: float = 0.0,
    sequences: float = 1.0,
    ep: int = 1,
    attention_dp: int = 1,
) -> float:
    """Seconds of replica time to prefill ``tokens`` prompt tokens of ``sequences`` requests (one by default).

    Compute: 2 x active params per token plus causal attention (mean context tokens/2).
    Alone (``batched=False``: the request's own latency) the weights must also be read at
    least once, so a short prompt costs about one decode step. Under load (``batched=True``:
    the replica time the request consumes) engines prefill many prompts in one pass that
    shares that read, so only the compute counts.

    ``cached_tokens``: prompt tokens found in the prefix cache before these ``tokens`` (vLLM
    automatic prefix caching, SGLang RadixAttention). They are not computed, but the new tokens
    still attend to them: the mean attended context is cached + tokens/2.

    ``sequences`` > 1 prefills that many prompts of tokens/sequences each in one pass (a static batch):
    the GEMMs see all the tokens, but each prompt attends only to itself (causal, per sequence).
    ``ep`` / ``attention_dp``: the MoE layout (``core.layout``).
    """
    layout = Layout(tp, pp, ep, attention_dp)
    own_context = tokens / max(sequences, 1.0) / 2.0
    weights, gemm_flops = _gemm_work(model, precision, layout, tokens, eff)
    attention_flops = prefill_attention_flops(model, tokens, cached_tokens + own_context, cached_tokens) / (tp * pp)
    peak = gpu.peak_flops(precision.value.compute_key) * eff.prefill_fraction
    attention_peak = gpu.peak_flops(ATTENTION_COMPUTE_KEY) * eff.prefill_fraction
    compute_s = gemm_flops / peak + attention_flops / attention_peak
    memory_s = weights / (gpu.memory_bandwidth_tb_s * 1e12 * eff.bandwidth_fraction)
    comm_s = _stage_comm(model, gpu, eff, layout, tokens) * pp + moe_overhead(model, eff.moe_layer_overhead_s)
    if batched:
        return compute_s * pp + comm_s
    # one request's pass: its small-M GEMMs hide weight streaming and compute behind each other only in part
    # and the eager MoE layers' launches, paid once per pass (under load, many prompts share a pass: not counted)
    serial = eff.prefill_serial_fraction * min(compute_s, memory_s)
    eager = moe_overhead(model, eff.moe_prefill_layer_overhead_s)
    return (max(compute_s, memory_s) + serial) * pp + comm_s + eager
