"""The memory arithmetic of engine releases: what a given vLLM or SGLang build charges besides weights and
activations, and which token budget its profiling pass covers.

:mod:`gpucast.core.memory` sizes the KV cache from :class:`~gpucast.core.memory.MemorySettings`; this module turns
an engine's release (a plan's ``--engine-version``, a measurement's engine label, a start-up log's build) into
those settings. Each rule cites the engine source or log it follows. Split from ``core.memory`` so that each module
keeps one job: memory formulas there, engine-release history here.
"""

from __future__ import annotations

import dataclasses

from .engine_era import parse_engine_version
from .memory import MemorySettings
from .sglang_fraction import (
    SGLANG_CURRENT_HEURISTIC,
    SGLANG_HEURISTIC,
    SGLANG_PREFILL_GRAPHS,
    SGLANG_RESERVED_GIB,
    SGLANG_TP_TABLE,
    fraction_rule_for,
    sglang_default_mem_fraction,
    sglang_reserved_gib_fraction,
    sglang_tp_table_fraction,
)
from .specs import GPUSpec, ModelSpec

__all__ = [  # the SGLang fraction rules live in core.sglang_fraction; their callers import them from here too
    "SGLANG_CURRENT_HEURISTIC",
    "SGLANG_HEURISTIC",
    "SGLANG_PREFILL_GRAPHS",
    "SGLANG_RESERVED_GIB",
    "SGLANG_TP_TABLE",
    "fraction_rule_for",
    "sglang_default_mem_fraction",
    "sglang_reserved_gib_fraction",
    "sglang_tp_table_fraction",
]

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
MIB = 1024 * 1024
# The first releases of each rule for SGLang's chunked_prefill_size default (sglang_chunked_prefill_size)
SGLANG_CHUNK_SMALL_GPU_FROM = (0, 3, 6)  # 2048 under 25,000 MiB ("Automatically adjust --chunked-prefill-size")
SGLANG_CHUNK_180GB_FROM = (0, 4, 7)  # 16384 over 180,000 MiB
SGLANG_CHUNK_160GIB_FROM = (0, 4, 8)  # 2048 / 8192 / 16384 at 35 and 160 GiB
SGLANG_CHUNK_60GIB_FROM = (0, 5, 3)  # _handle_gpu_memory_settings: 4096 on 35-60 GiB GPUs
SGLANG_CHUNK_20GIB_FROM = (0, 5, 20)  # arg_groups/memory_hook.py: 4096 on 20-35 GiB GPUs too
SGLANG_STEP_RULE = "sglang"  # MemorySettings.step_budget_rule: SGLang's default, "sglang@X.Y.Z" at a release
# vLLM's default fraction and what it charges inside it, by release (read in the PyPI wheels; vllm_release_memory)
VLLM_FRACTION_RULE = "vllm"  # MemorySettings.default_fraction_rule: vLLM's --gpu-memory-utilization is unset
VLLM_GRAPHS_IN_BUDGET_FROM = (0, 20, 0)  # envs VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS "0" -> "1"; CacheConfig 0.92
VLLM_GRAPHS_IN_BUDGET_DATE = "2026-04-27"  # the 0.20.0 wheel's build date: a label dated earlier ran without it
VLLM_EXTENSIBLE_FROM = (0, 34, 0)  # CacheConfig.resolved_gpu_memory_utilization: unset -> 1.0, extensible KV cache
VLLM_CURRENT = (0, 34, 0)  # the release a plan or a row that states none is read as (catalog/engine_flags.toml)
VLLM_DEFAULT_FRACTION_0_20 = 0.92  # CacheConfig.gpu_memory_utilization default, 0.20.0-0.33
# What SGLang's --enable-dp-attention does to chunked_prefill_size (sglang_rank_chunk), by first release
SGLANG_DP_CHUNK_HALVED_FROM = (0, 3, 6)  # DP attention's first release: chunked_prefill_size // 2, dp_size = tp_size
SGLANG_DP_CHUNK_DIVIDED_FROM = (0, 4, 4)  # 0.4.4.post1 on: chunked_prefill_size // dp_size (0.4.4 itself halved)


def sglang_chunked_prefill_size(gpu_mem_mib: float, version: tuple[int, int, int] | None = None) -> int:
    """SGLang's ``chunked_prefill_size`` when the launch does not set it, on a GPU of ``gpu_mem_mib`` (MiB, as
    nvidia-smi reports it: ``get_nvgpu_memory_capacity``) at ``version`` (None: the current release), as each
    release's wheel on PyPI sets it (no DP attention, no disaggregation):

    - to 0.3.5: 8192 on every GPU (``ServerArgs.chunked_prefill_size = 8192``);
    - 0.3.6-0.4.6: 2048 under 25,000 MiB (RTX 4090, L4, A10), else 8192 (``__post_init__``);
    - 0.4.7: also 16384 over 180,000 MiB (B200, MI300X);
    - 0.4.8-0.5.2: 2048 under 35 GiB, 8192 under 160 GiB (A100, H100, H200), else 16384 ("# B200, MI300");
    - 0.5.3-0.5.19: 4096 on 35-60 GiB GPUs (L40S, A100-40GB) (``_handle_gpu_memory_settings``, PR 10975);
    - 0.5.20 and later: 4096 from 20 GiB up ("A10, 4090, 5090 ... (chunked_prefill_size 4k ...)",
      ``sglang/srt/arg_groups/memory_hook.py``), 2048 only under 20 GiB (T4).

    Why: gpucast chunked SGLang prefills by 8192 tokens on every GPU, twice SGLang's chunk on an L40S or an RTX
    4090 today and half of it on a B200 or an MI300X."""
    gib = 1024
    if version is None or version >= SGLANG_CHUNK_60GIB_FROM:
        small = 20 if version is None or version >= SGLANG_CHUNK_20GIB_FROM else 35
        if gpu_mem_mib < small * gib:
            return 2048
        if gpu_mem_mib < 60 * gib:
            return 4096
        return 8192 if gpu_mem_mib < 160 * gib else 16384
    if version >= SGLANG_CHUNK_160GIB_FROM:
        return 2048 if gpu_mem_mib < 35 * gib else 8192 if gpu_mem_mib < 160 * gib else 16384
    if version >= SGLANG_CHUNK_180GB_FROM and gpu_mem_mib > 180_000:
        return 16384
    if version >= SGLANG_CHUNK_SMALL_GPU_FROM and gpu_mem_mib < 25_000:
        return 2048
    return 8192


def step_rule_for(version: tuple[int, int, int] | None) -> str:
    """The ``MemorySettings.step_budget_rule`` of SGLang at ``version`` (None: the current release)."""
    return SGLANG_STEP_RULE if version is None else f"{SGLANG_STEP_RULE}@{'.'.join(map(str, version))}"


def step_budget_on(settings: MemorySettings, gpu: GPUSpec) -> MemorySettings:
    """``settings`` with the engine's default step budget on ``gpu`` where that default follows the release and the
    GPU (``settings.step_budget_rule``: SGLang's ``chunked_prefill_size``, :func:`sglang_chunked_prefill_size`); the
    prefill chunks (``ReplicaConfig.chunk_tokens``) follow it."""
    rule = settings.step_budget_rule
    if rule is None:
        return settings
    _, _, release = rule.partition("@")
    tokens = sglang_chunked_prefill_size(gpu.cuda_memory_bytes / MIB, parse_engine_version(release))
    return dataclasses.replace(settings, max_batched_tokens=tokens, step_budget_rule=None)


def sglang_rank_chunk(chunk: int, attention_dp: int, version: tuple[int, int, int] | None = None) -> int:
    """The prefill chunk each of SGLang's attention-DP ranks steps by when launched with ``--chunked-prefill-size
    chunk`` (or its default) and ``--enable-dp-attention --dp attention_dp``, at ``version`` (None: the current
    release), as each release's wheel on PyPI does it in ``ServerArgs`` after the default chunk is chosen:

    - 0.3.6 (DP attention's first release) to 0.4.4: ``chunked_prefill_size // 2``, ``dp_size`` forced to
      ``tp_size`` ("DP attention is enabled. The chunked prefill size is adjusted to ... to avoid MoE kernel
      issues");
    - 0.4.4.post1 on: ``chunked_prefill_size // dp_size`` (``_handle_data_parallelism``; from 0.5.20 the
      ``arg_groups/parallel_hook.py`` hook, ``// attn_dp_size`` in 0.5.23). gpucast reads releases as
      (major, minor, patch), so 0.4.4 is read with the division its post releases carry.

    Each rank's scheduler (``PrefillAdder``: ``rem_chunk_tokens = chunked_prefill_size``) then cuts a prompt into
    chunks of this size and prefills at most this many new tokens a step; ``max_prefill_tokens`` (16,384) is not
    divided and, larger, does not bind. DeepSeek-V3 at TP8 with 8-way DP attention on an H200 (8,192-token
    default): 1,024 tokens per rank, so an 8,000-token prompt prefills in 8 steps, not 1. The memory rules keep
    the whole chunk (``_handle_gpu_memory_settings`` reserves for it before the division, and the MoE layers see
    every rank's tokens). Before 0.3.6, and without DP attention: ``chunk``."""
    if attention_dp <= 1 or chunk <= 0 or (version is not None and version < SGLANG_DP_CHUNK_HALVED_FROM):
        return chunk
    if version is not None and version < SGLANG_DP_CHUNK_DIVIDED_FROM:
        return max(chunk // 2, 1)
    return max(chunk // attention_dp, 1)


def rank_chunk_tokens(
    settings: MemorySettings, chunk: int, attention_dp: int, *, scheduler_per_rank: bool = False
) -> int:
    """The prefill chunk of one attention-DP rank where the ranks step separately: SGLang divides its step budget
    ``chunk`` among them (``settings.dp_chunk_rule``, by release: :func:`sglang_rank_chunk`); an engine with a
    scheduler per rank (``scheduler_per_rank``, engine_flags.toml's ``seqs_per_attention_dp_rank``: vLLM's engine
    core per DP rank, each with the whole ``max_num_batched_tokens``) gives every rank the whole budget, so a
    replica's step prefills up to ``attention_dp`` budgets. 0 where one scheduler steps the whole budget for the
    replica (no attention DP, or a SGLang release before DP attention)."""
    if attention_dp <= 1:
        return 0
    rule = settings.dp_chunk_rule
    if rule is None:
        return chunk if scheduler_per_rank and chunk > 0 else 0
    _, _, release = rule.partition("@")
    share = sglang_rank_chunk(chunk, attention_dp, parse_engine_version(release))
    return share if share != chunk else 0  # a release before DP attention (0.3.5) divides nothing


def default_fraction_on(settings: MemorySettings, gpu: GPUSpec, tp: int, pp: int, attention_dp: int) -> MemorySettings:
    """``settings`` with the engine's default fraction for one replica's GPU and layout, where the fraction is the
    engine's default and that default depends on them (``settings.default_fraction_rule``: SGLang, whose
    ``mem_fraction_static`` follows TP, and from 0.4.8 on the GPU's memory); a fraction the user or a row's notes
    state is kept. Why: a flat 0.88 gave an SGLang TP8 replica on an H100 ~7% more of each GPU than SGLang takes."""
    rule = settings.default_fraction_rule
    if rule is None:
        return settings
    if rule == VLLM_FRACTION_RULE:  # settings no release rule has read: the current release's
        return vllm_release_memory(settings, None)
    mib = gpu.cuda_memory_bytes / MIB  # what nvidia-smi / the runtime reports, which SGLang reads
    if rule == SGLANG_TP_TABLE:
        fraction = sglang_tp_table_fraction(tp)
    elif rule == SGLANG_RESERVED_GIB:
        fraction = sglang_reserved_gib_fraction(mib, tp=tp, pp=pp, dp_attention=attention_dp > 1)
    else:
        fraction = sglang_default_mem_fraction(
            mib,
            tp=tp,
            pp=pp,
            dp=attention_dp,
            dp_attention=attention_dp > 1,
            rule=rule,
            mla=settings.mla_backend,
            amd=gpu.vendor == "amd",
        )
    return dataclasses.replace(settings, gpu_memory_utilization=fraction, default_fraction_rule=None)


def replica_memory(settings: MemorySettings, gpu: GPUSpec, tp: int, pp: int, attention_dp: int) -> MemorySettings:
    """``settings`` as one replica's engine runs them: the step budget the engine defaults to on ``gpu``
    (:meth:`MemorySettings.on_gpu`: vLLM 2048, 8192 or 16384; :func:`step_budget_on`: SGLang's chunk) and its default
    fraction for the GPU and layout (:func:`default_fraction_on`: SGLang). What sizes the replica
    (``core.inference.replica_config``), what its plan reports and what a start-up log is fitted against, from one
    place."""
    return default_fraction_on(step_budget_on(settings.on_gpu(gpu), gpu), gpu, tp, pp, attention_dp)


def vllm_release_memory(
    settings: MemorySettings, version: tuple[int, int, int] | None, build_date: str | None = None
) -> MemorySettings:
    """vLLM's default fraction and what it charges inside the fraction at ``version`` (None: the current release,
    :data:`VLLM_CURRENT`, unless ``build_date`` (YYYY-MM-DD) dates the build before 0.20.0), as the PyPI wheels
    set them (``CacheConfig``, ``envs.py``, ``gpu_worker``):

    - up to 0.19.1: 0.9 of the GPU for weights, activations, non-torch memory and KV; the CUDA graphs, captured
      after the cache is sized, live in the 0.1 left (``VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS`` defaults to
      "0": the estimate is logged, not charged);
    - 0.20.0-0.33: the estimate is charged (default "1") and the default fraction is 0.92, so 0.92 less the graphs
      takes the place of 0.90 with the graphs outside (the release's log: "increase --gpu-memory-utilization to
      maintain the same effective KV cache");
    - from 0.34.0: an unset fraction resolves to 1.0 with the extensible KV cache (on by default on CUDA and ROCm),
      sized after warmup from the memory then free less a margin (``extensible_kv_cache.measure_kv_cache_bytes``,
      :func:`gpucast.core.cuda_graphs.extensible_cap`); a given fraction still caps it.

    A fraction the user or a row states is kept; only what the release charges follows it. Why: a plan without
    ``--gpu-memory-utilization`` counted 0.9 of an H100 where vLLM 0.34 takes what is free after warmup (~10% more
    KV for a 70B model on two H100s), and no release since 0.20 leaves the graphs outside the fraction."""
    pre_graphs = build_date is not None and build_date < VLLM_GRAPHS_IN_BUDGET_DATE
    release = version if version is not None else None if pre_graphs else VLLM_CURRENT
    unset = settings.default_fraction_rule == VLLM_FRACTION_RULE
    settings = dataclasses.replace(settings, default_fraction_rule=None)
    if release is None or release < VLLM_GRAPHS_IN_BUDGET_FROM:
        return settings  # the engine's 0.90 (engines.toml) or the fraction given
    extensible = release >= VLLM_EXTENSIBLE_FROM
    settings = dataclasses.replace(settings, graphs_in_budget=True, extensible_kv=extensible)
    if unset:
        fraction = 1.0 if extensible else VLLM_DEFAULT_FRACTION_0_20
        settings = dataclasses.replace(settings, gpu_memory_utilization=fraction)
    return settings


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
    settings: MemorySettings,
    engine: str,
    model: ModelSpec,
    version: tuple[int, int, int] | None,
    max_model_len: int,
    build_date: str | None = None,
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
    builds; the default fraction and the CUDA graphs charged inside it follow the release
    (:func:`vllm_release_memory`; ``build_date``: a label dating a build that states no version); the fitted
    overhead (logs of pre-0.6.4 builds, whose profiler charged the allocator's cache; per GPU vendor,
    :meth:`MemorySettings.overhead_gib`) stays for older releases. SGLang: where the fraction is its default,
    the rule of the release (:func:`fraction_rule_for`; None: the current one), resolved per replica by
    :func:`default_fraction_on`, and the chunk of the release (:func:`step_budget_on`)."""
    if engine == "sglang":
        return _sglang_release(settings, version, mla=model.is_mla)
    if engine != "vllm":
        return settings
    settings = vllm_release_memory(settings, version, build_date)
    if version is None or version >= VLLM_ALLOCATED_PEAK_FROM:  # the current release (V1) charges what it logs
        settings = _non_torch_only(settings)
    if version is not None:
        settings = _v0_profiling_budget(settings, version, max_model_len, mla=model.is_mla)
    return settings


def _sglang_release(
    settings: MemorySettings,
    version: tuple[int, int, int] | None,
    build_date: str | None = None,
    *,
    mla: bool = False,
) -> MemorySettings:
    """``settings`` with SGLang's default fraction rule (where the fraction is its default) and chunk rule (where the
    step budget is its default) of ``version`` (None: the current release), and the release's division of the chunk
    over attention-DP ranks (:func:`rank_chunk_tokens`); a build's date picks the fraction rule. ``mla``: the model
    runs an MLA attention backend, whose prefill graphs the default fraction reserves apart."""
    if settings.default_fraction_rule is not None:
        rule = fraction_rule_for(version, build_date)
        settings = dataclasses.replace(settings, default_fraction_rule=rule, mla_backend=mla)
    if settings.step_budget_rule is not None:
        settings = dataclasses.replace(settings, step_budget_rule=step_rule_for(version))
    if settings.dp_chunk_rule is not None:
        settings = dataclasses.replace(settings, dp_chunk_rule=step_rule_for(version))
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
    - The default fraction and the CUDA graphs (:func:`vllm_release_memory`): 0.9 with the graphs outside up to
      0.19.1, 0.92 with them inside from 0.20.0, measured sizing from 0.34.0; a build that states no version is the
      current release unless ``build_date`` dates it before 0.20.0.

    SGLang (``build_date`` YYYY-MM-DD or ``includes_indexer_sizing`` for a branch that carries the change): before
    PR 11309 (merged 2025-10-09) ``profile_max_num_token`` divided the memory by the MLA latent's bytes alone
    while ``NSATokenToKVPool`` also allocates the indexer key per token, so V3.2's pool held 20% more tokens than
    its fraction allowed ("KV size including index is actually 65.49 GB" for a logged 54.52 GB). A launch that
    does not set ``mem_fraction_static`` (``settings.default_fraction_rule`` set) gets the default of its build's
    date, else its ``version``, else the current release's (:func:`fraction_rule_for`), which
    :func:`default_fraction_on` resolves for the row's GPU and layout.
    """
    if engine == "vllm":
        settings = vllm_release_memory(settings, version, build_date)
    if engine == "vllm" and version is not None:
        settings = _v0_profiling_budget(settings, version, max_model_len, mla=mla)
        if version >= VLLM_ALLOCATED_PEAK_FROM:
            settings = _non_torch_only(settings)
    if engine == "sglang" and build_date is not None and not includes_indexer_sizing:
        settings = dataclasses.replace(settings, indexer_in_sizing=build_date >= SGLANG_INDEXER_SIZING_FROM)
    if engine == "sglang":
        settings = _sglang_release(settings, version, build_date, mla=mla)
    return settings
