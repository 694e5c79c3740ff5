"""What vLLM 0.20 and later take from the memory fraction besides weights, activations and KV: the captured CUDA
graphs, and (0.34+) the margin its measured KV sizing keeps free.

vLLM up to 0.19 sized the KV cache before capturing CUDA graphs, which then lived in the share the fraction left
(0.10 of the GPU at the 0.9 default). 0.20.0 turned ``VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS`` on by default
(``envs.py``: "0" -> "1"): ``gpu_worker.determine_available_memory`` subtracts the profiled graph estimate from the
KV budget, and the default fraction rose from 0.90 to 0.92 (``CacheConfig``). 0.34.0 sizes the cache after warmup
and graph capture from the memory then free (the extensible KV cache, on by default on CUDA and ROCm):
``v1/worker/extensible_kv_cache.measure_kv_cache_bytes`` gives ``min(requested - non_kv_used, headroom - margin) -
transient_peak`` with ``margin = max(KV_CACHE_MARGIN_FLOOR_BYTES, 0.75 x transient_peak)`` (1 GiB, 3 GiB on ROCm),
and an unset fraction resolves to 1.0 (``CacheConfig.resolved_gpu_memory_utilization``). Standard library only.
"""

from __future__ import annotations

from .specs import GIB

MIB = 1024 * 1024
# vLLM's default capture ceiling: min(2 x max_num_seqs, 512) tokens (VllmConfig._set_cudagraph_sizes, 0.10-0.34; 0.34
# raises it to 1024 on Blackwell, not modelled: 64 more graphs, ~0.5 GiB at the logged cost)
VLLM_CAPTURE_CEILING = 512
# extensible_kv_cache.KV_CACHE_MARGIN_FLOOR_BYTES (0.34.0 wheel): "(3 if current_platform.is_rocm() else 1) << 30"
EXTENSIBLE_MARGIN_FLOOR_GIB = {"amd": 3.0}
EXTENSIBLE_MARGIN_FLOOR_DEFAULT_GIB = 1.0
EXTENSIBLE_MARGIN_FRACTION = 0.75  # extensible_kv_cache.KV_CACHE_MARGIN_FRACTION


def vllm_capture_sizes(max_num_seqs: int, max_batched_tokens: int, ceiling: int = VLLM_CAPTURE_CEILING) -> list[int]:
    """The batch sizes vLLM captures by default (``VllmConfig._set_cudagraph_sizes``): 1, 2, 4, then every 8 below
    256, then every 16 up to ``min(2 x max_num_seqs, ceiling, max_batched_tokens)``, plus ``max_num_seqs`` where it is
    within that. 256 sequences: 51 sizes up to 512 (the logs' "PIECEWISE=51 (largest=512)")."""
    largest = min(max_num_seqs * 2, ceiling, max_batched_tokens)
    sizes = [size for size in (1, 2, 4) if size <= largest]
    sizes += list(range(8, min(largest + 1, 256), 8)) + list(range(256, largest + 1, 16))
    if max_num_seqs <= largest and max_num_seqs not in sizes:
        sizes.append(max_num_seqs)
    return sorted(sizes)


def vllm_graph_count(max_num_seqs: int, max_batched_tokens: int) -> int:
    """CUDA graphs vLLM captures by default (``cudagraph_mode`` FULL_AND_PIECEWISE): one piecewise graph per capture
    size and one full decode graph per size up to ``max_num_seqs``. 256 sequences: 51 + 35 = 86, as logged
    ("Profiling CUDA graph memory: PIECEWISE=51 (largest=512), FULL=35 (largest=256)"); 128: 35 + 19 (vLLM 0.22
    log, below); 1024 (large GPUs): 51 + 51."""
    sizes = vllm_capture_sizes(max_num_seqs, max_batched_tokens)
    return len(sizes) + sum(1 for size in sizes if size <= max_num_seqs)


def graph_bytes(graphs_in_budget: bool, cost_mib: float, max_num_seqs: int, max_batched_tokens: int) -> float:
    """Bytes of CUDA graphs charged inside the fraction: the default graph count x the cost per graph (engines.toml
    ``cuda_graph_mib``), where the release charges them (vLLM 0.20+), else 0."""
    if not graphs_in_budget or cost_mib <= 0:
        return 0.0
    return vllm_graph_count(max_num_seqs, max_batched_tokens) * cost_mib * MIB


def extensible_margin(activations: float, vendor: str) -> float:
    """Bytes vLLM 0.34's measured sizing keeps free besides the transient peak: ``max(floor, 0.75 x peak)``, the
    floor 1 GiB (3 GiB on ROCm)."""
    floor = EXTENSIBLE_MARGIN_FLOOR_GIB.get(vendor, EXTENSIBLE_MARGIN_FLOOR_DEFAULT_GIB) * GIB
    return max(floor, EXTENSIBLE_MARGIN_FRACTION * activations)


def extensible_cap(total: float, activations: float, vendor: str, startup_in_use_gib: float) -> float:
    """The most of ``total`` vLLM 0.34's measured sizing lets itself use (weights, graphs, non-torch memory, the
    transient peak and KV together): the memory free when it started (``total`` less what was in use then) less the
    margin. With a fraction below it, ``fraction x total`` binds instead (``min`` in ``measure_kv_cache_bytes``)."""
    return total - startup_in_use_gib * GIB - extensible_margin(activations, vendor)
