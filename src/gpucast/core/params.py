"""Parameter counts from a transformer's architecture (pure, standard library only).

The count follows the tensors that the Hugging Face ``transformers`` modeling code creates
for each family (``modeling_llama.py``, ``modeling_mistral.py``, ``modeling_mixtral.py``,
``modeling_qwen2.py``, ``modeling_qwen3(_moe).py``, ``modeling_gemma2.py``,
``modeling_llama4.py``, ``modeling_deepseek_v3.py``, ``modeling_gptj.py``), i.e. what
``sum(p.numel() for p in model.parameters())`` reports for the text model:

- attention, GQA: q ``hidden x heads x head_dim``, k and v ``hidden x kv_heads x head_dim``
  each, o ``heads x head_dim x hidden``; ``attention_bias`` adds the q/k/v biases (Qwen2);
- attention, MLA (DeepSeek-V2/V3): q_a ``hidden x q_lora_rank`` + its norm ``q_lora_rank``
  + q_b ``q_lora_rank x heads x (qk_nope + qk_rope)`` (without a q LoRA, q is
  ``hidden x heads x (qk_nope + qk_rope)``), kv_a ``hidden x (kv_lora_rank + qk_rope)`` + its
  norm ``kv_lora_rank``, kv_b ``kv_lora_rank x heads x (qk_nope + v_head_dim)``, and o
  ``heads x v_head_dim x hidden``;
- attention extras: gated attention (Qwen3-Next) doubles q (``2 x heads x head_dim``: query and
  output gate); attention sinks (gpt-oss) add ``heads`` a layer; DeepSeek Sparse Attention's
  lightning indexer (V3.2, ``modeling_deepseek_v32``/DeepSeek's inference code) adds wq_b
  ``q_lora_rank x index_heads x index_dim``, wk ``hidden x index_dim``, its LayerNorm
  ``2 x index_dim`` and weights_proj ``hidden x index_heads``;
- linear attention (Qwen3-Next's Gated DeltaNet, ``modeling_qwen3_next.py``), with key width
  ``kd = key_heads x key_dim`` and value width ``vd = value_heads x value_dim``: in_proj_qkvz
  ``hidden x (2 kd + 2 vd)``, in_proj_ba ``hidden x 2 value_heads``, the depthwise conv1d
  ``(2 kd + vd) x conv_kernel``, dt_bias and A_log ``value_heads`` each, the gated norm
  ``value_dim`` and out_proj ``vd x hidden``; it replaces the attention of those layers;
- MLP: gated (SwiGLU/GeGLU) ``3 x hidden x ffn``, plain ``2 x hidden x ffn``, plus the
  biases when ``mlp_bias`` (GPT-J ``ffn + hidden``; gated, gpt-oss's experts: ``2 x ffn + hidden``);
- MoE layer: router ``hidden x experts`` + ``experts x 3 x hidden x moe_ffn`` + shared
  experts ``shared x 3 x hidden x shared_ffn`` (``shared_ffn`` defaults to ``moe_ffn``);
- ``norms_per_layer x hidden`` per layer (a LayerNorm with a bias counts as two), then the
  input embedding ``vocab x hidden``, an untied lm_head ``vocab x hidden`` and a final norm.

Layer ``i`` is an MoE layer iff the model has experts, ``i >= first_dense_layers`` and
``(i - first_dense_layers) % moe_layer_step == moe_layer_step - 1`` (DeepSeek-V3's
``first_k_dense_replace``; Llama-4's ``interleave_moe_layer_step``: Maverick's odd layers).
Active parameters per token drop the routed experts a token does not visit:
``total - (experts - top_k) x expert_params x moe_layers`` (embeddings count as active,
as model cards do: DeepSeek-V3 37B, Mixtral-8x7B 12.9B).

Not counted (all < 0.01% of any catalog model): Qwen3's per-head q/k RMSNorms
(``2 x head_dim`` a layer), DeepSeek-V3's router score-correction bias (``experts`` a
layer) and multi-token-prediction module (not used for serving), LayerNorm biases of the
final norm, GPT-J's lm_head bias (``vocab``), rotary buffers (not parameters), gpt-oss's
o_proj and router biases (``hidden + experts`` a layer), Qwen3-Next's shared-expert gate
(``hidden`` a layer).

Why not the seed's "parameters = model size" shortcut: a name is a rounded label, not a
count (Llama-2-7B has 6.74B, Llama-2-70B 69.0B, Llama-3-8B 8.03B), it cannot tell an
MoE model's total weights (memory) from its active weights (compute, bandwidth), and it
cannot separate the embeddings, which quantized formats keep in 16-bit. The KV cache and
attention FLOPs need the architecture anyway, so the parameter count comes from it too.
A bare size (``--model-size 70``) is mapped to a documented representative architecture
by :func:`representative_dense_model`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from .specs import ModelSpec

__all__ = [
    "ParamCount",
    "count_parameters",
    "expert_parameters",
    "is_moe_layer",
    "num_moe_layers",
    "representative_dense_model",
]

MAX_REPRESENTATIVE_SIZE_B = 2000.0  # largest bare size accepted (2T parameters)
_DEPTH_FIT_FRACTION = 0.01  # a reference shape is used if its depth can match within 1%


@dataclass(frozen=True)
class ParamCount:
    """Parameters of one model: all of them, those used per token, and the embeddings."""

    total: int  # all parameters
    active: int  # parameters used per token (MoE: shared + top-k experts + dense parts)
    embedding: int  # input embedding (+ untied lm_head)

    @property
    def non_embedding(self) -> int:
        return self.total - self.embedding


def is_moe_layer(model: ModelSpec, layer_index: int) -> bool:
    """Whether 0-based layer ``layer_index`` holds routed experts (see module docstring)."""
    if model.num_experts <= 0 or layer_index < model.first_dense_layers:
        return False
    step = model.moe_layer_step
    if step < 1:
        raise ValueError(f"{model.id}: moe_layer_step must be >= 1, got {step}")
    return (layer_index - model.first_dense_layers) % step == step - 1


@cache  # pure function of a frozen spec, asked on every decode step
def num_moe_layers(model: ModelSpec) -> int:
    """How many of the model's layers are MoE layers."""
    return sum(1 for i in range(model.num_layers) if is_moe_layer(model, i))


def expert_parameters(model: ModelSpec) -> int:
    """Parameters of one routed expert (a gated MLP of width ``moe_intermediate_size``, with its
    gate/up and down biases when ``mlp_bias``: gpt-oss)."""
    if not model.is_moe:
        return 0
    weights = 3 * model.hidden_size * model.moe_intermediate_size
    return weights + (2 * model.moe_intermediate_size + model.hidden_size if model.mlp_bias else 0)


def _linear_attention_parameters(model: ModelSpec) -> int:
    """One Gated DeltaNet layer (Qwen3-Next), see the module docstring."""
    h = model.hidden_size
    value_heads = model.linear_num_value_heads
    key_width = model.linear_num_key_heads * model.linear_key_head_dim
    value_width = value_heads * model.linear_value_head_dim
    in_proj = h * (2 * key_width + 2 * value_width) + h * 2 * value_heads
    conv = (2 * key_width + value_width) * model.linear_conv_kernel_dim
    return in_proj + conv + 2 * value_heads + model.linear_value_head_dim + value_width * h


def _indexer_parameters(model: ModelSpec) -> int:
    """DeepSeek Sparse Attention's lightning indexer, one layer (see the module docstring)."""
    if not model.has_sparse_indexer:
        return 0
    h, dim, heads = model.hidden_size, model.index_head_dim, model.index_n_heads
    q_in = model.q_lora_rank if model.q_lora_rank > 0 else h
    return q_in * heads * dim + h * dim + 2 * dim + h * heads


def _attention_parameters(model: ModelSpec) -> int:
    """One softmax-attention layer (GQA or MLA), with its sinks, output gate and sparse indexer."""
    extras = _indexer_parameters(model) + (model.num_heads if model.attention_sinks else 0)
    return _core_attention_parameters(model) + extras


def _core_attention_parameters(model: ModelSpec) -> int:
    h = model.hidden_size
    heads = model.num_heads
    if model.is_mla:
        qk_head = model.qk_nope_head_dim + model.qk_rope_head_dim
        if model.q_lora_rank > 0:
            q = h * model.q_lora_rank + model.q_lora_rank + model.q_lora_rank * heads * qk_head
        else:
            q = h * heads * qk_head
        kv_a = h * (model.kv_lora_rank + model.qk_rope_head_dim) + model.kv_lora_rank
        kv_b = model.kv_lora_rank * heads * (model.qk_nope_head_dim + model.v_head_dim)
        o = heads * model.v_head_dim * h
        return q + kv_a + kv_b + o
    q_width = heads * model.head_dim
    kv_width = model.num_kv_heads * model.head_dim
    q_out = 2 * q_width if model.attention_output_gate else q_width
    params = h * q_out + 2 * h * kv_width + q_width * h
    if model.attention_bias:
        params += q_width + 2 * kv_width
    return params


def _dense_mlp_parameters(model: ModelSpec) -> int:
    h, ffn = model.hidden_size, model.intermediate_size
    params = (3 if model.gated_mlp else 2) * h * ffn
    if model.mlp_bias:
        params += (2 if model.gated_mlp else 1) * ffn + h
    return params


def _moe_mlp_parameters(model: ModelSpec) -> int:
    h = model.hidden_size
    shared_ffn = model.shared_expert_intermediate_size or model.moe_intermediate_size
    router = h * model.num_experts
    routed = model.num_experts * expert_parameters(model)
    shared = model.num_shared_experts * 3 * h * shared_ffn
    return router + routed + shared


@cache  # pure function of a frozen spec; the planner asks thousands of times per plan
def count_parameters(model: ModelSpec) -> ParamCount:
    """Total, per-token active and embedding parameters of ``model`` (text decoder only)."""
    h = model.hidden_size
    linear = model.linear_attention_layers
    attention = (model.num_layers - linear) * _attention_parameters(model)
    attention += linear * _linear_attention_parameters(model)
    norms = model.norms_per_layer * h
    moe_layers = num_moe_layers(model)
    dense_layers = model.num_layers - moe_layers
    mlps = dense_layers * _dense_mlp_parameters(model) + moe_layers * _moe_mlp_parameters(model)
    layers = attention + mlps + model.num_layers * norms
    embedding = model.vocab_size * h * (1 if model.tie_word_embeddings else 2)
    total = layers + embedding + h  # + final norm
    inactive_experts = max(model.num_experts - model.experts_per_token, 0)
    active = total - inactive_experts * expert_parameters(model) * moe_layers
    return ParamCount(total=total, active=active, embedding=embedding)


@dataclass(frozen=True)
class _ReferenceShape:
    """A published dense Llama-style shape; its per-layer width is kept, its depth scaled."""

    name: str
    hf_id: str
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool
    max_context: int
    as_of: str


# Reference shapes, from each model's Hugging Face config.json (the same numbers as the
# catalog). SmolLM2 fills the sub-1B range; the Qwen2.5 shapes fill 10-40B (taken Llama-style,
# i.e. without Qwen's q/k/v biases, 0.01% of their size).
# fmt: off
_REFERENCE_SHAPES: tuple[_ReferenceShape, ...] = (
    _ReferenceShape(name="SmolLM2-135M", hf_id="HuggingFaceTB/SmolLM2-135M", as_of="2024-10-31",
                    num_layers=30, hidden_size=576, num_heads=9, num_kv_heads=3,
                    head_dim=64, intermediate_size=1536, vocab_size=49152,
                    tie_word_embeddings=True, max_context=8192),
    _ReferenceShape(name="SmolLM2-360M", hf_id="HuggingFaceTB/SmolLM2-360M", as_of="2024-10-31",
                    num_layers=32, hidden_size=960, num_heads=15, num_kv_heads=5,
                    head_dim=64, intermediate_size=2560, vocab_size=49152,
                    tie_word_embeddings=True, max_context=8192),
    _ReferenceShape(name="Llama-3.2-1B", hf_id="meta-llama/Llama-3.2-1B", as_of="2024-09-25",
                    num_layers=16, hidden_size=2048, num_heads=32, num_kv_heads=8,
                    head_dim=64, intermediate_size=8192, vocab_size=128256,
                    tie_word_embeddings=True, max_context=131072),
    _ReferenceShape(name="Llama-3.2-3B", hf_id="meta-llama/Llama-3.2-3B", as_of="2024-09-25",
                    num_layers=28, hidden_size=3072, num_heads=24, num_kv_heads=8,
                    head_dim=128, intermediate_size=8192, vocab_size=128256,
                    tie_word_embeddings=True, max_context=131072),
    _ReferenceShape(name="Llama-3.1-8B", hf_id="meta-llama/Llama-3.1-8B", as_of="2024-07-23",
                    num_layers=32, hidden_size=4096, num_heads=32, num_kv_heads=8,
                    head_dim=128, intermediate_size=14336, vocab_size=128256,
                    tie_word_embeddings=False, max_context=131072),
    _ReferenceShape(name="Qwen2.5-14B", hf_id="Qwen/Qwen2.5-14B", as_of="2024-09-19",
                    num_layers=48, hidden_size=5120, num_heads=40, num_kv_heads=8,
                    head_dim=128, intermediate_size=13824, vocab_size=152064,
                    tie_word_embeddings=False, max_context=131072),
    _ReferenceShape(name="Qwen2.5-32B", hf_id="Qwen/Qwen2.5-32B", as_of="2024-09-19",
                    num_layers=64, hidden_size=5120, num_heads=40, num_kv_heads=8,
                    head_dim=128, intermediate_size=27648, vocab_size=152064,
                    tie_word_embeddings=False, max_context=131072),
    _ReferenceShape(name="Llama-3.1-70B", hf_id="meta-llama/Llama-3.1-70B", as_of="2024-07-23",
                    num_layers=80, hidden_size=8192, num_heads=64, num_kv_heads=8,
                    head_dim=128, intermediate_size=28672, vocab_size=128256,
                    tie_word_embeddings=False, max_context=131072),
    _ReferenceShape(name="Llama-3.1-405B", hf_id="meta-llama/Llama-3.1-405B", as_of="2024-07-23",
                    num_layers=126, hidden_size=16384, num_heads=128, num_kv_heads=8,
                    head_dim=128, intermediate_size=53248, vocab_size=128256,
                    tie_word_embeddings=False, max_context=131072),
)
# fmt: on


def _spec_from_shape(shape: _ReferenceShape, num_layers: int, **meta: str) -> ModelSpec:
    return ModelSpec(
        id=meta.get("id", shape.name.lower()),
        name=meta.get("name", shape.name),
        num_layers=num_layers,
        hidden_size=shape.hidden_size,
        num_heads=shape.num_heads,
        num_kv_heads=shape.num_kv_heads,
        head_dim=shape.head_dim,
        intermediate_size=shape.intermediate_size,
        vocab_size=shape.vocab_size,
        tie_word_embeddings=shape.tie_word_embeddings,
        max_context=shape.max_context,
        source=f"https://huggingface.co/{shape.hf_id}/blob/main/config.json",
        as_of=shape.as_of,
        note=meta.get("note", ""),
    )


def representative_dense_model(size_billions: float) -> ModelSpec:
    """A dense Llama-style architecture of about ``size_billions`` x 1e9 parameters.

    For a bare size (the seed's ``--model-size N``): take the reference shape (table above)
    whose own size is nearest in ratio, keep its width (hidden, heads, GQA, FFN, vocabulary)
    and choose the number of layers whose total is nearest to the target; if that depth
    cannot match within 1%, the next-nearest shape that can is used. The count is within 1%
    of the target from 0.2B up and within 2% from 0.1B up; smaller targets are coarser (one
    SmolLM2-135M layer is 3.5M parameters, and below ~0.03B its embeddings alone exceed them).
    Sizes past Llama-3.1-405B keep its width and grow deeper. Raises ``ValueError`` for
    sizes <= 0, above 2000 (2T) or not finite.
    """
    size = float(size_billions)
    if not math.isfinite(size) or size <= 0.0 or size > MAX_REPRESENTATIVE_SIZE_B:
        limit = f"{MAX_REPRESENTATIVE_SIZE_B:g}"
        raise ValueError(f"model size must be in (0, {limit}] billion, got {size_billions!r}")
    target = size * 1e9

    def scaled(shape: _ReferenceShape) -> tuple[int, float]:
        """Layers giving the total nearest the target, and that total's relative error."""
        one = count_parameters(_spec_from_shape(shape, 1)).total
        per_layer = count_parameters(_spec_from_shape(shape, 2)).total - one
        fixed = one - per_layer  # embeddings + final norm
        layers = max(1, round((target - fixed) / per_layer))
        return layers, abs(fixed + layers * per_layer - target) / target

    def size_distance(shape: _ReferenceShape) -> float:
        own = count_parameters(_spec_from_shape(shape, shape.num_layers)).total
        return abs(math.log(own / target))

    # The nearest shape whose depth can hit the target within 1% (a shallow copy of a wide
    # shape is too coarse: one Llama-3.2-1B layer is 61M), else the most accurate one.
    by_distance = sorted(_REFERENCE_SHAPES, key=size_distance)
    fits = [s for s in by_distance if scaled(s)[1] <= _DEPTH_FIT_FRACTION]
    shape = fits[0] if fits else min(by_distance, key=lambda s: scaled(s)[1])
    num_layers = scaled(shape)[0]
    label = f"{size:g}"
    return _spec_from_shape(
        shape,
        num_layers,
        id=f"dense-{label}b",
        name=f"Dense-{label}B (Llama-style, shape of {shape.name})",
        note=(
            f"Representative dense model for a bare size of {label}B: the {shape.name} shape "
            f"(hidden {shape.hidden_size}, {shape.num_heads} heads / {shape.num_kv_heads} KV "
            f"heads x {shape.head_dim}, FFN {shape.intermediate_size}, vocab {shape.vocab_size})"
            f" with {num_layers} layers instead of {shape.num_layers}, so that the parameter "
            "count matches the size; name a catalog model for exact numbers."
        ),
    )
