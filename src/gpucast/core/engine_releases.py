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
from .specs import GPUSpec, ModelSpec

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
SGLANG_RESERVED_GIB_FROM = (
    "2025-06-10"  # sgl-project/sglang PR 7054 merged: reserved GiB by GPU size replaced the TP table
)
# The first releases carrying each default-fraction rule: PR 7054 (merged 2025-06-10) shipped in 0.4.8 (2025-06-24;
# 0.4.7, tagged around the merge, is read with the TP table), PR 10975 in 0.5.3 (2025-10).
SGLANG_RESERVED_GIB_SINCE = (0, 4, 8)
SGLANG_HEURISTIC_SINCE = (0, 5, 3)
# MemorySettings.default_fraction_rule values: SGLang's mem_fraction_static default by release (fraction_rule_for)
SGLANG_TP_TABLE, SGLANG_RESERVED_GIB, SGLANG_HEURISTIC = "sglang-tp", "sglang-reserved-gib", "sglang-heuristic"
MIB = 1024 * 1024
# The first releases of each rule for SGLang's chunked_prefill_size default (sglang_chunked_prefill_size)
SGLANG_CHUNK_SMALL_GPU_FROM = (0, 3, 6)  # 2048 under 25,000 MiB ("Automatically adjust --chunked-prefill-size")
SGLANG_CHUNK_180GB_FROM = (0, 4, 7)  # 16384 over 180,000 MiB
SGLANG_CHUNK_160GIB_FROM = (0, 4, 8)  # 2048 / 8192 / 16384 at 35 and 160 GiB
SGLANG_CHUNK_60GIB_FROM = (0, 5, 3)  # _handle_gpu_memory_settings: 4096 on 35-60 GiB GPUs
SGLANG_CHUNK_20GIB_FROM = (0, 5, 20)  # arg_groups/memory_hook.py: 4096 on 20-35 GiB GPUs too
SGLANG_STEP_RULE = "sglang"  # MemorySettings.step_budget_rule: SGLang's default, "sglang@X.Y.Z" at a release
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
    core per DP rank, each with the whole ``max_num_batched_tokens``) gives every rank the whole budget, so a replica's step prefills up to ``attention_dp`` budgets. 0 where one scheduler steps the
    whole budget for the replica (no attention DP, or a SGLang release before DP attention)."""
    if attention_dp <= 1:
        return 0
    rule = settings.dp_chunk_rule
    if rule is None:
        return chunk if scheduler_per_rank and chunk > 0 else 0
    _, _, release = rule.partition("@")
    share = sglang_rank_chunk(chunk, attention_dp, parse_engine_version(release))
    return share if share != chunk else 0  # a release before DP attention (0.3.5) divides nothing


def sglang_tp_table_fraction(tp: int) -> float:
    """SGLang's ``mem_fraction_static`` default before PR 7054 (``ServerArgs.__post_init__``, 0.2 to 0.4.7): by the
    tensor-parallel size alone, whatever the GPU: 0.79 at TP16+, 0.81 at TP8+, 0.85 at TP4+, 0.87 at TP2+, else 0.88
    (the earliest 0.1/0.2 builds had 0.83 at TP8+, not modelled)."""
    for at_least, fraction in ((16, 0.79), (8, 0.81), (4, 0.85), (2, 0.87)):
        if tp >= at_least:
            return fraction
    return 0.88


def sglang_reserved_gib_fraction(gpu_mem_mib: float, *, tp: int, pp: int = 1, dp_attention: bool = False) -> float:
    """SGLang's ``mem_fraction_static`` default from PR 7054 ("Simplify the heuristics for setting
    --mem-fraction-static", merged 2025-06-10) to PR 10975: ``(gpu - reserved) / gpu`` with ``reserved`` in GiB by
    the GPU's memory (MiB): ``2.8 + tp x pp / 10`` under 35 GiB, ``9.5 + tp x pp / 2`` under 90 (H100, A100),
    ``12 + tp x pp / 2`` under 160 (H20, H200), 32 above (B200, MI300X), plus 4 with DP attention; rounded to 3
    decimals. H100 (81,559 MiB) at TP8: 13.5 GiB reserved, 0.831."""
    parallel = tp * pp
    gib = 1024
    if gpu_mem_mib < 35 * gib:
        reserved = (2.8 + parallel / 10) * gib
    elif gpu_mem_mib < 90 * gib:
        reserved = (9.5 + parallel / 2) * gib
    elif gpu_mem_mib < 160 * gib:
        reserved = (12 + parallel / 2) * gib
    else:
        reserved = 32 * gib
    if dp_attention:
        reserved += 4 * gib
    return round((gpu_mem_mib - reserved) / gpu_mem_mib, 3)


def fraction_rule_for(version: tuple[int, int, int] | None = None, build_date: str | None = None) -> str:
    """The rule SGLang's default fraction follows at a release (``version``) or a build's date (YYYY-MM-DD, which
    wins); neither: the current release's."""
    if build_date is not None:
        if build_date >= SGLANG_RESERVED_HEURISTIC_FROM:
            return SGLANG_HEURISTIC
        return SGLANG_RESERVED_GIB if build_date >= SGLANG_RESERVED_GIB_FROM else SGLANG_TP_TABLE
    if version is None or version >= SGLANG_HEURISTIC_SINCE:
        return SGLANG_HEURISTIC
    return SGLANG_RESERVED_GIB if version >= SGLANG_RESERVED_GIB_SINCE else SGLANG_TP_TABLE


def default_fraction_on(settings: MemorySettings, gpu: GPUSpec, tp: int, pp: int, attention_dp: int) -> MemorySettings:
    """``settings`` with the engine's default fraction for one replica's GPU and layout, where the fraction is the
    engine's default and that default depends on them (``settings.default_fraction_rule``: SGLang, whose
    ``mem_fraction_static`` follows TP, and from 0.4.8 on the GPU's memory); a fraction the user or a row's notes
    state is kept. Why: a flat 0.88 gave an SGLang TP8 replica on an H100 ~7% more of each GPU than SGLang takes."""
    rule = settings.default_fraction_rule
    if rule is None:
        return settings
    mib = gpu.cuda_memory_bytes / MIB  # what nvidia-smi / the runtime reports, which SGLang reads
    if rule == SGLANG_TP_TABLE:
        fraction = sglang_tp_table_fraction(tp)
    elif rule == SGLANG_RESERVED_GIB:
        fraction = sglang_reserved_gib_fraction(mib, tp=tp, pp=pp, dp_attention=attention_dp > 1)
    else:
        fraction = sglang_default_mem_fraction(mib, tp=tp, pp=pp, dp=attention_dp, dp_attention=attention_dp > 1)
    return dataclasses.replace(settings, gpu_memory_utilization=fraction, default_fraction_rule=None)


def replica_memory(settings: MemorySettings, gpu: GPUSpec, tp: int, pp: int, attention_dp: int) -> MemorySettings:
    """``settings`` as one replica's engine runs them: the step budget the engine defaults to on ``gpu``
    (:meth:`MemorySettings.on_gpu`: vLLM 2048, 8192 or 16384; :func:`step_budget_on`: SGLang's chunk) and its default
    fraction for the GPU and layout (:func:`default_fraction_on`: SGLang). What sizes the replica
    (``core.inference.replica_config``), what its plan reports and what a start-up log is fitted against, from one
    place."""
    return default_fraction_on(step_budget_on(settings.on_gpu(gpu), gpu), gpu, tp, pp, attention_dp)


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
    vendor, :meth:`MemorySettings.overhead_gib`) stays for older releases. SGLang: where the fraction is its default,
    the rule of the release (:func:`fraction_rule_for`; None: the current one), resolved per replica by
    :func:`default_fraction_on`, and the chunk of the release (:func:`step_budget_on`)."""
    if engine == "sglang":
        return _sglang_release(settings, version)
    if engine != "vllm":
        return settings
    if version is None or version >= VLLM_ALLOCATED_PEAK_FROM:  # the current release (V1) charges what it logs
        settings = _non_torch_only(settings)
    if version is not None:
        settings = _v0_profiling_budget(settings, version, max_model_len, mla=model.is_mla)
    return settings


def _sglang_release(
    settings: MemorySettings, version: tuple[int, int, int] | None, build_date: str | None = None
) -> MemorySettings:
    """``settings`` with SGLang's default fraction rule (where the fraction is its default) and chunk rule (where the
    step budget is its default) of ``version`` (None: the current release), and the release's division of the chunk
    over attention-DP ranks (:func:`rank_chunk_tokens`); a build's date picks the fraction rule."""
    if settings.default_fraction_rule is not None:
        settings = dataclasses.replace(settings, default_fraction_rule=fraction_rule_for(version, build_date))
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

    SGLang (``build_date`` YYYY-MM-DD or ``includes_indexer_sizing`` for a branch that carries the change): before
    PR 11309 (merged 2025-10-09) ``profile_max_num_token`` divided the memory by the MLA latent's bytes alone
    while ``NSATokenToKVPool`` also allocates the indexer key per token, so V3.2's pool held 20% more tokens than
    its fraction allowed ("KV size including index is actually 65.49 GB" for a logged 54.52 GB). A launch that
    does not set ``mem_fraction_static`` (``settings.default_fraction_rule`` set) gets the default of its build's
    date, else its ``version``, else the current release's (:func:`fraction_rule_for`), which
    :func:`default_fraction_on` resolves for the row's GPU and layout.
    """
    if engine == "vllm" and version is not None:
        settings = _v0_profiling_budget(settings, version, max_model_len, mla=mla)
        if version >= VLLM_ALLOCATED_PEAK_FROM:
            settings = _non_torch_only(settings)
    if engine == "sglang" and build_date is not None and not includes_indexer_sizing:
        settings = dataclasses.replace(settings, indexer_in_sizing=build_date >= SGLANG_INDEXER_SIZING_FROM)
    if engine == "sglang":
        settings = _sglang_release(settings, version, build_date)
    return settings
