"""Regressions of the consistency sweep (2026-12-06, docs/reliability.md): two commands that answer the same question
must give the same numbers. Each test failed before its fix."""

from __future__ import annotations

import math
import re

import pytest

from gpucast.forecast.result import Backtest, ForecastPoint, ForecastResult
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.inference import plan_inference
from gpucast.planning.timeline import capacity_timeline


def _flat_forecast(days: list[float]) -> ForecastResult:
    """A forecast whose upper 80% band is ``days[i]`` req/s every hour of day i (so each day's peak is that)."""
    points = [
        ForecastPoint(f"2026-01-{day + 1:02d}T{hour:02d}:00:00Z", rate * 0.8, {80: rate * 0.6}, {80: rate})
        for day, rate in enumerate(days)
        for hour in range(24)
    ]
    backtest = Backtest(None, None, None, None, None, None, {}, 0, 0, 24)
    return ForecastResult("svc", "h", points, backtest, [], [24], "constant", 24 * len(days))


@pytest.mark.parametrize("gpu", ["H100", "H200"])
def test_capacity_periods_equal_inference_at_the_same_peak(gpu: str) -> None:
    """A period of the capacity timeline (predict --model, service plan) needs what `gpucast inference --rps PEAK
    --peak-multiplier 1` plans: it skipped the planner's target-utilization rule (3 replicas where inference plans
    4 for Llama-3.1-8B at 40.5 req/s on H100), and priced GPUs one by one where inference rents whole instances
    (3 H200s at $17,327 a month; AWS sells H200 only as 8-GPU instances, $46,206)."""
    model = ModelConfig(model_name="llama-3.1-8b")
    timeline = capacity_timeline(
        _flat_forecast([40.5, 58.6]), model=model, input_tokens=1000, output_tokens=300, gpu=GPUConfig(gpu_type=gpu)
    )
    for period in timeline.periods:
        workload = LLMWorkloadInput(period.peak_rps, 1000, 300, peak_load_multiplier=1.0)
        plan = plan_inference(workload, model, GPUConfig(gpu_type=gpu), ServingOptions())
        assert period.replicas == plan.gpu_resources.max_replicas
        assert period.gpus == plan.gpu_resources.total_gpus
        assert plan.cost is not None
        assert period.monthly_cost == pytest.approx(plan.cost.monthly_gpu_cost)


def test_runs_out_when_the_forecast_passes_what_the_current_fleet_is_sized_for() -> None:
    """The "runs out" time and the periods use one rule: a fleet of exactly the GPUs a period needs does not run
    out in that period, and one replica fewer does (the limit must follow the periods' rules)."""
    model = ModelConfig(model_name="llama-3.1-8b")
    forecast = _flat_forecast([40.5, 40.5])
    timeline = capacity_timeline(forecast, model=model, input_tokens=1000, output_tokens=300, gpu=GPUConfig("H100"))
    needed = timeline.periods[0].gpus
    enough = capacity_timeline(
        forecast, model=model, input_tokens=1000, output_tokens=300, gpu=GPUConfig("H100"), current_gpus=needed
    )
    assert enough.exceeds_capacity_at is None
    fewer = capacity_timeline(
        forecast,
        model=model,
        input_tokens=1000,
        output_tokens=300,
        gpu=GPUConfig("H100"),
        current_gpus=needed - timeline.gpus_per_replica,
    )
    assert fewer.exceeds_capacity_at == forecast.forecast[0].timestamp


def test_explained_min_replicas_formula_reproduces_the_plan() -> None:
    """`--explain` said min replicas = ceil(avg RPS / (RPS per replica x target utilization)) while the planner
    divides by the saturation rate (core.fleet.size_fleet, docs/plan-deployment.md): its own row now states the
    rate it uses, and that rate with the stated rule gives the plan's min replicas."""
    workload = LLMWorkloadInput(40.5, 1000, 300, peak_load_multiplier=1.0)
    plan = plan_inference(workload, ModelConfig(model_name="llama-3.1-8b"), GPUConfig("H100"), ServingOptions())
    rows = {row["quantity"]: row for row in plan.explain}
    formula = rows["min replicas"]["formula"]
    saturation = float(re.search(r"saturation RPS per replica ([\d.]+)", formula).group(1))  # type: ignore[union-attr]
    assert saturation >= plan.throughput.rps_per_replica
    expected = max(2, math.ceil(40.5 / (saturation * 0.7) - 1e-9))
    assert int(rows["min replicas"]["value"]) == plan.gpu_resources.min_replicas == expected
    assert rows["max replicas"]["formula"].startswith("max(min replicas, ")


def test_training_plan_states_the_optimizer_it_sized_memory_with() -> None:
    """`training --optimizer-8bit` planned 8-bit AdamW states (58.6 GB per GPU for Llama-3.1-8B ZeRO-3 on 8 H100s)
    while the plan's inputs said "AdamW" and its assumptions "Adam 16 bytes/param": re-estimating what the plan
    states (`training-estimate --optimizer adamw`) gave 65.5 GB. The plan now says 8-bit and the bytes it used."""
    from gpucast.inputs.training import TrainingInput, TrainingOptions
    from gpucast.training.estimate import TrainingEstimateRequest, estimate_training
    from gpucast.training.plan import plan_training

    training = TrainingInput(2_000_000_000, 4096, 1, 256)
    options = TrainingOptions(zero=3, optimizer_8bit=True)
    plan = plan_training(training, ModelConfig(model_name="llama-3.1-8b"), GPUConfig("H100"), options)
    assert plan.inputs["optimizer_8bit"] is True
    assert any("8-bit AdamW, 10 bytes per trained parameter" in line for line in plan.assumptions)
    p = plan.parallelism
    again = estimate_training(
        TrainingEstimateRequest(
            gpu="H100", num_gpus=plan.gpu_resources.required_gpus, seq_len=4096, micro_batch=p.micro_batch_size,
            model="llama-3.1-8b", global_batch=256, tp=p.tensor_parallel, pp=p.pipeline_parallel, zero=p.zero_stage,
            optimizer="adamw8bit" if plan.inputs["optimizer_8bit"] else "adamw",
        )
    )  # fmt: skip
    assert again.memory_per_gpu_gb == pytest.approx(plan.gpu_resources.gpu_memory_per_gpu_gb)


def test_fleet_and_spend_size_each_hour_as_inference_plans_that_rate() -> None:
    """`gpucast fleet` and `predict --spend` size every hour with the service's configuration; they skipped the
    planner's target-utilization rule, so a team's GPUs were fewer than its services' plans at the same rates
    (Llama-3.1-8B on H100 at 40.5 req/s: 3 replicas where `inference --rps 40.5 --peak-multiplier 1` plans 4)."""
    pytest.importorskip("pandas")
    from gpucast.planning.fleet import ServiceConfig, service_spend

    model = ModelConfig(model_name="llama-3.1-8b")
    sizing, _ = service_spend(_flat_forecast([60.0, 60.0]), ServiceConfig(model, 1000, 300, GPUConfig("H100")))
    for rate in (5.0, 20.0, 40.5, 58.6):
        workload = LLMWorkloadInput(rate, 1000, 300, peak_load_multiplier=1.0)
        plan = plan_inference(workload, model, GPUConfig("H100", gpu_types=None), ServingOptions(tp=1, pp=1))
        assert int(sizing.gpus([rate])[0]) == plan.gpu_resources.total_gpus, rate
