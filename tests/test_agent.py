"""Agent workloads (core/agent.py and the plan's ``agent`` section): hand-computed token arithmetic,
LRU survival, task latency, and properties (hit rate in [0, 1], more reuse never needs more GPUs,
longer contexts never need fewer, C = 1 without a shared prefix is exactly today's plan)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpucast import AgentWorkloadInput, GPUConfig, InputError, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.core.agent import (
    AgentShape,
    cache_outcome,
    call_input_tokens,
    calls_pmf,
    lru_survival,
    max_context_tokens,
    mean_calls,
    task_latency_s,
    token_flow,
)
from gpucast.planning.inference import plan_inference

# P = 1000 shared, D = 500 new per call, O = 200 out, C = 3:
# call 1: 1000 + 500 = 1500; call 2: 1000 + 1000 + 200 = 2200; call 3: 1000 + 1500 + 400 = 2900
SHAPE = AgentShape(tasks_per_s=2.0, calls_per_task=3, shared_prefix_tokens=1000, context_growth_tokens=500,
                   output_tokens=200, think_time_s=10.0)  # fmt: skip


def test_call_inputs_grow_by_growth_plus_previous_output():
    assert [call_input_tokens(SHAPE, k) for k in (1, 2, 3)] == [1500, 2200, 2900]
    assert max_context_tokens(SHAPE) == 2900 + 200


def test_token_flow_by_hand():
    flow = token_flow(SHAPE)
    assert flow.mean_input_tokens == pytest.approx((1500 + 2200 + 2900) / 3)  # 2200
    # reused: call 1 the shared 1000; call 2 all but its 500 new (1700); call 3 2400 -> 5100 / 6600
    assert flow.shared_reusable_tokens * 3 == pytest.approx(1000)
    assert flow.task_reusable_tokens * 3 == pytest.approx(1700 + 2400)
    assert flow.reusable_fraction == pytest.approx(5100 / 6600)
    assert SHAPE.calls_per_s == pytest.approx(6.0)


def test_fixed_non_integer_mean_splits_floor_and_ceil():
    assert calls_pmf(replace(SHAPE, calls_per_task=2.5)) == ((2, 0.5), (3, 0.5))
    assert mean_calls(replace(SHAPE, calls_per_task=2.5)) == pytest.approx(2.5)


def test_geometric_truncated_at_max_calls_by_hand():
    # p = 1/2: P(1) = 0.5, P(2) = 0.25, tail P(C >= 3) = 0.25 on the cap
    shape = replace(SHAPE, calls_per_task=2.0, distribution="geometric", max_calls=3)
    assert calls_pmf(shape) == ((1, 0.5), (2, 0.25), (3, 0.25))
    assert mean_calls(shape) == pytest.approx(1.75)
    # sum input = E[C] P + D E[C(C+1)]/2 + O E[C(C-1)]/2 = 1750 + 500 x 2.75 + 200 x 1.0 = 3325
    assert token_flow(shape).mean_input_tokens == pytest.approx(3325 / 1.75)


def test_geometric_length_bias_doubles_context_growth():
    # untruncated geometric: E[C(C-1)] = 2 m (m - 1), so the mean call carries (D+O)(m-1) more
    # context than call 1, twice the fixed distribution's (D+O)(m-1)/2
    m = 4.0
    shape = replace(SHAPE, calls_per_task=m, distribution="geometric", max_calls=400)
    flow = token_flow(shape)
    assert flow.mean_input_tokens == pytest.approx(1500 + 700 * (m - 1), rel=1e-6)
    fixed = token_flow(replace(SHAPE, calls_per_task=m))
    assert fixed.mean_input_tokens == pytest.approx(1500 + 700 * (m - 1) / 2)


def test_lru_survival_by_hand():
    # 1000 cached tokens, 100 inserted per second: characteristic time 10 s; mean gap 10 s
    assert lru_survival(1000, 100, 10) == pytest.approx(1 - math.exp(-1))
    assert lru_survival(0, 100, 10) == 0.0
    assert lru_survival(1000, 100, 0) == 1.0


def test_cache_outcome_by_hand():
    flow = token_flow(SHAPE)
    out = cache_outcome(flow, SHAPE, cache_tokens=7000, calls_per_s=1.0)
    # inserted per call: 500 new prompt tokens + 200 output = 700/s; T_C = 10 s = think time
    assert out.insert_tokens_per_s == pytest.approx(700)
    assert out.task_survival == pytest.approx(1 - math.exp(-1))
    # shared prefix: one task every 3 s -> 1 - exp(-10/3)
    s_task, s_shared = 1 - math.exp(-1), 1 - math.exp(-10 / 3)
    cached = s_task * 4100 / 3 + (1 - s_task) * s_shared * 1000 * 2 / 3 + s_shared * 1000 / 3
    assert out.cached_tokens_per_call == pytest.approx(cached)
    assert out.hit_rate == pytest.approx(cached / 2200)
    off = cache_outcome(flow, SHAPE, cache_tokens=7000, calls_per_s=1.0, enabled=False)
    assert off.hit_rate == 0.0


def test_task_latency_by_hand():
    # 3 calls x (0.1 s + 199 x 0.02 s) + 2 x 10 s think
    assert task_latency_s(SHAPE, ttft_s=0.1, itl_s=0.02) == pytest.approx(3 * (0.1 + 199 * 0.02) + 20)


@settings(max_examples=200, deadline=None)
@given(
    calls=st.floats(min_value=1, max_value=50),
    prefix=st.integers(0, 20000),
    growth=st.integers(1, 5000),
    out=st.integers(1, 2000),
    think=st.floats(min_value=0, max_value=600),
    cache=st.floats(min_value=-1e6, max_value=1e7),
    rate=st.floats(min_value=0, max_value=1000),
    geometric=st.booleans(),
)
def test_hit_rate_is_a_fraction(calls, prefix, growth, out, think, cache, rate, geometric):
    shape = AgentShape(1.0, calls, prefix, growth, out, think, "geometric" if geometric else "fixed")
    flow = token_flow(shape)
    hit = cache_outcome(flow, shape, cache_tokens=cache, calls_per_s=rate)
    assert 0.0 <= hit.hit_rate <= flow.reusable_fraction + 1e-9 <= 1.0 + 1e-9


def _agent_plan(slo_percentile: str = "99", pp: int | None = None, **changes):
    agent = AgentWorkloadInput(tasks_per_second=1.0, calls_per_task=6, shared_prefix_tokens=2000,
                               context_growth_tokens=800, think_time_s=5.0)  # fmt: skip
    agent = replace(agent, **changes)
    return plan_inference(
        LLMWorkloadInput.for_agent(agent, output_tokens=200),
        ModelConfig(model_name="llama-3.1-8b", precision="BF16"),
        GPUConfig("h100"),
        ServingOptions(tp=1, pp=pp, slo_percentile=slo_percentile),
    )


def test_agent_plan_section():
    plan = _agent_plan()
    a = plan.agent
    assert a is not None
    assert a.calls_per_second == pytest.approx(6.0)
    # mean input: P + D (C+1)/2 + O (C-1)/2 = 2000 + 800 x 3.5 + 200 x 2.5 = 5300
    assert a.mean_input_tokens_per_call == pytest.approx(5300)
    assert plan.inputs["avg_input_tokens"] == 5300 and plan.inputs["requests_per_second"] == pytest.approx(6.0)
    assert 0 < a.prefix_cache_hit_rate <= a.reusable_fraction <= 1
    assert a.prefilled_tokens_per_call == pytest.approx(5300 - a.cached_tokens_per_call)
    assert plan.to_dict()["agent"]["prefix_cache_hit_rate"] == pytest.approx(a.prefix_cache_hit_rate, abs=1e-6)


def test_one_call_without_shared_prefix_is_todays_plan():
    agent = AgentWorkloadInput(tasks_per_second=7.0, calls_per_task=1, context_growth_tokens=900, think_time_s=3)
    model = ModelConfig(model_name="llama-3.1-8b", precision="BF16")
    with_agent = plan_inference(LLMWorkloadInput.for_agent(agent, output_tokens=250), model, GPUConfig("h100"))
    today = plan_inference(LLMWorkloadInput(7.0, 900, 250), model, GPUConfig("h100"))
    a, b = with_agent.to_dict(), today.to_dict()
    for section in ("gpu_resources", "throughput", "scaling", "cost", "alternatives", "recommendation"):
        assert a[section] == b[section], section
    assert with_agent.agent is not None and with_agent.agent.prefix_cache_hit_rate == 0.0


def test_prefix_caching_cuts_prefill_and_gpus():
    on, off = _agent_plan(), _agent_plan(prefix_caching=False)
    assert off.agent.prefix_cache_hit_rate == 0.0
    assert on.agent.prefilled_tokens_per_call < off.agent.prefilled_tokens_per_call
    assert on.gpu_resources.total_gpus <= off.gpu_resources.total_gpus
    assert on.throughput.rps_per_replica > off.throughput.rps_per_replica


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    think=st.floats(min_value=0, max_value=120),
    calls=st.integers(2, 12),
    cache_gib=st.floats(min_value=0.05, max_value=20),
)
def test_more_reuse_never_needs_more_gpus(think, calls, cache_gib):
    # at p99 (the product's default): the ITL tail is a Poisson mixture of chunk-carrying steps, monotone in reuse;
    # one layout (pp=1), as test_longer_contexts_never_need_fewer_gpus below says why
    base = {"think_time_s": think, "calls_per_task": calls}
    off = _agent_plan(prefix_caching=False, **base, pp=1).gpu_resources.total_gpus
    small = _agent_plan(prefix_cache_gib=cache_gib, **base, pp=1).gpu_resources.total_gpus
    large = _agent_plan(prefix_cache_gib=cache_gib * 4, **base, pp=1).gpu_resources.total_gpus
    assert large <= small <= off
    quick = _agent_plan(prefix_cache_gib=cache_gib, think_time_s=think / 4, calls_per_task=calls, pp=1)
    assert quick.gpu_resources.total_gpus <= small


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(growth=st.integers(100, 3000), extra=st.integers(1, 3000), calls=st.integers(1, 10), cached=st.booleans())
def test_longer_contexts_never_need_fewer_gpus(growth, extra, calls, cached):
    # at p99: the chunk-carrying steps' tail grows with the prompt (full chunks and a remainder, Poisson streams).
    # One layout (pp=1): the planner picks layouts by cost, and two-node PP replicas are billed as full nodes, so a
    # longer context can move it from 5 single-GPU replicas to 2 x 2 GPUs over two nodes: fewer GPUs, more cost
    short = _agent_plan(context_growth_tokens=growth, calls_per_task=calls, prefix_caching=cached, pp=1)
    long = _agent_plan(context_growth_tokens=growth + extra, calls_per_task=calls, prefix_caching=cached, pp=1)
    assert long.gpu_resources.total_gpus >= short.gpu_resources.total_gpus


def test_task_slo_limits_concurrency():
    free = _agent_plan()
    tight = _agent_plan(task_latency_slo_ms=free.agent.task_latency_ms * 0.9)
    assert tight.throughput.concurrency_limit == "task-latency"
    assert tight.agent.task_latency_ms <= free.agent.task_latency_ms * 0.9
    assert tight.gpu_resources.total_gpus >= free.gpu_resources.total_gpus


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"calls_per_task": -2}, "calls_per_task"),
        ({"calls_per_task": 0.5}, "at least 1"),
        ({"context_growth_tokens": -1}, "context_growth_tokens"),
        ({"think_time_s": -1.0}, "think_time_s"),
        ({"calls_distribution": "poisson"}, "calls_distribution"),
        ({"prefix_cache_gib": 0}, "prefix_cache_gib"),
    ],
)
def test_bad_agent_inputs_name_the_value(changes, message):
    agent = replace(AgentWorkloadInput(tasks_per_second=1.0, context_growth_tokens=100), **changes)
    with pytest.raises(InputError, match=message):
        LLMWorkloadInput.for_agent(agent, output_tokens=100)


def test_context_beyond_the_model_window_is_an_input_error():
    agent = AgentWorkloadInput(tasks_per_second=1.0, calls_per_task=100, context_growth_tokens=2000)
    with pytest.raises(InputError, match=r"beyond Llama-3\.1-8B's 131072-token window"):
        plan_inference(LLMWorkloadInput.for_agent(agent, output_tokens=500), ModelConfig(model_name="llama-3.1-8b"))


def test_derived_fields_must_match_the_agent():
    agent = AgentWorkloadInput(tasks_per_second=1.0, calls_per_task=2, context_growth_tokens=100)
    with pytest.raises(InputError, match="derived"):
        plan_inference(LLMWorkloadInput(5.0, 100, 50, agent=agent), ModelConfig(model_name="llama-3.1-8b"))


def test_long_context_raises_the_window_with_a_warning():
    plan = _agent_plan(calls_per_task=10)
    assert plan.inputs["context_window"] == plan.agent.max_context_tokens > 4096
    assert any("context window raised" in w for w in plan.warnings)


def test_published_numbers_validation_runs_and_well_posed_rows_stay_close():
    """benchmarks/validate_agent.py over data/benchmarks/agent/agent.csv: every row predicted; the rows whose
    setup the source states fully (MTP acceptance lengths, prefix-cache throughput ratio, agent hit rate) within 10%."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "validate_agent.py"
    result = subprocess.run([sys.executable, str(script), "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = {r["id"]: r for r in json.loads(result.stdout)["rows"]}
    assert len(rows) >= 9 and all(math.isfinite(r["predicted"]) for r in rows.values())
    for row_id in (2, 3, 6, 9):
        assert abs(rows[row_id]["error_percent"]) < 10, rows[row_id]
