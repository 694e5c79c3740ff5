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
- Where a start-up log states the engine's version, ``core.engine_releases.for_engine_build`` applies that version's arithmetic
  (vLLM's profiling token budget and what its profiler charges; whether SGLang's pool sizing counts the DSA
  indexer key).
The seed's "2 x layers x hidden x context" KV formula ignores GQA and overstates Llama-3-70B by 8x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache, lru_cache

from .layout import Layout, weight_bytes_per_gpu
from .params import count_parameters
from .specs import GIB, EngineSpec, GPUSpec, LargeGPUDefault, ModelSpec, Precision


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
    # the engine's budget on large GPUs, in place of max_batched_tokens there (vLLM 0.9+: 8192 on 70 GiB+ GPUs but
    # A100, 2048 elsewhere); None when one budget holds on every GPU (another engine, or a release before the rule)
    large_gpu_budget: LargeGPUDefault | None = None
    activation_bytes: float = 2.0  # activations are BF16/FP16 whatever the weight format
    # How the engine's memory fraction is applied (see kv_cache_bytes):
    # "total" (vLLM gpu_memory_utilization), "static" (SGLang mem_fraction_static),
    # "free" (TensorRT-LLM kv_cache_free_gpu_mem_fraction).
    memory_mode: str = "total"
    kv_reservation: str = "used"  # EngineSpec.kv_reservation: "used" (tokens held) or "full" (prompt + max output)
    # Whether the engine's pool sizing counts the DeepSeek Sparse Attention indexer key per token (it is allocated
    # either way): SGLang before PR 11309 sized the pool from the MLA latent alone (see for_engine_build).
    indexer_in_sizing: bool = True
    # Where the fraction is the engine's default and that default follows the replica's layout and GPU (SGLang's
    # mem_fraction_static; EngineSpec.default_fraction_rule): the rule of the release asked for, which
    # core.engine_releases.default_fraction_on resolves per replica; None: gpu_memory_utilization holds as it is
    # (given by the user or a row's notes, or an engine with one default)
    default_fraction_rule: str | None = None
    # Where the step budget is the engine's default and that default follows the release and GPU (SGLang's
    # chunked_prefill_size; EngineSpec.step_budget_rule): "sglang" (the current release) or "sglang@0.4.7" (the
    # release asked for), which core.engine_releases.step_budget_on resolves per replica; None: max_batched_tokens
    step_budget_rule: str | None = None
    # Where the engine divides its step budget among attention-DP ranks (SGLang: chunked_prefill_size // dp, whether
    # the chunk is its default or launched): "sglang" or "sglang@0.4.1", which core.engine_releases.rank_chunk_tokens
    # reads; None: each scheduler steps the whole budget. Kept apart from step_budget_rule, which a resolved or
    # stated budget clears. Sizes no memory: the prefill chunk of a DP rank (ReplicaConfig.rank_chunk_tokens)
    dp_chunk_rule: str | None = None

    @classmethod
    def for_engine(
        cls,
        engine: EngineSpec,
        gpu_memory_utilization: float | None = None,
        large_gpu: LargeGPUDefault | None = None,
    ) -> MemorySettings:
        """The engine's memory policy; ``gpu_memory_utilization`` None = the engine's default fraction;
        ``large_gpu``: the engine's large-GPU defaults for the release asked (``catalog.loader.large_gpu_rule``),
        whose step budget replaces the plain one on those GPUs (:meth:`on_gpu`)."""
        budget_rule = large_gpu if large_gpu is not None and large_gpu.max_batched_tokens is not None else None
        return cls(
            gpu_memory_utilization=engine.default_memory_fraction
            if gpu_memory_utilization is None
            else gpu_memory_utilization,
            runtime_overhead_gib=engine.runtime_overhead_gib,
            runtime_overhead_by_vendor=engine.runtime_overhead_by_vendor,
            max_batched_tokens=engine.max_batched_tokens,
            memory_mode=engine.memory_mode,
            kv_reservation=engine.kv_reservation,
            large_gpu_budget=budget_rule,
            default_fraction_rule=(engine.default_fraction_rule or None) if gpu_memory_utilization is None else None,
            step_budget_rule=engine.step_budget_rule or None,
            dp_chunk_rule=engine.step_budget_rule or None,  # the same engine (SGLang) and rule name, by release
        )

    def on_gpu(self, gpu: GPUSpec) -> MemorySettings:
        """These settings with the step budget the engine defaults to on ``gpu``: vLLM's OpenAI server (0.9+)
        profiles and chunks prefills by 8192 tokens on a GPU of 70 GiB or more that is not an A100, by 2048 on the
        others; the activation peak and the prefill chunks (``ReplicaConfig.chunk_tokens``) follow it."""
        rule = self.large_gpu_budget
        if rule is None:
            return self
        return replace(self, max_batched_tokens=rule.budget_on(gpu, self.max_batched_tokens), large_gpu_budget=None)

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
    attention_dp: int = 1  # attention data-parallel groups, each caching only its own sequences (core.layout)

    @property
    def fits(self) -> bool:
        return self.kv_cache_gib > 0.0

    @property
    def sequence_pool_tokens(self) -> int:
        """The most KV tokens one sequence can hold: with attention data parallelism a sequence lives in one group's
        pool (vLLM runs one engine core per DP rank, each checking that its own cache holds ``max_model_len``), so
        the replica's capacity over the groups, not the whole of it."""
        return self.kv_capacity_tokens // max(1, self.attention_dp)


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
        attention_dp=attention_dp,
    )
