"""An engine outside the catalog is validated as today's vLLM: the version in its label is its own, not vLLM's."""

from __future__ import annotations

import csv
from pathlib import Path

from gpucast.validation.inference import validate_file
from gpucast.validation.row_fields import engine_release_label, engine_settings

SOURCE = Path(__file__).resolve().parents[1] / "data/benchmarks/percentiles/zhjunqin_llama3_8b_rtx3090_sharegpt.csv"


def test_the_release_label_is_kept_for_a_catalog_engine_only() -> None:
    assert engine_release_label({"engine": "vLLM 0.4.1"}) == "vLLM 0.4.1"
    assert engine_release_label({"engine": "SGLang v0.5.3.post3 (serve)"}) == "SGLang v0.5.3.post3 (serve)"
    nim_path = "vLLM v0.4.1 (inside NVIDIA NIM 1.0.0, nvcr.io/nim/meta/llama3-8b-instruct:1.0.0)"  # kvl-10
    assert engine_release_label({"engine": nim_path}) == nim_path
    assert engine_release_label({"engine": "NVIDIA NIM for LLMs 1.8.0"}) == "NVIDIA NIM for LLMs 1.8.0"
    assert engine_release_label({"engine": "mlc-llm 0.1.dev1166"}) == ""
    assert engine_release_label({}) == ""


def test_settings_and_release_resolve_a_label_the_same_way() -> None:
    """A "/" in a label ("DeepEP/DeepGEMM") made the whole-label lookup miss SGLang, so engine_settings fell back to
    vLLM while engine_release_label found SGLang by its first word: one row, two engines."""
    label = "SGLang with PD disaggregation + large-scale EP (DeepEP/DeepGEMM/EPLB, two-batch overlap)"  # sglang-41
    assert engine_settings({"engine": label})[0] == "sglang"
    assert engine_release_label({"engine": label}) == label
    assert engine_settings({"engine": "vLLM v0.4.1 (inside NVIDIA NIM 1.0.0, nvcr.io/nim/x:1.0.0)"})[0] == "vllm"
    assert engine_settings({"engine": "TensorRT-LLM 0.17 (trtllm-bench)"})[0] == "trtllm"
    assert engine_settings({"engine": "mlc-llm 0.1.dev1166"})[0] == "vllm"  # outside the catalog: today's vLLM


def _predicted(tmp_path: Path, engine: str) -> float:
    """The loaded mlc-llm TTFT row of the RTX 3090 source (zhj-79, 5 req/s) under another engine label."""
    with SOURCE.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        row = next(r for r in reader if r["id"] == "zhj-79")
        header = reader.fieldnames
    assert header is not None
    path = tmp_path / "one.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerow({**row, "engine": engine})
    (result,) = validate_file(path).rows
    return result.predicted


def test_a_foreign_engine_s_version_is_not_read_as_vllm_s(tmp_path: Path) -> None:
    # mlc-llm 0.1.dev1166 was read as vLLM 0.1: a pre-0.6.4 V0 build (1.0 GiB runtime overhead on NVIDIA, 0.2 GiB
    # for today's vLLM), which moved this row's prediction
    foreign = _predicted(tmp_path, "mlc-llm 0.1.dev1166")
    assert foreign == _predicted(tmp_path, "vLLM")
    assert foreign != _predicted(tmp_path, "vLLM 0.1.0")
