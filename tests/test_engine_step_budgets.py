"""The engines' default per-step token budgets follow their release and the GPU, as each release's source sets them.

vLLM: ``EngineArgs.get_batch_defaults`` (vllm/engine/arg_utils.py), read in the PyPI wheels 0.9.0-0.34.0; SGLang:
``ServerArgs.__post_init__`` / ``_handle_gpu_memory_settings`` (sglang/srt/server_args.py) and, from 0.5.19,
``sglang/srt/arg_groups/memory_hook.py``, read in the PyPI wheels 0.2.15-0.5.23. Why: the budget sizes vLLM's
profiled activation peak (KV cache) and every engine's prefill chunks (TTFT of long prompts); gpucast stepped vLLM by
8192 on B200/MI300X-class GPUs (16384 since vLLM 0.28) and SGLang by 8192 on every GPU.
"""

from __future__ import annotations

import pytest

from gpucast.catalog import loader
from gpucast.core.engine_era import parse_engine_version
from gpucast.core.engine_releases import (
    for_engine_build,
    for_engine_release,
    replica_memory,
    sglang_chunked_prefill_size,
)
from gpucast.core.memory import MemorySettings


@pytest.mark.parametrize(
    ("gpu", "version", "budget"),
    [
        ("b200", None, 16_384),  # the current release (0.34.0): 179 GiB >= 160 GiB
        ("b200", "0.28.0", 16_384),  # the first release with the top tier
        ("b200", "0.27.1", 8_192),  # two tiers up to 0.27.1: 70 GiB+ but A100
        ("mi300x", "0.34.0", 16_384),  # no name exclusion in the top tier; ROCm's 192 GiB
        ("mi355x", None, 16_384),
        ("b300", "0.30.0", 16_384),
        ("h200", None, 8_192),  # 140 GiB: under 160
        ("a100-80gb", None, 2_048),
        ("b200", "0.8.5", 2_048),  # V1 before 0.9: 2048 on every GPU
    ],
)
def test_vllm_top_tier_from_0_28(gpu, version, budget):
    """vLLM 0.28.0 added a first branch to ``EngineArgs.get_batch_defaults``: ``device_memory >= 160 * GiB_bytes``
    gives the OpenAI server 16384 batched tokens ("for GPUs like B200/B300 with >= 160GB memory, use the largest
    defaults"), max_num_seqs staying 1024; the 0.27.1 wheel has the 70 GiB / A100 tier only
    (vllm/engine/arg_utils.py of the 0.27.1 and 0.28.0 wheels)."""
    engine, spec = loader.resolve_engine("vllm"), loader.resolve_gpu(gpu)
    assert loader.default_max_batched_tokens(engine, version, spec) == budget
    settings = MemorySettings.for_engine(engine, None, loader.large_gpu_rule(engine, version))
    assert replica_memory(settings, spec, 1, 1, 1).max_batched_tokens == budget
    if budget > 2_048:  # the sequence limit of both large tiers
        assert loader.default_max_num_seqs(engine, version, spec) == 1024


def test_vllm_top_tier_is_dropped_for_older_releases_only():
    """``large_gpu_rule`` keeps the 0.9 tier for 0.9-0.27 and drops the whole rule before 0.9 (vllm-project/vllm#17885
    shipped in 0.9.0; the top tier in 0.28.0)."""
    engine = loader.resolve_engine("vllm")
    current, older = loader.large_gpu_rule(engine, None), loader.large_gpu_rule(engine, "0.27.1")
    assert current is not None and current.top_max_batched_tokens == 16_384 and current.top_min_gib == 160.0
    assert older is not None and older.top_max_batched_tokens is None and older.max_batched_tokens == 8_192
    assert loader.large_gpu_rule(engine, "0.8.5") is None


@pytest.mark.parametrize(
    ("label", "budget"),
    [
        ("vLLM (ROCm 6.2 build; version not stated; Aug 2024)", 8_192),  # kv-3/kv-4: a 2024 build
        ("vLLM (version not stated; ROCm, 2024)", 8_192),  # OCI's MI300X blog
        ("vLLM (CI build 9513; version not captured)", 16_384),  # no date: the current release
        ("vLLM 0.27.1 (2026)", 8_192),  # a stated version wins over the year
    ],
)
def test_a_label_dated_before_0_28_runs_without_the_top_tier(label, budget):
    """A row that states no version is read as the current release, unless its label dates the build before the
    top tier's first release (0.28.0, built 2026-08-25): the ROCm blog's Aug 2024 MI300X start-up logs read with
    16384 tokens refitted vLLM's AMD overhead from 2.8 to 1.9 GiB (scripts/fit_runtime_overhead.py)."""
    engine, mi300x = loader.resolve_engine("vllm"), loader.resolve_gpu("mi300x")
    assert loader.default_max_batched_tokens(engine, label, mi300x) == budget


@pytest.mark.parametrize(
    ("version", "budgets"),
    [
        # GPU memory (MiB, nvidia-smi):   T4      L4/4090  RTX 5090  L40S    H100    H200     B200     MI300X
        ((0, 3, 5), (8192, 8192, 8192, 8192, 8192, 8192, 8192, 8192)),  # ServerArgs.chunked_prefill_size = 8192
        ((0, 3, 6), (2048, 2048, 8192, 8192, 8192, 8192, 8192, 8192)),  # gpu_mem < 25000: //= 4
        ((0, 4, 6), (2048, 2048, 8192, 8192, 8192, 8192, 8192, 8192)),
        ((0, 4, 7), (2048, 2048, 8192, 8192, 8192, 8192, 16384, 16384)),  # gpu_mem > 180_000: 16384
        ((0, 4, 8), (2048, 2048, 2048, 8192, 8192, 8192, 16384, 16384)),  # < 35 GiB / < 160 GiB / else
        ((0, 5, 2), (2048, 2048, 2048, 8192, 8192, 8192, 16384, 16384)),
        ((0, 5, 3), (2048, 2048, 2048, 4096, 8192, 8192, 16384, 16384)),  # _handle_gpu_memory_settings: < 60 GiB 4k
        ((0, 5, 19), (2048, 2048, 2048, 4096, 8192, 8192, 16384, 16384)),
        ((0, 5, 20), (2048, 4096, 4096, 4096, 8192, 8192, 16384, 16384)),  # memory_hook.py: 20-35 GiB 4k
        (None, (2048, 4096, 4096, 4096, 8192, 8192, 16384, 16384)),  # the current release (0.5.23)
    ],
)
def test_sglang_chunked_prefill_size_by_release(version, budgets):
    """SGLang's ``chunked_prefill_size`` default by release and GPU memory, as each PyPI wheel sets it
    (sglang/srt/server_args.py 0.2.15-0.5.18; sglang/srt/arg_groups/memory_hook.py 0.5.19-0.5.23)."""
    mib = (15_360, 24_566, 32_604, 46_070, 81_562, 143_770, 183_357, 196_608)
    assert tuple(sglang_chunked_prefill_size(m, version) for m in mib) == budgets


@pytest.mark.parametrize(
    ("gpu", "version", "chunk"),
    [("l40s", None, 4096), ("rtx-4090", None, 4096), ("rtx-4090", "0.5.12", 2048), ("b200", None, 16384),
     ("mi300x", "0.4.6", 8192), ("h100", None, 8192)],
)  # fmt: skip
def test_an_sglang_replica_and_its_export_chunk_by_the_release(gpu, version, chunk):
    """A plan's SGLang replica chunks its prefills by SGLang's default on its GPU at the release asked (the
    ``--engine-version``; none: the current), and the export passes the same ``--chunked-prefill-size``."""
    engine, spec = loader.resolve_engine("sglang"), loader.resolve_gpu(gpu)
    model = loader.resolve_model("llama-3.1-8b")
    parsed = parse_engine_version(version)
    settings = for_engine_release(MemorySettings.for_engine(engine), "sglang", model, parsed, 8192)
    assert replica_memory(settings, spec, 1, 1, 1).max_batched_tokens == chunk
    assert loader.default_max_batched_tokens(engine, version, spec) == chunk
    # a start-up log's build reads the same rule (its version), the fraction rule aside
    built = for_engine_build(MemorySettings.for_engine(engine), "sglang", version=parsed)
    assert replica_memory(built, spec, 1, 1, 1).max_batched_tokens == chunk


def test_other_engines_keep_their_one_budget():
    """TensorRT-LLM's ``--max_num_tokens`` and LMDeploy's budget stay the catalog's on every GPU."""
    for engine_id in ("trtllm", "lmdeploy"):
        engine = loader.resolve_engine(engine_id)
        for gpu in ("l4", "h100", "b200"):
            spec = loader.resolve_gpu(gpu)
            assert loader.default_max_batched_tokens(engine, None, spec) == engine.max_batched_tokens
            assert replica_memory(MemorySettings.for_engine(engine), spec, 1, 1, 1).max_batched_tokens == (
                engine.max_batched_tokens
            )
