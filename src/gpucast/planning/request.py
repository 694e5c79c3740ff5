"""A request resolved: every input validated and every name looked up in the catalogs.

``resolve`` turns the Python API's input dataclasses into a ``ResolvedRequest`` (what the core needs);
``resolve_variant`` turns the agent-workload and speculative-decoding inputs into the core's ``ServingVariant``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..catalog import loader
from ..catalog.hf_config import model_from_shape
from ..core.agent import AgentShape, largest_calls, max_context_tokens
from ..core.agent_search import ServingVariant
from ..core.cost import INTERRUPTIBLE
from ..core.engine_era import parse_engine_version
from ..core.engine_releases import for_engine_release
from ..core.memory import MemorySettings
from ..core.params import count_parameters, representative_dense_model
from ..core.percentiles import LengthProfile, check_percentile
from ..core.specs import EngineSpec, GPUSpec, ModelSpec, Precision
from ..core.speculative import SpeculativeConfig
from ..core.workload import SLO, PlanSettings, Workload
from ..errors import InputError
from ..inputs.length_profile import resolve_length_profile
from ..inputs.offers import check_pricing
from ..inputs.types import (
    DEFAULT_CONTEXT_WINDOW,
    GPUConfig,
    LLMWorkloadInput,
    ModelConfig,
    ServingOptions,
    parse_precision,
    resolve_precision,
    serving_arguments,
)


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
    clouds: tuple[str, ...] = ()  # the providers searched (() = options.cloud alone)
    region: str | None = None  # only prices of this region (None: every region)
    price_notes: tuple[str, ...] = ()  # what the criticality tier removed from --pricing

    @property
    def searched_clouds(self) -> tuple[str, ...]:
        return self.clouds or (self.options.cloud,)


CONFIG_NOTE = "architecture read from "  # a plan's model source for a config.json (plan files re-read it from there)


def resolve_model_spec(model: ModelConfig) -> tuple[ModelSpec, str]:
    """The architecture to plan for, and a note saying where it came from."""
    if model.model_name is not None:
        spec = loader.resolve_model(model.model_name)
        return spec, f"{spec.name} from the catalog ({spec.source})"
    if model.model_config_path is not None:
        spec = loader.read_hf_config(model.model_config_path)
        return spec, f"{CONFIG_NOTE}{model.model_config_path}"
    if model.shape:
        spec = model_from_shape(model.shape)
        return spec, f"{spec.name} from the shape flags"
    assert model.model_size_billions is not None  # validate() guarantees one source
    try:
        spec = representative_dense_model(float(model.model_size_billions))
    except ValueError as error:
        raise InputError(f"--model-size {model.model_size_billions!r}: {error}") from error
    return spec, f"--model-size {model.model_size_billions:g} mapped to {spec.name}: {spec.note}"


VENDOR_NAMES = {"nvidia": "NVIDIA", "amd": "AMD"}


def engine_gpus(engine: EngineSpec, gpus: tuple[GPUSpec, ...], *, named: bool) -> tuple[GPUSpec, ...]:
    """The GPUs of ``gpus`` the engine runs on (TensorRT-LLM and NIM: NVIDIA only). GPUs the user ``named`` (--gpu,
    compare's --gpus, a service's allowed GPUs) of which the engine runs on none are an input error; the priced GPUs
    searched by default are filtered without a word."""
    kept = tuple(g for g in gpus if engine.runs_on(g))
    if named and not kept:
        vendors = " and ".join(VENDOR_NAMES.get(v, v) for v in engine.vendors)
        names = ", ".join(dict.fromkeys(f"{g.name} ({VENDOR_NAMES.get(g.vendor, g.vendor)})" for g in gpus))
        raise InputError(f"--engine {engine.id}: {engine.name} runs on {vendors} GPUs only, not on {names}; "
                         "choose another engine (vllm and sglang run on both) or GPU")  # fmt: skip
    return kept


def weight_only_note(gpu: GPUSpec, precision: Precision) -> str | None:
    """The warning for a precision the GPU has no tensor cores for (FP8 on Ampere, FP4 before Blackwell): engines
    dequantize the weights and multiply in FP16, so the smaller weights save memory and bandwidth, not compute.
    One wording for ``inference``, ``estimate`` and ``compare``."""
    if gpu.supports(precision.value.compute_key):
        return None
    return (
        f"{gpu.name} has no native {precision.name} tensor cores: weights are dequantized and multiplied in FP16 "
        "(weight-only), so only memory, not compute, benefits"
    )


def check_request_fits(spec: ModelSpec, input_tokens: int, output_tokens: int) -> None:
    """A request longer than the model's context window (``max_position_embeddings``) is an input error, as it is
    for a length profile's or an agent's longest request: engines refuse a ``max_model_len`` beyond it (vLLM: "User-
    specified max_model_len ... is greater than the derived max_model_len"), so no fleet can serve it."""
    if input_tokens + output_tokens > spec.max_context:
        raise InputError(
            f"input + output tokens ({input_tokens:,} + {output_tokens:,} = {input_tokens + output_tokens:,}) exceed "
            f"{spec.name}'s {spec.max_context:,}-token context window: shorten the requests or choose a "
            "longer-context model"
        )


def check_window_fits(spec: ModelSpec, context_window: int | None, flag: str = "--context-window") -> None:
    """A ``--context-window`` beyond the model's own (``max_position_embeddings``) is an input error, as a request
    longer than it is: the plan would launch an engine with that ``max_model_len``, which vLLM refuses ("User-specified
    max_model_len ... is greater than the derived max_model_len") and SGLang too without an override flag."""
    if context_window is not None and context_window > spec.max_context:
        raise InputError(
            f"{flag} {context_window:,} exceeds {spec.name}'s {spec.max_context:,}-token context window: "
            "engines refuse a longer max_model_len; use at most that, or a longer-context model"
        )


def release_memory(
    engine: EngineSpec, fraction: float | None, engine_version: str | None, spec: ModelSpec, max_model_len: int
) -> MemorySettings:
    """The engine's memory settings at ``engine_version`` (``MemorySettings.for_engine`` with its large-GPU rule,
    then ``for_engine_release``: the release's profiling budget, overhead and default fraction rule) for ``spec``
    launched with ``max_model_len``; resolved per GPU and layout later (``engine_releases.replica_memory``). One
    composition for the planner, ``estimate`` and the export of a plan file older than its recorded budget."""
    return for_engine_release(
        MemorySettings.for_engine(engine, fraction, loader.large_gpu_rule(engine, engine_version)),
        engine.id,
        spec,
        parse_engine_version(engine_version),
        max_model_len,
    )


def sequence_limits(engine: EngineSpec, max_num_seqs: int | None, engine_version: str | None) -> dict[str, Any]:
    """The PlanSettings fields of the engine's sequence limit: ``--max-num-seqs`` as given, else the engine's default
    (its large-GPU one where the release has it), and whether it caps each attention-DP rank. Plans and ``estimate``
    read the limit alike."""
    return {
        "engine_max_sequences": max_num_seqs or engine.max_num_seqs,
        "max_sequences_per_dp_rank": loader.sequences_capped_per_dp_rank(engine.id),
        "large_gpu_max_sequences": None if max_num_seqs else loader.large_gpu_rule(engine, engine_version),
    }


def check_profile_fits(spec: ModelSpec, lengths: LengthProfile) -> None:
    """``check_request_fits`` for a length profile: its longest request must fit the model's context window."""
    if lengths.longest > spec.max_context:
        raise InputError(
            f"--length-profile {lengths.name!r} holds requests of up to {lengths.longest:,} tokens (prompt + output), "
            f"beyond {spec.name}'s {spec.max_context:,}-token window: choose a profile of shorter requests or a "
            "longer-context model"
        )


def resolve(
    workload: LLMWorkloadInput,
    model: ModelConfig,
    gpu: GPUConfig | None = None,
    options: ServingOptions | None = None,
) -> ResolvedRequest:
    """Validate every input and look names up in the catalogs (raises GpucastError)."""
    workload, model, gpu, options = serving_arguments(workload, model, gpu, options)
    workload.validate()
    model.validate()
    gpu.validate()
    options.validate(loader.clouds(), tuple(loader.load_engines()))
    clouds, region, options, price_notes = resolve_offers(options)
    engine = loader.resolve_engine(options.engine)
    spec, note = resolve_model_spec(model)
    spec = engine.serves(spec)
    workload, lengths = _with_length_profile(workload)
    precision, precision_note = resolve_precision(model.precision, spec, from_catalog=model.model_name is not None)
    kv = (
        parse_precision(model.kv_precision, "--kv-precision")
        if model.kv_precision
        else engine.default_kv_precision(precision)
    )
    variant, context_window, notes = resolve_variant(workload, model, options, spec, precision)
    if lengths is not None:
        context_window, notes = _profile_window(lengths, spec, context_window, notes)
    needed = workload.avg_input_tokens + workload.avg_output_tokens
    if model.model_name is not None or model.model_config_path is not None:  # a real checkpoint's own limit
        check_request_fits(spec, workload.avg_input_tokens, workload.avg_output_tokens)
        check_window_fits(spec, model.context_window)
    if context_window < needed:
        raise InputError(
            f"--context-window {model.context_window} is smaller than input + output tokens "
            f"({workload.avg_input_tokens} + {workload.avg_output_tokens} = {needed})"
        )
    if gpu.gpu_type is not None:
        gpus: tuple[GPUSpec, ...] = engine_gpus(engine, (loader.resolve_gpu(gpu.gpu_type),), named=True)
    elif gpu.gpu_types:  # a service's allowed GPUs: choose among them only
        gpus = engine_gpus(engine, tuple(dict.fromkeys(loader.resolve_gpu(name) for name in gpu.gpu_types)), named=True)
    else:
        gpus = engine_gpus(engine, loader.priced_gpus(clouds, region), named=False)
    settings = PlanSettings(
        target_utilization=gpu.target_gpu_utilization,
        safety_margin=options.safety_margin,
        min_replicas=options.min_replicas,
        **sequence_limits(engine, options.max_num_seqs, options.engine_version),
        max_sequences_cap=model.batch_size,
        context_window=context_window,
        # the engine's max_model_len is the context window, as the plan launches it
        memory=release_memory(engine, options.gpu_memory_utilization, options.engine_version, spec, context_window),
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
            lengths,
        ),
        slo=SLO(
            options.ttft_slo_ms, options.itl_slo_ms, options.target_latency_ms, check_percentile(options.slo_percentile)
        ),
        settings=settings,
        options=options,
        gpus=gpus,
        gpu_pinned=gpu.gpu_type is not None,
        model_note=note,
        variant=variant,
        notes=notes,
        price_notes=price_notes,
        precision_note=precision_note,
        clouds=clouds,
        region=region,
    )


def _with_length_profile(workload: LLMWorkloadInput) -> tuple[LLMWorkloadInput, LengthProfile | None]:
    """The workload with the length profile's means as its average request, and the profile (None: fixed lengths)."""
    if workload.length_profile is None:
        return workload, None
    lengths = resolve_length_profile(workload.length_profile)
    means = max(1, round(lengths.mean_input)), max(1, round(lengths.mean_output))
    return replace(workload, avg_input_tokens=means[0], avg_output_tokens=means[1]), lengths


def _profile_window(
    lengths: LengthProfile, spec: ModelSpec, window: int, notes: tuple[str, ...]
) -> tuple[int, tuple[str, ...]]:
    """The context window raised to the profile's longest request (prompt + output), which the engine must admit."""
    check_profile_fits(spec, lengths)
    longest = lengths.longest
    if longest <= window:
        return window, notes
    note = (f"context window raised from {window} to {longest} tokens: the longest requests of length profile "
            f"{lengths.name!r} hold {longest} tokens (engine max_model_len must allow it)")  # fmt: skip
    return longest, (*notes, note)


def resolve_offers(options: ServingOptions) -> tuple[tuple[str, ...], str | None, ServingOptions, tuple[str, ...]]:
    """(clouds, region, options with the pricing models the tier allows, notes): where the plan may rent GPUs.

    A service whose criticality tier forbids interruptible capacity (criticality.toml) never gets spot or
    marketplace offers: they are dropped from ``--pricing`` (with a note), and asking for nothing else is an error.
    """
    clouds = options.chosen_clouds(loader.clouds())
    region = options.region.strip() if options.region else None
    if region is not None:
        loader.check_region(region)
        offered = [c for c in clouds if region in loader.regions(c)]
        if not offered:
            raise InputError(
                f"--region {region!r} is not a region of {', '.join(clouds)}: it has prices on "
                f"{', '.join(c for c in loader.clouds() if region in loader.regions(c))}"
            )
        clouds = tuple(offered)
    models = check_pricing(options.pricing)
    notes: tuple[str, ...] = ()
    tier = options.criticality
    if tier is not None and not loader.interruptible_allowed(tier):
        kept = tuple(m for m in models if m not in INTERRUPTIBLE)
        dropped = [m for m in models if m in INTERRUPTIBLE]
        if not kept:
            raise InputError(
                f"--pricing {options.pricing!r} is not allowed for a {tier} service: its criticality tier forbids "
                "interruptible capacity (spot, marketplace); use on-demand, 1yr or 3yr"
            )
        if dropped:
            notes = (f"{' and '.join(dropped)} capacity not considered: criticality {tier} forbids interruptible "
                     "capacity (criticality.toml)",)  # fmt: skip
        models = kept
    return clouds, region, replace(options, pricing=",".join(models)), notes


def resolve_variant(
    workload: LLMWorkloadInput, model: ModelConfig, options: ServingOptions, spec: ModelSpec, precision: Precision
) -> tuple[ServingVariant, int, tuple[str, ...]]:
    """(variant, context window to plan with, notes) from the validated inputs."""
    del precision  # the draft runs at the target's precision (set per replica)
    notes: list[str] = []
    needed = workload.avg_input_tokens + workload.avg_output_tokens
    # without --context-window: the seed's 4096 up to the model's own window (vLLM refuses a longer max_model_len:
    # GPT-J's 2048), or the request itself where it is longer (the plan's assumptions say)
    default = max(min(DEFAULT_CONTEXT_WINDOW, spec.max_context), needed)
    window = model.context_window if model.context_window is not None else default
    shape: AgentShape | None = None
    agent = workload.agent
    if agent is not None:
        shape = agent.shape(workload.avg_output_tokens)
        if shape.distribution == "fixed" and shape.max_calls and shape.calls_per_task > shape.max_calls:
            notes.append(
                f"every task capped at {shape.max_calls} calls (--max-calls-per-task) although --calls-per-task is "
                f"{shape.calls_per_task:g}: the plan serves {shape.max_calls} calls per task"
            )
        longest = max_context_tokens(shape)
        if longest > spec.max_context:
            raise InputError(
                f"agent context grows to {longest} tokens by call {largest_calls(shape)} (prompt + output), beyond "
                f"{spec.name}'s {spec.max_context}-token window: reduce --calls-per-task (or --max-calls-per-task), "
                "--context-growth-tokens or --output-tokens"
            )
        if longest > window:
            notes.append(
                f"context window raised from {window} to {longest} tokens: the longest task's last call holds "
                f"{longest} tokens (engine max_model_len must allow it)"
            )
            window = longest
    speculative = resolve_speculation(spec, options.speculative_tokens, options.acceptance_rate, options.draft_model)
    variant = ServingVariant(
        agent=shape,
        prefix_caching=agent.prefix_caching if agent is not None else True,
        prefix_cache_gib=agent.prefix_cache_gib if agent is not None else None,
        speculative=speculative,
        task_slo_ms=agent.task_latency_slo_ms if agent is not None else None,
    )
    return variant, window, tuple(notes)


def resolve_speculation(
    spec: ModelSpec, speculative_tokens: int, acceptance_rate: float | None, draft_model: str
) -> SpeculativeConfig | None:
    """The speculative-decoding configuration of validated inputs (``check_speculation``), or None when off: the
    proposer is 'mtp' (an MTP/EAGLE head) or a catalog model that shares the target's tokenizer and is smaller.
    ``inference`` and ``estimate`` both resolve it here, so a plan re-estimates with the same proposer."""
    if not speculative_tokens:
        return None
    draft = None
    name = draft_model.strip()
    if name.lower() != "mtp":
        draft = loader.resolve_model(name, "--draft-model")
        if draft.vocab_size != spec.vocab_size:
            raise InputError(
                f"--draft-model {name!r} has a {draft.vocab_size}-token vocabulary, {spec.name} "
                f"{spec.vocab_size}: a draft model must share the target's tokenizer"
            )
        draft_active, target_active = count_parameters(draft).active, count_parameters(spec).active
        if draft_active >= target_active:  # each proposed token would cost as much as the target's own step
            raise InputError(
                f"--draft-model {name!r} ({draft_active / 1e9:.1f}B parameters per token) is not smaller than "
                f"{spec.name} ({target_active / 1e9:.1f}B): a draft model proposes tokens more cheaply than the "
                "target; use a smaller model of the same family or 'mtp'"
            )
    assert acceptance_rate is not None  # check_speculation requires it with speculative_tokens
    return SpeculativeConfig(speculative_tokens, float(acceptance_rate), "draft" if draft is not None else "mtp", draft)
