"""Regressions of the Python API sweep (docs/reliability.md, "Python API sweep (2026-12-07)"): each input here was a
traceback, a silently ignored value or a refused valid value before, and is one GpucastError line or a plan now."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gpucast import (
    AgentWorkloadInput,
    GPUConfig,
    InputError,
    LLMForecastEngine,
    LLMWorkloadInput,
    ModelConfig,
    ServingOptions,
    TrainingInput,
    TrainingOptions,
    UnknownGPUError,
    UnknownModelError,
    plan_inference,
    plan_training,
)
from gpucast.catalog import loader
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.training.estimate import TrainingEstimateRequest, estimate_training

WORKLOAD = LLMWorkloadInput(requests_per_second=5.0, avg_input_tokens=500, avg_output_tokens=200)
MODEL = ModelConfig(model_name="llama-3.1-8b")
TRAINING = TrainingInput(dataset_size_tokens=10_000_000, sequence_length=2048, num_epochs=1, global_batch_size=16)


def test_numpy_scalars_plan_as_the_python_numbers_they_hold():
    """A DataFrame's np.int64 tokens were refused: "avg_input_tokens (--input-tokens) np.int64(500) must be a whole
    number greater than 0"; np.float32 utilization likewise."""
    given = plan_inference(
        LLMWorkloadInput(np.float64(5.0), np.int64(500), np.int64(200)),
        ModelConfig(model_name="llama-3.1-8b", context_window=np.int32(4096)),
        GPUConfig("H100", np.float32(0.5)),
        ServingOptions(itl_slo_ms=np.float32(50.0), min_replicas=np.int64(2)),
    )
    plain = plan_inference(
        LLMWorkloadInput(5.0, 500, 200),
        ModelConfig(model_name="llama-3.1-8b", context_window=4096),
        GPUConfig("H100", float(np.float32(0.5))),
        ServingOptions(itl_slo_ms=50.0, min_replicas=2),
    )
    assert given.to_dict() == plain.to_dict()
    request = EstimateRequest(gpu="H100", num_gpus=np.int64(1), input_tokens=np.int64(500), output_tokens=np.int64(200),
                              model="llama-3.1-8b")  # fmt: skip
    assert estimate(request).output_tokens_per_s > 0
    run = TrainingInput(np.int64(10_000_000), np.int64(2048), np.int64(1), np.int64(16))
    assert plan_training(run, MODEL, GPUConfig("H100"), TrainingOptions(method="lora", lora_rank=np.int64(16)))


def test_an_agent_cap_on_calls_past_a_million_is_refused_not_a_memory_blow_up():
    """--max-calls-per-task 10**12 with geometric calls listed every count up to the cap: the process was killed.
    Checked on ``validate`` (what ``for_agent`` runs first), so that a lost bound fails here instead of filling the
    test machine's memory."""
    agent = AgentWorkloadInput(tasks_per_second=0.5, calls_per_task=4, shared_prefix_tokens=1000,
                               context_growth_tokens=300, calls_distribution="geometric", max_calls_per_task=10**12)  # fmt: skip
    with pytest.raises(InputError, match=r"max_calls_per_task \(--max-calls-per-task\) 1000000000000 must be at most"):
        agent.validate(200)


@pytest.mark.parametrize("output_tokens", [0, "200", None, float("nan"), [200]])
def test_for_agent_checks_its_output_tokens(output_tokens):
    """``output_tokens=0`` made a workload of 0-token outputs, "200" a TypeError ('can't multiply sequence')."""
    agent = AgentWorkloadInput(tasks_per_second=0.5, calls_per_task=4, shared_prefix_tokens=1000)
    with pytest.raises(InputError, match="output_tokens"):
        LLMWorkloadInput.for_agent(agent, output_tokens=output_tokens)


def test_for_agent_takes_no_output_tokens_when_the_agent_states_them():
    agent = AgentWorkloadInput(tasks_per_second=0.5, calls_per_task=4, shared_prefix_tokens=1000,
                               output_tokens_per_call=150)  # fmt: skip
    assert LLMWorkloadInput.for_agent(agent, output_tokens=None).avg_output_tokens == 150
    assert LLMWorkloadInput.for_agent(agent, output_tokens=np.int64(300)).avg_output_tokens == 150


@pytest.mark.parametrize("value", ["no", 1, None])
def test_require_slo_must_be_a_bool(value):
    """``require_slo="no"`` (a true string) raised on an infeasible plan, and any value was taken silently."""
    with pytest.raises(InputError, match=r"--require-slo \(require_slo\) .* must be true or false"):
        plan_inference(WORKLOAD, MODEL, GPUConfig("H100"), ServingOptions(require_slo=value))


@pytest.mark.parametrize("flag", ["cp", "vpp", "ep"])
def test_training_parallel_sizes_that_default_to_one_refuse_none(flag):
    """``TrainingOptions(cp=None)`` was a TypeError inside the search; ``TrainingEstimateRequest`` likewise."""
    with pytest.raises(InputError, match=f"--{flag} None must be a whole number"):
        plan_training(TRAINING, MODEL, GPUConfig("H100"), TrainingOptions(method="lora", **{flag: None}))
    base = {"gpu": "H100", "num_gpus": 8, "seq_len": 2048, "micro_batch": 1, "model": "llama-3.1-8b"}
    with pytest.raises(InputError, match=f"--{flag} None must be a whole number"):
        estimate_training(TrainingEstimateRequest(**(base | {flag: None})))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gpu": None}, r"--gpu None must be a GPU name"),
        ({"num_gpus": None}, r"--num-gpus None must be a whole number"),
        ({"seq_len": None}, r"--seq-len None must be a whole number"),
        ({"zero": "1"}, r"--zero '1' is not one of 0, 1, 2, 3"),
        ({"zero": True}, r"--zero True is not one of"),
        ({"lora_rank": float("inf")}, r"--lora-rank inf must be a whole number"),
        ({"lora_rank": "10"}, r"--lora-rank '10' must be a whole number"),
        ({"lora_targets": 7}, r"--lora-targets 7 must be a list of names"),
        ({"lora_targets": [1]}, r"--lora-targets \[1\] must be a list of names"),
        ({"flash_attention": "no"}, r"--flash-attention 'no' must be true or false"),
        ({"sequence_parallel": None}, r"--sequence-parallel None must be true or false"),
        ({"recompute": ""}, r"--recompute '' is not one of none, selective, full"),
    ],
)
def test_training_estimate_checks_every_field(change, message):
    """Before: AttributeError ('NoneType' has no 'strip'), TypeError ('>' between str and int, int() of a list),
    OverflowError (int(inf)), or a value taken silently (flash_attention="no" ran with flash attention)."""
    base = {
        "gpu": "H100",
        "num_gpus": 8,
        "seq_len": 2048,
        "micro_batch": 1,
        "model": "llama-3.1-8b",
        "global_batch": 64,
    }
    with pytest.raises(InputError, match=message):
        estimate_training(TrainingEstimateRequest(**(base | change)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"load_value": "abc"}, r"load_value 'abc' is not used by max-throughput"),
        ({"load_value": float("nan")}, r"load_value nan is not used by max-throughput"),
        ({"kv_precision": ""}, r"--kv-precision '' is not one of"),
        ({"kv_precision": 0}, r"--kv-precision 0 is not one of"),
        ({"precision": ["FP8"]}, r"--precision \['FP8'\] is not one of"),
    ],
)
def test_estimate_request_refuses_values_it_ignored_or_crashed_on(change, message):
    """``load_value="abc"`` with the default max-throughput load was a ValueError (float('abc')), NaN was echoed into
    the result's inputs; an empty or 0 KV precision silently meant the engine's default."""
    request = EstimateRequest(gpu="H100", num_gpus=1, input_tokens=500, output_tokens=200, model="llama-3.1-8b",
                              **change)  # fmt: skip
    with pytest.raises(InputError, match=message):
        estimate(request)


def test_estimate_max_throughput_still_takes_a_zero_load_value():
    """The validation tables pass 0 for "no value" at max-throughput."""
    request = EstimateRequest(gpu="H100", num_gpus=1, input_tokens=500, output_tokens=200, model="llama-3.1-8b",
                              load_value=0.0)  # fmt: skip
    assert estimate(request).requests_per_s > 0


def test_compare_reads_a_comma_string_and_refuses_what_is_no_list():
    """``precisions="FP8,BF16"`` was read letter by letter ("--precisions 'F' is not one of ..."); 7 was "'int'
    object is not iterable", ``gpu_types=[1]`` an AttributeError, and ``ServingOptions(cloud="nosuch")`` was ignored."""
    engine = LLMForecastEngine()
    rows = engine.compare_gpu_options(WORKLOAD, MODEL, clouds="aws", precisions="FP8,BF16", gpu_types="H100")
    assert {row.precision for row in rows} == {"FP8", "BF16"} and {row.cloud for row in rows} == {"aws"}
    listed = engine.compare_gpu_options(WORKLOAD, MODEL, clouds=["aws"], precisions=["FP8", "BF16"], gpu_types=["H100"])
    assert [r.to_dict() for r in rows] == [r.to_dict() for r in listed]
    for kwargs, message in (
        ({"precisions": 7}, r"--precisions 7 must be a list of names"),
        ({"gpu_types": [1]}, r"--gpus \[1\] must be a list of names"),
        ({"clouds": {"aws": 1}}, r"--clouds \{'aws': 1\} must be a list of names"),
    ):
        with pytest.raises(InputError, match=message):
            engine.compare_gpu_options(WORKLOAD, MODEL, **kwargs)
    with pytest.raises(InputError, match=r"--cloud 'nosuch' is not one of"):
        engine.compare_gpu_options(WORKLOAD, MODEL, ServingOptions(cloud="nosuch"), gpu_types=["H100"])


@pytest.mark.parametrize("name", [None, 3, ["H100"], b"H100"])
def test_catalog_lookups_refuse_a_name_that_is_no_text(name):
    """``loader.resolve_gpu(None)`` was AttributeError ('NoneType' has no 'strip'); bytes a TypeError."""
    with pytest.raises(UnknownGPUError, match="must be a gpu name"):
        loader.resolve_gpu(name)
    with pytest.raises(UnknownModelError, match="must be a model name"):
        loader.resolve_model(name)
    with pytest.raises(InputError, match=r"--engine .* is not one of"):
        loader.resolve_engine(name)


@pytest.mark.parametrize("batch", [2.5, 1e-9])
def test_a_static_batch_is_a_whole_number_of_sequences(batch):
    """A static batch of 2.5 sequences was estimated as 2.5 (316 tokens/s), of 1e-9 as one sequence."""
    request = EstimateRequest(gpu="H100", num_gpus=1, input_tokens=500, output_tokens=200, model="llama-3.1-8b",
                              load="static-batch", load_value=batch)  # fmt: skip
    with pytest.raises(InputError, match=f"--static-batch {batch!r} must be a whole number"):
        estimate(request)
    whole = EstimateRequest(gpu="H100", num_gpus=1, input_tokens=500, output_tokens=200, model="llama-3.1-8b",
                            load="static-batch", load_value=4.0)  # fmt: skip
    assert estimate(whole).concurrency == 4


def test_a_series_given_for_a_value_is_one_line_naming_the_field():
    """``requests_per_second=df["rps"]`` quoted the Series' rows: a message of three lines; a Series as a name
    (``TrainingOptions(method=series)``) was pandas' "The truth value of a Series is ambiguous" (a ValueError)."""
    with pytest.raises(InputError, match=r"^requests_per_second must be one number or name, not a Series of length 2$"):
        plan_inference(LLMWorkloadInput(pd.Series([1.0, 2.0]), 500, 200), MODEL)
    with pytest.raises(InputError, match=r"^method must be one number or name, not a Series of length 2$"):
        plan_training(TRAINING, MODEL, GPUConfig("H100"), TrainingOptions(method=pd.Series(["lora", "full"])))
    assert plan_inference(LLMWorkloadInput(np.array(5.0), 500, 200), MODEL, GPUConfig("H100"))  # a 0-d array: 5.0


def test_every_gpucast_error_message_is_one_line():
    """A value whose repr spans lines is quoted on one line (``GpucastError`` joins the lines)."""

    class TwoLines:
        def __repr__(self) -> str:
            return "first\nsecond"

    with pytest.raises(InputError) as error:
        plan_inference(WORKLOAD, MODEL, GPUConfig("H100"), ServingOptions(region=TwoLines()))
    assert str(error.value) == "--region first second must be a region name (see `gpucast prices list`)"


def test_an_agent_workload_given_to_the_planner_names_for_agent():
    """``plan_inference(AgentWorkloadInput(...), model)`` said "workload a AgentWorkloadInput must be a
    LLMWorkloadInput", naming neither the way to plan an agent nor it in good English."""
    from gpucast import AgentWorkloadInput

    agent = AgentWorkloadInput(tasks_per_second=0.5, calls_per_task=3, context_growth_tokens=100)
    with pytest.raises(InputError, match=r"LLMWorkloadInput\.for_agent\(agent, output_tokens=N\)"):
        plan_inference(agent, MODEL)
    workload = LLMWorkloadInput.for_agent(agent, output_tokens=100)
    assert plan_inference(workload, MODEL, GPUConfig("H100")).gpu_resources.total_gpus >= 1
