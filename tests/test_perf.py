"""Roofline step times, checked against hand arithmetic with an ideal efficiency (all 1.0)."""

from __future__ import annotations

import pytest

from gpucast.catalog import loader
from gpucast.core.memory import weight_bytes
from gpucast.core.params import count_parameters
from gpucast.core.perf import (
    allreduce_time,
    attention_flops_per_token,
    decode_step,
    expected_experts_touched,
    gemm_params,
    lookup_embedding_params,
    prefill_attention_flops,
    prefill_time,
)
from gpucast.core.specs import Precision


def test_batch1_decode_is_weights_over_bandwidth(llama8b, h100, ideal):
    step = decode_step(
        llama8b,
        h100,
        ideal,
        precision=Precision.BF16,
        kv_precision=Precision.BF16,
        tp=1,
        pp=1,
        batch=1,
        context_tokens=1000,
    )
    # every weight but the untied input-embedding table (128,256 x 4,096 x 2 B = 1.05 GB, a row gather)
    lookup = 128_256 * 4096 * 2
    assert lookup_embedding_params(llama8b) * 2 == lookup
    expected_bytes = weight_bytes(llama8b, Precision.BF16) - lookup + 1000 * 131_072
    assert step.bytes_per_gpu == pytest.approx(expected_bytes)
    assert step.memory_s == pytest.approx(expected_bytes / 3.35e12)  # ~4.56 ms on H100
    assert step.total_s == pytest.approx(step.memory_s)
    assert step.bound == "memory"


def test_large_batch_decode_becomes_compute_bound(llama8b, h100, ideal):
    step = decode_step(
        llama8b,
        h100,
        ideal,
        precision=Precision.BF16,
        kv_precision=Precision.BF16,
        tp=1,
        pp=1,
        batch=2048,
        context_tokens=10,
    )
    assert step.bound == "compute"


def test_experts_touched_formula():
    # 8 experts, top-2: one token touches 2; B tokens touch 8 x (1 - (6/8)^B)
    assert expected_experts_touched(8, 2, 1) == pytest.approx(2.0)
    assert expected_experts_touched(8, 2, 4) == pytest.approx(8 * (1 - 0.75**4))
    assert expected_experts_touched(0, 0, 10) == 0.0


def test_moe_batch1_reads_only_active_experts(h100, ideal):
    mixtral = loader.resolve_model("mixtral-8x7b")
    params = count_parameters(mixtral)
    step = decode_step(
        mixtral,
        h100,
        ideal,
        precision=Precision.BF16,
        kv_precision=Precision.BF16,
        tp=1,
        pp=1,
        batch=1,
        context_tokens=0,
    )
    # active params but the input-embedding table (32,000 x 4,096, a row gather), in BF16
    assert step.bytes_per_gpu == pytest.approx((params.active - lookup_embedding_params(mixtral)) * 2, rel=0.01)


def test_ring_allreduce_time(h100, ideal):
    # 2 (tp-1)/tp x bytes / link: 4 GPUs, 1 MB over 450 GB/s
    assert allreduce_time(h100, ideal, 4, 1e6) == pytest.approx(2 * 3 / 4 * 1e6 / 450e9)
    assert allreduce_time(h100, ideal, 1, 1e6) == 0.0


def test_prefill_is_compute_bound_for_long_prompts(llama8b, h100, ideal):
    t = prefill_time(llama8b, h100, ideal, precision=Precision.BF16, tp=1, pp=1, tokens=4096)
    linear = 2 * gemm_params(llama8b) * 4096 / 989.4e12
    assert t > linear  # attention adds to the linear layers
    assert t < linear * 1.5


def test_fp8_uses_fp8_tensor_cores_on_h100_not_on_a100(llama8b, h100, ideal):
    a100 = loader.resolve_gpu("A100-80GB")
    assert h100.peak_flops("fp8") == pytest.approx(2 * h100.peak_flops("bf16"), rel=1e-3)
    assert a100.peak_flops("fp8") == a100.peak_flops("fp16")  # weight-only fallback


def test_attention_kernel_adds_to_the_gemms(llama8b, h100, ideal):
    # long context, small batch: weights and KV both memory-bound, and their times add
    step = decode_step(
        llama8b,
        h100,
        ideal,
        precision=Precision.BF16,
        kv_precision=Precision.BF16,
        tp=1,
        pp=1,
        batch=4,
        context_tokens=8000,
    )
    kv = 4 * 8000 * 131_072
    assert step.attention_s == pytest.approx(kv / 3.35e12)
    assert step.total_s == pytest.approx(step.memory_s)


def test_per_sequence_overhead_grows_with_the_batch_and_splits_over_stages(llama8b, h100, ideal):
    """overhead = (fixed + per-sequence x B) / PP: 1 ms + 20 us x 64 = 2.28 ms a step at PP=1, half at PP=2."""
    from dataclasses import replace

    from gpucast.core.perf import EngineFactors

    eff = replace(ideal, step_overhead_s=1e-3, sequence_overhead_s=20e-6)
    common = {"precision": Precision.BF16, "kv_precision": Precision.BF16, "tp": 1, "batch": 64, "context_tokens": 1000}
    step = decode_step(llama8b, h100, eff, pp=1, **common)
    assert step.overhead_s == pytest.approx(1e-3 + 20e-6 * 64)
    without = decode_step(llama8b, h100, replace(eff, sequence_overhead_s=0.0), pp=1, **common)
    assert step.total_s - without.total_s == pytest.approx(20e-6 * 64)
    assert decode_step(llama8b, h100, eff, pp=2, **common).overhead_s == pytest.approx((1e-3 + 20e-6 * 64) / 2)
    scaled = EngineFactors(overhead_scale=2.0).apply(eff)  # an engine's overhead factor scales both terms
    assert scaled.sequence_overhead_s == pytest.approx(40e-6) and scaled.step_overhead_s == pytest.approx(2e-3)


def test_lone_prefill_adds_the_unhidden_share_of_the_shorter_roofline_leg(llama8b, h100, ideal):
    """A 128-token prefill of Llama-3.1-8B at BF16 on H100 (ideal peaks): weights 15.14 GB read / 3.35 TB/s =
    4.52 ms, compute 128 x 2 x 7.50 GFLOP (+ attention) / 989.4 TFLOP/s = 1.94 ms. With prefill_serial_fraction s the lone
    pass takes 4.79 + s x 2.08 ms; a batched pass (replica time under load) counts only the compute."""
    from dataclasses import replace

    memory = (weight_bytes(llama8b, Precision.BF16) - 2 * lookup_embedding_params(llama8b)) / 3.35e12
    common = {"precision": Precision.BF16, "tp": 1, "pp": 1, "tokens": 128}
    overlapped = prefill_time(llama8b, h100, ideal, **common)
    assert overlapped == pytest.approx(memory)  # s = 0: the ideal roofline max()
    half = prefill_time(llama8b, h100, replace(ideal, prefill_serial_fraction=0.5), **common)
    compute = prefill_time(llama8b, h100, ideal, batched=True, **common)
    assert compute == pytest.approx(
        2 * gemm_params(llama8b) * 128 / 989.4e12, rel=0.02
    )  # attention is ~1% at 64 tokens
    assert half == pytest.approx(memory + 0.5 * compute)
    serial = replace(ideal, prefill_serial_fraction=1.0)
    assert prefill_time(llama8b, h100, serial, batched=True, **common) == pytest.approx(compute)


def test_a_static_batch_prefill_attends_within_each_prompt(llama8b, h100, ideal):
    """32 prompts of 2,048 tokens in one pass cost 32 x one prompt's FLOPs (each attends to itself), not one
    65,536-token sequence's quadratic attention."""
    common = {"precision": Precision.BF16, "tp": 1, "pp": 1, "batched": True}
    one = prefill_time(llama8b, h100, ideal, tokens=2048, **common)
    batch = prefill_time(llama8b, h100, ideal, tokens=2048 * 32, sequences=32, **common)
    assert batch == pytest.approx(32 * one)
    as_one_sequence = prefill_time(llama8b, h100, ideal, tokens=2048 * 32, **common)
    assert as_one_sequence > 1.5 * batch


def test_mla_attends_to_the_latent_in_decode_and_to_decompressed_heads_in_prefill(llama8b):
    """DeepSeek-V3: 61 layers, 128 heads, latent 512 + rope 64, nope 128, v 128. Per attended token and head,
    decode (absorbed) does 2 x (512 + 64) for QK^T + 2 x 512 for AV = 2,176 FLOPs; prefill (decompressed MHA)
    2 x (128 + 64) + 2 x 128 = 640. A GQA model's heads are the same in both (4 x head_dim)."""
    dsv3 = loader.resolve_model("deepseek-v3")
    assert attention_flops_per_token(dsv3, 1000) == pytest.approx(2 * 128 * 1088 * 61 * 1000)  # 1.699e10
    assert attention_flops_per_token(dsv3, 1000, prefill=True) == pytest.approx(2 * 128 * 320 * 61 * 1000)  # 5.0e9
    # Llama-3.1-8B: 32 layers x 32 heads x 4 x 128 x 1,000 = 5.24e8 either way
    assert attention_flops_per_token(llama8b, 1000) == pytest.approx(524_288_000)
    assert attention_flops_per_token(llama8b, 1000, prefill=True) == pytest.approx(524_288_000)


def test_mla_prefill_after_a_cached_prefix_takes_the_cheaper_kernel():
    """Decompressing a cached prefix costs kv_b_proj over it: 2 x 512 x 128 heads x (128 + 128) x 61 layers =
    2.05e9 FLOPs per cached token. 1,000 new tokens after 10,000 cached (mean context 10,500): decompressed
    1,000 x 4,997,120 x 10,500 + 10,000 x 2.05e9 = 7.29e13 against absorbed 1,000 x 16,990,208 x 10,500 = 1.78e14;
    10 new tokens (context 10,005): decompressed 5.0e11 + 2.05e13 = 2.10e13 against absorbed 1.70e12."""
    dsv3 = loader.resolve_model("deepseek-v3")
    up = 2 * 512 * 128 * 256 * 61
    assert up == 2_046_820_352
    long_extend = prefill_attention_flops(dsv3, 1000, 10_500, 10_000)
    assert long_extend == pytest.approx(1000 * 4_997_120 * 10_500 + 10_000 * up)  # 7.29e13: decompressed
    short_extend = prefill_attention_flops(dsv3, 10, 10_005, 10_000)
    assert short_extend == pytest.approx(10 * 16_990_208 * 10_005)  # 1.70e12: absorbed
    # no cached prefix: plain decompressed attention, no up-projection term
    assert prefill_attention_flops(dsv3, 1000, 500, 0) == pytest.approx(1000 * 4_997_120 * 500)


def test_mla_prefill_time_charges_the_decompressed_attention(h100, ideal):
    """Batched, the weight read is shared, so the same 1,000 new tokens with and without a 10,000-token cached
    prefix differ only by their attention: (7.29e13 - 2.50e12) FLOPs over 8 GPUs' 16-bit tensor cores (989.4
    TFLOP/s each on H100, though the weights are FP8) = 8.90 ms; the absorbed width for the whole context, as
    before, would have been 2.6x that."""
    dsv3 = loader.resolve_model("deepseek-v3")
    common = {"precision": Precision.FP8, "tp": 8, "pp": 1, "tokens": 1000, "batched": True}
    cached = prefill_time(dsv3, h100, ideal, cached_tokens=10_000, **common)
    fresh = prefill_time(dsv3, h100, ideal, **common)
    attention = 1000 * 4_997_120 * 10_500 + 10_000 * 2_046_820_352 - 1000 * 4_997_120 * 500
    assert cached - fresh == pytest.approx(attention / (8 * 989.4e12))
    assert attention / (8 * 989.4e12) == pytest.approx(8.90e-3, rel=0.01)


def test_attention_runs_on_16_bit_tensor_cores_whatever_the_weights(llama8b, h100, ideal):
    """Llama-3.1-8B on H100: FP8 weights put the GEMMs on FP8 tensor cores (1,978.9 TFLOP/s), not the attention:
    a 16,384-token prompt's attention, 16,384 x 32 layers x 32 heads x 4 x 128 x 8,192 (mean context) = 7.04e13
    FLOPs, takes 7.04e13 / 989.4e12 = 71.1 ms at FP8 as at BF16."""
    attention = 16_384 * 32 * 32 * 4 * 128 * 8_192
    assert attention == pytest.approx(7.04e13, rel=0.01)
    assert attention / 989.4e12 == pytest.approx(71.1e-3, rel=0.01)
    for precision, gemm_peak in ((Precision.FP8, 1978.9e12), (Precision.BF16, 989.4e12)):
        long = prefill_time(llama8b, h100, ideal, precision=precision, tp=1, pp=1, tokens=16_384, batched=True)
        gemm = 16_384 * 2 * gemm_params(llama8b) / gemm_peak
        assert long == pytest.approx(gemm + attention / 989.4e12)
