"""The memory arithmetic of engine releases: what a given vLLM or SGLang build charges besides weights and
activations, and which token budget its profiling pass covers.

:mod:`gpucast.core.memory` sizes the KV cache from :class:`~gpucast.core.memory.MemorySettings`; this module turns
an engine's release (a plan's ``--engine-version``, a measurement's engine label, a start-up log's build) into
those settings. Each rule cites the engine source or log it follows. Split from ``core.memory`` so that each module
keeps one job: memory formulas there, engine-release history here.
"""

from __future__ import annotations

import dataclasses

from .memory import MemorySettings
from .specs import ModelSpec

VLLM_V1_DEFAULT_FROM = (0, 8, 0)  # vLLM 0.8.0 made the V1 engine the default (always chunked prefill)
VLLM_ALLOCATED_PEAK_FROM = (0, 6, 4)  # the profiler charges the allocated peak + non-torch memory from 0.6.4 on
VLLM_V0_MIN_BATCHED_TOKENS = 2048  # V0 SchedulerConfig: max_num_batched_tokens = max(max_model_len, 2048)
VLLM_V0_CHUNKED_ABOVE = 32_768  # V0 (0.5+) turns chunked prefill on by default for longer max_model_len
# The step budget of a V0 release running chunked prefill. V0's own default moved between releases (512 in
# SchedulerConfig early on, DEFAULT_MAX_NUM_BATCHED_TOKENS = 2048 later) and is not modelled per release: such rows
# (dstack's vLLM 0.6 Llama-3.1-405B runs) keep the 8192 tokens they were fitted at.
VLLM_V0_CHUNKED_BUDGET = 8192
# Non-torch memory vLLM's profiler charges from 0.6.4 on (CUDA context, cuBLAS/NCCL workspaces), as logged:
# 0.11 GiB (A100, TP1, V1; github.com/ovg-project/kvcached pull 448), 0.20 GiB (24 GB cards, TP4, 0.8;
# vllm-project/vllm pull 14447), 1.79 GiB (H100, TP1, 0.6.5; vllm-project/vllm pull 10511): the median.
VLLM_NON_TORCH_GIB = 0.2
SGLANG_INDEXER_SIZING_FROM = "2025-10-09"  # sgl-project/sglang PR 11309 merged: pool sizing counts the DSA indexer
SGLANG_RESERVED_HEURISTIC_FROM = "2025-09-27"  # sgl-project/sglang PR 10975 (opened 2025-09-27): default fraction


def sglang_default_mem_fraction(
    gpu_mem_mib: float, *, tp: int, pp: int = 1, dp: int = 1, dp_attention: bool = False
) -> float:
    """SGLang's ``mem_fraction_static`` when the launch does not set it, from PR 10975 on
    (``server_args._handle_gpu_memory_settings``, "Use more general heuristics to set the default value of
    --mem-fraction-static", 2025-09-27): the GPU's memory (MiB, as nvidia-smi reports it) picks the chunked-prefill
    size and the largest CUDA-graph batch, which reserve ``512 + 1.5 x max(chunk, 2048) + 2 x graph_bs +
    1024 x tp x pp / 8`` MiB, plus ``3 x graph_bs x dp`` with DP attention (and ``1.5 x graph_bs x dp`` more above
    300), at least 10 GiB on GPUs over 60 GiB; the fraction is the rest, rounded to 3 decimals. B200 (183,359 MiB)
    at TP8 with 8-way DP attention: 45,568 MiB reserved, 0.751."""
    gib = 1024
    if gpu_mem_mib < 20 * gib:
        chunk, graph_bs = 2048, 8
    elif gpu_mem_mib < 35 * gib:
        chunk, graph_bs = 2048, (24 if tp < 4 else 80)
    elif gpu_mem_mib < 60 * gib:
        chunk, graph_bs = 4096, (32 if tp < 4 else 160)
    elif gpu_mem_mib < 160 * gib:  # H100, A100-80GB (< 90 GiB); H20, H200: the same settings
        chunk, graph_bs = 8192, (256 if tp < 4 else 512)
    else:  # B200, MI300X
        chunk, graph_bs = 16384, 512
    reserved = 512 + max(chunk, 2048) * 1.5 + graph_bs * 2 + tp * pp / 8 * 1024
    if dp_attention:
        reserved += graph_bs * dp * 3 + (graph_bs * dp * 1.5 if graph_bs > 300 else 0.0)
    if gpu_mem_mib > 60 * gib:
        reserved = max(reserved, 10 * gib)
    return round((gpu_mem_mib - reserved) / gpu_mem_mib, 3)


def vllm_v0_unchunked(version: tuple[int, int, int], max_model_len: int, *, mla: bool) -> bool:
    """Whether a vLLM release runs without chunked prefill by default, so that its profiling pass (and its
    prefill-only steps) cover ``max(max_model_len, 2048)`` tokens (``SchedulerConfig``).

    Only V0 (before 0.8, :data:`VLLM_V1_DEFAULT_FROM`) can: before 0.5 always, from 0.5 on for a ``max_model_len``
    up to 32,768 (longer contexts turn chunked prefill on, ``EngineArgs``), and always for an MLA model
    (DeepSeek-V2/V3/R1): 0.7.1-0.7.3 force it off ("MLA is enabled; forcing chunked prefill and prefix caching
    to be disabled", ``VllmConfig``, in the v0.7.1 and v0.7.3 start-up logs quoted in vllm-project/vllm-ascend
    issue threads and vllm-project/vllm#13374), later V0 builds on ROCm likewise ("MLA is enabled on a non-cuda
    platform; ...", v0.7.4.dev4 on 8 x MI300X, ROCm/vllm#457) and V0 on CUDA leaves it off unless asked for
    ("Chunked prefill not supported for Multimodal or MLA in V0", ``EngineArgs._set_default_args_v0``, vLLM
    0.8-0.9; vllm-project/vllm#12639 made it possible on CUDA in V0 without making it the default)."""
    if version >= VLLM_V1_DEFAULT_FROM:
        return False
    return mla or version < (0, 5, 0) or max_model_len <= VLLM_V0_CHUNKED_ABOVE


def for_engine_release(
    settings: MemorySettings, engine: str, model: ModelSpec, version: tuple[int, int, int] | None, max_model_len: int
) -> MemorySettings:
    """The profiling token budget of the vLLM release a serving question names (``--engine-version``, a
    measurement's engine label), where it differs from the engine's default budget: a V0 release without
    chunked prefill (:func:`vllm_v0_unchunked`) profiles one forward pass over ``max(max_model_len, 2048)``
    tokens, and that activation peak is taken from the KV cache. DeepSeek-R1 (an MLA model, 163,840-token
    context) on vLLM 0.7 at TP8 profiles 163,840 tokens: about 26 GiB of activations per GPU instead of 1.3,
    which on a 141 GB H200 halves the KV cache (about 290k tokens instead of 670k). ``max_model_len``: as
    launched, else the model's context (vLLM's default). What the release's profiler charges besides the
    allocated peak follows it too: from 0.6.4 on, and on the current release (``version`` None: V1), only the
    non-torch memory (:data:`VLLM_NON_TORCH_GIB`), as :func:`for_engine_build` reads the start-up logs of those
    builds; the fitted overhead (logs of pre-0.6.4 builds, whose profiler charged the allocator's cache; per GPU
    vendor, :meth:`MemorySettings.overhead_gib`) stays for older releases."""
    if engine != "vllm":
        return settings
    if version is None or version >= VLLM_ALLOCATED_PEAK_FROM:  # the current release (V1) charges what it logs
        settings = _non_torch_only(settings)
    if version is not None:
        settings = _v0_profiling_budget(settings, version, max_model_len, mla=model.is_mla)
    return settings


def _non_torch_only(settings: MemorySettings) -> MemorySettings:
    """``settings`` charging only the logged non-torch memory (vLLM 0.6.4+ and V1), on every platform."""
    return dataclasses.replace(settings, runtime_overhead_gib=VLLM_NON_TORCH_GIB, runtime_overhead_by_vendor=())


def _v0_profiling_budget(
    settings: MemorySettings, version: tuple[int, int, int], max_model_len: int | None, *, mla: bool
) -> MemorySettings:
    """``settings`` with the profiling pass of a vLLM release running without chunked prefill
    (:func:`vllm_v0_unchunked`): ``max(max_model_len, 2048)`` tokens; a V0 release with chunked prefill steps by
    :data:`VLLM_V0_CHUNKED_BUDGET`; a V1 release keeps the engine's budget (its large-GPU rule: ``MemorySettings``)."""
    if max_model_len is not None and vllm_v0_unchunked(version, max_model_len, mla=mla):
        return dataclasses.replace(settings, max_batched_tokens=max(max_model_len, VLLM_V0_MIN_BATCHED_TOKENS))
    if version < VLLM_V1_DEFAULT_FROM:
        return dataclasses.replace(settings, max_batched_tokens=VLLM_V0_CHUNKED_BUDGET)
    return settings


def for_engine_build(
    settings: MemorySettings,
    engine: str,
    *,
    version: tuple[int, int, int] | None = None,
    build_date: str | None = None,
    includes_indexer_sizing: bool = False,
    max_model_len: int | None = None,
    default_fraction: float | None = None,
    mla: bool = False,
) -> MemorySettings:
    """The memory arithmetic of the engine build a start-up log ran, where the log states it.

    vLLM (``version``; ``max_model_len`` as launched):

    - Token budget of the profiling run. V0 (before 0.8) without chunked prefill profiles one forward pass over
      ``max_num_batched_tokens = max(max_model_len, 2048)`` tokens (``SchedulerConfig``); chunked prefill, on by
      default in V0 0.5+ for a ``max_model_len`` above 32,768 and always in V1, bounds it instead (the engine's
      default budget is kept). The RTX 3090 logs of issue 10517 show it: the profiling peak grows by 0.92 GiB
      from a 20,000- to a 29,000-token ``max_model_len`` and the cache shrinks by as much.
      An MLA model (``mla``: DeepSeek) runs unchunked on every V0 release (:func:`vllm_v0_unchunked`).
    - What the profiler charges. Up to 0.6.3 the KV budget is ``gpu_memory_utilization x total`` minus the
      device memory in use after the profiling run (0.2.x: ``total - free``; 0.4-0.6.3: ``initial free - free``),
      which also counts the PyTorch allocator's cached blocks, runtime workspaces and communication buffers: the
      engine's overhead fitted to such logs stands for them, per platform (CUDA logs leave about 1 GiB, the ROCm
      ones about 2.8; :meth:`MemorySettings.overhead_gib`). From 0.6.4 on
      (``worker.py`` "Memory profiling results: ... peak_torch_memory ... non_torch_memory") and in V1 it is
      ``utilization x total - weights - allocated activation peak - non-torch memory``: the overhead is the
      logged non-torch memory, :data:`VLLM_NON_TORCH_GIB`.

    SGLang (``build_date`` YYYY-MM-DD or ``includes_indexer_sizing`` for a branch that carries the change): before
    PR 11309 (merged 2025-10-09) ``profile_max_num_token`` divided the memory by the MLA latent's bytes alone
    while ``NSATokenToKVPool`` also allocates the indexer key per token, so V3.2's pool held 20% more tokens than
    its fraction allowed ("KV size including index is actually 65.49 GB" for a logged 54.52 GB). From PR 10975 on
    (builds dated 2025-09-27 or later) a launch that does not set ``mem_fraction_static`` gets
    :func:`sglang_default_mem_fraction`, passed in as ``default_fraction`` by the caller that knows the GPU and
    layout (None: the fraction is stated, or the build predates the heuristic).
    """
    if engine == "vllm" and version is not None:
        settings = _v0_profiling_budget(settings, version, max_model_len, mla=mla)
        if version >= VLLM_ALLOCATED_PEAK_FROM:
            settings = _non_torch_only(settings)
    if engine == "sglang" and build_date is not None:
        if not includes_indexer_sizing:
            settings = dataclasses.replace(settings, indexer_in_sizing=build_date >= SGLANG_INDEXER_SIZING_FROM)
        if default_fraction is not None and build_date >= SGLANG_RESERVED_HEURISTIC_FROM:
            settings = dataclasses.replace(settings, gpu_memory_utilization=default_fraction)
    return settings
