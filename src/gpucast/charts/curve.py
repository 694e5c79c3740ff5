"""Throughput and latency against concurrency for a plan's replica, from the planner's own estimator.

The curve re-runs :func:`gpucast.core.serving.operating_point` on the replica the plan chose (same model,
GPU, precisions, TP/PP, memory settings and queueing at the planned peak utilization as
:func:`gpucast.core.inference.estimate_replica`), so the marked operating point is the plan's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..api import resolve
from ..catalog import loader
from ..core.inference import replica_config
from ..core.serving import OperatingPoint, operating_point
from ..inputs import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions

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
    shape = {
        "input_tokens": request.workload.input_tokens,
        "output_tokens": request.workload.output_tokens,
        "queue_utilization": request.settings.peak_utilization,
    }
    chosen = int(throughput["concurrency_per_replica"])
    points = [operating_point(cfg, concurrency=c, **shape) for c in concurrency_grid(cfg.max_sequences, chosen)]
    return Curve(points, operating_point(cfg, concurrency=max(chosen, 1), **shape), cfg.max_sequences)
