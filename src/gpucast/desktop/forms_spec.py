"""The three forms (inference, training, forecast) as field tables, and the planner checks run as the user types.

Flags, config keys and defaults are the CLI's (``gpucast inference``, ``gpucast training``, ``gpucast predict``):
the desktop is one more way to give the same inputs. The pickers' choices come from the catalogs.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..catalog import loader
from ..catalog.length_profiles import length_profile_names
from ..core.cost import PRICING_MODELS
from ..core.specs import PRECISION_NAMES
from ..core.training_setup import TRAINING_PRECISIONS
from ..errors import InputError
from ..forecast import SCENARIOS
from ..inputs.sections import inference_inputs_from_sections, training_inputs_from_sections
from ..inputs.training import FRAMEWORKS, METHODS, OBJECTIVES
from .fields import CHEAPEST, DEFAULT, Field, values_from_sections

PERIODS = ("day", "week")
PERCENTILES = ("99", "95", "90", "50", "mean")  # --slo-percentile's values (inputs.types.check_percentile)


@cache
def model_names() -> tuple[str, ...]:
    """Catalog model ids, for the type-ahead picker."""
    return tuple(sorted(loader.load_models()))


@cache
def gpu_names() -> tuple[str, ...]:
    return tuple(sorted(loader.load_gpus()))


def matches(names: tuple[str, ...], typed: str) -> list[str]:
    """Type-ahead: names starting with the typed text first, then names containing it (case-insensitive)."""
    text = typed.strip().lower()
    if not text:
        return list(names)
    starts = [n for n in names if n.lower().startswith(text)]
    return starts + [n for n in names if text in n.lower() and n not in starts]


def chosen_values(values: dict[str, str]) -> dict[str, str]:
    """The values the planner gets: a config.json replaces the catalog model (the CLI takes one of the two)."""
    if values.get("model_config", "").strip():
        return {k: v for k, v in values.items() if k != "model"}
    return values


def inference_fields() -> tuple[Field, ...]:
    return (
        Field("model", "Model", ("--model",), "model", "model_name", default="llama-3.1-8b", choices=model_names(),
              hint="type to search the catalog"),
        Field("model_config", "or config.json", ("--model-config",), "model", "model_config_path",
              hint="replaces the model"),
        Field("gpu", "GPU", ("--gpu-type", "--gpu"), "gpu", "gpu_type", "choice", CHEAPEST, (CHEAPEST, *gpu_names())),
        Field("cloud", "Cloud", ("--cloud",), "serving", "cloud", "choice", "aws", (CHEAPEST, *loader.clouds())),
        Field("pricing", "Pricing", ("--pricing",), "serving", "pricing", "choice", "on-demand", PRICING_MODELS),
        # where to rent: the CLI's and the plan page's --region (every priced region, whatever its clouds)
        Field("region", "Region", ("--region",), "serving", "region", "choice", DEFAULT, (DEFAULT, *loader.regions()),
              hint="default: every region of the cloud"),
        Field("rps", "Requests/s (average)", ("--rps",), "workload", "requests_per_second", "float", "10"),
        Field("input_tokens", "Input tokens", ("--input-tokens",), "workload", "avg_input_tokens", "tokens", "500"),
        Field("output_tokens", "Output tokens", ("--output-tokens",), "workload", "avg_output_tokens", "tokens", "200"),
        Field("peak", "Peak multiplier", ("--peak-multiplier",), "workload", "peak_load_multiplier", "float", "1.5"),
        Field("growth", "Growth %", ("--growth-rate",), "workload", "growth_rate", "float", "0"),
        Field("ttft", "TTFT SLO ms", ("--ttft-slo-ms",), "serving", "ttft_slo_ms", "float", "2000"),
        Field("itl", "ITL SLO ms", ("--itl-slo-ms",), "serving", "itl_slo_ms", "float", "100"),
        # the statistic the SLOs bound and the request-length distribution: the CLI's and the plan page's, which
        # the window lacked (its SLOs were always p99 of fixed-length requests)
        Field("slo_percentile", "SLOs bound", ("--slo-percentile",), "serving", "slo_percentile", "choice", "99",
              PERCENTILES, hint="p99 unless mean"),
        Field("length_profile", "Length profile", ("--length-profile",), "workload", "length_profile", "choice",
              DEFAULT, (DEFAULT, *length_profile_names()), hint="default: the fixed tokens above"),
        Field("e2e", "End-to-end ms", ("--target-latency",), "serving", "target_latency_ms", "float",
              hint="optional"),
        Field("precision", "Precision", ("--precision",), "model", "precision", "choice", DEFAULT,
              (DEFAULT, *PRECISION_NAMES)),
        Field("kv_precision", "KV cache", ("--kv-precision",), "model", "kv_precision", "choice", DEFAULT,
              (DEFAULT, "FP16", "BF16", "FP8", "INT8", "INT4"), hint="default: the engine's"),
        Field("engine", "Engine", ("--engine",), "serving", "engine", "choice", "vllm", tuple(loader.load_engines())),
        Field("context_window", "Context window", ("--context-window",), "model", "context_window", "tokens",
              hint="default 4096 or the request"),
        Field("min_replicas", "Min replicas", ("--min-replicas",), "serving", "min_replicas", "int", hint="default 2"),
        Field("tp", "Tensor parallel", ("--tp",), "serving", "tp", "int", hint="default: searched"),
        Field("pp", "Pipeline parallel", ("--pp",), "serving", "pp", "int", hint="default: searched"),
        Field("allow_infeasible", "Closest plan if SLOs fail", ("--allow-infeasible",), "serving",
              "require_slo", "bool", "0"),
    )  # fmt: skip


def training_fields() -> tuple[Field, ...]:
    return (
        Field("model", "Model", ("--model",), "model", "model_name", default="llama-3.1-8b", choices=model_names()),
        Field("model_config", "or config.json", ("--model-config",), "model", "model_config_path"),
        Field("method", "Method", ("--method",), "training", "method", "choice", "lora", METHODS),
        Field("gpu", "GPU", ("--gpu-type", "--gpu"), "gpu", "gpu_type", "choice", CHEAPEST, (CHEAPEST, *gpu_names())),
        Field("cloud", "Cloud", ("--cloud",), "serving", "cloud", "choice", "aws", loader.clouds()),
        Field("pricing", "Pricing", ("--pricing",), "serving", "pricing", "choice", "on-demand", PRICING_MODELS),
        Field("precision", "Precision", ("--precision",), "model", "precision", "choice", "BF16",
              tuple(p.name for p in TRAINING_PRECISIONS)),  # what `gpucast training` takes (not INT4, FP4 ...)
        Field("dataset", "Dataset tokens", ("--dataset-size",), "training", "dataset_size_tokens", "tokens",
              "1000000000"),
        Field("seq_len", "Sequence length", ("--sequence-length",), "training", "sequence_length", "tokens", "4096"),
        Field("epochs", "Epochs", ("--epochs",), "training", "num_epochs", "int", "1"),
        Field("global_batch", "Global batch (sequences)", ("--global-batch-size",), "training", "global_batch_size",
              "int", "64"),
        Field("lora_rank", "LoRA rank", ("--lora-rank",), "training", "lora_rank", "int", hint="default 16"),
        Field("zero", "ZeRO stage", ("--zero",), "training", "zero", "int", DEFAULT, (DEFAULT, "0", "1", "2", "3")),
        Field("num_gpus", "GPUs", ("--num-gpus",), "training", "num_gpus", "int", hint="default: fewest that fit"),
        Field("deadline", "Deadline hours", ("--deadline-hours",), "training", "deadline_hours", "float"),
        Field("optimize", "Optimize for", ("--optimize",), "training", "optimize", "choice", "speed", OBJECTIVES),
        Field("framework", "Framework", ("--framework",), "training", "framework", "choice", "default", FRAMEWORKS),
    )  # fmt: skip


def forecast_fields() -> tuple[Field, ...]:
    """``gpucast predict``'s flags (the history file is picked separately); config keys name its arguments."""
    return (
        Field("history", "History file", ("--history",), "predict", "history", hint="CSV/JSON/Parquet"),
        Field("horizon", "Horizon", ("--horizon",), "predict", "horizon", default="14d", hint="14d, 168h, 2w"),
        Field("scenario", "Scenario", ("--scenario",), "predict", "scenario", "choice", "baseline", SCENARIOS),
        Field("growth", "Extra growth %/month", ("--growth-rate",), "predict", "growth_rate", "float", "0"),
        Field("series", "Series id", ("--service",), "predict", "series", hint="if the file has several"),
        Field("model", "Model (capacity)", ("--model",), "predict", "model", choices=model_names(),
              hint="for the capacity timeline"),
        Field("gpu", "GPU", ("--gpu",), "predict", "gpu", "choice", CHEAPEST, (CHEAPEST, *gpu_names())),
        Field("precision", "Precision", ("--precision",), "predict", "precision", "choice", DEFAULT,
              (DEFAULT, *PRECISION_NAMES)),
        Field("input_tokens", "Input tokens", ("--input-tokens",), "predict", "input_tokens", "tokens"),
        Field("output_tokens", "Output tokens", ("--output-tokens",), "predict", "output_tokens", "tokens"),
        Field("cloud", "Cloud", ("--cloud",), "predict", "cloud", "choice", "aws", loader.clouds()),
        Field("period", "Timeline period", ("--period",), "predict", "period", "choice", "day", PERIODS),
        Field("current_gpus", "GPUs today", ("--current-gpus",), "predict", "current_gpus", "int"),
    )  # fmt: skip


def inference_sections(sections: dict[str, Any]) -> dict[str, Any]:
    """The form's sections as the CLI plans them: SLOs required unless the user asked for the closest plan."""
    serving = sections.setdefault("serving", {})
    serving["require_slo"] = not serving.pop("require_slo", False)
    if serving.get("cloud") is None:
        serving.pop("cloud", None)
    return sections


def inference_values(sections: dict[str, Any]) -> dict[str, str]:
    """The inference form's text for stored sections (the box is ticked when the SLOs were not required)."""
    values = values_from_sections(inference_fields(), sections)
    values["allow_infeasible"] = "0" if sections.get("serving", {}).get("require_slo", True) else "1"
    return values


def check_inference(sections: dict[str, Any]) -> None:
    """Everything ``gpucast inference`` checks before it searches: the inputs and the catalog names."""
    from ..planning.request import resolve

    resolve(*inference_inputs_from_sections(inference_sections(sections)))


def check_training(sections: dict[str, Any]) -> None:
    """What :func:`gpucast.training.plan.plan_training` checks before it searches, and the catalog names."""
    training, model, gpu, options = training_inputs_from_sections(sections)
    training.validate()
    model.validate()
    gpu.validate()
    options.validate(loader.clouds())
    if model.model_name:
        loader.resolve_model(model.model_name)
    if gpu.gpu_type:
        loader.resolve_gpu(gpu.gpu_type)


def check_forecast(sections: dict[str, Any]) -> None:
    """``gpucast predict``'s checks that need no fitting: a history file, the model, the GPU and the tokens (the
    horizon is read against the history's frequency, so it is checked when the forecast runs)."""
    from ..planning.timeline import check_tokens

    given = sections.get("predict", {})
    if not given.get("history"):
        raise InputError("--history is required: open a history file (CSV/JSON/Parquet of timestamp,value)")
    if given.get("model"):
        loader.resolve_model(given["model"])
    if given.get("gpu"):
        loader.resolve_gpu(given["gpu"])
    check_tokens(given.get("input_tokens"), given.get("output_tokens"))
