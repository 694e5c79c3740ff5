"""Roofline step times, checked against hand arithmetic with an ideal efficiency (all 1.0)."""

from __future__ import annotations

import pytest

from gpucast.catalog import loader
from gpucast.core.memory import weight_bytes
from gpucast.core.params import count_parameters
from gpucast.core.perf import allreduce_time, decode_step, expected_experts_touched, prefill_time
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
    expected_bytes = weight_bytes(llama8b, Precision.BF16) + 1000 * 131_072
    assert step.bytes_per_gpu == pytest.approx(expected_bytes)
    assert step.memory_s == pytest.approx(expected_bytes / 3.35e12)  # ~4.83 ms on H100
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
    assert step.bytes_per_gpu == pytest.approx(params.active * 2, rel=0.01)


def test_ring_allreduce_time(h100, ideal):
    # 2 (tp-1)/tp x bytes / link: 4 GPUs, 1 MB over 450 GB/s
    assert allreduce_time(h100, ideal, 4, 1e6) == pytest.approx(2 * 3 / 4 * 1e6 / 450e9)
    assert allreduce_time(h100, ideal, 1, 1e6) == 0.0


def test_prefill_is_compute_bound_for_long_prompts(llama8b, h100, ideal):
    t = prefill_time(llama8b, h100, ideal, precision=Precision.BF16, tp=1, pp=1, tokens=4096)
    params = count_parameters(llama8b)
    linear = 2 * params.active * 4096 / 989.4e12
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
