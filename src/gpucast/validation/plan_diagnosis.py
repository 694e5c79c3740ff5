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
    ``core.workload.SLO.latencies``). NaN where the estimate cannot be made; inf past saturation."""
    _, ttft, itl = _estimate("request-rate", rate_rps, num_gpus, model, gpu, options, input_tokens, output_tokens)
    return ttft, itl


def estimate_closed_loop(
    concurrency: float,
    num_gpus: int,
    model: ModelConfig,
    gpu: GPUConfig,
    options: ServingOptions,
    input_tokens: float,
    output_tokens: float,
) -> tuple[float, float, float]:
    """(requests/s, TTFT ms, token latency ms) that ``estimate --concurrency`` predicts for the measured deployment
    under the measurement's own load generator: a closed loop of ``concurrency`` clients (a benchmark client with
    fixed lengths, whose prompts partly arrive in synchronized waves, ``core.serving.operating_point``).

    Beside ``estimate_at_rate`` it separates the two reasons a closed-loop point misses: at the same throughput an
    open loop's Poisson arrivals interleave every prompt's prefill with the running decodes (ITL = step / (1 -
    lambda P)), where a wave's prompts spend half of their wave's prefill before their first token, so the open
    loop's ITL at R is above the closed loop's; the closed loop's own error against the measurement is the
    estimator's (docs/accuracy.md, plan-level validation)."""
    return _estimate("concurrency", concurrency, num_gpus, model, gpu, options, input_tokens, output_tokens)


def _estimate(
    load: str,
    value: float,
    num_gpus: int,
    model: ModelConfig,
    gpu: GPUConfig,
    options: ServingOptions,
    input_tokens: float,
    output_tokens: float,
) -> tuple[float, float, float]:
    """(requests/s, TTFT ms, token latency ms) of ``estimate`` at ``load`` = ``value`` on the measured deployment,
    at the SLOs' statistic; NaN where the estimate cannot be made."""
    request = EstimateRequest(
        gpu=gpu.gpu_type or "", num_gpus=num_gpus, input_tokens=round(input_tokens), output_tokens=round(output_tokens),
        load=load, load_value=value, model=model.model_name, tp=options.tp, pp=options.pp or 1,
        ep=options.ep or 1, attention_dp=options.attention_dp or 1, precision=model.precision,
        kv_precision=model.kv_precision, engine=options.engine or "vllm", engine_version=options.engine_version,
        gpu_memory_utilization=options.gpu_memory_utilization, max_model_len=model.context_window,
    )  # fmt: skip
    try:
        result = estimate(request)
    except GpucastError:
        return math.nan, math.nan, math.nan
    if options.slo_percentile == "50" and result.percentiles:  # the planner's statistic: a percentile never below
        ttft = max(result.percentiles["ttft_p50_ms"], result.ttft_ms)  # the mean (core.workload.SLO.with_means)
        return result.requests_per_s, ttft, max(result.percentiles["tpot_p50_ms"], result.itl_ms)
    return result.requests_per_s, result.ttft_ms, result.itl_ms
