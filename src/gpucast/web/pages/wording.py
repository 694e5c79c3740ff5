"""Error messages in the words of the web forms, not the command line.

The core's messages name CLI flags ("--model 'nope' is not in the catalog (see `gpucast models` for the list)")
and the API's name body paths ("workload.requests_per_second: Field required"); a person on the plan page sees
neither a flag nor a path, only the form's labels (issue 23). This module rewrites both into the label of the
field on the page ("Model 'nope' is not in the catalog (pick one from the list)"). The JSON API keeps its
field paths: a program reads those.
"""

from __future__ import annotations

import re

from ...wording import shorten_quoted

# form labels, as the templates show them (plan.html, training.html, forecast.html)
LABELS = {
    "model": "Model", "model_name": "Model", "model_size": "Model size", "model_size_billions": "Model size",
    "gpu_type": "GPU", "gpu": "GPU", "gpus": "GPUs", "rps": "Requests/s", "requests_per_second": "Requests/s",
    "input_tokens": "Input tokens", "avg_input_tokens": "Input tokens", "output_tokens": "Output tokens",
    "avg_output_tokens": "Output tokens", "peak_multiplier": "Peak ×", "peak_load_multiplier": "Peak ×",
    "ttft_slo_ms": "TTFT SLO (ms)", "itl_slo_ms": "ITL / TPOT SLO (ms)", "slo_percentile": "SLOs bound",
    "length_profile": "Length profile", "cloud": "Cloud", "clouds": "Cloud",
    "pricing": "Pricing", "precision": "Precision", "dataset_size": "Dataset tokens",
    "dataset_size_tokens": "Dataset tokens", "sequence_length": "Sequence length", "epochs": "Epochs",
    "num_epochs": "Epochs", "global_batch_size": "Global batch", "num_gpus": "GPUs", "deadline_hours": "Deadline (h)",
    "method": "Method", "service": "Service", "horizon": "Horizon", "history": "History file",
    "context_window": "Context window", "target_gpu_utilization": "Target GPU utilization",
    "current_gpus": "GPUs today", "growth_rate": "Growth %/month", "engine": "Engine",
    "kv_precision": "KV cache", "tp": "TP", "pp": "PP", "min_replicas": "Min replicas", "lora_rank": "LoRA rank",
    "framework": "Software stack", "region": "Region",
}  # fmt: skip
_SEE_COMMAND = re.compile(r"\s*\(see `gpucast (?:models|gpus)`[^)]*\)|\s*see `gpucast (?:models|gpus)`")
_SNAKE_AND_FLAG = re.compile(r"\b([a-z]+(?:_[a-z0-9]+)+) \(--[a-z0-9-]+\)")
_FLAG = re.compile(r"--([a-z][a-z0-9-]*)")
_PATH = re.compile(r"^((?:[a-z_]+\.)*([a-z][a-z0-9_]*)): ")
_PYDANTIC = (("Field required", "is required"), ("Input should be a valid number, unable to parse string as a number",
             "must be a number"), ("Input should be a valid integer, unable to parse string as an integer",
             "must be a whole number"), ("Input should be greater than 0", "must be greater than 0"))  # fmt: skip


def label(name: str) -> str:
    """The form's label for a flag or field name ("ttft-slo-ms", "requests_per_second")."""
    key = name.replace("-", "_")
    return LABELS.get(key, key.replace("_", " ").capitalize())


def form_message(message: str) -> str:
    """``message`` worded for a form: flags and body paths become the fields' labels, CLI hints the form's."""
    text = _SEE_COMMAND.sub(" (pick one from the list)", message)
    text = _SNAKE_AND_FLAG.sub(lambda m: label(m[1]), text)
    path = _PATH.match(text)
    if path:
        rest = text[path.end() :]
        text = f"{label(path[2])} is required." if rest == "Field required" else f"{label(path[2])}: {rest}"
    text = _FLAG.sub(lambda m: label(m[1]), text)
    for said, plain in _PYDANTIC:
        text = text.replace(said, plain)
    return shorten_quoted(text)  # a 30,000-character value was quoted back whole
