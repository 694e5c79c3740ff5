"""Plan files and the deployment catalogs the exporters read.

A plan file is the JSON a planning command writes with ``--output`` (``kind`` "inference" or "training").
Exports and reports only read it: :func:`load_plan` checks that it is one, and :func:`inference_inputs_from_plan`
turns its ``inputs`` back into the planner's dataclasses so a report can run ``compare`` on the same question.
Engine flag names (``catalog/engine_flags.toml``) and Kubernetes node labels (``catalog/k8s.toml``) are data.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import CatalogError, InputError

KINDS = ("inference", "training")
ENGINES = ("vllm", "sglang", "trtllm")


def load_plan(path: str | Path) -> dict[str, Any]:
    """The plan dict in ``path``; InputError (one line) for a missing file, bad JSON or not a plan."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InputError(f"plan file {str(path)!r} does not exist (write one with `gpucast inference ... "
                         "--output plan.json`)") from error  # fmt: skip
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise InputError(f"plan file {str(path)!r} cannot be read: {error}") from error
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"plan file {str(path)!r} is not JSON: {error.msg} at line {error.lineno}") from error
    check_plan(plan, str(path))
    return plan  # type: ignore[no-any-return]


def check_plan(plan: Any, name: str = "plan") -> str:
    """The plan's kind, after checking it has the sections the exporters read."""
    if not isinstance(plan, dict) or plan.get("kind") not in KINDS:
        raise InputError(f"{name} is not a gpucast plan (expected a JSON object with kind 'inference' or 'training',"
                         " as written by `gpucast inference|training --output FILE`)")  # fmt: skip
    kind = str(plan["kind"])
    needed = ("inputs", "model", "gpu_resources", "throughput", "scaling") if kind == "inference" else (
        "inputs", "model", "gpu_resources", "parallelism", "training_metrics")  # fmt: skip
    missing = [key for key in needed if not isinstance(plan.get(key), dict)]
    if missing:
        raise InputError(f"{name} is a {kind} plan without {', '.join(missing)}; re-run the planning command")
    return kind


def require_kind(plan: dict[str, Any], kind: str, what: str) -> None:
    if plan["kind"] != kind:
        raise InputError(f"{what} needs {_a(kind)} plan; this is {_a(plan['kind'])} plan")


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _pick(cls: type, values: dict[str, Any], **extra: Any) -> Any:
    """An input dataclass from the plan's flat ``inputs`` (keys that are not its fields are skipped)."""
    names = {f.name for f in fields(cls)}
    chosen = {k: v for k, v in values.items() if k in names and v is not None}
    return cls(**(chosen | {k: v for k, v in extra.items() if v is not None}))


def _model_name(plan: dict[str, Any]) -> str | None:
    model = plan.get("model", {})
    name = model.get("id") or model.get("name") or plan["inputs"].get("model")
    return str(name) if name else None


def _model_config_path(plan: dict[str, Any]) -> str | None:
    """The config.json a plan's model was read from (its stated source), while that file is still there: a model
    from a config.json is not in the catalog, so a report re-reads the file as the planner did."""
    from ..planning.request import CONFIG_NOTE

    source = str(plan.get("model", {}).get("source", ""))
    path = source.removeprefix(CONFIG_NOTE) if source.startswith(CONFIG_NOTE) else ""
    return path if path and Path(path).is_file() else None


def inference_inputs_from_plan(plan: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(workload, model, gpu, serving options) as the planner received them, from the plan's ``inputs``."""
    from ..inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions

    inputs = plan["inputs"]
    config = _model_config_path(plan)
    name = None if config else _model_name(plan)
    model = _pick(ModelConfig, {k: v for k, v in inputs.items() if k != "model_size_billions" or not (name or config)},
                  model_name=name, model_config_path=config)  # fmt: skip
    return _pick(LLMWorkloadInput, inputs), model, _pick(GPUConfig, inputs), _pick(ServingOptions, inputs)


def training_inputs_from_plan(plan: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(training, model, training options) from a training plan's ``inputs``."""
    from ..inputs.types import ModelConfig, TrainingInput, TrainingOptions

    inputs = plan["inputs"]
    config = _model_config_path(plan)
    model = ModelConfig(model_name=None if config else _model_name(plan), model_config_path=config,
                        precision=inputs.get("precision", "BF16"))  # fmt: skip
    return _pick(TrainingInput, inputs), model, _pick(TrainingOptions, inputs)


@dataclass(frozen=True)
class EngineFlags:
    """One engine release's launch interface (catalog/engine_flags.toml)."""

    id: str
    name: str
    version: str
    image: str
    command: tuple[str, ...]
    model_flag: str
    port: int
    health_path: str
    metrics_path: str
    metrics_waiting: str
    metrics_running: str
    metrics_kv_usage: str
    always: tuple[str, ...]
    chunked_prefill_value: str
    flags: dict[str, str]
    dtype: dict[str, str]
    quantization: dict[str, str]
    kv_cache_dtype: dict[str, str]
    source: str
    metrics_source: str
    as_of: str
    config_file_flag: str = ""
    config_file_path: str = ""
    prefix_caching: dict[str, str] = field(default_factory=dict)  # agent plans: on/off switch or options-file key
    speculative: dict[str, str] = field(default_factory=dict)  # proposer names and the flags / keys that carry k


@cache
def _toml(filename: str) -> dict[str, Any]:
    text = resources.files("gpucast.catalog").joinpath(filename).read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def load_engine_flags() -> dict[str, EngineFlags]:
    entries = _toml("engine_flags.toml")["engines"]
    known = {f.name for f in fields(EngineFlags)}
    out = {}
    for key, entry in entries.items():
        unknown = sorted(set(entry) - known)
        if unknown:
            raise CatalogError(f"engine_flags.toml entry {key!r} has unknown field(s) {', '.join(unknown)}")
        values = dict(entry) | {"command": tuple(entry["command"]), "always": tuple(entry["always"])}
        try:
            out[key] = EngineFlags(id=key, **values)
        except TypeError as error:
            raise CatalogError(f"engine_flags.toml entry {key!r}: {error}") from error
    return out


def mtp_models() -> tuple[str, ...]:
    """Catalog ids of models whose checkpoints ship MTP layers (engine_flags.toml ``mtp_models``)."""
    return tuple(_toml("engine_flags.toml").get("mtp_models", ()))


def engine_flags(engine: str) -> EngineFlags:
    """The launch interface of ``engine`` (vllm, sglang, trtllm); InputError naming the choices otherwise."""
    table = load_engine_flags()
    key = engine.strip().lower()
    if key not in table:
        from ..catalog.loader import resolve_engine

        try:
            key = resolve_engine(engine).id
        except (InputError, CatalogError):
            key = ""
    if key not in table:
        raise InputError(f"engine {engine!r} has no launch flags in gpucast; choose one of {', '.join(table)}")
    return table[key]


def k8s_catalog() -> dict[str, Any]:
    """Node labels per cloud and the GPU resource name (catalog/k8s.toml)."""
    return _toml("k8s.toml")
