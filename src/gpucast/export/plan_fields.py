"""The fields of a plan file the exporters and the report read, by type: what :func:`plan_file.check_plan` checks
a hand-edited or truncated plan against, so a wrong value or a null is one line naming the field, never a
traceback or a "None" printed in a report or a manifest."""

from __future__ import annotations

import json
from typing import Any

from ..errors import InputError

INFERENCE_INPUTS: dict[str, tuple[str, ...]] = {
    "requests_per_second": ("number",), "avg_input_tokens": ("integer",), "avg_output_tokens": ("integer",),
    "peak_load_multiplier": ("number",), "context_window": ("integer",), "precision": ("string",),
    "kv_precision": ("string", "null"), "gpu_memory_utilization": ("number",),
    "max_num_seqs": ("integer", "null"), "engine": ("string", "null"), "model": ("string", "null"),
    # read by the report's re-check, the `export estimate` line and the risks (a text acceptance_rate was a
    # ValueError from `export estimate`; sweep 2026-12-08)
    "growth_rate": ("number",), "ttft_slo_ms": ("number", "null"), "itl_slo_ms": ("number", "null"),
    "speculative_tokens": ("integer", "null"), "acceptance_rate": ("number", "null"),
    "draft_model": ("string", "null"), "engine_version": ("string", "null"), "slo_percentile": ("string", "integer"),
    "safety_margin": ("number",), "min_replicas": ("integer",), "cloud": ("string", "null"),
    "pricing": ("string", "null"),
}  # fmt: skip
# what the report's title and the training exports read (with defaults when missing): a null was printed as "None"
# (`GPUCAST_EPOCHS: None` in `export k8s`, "Llama-3.1-8B (None)" in the report's title; sweep 2026-12-08)
TRAINING_INPUTS: dict[str, tuple[str, ...]] = {
    "method": ("string",), "precision": ("string",), "sequence_length": ("integer",),
    "global_batch_size": ("integer",), "num_epochs": ("number",), "dataset_size_tokens": ("number",),
    "model": ("string", "null"), "framework": ("string",), "optimizer_type": ("string",),
    "optimizer_8bit": ("boolean",), "master_weights": ("string",), "lora_rank": ("integer", "null"),
    "sequence_parallel": ("boolean",), "fp8_recipe": ("string", "null"), "cloud": ("string", "null"),
    "pricing": ("string", "null"), "deadline_hours": ("number", "null"),
}  # fmt: skip
MODEL_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("string", "null"), "id": ("string", "null"), "total_params_b": ("number", "null"),
    "active_params_b": ("number", "null"), "source": ("string", "null"),
}  # fmt: skip  # null passes here: plan_file._check_present names a required field that is null
# top-level lists whose items the report prints one per line: a null one was "- None", a number an AttributeError
# of the HTML report (sweep 2026-12-08); and lists of text inside ``inputs``
_TEXT_LISTS = ("assumptions", "warnings")
_INPUT_TEXT_LISTS = ("lora_targets",)


def shown(value: Any) -> str:
    """A plan value as the file spells it (null, true, "text"), cut to 60 characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_texts(plan: dict[str, Any], name: str) -> None:
    """The report and the exports print these as text: each item of the lists, each version (null: "n/a")."""
    for key in _TEXT_LISTS:
        for index, item in enumerate(plan.get(key) or ()):
            if not isinstance(item, str):
                raise InputError(f"{name}: {key}[{index}] is {shown(item)}, not text; re-run the planning command")
    for key, value in (plan.get("versions") or {}).items():
        if value is not None and not isinstance(value, str):
            raise InputError(f"{name}: versions.{key} is {shown(value)}, not text; re-run the planning command")
    inputs = plan.get("inputs")
    for key in _INPUT_TEXT_LISTS:
        value = inputs.get(key) if isinstance(inputs, dict) else None
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise InputError(f"{name}: inputs.{key} is {shown(value)}, not a list of text; re-run the planning "
                             "command")  # fmt: skip
