"""Published Hugging Face ``config.json`` files (tests/data/hf_configs/, copied verbatim) read by ``--model-config``:
parameter counts against the published totals, KV bytes per token and per-sequence state computed by hand, and
the catalog entries checked against the files they were written from.

Files: gpt-oss-20b/120b (openai), DeepSeek-V3.2 (deepseek-ai), Kimi-K2-Instruct (moonshotai),
Qwen3-Coder-480B-A35B-Instruct and Qwen3-Next-80B-A3B-Thinking (Qwen), as vendored by ai-dynamo/aiconfigurator
(model_configs/ at commit 095f58a51c4c, Qwen3-Next at 1b7cfb10a6fa); see docs/catalog.md.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
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

CONFIGS = Path(__file__).parent / "data" / "hf_configs"

# config file -> catalog id (Qwen3-Next's Thinking and Instruct configs describe the same architecture)
CATALOG_ID = {
    "gpt-oss-20b": "gpt-oss-20b",
    "gpt-oss-120b": "gpt-oss-120b",
    "deepseek-v3.2": "deepseek-v3.2",
    "kimi-k2": "kimi-k2",
    "qwen3-coder-480b-a35b": "qwen3-coder-480b-a35b",
    "qwen3-next-80b-a3b-thinking": "qwen3-next-80b-a3b",
}

# Published totals (billions): the gpt-oss paper (arXiv 2508.10925, Table 1), the Hugging Face safetensors count of
# DeepSeek-V3.2 (which includes the ~14B MTP module gpucast does not count), the Kimi K2 technical report (1.04T),
# the Qwen model cards (480B, 80B).
PUBLISHED_B = {
    "gpt-oss-20b": 20.91,
    "gpt-oss-120b": 116.83,
    "deepseek-v3.2": 685.0,
    "kimi-k2": 1040.0,
    "qwen3-coder-480b-a35b": 480.0,
    "qwen3-next-80b-a3b-thinking": 80.0,
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
}

METADATA = {"id", "name", "hf_id", "aliases", "published_params_b", "source", "as_of", "note", "checkpoint_precision"}


def read(name: str) -> ModelSpec:
    return loader.read_hf_config(CONFIGS / f"{name}.json")


def test_every_config_file_is_covered() -> None:
    assert {p.stem for p in CONFIGS.glob("*.json")} == set(CATALOG_ID) == set(PUBLISHED_B) == set(KV_BF16)


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


def test_models_without_linear_attention_have_no_sequence_state() -> None:
    for name in ("gpt-oss-20b", "deepseek-v3.2", "kimi-k2", "qwen3-coder-480b-a35b"):
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
