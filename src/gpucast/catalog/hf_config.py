"""Map a Hugging Face ``config.json`` (Llama, Mistral, Qwen2/3, Mixtral, DeepSeek-V3/V3.2, Kimi-K2, GLM-4.5,
Gemma-2/3, gpt-oss, Qwen3-Next, Phi-3, GPT-J, Llama-4 text config) onto gpucast's ``ModelSpec``.

Attention kinds: sliding-window layers from ``layer_types`` ("sliding_attention": gpt-oss, Gemma-3 in newer
transformers) or ``sliding_window_pattern`` (Gemma-3: every 6th layer global) or, for Gemma-2, alternate layers;
linear-attention layers from ``layer_types`` ("linear_attention") or ``full_attention_interval`` (Qwen3-Next: every
4th layer full); attention sinks for gpt-oss; DeepSeek Sparse Attention's indexer from ``index_head_dim``.

Key names follow the transformers configuration classes; GPT-style names (n_layer, n_embd,
n_head) are accepted too. Missing required keys are reported by name.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..core.specs import ModelSpec
from ..errors import ConfigError, InputError

_ALIASES = {
    "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "num_attention_heads": ("num_attention_heads", "n_head"),
}


def _get(cfg: dict[str, Any], key: str, default: Any = None) -> Any:
    for name in _ALIASES.get(key, (key,)):
        if cfg.get(name) is not None:
            return cfg[name]
    return default


_MAX_COUNT = 2**40  # above any real width, layer count or context, below what a float holds exactly


def _positive_int(cfg: dict[str, Any], key: str, source: str) -> int:
    value = _get(cfg, key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= _MAX_COUNT:
        raise ConfigError(f"model config {source!r}: {key} must be a positive integer, got {value!r:.40}")
    return value


# The optional sizes and counts :func:`model_from_hf_config` reads (absent or null: the architecture's default)
_COUNTS = (
    "num_key_value_heads", "head_dim", "intermediate_size", "n_inner", "num_local_experts", "n_routed_experts",
    "num_experts", "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "sliding_window",
    "shared_expert_intermediate_size", "n_shared_experts", "moe_intermediate_size", "intermediate_size_mlp",
    "interleave_moe_layer_step", "moe_layer_freq", "decoder_sparse_step", "max_position_embeddings", "n_positions",
    "num_experts_per_tok", "first_k_dense_replace", "q_lora_rank", "v_head_dim", "linear_num_key_heads",
    "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim", "linear_conv_kernel_dim",
    "index_n_heads", "index_head_dim", "index_topk", "full_attention_interval", "sliding_window_pattern",
    "_sliding_window_pattern",
)  # fmt: skip


def _check_counts(cfg: dict[str, Any], source: str) -> None:
    """A hand-written config.json's "abc", NaN, 1e308 or list for an optional size as one line (a ValueError or
    OverflowError traceback from the planner before): whole numbers, 0 or more, as transformers writes them."""
    for key in _COUNTS:
        value = cfg.get(key)
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value is not None and not (whole and 0 <= value <= _MAX_COUNT):
            raise ConfigError(f"model config {source!r}: {key} must be a whole number, 0 or more, got {value!r:.40}")


def _check_groups(cfg: dict[str, Any], source: str, *, heads: int, kv_heads: int, experts: int) -> None:
    """Head groups and expert routing a model can run (as the explicit shape flags check them): more KV heads
    than heads, or a count that does not divide them, sized a KV cache no engine allocates; a MoE config without
    ``num_experts_per_tok`` planned every token through no routed expert, and more experts per token than experts
    was a TypeError traceback (a complex number from the expert-coverage formula)."""
    if kv_heads > heads or heads % kv_heads:
        raise ConfigError(
            f"model config {source!r}: num_key_value_heads {kv_heads} must divide num_attention_heads {heads} "
            "(GQA groups of equal size)"
        )
    active = cfg.get("num_experts_per_tok")
    if experts and not (isinstance(active, int) and 1 <= active <= experts):
        raise ConfigError(
            f"model config {source!r}: num_experts_per_tok must be between 1 and the {experts} routed experts, "
            f"got {active!r:.40}"
        )


# quantization_config.quant_method (transformers' QuantizationMethod names) -> the precision its weights are stored in;
# 4-/8-bit integer methods state their width in "bits" (GPTQ, AWQ: transformers GPTQConfig/AwqConfig; AWQ defaults to 4).
_FLOAT_METHODS = {"fp8": "FP8", "fbgemm_fp8": "FP8", "mxfp4": "MXFP4"}
_INTEGER_METHODS = ("awq", "gptq")
_MODELOPT_ALGOS = {"FP8": "FP8", "NVFP4": "NVFP4"}  # NVIDIA ModelOpt "quant_algo"


def checkpoint_precision(quantization: Any) -> str:
    """The precision name of a checkpoint's weights from its ``quantization_config`` ("" when absent or unclear).

    Clear cases only: FP8 (``fp8``, ``fbgemm_fp8``, ModelOpt ``FP8``; DeepSeek-V3/R1), FP4 (``mxfp4``: gpt-oss;
    ModelOpt ``NVFP4``), INT4/INT8 (``awq``/``gptq`` with 4/8 bits), and compressed-tensors whose weights are
    8-bit float (FP8) or 4/8-bit integers. Anything else plans at the default precision."""
    if not isinstance(quantization, dict):
        return ""
    method = str(quantization.get("quant_method", "")).lower()
    if method in _FLOAT_METHODS:
        return _FLOAT_METHODS[method]
    if method in _INTEGER_METHODS:
        bits = quantization.get("bits", quantization.get("w_bit", 4 if method == "awq" else None))
        return {4: "INT4", 8: "INT8"}.get(bits, "") if isinstance(bits, int) else ""
    if method == "modelopt":
        return _MODELOPT_ALGOS.get(str(quantization.get("quant_algo", "")).upper(), "")
    if method == "compressed-tensors":
        return _compressed_tensors_precision(quantization)
    return ""


def _compressed_tensors_precision(quantization: dict[str, Any]) -> str:
    """compressed-tensors (llm-compressor): the weights' num_bits and type, when every config group agrees."""
    groups = quantization.get("config_groups")
    if not isinstance(groups, dict) or not groups:
        return ""
    found: set[tuple[object, str]] = set()
    for group in groups.values():
        weights = group.get("weights") if isinstance(group, dict) else None
        if not isinstance(weights, dict):
            return ""
        found.add((weights.get("num_bits"), str(weights.get("type", "")).lower()))
    if len(found) != 1:
        return ""
    names: dict[tuple[object, str], str] = {
        (8, "float"): "FP8",
        (4, "int"): "INT4",
        (8, "int"): "INT8",
        (4, "float"): "FP4",
    }
    return names.get(found.pop(), "")


# Gemma3TextConfig defaults (transformers) for keys a Gemma-3 multimodal config.json's text_config leaves out: the
# published gemma-3-4b-it config.json states neither its heads nor its vocabulary, gemma-3-27b-it no vocabulary (and
# the 5:1 local/global pattern, sliding_window_pattern 6, is read in _layer_kinds)
_GEMMA3_DEFAULTS = {
    "vocab_size": 262208,
    "max_position_embeddings": 131072,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "head_dim": 256,
}

# Configuration classes whose tie_word_embeddings defaults to True (transformers: GemmaConfig, Gemma2Config,
# Gemma3TextConfig; GPT-2). The others gpucast reads (Llama, Mistral, Qwen, DeepSeek, GLM-4.5, gpt-oss) default to
# False, and Gemma configs rarely state it: reading them as untied would add a second 262k x hidden matrix (+5% on
# Gemma-3-27B).
_TIED_BY_DEFAULT = ("gemma", "gpt2")


def _layer_kinds(cfg: dict[str, Any], layers: int, model_type: str, window: int) -> tuple[int, int]:
    """(sliding-window layers, linear-attention layers) as the config lays them out (see module docstring)."""
    kinds = cfg.get("layer_types")
    if isinstance(kinds, list) and len(kinds) == layers:
        sliding = sum(1 for kind in kinds if kind == "sliding_attention") if window else 0
        return sliding, sum(1 for kind in kinds if kind == "linear_attention")
    linear = 0
    interval = int(cfg.get("full_attention_interval") or 0)
    if interval > 0:  # Qwen3-Next: layer i is full attention iff (i + 1) % interval == 0
        linear = layers - layers // interval
    if not window:
        return 0, linear
    pattern = int(
        cfg.get("sliding_window_pattern")
        or cfg.get("_sliding_window_pattern")
        or (6 if model_type.startswith("gemma3") else 0)
    )  # "_": transformers>=4.53
    if pattern > 0:  # Gemma-3: layer i is global iff (i + 1) % pattern == 0
        return layers - layers // pattern, linear
    if model_type.startswith("gemma"):  # Gemma-2 alternates local / global
        return layers // 2, linear
    return layers, linear


def model_from_hf_config(cfg: dict[str, Any], *, name: str, source: str, quantization: Any = None) -> ModelSpec:
    """Build a ModelSpec; ``name`` labels it in plans (the config's folder name). ``quantization`` is the
    checkpoint's ``quantization_config`` (default: the one in ``cfg``), which sets ``checkpoint_precision``."""
    if str(cfg.get("model_type", "")).startswith("gemma3"):
        cfg = {**_GEMMA3_DEFAULTS, **cfg}
    _check_counts(cfg, source)
    layers = _positive_int(cfg, "num_hidden_layers", source)
    hidden = _positive_int(cfg, "hidden_size", source)
    heads = _positive_int(cfg, "num_attention_heads", source)
    kv_heads = int(_get(cfg, "num_key_value_heads", heads) or heads)
    head_dim = int(_get(cfg, "head_dim", 0) or hidden // heads)
    ffn = int(_get(cfg, "intermediate_size", 0) or _get(cfg, "n_inner", 0) or 4 * hidden)
    vocab = _positive_int(cfg, "vocab_size", source)
    model_type = str(cfg.get("model_type", ""))
    experts = int(
        _get(cfg, "num_local_experts", 0) or _get(cfg, "n_routed_experts", 0) or _get(cfg, "num_experts", 0) or 0
    )
    _check_groups(cfg, source, heads=heads, kv_heads=kv_heads, experts=experts)
    kv_lora = int(cfg.get("kv_lora_rank") or 0)
    rope = int(cfg.get("qk_rope_head_dim") or 0)
    nope = int(cfg.get("qk_nope_head_dim") or 0)
    window = int(cfg.get("sliding_window") or 0) if cfg.get("use_sliding_window", True) else 0
    window_layers, linear_layers = _layer_kinds(cfg, layers, model_type, window)
    if not window_layers:
        window = 0
    shared_ffn = int(cfg.get("shared_expert_intermediate_size") or 0)
    # Qwen2-MoE / Qwen3-Next state one shared expert by its width only
    shared = int(cfg.get("n_shared_experts") or (1 if model_type.startswith("llama4") or shared_ffn else 0))
    is_gpt_oss = model_type == "gpt_oss"
    moe_ffn = int(cfg.get("moe_intermediate_size") or 0)
    if model_type.startswith("llama4"):
        moe_ffn = ffn
        ffn = int(cfg.get("intermediate_size_mlp") or ffn)
    step = int(cfg.get("interleave_moe_layer_step") or cfg.get("moe_layer_freq") or cfg.get("decoder_sparse_step") or 1)
    is_gptj = model_type in {"gptj", "gpt2", "gpt_neox"}
    return ModelSpec(
        id=name.lower(),
        name=name,
        num_layers=layers,
        hidden_size=hidden,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim if not kv_lora else nope + rope,
        intermediate_size=ffn,
        vocab_size=vocab,
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", model_type.startswith(_TIED_BY_DEFAULT))),
        gated_mlp=not is_gptj,
        attention_bias=bool(cfg.get("attention_bias", model_type == "qwen2")),
        mlp_bias=is_gptj or is_gpt_oss,  # gpt-oss experts carry gate_up and down biases
        norms_per_layer=4 if model_type.startswith(("gemma2", "gemma3")) else 2,
        max_context=int(cfg.get("max_position_embeddings") or cfg.get("n_positions") or 4096),
        num_experts=experts,
        experts_per_token=int(cfg.get("num_experts_per_tok") or 0) if experts else 0,
        num_shared_experts=shared if experts else 0,
        moe_intermediate_size=moe_ffn or (ffn if experts else 0),
        shared_expert_intermediate_size=shared_ffn,
        first_dense_layers=int(cfg.get("first_k_dense_replace") or 0),
        moe_layer_step=step if experts else 1,
        kv_lora_rank=kv_lora,
        q_lora_rank=int(cfg.get("q_lora_rank") or 0),
        qk_nope_head_dim=nope,
        qk_rope_head_dim=rope,
        v_head_dim=int(cfg.get("v_head_dim") or 0),
        sliding_window=window,
        sliding_window_layers=window_layers,
        attention_sinks=is_gpt_oss,
        attention_output_gate=model_type == "qwen3_next",
        linear_attention_layers=linear_layers,
        linear_num_key_heads=int(cfg.get("linear_num_key_heads") or 0) if linear_layers else 0,
        linear_num_value_heads=int(cfg.get("linear_num_value_heads") or 0) if linear_layers else 0,
        linear_key_head_dim=int(cfg.get("linear_key_head_dim") or 0) if linear_layers else 0,
        linear_value_head_dim=int(cfg.get("linear_value_head_dim") or 0) if linear_layers else 0,
        linear_conv_kernel_dim=int(cfg.get("linear_conv_kernel_dim") or 0) if linear_layers else 0,
        index_n_heads=int(cfg.get("index_n_heads") or 0),
        index_head_dim=int(cfg.get("index_head_dim") or 0),
        index_topk=int(cfg.get("index_topk") or 0),
        checkpoint_precision=checkpoint_precision(
            quantization if quantization is not None else cfg.get("quantization_config")
        ),
        source=source,
    )


# Explicit shape flags (``--layers --hidden --heads --kv-heads --ffn --vocab [--experts --active-experts] [--mlp]``):
# the flag -> config.json key each one stands for, so a shape given on the command line is read by exactly the code
# that reads a ``--model-config`` file.
SHAPE_FLAGS = {
    "layers": "num_hidden_layers",
    "hidden": "hidden_size",
    "heads": "num_attention_heads",
    "kv_heads": "num_key_value_heads",
    "ffn": "intermediate_size",
    "vocab": "vocab_size",
    "experts": "num_local_experts",
    "active_experts": "num_experts_per_tok",
}
SHAPE_REQUIRED = ("layers", "hidden", "heads", "vocab")
MLP_KINDS = ("gated", "plain")  # SwiGLU-style (3 matrices) or GELU/squared-ReLU (2 matrices: GPT-3, Nemotron-4)


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def model_from_shape(shape: dict[str, Any]) -> ModelSpec:
    """A ModelSpec from explicit shape flags (keys of ``SHAPE_FLAGS`` plus ``mlp``), checked for consistency.

    Defaults follow a Hugging Face config: ``kv_heads`` = ``heads`` (multi-head attention), ``ffn`` = 4 x ``hidden``;
    ``mlp`` "plain" is a two-matrix MLP (GPT-3's GELU, Nemotron-4's squared ReLU). With ``experts`` every layer is an
    MoE layer of ``experts`` routed experts of width ``ffn``, ``active_experts`` of them per token (Mixtral-style).
    Raises InputError naming the flag and what is accepted (one line)."""
    unknown = sorted(set(shape) - set(SHAPE_FLAGS) - {"mlp"})
    if unknown:
        raise InputError(f"unknown shape key {unknown[0]!r}: use {', '.join(_flag(k) for k in SHAPE_FLAGS)}, --mlp")
    given = {k: v for k, v in shape.items() if v is not None}
    missing = [k for k in SHAPE_REQUIRED if k not in given]
    if missing:
        listed = ", ".join(_flag(k) for k in SHAPE_REQUIRED)
        raise InputError(f"{_flag(missing[0])} is required with the shape flags (give {listed})")
    for key, value in given.items():
        if key == "mlp":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10_000_000:
            raise InputError(f"{_flag(key)} {value!r} must be a whole number between 1 and 10000000")
    mlp = given.get("mlp", "gated")
    if mlp not in MLP_KINDS:
        raise InputError(f"--mlp {mlp!r} is not one of {', '.join(MLP_KINDS)}")
    hidden, heads = given["hidden"], given["heads"]
    kv_heads = given.get("kv_heads", heads)
    if hidden % heads:
        raise InputError(f"--hidden {hidden} is not divisible by --heads {heads}: the head dimension must be whole")
    if kv_heads > heads or heads % kv_heads:
        raise InputError(f"--kv-heads {kv_heads} must divide --heads {heads} (GQA groups of equal size)")
    experts, active = given.get("experts", 0), given.get("active_experts", 0)
    if active and not experts:
        raise InputError("--active-experts needs --experts (the number of routed experts)")
    if experts and not active:
        raise InputError(f"--experts {experts} needs --active-experts (experts per token, 1 to {experts})")
    if active > experts:
        raise InputError(f"--active-experts {active} must be between 1 and --experts {experts}")
    cfg: dict[str, Any] = {SHAPE_FLAGS[k]: v for k, v in given.items() if k in SHAPE_FLAGS}
    cfg.setdefault("num_key_value_heads", kv_heads)
    cfg["model_type"] = "gpt2" if mlp == "plain" else "llama"
    cfg["tie_word_embeddings"] = False  # a separate LM head (Nemotron-4, Llama); "gpt2" would default to tied
    cfg["max_position_embeddings"] = 1 << 20  # no position limit: the run's sequence length is the user's
    ffn = given.get("ffn", 4 * hidden)
    moe = f", {experts} experts top-{active}" if experts else ""
    name = (
        f"custom ({given['layers']} layers, hidden {hidden}, {heads}/{kv_heads} heads, "
        f"FFN {ffn} {mlp}{moe}, vocab {given['vocab']})"
    )
    spec = model_from_hf_config(cfg, name=name, source="shape flags")
    return dataclasses.replace(spec, mlp_bias=False)  # "gpt2" model_type only picks the plain MLP
