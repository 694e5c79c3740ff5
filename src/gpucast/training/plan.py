"""Training and fine-tuning plans: validated inputs -> core.training search -> TrainingCapacityPlan.

GPU count: ``--num-gpus`` when given; with ``--deadline-hours`` the fewest GPUs (whole nodes
beyond one node) that finish in time; otherwise the fewest that fit in memory; with ``--optimize cost`` the cheapest
of those and the next few counts. GPU type: the
one given, or every GPU priced on the cloud, keeping the cheapest run (``--optimize cost``) or
the fastest (default) among those that finish by the deadline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ..catalog import loader
from ..core.cost import FleetCost, cheapest_fleet
from ..core.params import count_parameters
from ..core.specs import GIB, GPUSpec, ModelSpec, Precision
from ..core.training_search import search_parallelism
from ..errors import InfeasibleError, InputError
from ..inputs.training import TrainingInput, TrainingOptions, training_arguments
from ..inputs.types import DEFAULT_PRECISION, GPUConfig, ModelConfig, parse_precision
from ..planning.request import resolve_model_spec
from ..plans.training import (
    Parallelism,
    TrainingCapacityPlan,
    TrainingCost,
    TrainingGPUResources,
    TrainingMetrics,
)
from ..version import __version__
from ..wording import duration
from .pins import check_fp8_recipe, pinned_options
from .plan_notes import flops_note, plan_inputs, plan_warnings, state_bytes

GB = 1e9
_OPTIMIZERS = {"adam": "adam", "adamw": "adamw", "adafactor": "adafactor", "sgd": "sgd"}


@dataclass(frozen=True)
class Candidate:
    """One GPU type's best configuration for the run, with its duration and cost."""

    setup: Any  # core.training_memory.TrainingSetup
    perf: Any  # core.training.TrainingPerf
    gpu: GPUSpec
    fleet: FleetCost | None
    hours: float

    @property
    def total_cost(self) -> float:
        return self.fleet.hourly_usd * self.hours if self.fleet else math.inf


def gpu_counts(gpu: GPUSpec, limit: int = 4096) -> list[int]:
    """GPU counts to try: 1, 2, 4 ... up to a node, then whole nodes (1, 2, 3, 4, 6, 8, 9, 13, 16 ... nodes).

    The powers of two of nodes are always among them: past 4 nodes the x1.5 steps (6, 9, 13, 19, 28 ...) hold an odd
    factor, so a power-of-two global batch split over none of them, and 405B (which needs 128 H100s) was "cannot be
    trained", a 1 h deadline "the fastest plan tried (32 GPUs) takes 1.29 h"."""
    counts, n = [], 1
    while n < gpu.gpus_per_node:
        counts.append(n)
        n *= 2
    nodes, node_counts = 1, set()
    while nodes * gpu.gpus_per_node <= limit:
        node_counts.add(nodes)
        nodes = nodes + 1 if nodes < 4 else int(nodes * 1.5)
    power = 1
    while power * gpu.gpus_per_node <= limit:
        node_counts.add(power)
        power *= 2
    return counts + [k * gpu.gpus_per_node for k in sorted(node_counts)]


def _optimizer(training: TrainingInput, options: TrainingOptions) -> str:
    name = _OPTIMIZERS[training.optimizer_type.lower()]
    return "adamw8bit" if options.optimizer_8bit and name in ("adam", "adamw") else name


def _search(
    model: ModelSpec,
    gpu: GPUSpec,
    num_gpus: int,
    training: TrainingInput,
    options: TrainingOptions,
    precision: Precision,
) -> Any:
    recompute = options.recompute or ("full" if training.gradient_checkpointing else None)
    return search_parallelism(
        model,
        gpu,
        num_gpus=num_gpus,
        seq_len=training.sequence_length,
        global_batch_seqs=training.global_batch_size,
        precision=precision,
        method=options.method,
        optimizer=_optimizer(training, options),
        lora_rank=options.lora_rank,
        lora_targets=tuple(options.lora_targets),
        zero=options.zero,
        tp=options.tp,
        pp=options.pp,
        recompute=recompute,
        flash_attention=options.flash_attention,
        micro_batch=training.micro_batch_size,
        eff=loader.training_efficiency_for(gpu),
        objective="speed",
        framework=options.framework,
        cp=options.cp,
        vpp=options.vpp,
        ep=options.ep,
        sequence_parallel=options.sequence_parallel,
        fp8_recipe=check_fp8_recipe(options.fp8_recipe, precision, gpu),
        master_weights=options.master_weights == "fp32",
    )


# --optimize cost: how many GPU counts past the fewest that finish in time are priced too (2: about 1.6 s for every
# GPU type of the catalog, against 1.0 s for the fewest alone). More GPUs usually cost the
# same GPU-hours, but a count that forces deeper TP/PP or less ZeRO sharding runs slower per GPU: 70B full fine-tune
# on H100 costs $3,946 on 32 GPUs (TP=8 PP=2) and $3,712 on 64 (TP=4 PP=4), in 8.4 h instead of 17.9 (QA 2026-12-07)
COST_SEARCH_MORE_COUNTS = 2


def best_for_gpu(
    model: ModelSpec, gpu: GPUSpec, training: TrainingInput, options: TrainingOptions, precision: Precision
) -> Candidate:
    total_tokens = training.dataset_size_tokens * training.num_epochs
    counts = [options.num_gpus] if options.num_gpus else gpu_counts(gpu)
    prices = loader.prices_for(options.cloud, gpu.id)
    last_error: Exception | None = None
    fastest: Candidate | None = None
    cheapest: Candidate | None = None  # --optimize cost: the cheapest of the first counts that finish in time
    tried_after = 0
    for n in counts:
        if cheapest is not None and tried_after >= COST_SEARCH_MORE_COUNTS:
            break
        try:
            setup, perf = _search(model, gpu, n, training, options, precision)
        except InputError as error:
            if options.num_gpus:
                raise  # the user's GPU count and batch are inconsistent: not this GPU type's fault
            generic = "whole micro-batches"  # the search's "batch does not split": keep the first, or a later reason
            if last_error is None or (generic in str(last_error) and generic not in str(error)):
                last_error = error
            continue
        except (InfeasibleError, ValueError) as error:
            last_error = error
            continue
        hours = total_tokens / perf.tokens_per_s / 3600.0
        fleet = cheapest_fleet(prices, gpus_per_replica=n, replicas=1, pricing=options.pricing, tp=setup.tp)
        candidate = Candidate(setup, perf, gpu, fleet, hours)
        if fleet is not None and fleet.paid_gpus > n and not options.num_gpus:
            candidate = _fill_paid_instances(candidate, fleet.paid_gpus, total_tokens, model, training, options,
                                             precision, prices)  # fmt: skip
        if options.deadline_hours is None or hours <= options.deadline_hours:
            if options.optimize != "cost" or options.num_gpus:
                return candidate
            if cheapest is not None:
                tried_after += 1
            if cheapest is None or (candidate.total_cost, candidate.hours) < (cheapest.total_cost, cheapest.hours):
                cheapest = candidate
            continue
        if fastest is None or hours < fastest.hours:
            fastest = candidate
    if cheapest is not None:
        return cheapest
    if fastest is not None:
        raise InfeasibleError(
            f"{model.name} on {gpu.name}: the fastest plan tried ({fastest.setup.num_gpus} GPUs) takes "
            f"{fastest.hours:.3g} h, more than --deadline-hours {options.deadline_hours:g}"
        )
    raise InfeasibleError(f"{model.name} cannot be trained on {gpu.name}: {last_error}")


def _fill_paid_instances(
    candidate: Candidate, paid: int, total_tokens: float, model: ModelSpec, training: TrainingInput,
    options: TrainingOptions, precision: Precision, prices: list[Any],
) -> Candidate:  # fmt: skip
    """Clouds rent GPUs by the instance (AWS sells A100-40GB only as the 8-GPU p4d): GPUs paid for anyway join the
    run (more data-parallel ranks), the same hourly cost for a shorter run. Kept only if the batch splits over
    them and the run is cheaper; otherwise the smaller run stands (and the plan reports idle GPUs)."""
    try:
        setup, perf = _search(model, candidate.gpu, paid, training, options, precision)
    except (InputError, InfeasibleError, ValueError):
        return candidate
    hours = total_tokens / perf.tokens_per_s / 3600.0
    fleet = cheapest_fleet(prices, gpus_per_replica=paid, replicas=1, pricing=options.pricing, tp=setup.tp)
    filled = Candidate(setup, perf, candidate.gpu, fleet, hours)
    return filled if filled.total_cost < candidate.total_cost else candidate


def plan_training(
    training: TrainingInput,
    model: ModelConfig,
    gpu: GPUConfig | None = None,
    options: TrainingOptions | None = None,
) -> TrainingCapacityPlan:
    """Plan a fine-tuning or pre-training run: GPUs, parallelism, memory, duration and cost."""
    training, model, gpu, options = training_arguments(training, model, gpu, options)
    training.validate()
    model.validate()
    gpu.validate()
    options.validate(loader.clouds())
    spec, note = resolve_model_spec(model)
    options = pinned_options(options, spec)
    # Training does not take a quantized checkpoint's storage precision (FP8 DeepSeek weights are fine-tuned in
    # mixed precision): without --precision it trains at the seed's default, as before.
    precision = parse_precision(model.precision or DEFAULT_PRECISION)
    if precision not in (Precision.BF16, Precision.FP16, Precision.FP8, Precision.FP32):
        raise InputError(f"--precision {precision.name} is not a training precision (BF16, FP16, FP8 or FP32)")
    gpus = [loader.resolve_gpu(gpu.gpu_type)] if gpu.gpu_type else list(loader.priced_gpus(options.cloud))
    found: list[Candidate] = []
    reasons: list[str] = []
    closest: tuple[tuple[float, float], str] | None = None  # the most capable GPU's reason (most memory, then BF16)
    if gpu.gpu_type:  # one GPU named: a recipe it cannot run is the user's error
        check_fp8_recipe(options.fp8_recipe, precision, gpus[0])
    elif options.fp8_recipe is not None:
        check_fp8_recipe(options.fp8_recipe, precision, loader.resolve_gpu("b200"))  # the flag itself
    for candidate_gpu in gpus:
        if options.fp8_recipe == "mxfp8" and candidate_gpu.family != "blackwell":
            reasons.append(f"{candidate_gpu.name}: --fp8-recipe mxfp8 needs a Blackwell GPU")
            continue
        chosen = precision
        if precision is Precision.FP8 and not candidate_gpu.supports("fp8"):
            if gpu.gpu_type:
                raise InputError(f"{candidate_gpu.name} has no FP8 tensor cores: use --precision BF16")
            chosen = Precision.BF16
        try:
            found.append(best_for_gpu(spec, candidate_gpu, training, options, chosen))
        except InfeasibleError as error:
            reasons.append(str(error))
            rank = (candidate_gpu.memory_gib, candidate_gpu.dense_tflops.get("bf16", 0.0))
            if closest is None or rank > closest[0]:
                closest = (rank, str(error))
    if not found:
        if len(reasons) == 1:
            raise InfeasibleError(reasons[0])
        # the first GPU tried (often a V100) is the furthest from a run that fits or meets the deadline: name the
        # most capable one's reason, the one a user would try next
        best = closest[1] if closest is not None else reasons[0]
        raise InfeasibleError(f"no GPU type of {len(reasons)} tried can run it; on the most capable: {best}")
    if options.optimize == "cost":
        found.sort(key=lambda c: (c.total_cost, c.hours))
    else:
        found.sort(key=lambda c: (c.hours, c.total_cost))
    short = _single_gpu_option(found[0], spec, gpus, training, options, precision)
    return _build(training, model, options, spec, note, found, short)


def _single_gpu_option(
    best: Candidate, spec: ModelSpec, gpus: list[GPUSpec], training: TrainingInput, options: TrainingOptions,
    precision: Precision,
) -> Candidate | None:  # fmt: skip
    """When the chosen run is shorter than an instance's practical minimum (``catalog/run_overhead.toml``) on more
    than one GPU, the cheapest single-GPU run that meets the deadline: the option to show beside it (issue 23: a
    0.3 h LoRA run on a whole 8 x B200 node). None when the run is long enough, one GPU was asked for, or the
    single GPU costs more even so — both billed for start-up plus the run, at least the practical minimum (on AWS
    one A100-40GB is a whole 8-GPU p4d: $190 for 8.6 h beside $22 for the 8-GPU run's hour)."""
    startup, minimum = loader.run_overhead()
    if best.hours >= minimum or best.setup.num_gpus == 1 or options.num_gpus:
        return None
    single: list[Candidate] = []
    for gpu in gpus:
        chosen = Precision.BF16 if precision is Precision.FP8 and not gpu.supports("fp8") else precision
        try:
            found = best_for_gpu(spec, gpu, training, replace(options, num_gpus=1, tp=1, pp=1), chosen)
        except (InfeasibleError, InputError):
            continue
        if found.fleet is not None:
            single.append(found)
    if not single:
        return None
    cheapest = min(single, key=lambda c: (c.total_cost, c.hours))

    def billed(run: Candidate) -> float:
        return run.fleet.hourly_usd * max(run.hours + startup, minimum) if run.fleet else math.inf

    return cheapest if best.fleet is None or billed(cheapest) < billed(best) else None


def _build(
    training: TrainingInput,
    model: ModelConfig,
    options: TrainingOptions,
    spec: ModelSpec,
    note: str,
    ranked: list[Candidate],
    single: Candidate | None = None,
) -> TrainingCapacityPlan:
    best = ranked[0]
    perf, setup, mem, gpu = best.perf, best.setup, best.perf.memory, best.gpu
    tokens_per_step = setup.tokens_per_step
    steps_per_epoch = math.ceil(training.dataset_size_tokens / tokens_per_step)
    hours_per_epoch = training.dataset_size_tokens / perf.tokens_per_s / 3600.0
    n = setup.num_gpus
    resources = TrainingGPUResources(
        gpu_memory_per_gpu_gb=mem.total * GIB / GB,
        model_weights_gb=mem.weights * GIB / GB,
        gradients_gb=mem.gradients * GIB / GB,
        optimizer_states_gb=mem.optimizer_states * GIB / GB,
        activations_gb=mem.activations * GIB / GB,
        buffers_gb=mem.buffers * GIB / GB,
        required_gpus=n,
        recommended_gpu_type=gpu.name,
        gpu_memory_gb=gpu.memory_bytes / GB,
        fits=perf.fits,
        headroom_gb=(gpu.memory_gib - mem.total) * GIB / GB,
        nodes=math.ceil(n / gpu.gpus_per_node),
        gpus_per_node=min(n, gpu.gpus_per_node),
    )
    parallelism = Parallelism(
        setup.tp, setup.pp, setup.dp, setup.zero, setup.micro_batch, setup.grad_accum, setup.recompute,
        setup.flash_attention, setup.cp, setup.vpp, setup.ep,
    )  # fmt: skip
    metrics = TrainingMetrics(
        tokens_per_second_per_gpu=perf.tokens_per_s_per_gpu,
        total_tokens_per_second=perf.tokens_per_s,
        steps_per_epoch=steps_per_epoch,
        total_steps=steps_per_epoch * training.num_epochs,
        estimated_duration_hours=best.hours,
        estimated_duration_days=best.hours / 24.0,
        mfu=perf.mfu,
        tflops_per_gpu=perf.tflops_per_gpu,
        step_time_s=perf.step_time_s,
        flops_per_token=perf.flops.model,
    )
    cost = None
    if best.fleet is not None:
        f = best.fleet
        cost = TrainingCost(
            gpu_cost_per_hour=f.hourly_usd,
            total_training_cost=f.hourly_usd * best.hours,
            cost_per_epoch=f.hourly_usd * hours_per_epoch,
            cloud=f.cloud,
            region=f.region,
            pricing=f.pricing,
            instance_type=f.instance_type,
            instances=f.instances,
            price_source=f.source,
            gpu_hourly_cost=f.gpu_hourly_usd,
            price_as_of=f.as_of,
        )
    params = count_parameters(spec)
    warnings = plan_warnings(training, model, options, spec, best, single, priced=cost is not None)
    return TrainingCapacityPlan(
        inputs=plan_inputs(training, model, options, setup),
        model={"name": spec.name, "total_params_b": params.total / 1e9, "source": note},
        gpu_resources=resources,
        parallelism=parallelism,
        training_metrics=metrics,
        cost=cost,
        assumptions=[
            f"Model: {note}",
            flops_note(setup),
            f"MFU {perf.mfu:.0%} from the fitted step-time model (catalog/training_calibration.toml): GEMMs, "
            "attention, element-wise traffic, recomputation and exposed TP/PP/DP communication"
            + (", and the NF4 weights' dequantization (catalog/qlora_dequant.toml)" if setup.method == "qlora" else ""),
            state_bytes(setup) + " before ZeRO/FSDP sharding; activations per Korthikanti et al. 2022",
        ],
        warnings=warnings,
        recommendation=(
            f"{n} x {gpu.name} ({resources.nodes} node(s)), TP={setup.tp} PP={setup.pp} "
            + "".join(f"{k}={v} " for k, v in (("CP", setup.cp), ("VPP", setup.vpp), ("EP", setup.ep)) if v > 1)
            + f"DP={setup.dp} "
            f"ZeRO-{setup.zero}, micro batch {setup.micro_batch} x {setup.grad_accum} accumulation, "
            f"recompute {setup.recompute}: {duration(best.hours)}"
        ),
        alternatives=[
            {
                "gpu_type": c.gpu.name,
                "gpus": c.setup.num_gpus,
                "hours": c.hours,
                "total_cost": c.total_cost if c.fleet else None,
                **(
                    {"note": "single GPU: the run is shorter than an instance's practical minimum"}
                    if c is single
                    else {}
                ),
            }
            for c in ([single] if single is not None else []) + ranked[1:6]
        ],
        versions={"gpucast": __version__, **loader.catalog_versions()},
    )
