"""Memory formulas with hand-computed numbers (DESIGN.md section 4; vLLM's KV sizing)."""

from __future__ import annotations

import pytest

from gpucast.catalog import loader
from gpucast.core.memory import (
    MemorySettings,
    estimate_memory,
    kv_bytes_per_token,
    kv_bytes_per_token_per_gpu,
    weight_bytes,
)
from gpucast.core.specs import GIB, Precision


def test_kv_bytes_per_token_llama3_70b_bf16(llama70b):
    # 2 (K and V) x 80 layers x 8 KV heads x 128 head_dim x 2 bytes (GQA, not 64 heads)
    assert kv_bytes_per_token(llama70b, Precision.BF16) == 2 * 80 * 8 * 128 * 2 == 327_680


def test_kv_bytes_per_token_llama31_8b_bf16(llama8b):
    assert kv_bytes_per_token(llama8b, Precision.BF16) == 2 * 32 * 8 * 128 * 2 == 131_072


def test_fp8_kv_halves_the_cache(llama8b):
    assert kv_bytes_per_token(llama8b, Precision.FP8) == 65_536


def test_seed_formula_overstates_llama3_70b_by_8x(llama70b):
    seed = 2 * llama70b.num_layers * llama70b.hidden_size * 2  # 2 x layers x hidden x bytes
    assert seed / kv_bytes_per_token(llama70b, Precision.BF16) == 8


def test_mla_caches_one_latent_per_layer():
    deepseek = loader.resolve_model("deepseek-v3")
    # 61 layers x (kv_lora_rank 512 + rope dim 64) x 2 bytes
    assert kv_bytes_per_token(deepseek, Precision.BF16) == 61 * 576 * 2 == 70_272


def test_mla_latent_is_replicated_across_tp():
    deepseek = loader.resolve_model("deepseek-v3")
    assert kv_bytes_per_token_per_gpu(deepseek, Precision.BF16, tp=8, pp=1) == 70_272


def test_sliding_window_layers_cap_the_cache():
    gemma = loader.resolve_model("gemma-2-9b")
    per_layer = 2 * gemma.num_kv_heads * gemma.head_dim * 2
    assert kv_bytes_per_token(gemma, Precision.BF16) == gemma.num_layers * per_layer
    # 8192-token sequence: 21 global layers keep all tokens, 21 local layers keep 4096
    assert kv_bytes_per_token(gemma, Precision.BF16, 8192) == pytest.approx(21 * per_layer + 21 * per_layer * 0.5)


def test_tp_beyond_kv_heads_replicates_heads(llama8b):
    whole = kv_bytes_per_token(llama8b, Precision.BF16)
    assert kv_bytes_per_token_per_gpu(llama8b, Precision.BF16, tp=8, pp=1) == whole / 8
    assert kv_bytes_per_token_per_gpu(llama8b, Precision.BF16, tp=16, pp=1) == whole / 8
    assert kv_bytes_per_token_per_gpu(llama8b, Precision.BF16, tp=2, pp=2) == whole / 4


def test_weights_llama3_70b_bf16_is_about_141_gb(llama70b):
    assert weight_bytes(llama70b, Precision.BF16) / 1e9 == pytest.approx(141.1, abs=0.2)


def test_int4_weights_carry_group_scale_overhead_and_16bit_embeddings(llama70b):
    bf16 = weight_bytes(llama70b, Precision.BF16)
    int4 = weight_bytes(llama70b, Precision.INT4)
    embedding = 2 * 128_256 * 8192  # embed + lm_head, kept in 16-bit
    body = (bf16 - embedding * 2) / 2
    assert int4 == pytest.approx(body * 0.5 * 1.03 + embedding * 2)


def test_kv_capacity_hand_computed(llama8b, h100):
    settings = MemorySettings(gpu_memory_utilization=0.9, runtime_overhead_gib=1.0, max_batched_tokens=0)
    mem = estimate_memory(llama8b, h100, precision=Precision.BF16, kv_precision=Precision.BF16, tp=1, settings=settings)
    weights = weight_bytes(llama8b, Precision.BF16)
    logits = 256 * llama8b.vocab_size * 4
    kv = h100.memory_gib * GIB * 0.9 - weights - logits - GIB
    assert mem.kv_cache_gib == pytest.approx(kv / GIB)
    assert mem.kv_capacity_tokens == int(kv // 131_072)


def test_model_too_big_for_one_gpu_does_not_fit(llama70b, h100):
    mem = estimate_memory(llama70b, h100, precision=Precision.BF16, kv_precision=Precision.BF16, tp=1)
    assert not mem.fits
    mem4 = estimate_memory(llama70b, h100, precision=Precision.BF16, kv_precision=Precision.BF16, tp=4)
    assert mem4.fits and mem4.kv_capacity_tokens > 100_000


def test_kv_reservation_sets_how_many_sequences_the_cache_admits():
    """vLLM holds a sequence's current blocks (prompt + half the output on average); TensorRT-LLM's default
    GUARANTEED_NO_EVICT scheduler reserves prompt + the whole output at admission: 1000 in / 1000 out takes
    1500 vs 2000 tokens per sequence, so a 600,000-token cache admits 400 vs 300 sequences."""
    from gpucast.catalog import loader
    from gpucast.core.memory import MemorySettings

    vllm = MemorySettings.for_engine(loader.resolve_engine("vllm"))
    trtllm = MemorySettings.for_engine(loader.resolve_engine("trtllm"), 0.95)
    assert vllm.kv_tokens_per_sequence(1000, 1000) == 1500 and 600_000 // 1500 == 400
    assert trtllm.kv_tokens_per_sequence(1000, 1000) == 2000 and 600_000 // 2000 == 300
    assert trtllm.gpu_memory_utilization == 0.95 and trtllm.memory_mode == "free"
    assert vllm.gpu_memory_utilization == loader.resolve_engine("vllm").default_memory_fraction
