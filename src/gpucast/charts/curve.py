"""Throughput and latency against load for a plan's replica, from the planner's own estimator.

The curve re-runs :func:`gpucast.core.serving.open_loop_point` (open-loop arrivals, prefill queueing at the
rate's share of saturation) on the replica the plan chose, and marks the plan's planned peak load as
``gpucast estimate --request-rate`` evaluates it, so the marked operating point is the plan's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import loader
from ..core.inference import replica_config
from ..core.serving import OperatingPoint, at_request_rate, max_throughput, open_loop_point
from ..inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from ..planning.request import resolve

POINTS = 40  # enough for a smooth line; each point is a few microseconds of arithmetic


@dataclass(frozen=True)
class Curve:
    points: list[OperatingPoint]
    chosen: OperatingPoint
    max_sequences: int


def concurrency_grid(top: int, chosen: int, count: int = POINTS) -> list[int]:
    """Concurrencies 1..top, denser at the low end where latency changes fastest, always including ``chosen``."""
    values = {1, top, max(1, min(chosen, top))}
    for i in range(count):
        values.add(max(1, round(top ** (i / (count - 1)))))
        values.add(max(1, round(top * i / (count - 1))))
    return sorted(values)


def plan_curve(
    workload: LLMWorkloadInput, model: ModelConfig, gpu: GPUConfig, options: ServingOptions, plan: dict[str, Any]
) -> Curve:
    """The operating points of the plan's replica from concurrency 1 to its limit, and the plan's own point."""
    request = resolve(workload, model, gpu, options)
    resources, throughput = plan["gpu_resources"], plan["throughput"]
    spec = loader.resolve_gpu(resources["recommended_gpu_type"])
    cfg, _, _ = replica_config(
        request.model,
        spec,
        loader.efficiency_for(spec, options.engine),
        precision=request.precision,
        kv_precision=request.kv_precision,
        tp=int(resources["tensor_parallel"]),
        pp=int(resources["pipeline_parallel"]),
        workload=request.workload,
        settings=request.settings,
    )
    shape = {"input_tokens": request.workload.input_tokens, "output_tokens": request.workload.output_tokens}
    saturation = max_throughput(cfg, **shape).requests_per_s
    # plans saved before the planned point was reported: peak RPS over the peak fleet is the same number
    planned = throughput.get("planned_rps_per_replica") or plan["scaling"]["peak_rps"] / resources["max_replicas"]
    chosen = at_request_rate(cfg, rate=min(float(planned), saturation * 0.9999), **shape)
    grid = concurrency_grid(cfg.max_sequences, round(chosen.concurrency))
    points = [open_loop_point(cfg, concurrency=c, saturation_rate=saturation, **shape) for c in grid]
    return Curve(points, chosen, cfg.max_sequences)
