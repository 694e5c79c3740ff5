"""Config sections (``workload``, ``model``, ``gpu``, ``serving``, ``agent``, ``training``: the JSON config's shape,
which the CLI's flags are merged into) -> the Python API's input dataclasses. One path for every adapter that starts
from sections: the planning commands, ``gpucast export`` from planning flags, the guided conversation and the REST API.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .agent import AgentWorkloadInput
from .offers import check_cloud_choice
from .training import TrainingInput, TrainingOptions
from .types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions, check_speculation_given


def agent_into_workload(sections: dict[str, Any]) -> dict[str, Any]:
    """Move the ``agent`` section into ``workload`` with the request-level fields it implies (in place).

    An agent's LLM calls are the requests: requests_per_second = tasks/s x calls per task and
    avg_input_tokens = mean prompt per call (``AgentWorkloadInput.derived``); --rps and
    --input-tokens are then not accepted. A config-sections transform, so every adapter that starts
    from sections (the CLI's flags and config files, the guided conversation, the REST API) shares it.
    """
    agent = sections.pop("agent", None)
    if not agent:
        return sections
    workload = sections.setdefault("workload", {})
    for key, flag in (("requests_per_second", "--rps"), ("avg_input_tokens", "--input-tokens")):
        if key in workload:
            raise InputError(
                f"{flag} (workload.{key}) is derived from the agent workload: give --tasks-per-second, "
                "--calls-per-task and --context-growth-tokens instead"
            )
    parsed = AgentWorkloadInput.from_dict(dict(agent))
    if parsed.output_tokens_per_call is not None:
        workload.setdefault("avg_output_tokens", parsed.output_tokens_per_call)
    if "avg_output_tokens" not in workload:
        raise InputError("--output-tokens (output tokens per call) is required for an agent workload")
    parsed.validate(workload["avg_output_tokens"])
    rate, mean_input = parsed.derived(workload["avg_output_tokens"])
    workload.update(requests_per_second=rate, avg_input_tokens=mean_input, agent=dict(agent))
    return sections


def inference_inputs_from_sections(
    sections: dict[str, Any],
) -> tuple[LLMWorkloadInput, ModelConfig, GPUConfig, ServingOptions]:
    """The serving API's dataclasses from config sections, naming the flag of a missing required value."""
    workload = sections.get("workload", {})
    if workload.get("length_profile") is not None and isinstance(workload["length_profile"], str):
        from .length_profile import resolve_length_profile

        profile = resolve_length_profile(workload["length_profile"])  # its means stand for the average request
        workload = {**workload, "avg_input_tokens": max(1, round(profile.mean_input)),
                    "avg_output_tokens": max(1, round(profile.mean_output))}  # fmt: skip
    for key, flag in (
        ("requests_per_second", "--rps"),
        ("avg_input_tokens", "--input-tokens"),
        ("avg_output_tokens", "--output-tokens"),
    ):
        if key not in workload:
            raise InputError(f"{flag} is required (or workload.{key} in --config)")
    if isinstance(sections.get("serving"), dict):
        check_speculation_given(sections["serving"])
        check_cloud_choice(sections["serving"])
    return (
        LLMWorkloadInput(**workload),
        ModelConfig(**sections.get("model", {})),
        GPUConfig(**sections.get("gpu", {})),
        ServingOptions(**sections.get("serving", {})),
    )


def training_inputs_from_sections(
    sections: dict[str, Any],
) -> tuple[TrainingInput, ModelConfig, GPUConfig, TrainingOptions]:
    """The training API's dataclasses from config sections (seed keys of ``training`` make the TrainingInput,
    the rest and the serving section's cloud/pricing/tp/pp the TrainingOptions; BF16 weights by default)."""
    training = dict(sections.get("training", {}))
    for key, flag in (
        ("dataset_size_tokens", "--dataset-size"),
        ("sequence_length", "--sequence-length"),
        ("num_epochs", "--epochs"),
        ("global_batch_size", "--global-batch-size"),
    ):
        if key not in training:
            raise InputError(f"{flag} is required for training (or training.{key} in --config)")
    seed_keys = ("dataset_size_tokens", "sequence_length", "num_epochs", "global_batch_size", "micro_batch_size",
                 "gradient_accumulation_steps", "optimizer_type", "gradient_checkpointing")  # fmt: skip
    seed = {k: v for k, v in training.items() if k in seed_keys}
    extra = {k: v for k, v in training.items() if k not in seed_keys}
    serving = sections.get("serving", {})
    for key, flag in (("clouds", "--clouds"), ("region", "--region")):
        if serving.get(key) is not None:
            raise InputError(f"{flag} applies to inference plans and compare; a training plan is priced on one --cloud")
    for key in ("cloud", "pricing", "tp", "pp", "ep"):
        if key in serving:
            extra.setdefault(key, serving[key])
    model = dict(sections.get("model", {}))
    model.setdefault("precision", "BF16")
    return (
        TrainingInput(**seed),
        ModelConfig(**model),
        GPUConfig(**sections.get("gpu", {})),
        TrainingOptions(**extra),
    )
