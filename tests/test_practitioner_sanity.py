"""Regressions of the practitioner sanity sweep (2026-12-07, sixteenth session): plans an ML-infra engineer would
reject on sight — a layout whose engine cannot start, a KV cache that shrinks by the attention-DP group count when
speculation is on, and ``--explain`` formulas that give other numbers than the table beside them."""

from __future__ import annotations

import pytest

from gpucast.errors import InfeasibleError
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.planning.inference import plan_inference


def test_each_attention_dp_group_holds_the_context_window():
    """A sequence lives in one attention-DP group's pool (vLLM: one engine core per DP rank, each checking that its
    cache holds max_model_len). GLM-4.5-Air FP8 at a 131,072-token window was planned on TP=2 EP=2 DP-attention=2
    with 202,832 tokens in all, 101,416 per group: an engine that refuses to start."""
    plan = plan_inference(
        LLMWorkloadInput(1, 1000, 300),
        ModelConfig(model_name="glm-4.5-air", precision="FP8", context_window=131_072),
        GPUConfig("H100"),
    ).to_dict()
    res = plan["gpu_resources"]
    assert res["kv_cache_tokens"] // res["attention_data_parallel"] >= 131_072


def test_estimate_refuses_a_window_no_attention_dp_group_holds():
    """``estimate`` of that layout at that window is refused (vLLM), naming the groups' share."""
    request = EstimateRequest(
        gpu="H100", num_gpus=2, input_tokens=1000, output_tokens=300, load="request-rate", load_value=1.0,
        model="glm-4.5-air", tp=2, ep=2, attention_dp=2, precision="FP8", max_model_len=131_072,
    )  # fmt: skip
    with pytest.raises(InfeasibleError, match="attention-DP groups"):
        estimate(request)


def test_speculation_keeps_the_attention_dp_groups_kv_cache():
    """The proposer's weights and KV come out of each GPU's cache, and each attention-DP group still caches its own
    sequences: Qwen3-30B-A3B on TP=2 EP=2 DP-attention=2 L40S kept 106,747 of 228,396 tokens with an MTP head (the
    per-GPU count, not times the 2 groups), so speculation planned no more capacity than none."""
    options = {"tp": 2, "ep": 2, "attention_dp": 2}
    work, model, gpu = LLMWorkloadInput(5, 1000, 300), ModelConfig(model_name="qwen3-30b-a3b"), GPUConfig("L40S")
    plain = plan_inference(work, model, gpu, ServingOptions(**options)).to_dict()["gpu_resources"]
    spec = plan_inference(
        work, model, gpu, ServingOptions(**options, speculative_tokens=2, acceptance_rate=0.7)
    ).to_dict()["gpu_resources"]
    assert spec["attention_data_parallel"] == 2
    assert 0.85 * plain["kv_cache_tokens"] <= spec["kv_cache_tokens"] < plain["kv_cache_tokens"]
