"""Typed, frozen descriptions of what gpucast plans for: models, GPUs, precisions.

The core never sees dicts or files: catalog loaders and adapters build these
objects once at the boundary (validated), and every formula takes them as input.
Units are in the field names (``_gib``, ``_tb_s``, ``_tflops``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any

GIB = 2**30
GB = 1e9


def hash_fields_once(spec: Any) -> int:
    """A frozen dataclass's hash, computed once and kept on the instance (``__hash__ = hash_fields_once`` in the
    class body): for specs the planner's memoised physics looks up many thousands of times per plan."""
    cached: int | None = spec.__dict__.get("_hash")
    if cached is None:
        cached = hash(tuple(getattr(spec, f.name) for f in fields(spec)))
        object.__setattr__(spec, "_hash", cached)
    return cached


def state_without_hash(spec: Any) -> dict[str, object]:
    """Pickle state without the hash :func:`hash_fields_once` kept: string hashes differ between processes."""
    return {k: v for k, v in spec.__dict__.items() if k != "_hash"}


@dataclass(frozen=True)
class PrecisionSpec:
    """How a number format stores weights and which tensor-core path computes with it.

    ``bytes_per_param`` is the storage size; ``scale_overhead_fraction`` is the extra
    storage for quantization scales/zero points (INT4 group-128 with an FP16 scale and
    zero per group: 2*2 bytes / 64 bytes of weights = ~3%, AWQ/GPTQ layout).
    ``compute_key`` names the GPU peak (``dense_tflops`` key) used for matmuls; weight-only
    formats (INT4 AWQ/GPTQ) dequantize and compute in FP16, and FP4 uses FP4 tensor cores
    only where the GPU has them (Blackwell), otherwise it runs as weight-only in FP16.
    """

    bytes_per_param: float
    compute_key: str
    scale_overhead_fraction: float = 0.0
    weight_only: bool = False


class Precision(Enum):
    """Supported number formats; the value carries the numbers (aiconfigurator QuantMapping)."""

    FP32 = PrecisionSpec(4.0, "fp32")
    FP16 = PrecisionSpec(2.0, "fp16")
    BF16 = PrecisionSpec(2.0, "bf16")
    FP8 = PrecisionSpec(1.0, "fp8", scale_overhead_fraction=0.0)
    INT8 = PrecisionSpec(1.0, "int8", scale_overhead_fraction=0.0)
    INT4 = PrecisionSpec(0.5, "fp16", scale_overhead_fraction=0.03, weight_only=True)
    # NVFP4: one FP8 (E4M3) scale per block of 16 FP4 values (8 bytes) = +12.5% (NVIDIA's Blackwell format;
    # "FP4" names it). MXFP4 (OCP Microscaling, gpt-oss's experts): one E8M0 scale per 32 values = +6.25%.
    # Both use FP4 tensor cores where the GPU has them (Blackwell), else they run weight-only in 16-bit.
    FP4 = PrecisionSpec(0.5, "fp4", scale_overhead_fraction=0.125)
    NVFP4 = PrecisionSpec(0.5, "fp4", scale_overhead_fraction=0.125)  # an alias of FP4 (same value)
    MXFP4 = PrecisionSpec(0.5, "fp4", scale_overhead_fraction=0.0625)

    @property
    def bytes_per_param(self) -> float:
        return self.value.bytes_per_param * (1.0 + self.value.scale_overhead_fraction)

    @property
    def spec(self) -> PrecisionSpec:
        return self.value


PRECISION_NAMES = tuple(Precision.__members__)  # aliases included (NVFP4 = FP4)


@dataclass(frozen=True)
class ModelSpec:
    """Transformer architecture, as in a Hugging Face ``config.json``.

    Attention: ``num_kv_heads < num_heads`` is GQA. MLA (DeepSeek-V2/V3) is described
    by ``kv_lora_rank`` > 0 with ``q_lora_rank``, ``qk_nope_head_dim``,
    ``qk_rope_head_dim`` and ``v_head_dim``.
    MoE: ``num_experts`` > 0 routed experts of width ``moe_intermediate_size``,
    ``experts_per_token`` active, ``num_shared_experts`` always-on experts of width
    ``shared_expert_intermediate_size`` (0 = same as ``moe_intermediate_size``);
    the first ``first_dense_layers`` layers are dense, and after that every
    ``moe_layer_step``-th layer is MoE (1 = all, 2 = alternate, Llama-4 Maverick).
    Sliding window: ``sliding_window`` tokens on ``sliding_window_layers`` of the
    layers (Gemma-2 alternates: half of them; Gemma-3: 5 of every 6; gpt-oss: half; Mistral-7B v0.1: all).
    Attention sinks (gpt-oss): one learned sink logit per head and layer (``attention_sinks``).
    Gated attention (Qwen3-Next): ``attention_output_gate`` = q_proj also emits a per-channel output gate.
    Linear attention (Qwen3-Next's Gated DeltaNet): ``linear_attention_layers`` of the layers keep no per-token
    KV but a fixed recurrent state per sequence (``linear_num_value_heads`` x ``linear_key_head_dim`` x
    ``linear_value_head_dim``) and a short-convolution state (``linear_conv_kernel_dim`` - 1 rows).
    DeepSeek Sparse Attention (DeepSeek-V3.2): a lightning indexer of ``index_n_heads`` heads of
    ``index_head_dim`` caches one ``index_head_dim`` key per token and layer beside the MLA latent and
    selects ``index_topk`` tokens per query.
    """

    id: str
    name: str
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool = False
    gated_mlp: bool = True
    attention_bias: bool = False
    mlp_bias: bool = False
    norms_per_layer: int = 2
    max_context: int = 4096
    # MoE
    num_experts: int = 0
    experts_per_token: int = 0
    num_shared_experts: int = 0
    moe_intermediate_size: int = 0
    shared_expert_intermediate_size: int = 0
    first_dense_layers: int = 0
    moe_layer_step: int = 1
    # MLA
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    # sliding window attention
    sliding_window: int = 0
    sliding_window_layers: int = 0
    # attention sinks (gpt-oss): one learned logit per head and layer
    attention_sinks: bool = False
    # gated attention output (Qwen3-Next): q_proj is 2 x heads x head_dim wide (query + sigmoid gate)
    attention_output_gate: bool = False
    # linear attention (Gated DeltaNet, Qwen3-Next): layers with a fixed per-sequence state instead of a KV cache
    linear_attention_layers: int = 0
    linear_num_key_heads: int = 0
    linear_num_value_heads: int = 0
    linear_key_head_dim: int = 0
    linear_value_head_dim: int = 0
    linear_conv_kernel_dim: int = 0
    # DeepSeek Sparse Attention (DeepSeek-V3.2): lightning indexer
    index_n_heads: int = 0
    index_head_dim: int = 0
    index_topk: int = 0
    # catalog metadata
    # precision of the published weights when the official checkpoint itself is quantized (a Precision name, e.g.
    # "FP8" for DeepSeek-V3/R1, from config.json's quantization_config); "" = 16-bit, no stated format.
    # A plan or estimate without a precision uses it (inputs.resolve_precision).
    checkpoint_precision: str = ""
    hf_id: str = ""
    aliases: tuple[str, ...] = ()
    published_params_b: float = 0.0
    source: str = ""
    as_of: str = ""
    note: str = ""

    # the planner's cached physics (parameter counts, weight bytes) looks a spec up tens of thousands of times per
    # plan, and hashing 35 fields each time was 15% of a plan
    __hash__ = hash_fields_once
    __getstate__ = state_without_hash

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def has_sparse_indexer(self) -> bool:
        """DeepSeek Sparse Attention: a lightning indexer caches its own key per token and layer."""
        return self.index_head_dim > 0

    @property
    def full_attention_layers(self) -> int:
        """Layers whose KV cache grows with the whole context (not sliding-window, not linear attention)."""
        return self.num_layers - self.sliding_window_layers - self.linear_attention_layers


PRE_AMPERE_FAMILIES = ("volta", "turing")  # NVIDIA compute capability below 8.0 (GPUSpec.weights_problem)


@dataclass(frozen=True)
class GPUSpec:
    """One accelerator, in SI units as the vendor states them (dense, no sparsity)."""

    id: str
    name: str
    vendor: str
    family: str
    form_factor: str
    memory_gib: float
    memory_bandwidth_tb_s: float
    interconnect: str
    interconnect_bandwidth_gb_s: float
    gpus_per_node: int
    dense_tflops: dict[str, float] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    tdp_w: float = 0.0
    source: str = ""
    as_of: str = ""
    # What the driver reports to CUDA as the device's total (cudaMemGetInfo, torch's total_gpu_memory), where a
    # start-up log states it: the driver keeps part of the board memory, and engines size their fractions from
    # this figure. 0 = memory_gib (for GPUs without a log the engines' fitted runtime overhead absorbs it).
    cuda_memory_gib: float = 0.0

    def __hash__(self) -> int:
        """Hashable despite its ``dense_tflops`` dict (never changed once loaded), hashed once like
        :class:`ModelSpec`: the planner's memoized replica estimates are keyed by the GPU."""
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            values = (getattr(self, f.name) for f in fields(self))
            cached = hash(tuple(tuple(sorted(v.items())) if isinstance(v, dict) else v for v in values))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the cached hash: string hashes differ between processes."""
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    @property
    def memory_bytes(self) -> float:
        return self.memory_gib * GIB

    @property
    def cuda_memory_bytes(self) -> float:
        """The total an engine sizes its memory fraction from (``cuda_memory_gib``, else the board memory)."""
        return (self.cuda_memory_gib or self.memory_gib) * GIB

    def supports(self, compute_key: str) -> bool:
        return self.dense_tflops.get(compute_key, 0.0) > 0.0

    def weights_problem(self, precision: Precision) -> str | None:
        """Why no serving engine runs ``precision`` weights on this GPU, or None. FP8 and FP4 weights run on GPUs
        without those tensor cores only as weight-only GEMMs (Marlin), which need compute capability 8.0 (Ampere):
        vLLM's FP8 docs ("W8A16 ... on compute capability 8.0+"), SGLang and TensorRT-LLM alike; a T4 or V100 plan at
        FP8 was the cheapest row of `compare --precisions FP8` and one no engine could launch."""
        if self.vendor != "nvidia" or self.family not in PRE_AMPERE_FAMILIES:
            return None
        if precision.name not in ("FP8", "FP4", "MXFP4"):
            return None
        return (
            f"{self.family.capitalize()} GPUs run no {precision.name} weights: engines' FP8/FP4 kernels, weight-only "
            "ones included, need an Ampere or newer GPU; use FP16, INT8 or INT4 (GPTQ/AWQ)"
        )

    def peak_flops(self, compute_key: str) -> float:
        """Dense peak FLOP/s for a compute path, falling back to the FP16 path.

        Weight-only formats (and FP8/FP4 on GPUs without those units) run their
        matmuls in FP16/BF16 after dequantization, so the FP16 peak applies.
        """
        for key in (compute_key, "fp16", "bf16", "fp32"):
            tflops = self.dense_tflops.get(key, 0.0)
            if tflops > 0.0:
                return tflops * 1e12
        return 0.0


@dataclass(frozen=True)
class LargeGPUDefault:
    """Engine defaults that differ on large GPUs: vLLM (since 0.9) runs up to 1024 sequences, not 256, and a step
    budget of 8192 tokens, not 2048 (the OpenAI server's ``max_num_batched_tokens``), on a GPU whose device memory is
    at least 70 GiB unless it is an A100 (``EngineArgs.get_batch_defaults``, vllm-project/vllm#17885: "Setting large
    `max_num_batched_tokens` for A100 reduces throughput"). From 0.28.0 a top tier steps by 16384 tokens on GPUs of
    160 GiB or more (B200, B300, MI300X, MI325X, MI355X; "for GPUs like B200/B300 with >= 160GB memory, use the
    largest defaults", ``get_batch_defaults`` of the 0.28.0 wheel; 0.27.1 has two tiers), with no name exclusion."""

    max_num_seqs: int
    min_gib: float  # device memory as the runtime reports it (GPUSpec.cuda_memory_bytes)
    excluded: tuple[str, ...] = ()  # GPU name fragments the rule skips ("a100")
    since: str = ""  # the first release with it; older releases keep the engine's plain default
    max_batched_tokens: int | None = None  # the per-step token budget there; None: the plain one on every GPU
    # the top tier's step budget on GPUs of at least top_min_gib, from top_since on (catalog.loader.large_gpu_rule
    # drops it for older releases); None: no top tier
    top_max_batched_tokens: int | None = None
    top_min_gib: float = 0.0
    top_since: str = ""
    top_since_date: str = ""  # YYYY-MM-DD of top_since: a label stating only an earlier year predates the tier

    def applies(self, gpu: GPUSpec) -> bool:
        name = f"{gpu.id} {gpu.name}".lower()
        return gpu.cuda_memory_bytes >= self.min_gib * GIB and not any(part in name for part in self.excluded)

    def limit_on(self, gpu: GPUSpec, plain: int) -> int:
        """The sequence limit on ``gpu``: this default where the rule applies, else ``plain`` (the engine's own)."""
        return self.max_num_seqs if self.applies(gpu) else plain

    def budget_on(self, gpu: GPUSpec, plain: int) -> int:
        """The per-step token budget (chunked prefill) on ``gpu``: the top tier's on a GPU of ``top_min_gib`` or
        more, else this default where the rule applies and has one, else ``plain``."""
        if self.top_max_batched_tokens is not None and gpu.cuda_memory_bytes >= self.top_min_gib * GIB:
            return self.top_max_batched_tokens
        return self.max_batched_tokens if self.max_batched_tokens is not None and self.applies(gpu) else plain


@dataclass(frozen=True)
class EngineSpec:
    """A serving engine's memory policy and default limits (catalog ``engines.toml``)."""

    id: str
    name: str
    version: str
    memory_mode: str  # "total" | "static" | "free": how the memory fraction applies
    default_memory_fraction: float
    max_num_seqs: int
    max_batched_tokens: int
    runtime_overhead_gib: float
    aliases: tuple[str, ...] = ()
    # (GPU vendor, GiB) where the overhead differs by platform, in place of ``runtime_overhead_gib`` on that vendor's
    # GPUs: vLLM builds before 0.6.4 charge what the CUDA or ROCm runtime holds besides the allocated peak, which the
    # start-up logs of each platform fit separately (scripts/fit_runtime_overhead.py); () = one value for all
    runtime_overhead_by_vendor: tuple[tuple[str, float], ...] = ()
    source: str = ""
    as_of: str = ""
    # whether the engine keeps only the window on sliding-window layers (KV cache and attention); False: it
    # caches and attends the full context unless told otherwise (TensorRT-LLM's max_attention_window default)
    sliding_window_kv: bool = True
    # KV the scheduler sets aside per running sequence: "used" = the blocks it holds as it grows (vLLM, SGLang,
    # LMDeploy: admit on the current length, preempt under pressure); "full" = prompt + maximum output reserved
    # at admission (TensorRT-LLM's default GUARANTEED_NO_EVICT capacity scheduler, which never pauses a request)
    kv_reservation: str = "used"
    # whether an FP8 model runs with an FP8 KV cache unless told otherwise: NVIDIA ModelOpt FP8 checkpoints, which
    # TensorRT-LLM and NIM serve, set kv_cache_quant_algo FP8; vLLM/SGLang keep kv_cache_dtype "auto" (16-bit)
    fp8_kv_with_fp8_weights: bool = False
    # whether the engine starts when its KV cache holds fewer tokens than the context length (SGLang: it caps the
    # prompt length) or refuses (vLLM: "max seq len ... is larger than the maximum number of tokens that can be
    # stored in KV cache")
    starts_with_short_kv: bool = False
    # how the engine's default memory fraction follows the replica when the user sets none: "sglang" (its
    # mem_fraction_static by release, TP and GPU memory: core.engine_releases.default_fraction_on); "" = one default
    # (default_memory_fraction) on every GPU and layout
    default_fraction_rule: str = ""
    # how the engine's default step budget follows the release and the GPU: "sglang" (its chunked_prefill_size by
    # release and GPU memory: core.engine_releases.sglang_chunked_prefill_size); "" = max_batched_tokens, and the
    # large_gpu rule where there is one. It also names how the engine divides that budget, stated or default, over
    # attention-DP ranks (SGLang: chunked_prefill_size // dp; core.engine_releases.rank_chunk_tokens)
    step_budget_rule: str = ""
    # the first release that runs MLA + MoE models (DeepSeek-V3/R1) on FlashMLA/DeepGEMM-class kernels; an older
    # ``engine_version`` runs them on the early Triton kernels (core.engine_era.EARLY_MLA_MOE); "" = no earlier era known
    mla_moe_kernels_since: str = ""
    # the OpenAI-compatible server's own time per request (core.perf.Efficiency.frontend_s) where a published
    # measurement gives it (``frontend_source``, ``frontend_as_of``); None = fitted (scripts/calibrate_frontend.py)
    # or none. scripts/calibrate.py copies it into calibration.toml, which is what the planner reads.
    frontend_ms: float | None = None
    frontend_source: str = ""
    frontend_as_of: str = ""
    # the GPU vendors (GPUSpec.vendor) the engine runs on; () = any. TensorRT-LLM and NIM are CUDA-only, so a plan
    # must never put them on an AMD Instinct GPU
    vendors: tuple[str, ...] = ()
    # a default limit that differs on large GPUs (engines.toml [engines.<id>.large_gpu]); None = one default
    large_gpu: LargeGPUDefault | None = None

    def runs_on(self, gpu: GPUSpec) -> bool:
        """Whether the engine runs on ``gpu`` at all (its vendor's software stack)."""
        return not self.vendors or gpu.vendor in self.vendors

    def default_kv_precision(self, precision: Precision) -> Precision:
        """The KV cache dtype the engine uses for ``precision`` weights when none is given: the activation
        dtype (16-bit unless FP32), or FP8 for FP8 weights on engines whose FP8 checkpoints quantize the KV."""
        if precision is Precision.FP8 and self.fp8_kv_with_fp8_weights:
            return Precision.FP8
        if precision in (Precision.FP32, Precision.FP16, Precision.BF16):
            return precision
        return Precision.BF16

    def __post_init__(self) -> None:
        if self.kv_reservation not in ("used", "full"):
            raise TypeError(f"kv_reservation {self.kv_reservation!r} is not one of used, full")
        if self.frontend_ms is not None and not (
            self.frontend_ms >= 0 and self.frontend_source and self.frontend_as_of
        ):
            raise TypeError("frontend_ms needs a value >= 0, frontend_source and frontend_as_of")

    def serves(self, model: ModelSpec) -> ModelSpec:
        """``model`` as this engine runs it: without its sliding window when the engine does not apply one."""
        if self.sliding_window_kv or not model.sliding_window_layers:
            return model
        return replace(model, sliding_window=0, sliding_window_layers=0)


# Inter-node bandwidth per GPU (one 400 Gb/s NDR InfiniBand / RoCE NIC per GPU on HGX H100/H200/B200 and MI300X
# platforms, 200 Gb/s HDR on A100 HGX): NVIDIA DGX H100/B200 and AMD MI300X platform reference architectures.
NETWORK_GBIT_S = {"blackwell": 400.0, "hopper": 400.0, "cdna3": 400.0, "ampere": 200.0}
DEFAULT_NETWORK_GBIT_S = 100.0


def network_gb_s(gpu: GPUSpec, gbit_s: float = 0.0) -> float:
    """GB/s one GPU sends to other nodes: ``gbit_s`` when given, else its family's NIC speed."""
    return (gbit_s or NETWORK_GBIT_S.get(gpu.family, DEFAULT_NETWORK_GBIT_S)) / 8.0
