"""`gpucast estimate`: one operating point, its monotonic properties, engines, and bad input."""

from __future__ import annotations

import itertools
import json
import subprocess

import pytest

from conftest import gpucast_exe
from gpucast.errors import GpucastError, InputError
from gpucast.planning.estimate import EstimateRequest, estimate


def _est(**kw):
    base = {"model": "llama-3.1-70b", "gpu": "H100", "num_gpus": 4, "tp": 4, "precision": "BF16",
            "input_tokens": 1000, "output_tokens": 500, "load": "concurrency", "load_value": 32}  # fmt: skip
    return estimate(EstimateRequest(**(base | kw)))


def test_more_concurrency_more_throughput_and_latency_until_saturation():
    results = [_est(load_value=c) for c in (1, 8, 64, 256)]
    for lo, hi in itertools.pairwise(results):
        assert hi.output_tokens_per_s > lo.output_tokens_per_s
        assert hi.itl_ms > lo.itl_ms
    saturated = _est(load_value=5000)
    top = _est(load="max-throughput", load_value=None)
    assert saturated.output_tokens_per_s == pytest.approx(top.output_tokens_per_s)
    assert saturated.bound in ("kv-capacity", "max-num-seqs") and saturated.warnings


def test_fp8_faster_than_bf16_on_h100():
    assert _est(precision="FP8").itl_ms < _est(precision="BF16").itl_ms


def test_more_tp_lower_itl():
    itl = [_est(num_gpus=8, tp=tp).itl_ms for tp in (2, 4, 8)]
    assert itl[0] > itl[1] > itl[2]


def test_extra_gpus_are_replicas():
    one = _est(num_gpus=4, load_value=64)
    two = _est(num_gpus=8, load_value=128)
    assert two.replicas == 2
    assert two.output_tokens_per_s == pytest.approx(2 * one.output_tokens_per_s)
    assert two.output_tokens_per_s_per_gpu == pytest.approx(one.output_tokens_per_s_per_gpu)


def test_request_rate_is_served_below_capacity():
    result = _est(load="request-rate", load_value=2.0)
    assert result.requests_per_s == pytest.approx(2.0, rel=1e-3)


def test_engines_reserve_memory_differently():
    # At the same 0.9 on 4 x H100 (32.9 GiB weights/GPU): SGLang 0.9 x total - weights - 2.6 GiB overhead < vLLM
    # (its V1 release) 0.9 x total - weights - activations - 0.2 GiB non-torch memory < TensorRT-LLM 0.9 x (total -
    # weights - activations - 1 GiB) (runtime overheads from engines.toml and core.engine_releases.VLLM_NON_TORCH_GIB)
    vllm = _est(engine="vllm", gpu_memory_utilization=0.9)
    trt = _est(engine="trtllm", gpu_memory_utilization=0.9)
    sgl = _est(engine="sglang", gpu_memory_utilization=0.9)
    assert sgl.kv_cache_tokens < vllm.kv_cache_tokens < trt.kv_cache_tokens
    # before 0.6.4 the profiler charged more than non-torch memory: the fitted 1.0 GiB on NVIDIA (2.8 on ROCm)
    old = _est(engine="vllm", gpu_memory_utilization=0.9, engine_version="0.6.3")
    assert sgl.kv_cache_tokens < old.kv_cache_tokens < vllm.kv_cache_tokens


def test_kv_cache_tokens_hand_checked():
    # Llama-3.1-8B BF16 on one H100, vLLM 0.19.1: (79.65 GiB x 0.9 - weights - activations - 0.2 GiB) / 131072 B,
    # with 8,030,261,248 params x 2 B of weights, 8192 x (3 x 4096 + 3 x 14336) x 2 B + 256 x 128,256 x 4 B of
    # activation peak, and the 0.2 GiB of non-torch memory the V1 profiler charges (core.
    # engine_releases.VLLM_NON_TORCH_GIB; engines.toml's fitted 1.0 GiB (NVIDIA) is for releases before 0.6.4): 455,1xx
    gib = 2**30
    weights, activations = 8_030_261_248 * 2, 8192 * 55_296 * 2 + 256 * 128_256 * 4
    kv_bytes = 0.9 * 79.65 * gib - weights - activations - 0.2 * gib
    result = _est(model="llama-3.1-8b", num_gpus=1, tp=1, engine_version="0.19.1")
    assert result.kv_cache_tokens == int(kv_bytes // 131_072)
    assert 455_000 < result.kv_cache_tokens < 456_000
    # the current release (0.34, fraction unset): 79.65 GiB less 0.5 in use at start and a margin of max(1 GiB,
    # 0.75 x 0.97 GiB of activation peak), less the same and 102 CUDA graphs x 7.6 MiB (core.cuda_graphs)
    kv_bytes = (79.65 - 0.5 - 1.0) * gib - weights - activations - 0.2 * gib - 102 * 7.6 * 2**20
    current = _est(model="llama-3.1-8b", num_gpus=1, tp=1)
    assert current.kv_cache_tokens == int(kv_bytes // 131_072)
    assert 501_000 < current.kv_cache_tokens < 503_000  # 501,9xx: +10% on 0.19.1


def test_default_tp_is_the_fastest_that_fits():
    result = _est(tp=None, num_gpus=4, load="max-throughput", load_value=None)
    assert result.tp in (2, 4) and result.tp * result.replicas == 4


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"tp": 3}, "does not divide"),
        ({"num_gpus": 6}, "not a multiple"),
        ({"engine": "mlc"}, "--engine 'mlc'"),
        ({"load": "concurrency", "load_value": None}, "needs a value"),
        ({"input_tokens": 0}, "greater than 0"),
        ({"model": "llama-3.1-405b", "gpu": "T4", "num_gpus": 1, "tp": 1}, "weights"),
    ],
)
def test_bad_requests(kw, match):
    with pytest.raises(GpucastError, match=match):
        _est(**kw)


def test_cli_estimate_json_has_the_documented_keys():
    result = subprocess.run(
        [*gpucast_exe(), "estimate", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "H100-SXM",
         "--num-gpus", "8", "--tp", "4", "--precision", "FP8", "--input-tokens", "1000", "--output-tokens", "1000",
         "--concurrency", "64", "--engine", "trtllm", "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in ("output_tokens_per_s", "output_tokens_per_s_per_gpu", "total_tokens_per_s", "requests_per_s",
                "ttft_ms", "itl_ms", "e2e_ms", "concurrency", "tp", "pp", "replicas", "kv_cache_tokens",
                "weights_gib_per_gpu", "bound"):  # fmt: skip
        assert key in data
    assert data["replicas"] == 2


def test_cli_estimate_needs_a_load():
    result = subprocess.run(
        [*gpucast_exe(), "estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "1",
         "--input-tokens", "10", "--output-tokens", "10"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "one of the arguments" in result.stderr


def test_input_error_is_value_error():
    assert issubclass(InputError, ValueError)
