"""The planner is the inverse of ``estimate``: a plan's operating point, re-estimated, gives the plan's numbers.

Capacity at the SLOs is the largest open-loop request rate whose ``estimate --request-rate`` point meets every
target; the margin and the target utilization only size the fleet (issue 17). Properties: looser SLOs never need
more GPUs, more traffic never fewer, a smaller safety margin never more, a faster GPU of the same memory never more.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpucast.catalog import loader
from gpucast.core.fleet import size_fleet
from gpucast.core.inference import estimate_replica
from gpucast.core.memory import MemorySettings
from gpucast.core.search import best_for_gpu
from gpucast.core.serving import at_request_rate
from gpucast.core.specs import Precision
from gpucast.core.workload import SLO, PlanSettings, Workload
from gpucast.errors import InfeasibleError, InputError
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.planning.inference import plan_inference

MODELS = ["llama-3.1-8b", "llama-3.1-70b", "qwen2.5-14b", "mixtral-8x7b", "qwen3-30b-a3b"]
GPUS = ["H100", "H200", "A100-80GB", "L40S", "B200"]
ENGINES = ["vllm", "sglang", "trtllm"]


def _re_estimate(plan: dict, engine: str, engine_version: str | None = None, cached: float = 0.0) -> dict:
    """``gpucast estimate`` of the plan's own deployment at its planned peak request rate."""
    res, thr, inputs = plan["gpu_resources"], plan["throughput"], plan["inputs"]
    return estimate(
        EstimateRequest(
            gpu=res["recommended_gpu_type"],
            num_gpus=res["total_gpus"],
            input_tokens=inputs["avg_input_tokens"],
            output_tokens=inputs["avg_output_tokens"],
            load="request-rate",
            load_value=thr["planned_rps_per_replica"] * res["max_replicas"],
            model=inputs["model"],
            tp=res["tensor_parallel"],
            pp=res["pipeline_parallel"],
            ep=res["expert_parallel"],
            attention_dp=res["attention_data_parallel"],
            precision=inputs["precision"],
            kv_precision=inputs["kv_precision"],
            engine=engine,
            engine_version=engine_version,
            gpu_memory_utilization=inputs["gpu_memory_utilization"],
            max_num_seqs=inputs["max_num_seqs"],
            max_model_len=inputs["context_window"],
            speculative_tokens=inputs.get("speculative_tokens", 0),
            acceptance_rate=inputs.get("acceptance_rate"),
            draft_model=inputs.get("draft_model", "mtp"),
            cached_input_tokens=cached,
        )
    ).to_dict()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(MODELS),
    gpu=st.sampled_from(GPUS),
    engine=st.sampled_from(ENGINES),
    rps=st.floats(min_value=0.1, max_value=300),
    tin=st.integers(min_value=16, max_value=6000),
    tout=st.integers(min_value=8, max_value=1500),
    ttft=st.floats(min_value=20, max_value=5000),
    itl=st.floats(min_value=5, max_value=200),
    peak=st.floats(min_value=1, max_value=3),
)
def test_a_plan_re_estimated_at_its_peak_rate_gives_its_latencies(model, gpu, engine, rps, tin, tout, ttft, itl, peak):
    """Issue 17: ``estimate --request-rate <the plan's per-replica rate at peak>`` reproduces TTFT and ITL within 2%."""
    try:
        plan = plan_inference(
            LLMWorkloadInput(rps, tin, tout, peak),
            ModelConfig(model_name=model, precision="FP8" if gpu != "A100-80GB" else "FP16", context_window=8192),
            GPUConfig(gpu),
            ServingOptions(ttft_slo_ms=ttft, itl_slo_ms=itl, engine=engine, require_slo=True),
        ).to_dict()
    except InfeasibleError:
        return
    again = _re_estimate(plan, engine)
    thr = plan["throughput"]
    assert again["ttft_ms"] == pytest.approx(thr["estimated_ttft_ms"], rel=0.02)
    assert again["itl_ms"] == pytest.approx(thr["estimated_itl_ms"], rel=0.02)
    assert thr["estimated_ttft_ms"] <= ttft * (1 + 1e-9) and thr["estimated_itl_ms"] <= itl * (1 + 1e-9)
    assert thr["capacity_ttft_ms"] <= ttft * (1 + 1e-9) and thr["capacity_itl_ms"] <= itl * (1 + 1e-9)
    # the statistic the SLOs bound (p99 by default), as the plan reports it: the estimate's p99 (never below its mean)
    assert plan["inputs"]["slo_percentile"] == "99"
    p99_ttft, p99_tpot = max(again["ttft_p99_ms"], again["ttft_ms"]), max(again["tpot_p99_ms"], again["itl_ms"])
    assert p99_ttft == pytest.approx(thr["ttft_at_slo_percentile_ms"], rel=0.02)
    assert p99_tpot == pytest.approx(thr["tpot_at_slo_percentile_ms"], rel=0.02)
    assert thr["capacity_ttft_at_slo_percentile_ms"] <= ttft * (1 + 1e-6)
    assert thr["capacity_tpot_at_slo_percentile_ms"] <= itl * (1 + 1e-6)
    assert thr["ttft_at_slo_percentile_ms"] <= thr["capacity_ttft_at_slo_percentile_ms"] * (1 + 1e-6)


def test_a_plan_on_means_reports_no_percentile():
    """SLOs on the means: the means are what they bound, and no percentile field pretends otherwise."""
    plan = plan_inference(
        LLMWorkloadInput(5, 500, 200), ModelConfig(model_name="llama-3.1-8b"), GPUConfig("H100"),
        ServingOptions(slo_percentile="mean"),
    ).to_dict()  # fmt: skip
    thr = plan["throughput"]
    assert thr["ttft_at_slo_percentile_ms"] is None and thr["capacity_tpot_at_slo_percentile_ms"] is None


@pytest.mark.parametrize("context_window", [163_840, 16_384])
def test_an_engine_release_plans_and_re_estimates_with_the_same_memory(context_window):
    """A V0 vLLM (0.7.4) serving DeepSeek-R1 profiles its whole max_model_len (core.engine_releases.for_engine_release): the
    plan and ``estimate --engine-version 0.7.4 --max-model-len <its window>`` hold the same KV cache and agree."""
    options = ServingOptions(ttft_slo_ms=8000, itl_slo_ms=90, engine="vllm", engine_version="0.7.4", tp=8,
                             slo_percentile="mean")  # fmt: skip
    model = ModelConfig(model_name="deepseek-r1", precision="FP8", kv_precision="BF16", context_window=context_window)
    plan = plan_inference(LLMWorkloadInput(3.0, 3200, 1600, 1.0), model, GPUConfig("H200"), options).to_dict()
    again = _re_estimate(plan, "vllm", "0.7.4")
    thr = plan["throughput"]
    assert again["ttft_ms"] == pytest.approx(thr["estimated_ttft_ms"], rel=0.02)
    assert again["itl_ms"] == pytest.approx(thr["estimated_itl_ms"], rel=0.02)


def test_the_issue_example_plans_about_the_published_fleet():
    """TensorRT-LLM's serving table: one H200 serves 27 req/s of 467/256 at TTFT 44 ms, ITL 16 ms, so 270 req/s with a
    25% margin needs about 13 GPUs; the planner used to answer 591 (queueing at the planned utilization)."""
    plan = plan_inference(
        LLMWorkloadInput(270, 467, 256, 1.0),
        ModelConfig(model_name="llama-3.1-8b", precision="BF16"),
        GPUConfig("H200"),
        # the published figures are means: the SLOs bound the means (slo_percentile="mean"; the default is p99)
        ServingOptions(tp=1, pp=1, engine="trtllm", ttft_slo_ms=48, itl_slo_ms=17.6, slo_percentile="mean"),
    )
    assert plan.throughput.meets_latency_sla
    assert 10 <= plan.gpu_resources.total_gpus <= 16
    again = _re_estimate(plan.to_dict(), "trtllm")
    assert again["ttft_ms"] == pytest.approx(plan.throughput.estimated_ttft_ms, rel=0.02)


def test_capacity_is_the_largest_rate_meeting_the_slos():
    """Just above the capacity rate the estimate misses the binding target; at it every target holds."""
    model, gpu = loader.resolve_model("llama-3.1-70b"), loader.resolve_gpu("H100")
    est = estimate_replica(
        model, gpu, loader.efficiency_for(gpu, "vllm"), precision=Precision.FP8, kv_precision=Precision.FP8, tp=4,
        pp=1, workload=Workload(10, 1000, 300), slo=SLO(800.0, 40.0), settings=PlanSettings(),
    )  # fmt: skip
    assert est.meets_slo and est.limit in ("ttft", "itl")
    shape = {"input_tokens": 1000, "output_tokens": 300}
    rate = est.capacity.requests_per_s
    at = at_request_rate(est.config, rate=rate, **shape)
    above = at_request_rate(est.config, rate=rate * 1.01, **shape)
    assert at.ttft_s * 1e3 <= 800.0 * 1.001 and at.itl_s * 1e3 <= 40.0 * 1.001
    assert above.ttft_s * 1e3 > 800.0 or above.itl_s * 1e3 > 40.0


def _gpus(
    *,
    gpu: str = "H100",
    model: str = "llama-3.1-8b",
    rps: float = 20.0,
    ttft: float = 500.0,
    itl: float = 30.0,
    margin: float = 0.25,
    shape: tuple[int, int] = (800, 200),
    speedup: float = 1.0,
) -> float:
    """GPUs of the cheapest sharding (no prices: fewest GPUs); inf when nothing meets the SLOs."""
    spec = loader.resolve_gpu(gpu)
    fast = dataclasses.replace(
        spec,
        memory_bandwidth_tb_s=spec.memory_bandwidth_tb_s * speedup,
        dense_tflops={k: v * speedup for k, v in spec.dense_tflops.items()},
    )
    try:
        best = best_for_gpu(
            loader.resolve_model(model), fast, loader.efficiency_for(spec, "vllm"), precision=Precision.FP8,
            kv_precision=Precision.FP8, workload=Workload(rps, *shape), slo=SLO(ttft, itl),
            settings=PlanSettings(safety_margin=margin, memory=MemorySettings()), prices=[], pricing="on-demand",
        )  # fmt: skip
    except InfeasibleError:
        return math.inf
    return best.total_gpus if best.estimate.meets_slo else math.inf


common = {
    "gpu": st.sampled_from(["H100", "L40S", "A100-80GB", "H200"]),
    "model": st.sampled_from(["llama-3.1-8b", "qwen2.5-14b", "llama-3.1-70b"]),
    "rps": st.floats(min_value=0.5, max_value=200),
    "ttft": st.floats(min_value=30, max_value=4000),
    "itl": st.floats(min_value=8, max_value=150),
    "shape": st.tuples(st.integers(16, 4000), st.integers(8, 1000)),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**common, looser=st.floats(min_value=1.0, max_value=5.0))
def test_looser_slos_never_need_more_gpus(gpu, model, rps, ttft, itl, shape, looser):
    assert _gpus(gpu=gpu, model=model, rps=rps, ttft=ttft * looser, itl=itl * looser, shape=shape) <= _gpus(
        gpu=gpu, model=model, rps=rps, ttft=ttft, itl=itl, shape=shape
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**common, more=st.floats(min_value=1.0, max_value=10.0))
def test_more_traffic_never_needs_fewer_gpus(gpu, model, rps, ttft, itl, shape, more):
    assert _gpus(gpu=gpu, model=model, rps=rps * more, ttft=ttft, itl=itl, shape=shape) >= _gpus(
        gpu=gpu, model=model, rps=rps, ttft=ttft, itl=itl, shape=shape
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**common, margin=st.floats(min_value=0.0, max_value=2.0), smaller=st.floats(min_value=0.0, max_value=1.0))
def test_a_smaller_safety_margin_never_needs_more_gpus(gpu, model, rps, ttft, itl, shape, margin, smaller):
    kw = {"gpu": gpu, "model": model, "rps": rps, "ttft": ttft, "itl": itl, "shape": shape}
    assert _gpus(margin=margin * smaller, **kw) <= _gpus(margin=margin, **kw)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**common, speedup=st.floats(min_value=1.0, max_value=4.0))
def test_a_faster_gpu_of_the_same_memory_never_needs_more(gpu, model, rps, ttft, itl, shape, speedup):
    kw = {"gpu": gpu, "model": model, "rps": rps, "ttft": ttft, "itl": itl, "shape": shape}
    assert _gpus(speedup=speedup, **kw) <= _gpus(**kw)


def test_a_looser_target_never_costs_more():
    """With prices: the cheapest plan's monthly cost only falls as the SLOs loosen (DEVELOPERS: consistent)."""
    costs = []
    for ttft in (150, 300, 600, 1200, 2400):
        plan = plan_inference(
            LLMWorkloadInput(15, 1500, 300),
            ModelConfig(model_name="llama-3.1-70b", precision="FP8"),
            options=ServingOptions(ttft_slo_ms=ttft, itl_slo_ms=60),
        )
        assert plan.cost is not None
        costs.append(plan.cost.monthly_gpu_cost)
    assert costs == sorted(costs, reverse=True)


# ------------------------------------------------------------------------------------------ infeasible targets
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gpucast", *args], capture_output=True, text=True, timeout=120)


PLAN_70B = ["--model", "llama-3.1-70b", "--rps", "10", "--input-tokens", "500", "--output-tokens", "200"]


def test_cli_answers_an_impossible_target_with_one_line_and_exit_2():
    done = _cli("inference", *PLAN_70B, "--ttft-slo-ms", "1")
    assert done.returncode == 2, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "infeasible" in lines[0] and "TTFT <= 1 ms" in lines[0] and "lowest reachable" in lines[0]
    assert done.stdout == ""


def test_cli_names_the_nearest_feasible_alternatives():
    """ITL 12 ms is out of reach for 70B FP16 on one pinned TP=2 H100 layout, within reach with more TP or FP8."""
    done = _cli("inference", *PLAN_70B, "--gpu", "H100", "--tp", "2", "--precision", "FP16", "--itl-slo-ms", "12")
    assert done.returncode == 2
    assert "nearest feasible" in done.stderr and ("more TP" in done.stderr or "FP8" in done.stderr)


def test_allow_infeasible_prints_the_closest_plan_sized_at_saturation():
    done = _cli("inference", *PLAN_70B, "--gpu", "H200", "--ttft-slo-ms", "1", "--allow-infeasible", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    thr = plan["throughput"]
    assert thr["meets_latency_sla"] is False
    assert plan["recommendation"].startswith("infeasible")
    assert "cheapest of" not in plan["recommendation"]
    # sized on what the hardware can push, not one request per replica
    assert thr["rps_per_replica"] == pytest.approx(thr["max_tps_per_replica"] / 200, rel=1e-6)
    assert plan["gpu_resources"]["max_replicas"] <= 4


def test_python_api_keeps_the_seed_plan_with_meets_latency_sla_false():
    plan = plan_inference(
        LLMWorkloadInput(10, 500, 200),
        ModelConfig(model_name="llama-3.1-70b"),
        GPUConfig("H100"),
        ServingOptions(ttft_slo_ms=1),
    )
    assert plan.throughput.meets_latency_sla is False
    assert "infeasible" in plan.recommendation and "lowest reachable" in plan.recommendation
    assert any("at any load" in w for w in plan.warnings)
    assert plan.throughput.lowest_ttft_ms > 1


# ------------------------------------------------------------------------------------------ edges of the policy
@pytest.mark.parametrize(
    "flags",
    [
        ["--safety-margin", "0"],
        ["--safety-margin", "10"],
        ["--target-gpu-utilization", "1"],
        ["--target-gpu-utilization", "0.05"],
        ["--peak-multiplier", "1"],
        ["--peak-multiplier", "100"],
    ],
)
def test_policy_edges_give_sane_plans(flags):
    done = _cli("inference", *PLAN_70B, "--gpu", "H200", "--tp", "4", "--json", *flags)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    thr, res = plan["throughput"], plan["gpu_resources"]
    assert thr["meets_latency_sla"] is True
    assert thr["estimated_ttft_ms"] <= 2000 and thr["estimated_itl_ms"] <= 100
    # the fleet carries the planned peak without running any replica past its SLO capacity
    assert thr["planned_rps_per_replica"] <= thr["rps_per_replica"] * (1 + 1e-9)
    assert res["max_replicas"] * thr["rps_per_replica"] >= plan["scaling"]["peak_rps"] * (1 - 1e-9)
    assert not any("meets the SLOs" in w for w in plan["warnings"])


def test_a_zero_margin_does_not_blow_up_the_fleet():
    """Issue 17: margin 0 turned a 2-replica plan into 169 (TTFT 2.6 s at one request in flight)."""
    done = _cli("inference", *PLAN_70B, "--gpu", "H200", "--tp", "4", "--safety-margin", "0", "--json")
    assert json.loads(done.stdout)["gpu_resources"]["max_replicas"] <= 3


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--safety-margin", "-0.1"], "--safety-margin"),
        (["--safety-margin", "11"], "--safety-margin"),
        (["--target-gpu-utilization", "0"], "--target-gpu-utilization"),
        (["--target-gpu-utilization", "0.001"], "between 0.05 and 1"),
        (["--target-gpu-utilization", "1.5"], "--target-gpu-utilization"),
        (["--peak-multiplier", "0.5"], "--peak-multiplier"),
        (["--peak-multiplier", "1e9"], "--peak-multiplier"),
    ],
)
def test_policy_values_out_of_range_are_one_line_errors(flags, message):
    done = _cli("inference", *PLAN_70B, *flags)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_rate_search_is_exact_for_the_fleet():
    """size_fleet on the capacity: ceil(peak x (1 + margin) / capacity) replicas, at least the utilization floor."""
    model, gpu = loader.resolve_model("llama-3.1-8b"), loader.resolve_gpu("L40S")
    work = Workload(30, 1000, 200, 1.5)
    est = estimate_replica(
        model, gpu, loader.efficiency_for(gpu, "vllm"), precision=Precision.FP8, kv_precision=Precision.FP8, tp=1,
        pp=1, workload=work, slo=SLO(1000.0, 50.0), settings=PlanSettings(),
    )  # fmt: skip
    assert est.meets_slo
    fleet = size_fleet(est, work, PlanSettings())
    assert fleet.max_replicas == max(fleet.min_replicas, math.ceil(45 * 1.25 / est.capacity.requests_per_s - 1e-9))
    assert fleet.min_replicas == max(2, math.ceil(30 / (est.saturation.requests_per_s * 0.7) - 1e-9),
                                     math.ceil(30 * 1.25 / est.capacity.requests_per_s - 1e-9))  # fmt: skip


def test_at_a_peak_multiplier_of_1_min_and_max_replicas_are_one_count():
    """The minimum is the fleet at average traffic by the maximum's rule: with average = peak they agree (the issue's
    tight-SLO example planned 5 - 6 replicas for 270 req/s at every hour, and its own trigger ran 6 at average)."""
    plan = plan_inference(
        LLMWorkloadInput(270, 467, 256, 1.0), ModelConfig(model_name="llama-3.1-8b", precision="BF16"), GPUConfig("H200"),
        ServingOptions(ttft_slo_ms=48, itl_slo_ms=17.6, engine="trtllm", tp=1, slo_percentile="mean"),
    ).to_dict()  # fmt: skip
    scaling = plan["scaling"]
    assert scaling["recommended_min_replicas"] == scaling["recommended_max_replicas"]
    assert scaling["average_rps"] / scaling["recommended_min_replicas"] <= scaling["auto_scale_rps_threshold"] * (
        1 + 1e-9
    )


@pytest.mark.parametrize("margin", [0.0, 0.25, 1.0])
@pytest.mark.parametrize(("model", "gpu", "ttft", "itl", "peak"), [
    ("llama-3.1-8b", "H200", 48.0, 17.6, 1.0),  # tight SLOs: capacity far below saturation
    ("llama-3.1-70b", "H100", 2000.0, 100.0, 2.0),  # loose SLOs
    ("qwen3-30b-a3b", "L40S", 1500.0, 60.0, 1.5),
])  # fmt: skip
def test_autoscaler_on_the_triggers_runs_the_planned_fleet(model, gpu, ttft, itl, peak, margin):
    """The triggers are the operating point at capacity / (1 + margin): an autoscaler on requests/s per replica
    (desired = ceil(total / target)) runs the plan's max replicas at the planned peak, and on requests in flight the
    fewest replicas within the trigger are the max too (a trigger at 0.7 x capacity wanted more than the max)."""
    plan = plan_inference(
        LLMWorkloadInput(requests_per_second=270.0 / peak / 4, peak_load_multiplier=peak, avg_input_tokens=467,
                         avg_output_tokens=256),
        ModelConfig(model_name=model), GPUConfig(gpu_type=gpu),
        ServingOptions(ttft_slo_ms=ttft, itl_slo_ms=itl, safety_margin=margin),
    ).to_dict()  # fmt: skip
    sc, thr, res = plan["scaling"], plan["throughput"], plan["gpu_resources"]
    assert sc["auto_scale_rps_threshold"] == pytest.approx(thr["rps_per_replica"] / (1 + margin), rel=1e-6)
    peak_rps = sc["peak_rps"]
    assert math.ceil(peak_rps / sc["auto_scale_rps_threshold"] - 1e-9) == res["max_replicas"]
    # requests in flight grow with the rate per replica, so the fewest replicas whose in-flight count is within
    # the trigger is the max: at max replicas it is within, at one fewer each replica carries more than the trigger
    assert thr["planned_concurrency_per_replica"] <= sc["auto_scale_queue_depth_threshold"] * (1 + 1e-6)
    if res["max_replicas"] > 1:
        assert peak_rps / (res["max_replicas"] - 1) > sc["auto_scale_rps_threshold"]
    assert sc["auto_scale_queue_depth_threshold"] <= thr["concurrency_per_replica"] * (1 + 1e-6)


def test_cli_plan_and_cli_estimate_agree():
    """End to end, as a user would check it: `gpucast estimate --request-rate <peak RPS>` on the planned fleet."""
    done = _cli("inference", *PLAN_70B, "--gpu", "H100", "--precision", "FP8", "--ttft-slo-ms", "400", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    res, thr, inputs = plan["gpu_resources"], plan["throughput"], plan["inputs"]
    again = _cli(
        "estimate", "--model", "llama-3.1-70b", "--gpu", "H100", "--num-gpus", str(res["total_gpus"]),
        "--tp", str(res["tensor_parallel"]), "--pp", str(res["pipeline_parallel"]), "--precision", "FP8",
        "--input-tokens", "500", "--output-tokens", "200", "--request-rate", str(plan["scaling"]["peak_rps"]),
        "--max-model-len", str(inputs["context_window"]), "--json",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    point = json.loads(again.stdout)
    assert point["ttft_ms"] == pytest.approx(thr["estimated_ttft_ms"], rel=0.02)
    assert point["itl_ms"] == pytest.approx(thr["estimated_itl_ms"], rel=0.02)


def test_rest_api_answers_an_impossible_target_with_a_structured_422(tmp_path):
    from fastapi.testclient import TestClient

    from gpucast.web.app import create_app

    body = {
        "workload": {"requests_per_second": 10, "avg_input_tokens": 500, "avg_output_tokens": 200},
        "model": {"model_name": "llama-3.1-70b"},
        "gpu": {"gpu_type": "H100"},
        "serving": {"ttft_slo_ms": 1},
    }
    with TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}")) as client:
        strict = client.post("/api/v1/inference", json=body)
        assert strict.status_code == 422, strict.text
        answer = strict.json()
        assert answer["error"].startswith("infeasible") and answer["field"] is None
        assert answer["infeasible"]["missed"] == "ttft"
        assert answer["infeasible"]["best_tried"]["lowest_ttft_ms"] > 1
        assert isinstance(answer["infeasible"]["alternatives"], list)
        loose = client.post("/api/v1/inference", json=body | {"serving": {"ttft_slo_ms": 1, "require_slo": False}})
        assert loose.status_code == 200, loose.text
        assert loose.json()["throughput"]["meets_latency_sla"] is False


def test_a_long_request_raises_the_default_context_window_but_not_an_explicit_one():
    """Issue 17's NIM example (5000 in / 500 out) plans without --context-window: the window is the request's length."""
    plan = plan_inference(
        LLMWorkloadInput(12.5, 5000, 500, 1.0),
        ModelConfig(model_name="llama-3.3-70b", precision="FP8"),
        GPUConfig("H100"),
        ServingOptions(tp=2, engine="nim", ttft_slo_ms=758, itl_slo_ms=43, slo_percentile="mean"),  # published means
    )
    assert plan.inputs["context_window"] == 5500
    assert any("max_model_len (context window): 5500" in a for a in plan.assumptions)
    assert 20 <= plan.gpu_resources.total_gpus <= 32  # about 26 from the published 1.25 req/s per 2 x H100
    short = plan_inference(LLMWorkloadInput(1, 500, 200), ModelConfig(model_name="llama-3.1-8b"), GPUConfig("H100"))
    assert short.inputs["context_window"] == 4096
    with pytest.raises(InputError, match="--context-window 4096 is smaller"):
        plan_inference(
            LLMWorkloadInput(1, 5000, 500),
            ModelConfig(model_name="llama-3.1-8b", context_window=4096),
            GPUConfig("H100"),
        )


def test_cli_and_web_show_the_percentile_the_slos_bound(tmp_path):
    """At p99 SLOs the binding numbers are the p99s: the plan table shows them beside the means (the p99 TTFT at the
    capacity is the TTFT SLO when TTFT binds), and the web page shows the same p99s."""
    from fastapi.testclient import TestClient

    from gpucast.store import open_store
    from gpucast.web import WebSettings, create_app

    flags = ["--model", "llama-3.1-8b", "--gpu", "H100", "--rps", "20", "--input-tokens", "1000",
             "--output-tokens", "300", "--ttft-slo-ms", "300"]  # fmt: skip
    thr = json.loads(_cli("inference", *flags, "--json").stdout)["throughput"]
    assert thr["capacity_ttft_at_slo_percentile_ms"] == pytest.approx(300, rel=0.01)  # TTFT binds at its p99
    table = _cli("inference", *flags).stdout
    assert (
        f"TTFT (p99)             {thr['ttft_at_slo_percentile_ms']:,.0f} ms at planned peak (300 at capacity)" in table
    )
    assert f"TPOT (p99)             {thr['tpot_at_slo_percentile_ms']:.1f} ms at planned peak" in table
    store = open_store(f"sqlite:///{tmp_path / 'web.db'}")
    try:
        client = TestClient(create_app(store=store, settings=WebSettings()))
        page = client.get("/plan", params={"model": "llama-3.1-8b", "gpu_type": "H100", "rps": 20, "input_tokens": 1000,
                                           "output_tokens": 300, "ttft_slo_ms": 300}, headers={"Accept": "text/html"})  # fmt: skip
        assert page.status_code == 200
        assert (
            f"<b>{thr['ttft_at_slo_percentile_ms']:,.0f} / {thr['tpot_at_slo_percentile_ms']:,.0f} ms</b>" in page.text
        )
        assert "p99 TTFT / TPOT at planned peak (SLOs 300 / 100)" in page.text
        assert "<th>p99 TPOT ms</th>" in page.text  # the comparison table judges rows as `compare` does
    finally:
        store.close()


def test_compare_shows_what_its_slos_judged_and_names_the_lowest_reachable():
    """compare's latency columns at p99 SLOs are the p99s the SLO column judged; when no row meets the SLOs the error
    names the closest row's lowest latencies (one request in flight), as inference names its own; and the plan's
    alternatives that miss the SLOs say so (a cheaper 'alternative' listed beside a feasible plan looked valid)."""
    from gpucast.planning.compare import compare_gpus

    shape = LLMWorkloadInput(20, 2000, 300)
    rows = compare_gpus(shape, ModelConfig(model_name="llama-3.1-8b"), ServingOptions(), gpu_types=["H100"], top=3)
    for row in rows:
        assert row.slo_percentile == "99" and row.meets_latency_sla
        # within the targets, and at the capacity one of them (or the KV cache) binds
        assert max(row.ttft_at_slo_percentile_ms / 2000, row.tpot_at_slo_percentile_ms / 100) <= 1 + 1e-6
        assert row.ttft_at_slo_percentile_ms >= row.ttft_ms * (1 - 1e-9)  # a p99 never below the mean
    table = _cli("compare", "--model", "llama-3.1-8b", "--rps", "20", "--input-tokens", "2000", "--output-tokens",
                 "300", "--gpus", "H100", "--top", "3").stdout  # fmt: skip
    assert "p99 TTFT" in table and "p99 TPOT" in table and f"{rows[0].ttft_at_slo_percentile_ms:,.0f}" in table
    means = compare_gpus(shape, ModelConfig(model_name="llama-3.1-8b"), ServingOptions(slo_percentile="mean"),
                         gpu_types=["H100"], top=1)  # fmt: skip
    assert means[0].ttft_at_slo_percentile_ms is None
    flags = ["--model", "llama-3.1-8b", "--rps", "20", "--input-tokens", "2000", "--output-tokens", "300",
             "--ttft-slo-ms", "20"]  # fmt: skip
    done = _cli("compare", *flags, "--gpus", "B200")
    assert done.returncode == 2
    alone = json.loads(_cli("compare", *flags, "--gpus", "B200", "--allow-infeasible", "--json").stdout)
    best = min(alone, key=lambda r: r["lowest_ttft_ms"])
    assert f"reaches at best TTFT {best['lowest_ttft_ms']:,.0f} ms" in done.stderr
    assert best["lowest_ttft_ms"] > 20 and "one request in flight" in done.stderr
    plan = _cli("inference", *flags[:-1], "40")
    assert plan.returncode == 0 and "(misses the SLOs)" in plan.stdout


def test_the_conversation_says_so_when_there_is_nothing_to_autoscale():
    """min = max (a peak multiplier of 1): the explanation no longer says to autoscale between equal counts."""
    from gpucast.chat.explain import explain_inference

    flat = plan_inference(
        LLMWorkloadInput(10, 500, 200, 1.0), ModelConfig(model_name="llama-3.1-8b"), GPUConfig("H100")
    )
    assert flat.scaling.recommended_min_replicas == flat.scaling.recommended_max_replicas
    text = " ".join(explain_inference(flat, []))
    assert "nothing to autoscale" in text and "autoscale between them" not in text
    peaked = plan_inference(
        LLMWorkloadInput(50, 500, 200, 3.0), ModelConfig(model_name="llama-3.1-8b"), GPUConfig("H100")
    )
    assert peaked.scaling.recommended_min_replicas < peaked.scaling.recommended_max_replicas
    assert "autoscale between them" in " ".join(explain_inference(peaked, []))
