"""Engine-specific efficiency factors: catalog, efficiency_for, estimate, planner options and CLI."""

from __future__ import annotations

import json
import math
import subprocess

import pytest

import gpucast
from conftest import gpucast_exe
from gpucast.catalog import loader
from gpucast.core.perf import Efficiency, EngineFactors
from gpucast.core.specs import Precision
from gpucast.errors import InputError
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.estimate import EstimateRequest, estimate


def test_engine_factors_scale_the_family_efficiencies():
    factors = loader.load_engine_factors()
    assert "lmdeploy" in factors and "trtllm" not in factors  # fitted engine; the reference stays at 1
    a100 = loader.resolve_gpu("A100-80GB")
    base = loader.efficiency_for(a100, "trtllm")
    assert base == loader.load_efficiencies().get(a100.family, loader.load_efficiencies()["default"])
    for engine, f in factors.items():
        eff = loader.efficiency_for(a100, engine)
        assert math.isclose(eff.bandwidth_fraction, min(1.0, base.bandwidth_fraction * f.bandwidth_scale))
        assert math.isclose(eff.kv_bandwidth_fraction, min(1.0, base.kv_bandwidth_fraction * f.bandwidth_scale))
        assert math.isclose(eff.compute_fraction, min(1.0, base.compute_fraction * f.compute_scale))
        assert math.isclose(eff.prefill_fraction, min(1.0, base.prefill_fraction * f.compute_scale))
        assert math.isclose(eff.step_overhead_s, base.step_overhead_s * f.overhead_scale)
        assert eff.allreduce_latency_s == base.allreduce_latency_s
        assert engine in eff.source
    assert loader.efficiency_for(a100, "tensorrt-llm") == base  # aliases resolve


def test_engine_factors_apply_caps_fractions_at_one():
    eff = EngineFactors(bandwidth_scale=1.5, compute_scale=0.5, overhead_scale=2.0).apply(
        Efficiency(bandwidth_fraction=0.8, compute_fraction=0.4, step_overhead_s=0.001)
    )
    assert eff.bandwidth_fraction == 1.0 and eff.compute_fraction == pytest.approx(0.2)
    assert eff.step_overhead_s == pytest.approx(0.002)
    assert EngineFactors().apply(Efficiency()) == Efficiency()


def _est(engine: str):
    return estimate(
        EstimateRequest(
            model="llama-2-7b", gpu="A100-80GB", num_gpus=1, tp=1, precision="FP16", input_tokens=512,
            output_tokens=128, load="concurrency", load_value=16, engine=engine,
        )
    )  # fmt: skip


def test_estimate_engine_changes_the_prediction():
    lmdeploy, vllm = _est("lmdeploy"), _est("vllm")
    assert lmdeploy.engine == "LMDeploy" and vllm.engine == "vLLM"
    assert lmdeploy.itl_ms != pytest.approx(vllm.itl_ms, rel=1e-3)


WORKLOAD = LLMWorkloadInput(requests_per_second=5, avg_input_tokens=500, avg_output_tokens=200)


def test_unknown_engine_is_an_input_error_with_the_list():
    with pytest.raises(InputError, match="--engine 'foo' is not one of vllm, sglang, trtllm, lmdeploy, nim"):
        gpucast.plan_inference(WORKLOAD, ModelConfig(model_name="llama-3.1-8b"), options=ServingOptions(engine="foo"))


def test_planner_uses_the_engine_and_names_it():
    model, gpu = ModelConfig(model_name="llama-3.1-8b"), GPUConfig("A100-80GB")
    plan = gpucast.plan_inference(WORKLOAD, model, gpu, ServingOptions(engine="lmdeploy"))
    assert plan.inputs["engine"] == "lmdeploy"
    assert any("Engine: LMDeploy" in line for line in plan.assumptions)
    default = gpucast.plan_inference(WORKLOAD, model, gpu)
    assert default.inputs["engine"] == "vllm"
    assert any("Engine: vLLM" in line for line in default.assumptions)


def test_cli_inference_engine_flag():
    args = ["inference", "--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "500", "--output-tokens", "200"]
    result = subprocess.run([*gpucast_exe(), *args, "--engine", "sglang", "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["inputs"]["engine"] == "sglang"
    bad = subprocess.run([*gpucast_exe(), *args, "--engine", "tgi"], capture_output=True, text=True)
    assert bad.returncode != 0 and "not one of" in bad.stderr


def test_sliding_window_is_applied_by_vllm_not_by_tensorrt_llm():
    # Mistral-7B-v0.1 has a 4096-token window on all 32 layers; TensorRT-LLM keeps the full context by default
    # (max_attention_window_size = max sequence length), so its KV cache holds 5x fewer 20k-token sequences
    mistral = loader.resolve_model("mistral-7b")
    trtllm, vllm = loader.resolve_engine("trtllm"), loader.resolve_engine("vllm")
    assert vllm.serves(mistral) is mistral
    full = trtllm.serves(mistral)
    assert (full.sliding_window, full.sliding_window_layers) == (0, 0)
    dense = loader.resolve_model("llama-3.1-8b")
    assert trtllm.serves(dense) is dense

    def kv_tokens(engine: str) -> int:
        request = EstimateRequest(model="mistral-7b", gpu="H100", num_gpus=1, precision="FP8", input_tokens=20000,
                                  output_tokens=2000, engine=engine)  # fmt: skip
        return estimate(request).concurrency

    assert kv_tokens("trtllm") < kv_tokens("vllm")


def test_fp8_weights_bring_an_fp8_kv_cache_only_on_engines_whose_checkpoints_quantize_it():
    engines = loader.load_engines()
    assert engines["trtllm"].default_kv_precision(Precision.FP8) is Precision.FP8
    assert engines["nim"].default_kv_precision(Precision.FP8) is Precision.FP8
    assert engines["vllm"].default_kv_precision(Precision.FP8) is Precision.BF16
    assert engines["trtllm"].default_kv_precision(Precision.BF16) is Precision.BF16
    common = {
        "model": "llama-3.1-8b",
        "gpu": "H100",
        "num_gpus": 1,
        "precision": "FP8",
        "input_tokens": 512,
        "output_tokens": 128,
    }
    trt = estimate(EstimateRequest(engine="trtllm", **common))
    vllm = estimate(EstimateRequest(engine="vllm", **common))
    assert (trt.kv_precision, vllm.kv_precision) == ("FP8", "BF16")
    explicit = estimate(EstimateRequest(engine="trtllm", kv_precision="BF16", **common))
    assert explicit.kv_precision == "BF16"  # a stated --kv-precision wins
