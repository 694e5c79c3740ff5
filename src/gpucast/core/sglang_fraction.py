"""SGLang's default ``mem_fraction_static`` by release: the share of each GPU for weights and the KV pool when the
launch sets none, which SGLang derives from the GPU's memory and the layout (``server_args.py``; from 0.5.19
``sglang/srt/arg_groups/memory_hook.py``), each rule read in the release's PyPI wheel.

Split from :mod:`gpucast.core.engine_releases` (which resolves the rule per replica) so that each module keeps one
job. Standard library only.
"""

from __future__ import annotations

SGLANG_RESERVED_HEURISTIC_FROM = "2025-09-27"  # sgl-project/sglang PR 10975 (opened 2025-09-27): default fraction
SGLANG_RESERVED_GIB_FROM = (
    "2025-06-10"  # sgl-project/sglang PR 7054 merged: reserved GiB by GPU size replaced the TP table
)
# The first releases carrying each default-fraction rule: PR 7054 (merged 2025-06-10) shipped in 0.4.8 (2025-06-24;
# 0.4.7, tagged around the merge, is read with the TP table), PR 10975 in 0.5.3 (2025-10); 0.5.10 turned piecewise
# (prefill) CUDA graphs on by default (``disable_piecewise_cuda_graph: bool = False``; 0.5.9 had
# ``enable_piecewise_cuda_graph = False``) and reserves them; 0.5.20 moved 20-35 GiB GPUs to 4096-token chunks and
# 48 / 160 decode graphs (``memory_hook.py``). Build dates: the 0.5.10 and 0.5.20 wheels on PyPI.
SGLANG_RESERVED_GIB_SINCE = (0, 4, 8)
SGLANG_HEURISTIC_SINCE = (0, 5, 3)
SGLANG_PREFILL_GRAPHS_SINCE, SGLANG_PREFILL_GRAPHS_DATE = (0, 5, 10), "2026-04-05"
SGLANG_SMALL_GPU_TIER_SINCE, SGLANG_SMALL_GPU_TIER_DATE = (0, 5, 20), "2026-09-18"
# MemorySettings.default_fraction_rule values: SGLang's mem_fraction_static default by release (fraction_rule_for)
SGLANG_TP_TABLE, SGLANG_RESERVED_GIB, SGLANG_HEURISTIC = "sglang-tp", "sglang-reserved-gib", "sglang-heuristic"
SGLANG_PREFILL_GRAPHS = "sglang-heuristic-pcg"  # 0.5.10-0.5.19: the 0.5.3 heuristic + prefill CUDA graphs
SGLANG_CURRENT_HEURISTIC = "sglang-heuristic-0.5.20"  # 0.5.20 and later (0.5.23 is the current release)
SGLANG_PREFILL_GRAPH_MIB = 8  # reserved per prefill (piecewise) capture size without an MLA backend
SGLANG_MLA_PREFILL_GRAPHS_MIB = 1536  # "For MLA backend the memory overhead is much higher than expected with fa3"


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
        for since, rule in (
            (SGLANG_SMALL_GPU_TIER_DATE, SGLANG_CURRENT_HEURISTIC),
            (SGLANG_PREFILL_GRAPHS_DATE, SGLANG_PREFILL_GRAPHS),
            (SGLANG_RESERVED_HEURISTIC_FROM, SGLANG_HEURISTIC),
            (SGLANG_RESERVED_GIB_FROM, SGLANG_RESERVED_GIB),
        ):
            if build_date >= since:
                return rule
        return SGLANG_TP_TABLE
    if version is None or version >= SGLANG_SMALL_GPU_TIER_SINCE:
        return SGLANG_CURRENT_HEURISTIC
    for since_version, rule in (
        (SGLANG_PREFILL_GRAPHS_SINCE, SGLANG_PREFILL_GRAPHS),
        (SGLANG_HEURISTIC_SINCE, SGLANG_HEURISTIC),
        (SGLANG_RESERVED_GIB_SINCE, SGLANG_RESERVED_GIB),
    ):
        if version >= since_version:
            return rule
    return SGLANG_TP_TABLE


def sglang_prefill_graph_sizes(max_tokens: int) -> list[int]:
    """The token counts SGLang captures prefill (piecewise) CUDA graphs for up to ``max_tokens`` (the chunk; 2048 with
    an MLA backend up to 0.5.22), ``_generate_piecewise_cuda_graph_tokens`` (0.5.10) /
    ``generate_prefill_cuda_graph_batch_sizes`` (0.5.20): every 4 to 32, 16 to 256, 32 to 512, 64 to 1024, 256 to
    4096, then every 512. 58 sizes up to 8192 (464 MiB reserved), 74 up to 16384."""
    sizes = [*range(4, 33, 4), *range(48, 257, 16), *range(288, 513, 32), *range(576, 1025, 64)]
    sizes += [*range(1280, 4097, 256), *range(4608, max_tokens + 1, 512)]
    return [size for size in sizes if size <= max_tokens]


def sglang_default_mem_fraction(
    gpu_mem_mib: float,
    *,
    tp: int,
    pp: int = 1,
    dp: int = 1,
    dp_attention: bool = False,
    rule: str = SGLANG_CURRENT_HEURISTIC,
    mla: bool = False,
    amd: bool = False,
) -> float:
    """SGLang's ``mem_fraction_static`` when the launch does not set it, from PR 10975 on
    (``server_args._handle_gpu_memory_settings``, "Use more general heuristics to set the default value of
    --mem-fraction-static", 2025-09-27): the GPU's memory (MiB, as nvidia-smi reports it) picks the chunked-prefill
    size and the largest CUDA-graph batch, which reserve ``512 + 1.5 x max(chunk, 2048) + 2 x graph_bs +
    1024 x tp x pp / 8`` MiB, plus ``3 x graph_bs x dp`` with DP attention (and ``1.5 x graph_bs x dp`` more above
    300), at least 10 GiB on GPUs over 60 GiB; the fraction is the rest, rounded to 3 decimals. B200 (183,359 MiB)
    at TP8 with 8-way DP attention: 45,568 MiB reserved, 0.751.

    ``rule`` (:func:`fraction_rule_for`): from 0.5.10 (:data:`SGLANG_PREFILL_GRAPHS`) the prefill CUDA graphs are
    reserved too, before the 10 GiB floor: 8 MiB per capture size (:func:`sglang_prefill_graph_sizes` up to the chunk;
    464 MiB at 8192), or 1.5 GiB with an MLA backend (``mla``: DeepSeek); SGLang turns them off with DP attention,
    pipeline parallelism and on ROCm (``amd``) (``_handle_piecewise_cuda_graph``, ``cuda_graph_hook.py``). From
    0.5.20 (:data:`SGLANG_CURRENT_HEURISTIC`) 20-35 GiB GPUs (RTX 4090, L4, A10) take a 4096-token chunk and 48 / 160
    decode graphs (TP below 4 / from 4), not 2048 and 24 / 80. An H100 at TP1 (Llama): 13,904 MiB reserved, 0.830
    (0.835 before 0.5.10); an MLA model at TP8: 0.799 (0.818)."""
    gib = 1024
    small_tier = rule == SGLANG_CURRENT_HEURISTIC
    if gpu_mem_mib < 20 * gib:
        chunk, graph_bs = 2048, 8
    elif gpu_mem_mib < 35 * gib:
        chunk, graph_bs = (4096, (48 if tp < 4 else 160)) if small_tier else (2048, (24 if tp < 4 else 80))
    elif gpu_mem_mib < 60 * gib:
        chunk, graph_bs = 4096, (32 if tp < 4 else 160)
    elif gpu_mem_mib < 160 * gib:  # H100, A100-80GB (< 90 GiB); H20, H200: the same settings
        chunk, graph_bs = 8192, (256 if tp < 4 else 512)
    else:  # B200, MI300X
        chunk, graph_bs = 16384, 512
    reserved = 512 + max(chunk, 2048) * 1.5 + graph_bs * 2 + tp * pp / 8 * 1024
    if dp_attention:
        reserved += graph_bs * dp * 3 + (graph_bs * dp * 1.5 if graph_bs > 300 else 0.0)
    prefill_graphs = rule in (SGLANG_PREFILL_GRAPHS, SGLANG_CURRENT_HEURISTIC) and not (dp_attention or pp > 1 or amd)
    if prefill_graphs:
        reserved += (
            SGLANG_MLA_PREFILL_GRAPHS_MIB if mla else SGLANG_PREFILL_GRAPH_MIB * len(sglang_prefill_graph_sizes(chunk))
        )
    if gpu_mem_mib > 60 * gib:
        reserved = max(reserved, 10 * gib)
    return round((gpu_mem_mib - reserved) / gpu_mem_mib, 3)
