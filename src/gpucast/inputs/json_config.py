"""The seed's JSON config files: load, validate keys, merge with CLI flags, write templates.

Schema (seed): top-level ``mode``, ``workload``, ``model``, ``training``, ``gpu``, ``options``;
gpucast adds ``serving``, ``agent`` (agent workloads) and a few keys (``model.model_name``, ``model.kv_precision``...).
Keys starting with ``_`` are comments and ignored; any other unknown key is an error that
names it. A null value means "not given": the key's default, as if it were left out (for every key and section;
``"growth_rate": null`` was an error while ``"precision": null`` was the default). CLI flags override config values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError

SECTIONS: dict[str, tuple[str, ...]] = {
    "workload": (
        "requests_per_second",
        "avg_input_tokens",
        "avg_output_tokens",
        "peak_load_multiplier",
        "growth_rate",
        "length_profile",
    ),
    "model": (
        "model_size_billions",
        "precision",
        "context_window",
        "batch_size",
        "model_name",
        "model_config_path",
        "kv_precision",
        "shape",
    ),
    "training": (
        "dataset_size_tokens",
        "sequence_length",
        "num_epochs",
        "global_batch_size",
        "micro_batch_size",
        "gradient_accumulation_steps",
        "optimizer_type",
        "gradient_checkpointing",
        "method",
        "lora_rank",
        "lora_targets",
        "optimizer_8bit",
        "zero",
        "recompute",
        "flash_attention",
        "tp",
        "pp",
        "num_gpus",
        "dp",
        "deadline_hours",
        "optimize",
        "framework",
        "cp",
        "vpp",
        "ep",
        "sequence_parallel",
        "fp8_recipe",
        "master_weights",
    ),
    "gpu": ("gpu_type", "gpu_types", "target_gpu_utilization"),
    "options": ("include_cost", "output_file"),
    "serving": (
        "cloud",
        "pricing",
        "ttft_slo_ms",
        "itl_slo_ms",
        "target_latency_ms",
        "slo_percentile",
        "safety_margin",
        "min_replicas",
        "tp",
        "pp",
        "ep",
        "attention_dp",
        "gpu_memory_utilization",
        "max_num_seqs",
        "require_slo",
        "engine",
        "engine_version",
        "speculative_tokens",
        "acceptance_rate",
        "draft_model",
        "disaggregation",
        "kv_transfer_gb_s",
        "clouds",
        "region",
        "criticality",
        "price_max_age_days",
    ),
    # agent workloads (core/agent.py): replaces workload.requests_per_second and avg_input_tokens
    "agent": (
        "tasks_per_second",
        "calls_per_task",
        "calls_distribution",
        "max_calls_per_task",
        "shared_prefix_tokens",
        "context_growth_tokens",
        "output_tokens_per_call",
        "think_time_s",
        "prefix_caching",
        "prefix_cache_gib",
        "task_latency_slo_ms",
    ),
}
MODES = ("inference", "training")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a config file; returns ``{mode, section: {key: value}}`` without comments."""
    try:  # -sig: an editor's byte-order mark
        raw = json.loads(Path(path).read_text(encoding="utf-8-sig"), object_pairs_hook=_once_each)
    except OSError as error:
        raise ConfigError(f"--config {str(path)!r} cannot be read: {error.strerror}") from error
    except UnicodeDecodeError as error:  # "is not valid JSON" did not say why (a Latin-1 "é")
        raise ConfigError(f"--config {str(path)!r} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at "
                          f"offset {error.start:,}): save it as UTF-8") from error  # fmt: skip
    except json.JSONDecodeError as error:
        raise ConfigError(f"--config {str(path)!r} is not valid JSON at line {error.lineno}") from error
    except _DuplicateKey as error:
        raise ConfigError(f"--config {str(path)!r}: {error}") from None
    except RecursionError:  # nested past the decoder's depth: a RecursionError traceback before
        raise ConfigError(f"--config {str(path)!r} is nested too deeply to be a config") from None
    return validate_config(raw, str(path))


class _DuplicateKey(ValueError):
    pass


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each given once: ``"requests_per_second": 10, "requests_per_second": 99`` was
    read as 99 without a word (JSON's last-wins), so which value was planned depended on a detail of the file."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            first, then = json.dumps(found[key])[:40], json.dumps(value)[:40]
            raise _DuplicateKey(f"key {key!r} is given twice in one object ({first}, then {then}); give it once")
        found[key] = value
    return found


def validate_config(raw: Any, origin: str = "config") -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: the top level must be a JSON object")
    result: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith("_") or value is None:  # null = not given: the default, as if the key were left out
            continue
        if key == "mode":
            if value not in MODES:
                raise ConfigError(f"{origin}: mode {value!r} is not one of {', '.join(MODES)}")
            result["mode"] = value
            continue
        if key not in SECTIONS:
            raise ConfigError(f"{origin}: unknown key {key!r} (accepted: mode, {', '.join(SECTIONS)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{origin}: {key!r} must be a JSON object")
        section = {}
        for inner, inner_value in value.items():
            if inner.startswith("_"):
                continue
            if inner not in SECTIONS[key]:
                raise ConfigError(f"{origin}: unknown key '{key}.{inner}' (accepted: {', '.join(SECTIONS[key])})")
            if inner_value is not None:  # null = the default, for every key (it was an error for some keys only)
                section[inner] = inner_value
        result[key] = section
    _check_options(result.get("options", {}), origin)
    return result


def _check_options(options: dict[str, Any], origin: str) -> None:
    """``include_cost`` took any value ("no" included: cost is always included, the key is kept for the seed's
    configs), and an ``output_file`` of ``true`` or 5 was a TypeError traceback from pathlib."""
    if "include_cost" in options and not isinstance(options["include_cost"], bool):
        raise ConfigError(f"{origin}: options.include_cost {json.dumps(options['include_cost'])} must be true or false (cost "
                          "is always included; the key is kept for older configs)")  # fmt: skip
    output = options.get("output_file")
    if output is not None and not isinstance(output, str):
        raise ConfigError(f"{origin}: options.output_file {json.dumps(output)} must be a file name in quotes, or null")


# the templates name the key without setting it: a config used as generated writes no file unasked (issue 23)
OUTPUT_FILE_NOTE = 'add "output_file": "plan.json" to also write the plan to a file (as --output does)'


def template(mode: str) -> dict[str, Any]:
    """A commented config the tool accepts as is (``--generate-config``)."""
    if mode == "inference":
        return {
            "_comment": "gpucast inference config. Keys starting with '_' are comments. CLI flags override values.",
            "mode": "inference",
            "workload": {
                "_comment": "average load; peak = requests_per_second x peak_load_multiplier x (1 + growth_rate/100)",
                "requests_per_second": 10.0,
                "avg_input_tokens": 500,
                "avg_output_tokens": 200,
                "peak_load_multiplier": 1.5,
                "growth_rate": 0,
            },
            "model": {
                "_comment": "model_name (catalog, see `gpucast models`) or model_size_billions; precision "
                "FP32|FP16|BF16|FP8|INT8|INT4|FP4 (omit: the published checkpoint's, e.g. FP8 for DeepSeek-R1, else "
                "FP16); batch_size caps concurrent sequences per replica (omit: planner chooses)",
                "model_name": "llama-3.1-70b",
                "precision": "FP16",
                "context_window": 8192,
            },
            "gpu": {
                "_comment": "gpu_type: see `gpucast gpus`; remove it to let gpucast pick the cheapest GPU",
                "gpu_type": "H100-80GB",
                "target_gpu_utilization": 0.7,
            },
            "serving": {
                "_comment": "SLOs in ms; cloud: see `gpucast prices list`; clouds: a comma list or all; pricing on-demand|spot|1yr|3yr|marketplace (a comma list, or all)",
                "cloud": "aws",
                "pricing": "on-demand",
                "ttft_slo_ms": 2000,
                "itl_slo_ms": 100,
                "safety_margin": 0.25,
                "min_replicas": 2,
            },
            "options": {"_comment": OUTPUT_FILE_NOTE, "include_cost": True},
        }
    if mode == "training":
        return {
            "_comment": "gpucast training config. Keys starting with '_' are comments. CLI flags override values.",
            "mode": "training",
            "training": {
                "dataset_size_tokens": 1_000_000_000,
                "sequence_length": 4096,
                "num_epochs": 3,
                "global_batch_size": 64,
                "optimizer_type": "AdamW",
                "gradient_checkpointing": True,
                "_comment": "gpucast additions: method full|lora|qlora, lora_rank, zero 0-3, recompute "
                "none|selective|full, num_gpus or deadline_hours, optimize speed|cost; micro_batch_size pins the "
                "micro batch (default: searched; accumulation = global batch / (DP x micro batch))",
                "method": "full",
                "zero": 3,
            },
            "model": {"model_size_billions": 70, "precision": "BF16"},
            "gpu": {"gpu_type": "H100-80GB", "target_gpu_utilization": 0.85},
            "serving": {
                "_comment": "cloud and pricing apply to training plans too",
                "cloud": "aws",
                "pricing": "on-demand",
            },
            "options": {"_comment": OUTPUT_FILE_NOTE, "include_cost": True},
        }
    raise ConfigError(f"--generate-config {mode!r} is not one of {', '.join(MODES)}")
