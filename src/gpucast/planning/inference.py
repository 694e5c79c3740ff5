"""``plan_inference``: the entry point every adapter calls to make an inference plan.

Validated inputs (``request.py``) -> the search over GPUs (``search.py``) -> the plan (``build.py``), through
``agent.py`` when agent / speculative / disaggregation inputs are given, and ``infeasible.py`` when no load
meets the SLOs. The seed's classes that wrap it are in ``gpucast.engines``.
"""

from __future__ import annotations

from dataclasses import asdict

from ..core.params import count_parameters
from ..core.percentiles import check_percentile
from ..errors import InfeasibleError
from ..inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from ..plans.inference import LLMCapacityPlan
from .agent import plan_with_options
from .build import build_plan
from .infeasible import require_feasible
from .request import ResolvedRequest, resolve
from .search import candidates_for, no_plan_message


def plan_inference(
    workload: LLMWorkloadInput,
    model: ModelConfig,
    gpu: GPUConfig | None = None,
    options: ServingOptions | None = None,
) -> LLMCapacityPlan:
    """Plan serving capacity: the cheapest GPU configuration meeting the SLOs (or the pinned GPU's best)."""
    request = resolve(workload, model, gpu, options)
    if request.variant.active or request.options.disaggregation:
        return plan_with_options(request, inputs=_echo(workload, model, gpu, request))
    found, reasons = candidates_for(request)
    if not found:
        raise InfeasibleError(no_plan_message(request, reasons))
    require_feasible(request, found, lambda changed: candidates_for(changed)[0])
    return build_plan(request, found, inputs=_echo(workload, model, gpu, request))


def _echo(
    workload: LLMWorkloadInput, model: ModelConfig, gpu: GPUConfig | None, request: ResolvedRequest
) -> dict[str, object]:
    opts = request.options
    return {
        "requests_per_second": workload.requests_per_second,
        "avg_input_tokens": workload.avg_input_tokens,
        "avg_output_tokens": workload.avg_output_tokens,
        "peak_load_multiplier": workload.peak_load_multiplier,
        "growth_rate": workload.growth_rate,
        "model": request.model.name,
        "model_size_billions": round(count_parameters(request.model).total / 1e9, 3),
        "precision": request.precision.name,
        "kv_precision": request.kv_precision.name,
        "context_window": request.settings.context_window,
        "batch_size": model.batch_size,
        "gpu_type": gpu.gpu_type if gpu else None,
        **({"gpu_types": list(gpu.gpu_types)} if gpu and gpu.gpu_types and not gpu.gpu_type else {}),
        "target_gpu_utilization": (gpu or GPUConfig()).target_gpu_utilization,
        "cloud": opts.cloud,
        "pricing": opts.pricing,
        "ttft_slo_ms": opts.ttft_slo_ms,
        "itl_slo_ms": opts.itl_slo_ms,
        "target_latency_ms": opts.target_latency_ms,
        "safety_margin": opts.safety_margin,
        "min_replicas": opts.min_replicas,
        "gpu_memory_utilization": request.settings.memory.gpu_memory_utilization,
        # as given (None: the engine's default, which depends on the GPU: vLLM 256, 1024 on 70 GiB+ GPUs but A100)
        "max_num_seqs": opts.max_num_seqs,
        "engine": opts.engine,
        **_echo_options(workload, opts),
    }


def _echo_options(workload: LLMWorkloadInput, opts: ServingOptions) -> dict[str, object]:
    """The agent / speculative / disaggregation inputs, only when given (plans without them are unchanged);
    keyed by the input dataclasses' field names so a plan's ``inputs`` rebuild its request."""
    echo: dict[str, object] = {}
    if workload.agent is not None:
        echo["agent"] = asdict(workload.agent)
    if workload.length_profile is not None:  # issue 21: the request-length distribution and the SLOs' statistic
        echo["length_profile"] = workload.length_profile
    echo["slo_percentile"] = check_percentile(opts.slo_percentile)  # always: its default changed (mean -> 99)
    if opts.speculative_tokens:
        echo |= {"speculative_tokens": opts.speculative_tokens, "acceptance_rate": opts.acceptance_rate,
                 "draft_model": opts.draft_model}  # fmt: skip
    if opts.disaggregation:
        echo |= {"disaggregation": True, "kv_transfer_gb_s": opts.kv_transfer_gb_s}
    # issue 28's choices, only when given: the providers searched, the region, the tier
    if opts.clouds is not None:
        echo["clouds"] = opts.clouds if isinstance(opts.clouds, str) else ",".join(opts.clouds)
    echo |= {key: getattr(opts, key) for key in ("region", "criticality") if getattr(opts, key) is not None}
    if opts.price_max_age_days != 90:
        echo["price_max_age_days"] = opts.price_max_age_days
    if opts.engine_version:  # an older engine release may run the model on earlier kernels (core.engine_era)
        echo["engine_version"] = opts.engine_version
    return echo
