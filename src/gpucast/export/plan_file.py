"""Plan files and the deployment catalogs the exporters read.

A plan file is the JSON a planning command writes with ``--output`` (``kind`` "inference" or "training").
Exports and reports only read it: :func:`load_plan` checks that it is one, and :func:`inference_inputs_from_plan`
turns its ``inputs`` back into the planner's dataclasses so a report can run ``compare`` on the same question.
Engine flag names (``catalog/engine_flags.toml``) and Kubernetes node labels (``catalog/k8s.toml``) are data.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import CatalogError, InputError
from .plan_fields import INFERENCE_INPUTS, MODEL_FIELDS, TRAINING_INPUTS, check_texts, shown

KINDS = ("inference", "training")
ENGINES = ("vllm", "sglang", "trtllm")


def load_plan(path: str | Path) -> dict[str, Any]:
    """The plan dict in ``path``; InputError (one line) for a missing file, bad JSON or not a plan."""
    file = Path(path)
    try:  # utf-8-sig: an editor's byte-order mark (as ``--config`` reads it) is not "not JSON at line 1"
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise InputError(f"plan file {str(path)!r} does not exist (write one with `gpucast inference ... "
                         "--output plan.json`)") from error  # fmt: skip
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise InputError(f"plan file {str(path)!r} cannot be read: {error}") from error
    except OSError as error:  # a name past the system's length (ENAMETOOLONG) was a traceback of report and export
        raise InputError(f"plan file {str(path)!r} cannot be read: {error.strerror}") from error
    except ValueError:  # a NUL byte in the path
        raise InputError(f"plan file {str(path)!r} cannot be read: a path cannot hold a NUL byte") from None
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"plan file {str(path)!r} is not JSON: {error.msg} at line {error.lineno}") from error
    except RecursionError:  # nested past the decoder's depth: a RecursionError traceback before
        raise InputError(f"plan file {str(path)!r} is not a gpucast plan: nested too deeply") from None
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
    for key, (shape, said) in _TOP_LEVEL.items():  # optional (older plans lack some); when present, of its shape
        if key in plan and not isinstance(plan[key], shape):
            raise InputError(f"{name}: {key} is {shown(plan[key])}, not {said}; re-run the planning command")
    check_texts(plan, name)
    schemas, required = _section_schemas(kind), _required_fields(kind)
    for section in (*needed, *OPTIONAL_SECTIONS):
        body = plan.get(section)
        if section not in needed and body is None:
            continue
        if not isinstance(body, dict):  # a number for ``cost`` was an AttributeError from the k8s export and report
            raise InputError(f"{name}: {section} is {body!r}, not an object; re-run the planning command")
        _check_values(body, schemas.get(section, {}), f"{name}: {section}")
        _check_present(body, required.get(section, ()), f"{name}: {section}")
    return kind


OPTIONAL_SECTIONS = ("cost", "agent", "speculative", "disaggregation")  # null when the plan has none
# the plan's other top-level fields the report and the k8s export read: a number for `warnings` or `assumptions`, a
# non-text `recommendation` or a non-object `versions` was a TypeError/AttributeError traceback (sweep 2026-12-07)
_TOP_LEVEL: dict[str, tuple[type, str]] = {
    "assumptions": (list, "a list"), "warnings": (list, "a list"), "alternatives": (list, "a list"),
    "explain": (list, "a list"), "recommendation": (str, "text"), "versions": (dict, "an object"),
}  # fmt: skip
# Fields written since the first plan files (tests/golden/plans holds such plans): every reader has a default for
# them, so a plan without them still exports and reports.
_ADDED_LATER = frozenset({
    "expert_parallel", "attention_data_parallel", "context_parallel", "virtual_pipeline_stages",
    "planned_rps_per_replica", "planned_concurrency_per_replica", "capacity_ttft_ms", "capacity_itl_ms",
    "lowest_ttft_ms", "lowest_itl_ms", "ttft_at_slo_percentile_ms", "tpot_at_slo_percentile_ms",
    "capacity_ttft_at_slo_percentile_ms", "capacity_tpot_at_slo_percentile_ms", "max_batched_tokens",
})  # fmt: skip
# ``inputs`` and ``model`` are free-form in the schema: what every exporter and the report read without a default
_READ_INPUTS = {"inference": ("requests_per_second", "avg_input_tokens", "avg_output_tokens", "context_window",
                              "precision"), "training": ()}  # fmt: skip
# Counts a deployment has at least one of: 0 TP was a ZeroDivisionError, 0 replicas an empty Deployment
_AT_LEAST_ONE = frozenset({"tensor_parallel", "pipeline_parallel", "context_window", "recommended_max_replicas",
                           "data_parallel", "micro_batch_size", "gradient_accumulation_steps", "nodes",
                           "gpus_per_node", "required_gpus"})  # fmt: skip


@cache
def _required_fields(kind: str) -> dict[str, tuple[str, ...]]:
    """Each section's fields that must hold a value: what the plan dataclass always writes (not ``Optional``,
    not added later), as the exporters and the report index them; ``cost`` is read with defaults throughout."""
    from ..plans.schema import plan_schema

    found: dict[str, tuple[str, ...]] = {"inputs": _READ_INPUTS[kind], "model": ("name", "total_params_b")}
    for section, schema in plan_schema(kind)["properties"].items():
        schema = schema["anyOf"][0] if "anyOf" in schema else schema
        if section == "cost" or schema.get("type") != "object" or "required" not in schema:
            continue
        props = schema["properties"]  # an ``Optional`` field may hold null but is written all the same
        found[section] = tuple(k + "?" * ("anyOf" in props[k]) for k in schema["required"] if k not in _ADDED_LATER)
    return found


def _check_present(section: dict[str, Any], required: tuple[str, ...], where: str) -> None:
    """A field the readers need, missing or null (a hand-edited or truncated plan), or a count below one, as one
    line rather than a KeyError, TypeError or ZeroDivisionError from whichever exporter reads it first."""
    for name in required:  # "key?": present, null allowed
        key = name.rstrip("?")
        if key not in section or (section[key] is None and not name.endswith("?")):
            state = "missing" if key not in section else "null"
            raise InputError(f"{where}.{key} is {state}; re-run the planning command")
    for key, value in section.items():
        if key in _AT_LEAST_ONE and isinstance(value, (int, float)) and value < 1:
            raise InputError(f"{where}.{key} is {value!r}: it must be at least 1; re-run the planning command")
    params = section.get("total_params_b")
    if isinstance(params, (int, float)) and not 0 < params <= MAX_PARAMS_B:
        raise InputError(f"{where}.total_params_b is {params!r}: it must lie in (0, {MAX_PARAMS_B:g}] billions; "
                         "re-run the planning command")  # fmt: skip
    fraction = section.get("gpu_memory_utilization")
    if isinstance(fraction, (int, float)) and not 0 < fraction <= 1:
        raise InputError(f"{where}.gpu_memory_utilization is {fraction!r}: it must lie in (0, 1]; re-run the "
                         "planning command")  # fmt: skip


_JSON_TYPES: dict[str, tuple[type, ...]] = {"integer": (int,), "number": (int, float), "string": (str,),
                                            "boolean": (bool,), "null": (type(None),)}  # fmt: skip


@cache
def _section_schemas(kind: str) -> dict[str, dict[str, Any]]:
    """Each section's field -> JSON types the plan dataclasses write (``plans.schema``; only scalar fields)."""
    from ..plans.schema import plan_schema

    def types(schema: dict[str, Any]) -> tuple[str, ...]:
        if "anyOf" in schema:
            return tuple(t for option in schema["anyOf"] for t in types(option))
        kinds = schema.get("type", ())
        return (kinds,) if isinstance(kinds, str) else tuple(kinds)

    sections = {name: section["anyOf"][0] if "anyOf" in section else section  # an optional section: its object
                for name, section in plan_schema(kind)["properties"].items()}  # fmt: skip
    found = {name: {key: types(field) for key, field in section.get("properties", {}).items()
                    if set(types(field)) and set(types(field)) <= set(_JSON_TYPES)}
             for name, section in sections.items()}  # fmt: skip
    # ``inputs`` is a free-form dict in the schema: the echoed inputs exporters and the report read
    found["inputs"] = INFERENCE_INPUTS if kind == "inference" else TRAINING_INPUTS
    found["model"] = MODEL_FIELDS  # free-form too: a text total_params_b was a ValueError from `export k8s`
    return found


# parameters (billions) a model section may state: 1e308 overflowed `export k8s`'s start-up time (int(inf))
MAX_PARAMS_B = 1e6


def _check_values(section: dict[str, Any], schema: dict[str, tuple[str, ...]], where: str) -> None:
    """A hand-edited or truncated plan's wrong value (a string for TP, NaN, null replicas) as one line, not a
    traceback from whichever exporter reads it first: gpucast writes finite numbers, non-finite ones as null."""
    for key, value in section.items():
        allowed = schema.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{where}.{key} is {value!r}: a plan holds finite numbers; re-run the planning command")
        if allowed is None:
            continue
        ok = any(isinstance(value, _JSON_TYPES[t]) and not (isinstance(value, bool) and t != "boolean")
                 for t in allowed)  # fmt: skip
        if not ok:
            raise InputError(f"{where}.{key} is {shown(value)}, not {' or '.join(allowed)}; re-run the planning "
                             "command")  # fmt: skip


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
    if is_stand_in(plan):  # planned from --model-size: re-plan from the size, not from a catalog name
        return None
    model = plan.get("model", {})
    name = model.get("id") or model.get("name") or plan["inputs"].get("model")
    return str(name) if name else None


def catalog_model(plan: dict[str, Any]) -> Any:
    """The catalog ModelSpec the plan was made for, or None (a ``--model-size`` stand-in or a custom model)."""
    from ..catalog import loader

    model = plan.get("model", {})
    for key in (model.get("id"), model.get("name")):
        if key:
            try:
                return loader.resolve_model(str(key))
            except (CatalogError, InputError):
                continue
    return None


def is_stand_in(plan: dict[str, Any]) -> bool:
    """True when the plan's model is the representative dense shape ``--model-size`` maps a bare size to: a set
    of numbers, not a checkpoint an engine can load."""
    source = str(plan.get("model", {}).get("source", ""))  # "--model-size 70 mapped to Dense-70B ..." (planning)
    return source.startswith("--model-size") and catalog_model(plan) is None


def _g(value: Any) -> str:
    return f"{float(value):g}" if isinstance(value, (int, float)) else str(value)


def percentile_latencies(plan: dict[str, Any]) -> tuple[str, float, float] | None:
    """(percentile, TTFT ms, per-request TPOT ms) at the planned peak in the statistic the plan's SLOs bound, or
    None where they bound the means (or the plan was written before these fields): what the report's rows, the
    refusal below and the re-check line state."""
    thr, q = plan["throughput"], plan["inputs"].get("slo_percentile", "mean")
    ttft, tpot = thr.get("ttft_at_slo_percentile_ms"), thr.get("tpot_at_slo_percentile_ms")
    if q == "mean" or ttft is None or tpot is None:
        return None
    return str(q), float(ttft), float(tpot)


def latencies_against_slos(plan: dict[str, Any]) -> str:
    """The plan's latencies at its planned peak beside its targets, in the statistic the targets bound: "p99 TTFT
    2,310 ms vs 2000 ms, p99 TPOT 41 ms vs 100 ms" for percentile SLOs (a mean below a p99 target said nothing
    about it), the means for SLOs on the means and for plans written before the percentile fields."""
    thr, inputs = plan["throughput"], plan["inputs"]
    at = percentile_latencies(plan)
    if at is not None:
        q, ttft, tpot = at
        names, values = (f"p{q} TTFT", f"p{q} TPOT"), (ttft, tpot)
    else:
        names = ("TTFT", "ITL")
        values = (float(thr.get("estimated_ttft_ms", 0)), float(thr.get("estimated_itl_ms", 0)))
    return (f"{names[0]} {values[0]:,.0f} ms vs {_g(inputs.get('ttft_slo_ms'))} ms, {names[1]} {values[1]:,.1f} ms "
            f"vs {_g(inputs.get('itl_slo_ms'))} ms")  # fmt: skip


def check_exportable(plan: dict[str, Any]) -> None:
    """Refuse a serving plan that misses its latency SLOs: its numbers (one sequence per replica, dozens of
    replicas, fractional KEDA thresholds) describe no deployment anyone should apply."""
    thr = plan["throughput"]
    if thr.get("meets_latency_sla", True) is False:
        raise InputError(
            f"the plan does not meet its latency SLOs ({latencies_against_slos(plan)}), so gpucast does not export "
            "it: re-plan with a larger GPU, more GPUs per replica or looser SLOs"
        )


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
    from ..inputs.training import TrainingInput, TrainingOptions
    from ..inputs.types import ModelConfig

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
    served_model_flag: str = ""  # the name clients send as `model`
    moe: dict[str, str] = field(default_factory=dict)  # expert-parallel / attention data-parallel flags or keys
    multinode: dict[str, str] = field(default_factory=dict)  # one replica over several nodes
    disaggregation: dict[str, str] = field(default_factory=dict)  # prefill / decode pools and the KV transfer
    limits: dict[str, str] = field(default_factory=dict)  # how the engine applies the sequence and memory limits
    releases: tuple[str, ...] = ()  # every release the table describes, current first


@cache
def _toml(filename: str) -> dict[str, Any]:
    text = resources.files("gpucast.catalog").joinpath(filename).read_text(encoding="utf-8")
    return tomllib.loads(text)


def _engine_entry(key: str, entry: dict[str, Any], releases: tuple[str, ...]) -> EngineFlags:
    known = {f.name for f in fields(EngineFlags)}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise CatalogError(f"engine_flags.toml entry {key!r} has unknown field(s) {', '.join(unknown)}")
    values = dict(entry) | {"command": tuple(entry["command"]), "always": tuple(entry["always"]), "releases": releases}
    try:
        return EngineFlags(id=key, **values)
    except TypeError as error:
        raise CatalogError(f"engine_flags.toml entry {key!r}: {error}") from error


@cache
def load_engine_releases() -> dict[tuple[str, str], EngineFlags]:
    """(engine, version) -> its launch interface: the current release, and each older one as the current entry
    with that release's differences applied (scalars replace; tables such as [speculative] merge key by key)."""
    out = {}
    for key, raw in _toml("engine_flags.toml")["engines"].items():
        entry = {k: v for k, v in raw.items() if k != "releases"}
        older = raw.get("releases", {})
        versions = (str(entry["version"]), *older)
        out[(key, str(entry["version"]))] = _engine_entry(key, entry, versions)
        for version, diff in older.items():
            merged = dict(entry)
            for name, value in diff.items():
                merged[name] = {**entry.get(name, {}), **value} if isinstance(value, dict) else value
            merged["version"] = version
            out[(key, version)] = _engine_entry(key, merged, versions)
    return out


@cache
def load_engine_flags() -> dict[str, EngineFlags]:
    """engine -> the launch interface of its current stable release (the export default)."""
    return {
        engine: flags for (engine, version), flags in load_engine_releases().items() if flags.releases[0] == version
    }


def mtp_models() -> tuple[str, ...]:
    """Catalog ids of models whose checkpoints ship MTP layers (engine_flags.toml ``mtp_models``)."""
    return tuple(_toml("engine_flags.toml").get("mtp_models", ()))


def engine_flags(engine: str, version: str | None = None) -> EngineFlags:
    """The launch interface of ``engine`` (vllm, sglang, trtllm) at ``version`` (default: its current stable
    release); InputError naming the choices otherwise."""
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
    current = table[key]
    if version is None or version == current.version:
        return current
    wanted = version.strip().lstrip("v")
    found = load_engine_releases().get((key, wanted))
    if found is None:
        raise InputError(f"--engine-version {version!r}: gpucast knows {current.name} releases "
                         f"{', '.join(current.releases)} (catalog/engine_flags.toml)")  # fmt: skip
    return found


def k8s_catalog() -> dict[str, Any]:
    """Node labels per cloud and the GPU resource name (catalog/k8s.toml)."""
    return _toml("k8s.toml")
