"""Rank every GPU x cloud (x precision) that can serve a workload: the ``compare`` command."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from .api import candidates_for, resolve
from .catalog import loader
from .core.cost import cost_per_million_tokens
from .errors import InputError
from .inputs import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions, parse_precision


@dataclass
class ComparisonRow:
    """One GPU type on one cloud at one precision, in its cheapest SLO-meeting configuration."""

    gpu_type: str
    cloud: str
    precision: str
    tensor_parallel: int
    pipeline_parallel: int
    gpus_per_replica: int
    min_replicas: int
    max_replicas: int
    total_gpus: int
    rps_per_replica: float
    monthly_cost: float | None
    cost_per_million_tokens: float | None
    instance_type: str | None
    ttft_ms: float
    itl_ms: float
    meets_latency_sla: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_gpus(
    workload: LLMWorkloadInput,
    model: ModelConfig,
    options: ServingOptions | None = None,
    *,
    clouds: list[str] | None = None,
    precisions: list[str] | None = None,
    gpu_types: list[str] | None = None,
    target_gpu_utilization: float = 0.7,
) -> list[ComparisonRow]:
    """Rows sorted by monthly cost (SLO-meeting first, unpriced last)."""
    options = options or ServingOptions()
    known = loader.clouds()
    chosen_clouds = clouds or list(known)
    for cloud in chosen_clouds:
        if cloud not in known:
            raise InputError(f"--clouds {cloud!r} is not one of {', '.join(known)}")
    names = [parse_precision(p, "--precisions").name for p in (precisions or [model.precision])]
    rows: list[ComparisonRow] = []
    for precision in names:
        for cloud in chosen_clouds:
            request = resolve(
                workload,
                replace(model, precision=precision),
                GPUConfig(None, target_gpu_utilization),
                replace(options, cloud=cloud),
            )
            if gpu_types:
                request = replace(request, gpus=tuple(loader.resolve_gpu(g) for g in gpu_types))
            found, _ = candidates_for(request, cloud=cloud)
            rows += [_row(c, cloud, precision, workload) for c in found if c.cost_at_peak or gpu_types]
    rows.sort(key=lambda r: (not r.meets_latency_sla, r.monthly_cost is None, r.monthly_cost or 0.0, r.total_gpus))
    return rows


def _row(candidate: Any, cloud: str, precision: str, workload: LLMWorkloadInput) -> ComparisonRow:
    est, fleet, cost = candidate.estimate, candidate.fleet, candidate.cost_at_peak
    tokens_per_s = workload.requests_per_second * (workload.avg_input_tokens + workload.avg_output_tokens)
    return ComparisonRow(
        gpu_type=est.config.gpu.name,
        cloud=cloud,
        precision=precision,
        tensor_parallel=est.config.tp,
        pipeline_parallel=est.config.pp,
        gpus_per_replica=est.config.gpus,
        min_replicas=fleet.min_replicas,
        max_replicas=fleet.max_replicas,
        total_gpus=candidate.total_gpus,
        rps_per_replica=est.capacity.requests_per_s,
        monthly_cost=cost.monthly_usd if cost else None,
        cost_per_million_tokens=cost_per_million_tokens(cost.hourly_usd, tokens_per_s) if cost else None,
        instance_type=cost.instance_type if cost else None,
        ttft_ms=est.capacity.ttft_s * 1e3,
        itl_ms=est.capacity.itl_s * 1e3,
        meets_latency_sla=est.meets_slo,
    )
