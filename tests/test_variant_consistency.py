"""Variant plans re-estimate to their own numbers (issue 17's "every plan" with speculative decoding and agent
workloads): ``estimate`` builds the planner's replica with its proposer (``--speculative-tokens``,
``--acceptance-rate``, ``--draft-model``) and states an agent call's prefix-cache hits (``--cached-input-tokens``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpucast.errors import InfeasibleError, InputError
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.inference import plan_inference
from test_plan_consistency import ENGINES, GPUS, MODELS, _re_estimate


@pytest.mark.parametrize(
    ("model", "gpu", "engine", "draft", "acceptance"),
    [("llama-3.1-70b", "H100", "vllm", "llama-3.2-1b", 0.7), ("llama-3.1-70b", "H200", "sglang", "mtp", 0.8),
     ("llama-3.1-8b", "L40S", "vllm", "mtp", 0.6), ("deepseek-r1", "H200", "sglang", "mtp", 0.75),
     ("qwen3-30b-a3b", "H100", "trtllm", "mtp", 0.5)],
)  # fmt: skip
def test_a_speculative_plan_re_estimates_with_the_same_proposer(model, gpu, engine, draft, acceptance):
    """``estimate --speculative-tokens K --acceptance-rate A --draft-model D`` builds the planner's replica (the
    proposer's weights and KV out of the cache, k + 1 tokens verified per step), so a speculative plan re-estimated
    at its peak rate gives its TTFT and ITL within 2%; before, ``estimate`` had no speculative options."""
    plan = plan_inference(
        LLMWorkloadInput(20.0, 1500, 300, 1.5),
        ModelConfig(model_name=model),
        GPUConfig(gpu),
        ServingOptions(engine=engine, speculative_tokens=4, acceptance_rate=acceptance, draft_model=draft),
    ).to_dict()
    again = _re_estimate(plan, engine)
    thr = plan["throughput"]
    assert again["ttft_ms"] == pytest.approx(thr["estimated_ttft_ms"], rel=0.02)
    assert again["itl_ms"] == pytest.approx(thr["estimated_itl_ms"], rel=0.02)
    assert any("speculative decoding: 4 drafted tokens" in w for w in again["warnings"])
    plain = dict(again, **_re_estimate({**plan, "inputs": {**plan["inputs"], "speculative_tokens": 0}}, engine))
    assert plain["itl_ms"] != pytest.approx(again["itl_ms"], rel=0.02)  # the proposer is really in the estimate


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(MODELS),
    gpu=st.sampled_from(GPUS),
    engine=st.sampled_from(ENGINES),
    k=st.integers(min_value=1, max_value=8),
    acceptance=st.floats(min_value=0.0, max_value=1.0),
    rps=st.floats(min_value=0.5, max_value=100),
)
def test_any_speculative_plan_re_estimates_to_its_latencies(model, gpu, engine, k, acceptance, rps):
    """The property behind the cases above, over models, GPUs, engines, draft lengths and acceptance rates."""
    try:
        plan = plan_inference(
            LLMWorkloadInput(rps, 1000, 250, 1.5),
            ModelConfig(model_name=model, context_window=4096),
            GPUConfig(gpu),
            ServingOptions(engine=engine, speculative_tokens=k, acceptance_rate=acceptance, require_slo=True),
        ).to_dict()
    except (InfeasibleError, InputError):
        return
    again = _re_estimate(plan, engine)
    thr = plan["throughput"]
    assert again["ttft_ms"] == pytest.approx(thr["estimated_ttft_ms"], rel=0.02)
    assert again["itl_ms"] == pytest.approx(thr["estimated_itl_ms"], rel=0.02)


@pytest.mark.parametrize(
    ("model", "gpu", "engine", "tasks"),
    [("llama-3.1-70b", "H100", "vllm", 0.5), ("llama-3.1-8b", "H100", "sglang", 3.0),
     ("qwen3-30b-a3b", "H200", "vllm", 1.0), ("llama-3.1-70b", "H200", "trtllm", 0.2)],
)  # fmt: skip
def test_an_agent_plan_re_estimates_with_its_cached_prompt_tokens(model, gpu, engine, tasks):
    """An agent plan's operating point is a call of the mean prompt whose cached part skips prefill;
    ``estimate --cached-input-tokens`` (its ``agent.cached_tokens_per_call``) at the plan's peak rate gives the
    plan's TTFT and ITL within 2% — before, ``estimate`` could not state the cache hits at all."""
    from gpucast.inputs.agent import AgentWorkloadInput

    workload = LLMWorkloadInput.for_agent(AgentWorkloadInput(tasks, 8.0, 3000, 1000, think_time_s=5.0), 250)
    plan = plan_inference(workload, ModelConfig(model_name=model), GPUConfig(gpu), ServingOptions(engine=engine))
    data = plan.to_dict()
    agent = data["agent"]
    assert agent["prefix_cache_hit_rate"] > 0.5
    data["inputs"] = {**data["inputs"], "avg_input_tokens": round(agent["mean_input_tokens_per_call"]),
                      "avg_output_tokens": agent["output_tokens_per_call"]}  # fmt: skip
    again = _re_estimate(data, engine, cached=agent["cached_tokens_per_call"])
    thr = data["throughput"]
    assert again["ttft_ms"] == pytest.approx(thr["estimated_ttft_ms"], rel=0.02)
    assert again["itl_ms"] == pytest.approx(thr["estimated_itl_ms"], rel=0.02)
    cold = _re_estimate(data, engine)  # every prompt prefilled whole: a slower first token, or past saturation
    assert cold["ttft_ms"] is None or cold["ttft_ms"] > again["ttft_ms"] * 1.2
