"""Config sections (``workload``, ``model``, ``gpu``, ``serving``, ``training``: the JSON config's shape, which the
CLI's flags are merged into) -> the Python API's input dataclasses. One path for every adapter that starts from
sections: the planning commands, ``gpucast export`` from planning flags and the guided conversation.
"""

from __future__ import annotations

from typing import Any

from .errors import InputError
from .inputs import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions, TrainingInput, TrainingOptions


def inference_inputs_from_sections(
    sections: dict[str, Any],
) -> tuple[LLMWorkloadInput, ModelConfig, GPUConfig, ServingOptions]:
    """The serving API's dataclasses from config sections, naming the flag of a missing required value."""
    workload = sections.get("workload", {})
    for key, flag in (
        ("requests_per_second", "--rps"),
        ("avg_input_tokens", "--input-tokens"),
        ("avg_output_tokens", "--output-tokens"),
    ):
        if key not in workload:
            raise InputError(f"{flag} is required (or workload.{key} in --config)")
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
    for key in ("cloud", "pricing", "tp", "pp"):
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
