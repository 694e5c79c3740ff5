"""GPU memory for serving: weights, KV cache, activations, runtime overhead, KV capacity.

Formulas (DESIGN.md section 4):
- weights = parameters x bytes per parameter (quantized formats carry their scale overhead),
  divided over TP x PP GPUs;
- KV cache per token = 2 x layers x kv_heads x head_dim x kv_bytes (GQA: kv_heads, not heads);
  MLA (DeepSeek-V2/V3) caches one latent per layer: layers x (kv_lora_rank + rope_dim) x kv_bytes;
  sliding-window layers hold at most ``window`` tokens per sequence; DeepSeek Sparse Attention adds its
  indexer key per layer (FP8 + an FP32 scale per 128 values, as vLLM and SGLang cache it); linear-attention
  layers (Gated DeltaNet) cache nothing per token but a fixed state per sequence (state_bytes_per_sequence);
- KV capacity = GPU memory x utilization fraction - weights - activation peak - runtime overhead,
  which is how vLLM sizes its cache (``gpu_memory_utilization`` bounds everything it allocates); the GPU memory
  is what the driver reports to CUDA (``GPUSpec.cuda_memory_bytes``), where a log states it.
- Where a start-up log states the engine's version, :func:`for_engine_build` applies that version's arithmetic
  (vLLM's profiling token budget and what its profiler charges; whether SGLang's pool sizing counts the DSA
  indexer key).
The seed's "2 x layers x hidden x context" KV formula ignores GQA and overstates Llama-3-70B by 8x.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache, lru_cache

from .layout import Layout, weight_bytes_per_gpu
from .params import count_parameters
from .specs import GIB, EngineSpec, GPUSpec, ModelSpec, Precision


@dataclass(frozen=True)
class MemorySettings:
    """Engine memory knobs, with the defaults of vLLM's engine arguments (the most common open engine)."""

    gpu_memory_utilization: float = 0.90  # vLLM default fraction of device memory it may use
    # CUDA context, CUDA graphs, NCCL buffers: a placeholder for direct core use; plans and estimates take the
    # engine's value (engines.toml runtime_overhead_gib, fitted by scripts/fit_runtime_overhead.py) via for_engine
    runtime_overhead_gib: float = 1.0
    # (vendor, GiB) in place of runtime_overhead_gib on that vendor's GPUs (EngineSpec.runtime_overhead_by_vendor)
    runtime_overhead_by_vendor: tuple[tuple[str, float], ...] = ()
    max_batched_tokens: int = 8192  # vLLM V1 chunked-prefill token budget: sizes the activation peak
    activation_bytes: float = 2.0  # activations are BF16/FP16 whatever the weight format
    # How the engine's memory fraction is applied (see kv_cache_bytes):
    # "total" (vLLM gpu_memory_utilization), "static" (SGLang mem_fraction_static),
    # "free" (TensorRT-LLM kv_cache_free_gpu_mem_fraction).
    memory_mode: str = "total"
    kv_reservation: str = "used"  # EngineSpec.kv_reservation: "used" (tokens held) or "full" (prompt + max output)
    # Whether the engine's pool sizing counts the DeepSeek Sparse Attention indexer key per token (it is allocated
    # either way): SGLang before PR 11309 sized the pool from the MLA latent alone (see for_engine_build).
    indexer_in_sizing: bool = True

    @classmethod
    def for_engine(cls, engine: EngineSpec, gpu_memory_utilization: float | None = None) -> MemorySettings:
        """The engine's memory policy; ``gpu_memory_utilization`` None = the engine's default fraction."""
        return cls(
            gpu_memory_utilization=engine.default_memory_fraction
            if gpu_memory_utilization is None
            else gpu_memory_utilization,
            runtime_overhead_gib=engine.runtime_overhead_gib,
            runtime_overhead_by_vendor=engine.runtime_overhead_by_vendor,
            max_batched_tokens=engine.max_batched_tokens,
            memory_mode=engine.memory_mode,
            kv_reservation=engine.kv_reservation,
        )

    def overhead_gib(self, vendor: str) -> float:
        """The runtime overhead per GPU on a GPU of ``vendor`` (GPUSpec.vendor): the engine's value for that
        platform where it has one (vLLM before 0.6.4: CUDA and ROCm logs fit apart), else the one value."""
        return dict(self.runtime_overhead_by_vendor).get(vendor, self.runtime_overhead_gib)

    def kv_tokens_per_sequence(self, input_tokens: float, output_tokens: float) -> float:
        """KV tokens one running sequence occupies on average: its mean length (prompt + half the output, as it
        grows), or prompt + the whole output where the scheduler reserves the maximum at admission."""
        if self.kv_reservation == "full":
            return input_tokens + output_tokens
        return input_tokens + output_tokens / 2.0


@dataclass(frozen=True)
class MemoryBreakdown:
    """Per-GPU memory of one replica (TP x PP GPUs), in GiB, with the KV capacity it leaves."""

    weights_gib: float
    activations_gib: float
    overhead_gib: float
    usable_gib: float
    kv_cache_gib: float
    kv_bytes_per_token_per_gpu: float
    kv_capacity_tokens: int  # tokens the whole replica can hold in KV cache

    @property
    def fits(self) -> bool:
        return self.kv_cache_gib > 0.0


def embedding_bytes_per_param(precision: Precision) -> float:
    """Bytes per embedding parameter: quantized formats keep embeddings in 16-bit (as AWQ/GPTQ/FP8 do)."""
    return 4.0 if precision is Precision.FP32 else 2.0


@cache  # pure function of a frozen spec and a format, asked at every decode step the capacity search tries
def weight_bytes(model: ModelSpec, precision: Precision) -> float:
    """Bytes of all weights. Embeddings stay in 16-bit for quantized formats (as AWQ/GPTQ/FP8 do)."""
    params = count_parameters(model)
    body = (params.total - params.embedding) * precision.bytes_per_param
    return body + params.embedding * embedding_bytes_per_param(precision)


def kv_bytes_per_token(model: ModelSpec, kv_precision: Precision, context_tokens: int = 0) -> float:
    """KV-cache bytes per token of one sequence, whole model (all layers, all GPUs).

    With ``context_tokens`` > 0, sliding-window layers are averaged over a sequence of that
    length (they keep at most ``sliding_window`` tokens), so the result is the mean per token.
    Only what the cache holds per token counts: full-attention layers (GQA: K and V of each KV head; MLA: the
    latent and its RoPE key; DeepSeek Sparse Attention: plus the indexer key), sliding-window layers up to their
    window, and nothing for linear-attention layers, whose fixed state is per sequence
    (:func:`state_bytes_per_sequence`).
    """
    kv_bytes = kv_precision.value.bytes_per_param  # KV scales are per tensor: no group overhead
    if model.is_mla:
        per_layer = mla_latent_bytes(model, kv_precision) + indexer_key_bytes(model)
    else:
        per_layer = 2 * model.num_kv_heads * model.head_dim * kv_bytes
    window_share = 1.0
    if model.sliding_window_layers and model.sliding_window and context_tokens > model.sliding_window:
        window_share = model.sliding_window / context_tokens
    return per_layer * (model.full_attention_layers + model.sliding_window_layers * window_share)


def mla_latent_bytes(model: ModelSpec, kv_precision: Precision) -> float:
    """Bytes of one token's MLA latent and RoPE key in one layer's cache.

    In general (kv_lora_rank + qk_rope_head_dim) values at the KV precision. DeepSeek Sparse Attention's FP8
    cache (FlashMLA's sparse decoding kernel, which SGLang and vLLM use for V3.2) is a packed layout instead:
    the latent in FP8 with one FP32 scale per 128 values and the RoPE key kept in BF16, 512 + 4 x 4 + 64 x 2 =
    656 bytes for V3.2 (deepseek-ai/FlashMLA docs/20250929-hopper-fp8-sparse-deep-dive.md; SGLang's start-up
    log of V3.2 on 8xB200 divides to 656 bytes per token and layer, data/benchmarks/kv_capacity_logs.csv)."""
    kv_bytes = kv_precision.value.bytes_per_param
    if model.has_sparse_indexer and kv_bytes == 1:
        scales = -(-model.kv_lora_rank // INDEXER_SCALE_BLOCK)
        return float(model.kv_lora_rank + 4 * scales + 2 * model.qk_rope_head_dim)
    return (model.kv_lora_rank + model.qk_rope_head_dim) * kv_bytes


INDEXER_SCALE_BLOCK = 128  # values per FP32 scale in the DSA indexer's FP8 key cache (vLLM, SGLang, DeepSeek)


def indexer_key_bytes(model: ModelSpec) -> float:
    """Bytes one token's DeepSeek Sparse Attention indexer key takes in one layer's cache, whatever the KV
    precision: the engines (vLLM's DeepseekV32IndexerCache, SGLang's NSA token-to-KV pool, DeepSeek's
    inference code) store it in FP8 with one FP32 scale per 128 values: 128 + 4 = 132 bytes for V3.2."""
    if not model.has_sparse_indexer:
        return 0.0
    scales = -(-model.index_head_dim // INDEXER_SCALE_BLOCK)
    return float(model.index_head_dim + 4 * scales)


def state_bytes_per_sequence(model: ModelSpec, precision: Precision) -> float:
    """Fixed per-sequence state of the linear-attention layers, whole model (all layers, all GPUs), in bytes.

    A Gated DeltaNet layer (Qwen3-Next) keeps, whatever the sequence length, a recurrent state of
    ``value_heads x key_dim x value_dim`` and the last ``conv_kernel - 1`` inputs of its causal convolution over
    the ``2 x key_heads x key_dim + value_heads x value_dim`` q/k/v channels (vLLM's mamba-style cache specs for
    GDN layers, ``gdn_attention``). ``precision`` is the state's dtype (vLLM's ``mamba_ssm_cache_dtype`` "auto" =
    the model dtype; FP32 where the engine keeps the recurrent state in FP32). 0 for models without such layers.
    """
    if not model.linear_attention_layers:
        return 0.0
    key_width = model.linear_num_key_heads * model.linear_key_head_dim
    value_width = model.linear_num_value_heads * model.linear_value_head_dim
    recurrent = model.linear_num_value_heads * model.linear_key_head_dim * model.linear_value_head_dim
    conv = max(model.linear_conv_kernel_dim - 1, 0) * (2 * key_width + value_width)
    return float(model.linear_attention_layers * (recurrent + conv)) * precision.value.bytes_per_param


@lru_cache(maxsize=4096)  # pure, asked at every decode step the capacity search tries
def state_bytes_per_sequence_per_gpu(model: ModelSpec, precision: Precision, tp: int, pp: int) -> float:
    """Per-sequence linear-attention state held by one GPU of a TP x PP replica: TP splits the heads (up to the
    key-head count, beyond which they are replicated, as KV heads are), PP splits the layers."""
    whole = state_bytes_per_sequence(model, precision)
    shards = max(1, min(tp, model.linear_num_key_heads))
    return whole / shards / pp


@lru_cache(maxsize=16384)  # pure, asked at every decode step (the context is the request shape's)
def kv_bytes_per_token_per_gpu(
    model: ModelSpec, kv_precision: Precision, tp: int, pp: int, context_tokens: int = 0
) -> float:
    """KV bytes per token held by one GPU of a TP x PP replica.

    TP splits KV heads; when TP exceeds the KV-head count, heads are replicated (vLLM), and
    MLA's single latent is replicated on every TP rank. PP splits layers.
    """
    whole = kv_bytes_per_token(model, kv_precision, context_tokens)
    shards = 1 if model.is_mla else min(tp, model.num_kv_heads)
    return whole / shards / pp


def activation_peak_bytes(model: ModelSpec, settings: MemorySettings, tp: int) -> float:
    """Peak activation memory of one forward pass over ``max_batched_tokens`` tokens.

    Per token, at the gated MLP's down projection: the residual, the normalized input, the fused gate/up output
    (2 x ffn / TP; vLLM's ``LlamaMLP`` keeps it referenced until it returns), the activated product (ffn / TP) and
    the down projection's full-width output: (3 x hidden + 3 x ffn / TP) values, or a MoE layer's fused-kernel
    workspaces (k x (3 x moe_ffn / TP + hidden)) in place of the MLP's; plus FP32 logits for up to 256 sampled
    sequences (vLLM's profiling run). Checked on vLLM 0.6.4's start-up log of Llama-3.1-8B on an RTX 3090
    (github.com/vllm-project/vllm/issues/10517: ``peak_torch_memory`` 17.06 GiB at a 20,000-token budget and
    17.98 GiB at 29,000, i.e. 0.92 GiB / 9,000 tokens = 110 KB per token, (3 x 4096 + 3 x 14336) x 2 B = 110,592 B;
    the earlier 4 x hidden + 2 x ffn gave 90 KB).
    """
    mlp = 3 * model.intermediate_size / tp
    if model.is_moe:
        # the fused MoE kernel's three workspaces hold, per token and per chosen expert, the gate/up output
        # (2 x moe_intermediate / TP), the activated product (moe_intermediate / TP) and the down projection's
        # full-width output (hidden) before the top-k sum (vLLM fused_moe intermediate_cache1/2/3)
        moe = model.experts_per_token * (3 * model.moe_intermediate_size / tp + model.hidden_size)
        mlp = max(mlp, moe)
    per_token = (3 * model.hidden_size + mlp) * settings.activation_bytes
    logits = 256 * model.vocab_size * 4 / tp
    return settings.max_batched_tokens * per_token + logits


def kv_cache_bytes(
    total: float, weights: float, activations: float, overhead: float, settings: MemorySettings
) -> tuple[float, float]:
    """(memory the engine may use, bytes left for the KV cache) on one GPU, per engine policy.

    - vLLM: ``gpu_memory_utilization`` x total bounds weights + activations + overhead + KV;
    - SGLang: ``mem_fraction_static`` x total holds weights + overhead + KV pool: SGLang sizes the pool from
      the memory still free after loading the weights minus (1 - fraction) x total, so what was allocated
      before (CUDA context, communication buffers: the overhead) is inside the fraction, while activations
      and CUDA graphs, allocated after the pool, live in the remaining (1 - fraction);
    - TensorRT-LLM: ``kv_cache_free_gpu_mem_fraction`` of the memory still free after the
      engine (weights, activations, runtime) has loaded.
    """
    fraction = settings.gpu_memory_utilization
    if settings.memory_mode == "free":
        free = total - weights - activations - overhead
        return total, free * fraction if free > 0 else free
    usable = total * fraction
    if settings.memory_mode == "static":
        return usable, usable - weights - overhead
    return usable, usable - weights - activations - overhead


def estimate_memory(
    model: ModelSpec,
    gpu: GPUSpec,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int = 1,
    settings: MemorySettings = MemorySettings(),
    context_tokens: int = 0,
    attention_dp: int = 1,
) -> MemoryBreakdown:
    """Memory per GPU and the KV-cache capacity of one replica of ``tp x pp`` GPUs.

    With attention data parallelism (``attention_dp`` = d groups of tp/d GPUs, ``core.layout``) each GPU holds a
    copy of its group's attention weights, and each group caches only its own sequences: the replica holds d
    groups' worth of tokens, each token's KV split over the tp/d GPUs of its group."""
    layout = Layout(tp, pp, attention_dp=attention_dp)
    weights = weight_bytes_per_gpu(model, layout, weight_bytes(model, precision), precision.bytes_per_param)
    activations = activation_peak_bytes(model, settings, tp)
    overhead = settings.overhead_gib(gpu.vendor) * GIB
    usable, kv_cache = kv_cache_bytes(gpu.cuda_memory_bytes, weights, activations, overhead, settings)
    kv_per_token = kv_bytes_per_token_per_gpu(model, kv_precision, tp // attention_dp, pp, context_tokens)
    sizing = kv_per_token
    if not settings.indexer_in_sizing:  # the engine divides by the latent alone, then allocates the indexer too
        sizing -= indexer_key_bytes(model) * model.full_attention_layers / pp
    capacity = max(0, math.floor(kv_cache / sizing)) * attention_dp if kv_cache > 0 else 0
    return MemoryBreakdown(
        weights_gib=weights / GIB,
        activations_gib=activations / GIB,
        overhead_gib=overhead / GIB,
        usable_gib=usable / GIB,
        kv_cache_gib=kv_cache / GIB,
        kv_bytes_per_token_per_gpu=kv_per_token,
        kv_capacity_tokens=capacity,
    )


# ---------------------------------------------------------------------------------------------- engine versions
VLLM_V1_DEFAULT_FROM = (0, 8, 0)  # vLLM 0.8.0 made the V1 engine the default (always chunked prefill)
VLLM_ALLOCATED_PEAK_FROM = (0, 6, 4)  # the profiler charges the allocated peak + non-torch memory from 0.6.4 on
VLLM_V0_MIN_BATCHED_TOKENS = 2048  # V0 SchedulerConfig: max_num_batched_tokens = max(max_model_len, 2048)
VLLM_V0_CHUNKED_ABOVE = 32_768  # V0 (0.5+) turns chunked prefill on by default for longer max_model_len
# Non-torch memory vLLM's profiler charges from 0.6.4 on (CUDA context, cuBLAS/NCCL workspaces), as logged:
# 0.11 GiB (A100, TP1, V1; github.com/ovg-project/kvcached pull 448), 0.20 GiB (24 GB cards, TP4, 0.8;
# vllm-project/vllm pull 14447), 1.79 GiB (H100, TP1, 0.6.5; vllm-project/vllm pull 10511): the median.
VLLM_NON_TORCH_GIB = 0.2
SGLANG_INDEXER_SIZING_FROM = "2025-10-09"  # sgl-project/sglang PR 11309 merged: pool sizing counts the DSA indexer
SGLANG_RESERVED_HEURISTIC_FROM = "2025-09-27"  # sgl-project/sglang PR 10975 (opened 2025-09-27): default fraction


def sglang_default_mem_fraction(
    gpu_mem_mib: float, *, tp: int, pp: int = 1, dp: int = 1, dp_attention: bool = False
) -> float:
    """SGLang's ``mem_fraction_static`` when the launch does not set it, from PR 10975 on
    (``server_args._handle_gpu_memory_settings``, "Use more general heuristics to set the default value of
    --mem-fraction-static", 2025-09-27): the GPU's memory (MiB, as nvidia-smi reports it) picks the chunked-prefill
    size and the largest CUDA-graph batch, which reserve ``512 + 1.5 x max(chunk, 2048) + 2 x graph_bs +
    1024 x tp x pp / 8`` MiB, plus ``3 x graph_bs x dp`` with DP attention (and ``1.5 x graph_bs x dp`` more above
    300), at least 10 GiB on GPUs over 60 GiB; the fraction is the rest, rounded to 3 decimals. B200 (183,359 MiB)
    at TP8 with 8-way DP attention: 45,568 MiB reserved, 0.751."""
    gib = 1024
    if gpu_mem_mib < 20 * gib:
        chunk, graph_bs = 2048, 8
    elif gpu_mem_mib < 35 * gib:
        chunk, graph_bs = 2048, (24 if tp < 4 else 80)
    elif gpu_mem_mib < 60 * gib:
        chunk, graph_bs = 4096, (32 if tp < 4 else 160)
    elif gpu_mem_mib < 160 * gib:  # H100, A100-80GB (< 90 GiB); H20, H200: the same settings
        chunk, graph_bs = 8192, (256 if tp < 4 else 512)
    else:  # B200, MI300X
        chunk, graph_bs = 16384, 512
    reserved = 512 + max(chunk, 2048) * 1.5 + graph_bs * 2 + tp * pp / 8 * 1024
    if dp_attention:
        reserved += graph_bs * dp * 3 + (graph_bs * dp * 1.5 if graph_bs > 300 else 0.0)
    if gpu_mem_mib > 60 * gib:
        reserved = max(reserved, 10 * gib)
    return round((gpu_mem_mib - reserved) / gpu_mem_mib, 3)


def vllm_v0_unchunked(version: tuple[int, int, int], max_model_len: int, *, mla: bool) -> bool:
    """Whether a vLLM release runs without chunked prefill by default, so that its profiling pass (and its
    prefill-only steps) cover ``max(max_model_len, 2048)`` tokens (``SchedulerConfig``).

    Only V0 (before 0.8, :data:`VLLM_V1_DEFAULT_FROM`) can: before 0.5 always, from 0.5 on for a ``max_model_len``
    up to 32,768 (longer contexts turn chunked prefill on, ``EngineArgs``), and always for an MLA model
    (DeepSeek-V2/V3/R1): 0.7.1-0.7.3 force it off ("MLA is enabled; forcing chunked prefill and prefix caching
    to be disabled", ``VllmConfig``, in the v0.7.1 and v0.7.3 start-up logs quoted in vllm-project/vllm-ascend
    issue threads and vllm-project/vllm#13374), later V0 builds on ROCm likewise ("MLA is enabled on a non-cuda
    platform; ...", v0.7.4.dev4 on 8 x MI300X, ROCm/vllm#457) and V0 on CUDA leaves it off unless asked for
    ("Chunked prefill not supported for Multimodal or MLA in V0", ``EngineArgs._set_default_args_v0``, vLLM
    0.8-0.9; vllm-project/vllm#12639 made it possible on CUDA in V0 without making it the default)."""
    if version >= VLLM_V1_DEFAULT_FROM:
        return False
    return mla or version < (0, 5, 0) or max_model_len <= VLLM_V0_CHUNKED_ABOVE


def for_engine_release(
    settings: MemorySettings, engine: str, model: ModelSpec, version: tuple[int, int, int] | None, max_model_len: int
) -> MemorySettings:
    """The profiling token budget of the vLLM release a serving question names (``--engine-version``, a
    measurement's engine label), where it differs from the engine's default budget: a V0 release without
    chunked prefill (:func:`vllm_v0_unchunked`) profiles one forward pass over ``max(max_model_len, 2048)``
    tokens, and that activation peak is taken from the KV cache. DeepSeek-R1 (an MLA model, 163,840-token
    context) on vLLM 0.7 at TP8 profiles 163,840 tokens: about 26 GiB of activations per GPU instead of 1.3,
    which on a 141 GB H200 halves the KV cache (about 290k tokens instead of 670k). ``max_model_len``: as
    launched, else the model's context (vLLM's default). What the release's profiler charges besides the
    allocated peak follows it too: from 0.6.4 on, and on the current release (``version`` None: V1), only the
    non-torch memory (:data:`VLLM_NON_TORCH_GIB`), as :func:`for_engine_build` reads the start-up logs of those
    builds; the fitted overhead (logs of pre-0.6.4 builds, whose profiler charged the allocator's cache; per GPU
    vendor, :meth:`MemorySettings.overhead_gib`) stays for older releases."""
    if engine != "vllm":
        return settings
    if version is None or version >= VLLM_ALLOCATED_PEAK_FROM:  # the current release (V1) charges what it logs
        settings = _non_torch_only(settings)
    if version is not None:
        settings = _v0_profiling_budget(settings, version, max_model_len, mla=model.is_mla)
    return settings


def _non_torch_only(settings: MemorySettings) -> MemorySettings:
    """``settings`` charging only the logged non-torch memory (vLLM 0.6.4+ and V1), on every platform."""
    return dataclasses.replace(settings, runtime_overhead_gib=VLLM_NON_TORCH_GIB, runtime_overhead_by_vendor=())


def _v0_profiling_budget(
    settings: MemorySettings, version: tuple[int, int, int], max_model_len: int, *, mla: bool
) -> MemorySettings:
    """``settings`` with the profiling pass of a vLLM release running without chunked prefill
    (:func:`vllm_v0_unchunked`): ``max(max_model_len, 2048)`` tokens; unchanged otherwise."""
    if vllm_v0_unchunked(version, max_model_len, mla=mla):
        return dataclasses.replace(settings, max_batched_tokens=max(max_model_len, VLLM_V0_MIN_BATCHED_TOKENS))
    return settings


def for_engine_build(
    settings: MemorySettings,
    engine: str,
    *,
    version: tuple[int, int, int] | None = None,
    build_date: str | None = None,
    includes_indexer_sizing: bool = False,
    max_model_len: int | None = None,
    default_fraction: float | None = None,
    mla: bool = False,
) -> MemorySettings:
    """The memory arithmetic of the engine build a start-up log ran, where the log states it.

    vLLM (``version``; ``max_model_len`` as launched):

    - Token budget of the profiling run. V0 (before 0.8) without chunked prefill profiles one forward pass over
      ``max_num_batched_tokens = max(max_model_len, 2048)`` tokens (``SchedulerConfig``); chunked prefill, on by
      default in V0 0.5+ for a ``max_model_len`` above 32,768 and always in V1, bounds it instead (the engine's
      default budget is kept). The RTX 3090 logs of issue 10517 show it: the profiling peak grows by 0.92 GiB
      from a 20,000- to a 29,000-token ``max_model_len`` and the cache shrinks by as much.
      An MLA model (``mla``: DeepSeek) runs unchunked on every V0 release (:func:`vllm_v0_unchunked`).
    - What the profiler charges. Up to 0.6.3 the KV budget is ``gpu_memory_utilization x total`` minus the
      device memory in use after the profiling run (0.2.x: ``total - free``; 0.4-0.6.3: ``initial free - free``),
      which also counts the PyTorch allocator's cached blocks, runtime workspaces and communication buffers: the
      engine's overhead fitted to such logs stands for them, per platform (CUDA logs leave about 1 GiB, the ROCm
      ones about 2.8; :meth:`MemorySettings.overhead_gib`). From 0.6.4 on
      (``worker.py`` "Memory profiling results: ... peak_torch_memory ... non_torch_memory") and in V1 it is
      ``utilization x total - weights - allocated activation peak - non-torch memory``: the overhead is the
      logged non-torch memory, :data:`VLLM_NON_TORCH_GIB`.

    SGLang (``build_date`` YYYY-MM-DD or ``includes_indexer_sizing`` for a branch that carries the change): before
    PR 11309 (merged 2025-10-09) ``profile_max_num_token`` divided the memory by the MLA latent's bytes alone
    while ``NSATokenToKVPool`` also allocates the indexer key per token, so V3.2's pool held 20% more tokens than
    its fraction allowed ("KV size including index is actually 65.49 GB" for a logged 54.52 GB). From PR 10975 on
    (builds dated 2025-09-27 or later) a launch that does not set ``mem_fraction_static`` gets
    :func:`sglang_default_mem_fraction`, passed in as ``default_fraction`` by the caller that knows the GPU and
    layout (None: the fraction is stated, or the build predates the heuristic).
    """
    if engine == "vllm" and version is not None:
        if max_model_len is not None:
            settings = _v0_profiling_budget(settings, version, max_model_len, mla=mla)
        if version >= VLLM_ALLOCATED_PEAK_FROM:
            settings = _non_torch_only(settings)
    if engine == "sglang" and build_date is not None:
        if not includes_indexer_sizing:
            settings = dataclasses.replace(settings, indexer_in_sizing=build_date >= SGLANG_INDEXER_SIZING_FROM)
        if default_fraction is not None and build_date >= SGLANG_RESERVED_HEURISTIC_FROM:
            settings = dataclasses.replace(settings, gpu_memory_utilization=default_fraction)
    return settings
