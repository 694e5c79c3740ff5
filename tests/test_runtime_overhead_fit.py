"""scripts/fit_runtime_overhead.py: the per-row solve on a hand-checked start-up log, and engines.toml matching the fit."""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path

import pytest

from conftest import load_script
from gpucast.catalog.loader import load_engines, resolve_gpu, resolve_model
from gpucast.core.memory import MemorySettings, estimate_memory
from gpucast.core.specs import GIB, Precision

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fit_runtime_overhead.py"


@pytest.fixture(scope="module")
def fit_script():
    return load_script(SCRIPT, "gpucast_fit_runtime_overhead")


def test_engines_toml_matches_the_fit(fit_script, capsys):
    assert fit_script.main(["--check"]) == 0, capsys.readouterr().err


def test_llama3_8b_on_mi300x_start_up_log_hand_checked(fit_script):
    """ROCm blog (data/benchmarks/README.md, row kv-4): vLLM, Llama-3-8B BF16 on one MI300X at the default
    gpu_memory_utilization 0.9 logs 78,897 blocks x 16 = 1,262,352 KV tokens (an Aug 2024 build: the 8192-token
    budget, not vLLM 0.28's 16384 on 160 GiB GPUs).
    KV per token = 2 (K, V) x 32 layers x 8 KV heads x 128 head dim x 2 bytes = 131,072 B = 128 KiB,
    so the cache is 1,262,352 x 128 KiB = 154.096 GiB. Weights: 8,030,261,248 parameters (Hugging Face count) x 2 B
    = 14.958 GiB. Activation peak (core.memory.activation_peak_bytes): 8192 tokens x (3 x 4096 + 3 x 14336) x 2 B
    + 256 x 128,256 x 4 B of logits = 1,037,303,808 B = 0.966 GiB. Overhead = 0.9 x 192 GiB - 14.958 - 0.966
    - 154.096 = 2.780 GiB."""
    kv_gib = 1_262_352 * 2 * 32 * 8 * 128 * 2 / GIB
    weights_gib = 8_030_261_248 * 2 / GIB
    activations_gib = (8192 * (3 * 4096 + 3 * 14336) * 2 + 256 * 128_256 * 4) / GIB
    expected = 0.9 * 192.0 - weights_gib - activations_gib - kv_gib
    assert expected == pytest.approx(2.780, abs=1e-3)
    row = {
        "id": "kv-4", "engine": "vLLM (ROCm 6.2 build; version not stated; Aug 2024)", "model": "Llama-3-8B", "gpu": "MI300X", "tp": "1", "pp": "1",
        "precision": "BF16", "kv_precision": "BF16", "value": "1262352", "notes": "",
    }  # fmt: skip
    fit = fit_script.fit_row(row)
    assert fit.engine == "vllm" and fit.memory_mode == "total"
    assert fit.kv_logged_gib == pytest.approx(kv_gib)
    assert fit.weights_gib == pytest.approx(weights_gib, rel=1e-6)
    assert fit.activations_gib == pytest.approx(activations_gib)
    assert fit.overhead_gib == pytest.approx(expected, rel=1e-6)
    # FP8 KV (row kv-3) holds twice the tokens in the same memory: the same deployment, the same overhead
    fp8 = fit_script.fit_row(row | {"id": "kv-3", "kv_precision": "FP8", "value": "2524704"})
    assert fp8.overhead_gib == pytest.approx(fit.overhead_gib)


@pytest.mark.parametrize("engine", sorted(load_engines()))
def test_solved_overhead_reproduces_the_logged_cache(fit_script, engine):
    """The solve inverts estimate_memory under every memory policy ("total", "static", "free")."""
    model, gpu = resolve_model("llama-3.1-70b"), resolve_gpu("h100")
    settings = MemorySettings.for_engine(load_engines()[engine])
    kwargs = {"precision": Precision.FP8, "kv_precision": Precision.FP8, "tp": 4, "pp": 1}
    logged = 500_000
    overhead = fit_script.solve_overhead_gib(model, gpu, settings=settings, kv_tokens=logged, **kwargs)
    again = estimate_memory(
        model,
        gpu,
        settings=dataclasses.replace(settings, runtime_overhead_gib=overhead, runtime_overhead_by_vendor=()),
        **kwargs,
    ).kv_capacity_tokens
    assert again == pytest.approx(logged, abs=1)


def test_excluded_rows_are_reported_not_fitted(fit_script):
    rows = [fit_script.fit_row(r) for r in fit_script.startup_rows(fit_script.DEFAULT_DATA)]
    excluded = [r for r in rows if r.excluded]
    assert [r.row_id for r in excluded] == ["kv-1"]
    fitted = fit_script.fit(rows)
    vllm_rows = [r.overhead_gib for r in rows if r.engine == "vllm" and not r.excluded]
    assert fitted["vllm"] == pytest.approx(statistics.median(vllm_rows))


def test_rows_whose_build_charges_non_torch_memory_are_not_fitted(fit_script):
    """vLLM 0.6.4+ and V1 charge the logged non-torch memory instead of the fitted overhead: such a row is
    reported, not fitted into the engine's overhead (which stands for the older profilers' device-wide charge)."""
    row = {
        "id": "x", "engine": "vLLM v0.6.4", "model": "Llama-3-8B", "gpu": "MI300X", "tp": "1", "pp": "1",
        "precision": "BF16", "kv_precision": "BF16", "value": "1262352", "notes": "",
    }  # fmt: skip
    assert fit_script.fit_row(row).excluded == fit_script.BUILD_EXCLUDED
    assert not fit_script.fit_row(row | {"engine": "vLLM v0.6.3"}).excluded


def test_vllm_v0_overhead_is_fitted_per_gpu_vendor(fit_script):
    """vLLM builds before 0.6.4: the CUDA start-up logs (kv_capacity_logs.csv) and the ROCm ones (kv_capacity.csv)
    are fitted apart, each vendor's median; the logs file's SGLang rows and its 0.6.4 rows are not fitted, nor its
    bug-report row (kvl-7) or the AWQ allocator outlier (kvl-1). By hand, the CUDA rows' implied overheads:
    RTX 3090 0.9 x 23.58 - 14.958 - 0.966 - 2354 x 16 x 128 KiB (4.598) = 0.700 GiB, and 0.62 (RTX 4090 TP2),
    1.42 (RTX 6000 Ada), 1.38 (L4): median (0.70 + 1.38) / 2 = 1.04 -> 1.0 GiB."""
    rows = [fit_script.fit_row(r) for r in fit_script.startup_rows(fit_script.DEFAULT_DATA)]
    logs = [fit_script.fit_row(r, from_logs=True) for r in fit_script.log_rows()]
    assert {r.engine for r in logs} == {"vllm"}
    assert {r.row_id for r in logs if r.excluded} == {"kvl-1", "kvl-4", "kvl-5", "kvl-7"}
    rtx3090 = next(r for r in logs if r.row_id == "kvl-9")
    by_hand = 0.9 * 23.58 - 8_030_261_248 * 2 / GIB - 1_037_303_808 / GIB - 2354 * 16 * 131_072 / GIB
    assert rtx3090.vendor == "nvidia"
    assert rtx3090.overhead_gib == pytest.approx(by_hand) == pytest.approx(0.700, abs=1e-3)
    by_vendor = fit_script.fit_by_vendor(rows + logs)
    cuda = [r.overhead_gib for r in logs if not r.excluded]
    assert len(cuda) == 4 and by_vendor["vllm"]["nvidia"] == pytest.approx(statistics.median(cuda))
    assert {vendor: fit_script.rounded(value) for vendor, value in by_vendor["vllm"].items()} == {
        "nvidia": 1.0,
        "amd": 2.8,
    }
    assert set(by_vendor) == {"vllm"}  # SGLang's rows are all on NVIDIA GPUs: one value
    assert fit_script.fit(rows + logs) == fit_script.fit(rows)  # the logs do not move an engine's one value
