"""The planning Python API fuzzed with Hypothesis: every field of the input dataclasses given a wrong value.

The entry points are the documented ones (docs/python-api.md): ``plan_inference`` and ``InferenceEngine``,
``LLMForecastEngine().compare_gpu_options``, ``plan_training`` and ``TrainingEngine``, ``LLMWorkloadInput.for_agent``
with an ``AgentWorkloadInput``, ``estimate(EstimateRequest)`` and ``estimate_training``. Each example replaces one
to three fields of a valid input with None, text, numbers of the wrong kind, NaN, ±inf, 0, negatives, 10^30,
booleans, lists, dicts, NumPy scalars or an unknown name. The call must then either return a plan with no NaN, no
infinity unless the plan says it misses its latency targets, and no negative count or cost, or raise a GpucastError
whose message is one line naming one of the changed fields (by its name or its flag) or its value; any other
exception (TypeError, AttributeError, KeyError, ZeroDivisionError, OverflowError, ...) fails the test.
``GPUCAST_FUZZ_EXAMPLES=300`` searches harder (docs/reliability.md, "Python API sweep").
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gpucast import (
    AgentWorkloadInput,
    GpucastError,
    GPUConfig,
    InferenceEngine,
    InputError,
    LLMForecastEngine,
    LLMWorkloadInput,
    ModelConfig,
    ServingOptions,
    TrainingEngine,
    TrainingInput,
    TrainingOptions,
    plan_inference,
    plan_training,
)
from gpucast.errors import CatalogError
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.training.estimate import TrainingEstimateRequest, estimate_training

EXAMPLES = int(os.environ.get("GPUCAST_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck))  # fmt: skip

EDGES: list[Any] = [None, "", " ", "abc", "10", "0.5", "nan", 0, -1, -0.0, 0.5, 3, 1e308, 10**30, 2**63, math.nan,
                    math.inf, -math.inf, True, False, [], [1], ["H100"], {}, {"a": 1}, (1,), "H100", "llama-3.1-8b",
                    "FP8", "nosuch", b"x", np.int64(300), np.float64(math.nan), np.float32(0.5), np.bool_(True),
                    np.array([5.0]), pd.Series([1.0, 2.0])]  # fmt: skip
BAD = st.one_of(
    st.sampled_from(EDGES),
    st.text(max_size=8),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(-3, 3), max_size=2),
)

# the flag a field is reported by where that is not the field's own name
FLAGS = {"requests_per_second": "--rps", "avg_input_tokens": "--input-tokens", "avg_output_tokens": "--output-tokens",
         "peak_load_multiplier": "--peak-multiplier", "model_size_billions": "--model-size", "model_name": "--model",
         "model_config_path": "--model-config", "gpu_type": "--gpu", "attention_dp": "--dp-attention",
         "target_latency_ms": "--target-latency", "dataset_size_tokens": "--dataset-size", "num_epochs": "--epochs",
         "optimizer_type": "--optimizer", "length_profile": "--length-profile", "gpu_types": "--gpu",
         "calls_per_task": "--calls-per-task", "task_latency_slo_ms": "--task-slo-ms", "tasks_per_second": "agent",
         "shared_prefix_tokens": "--shared-prefix", "context_growth_tokens": "--context-growth", "load_value": "--",
         "model_config": "--model", "max_calls_per_task": "--max-calls", "output_tokens_per_call": "output_tokens",
         "micro_batch": "--micro-batch", "global_batch": "--global-batch", "seq_len": "--seq-len"}  # fmt: skip

WORKLOAD = {"requests_per_second": 5.0, "avg_input_tokens": 500, "avg_output_tokens": 200}
MODEL = {"model_name": "llama-3.1-8b"}
GPU = {"gpu_type": "H100"}
AGENT = {"tasks_per_second": 0.5, "calls_per_task": 4, "shared_prefix_tokens": 1000, "context_growth_tokens": 300}
TRAINING = {"dataset_size_tokens": 10_000_000, "sequence_length": 2048, "num_epochs": 1, "global_batch_size": 16}
ESTIMATE = {"gpu": "H100", "num_gpus": 1, "input_tokens": 500, "output_tokens": 200, "model": "llama-3.1-8b"}
TRAINING_ESTIMATE = {"gpu": "H100", "num_gpus": 8, "seq_len": 2048, "micro_batch": 1, "model": "llama-3.1-8b",
                     "global_batch": 64}  # fmt: skip


@st.composite
def altered(draw: st.DrawFn, cls: type, base: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``base`` with one to three of ``cls``'s fields replaced: (all keyword arguments, the replaced ones)."""
    names = draw(st.lists(st.sampled_from([f.name for f in fields(cls)]), min_size=1, max_size=3, unique=True))
    changed = {name: draw(BAD) for name in names}
    return base | changed, changed


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    else:
        yield path, value


def check_result(data: dict[str, Any] | list[dict[str, Any]]) -> None:
    """No NaN, no infinity in a plan that meets its latency targets, no negative count or cost (its echoed inputs
    aside: they are what was asked)."""
    pairs = list(_walk(data))
    misses = any(path.endswith("meets_latency_sla") and value is False for path, value in pairs)
    for path, value in pairs:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or ".inputs" in path:
            continue
        assert not math.isnan(value), f"NaN at {path}"
        assert misses or not math.isinf(value), f"infinite {path} in a plan that meets its SLOs"
        assert value >= 0, f"negative {path} = {value}"


def check_error(error: GpucastError, changed: dict[str, Any]) -> None:
    message = str(error)
    assert message.strip() and "\n" not in message, repr(message)
    if isinstance(error, (InputError, CatalogError)):  # infeasible: a valid question, its reason is the model's
        names = [n for name in changed for n in (name, name.replace("_", "-"), FLAGS.get(name, name))]
        values = [repr(v) for v in changed.values()] + [str(v) for v in changed.values()]
        numbers = [v for v in changed.values() if isinstance(v, (int, float)) and math.isfinite(v)]
        values += [f"{v:,}" for v in numbers] + [f"{int(v):,}" for v in numbers if float(v).is_integer()]
        assert any(n in message for n in names) or any(v and v in message for v in values), (changed, message)


def outcome(call: Callable[[], Any], changed: dict[str, Any]) -> None:
    """Run ``call``: a result that passes ``check_result`` or a GpucastError that passes ``check_error``. Anything
    else raised propagates and fails the test with its traceback."""
    try:
        result = call()
    except GpucastError as error:
        check_error(error, changed)
        return
    if isinstance(result, list):
        check_result([row.to_dict() for row in result])
    else:
        check_result(result.to_dict())


def _serving(workload: Any, model: Any, gpu: Any, options: Any) -> Any:
    return plan_inference(workload, model, gpu, options)


SERVING_CALLS = {"plan_inference": _serving, "InferenceEngine": InferenceEngine().generate_plan}
SECTIONS = {"workload": (LLMWorkloadInput, WORKLOAD), "model": (ModelConfig, MODEL), "gpu": (GPUConfig, GPU),
            "options": (ServingOptions, {})}  # fmt: skip


@pytest.mark.parametrize("section", sorted(SECTIONS))
@pytest.mark.parametrize("entry", sorted(SERVING_CALLS))
def test_serving_plans_take_any_field_value(entry, section):
    cls, base = SECTIONS[section]

    @FUZZ
    @given(change=altered(cls, base))
    def fuzz(change: tuple[dict[str, Any], dict[str, Any]]) -> None:
        kwargs, changed = change
        args = {"workload": LLMWorkloadInput(**WORKLOAD), "model": ModelConfig(**MODEL), "gpu": GPUConfig(**GPU),
                "options": None}  # fmt: skip

        def call() -> Any:
            args[section] = cls(**kwargs)
            return SERVING_CALLS[entry](args["workload"], args["model"], args["gpu"], args["options"])

        outcome(call, changed)

    fuzz()


@FUZZ
@given(change=altered(AgentWorkloadInput, AGENT), output_tokens=st.sampled_from([200, 0, None, "200", math.nan]))
def test_agent_workloads_take_any_field_value(change, output_tokens):
    kwargs, changed = change
    changed = changed | {"output_tokens": output_tokens}

    def call() -> Any:
        workload = LLMWorkloadInput.for_agent(AgentWorkloadInput(**kwargs), output_tokens=output_tokens)
        return plan_inference(workload, ModelConfig(**MODEL), GPUConfig(**GPU))

    outcome(call, changed)


COMPARE_ARGS = {"clouds": ["aws"], "precisions": None, "gpu_types": ["H100"]}


@FUZZ
@given(section=st.sampled_from(["workload", "options", "arguments"]), data=st.data())
def test_compare_gpu_options_takes_any_value(section, data):
    workload, options, arguments = LLMWorkloadInput(**WORKLOAD), None, dict(COMPARE_ARGS)
    if section == "arguments":
        name = data.draw(st.sampled_from(sorted(COMPARE_ARGS)))
        arguments[name] = data.draw(BAD)
        changed = {name: arguments[name]}
        kwargs: dict[str, Any] = {}
    else:
        cls, base = SECTIONS[section]
        kwargs, changed = data.draw(altered(cls, base))

    def call() -> Any:
        nonlocal workload, options
        if section == "workload":
            workload = LLMWorkloadInput(**kwargs)
        elif section == "options":
            options = ServingOptions(**kwargs)
        return LLMForecastEngine().compare_gpu_options(workload, ModelConfig(**MODEL), options, **arguments)

    outcome(call, changed)


TRAINING_SECTIONS = {"training": (TrainingInput, TRAINING), "options": (TrainingOptions, {"method": "lora"}),
                     "model": (ModelConfig, MODEL), "gpu": (GPUConfig, GPU)}  # fmt: skip
TRAINING_CALLS = {"plan_training": plan_training, "TrainingEngine": TrainingEngine().generate_plan}


@pytest.mark.parametrize("section", sorted(TRAINING_SECTIONS))
@pytest.mark.parametrize("entry", sorted(TRAINING_CALLS))
def test_training_plans_take_any_field_value(entry, section):
    cls, base = TRAINING_SECTIONS[section]

    @FUZZ
    @given(change=altered(cls, base))
    def fuzz(change: tuple[dict[str, Any], dict[str, Any]]) -> None:
        kwargs, changed = change
        args = {"training": TrainingInput(**TRAINING), "options": TrainingOptions(method="lora"),
                "model": ModelConfig(**MODEL), "gpu": GPUConfig(**GPU)}  # fmt: skip

        def call() -> Any:
            args[section] = cls(**kwargs)
            return TRAINING_CALLS[entry](args["training"], args["model"], args["gpu"], args["options"])

        outcome(call, changed)

    fuzz()


@FUZZ
@given(change=altered(EstimateRequest, ESTIMATE))
def test_estimate_takes_any_field_value(change):
    kwargs, changed = change
    outcome(lambda: estimate(EstimateRequest(**kwargs)), changed)


@FUZZ
@given(change=altered(TrainingEstimateRequest, TRAINING_ESTIMATE))
def test_training_estimate_takes_any_field_value(change):
    kwargs, changed = change
    outcome(lambda: estimate_training(TrainingEstimateRequest(**kwargs)), changed)


ENTRY_ARGUMENTS = {
    "plan_inference workload": lambda x: plan_inference(x, ModelConfig(**MODEL)),
    "plan_inference model": lambda x: plan_inference(LLMWorkloadInput(**WORKLOAD), x),
    "plan_inference gpu": lambda x: plan_inference(LLMWorkloadInput(**WORKLOAD), ModelConfig(**MODEL), x),
    "plan_inference options": lambda x: plan_inference(LLMWorkloadInput(**WORKLOAD), ModelConfig(**MODEL), None, x),
    "compare model": lambda x: LLMForecastEngine().compare_gpu_options(LLMWorkloadInput(**WORKLOAD), x),
    "plan_training training": lambda x: plan_training(x, ModelConfig(**MODEL)),
    "plan_training options": lambda x: plan_training(TrainingInput(**TRAINING), ModelConfig(**MODEL), None, x),
    "estimate": estimate,
    "estimate_training": estimate_training,
    "for_agent": lambda x: LLMWorkloadInput.for_agent(x, output_tokens=200),
}


@pytest.mark.parametrize("value", [None, "", "llama-3.1-8b", 0, 7, math.nan, False, [], {"model_name": "x"}, (1,)])
@pytest.mark.parametrize("entry", sorted(ENTRY_ARGUMENTS))
def test_an_argument_of_the_wrong_kind_is_one_input_error(entry, value):
    """A dict, a name, a number or None where a dataclass belongs (None only where the argument is required)."""
    if value is None and entry.endswith(("gpu", "options")):
        return  # None is the default there
    with pytest.raises(InputError, match=r"must be an? [A-Z]\w+, e\.g\. ") as error:
        ENTRY_ARGUMENTS[entry](value)
    assert "\n" not in str(error.value)
