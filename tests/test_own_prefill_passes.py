"""Issue 21: an engine that prefills in passes of their own (SGLang: ``own_prefill_passes``) charges each prompt its
share of a pass's fixed part, shared by the prompts that wait for the same pass (core.replica.prompts_per_pass).
Before, every engine charged a prompt only the compute of a pass that many prompts share, so at light load the
prefill server looked ~2% busy where SGLang's DeepSeek-V3 run shows ~20% (docs/tail-latency.md)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from gpucast.catalog import loader
from gpucast.core.replica import ReplicaConfig, own_pass_cost, prefill_costs, prompts_per_pass
from gpucast.core.serving import at_request_rate, max_throughput
from gpucast.core.specs import Precision
from gpucast.core.tails import latency_tail

SHAPE = {"input_tokens": 317.6, "output_tokens": 201.4}  # the BBuf SGLang run's mean lengths


def _dsv3(engine: str) -> ReplicaConfig:
    """DeepSeek-V3 FP8 on 8 x H200 at TP8, as data/benchmarks/percentiles/sglang_dsv3_h200_sharegpt.csv runs it."""
    gpu = loader.resolve_gpu("H200")
    model = loader.resolve_model("deepseek-v3")
    eff = loader.efficiency_for(gpu, engine, model=model)
    return ReplicaConfig(model, gpu, eff, Precision.FP8, Precision.BF16, tp=8, pp=1, max_sequences=256)


def test_sglang_prefills_in_passes_of_their_own_and_vllm_does_not() -> None:
    gpu = loader.resolve_gpu("H200")
    assert loader.efficiency_for(gpu, "sglang").own_prefill_passes
    assert not loader.efficiency_for(gpu, "vllm").own_prefill_passes
    assert not loader.efficiency_for(gpu, "trtllm").own_prefill_passes


def test_prompts_per_pass_is_the_batch_service_mean() -> None:
    """k = lambda L + e^-lambda L with L = fixed + k x per prompt: 1 at light load, the arrivals during one pass
    under load, never above the token budget's prompts, and non-decreasing in the rate."""
    assert prompts_per_pass(0.0, 0.2, 0.02, 25) == 1.0
    assert prompts_per_pass(1e-6, 0.2, 0.02, 25) == pytest.approx(1.0, abs=1e-6)
    k = prompts_per_pass(10.0, 0.2, 0.02, 25)
    busy = 10.0 * (0.2 + k * 0.02)
    assert k == pytest.approx(busy + math.exp(-busy), rel=1e-6)
    assert prompts_per_pass(40.0, 0.2, 0.02, 3.0) == 3.0
    ks = [prompts_per_pass(r, 0.2, 0.02, 25) for r in (0.1, 0.5, 1, 2, 5, 10, 20, 40)]
    assert ks == sorted(ks)


def test_a_lone_prompt_pays_a_whole_pass_on_sglang_only() -> None:
    sglang, vllm = _dsv3("sglang"), _dsv3("vllm")
    new = SHAPE["input_tokens"]
    latency, cost = prefill_costs(sglang, new)
    assert latency > 5 * cost  # DeepSeek-V3's lone pass is fixed costs: the weight read, the eager MoE launches
    assert own_pass_cost(sglang, 1e-6, latency, cost, new) == pytest.approx(latency, rel=1e-3)
    assert own_pass_cost(sglang, 1.0, latency, cost, new) > 0.9 * latency  # ~1 req/s: prompts rarely share
    v_latency, v_cost = prefill_costs(vllm, new)
    assert own_pass_cost(vllm, 1.0, v_latency, v_cost, new) == v_cost  # chunks ride in decode steps: unchanged
    # under load the share falls towards the compute (many prompts per pass)
    assert own_pass_cost(sglang, 50.0, latency, cost, new) < 0.3 * latency


def test_sglang_light_load_stretches_itl_and_queues_ttft() -> None:
    """At the BBuf run's 0.95 req/s each prompt holds the replica for a whole ~0.2 s pass: decode steps lose ~20%
    of the time (mean ITL / step ~ 1.2, measured 1.28) and the p99 TTFT carries an M/G/1 wait behind a pass. The old
    model (shared cost for every engine) had ITL / step = 1.02 and a p99 TTFT under 1.9 x the median."""
    cfg = _dsv3("sglang")
    sat = max_throughput(cfg, **SHAPE).requests_per_s
    point = at_request_rate(cfg, rate=0.95, **SHAPE)
    assert point.itl_s / point.step.total_s > 1.15
    tail = latency_tail(cfg, point, saturation_rate=sat, **SHAPE)
    ttft_p50, ttft_p99 = tail.ttft_s[1], tail.ttft_s[4]
    assert ttft_p99 > 2.3 * ttft_p50
    mixed = dataclasses.replace(cfg, efficiency=dataclasses.replace(cfg.efficiency, own_prefill_passes=False))
    old = at_request_rate(mixed, rate=0.95, **SHAPE)
    assert old.itl_s / old.step.total_s < 1.05
    assert latency_tail(mixed, old, saturation_rate=sat, **SHAPE).ttft_s[4] < 0.75 * ttft_p99


def test_a_stalled_decode_waits_for_the_whole_pass() -> None:
    """Where more than 1% of the gaps between tokens hold a prefill pass, the p99 ITL is a decode step plus the
    whole pass (SGLang's measured P99 ITL 218-240 ms = a step + one ~200 ms pass), not plus one prompt's compute."""
    cfg = _dsv3("sglang")
    sat = max_throughput(cfg, **SHAPE).requests_per_s
    point = at_request_rate(cfg, rate=3.0, **SHAPE)
    tail = latency_tail(cfg, point, saturation_rate=sat, **SHAPE)
    latency, cost = prefill_costs(cfg, SHAPE["input_tokens"])
    assert tail.itl_s[4] - point.step.total_s > 0.9 * latency
    mixed = dataclasses.replace(cfg, efficiency=dataclasses.replace(cfg.efficiency, own_prefill_passes=False))
    old = latency_tail(mixed, at_request_rate(mixed, rate=3.0, **SHAPE), saturation_rate=sat, **SHAPE)
    assert old.itl_s[4] - point.step.total_s < 3 * cost
