"""Disaggregated prefill/decode (core/disaggregation.py, DistServe OSDI'24): KV transfer time, the
prefill pool's M/D/1 utilization under the TTFT SLO, the decode pool's ITL-limited batch, and the
verdict against the unified pool."""

from __future__ import annotations

import math

import pytest

from gpucast import GPUConfig, InputError, LLMWorkloadInput, ModelConfig, ServingOptions, plan_inference
from gpucast.catalog import loader
from gpucast.core.disaggregation import kv_transfer_s, plan_disaggregated
from gpucast.core.replica import ReplicaConfig, decode_step_time, prefill_seconds
from gpucast.core.specs import Precision


@pytest.fixture
def cfg(ideal, h100):
    return ReplicaConfig(loader.resolve_model("llama-3.1-8b"), h100, ideal, Precision.BF16, Precision.BF16, 1, 1, 64)


def test_kv_transfer_by_hand(cfg):
    # Llama-3.1-8B: 2 x 32 layers x 8 kv heads x 128 x 2 bytes = 131,072 B/token; 1000 tokens over 50 GB/s
    assert kv_transfer_s(cfg, 1000, 50.0) == pytest.approx(1000 * 131072 / 50e9)


def test_pools_by_hand(cfg):
    plan = plan_disaggregated(
        cfg, input_tokens=2000, output_tokens=201, cached_input_tokens=0.0, peak_calls_per_s=10.0, safety_margin=0.25,
        ttft_slo_ms=1000, itl_slo_ms=1000, unified_total_gpus=8, unified_itl_ms=20, unified_prefill_share=0.3,
    )  # fmt: skip
    latency = prefill_seconds(cfg, 2000)
    transfer = kv_transfer_s(cfg, 2000, 50.0)
    x = (1.0 - latency - transfer) / latency
    rho = min(2 * x / (1 + 2 * x), 0.95)
    cost = prefill_seconds(cfg, 2000, batched=True)
    assert plan.prefill_utilization == pytest.approx(rho)
    assert plan.prefill_instances == math.ceil(12.5 * cost / rho)
    # a loose ITL SLO: the decode pool runs every KV slot; each call holds a slot for 200 steps
    step = decode_step_time(cfg, 64.0, 2000 + 100.5).total_s
    assert plan.decode_batch == 64
    assert plan.decode_instances == math.ceil(12.5 / (64 / (200 * step)))
    assert plan.total_gpus == plan.prefill_instances + plan.decode_instances
    assert plan.ttft_ms == pytest.approx((latency + rho / (2 * (1 - rho)) * latency + transfer) * 1e3)
    assert plan.ttft_ms <= 1000


def test_verdict_follows_the_gpu_counts(cfg):
    common = {"input_tokens": 2000, "output_tokens": 200, "cached_input_tokens": 0.0, "peak_calls_per_s": 10.0,
              "safety_margin": 0.25, "ttft_slo_ms": 1000, "itl_slo_ms": 1000, "unified_itl_ms": 20,
              "unified_prefill_share": 0.3}  # fmt: skip
    small = plan_disaggregated(cfg, unified_total_gpus=1, **common)
    large = plan_disaggregated(cfg, unified_total_gpus=1000, **common)
    assert small.winner == "unified" and large.winner == "disaggregated"
    assert "vs 1000 GPUs" in large.reason and "1 vs" in small.reason


def test_prefill_over_the_ttft_slo_is_infeasible(cfg):
    plan = plan_disaggregated(
        cfg, input_tokens=100000, output_tokens=100, cached_input_tokens=0.0, peak_calls_per_s=1.0, safety_margin=0.0,
        ttft_slo_ms=1, itl_slo_ms=100, unified_total_gpus=4, unified_itl_ms=20, unified_prefill_share=0.1,
    )  # fmt: skip
    assert not plan.feasible and plan.winner == "unified" and "TTFT" in plan.reason


def _plan(**options):
    return plan_inference(
        LLMWorkloadInput(50, 3000, 300),
        ModelConfig(model_name="llama-3.1-70b", precision="BF16"),
        GPUConfig("h100"),
        ServingOptions(**options),
    )


def test_tight_itl_slo_favours_disaggregation():
    """DistServe's regime: prefill interference forces a unified pool to tiny batches under a tight
    ITL SLO; a decode pool without prefill keeps large batches."""
    d = _plan(disaggregation=True, itl_slo_ms=20).disaggregation
    assert d is not None and d.feasible
    assert d.winner == "disaggregated" and d.total_gpus < d.unified_total_gpus
    assert d.itl_ms <= 20 and d.ttft_ms <= 2000


def test_plan_without_the_flag_has_no_section_and_same_numbers():
    off, on = _plan(), _plan(disaggregation=True)
    assert off.disaggregation is None and on.disaggregation is not None
    assert on.gpu_resources == off.gpu_resources and on.throughput == off.throughput


def test_bad_link_bandwidth():
    with pytest.raises(InputError, match="--kv-transfer-gb-s"):
        _plan(disaggregation=True, kv_transfer_gb_s=-5.0)
