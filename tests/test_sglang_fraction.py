"""SGLang's default ``mem_fraction_static`` follows its release, the replica's layout and its GPU (server_args.py):
a plan or an estimate that is not given --gpu-memory-utilization sizes each replica with it; a given one is kept.
Why: a flat 0.88 gave an SGLang TP8 replica on an H100 ~7% more of each GPU than SGLang takes (0.818 today)."""

from __future__ import annotations

import pytest

from gpucast.catalog import loader
from gpucast.core.engine_releases import (
    SGLANG_CURRENT_HEURISTIC,
    SGLANG_HEURISTIC,
    SGLANG_PREFILL_GRAPHS,
    SGLANG_RESERVED_GIB,
    SGLANG_TP_TABLE,
    fraction_rule_for,
    sglang_reserved_gib_fraction,
    sglang_tp_table_fraction,
)
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.estimate import EstimateRequest, build_replica
from gpucast.planning.inference import plan_inference

H100_MIB = 81_559  # nvidia-smi memory.total of an H100 SXM (the catalog's 79.65 GiB)


def test_the_rule_follows_the_release():
    """TP table up to 0.4.7, PR 7054's reserved GiB from 0.4.8, PR 10975's heuristic from 0.5.3, with the prefill
    graphs from 0.5.10 and the 20-35 GiB tier from 0.5.20 (and today)."""
    assert fraction_rule_for((0, 4, 3)) == SGLANG_TP_TABLE
    assert fraction_rule_for((0, 5, 2)) == SGLANG_RESERVED_GIB
    assert fraction_rule_for((0, 5, 3)) == fraction_rule_for((0, 5, 9)) == SGLANG_HEURISTIC
    assert fraction_rule_for((0, 5, 10)) == fraction_rule_for((0, 5, 19)) == SGLANG_PREFILL_GRAPHS
    assert fraction_rule_for((0, 5, 20)) == fraction_rule_for(None) == SGLANG_CURRENT_HEURISTIC
    assert fraction_rule_for(None, "2026-05-01") == SGLANG_PREFILL_GRAPHS  # a build between 0.5.10 and 0.5.20
    assert fraction_rule_for((0, 5, 7), "2025-05-01") == SGLANG_TP_TABLE  # a build's date wins
    assert [sglang_tp_table_fraction(tp) for tp in (1, 2, 4, 8, 16)] == [0.88, 0.87, 0.85, 0.81, 0.79]
    # H100 at TP8 under PR 7054: 9.5 + 8 / 2 = 13.5 GiB reserved -> (81,559 - 13,824) / 81,559
    assert sglang_reserved_gib_fraction(H100_MIB, tp=8) == round((H100_MIB - 13_824) / H100_MIB, 3) == 0.831


def _plan(**options):
    return plan_inference(
        LLMWorkloadInput(2.0, 1000, 200),
        ModelConfig(model_name="llama-3.1-70b", precision="FP8"),
        GPUConfig(gpu_type="h100"),
        ServingOptions(engine="sglang", tp=8, **options),
    )


def test_a_tp8_sglang_plan_takes_sglangs_fraction():
    """The current release on an H100 at TP8 reserves 512 + 1.5 x 8192 + 2 x 512 + 1024 = 14,848 MiB and 8 MiB for
    each of the 58 prefill graph sizes up to 8192 (464): 15,312 MiB, 0.812, not the flat 0.88 the plan assumed
    before; 0.5.9 (no prefill graphs) 0.818; --engine-version 0.4.3 takes that release's TP table (0.81)."""
    plan = _plan()
    assert plan.inputs["gpu_memory_utilization"] == round((H100_MIB - 15_312) / H100_MIB, 3) == 0.812
    assert _plan(engine_version="0.5.9").inputs["gpu_memory_utilization"] == 0.818
    assert _plan(engine_version="0.4.3").inputs["gpu_memory_utilization"] == 0.81
    given = _plan(gpu_memory_utilization=0.812)
    assert plan.gpu_resources.kv_cache_tokens == given.gpu_resources.kv_cache_tokens


def test_a_given_fraction_is_kept():
    """--gpu-memory-utilization 0.88 stays 0.88 at TP8, and holds more KV cache than SGLang's own default."""
    given = _plan(gpu_memory_utilization=0.88)
    assert given.inputs["gpu_memory_utilization"] == 0.88
    assert given.gpu_resources.kv_cache_tokens > _plan().gpu_resources.kv_cache_tokens


@pytest.mark.parametrize(("fraction", "same"), [(None, True), (0.88, False)])
def test_estimate_follows_the_default_unless_given(fraction, same):
    """``gpucast estimate --engine sglang --tp 8`` sizes the KV cache as at SGLang's 0.812; a given 0.88 is kept."""
    base = {"model": "llama-3.1-70b", "gpu": "H100", "num_gpus": 8, "tp": 8, "precision": "FP8",
            "input_tokens": 1000, "output_tokens": 500, "engine": "sglang"}  # fmt: skip
    _, memory, _, _ = build_replica(EstimateRequest(**base, gpu_memory_utilization=fraction))
    _, at_default, _, _ = build_replica(EstimateRequest(**base, gpu_memory_utilization=0.812))
    assert (memory.kv_capacity_tokens == at_default.kv_capacity_tokens) is same
    assert loader.resolve_gpu("h100").memory_gib * 1024 == pytest.approx(H100_MIB, abs=3)
