"""What current engine releases charge against the memory fraction, with hand-checked numbers: vLLM's CUDA graphs
inside the fraction from 0.20, its 0.92 default, 0.34's measured (extensible) KV sizing, SGLang's prefill-graph
reserve from 0.5.10 and its 20-35 GiB tier from 0.5.20 (core.cuda_graphs, core.engine_releases,
core.sglang_fraction), and the export of a plan that relies on vLLM 0.34's own default."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import gpucast_exe
from gpucast.catalog import loader
from gpucast.core.cuda_graphs import extensible_margin, vllm_capture_sizes, vllm_graph_count
from gpucast.core.engine_releases import replica_memory
from gpucast.core.memory import estimate_memory
from gpucast.core.sglang_fraction import (
    SGLANG_HEURISTIC,
    SGLANG_PREFILL_GRAPHS,
    sglang_default_mem_fraction,
    sglang_prefill_graph_sizes,
)
from gpucast.core.specs import GIB, Precision
from gpucast.export.engine_args import LaunchOptions, launch_for
from gpucast.planning.request import release_memory

H100_MIB = 81_559  # nvidia-smi memory.total of an H100 SXM


def test_vllm_default_capture_sizes_match_the_logged_graph_counts():
    """ "PIECEWISE=51 (largest=512), FULL=35 (largest=256)" at 256 sequences; "PIECEWISE=35 (largest=256), FULL=19
    (largest=128)" at 128 (vLLM 0.22.0's log); 51 + 51 at the 1024 sequences of a large GPU."""
    sizes = vllm_capture_sizes(256, 2048)
    assert len(sizes) == 51 and sizes[:4] == [1, 2, 4, 8] and sizes[-1] == 512
    assert vllm_graph_count(256, 2048) == 86
    assert vllm_graph_count(128, 2048) == 54 and max(vllm_capture_sizes(128, 2048)) == 256
    assert vllm_graph_count(1024, 8192) == 102
    assert vllm_graph_count(256, 256) == 35 + 35  # the step budget caps the largest capture size


def test_extensible_margin_floor_and_share():
    """max(1 GiB, 0.75 x the transient peak) on CUDA, a 3 GiB floor on ROCm (KV_CACHE_MARGIN_FLOOR_BYTES)."""
    assert extensible_margin(0.5 * GIB, "nvidia") == 1 * GIB
    assert extensible_margin(4 * GIB, "nvidia") == 3 * GIB
    assert extensible_margin(2 * GIB, "amd") == 3 * GIB


def _kv(version: str | None, fraction: float | None = None):
    """Llama-3.1-70B FP8 at TP2 on an H100 (FP8 KV), the replica's memory at ``version``."""
    model, gpu = loader.resolve_model("llama-3.1-70b"), loader.resolve_gpu("h100")
    settings = release_memory(loader.resolve_engine("vllm"), fraction, version, model, 8192)
    settings = replica_memory(settings, gpu, 2, 1, 1)
    memory = estimate_memory(model, gpu, precision=Precision.FP8, kv_precision=Precision.FP8, tp=2, settings=settings)
    return settings, memory


def test_llama_70b_fp8_tp2_h100_kv_at_019_020_034():
    """By hand (GiB per GPU; the H100 reports 79.65 GiB): weights 33.83, activation peak 8192 x (3 x 8192 + 3 x
    28,672 / 2) x 2 B + 256 x 128,256 x 4 / 2 B = 1.092, non-torch 0.2, graphs 102 x 7.6 MiB = 0.757.

    - 0.19: 0.9 x 79.65 - 33.83 - 1.092 - 0.2 = 36.56 (graphs outside the fraction);
    - 0.20: 0.92 x 79.65 - 33.83 - 1.092 - 0.2 - 0.757 = 37.40;
    - 0.34: 79.65 - 0.5 in use at start - max(1, 0.75 x 1.092) - 33.83 - 1.092 - 0.2 - 0.757 = 42.27.
    At 81,920 B a token per GPU (80 layers x 8 KV heads x 128 x 2 x 1 B / 2): 479k, 490k and 554k tokens."""
    total = loader.resolve_gpu("h100").cuda_memory_bytes / GIB
    s19, m19 = _kv("0.19.1")
    s20, m20 = _kv("0.20.0")
    s34, m34 = _kv("0.34.0")
    assert (s19.gpu_memory_utilization, s20.gpu_memory_utilization, s34.gpu_memory_utilization) == (0.9, 0.92, 1.0)
    assert total == pytest.approx(79.65, abs=0.01)
    assert m19.weights_gib == pytest.approx(33.83, abs=0.01) and m19.activations_gib == pytest.approx(1.092, abs=0.001)
    assert m19.cuda_graph_gib == 0 and m20.cuda_graph_gib == m34.cuda_graph_gib == pytest.approx(102 * 7.6 / 1024)
    assert (
        m19.kv_cache_gib == pytest.approx(0.9 * total - 33.83 - 1.092 - 0.2, abs=0.01) == pytest.approx(36.56, abs=0.01)
    )
    assert m20.kv_cache_gib == pytest.approx(m19.kv_cache_gib + 0.02 * total - 0.757, abs=0.001)
    assert m34.kv_cache_gib == pytest.approx(m19.kv_cache_gib + 0.1 * total - 0.5 - 1.0 - 0.757, abs=0.001)
    assert m34.kv_cache_gib == pytest.approx(42.27, abs=0.01)
    assert m19.kv_bytes_per_token_per_gpu == 81_920
    assert [m.kv_capacity_tokens // 1000 for m in (m19, m20, m34)] == [479, 490, 554]
    assert _kv(None)[1] == m34  # the current release is 0.34 (catalog/engine_flags.toml)


def test_a_given_fraction_is_kept_and_charges_the_graphs():
    """--gpu-memory-utilization 0.9 stays 0.9 at every release; from 0.20 the graphs come out of it, and 0.34's
    measured sizing (capped at 79.65 - 0.5 - 1 GiB) does not bind below that."""
    s19, m19 = _kv("0.19.1", 0.9)
    s34, m34 = _kv("0.34.0", 0.9)
    assert s19.gpu_memory_utilization == s34.gpu_memory_utilization == 0.9
    assert m34.kv_cache_gib == pytest.approx(m19.kv_cache_gib - 102 * 7.6 / 1024)
    assert _kv("0.20.0", 0.9)[1].kv_cache_gib == pytest.approx(m34.kv_cache_gib)


def test_sglang_prefill_graph_sizes():
    """Every 4 to 32 (8), 16 to 256 (14), 32 to 512 (8), 64 to 1024 (8), 256 to 4096 (12), then 512 apart."""
    assert len(sglang_prefill_graph_sizes(2048)) == 42
    assert len(sglang_prefill_graph_sizes(4096)) == 50
    assert len(sglang_prefill_graph_sizes(8192)) == 58
    assert len(sglang_prefill_graph_sizes(16384)) == 74


def test_sglang_fraction_by_release():
    """H100 (81,559 MiB) at TP1: 13,440 MiB reserved before 0.5.10 (0.835), + 58 x 8 = 464 for the prefill graphs
    (0.830); an MLA model at TP8: 14,848 + 1,536 = 16,384 (0.799, was 0.818); DP attention turns the prefill graphs
    off (B200 0.751 unchanged); an RTX 4090 (24,564 MiB) at TP1: 3,760 (0.847) -> 3,760 + 42 x 8 = 4,096 (0.833) ->
    from 0.5.20 512 + 1.5 x 4096 + 2 x 48 + 128 + 50 x 8 = 7,280 (0.704)."""
    assert sglang_default_mem_fraction(H100_MIB, tp=1, rule=SGLANG_HEURISTIC) == 0.835
    assert sglang_default_mem_fraction(H100_MIB, tp=1, rule=SGLANG_PREFILL_GRAPHS) == round(
        (H100_MIB - 13_904) / H100_MIB, 3
    )
    assert sglang_default_mem_fraction(H100_MIB, tp=8, rule=SGLANG_HEURISTIC, mla=True) == 0.818
    assert sglang_default_mem_fraction(H100_MIB, tp=8, mla=True) == round((H100_MIB - 16_384) / H100_MIB, 3) == 0.799
    assert sglang_default_mem_fraction(183_359, tp=8, dp=8, dp_attention=True) == 0.751
    assert sglang_default_mem_fraction(H100_MIB, tp=8, pp=2) == sglang_default_mem_fraction(
        H100_MIB, tp=8, pp=2, rule=SGLANG_HEURISTIC
    )  # no prefill graphs with pipeline parallelism
    assert sglang_default_mem_fraction(H100_MIB, tp=1, amd=True) == 0.835  # nor on ROCm
    assert sglang_default_mem_fraction(24_564, tp=1, rule=SGLANG_HEURISTIC) == round((24_564 - 3_760) / 24_564, 3)
    assert sglang_default_mem_fraction(24_564, tp=1, rule=SGLANG_PREFILL_GRAPHS) == round((24_564 - 4_096) / 24_564, 3)
    assert sglang_default_mem_fraction(24_564, tp=1) == round((24_564 - 7_280) / 24_564, 3) == 0.704


def _plan(tmp_path: Path, *flags: str) -> dict[str, Any]:
    """A plan file made by the CLI for Llama-3.1-8B on an H100."""
    path = tmp_path / f"plan{len(flags)}.json"
    command = ["inference", "--model", "llama-3.1-8b", "--rps", "2", "--input-tokens", "1000", "--output-tokens",
               "200", "--gpu-type", "H100", *flags, "--output", str(path)]  # fmt: skip
    subprocess.run([*gpucast_exe(), *command], check=True, capture_output=True, text=True, timeout=300)
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _fraction_flag(argv: list[str]) -> str | None:
    return argv[argv.index("--gpu-memory-utilization") + 1] if "--gpu-memory-utilization" in argv else None


def test_export_leaves_vllm_034s_own_sizing_unset(tmp_path: Path):
    """A plan at the current vLLM without a fraction relied on 0.34's measured sizing (1.0): the launch leaves the
    flag unset, as the plan assumed; an older release warns; a given fraction is stated as before."""
    plan = _plan(tmp_path)
    assert plan["inputs"]["gpu_memory_utilization"] == 1.0
    launch = launch_for(plan, "vllm")
    assert _fraction_flag(launch.argv) is None and any("left unset" in note for note in launch.notes)
    old = launch_for(plan, "vllm", LaunchOptions(version="0.10.2"))
    assert _fraction_flag(old.argv) is None and any("re-plan" in warning for warning in old.warnings)
    assert _fraction_flag(launch_for(_plan(tmp_path, "--gpu-memory-utilization", "0.9"), "vllm").argv) == "0.9"
    assert (
        _fraction_flag(launch_for(_plan(tmp_path, "--engine-version", "0.19.1", "--engine", "vllm"), "vllm").argv)
        == "0.9"
    )
