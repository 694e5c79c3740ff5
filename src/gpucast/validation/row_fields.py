"""What a calibration row's columns and notes say about its deployment: precisions, the engine's memory settings
and prefill budget, the run's request count and token lengths.

Shared by the estimate's validation (``inference``) and the plan-level validation (``plans``), so that both read
a row the same way.
"""

from __future__ import annotations

import contextlib
import re

from ..catalog.loader import large_gpu_rule, resolve_engine
from ..core.memory import MemorySettings
from ..core.specs import EngineSpec, Precision
from ..errors import InputError
from .builds import MEMORY_FRACTION


def row_precision(text: str) -> Precision | None:
    key = text.strip().rstrip("?").upper()
    if key.startswith("INT4"):
        return Precision.INT4
    return Precision.__members__.get(key)


def _catalog_engine(label: str) -> EngineSpec | None:
    """The catalog engine a row's label names: the whole label ("NVIDIA NIM for LLMs 1.8.0"), else its first word,
    since a label may go on to name another product or a path ("vLLM v0.4.1 (inside NVIDIA NIM 1.0.0,
    nvcr.io/nim/...)", "SGLang with PD disaggregation + large-scale EP (DeepEP/DeepGEMM/EPLB)"), whose "/" defeats
    the whole-label lookup (``normalize_name`` keeps what follows the last "/"); None for an engine outside the
    catalog. One resolution for the engine's settings and its release, so that a row is never fitted as one engine
    and dated as another."""
    for name in (label, *label.split()[:1]):
        with contextlib.suppress(InputError):
            return resolve_engine(name)
    return None


def engine_settings(row: dict[str, str]) -> tuple[str, MemorySettings, int]:
    """(engine id, memory settings, max sequences) for a row's engine; the notes may state the
    memory fraction (``kv_fraction 0.95``, ``mem_frac 0.88``). Engines not in the catalog
    (llm-awq, mlc-llm, TGI...) are treated like vLLM."""
    engine = _catalog_engine(row["engine"]) or resolve_engine("vllm")
    match = MEMORY_FRACTION.search(row.get("notes", ""))
    fraction = float(match.group(1)) if match else None
    # the step budget of the release the label states on the row's GPU (vLLM 0.9+: 8192 on 70 GiB+ GPUs but A100s,
    # 2048 elsewhere); a row stating none is read as the current release, which gives every fitted row the 8192 it
    # was fitted at (they ran on such GPUs)
    large_gpu = large_gpu_rule(engine, engine_release_label(row) or None)
    return engine.id, MemorySettings.for_engine(engine, fraction, large_gpu), engine.max_num_seqs


def engine_release_label(row: dict[str, str]) -> str:
    """The row's engine label where it names a catalog engine, whose release it then states ("vLLM 0.7.3"); "" for
    an engine outside the catalog, validated as vLLM at its current release (``engine_settings``). Why: the version
    in "mlc-llm 0.1.dev1166" is mlc-llm's, and read as vLLM's it made those rows a 2023 V0 vLLM (pre-0.6.4 memory
    arithmetic, unchunked prefill, early kernels)."""
    label = row.get("engine", "")
    return label if _catalog_engine(label) else ""


_CHUNK = re.compile(r"(?:--chunked-prefill-size|--max-num-batched-tokens|max_num_tokens)[ =:]+(\d+)")


def chunk_tokens(row: dict[str, str]) -> int | None:
    """The engine's prefill token budget per pass, where the notes give the launch flag."""
    match = _CHUNK.search(row.get("notes", ""))
    tokens = int(match.group(1)) if match else 0
    return tokens if tokens > 0 else None


IN_PROCESS = "server=in-process"


def in_process(row: dict[str, str]) -> bool:
    """The benchmark drove the engine in-process (an ``AsyncLLMEngine`` loop, no OpenAI HTTP server): the notes say
    ``server=in-process``. Its TTFT then has no server front end (core.perf.Efficiency.frontend_s, "0 = in-process")."""
    return IN_PROCESS in row.get("notes", "")


_REQUEST_COUNT = re.compile(r"(\d+)\s+(?:requests|prompts)\b")


def request_count(row: dict[str, str]) -> int | None:
    """Requests in the whole benchmark run, where the notes state it: no more can be in flight."""
    match = _REQUEST_COUNT.search(row.get("notes", ""))
    return int(match.group(1)) if match else None


def row_kv_precision(row: dict[str, str], precision: Precision, engine: EngineSpec) -> Precision | None:
    """The row's KV dtype; unstated: the engine's default for the weights (FP8 KV with FP8 weights on
    TensorRT-LLM and NIM, as the calibration README states for trtllm-bench), else FP16 unless BF16."""
    text = row["kv_precision"].strip()
    if text:
        return row_precision(text)
    if precision is Precision.FP8 and engine.fp8_kv_with_fp8_weights:
        return Precision.FP8
    return Precision.BF16 if precision is Precision.BF16 else Precision.FP16


_MEAN_LENGTH = re.compile(r"mean\s+(input|output)[^0-9]{0,20}(\d+(?:\.\d+)?)", re.IGNORECASE)


def token_lengths(row: dict[str, str]) -> tuple[float, float] | None:
    """Numeric (input, output) lengths, or the means the notes state for dataset mixes."""
    lengths: dict[str, float] = {}
    for key in ("input", "output"):
        text = row[f"{key}_tokens"].strip()
        with contextlib.suppress(ValueError):  # e.g. "ShareGPT (variable)"
            lengths[key] = float(text)
    for kind, number in _MEAN_LENGTH.findall(row.get("notes", "")):
        lengths.setdefault(kind.lower(), float(number))
    if "input" not in lengths or "output" not in lengths:
        return None
    return lengths["input"], lengths["output"]
