"""The engine build a start-up row states (version, build date, launch settings in its notes), read into the memory
arithmetic of that build (``core.engine_releases.for_engine_build``): how ``gpucast validate`` predicts the KV cache an engine
logged at start-up."""

from __future__ import annotations

import re

from ..core.engine_era import parse_engine_version
from ..core.engine_releases import (
    VLLM_V1_DEFAULT_FROM,
    for_engine_build,
    for_engine_release,
    vllm_v0_unchunked,
)
from ..core.memory import MemorySettings
from ..core.specs import ModelSpec

# a memory fraction stated in a row's notes (``kv_fraction 0.95``, ``mem_frac 0.88``, ``gpu_memory_utilization 0.9``)
MEMORY_FRACTION = re.compile(
    r"(?:kv_fraction|kv_cache_free_gpu_mem_fraction|mem_frac(?:tion_static)?|gpu_memory_utilization)\s*[=:]?\s*(0?\.\d+)"
)
_GENERATION = re.compile(r"\bV([01])\b")
_BUILD_DATE = re.compile(r"\b(20\d\d-\d\d-\d\d)\b")
_STATED_YEAR = re.compile(r"\b(20\d\d)\b")  # a year a label dates its build by ("Aug 2024")
_MAX_MODEL_LEN = re.compile(r"max_model_len[^0-9]{0,20}(\d+)")


def build_settings(
    row: dict[str, str],
    engine_id: str,
    memory: MemorySettings,
    *,
    mla: bool = False,
) -> MemorySettings:
    """``memory`` with the arithmetic of the engine build a start-up row states (core.engine_releases.for_engine_build):
    a version in the engine column ("vLLM v0.2.7"; "V1" alone = the first V1 default, 0.8), a build date
    (YYYY-MM-DD; "PR 11309" for a branch carrying SGLang's indexer sizing), ``max_model_len`` from the notes, and
    the rule of SGLang's default fraction where the notes state none (resolved per replica:
    ``core.engine_releases.replica_memory``); ``mla``: the row's model is
    an MLA model (its V0 profiling budget, core.engine_releases.for_engine_release)."""
    engine = row.get("engine", "")
    version = parse_engine_version(engine)
    if version is None and (generation := _GENERATION.search(engine)) and generation.group(1) == "1":
        version = VLLM_V1_DEFAULT_FROM
    date = _BUILD_DATE.search(engine)
    length = _MAX_MODEL_LEN.search(row.get("notes", ""))
    return for_engine_build(
        memory,
        engine_id,
        version=version,
        build_date=date.group(1) if date else (_label_date(engine) if engine_id == "vllm" else None),
        includes_indexer_sizing="PR 11309" in engine,
        max_model_len=int(length.group(1)) if length else None,
        mla=mla,
    )


def _label_date(label: str) -> str | None:
    """The date a label that states no version dates its build by: a YYYY-MM-DD, else the last day of a stated
    year ("vLLM (ROCm 6.2 build; version not stated; Aug 2024)" -> 2024-12-31), else None (the current release). Why:
    read as the current vLLM, the ROCm blog's 2024 MI300X logs (kv-3, kv-4) would be charged 0.34's CUDA graphs and
    measured sizing, which that build did not have (``core.engine_releases.vllm_release_memory``)."""
    if parse_engine_version(label) is not None:
        return None
    if date := _BUILD_DATE.search(label):
        return date.group(1)
    year = _STATED_YEAR.search(label)
    return f"{year.group(1)}-12-31" if year else None


def _launch_length(row: dict[str, str], model: ModelSpec) -> int:
    """The ``max_model_len`` a row's notes state, else the model's context (vLLM's default)."""
    length = _MAX_MODEL_LEN.search(row.get("notes", ""))
    return int(length.group(1)) if length else model.max_context


def release_settings(row: dict[str, str], engine_id: str, memory: MemorySettings, model: ModelSpec) -> MemorySettings:
    """``memory`` with the profiling budget of the release a serving row's engine label states
    (``core.engine_releases.for_engine_release``); ``max_model_len`` from the notes, else the model's context."""
    label = row.get("engine", "")
    version = parse_engine_version(label)
    date = _label_date(label) if engine_id == "vllm" else None
    return for_engine_release(memory, engine_id, model, version, _launch_length(row, model), date)


def unchunked_window(row: dict[str, str], engine_id: str, model: ModelSpec) -> int | None:
    """The ``max_model_len`` a serving row's release launches without chunked prefill (a V0 vLLM:
    ``core.engine_releases.vllm_v0_unchunked``), which its profiling pass covers; None where it chunks."""
    version = parse_engine_version(row.get("engine", ""))
    length = _launch_length(row, model)
    if engine_id != "vllm" or version is None or not vllm_v0_unchunked(version, length, mla=model.is_mla):
        return None
    return length
