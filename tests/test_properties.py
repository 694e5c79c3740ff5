"""Property tests: random inputs never escape as anything but gpucast's own errors, and plans
keep their invariants (replicas ordered, SLO flag honest, costs positive)."""

from __future__ import annotations

import contextlib
import io
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpucast import GpucastError, GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions, plan_inference
from gpucast.catalog import loader
from gpucast.cli.main import main

MODELS = sorted(loader.load_models())
GPUS = sorted(loader.load_gpus())
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10, max_value=10**7),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rps=numbers,
    tin=numbers,
    tout=numbers,
    size=numbers,
    precision=st.text(max_size=5) | st.sampled_from(["FP8", "BF16", "INT4"]),
)
def test_api_random_inputs_raise_only_library_errors(rps, tin, tout, size, precision):
    with contextlib.suppress(GpucastError):  # any other exception fails the test
        plan_inference(
            LLMWorkloadInput(rps, tin, tout),  # type: ignore[arg-type]
            ModelConfig(model_size_billions=size, precision=precision),  # type: ignore[arg-type]
            GPUConfig("H100"),
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(MODELS),
    gpu=st.sampled_from(GPUS),
    precision=st.sampled_from(["FP16", "BF16", "FP8", "INT8", "INT4", "FP4"]),
    rps=st.floats(min_value=0.01, max_value=500),
    tin=st.integers(min_value=1, max_value=8000),
    tout=st.integers(min_value=1, max_value=2000),
)
def test_plans_keep_invariants(model, gpu, precision, rps, tin, tout):
    try:
        plan = plan_inference(
            LLMWorkloadInput(rps, tin, tout),
            ModelConfig(model_name=model, precision=precision, context_window=max(4096, tin + tout)),
            GPUConfig(gpu),
        )
    except GpucastError:
        return
    res, thr = plan.gpu_resources, plan.throughput
    assert 1 <= res.min_replicas <= res.max_replicas
    assert res.total_gpus == res.max_replicas * res.min_gpus_per_replica
    assert thr.max_rps_capacity >= rps * 1.5 - 1e-6  # peak traffic is covered
    if thr.meets_latency_sla:
        assert thr.estimated_itl_ms <= 100 + 1e-6 and thr.estimated_ttft_ms <= 2000 + 1e-6
    assert math.isfinite(thr.tps_per_replica) and thr.tps_per_replica > 0
    if plan.cost:
        assert plan.cost.monthly_gpu_cost > 0


flag_values = st.one_of(st.text(max_size=6), st.integers(-5, 10**6).map(str), st.floats().map(str))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flags=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "--rps",
                    "--input-tokens",
                    "--output-tokens",
                    "--model-size",
                    "--precision",
                    "--gpu-type",
                    "--cloud",
                    "--context-window",
                    "--batch-size",
                    "--peak-multiplier",
                    "--growth-rate",
                    "--tp",
                    "--pricing",
                    "--target-gpu-utilization",
                    "--itl-slo-ms",
                    "--model",
                    "--kv-precision",
                    "--safety-margin",
                ]
            ),
            flag_values,
        ),
        max_size=6,
    )
)
def test_cli_random_flags_exit_cleanly(flags):
    argv = ["inference", "--json"]
    for flag, value in flags:
        argv += [flag, value]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse rejects malformed flags with exit 2
            code = exit_.code
    assert code in (0, 2), err.getvalue()
    if code == 2:
        assert "Traceback" not in err.getvalue()
        assert err.getvalue().count("\n") <= 1


def test_serving_options_reject_bad_values():
    for options in (
        ServingOptions(safety_margin=-1),
        ServingOptions(min_replicas=0),
        ServingOptions(gpu_memory_utilization=1.5),
    ):
        try:
            plan_inference(LLMWorkloadInput(1, 10, 10), ModelConfig(model_size_billions=1), None, options)
        except GpucastError as error:
            assert str(error)
        else:
            raise AssertionError(f"{options} accepted")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    model=st.sampled_from(["llama-3.1-8b", "llama-3.2-1b", "mixtral-8x7b", "qwen2.5-14b"]),
    gpu=st.sampled_from(["H100", "A100-80GB", "L40S", "A10G"]),
    method=st.sampled_from(["full", "lora", "qlora"]),
    seq=st.sampled_from([512, 2048, 8192]),
    batch=st.integers(min_value=1, max_value=256),
    gpus=st.one_of(st.none(), st.integers(min_value=1, max_value=64)),
)
def test_training_plans_keep_invariants(model, gpu, method, seq, batch, gpus):
    from gpucast import TrainingEngine, TrainingInput, TrainingOptions

    try:
        plan = TrainingEngine().generate_plan(
            TrainingInput(dataset_size_tokens=10_000_000, sequence_length=seq, num_epochs=1, global_batch_size=batch),
            ModelConfig(model_name=model, precision="BF16"),
            GPUConfig(gpu),
            TrainingOptions(method=method, num_gpus=gpus),
        )
    except GpucastError:
        return
    res, par, m = plan.gpu_resources, plan.parallelism, plan.training_metrics
    assert res.fits and res.gpu_memory_per_gpu_gb <= res.gpu_memory_gb
    assert par.tensor_parallel * par.pipeline_parallel * par.data_parallel == res.required_gpus
    assert par.micro_batch_size * par.gradient_accumulation_steps * par.data_parallel == batch
    assert 0 < m.mfu < 1 and m.estimated_duration_hours > 0
