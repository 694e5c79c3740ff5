"""gpucast's Python API: validated inputs -> pure core -> LLMCapacityPlan.

Every adapter (CLI, config files, later web and chat) calls these functions. The seed's
class names are kept: ``InferenceEngine().generate_plan(workload, model)`` and
``LLMForecastEngine().generate_inference_plan(...)`` / ``compare_gpu_options(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .catalog import loader
from .core.agent_search import ServingVariant, VariantCandidate, best_variant_for_gpu
from .core.inference import SLO, PlanSettings, Workload
from .core.memory import MemorySettings
from .core.params import count_parameters, representative_dense_model
from .core.search import Candidate, best_for_gpu
from .core.specs import GPUSpec, ModelSpec, Precision
from .errors import InfeasibleError, InputError
from .infeasible import require_feasible
from .inputs import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions, parse_precision, resolve_precision
from .plan import LLMCapacityPlan
from .plan_builder import build_plan

if TYPE_CHECKING:
    from .capacity_timeline import FutureNeeds
    from .compare import ComparisonRow
    from .inputs import TrainingInput, TrainingOptions
    from .training_plan import TrainingCapacityPlan

T = TypeVar("T")


@dataclass(frozen=True)
class ResolvedRequest:
    """Inputs after validation and catalog lookup: what the core needs."""

    model: ModelSpec
    precision: Precision
    kv_precision: Precision
    workload: Workload
    slo: SLO
    settings: PlanSettings
    options: ServingOptions
    gpus: tuple[GPUSpec, ...]
    gpu_pinned: bool
    model_note: str
    variant: ServingVariant = field(default_factory=ServingVariant)  # agent / speculative inputs; off by default
    notes: tuple[str, ...] = ()  # warnings found while resolving (e.g. context window raised for an agent)
    # why the precision was chosen when the caller gave none and the checkpoint's was used ("" otherwise);
    # also appended to model_note, which the plan's assumptions print
    precision_note: str = ""


def resolve_model_spec(model: ModelConfig) -> tuple[ModelSpec, str]:
    """The architecture to plan for, and a note saying where it came from."""
    if model.model_name is not None:
        spec = loader.resolve_model(model.model_name)
        return spec, f"{spec.name} from the catalog ({spec.source})"
    if model.model_config_path is not None:
        spec = loader.read_hf_config(model.model_config_path)
        return spec, f"architecture read from {model.model_config_path}"
    assert model.model_size_billions is not None  # validate() guarantees one source
    try:
        spec = representative_dense_model(float(model.model_size_billions))
    except ValueError as error:
        raise InputError(f"--model-size {model.model_size_billions!r}: {error}") from error
    return spec, f"--model-size {model.model_size_billions:g} mapped to {spec.name}: {spec.note}"


def resolve(
    workload: LLMWorkloadInput,
    model: ModelConfig,
    gpu: GPUConfig | None = None,
    options: ServingOptions | None = None,
) -> ResolvedRequest:
    """Validate every input and look names up in the catalogs (raises GpucastError)."""
    gpu = gpu or GPUConfig()
    options = options or ServingOptions()
    workload.validate()
    model.validate()
    gpu.validate()
    options.validate(loader.clouds(), tuple(loader.load_engines()))
    engine = loader.resolve_engine(options.engine)
    spec, note = resolve_model_spec(model)
    spec = engine.serves(spec)
    precision, precision_note = resolve_precision(model.precision, spec, from_catalog=model.model_name is not None)
    kv = (
        parse_precision(model.kv_precision, "--kv-precision")
        if model.kv_precision
        else engine.default_kv_precision(precision)
    )
    from .agent_plan import resolve_variant

    variant, context_window, notes = resolve_variant(workload, model, options, spec, precision)
    needed = workload.avg_input_tokens + workload.avg_output_tokens
    if context_window < needed:
        raise InputError(
            f"--context-window {model.context_window} is smaller than input + output tokens "
            f"({workload.avg_input_tokens} + {workload.avg_output_tokens} = {needed})"
        )
    if gpu.gpu_type is not None:
        gpus: tuple[GPUSpec, ...] = (loader.resolve_gpu(gpu.gpu_type),)
    else:
        priced = {p.gpu_id for p in loader.load_prices() if p.cloud == options.cloud}
        gpus = tuple(g for key, g in loader.load_gpus().items() if key in priced)
    settings = PlanSettings(
        target_utilization=gpu.target_gpu_utilization,
        safety_margin=options.safety_margin,
        min_replicas=options.min_replicas,
        engine_max_sequences=options.max_num_seqs or engine.max_num_seqs,
        max_sequences_cap=model.batch_size,
        context_window=context_window,
        memory=MemorySettings.for_engine(engine, options.gpu_memory_utilization),
    )
    return ResolvedRequest(
        model=spec,
        precision=precision,
        kv_precision=kv,
        workload=Workload(
            workload.requests_per_second,
            workload.avg_input_tokens,
            workload.avg_output_tokens,
            workload.peak_load_multiplier,
            workload.growth_rate,
        ),
        slo=SLO(options.ttft_slo_ms, options.itl_slo_ms, options.target_latency_ms),
        settings=settings,
        options=options,
        gpus=gpus,
        gpu_pinned=gpu.gpu_type is not None,
        model_note=note,
        variant=variant,
        notes=notes,
        precision_note=precision_note,
    )


def candidates_for(request: ResolvedRequest, *, cloud: str | None = None) -> tuple[list[Candidate], list[str]]:
    """The best configuration of every allowed GPU, ranked; plus why the others failed."""
    if request.variant.active:
        ranked, why = variant_candidates_for(request, cloud=cloud)
        return [v.candidate for v in ranked], why
    found, reasons = _per_gpu(request, cloud, best_for_gpu)
    found.sort(key=Candidate.sort_key)
    return found, reasons


def variant_candidates_for(
    request: ResolvedRequest, *, cloud: str | None = None
) -> tuple[list[VariantCandidate], list[str]]:
    """``candidates_for`` with the agent / speculative inputs, keeping what they changed per GPU."""
    found, reasons = _per_gpu(request, cloud, lambda **search: best_variant_for_gpu(variant=request.variant, **search))
    found.sort(key=lambda v: v.candidate.sort_key())
    return found, reasons


def _per_gpu(request: ResolvedRequest, cloud: str | None, search: Callable[..., T]) -> tuple[list[T], list[str]]:
    """Run ``search`` (the best configuration of one GPU) for every allowed GPU; collect why the others fail."""
    cloud = cloud or request.options.cloud
    found: list[T] = []
    reasons: list[str] = []
    for gpu in request.gpus:
        try:
            found.append(
                search(
                    model=request.model,
                    gpu=gpu,
                    efficiency=loader.efficiency_for(gpu, request.options.engine),
                    precision=request.precision,
                    kv_precision=request.kv_precision,
                    workload=request.workload,
                    slo=request.slo,
                    settings=request.settings,
                    prices=loader.prices_for(cloud, gpu.id),
                    pricing=request.options.pricing,
                    tp=request.options.tp,
                    pp=request.options.pp,
                )
            )
        except InfeasibleError as error:
            reasons.append(f"{gpu.name}: {error}")
    return found, reasons


def plan_inference(
    workload: LLMWorkloadInput,
    model: ModelConfig,
    gpu: GPUConfig | None = None,
    options: ServingOptions | None = None,
) -> LLMCapacityPlan:
    """Plan serving capacity: the cheapest GPU configuration meeting the SLOs (or the pinned GPU's best)."""
    request = resolve(workload, model, gpu, options)
    if request.variant.active or request.options.disaggregation:
        from .agent_plan import plan_with_options

        return plan_with_options(request, inputs=_echo(workload, model, gpu, request))
    found, reasons = candidates_for(request)
    if not found:
        raise InfeasibleError(no_plan_message(request, reasons))
    require_feasible(request, found, lambda changed: candidates_for(changed)[0])
    return build_plan(request, found, inputs=_echo(workload, model, gpu, request))


def no_plan_message(request: ResolvedRequest, reasons: list[str]) -> str:
    detail = reasons[0] if len(reasons) == 1 else f"no allowed GPU can hold it ({len(reasons)} tried)"
    return f"{request.model.name} at {request.precision.name} cannot be served: {detail}"


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
        "context_window": model.context_window,
        "batch_size": model.batch_size,
        "gpu_type": gpu.gpu_type if gpu else None,
        "target_gpu_utilization": (gpu or GPUConfig()).target_gpu_utilization,
        "cloud": opts.cloud,
        "pricing": opts.pricing,
        "ttft_slo_ms": opts.ttft_slo_ms,
        "itl_slo_ms": opts.itl_slo_ms,
        "target_latency_ms": opts.target_latency_ms,
        "safety_margin": opts.safety_margin,
        "min_replicas": opts.min_replicas,
        "gpu_memory_utilization": request.settings.memory.gpu_memory_utilization,
        "max_num_seqs": request.settings.engine_max_sequences,
        "engine": opts.engine,
        **_echo_options(workload, opts),
    }


def _echo_options(workload: LLMWorkloadInput, opts: ServingOptions) -> dict[str, object]:
    """The agent / speculative / disaggregation inputs, only when given (plans without them are unchanged);
    keyed by the input dataclasses' field names so a plan's ``inputs`` rebuild its request."""
    echo: dict[str, object] = {}
    if workload.agent is not None:
        echo["agent"] = asdict(workload.agent)
    if opts.speculative_tokens:
        echo |= {"speculative_tokens": opts.speculative_tokens, "acceptance_rate": opts.acceptance_rate,
                 "draft_model": opts.draft_model}  # fmt: skip
    if opts.disaggregation:
        echo |= {"disaggregation": True, "kv_transfer_gb_s": opts.kv_transfer_gb_s}
    return echo


class InferenceEngine:
    """Seed-compatible entry point: ``InferenceEngine().generate_plan(workload, model)``."""

    def generate_plan(
        self,
        workload: LLMWorkloadInput,
        model: ModelConfig,
        gpu: GPUConfig | None = None,
        options: ServingOptions | None = None,
    ) -> LLMCapacityPlan:
        return plan_inference(workload, model, gpu, options)


class LLMForecastEngine:
    """Seed-compatible facade over every planner."""

    def generate_inference_plan(
        self,
        workload: LLMWorkloadInput,
        model: ModelConfig,
        gpu: GPUConfig | None = None,
        options: ServingOptions | None = None,
    ) -> LLMCapacityPlan:
        return plan_inference(workload, model, gpu, options)

    def generate_training_plan(
        self,
        training: TrainingInput,
        model: ModelConfig,
        gpu: GPUConfig | None = None,
        options: TrainingOptions | None = None,
    ) -> TrainingCapacityPlan:
        from .training_api import plan_training

        return plan_training(training, model, gpu, options)

    def forecast_future_needs(
        self,
        rps_history: Any,
        model: ModelConfig | None,
        horizon_days: float,
        scenario: str = "baseline",
        **kwargs: Any,
    ) -> FutureNeeds:
        """Seed API: forecast hourly RPS history and size capacity per day (needs the ``forecast`` extra)."""
        from .capacity_timeline import forecast_future_needs

        return forecast_future_needs(rps_history, model, horizon_days, scenario, **kwargs)

    def compare_gpu_options(
        self,
        workload: LLMWorkloadInput,
        model: ModelConfig,
        options: ServingOptions | None = None,
        *,
        clouds: list[str] | None = None,
        precisions: list[str] | None = None,
        gpu_types: list[str] | None = None,
    ) -> list[ComparisonRow]:
        from .compare import compare_gpus  # imported lazily: keeps CLI start-up small

        return compare_gpus(workload, model, options, clouds=clouds, precisions=precisions, gpu_types=gpu_types)
