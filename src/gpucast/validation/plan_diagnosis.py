"""Why a plan-level point misses: the estimator's answer at the measured rate, beside the planner's capacity.

``gpucast validate --plans`` plans 10 x R at 1.1 x the measured latencies; the planner's capacity per replica is
the largest open-loop rate whose operating point (``estimate --request-rate``, ``core.serving.at_request_rate``)
meets them. So a plan misses by about R / capacity, and the capacity misses where the estimate at R misses the
measured TTFT or ITL, amplified by how flat the measured curve is there (docs/accuracy.md). This module asks
``estimate`` the question the measurement answers — the measured deployment at R req/s, open loop — and returns
its latencies at the statistic the SLOs bound (means, or p50 where the source published medians), so every row of
the report shows which latency the capacity hangs on.
"""

from __future__ import annotations

import math

from ..errors import GpucastError
from ..inputs.types import GPUConfig, ModelConfig, ServingOptions
from ..planning.estimate import EstimateRequest, estimate


def estimate_at_rate(
    rate_rps: float,
    num_gpus: int,
    model: ModelConfig,
    gpu: GPUConfig,
    options: ServingOptions,
    input_tokens: float,
    output_tokens: float,
) -> tuple[float, float]:
    """(TTFT, token latency) in ms that ``estimate --request-rate rate_rps`` predicts for the measured deployment
    (``num_gpus`` at the plan's TP/PP/EP, engine, precisions and memory fraction): means, or where
    ``options.slo_percentile`` is "50" the p50 TTFT and per-request TPOT (what an SLO at a percentile bounds,
    ``core.inference.SLO.latencies``). NaN where the estimate cannot be made; inf past saturation."""
    request = EstimateRequest(
        gpu=gpu.gpu_type or "", num_gpus=num_gpus, input_tokens=round(input_tokens), output_tokens=round(output_tokens),
        load="request-rate", load_value=rate_rps, model=model.model_name, tp=options.tp, pp=options.pp or 1,
        ep=options.ep or 1, attention_dp=options.attention_dp or 1, precision=model.precision,
        kv_precision=model.kv_precision, engine=options.engine or "vllm", engine_version=options.engine_version,
        gpu_memory_utilization=options.gpu_memory_utilization, max_model_len=model.context_window,
    )  # fmt: skip
    try:
        result = estimate(request)
    except GpucastError:
        return math.nan, math.nan
    if options.slo_percentile == "50" and result.percentiles:
        return result.percentiles["ttft_p50_ms"], result.percentiles["tpot_p50_ms"]
    return result.ttft_ms, result.itl_ms
