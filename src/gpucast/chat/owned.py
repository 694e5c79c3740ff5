"""The GPUs the user already has ("we have 8 H100s running Llama 3.1 8B: how much can they serve?"), against the
serving plan: how many replicas of the plan's layout they hold and how much traffic those serve within the targets
(the plan's capacity per replica, the number ``gpucast estimate --slo-capacity`` gives for that fleet). Before
2026-12-08 the count was dropped without a word and only the plan's own fleet was printed."""

from __future__ import annotations

from typing import Any

from ..core.layout import Layout
from ..wording import counted, rate
from .values import Values


def owned_fleet_line(answers: Values, plan: Any) -> str:
    """One paragraph: the user's GPUs as replicas of the plan's layout, their capacity within the targets, and how
    it compares with the plan's fleet at the planned peak."""
    owned = int(answers["owned_gpus"])
    res, thr, scaling = plan.gpu_resources, plan.throughput, plan.scaling
    gpu, per_replica = res.recommended_gpu_type, int(res.min_gpus_per_replica)
    yours = f"Your {owned} x {gpu}" if answers.get("gpu") else f"Your {counted(owned, 'GPU')}, if they are {gpu}s,"
    layout = Layout(res.tensor_parallel, res.pipeline_parallel, res.expert_parallel, res.attention_data_parallel)
    if not thr.meets_latency_sla:
        return f"{yours}: no load meets the targets on this GPU, so the count does not change the answer above."
    replicas = owned // per_replica
    if replicas == 0:
        return (f"{yours}: one replica of this plan needs {per_replica} ({layout.label()}), more than you have; "
                "a smaller or quantized model, or more GPUs, would fit.")  # fmt: skip
    capacity = replicas * thr.rps_per_replica
    spare = owned - replicas * per_replica
    left = f" ({counted(spare, 'GPU')} left over)" if spare else ""
    needed = int(res.max_replicas)
    verdict = (
        f"enough for the plan's {counted(needed, 'replica')} at the planned peak of {rate(scaling.peak_rps)} "
        "requests/s with its headroom"
        if replicas >= needed
        else f"short of the {counted(needed, 'replica')} the plan sizes for the planned peak of "
        f"{rate(scaling.peak_rps)} requests/s with its headroom"
    )
    return (f"{yours} hold {counted(replicas, 'replica')} of the plan's {layout.label()} layout{left}: within the "
            f"targets they serve up to {rate(capacity)} requests/s ({rate(thr.rps_per_replica)} each), "
            f"{verdict}.")  # fmt: skip
