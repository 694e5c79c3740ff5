"""Training estimates and comparisons: ``gpucast training-estimate`` and ``compare --mode training``.

Both run on the same search as the training planner (``plan.py``): one fixed configuration
(unpinned TP/PP/ZeRO/recomputation searched), or every GPU type x cloud ranked by total cost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..catalog import loader
from ..core.specs import GIB, Precision
from ..core.training_search import search_parallelism
from ..errors import InfeasibleError, InputError
from ..inputs.numbers import check_flag, check_instance, check_positive, fold_case, plain_numbers, whole
from ..inputs.training import (
    TrainingInput,
    TrainingOptions,
    check_parallel_sizes,
    check_training_setup,
    resolve_framework,
)
from ..inputs.types import DEFAULT_PRECISION, ModelConfig, parse_precision
from ..jsonable import dataclass_dict
from ..planning.request import resolve_model_spec
from .pins import check_fp8_recipe, check_tp_heads, pinned_options
from .plan import GB, best_for_gpu


@dataclass
class TrainingEstimateRequest:
    """One fixed training configuration (``gpucast training-estimate``)."""

    gpu: str
    num_gpus: int
    seq_len: int
    micro_batch: int
    model: str | None = None
    model_config: str | None = None
    shape: dict[str, Any] | None = None  # --layers --hidden ... (catalog.hf_config.model_from_shape)
    precision: str = "BF16"
    global_batch: int | None = None  # sequences
    global_batch_tokens: int | None = None
    tp: int | None = None
    pp: int | None = None
    zero: int | None = None
    method: str = "full"
    recompute: str | None = None
    optimizer: str = "adamw"
    lora_rank: int = 16
    lora_targets: tuple[str, ...] = ("q", "k", "v", "o")  # the matrices LoRA adapts (as `gpucast training` takes them)
    flash_attention: bool = True
    framework: str = "default"  # software stack (megatron, composer, torchtune, hf): fitted factors
    master_weights: str = "fp32"  # "bf16": pure BF16 weights, gradients and optimizer states
    cp: int = 1  # context parallelism (sequence split over CP ranks)
    vpp: int = 1  # virtual pipeline stages per PP rank (interleaved 1F1B)
    ep: int = 1  # expert parallelism (MoE)
    sequence_parallel: bool = True
    fp8_recipe: str | None = None  # delayed (default with FP8), current or mxfp8 (Blackwell)

    def __post_init__(self) -> None:
        plain_numbers(self)
        self.seq_len, self.global_batch_tokens = whole(self.seq_len), whole(self.global_batch_tokens)

    def validate(self) -> None:
        """Every value one InputError naming its flag, as ``TrainingOptions.validate`` checks the same settings
        (a None GPU count, a text ZeRO stage, an infinite LoRA rank or a number for --lora-targets was a
        TypeError or OverflowError inside the search)."""
        if not isinstance(self.gpu, str) or not self.gpu.strip():
            raise InputError(f"--gpu {self.gpu!r} must be a GPU name (see `gpucast gpus`)")
        for flag, value, required in (
            ("--num-gpus", self.num_gpus, True),
            ("--seq-len", self.seq_len, True),
            ("--micro-batch", self.micro_batch, False),
            ("--global-batch", self.global_batch, False),
            ("--global-batch-tokens", self.global_batch_tokens, False),
        ):
            if value is not None or required:
                check_positive(flag, value, integer=True, upper=10**12)
        check_parallel_sizes((("--tp", self.tp), ("--pp", self.pp)),
                             (("--cp", self.cp), ("--vpp", self.vpp), ("--ep", self.ep)))  # fmt: skip
        check_training_setup(self.master_weights, self.lora_rank, self.lora_targets, self.zero, self.recompute)
        for flag, value in (
            ("--flash-attention", self.flash_attention),
            ("--sequence-parallel", self.sequence_parallel),
        ):
            check_flag(flag, value)


@dataclass
class TrainingEstimateResult:
    tokens_per_s_per_gpu: float
    tokens_per_s: float
    mfu: float
    tflops_per_gpu: float
    memory_per_gpu_gb: float
    step_time_s: float
    fits: bool
    tp: int
    pp: int
    dp: int
    zero: int
    cp: int
    vpp: int
    ep: int
    micro_batch: int
    grad_accum: int
    recompute: str
    memory_breakdown_gb: dict[str, float]
    model: str
    gpu: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)


def estimate_training(request: TrainingEstimateRequest) -> TrainingEstimateResult:
    """Throughput, MFU and memory of one configuration; unpinned TP/PP/ZeRO/recompute are searched."""
    check_instance("request", request, TrainingEstimateRequest, 'TrainingEstimateRequest(gpu="H100", ...)')
    request = replace(  # names in any case, as `gpucast training` reads them ("AdamW", "LoRA")
        request, method=fold_case(request.method), recompute=fold_case(request.recompute),
        optimizer=fold_case(request.optimizer),
    )  # fmt: skip
    request.validate()
    pinned = (request.tp or 1) * (request.pp or 1) * request.cp
    if request.num_gpus % pinned:  # as `gpucast training` checks: the GPU count, not the batch, is what fails
        label = "TP x PP x CP" if request.cp > 1 else "TP x PP"
        raise InputError(
            f"{label} = {pinned} does not divide --num-gpus {request.num_gpus}: --num-gpus must be a multiple of {label}"
        )
    framework = resolve_framework(request.framework)
    model = ModelConfig(model_name=request.model, model_config_path=request.model_config, shape=request.shape)
    model.validate()
    spec, _ = resolve_model_spec(model)
    check_tp_heads(request.tp, spec)  # the same check as `gpucast training`
    gpu = loader.resolve_gpu(request.gpu)
    precision = parse_precision(request.precision)
    recipe = check_fp8_recipe(request.fp8_recipe, precision, gpu)
    if request.global_batch_tokens is not None:
        if request.global_batch_tokens % request.seq_len:
            raise InputError(
                f"--global-batch-tokens {request.global_batch_tokens} is not a multiple of --seq-len {request.seq_len}"
            )
        global_batch = request.global_batch_tokens // request.seq_len
    else:
        global_batch = request.global_batch or request.micro_batch * request.num_gpus
    try:
        setup, perf = search_parallelism(
            spec,
            gpu,
            num_gpus=request.num_gpus,
            seq_len=request.seq_len,
            global_batch_seqs=global_batch,
            precision=precision,
            method=request.method,
            optimizer=request.optimizer,
            lora_rank=request.lora_rank,
            lora_targets=tuple(request.lora_targets),
            flash_attention=request.flash_attention,
            tp=request.tp,
            pp=request.pp,
            zero=request.zero,
            micro_batch=request.micro_batch,
            recompute=request.recompute,
            eff=loader.training_efficiency_for(gpu),
            framework=framework,
            master_weights=request.master_weights == "fp32",
            cp=request.cp,
            vpp=request.vpp,
            ep=request.ep,
            sequence_parallel=request.sequence_parallel,
            fp8_recipe=recipe,
        )
    except ValueError as error:
        if isinstance(error, InputError):
            raise
        raise InputError(str(error)) from error
    mem = perf.memory
    return TrainingEstimateResult(
        tokens_per_s_per_gpu=perf.tokens_per_s_per_gpu,
        tokens_per_s=perf.tokens_per_s,
        mfu=perf.mfu,
        tflops_per_gpu=perf.tflops_per_gpu,
        memory_per_gpu_gb=mem.total * GIB / GB,
        step_time_s=perf.step_time_s,
        fits=perf.fits,
        tp=setup.tp,
        pp=setup.pp,
        dp=setup.dp,
        zero=setup.zero,
        cp=setup.cp,
        vpp=setup.vpp,
        ep=setup.ep,
        micro_batch=setup.micro_batch,
        grad_accum=setup.grad_accum,
        recompute=setup.recompute,
        memory_breakdown_gb={
            "weights": mem.weights * GIB / GB,
            "gradients": mem.gradients * GIB / GB,
            "optimizer_states": mem.optimizer_states * GIB / GB,
            "activations": mem.activations * GIB / GB,
            "buffers": mem.buffers * GIB / GB,
        },
        model=spec.name,
        gpu=gpu.name,
        method=request.method,
    )


@dataclass
class TrainingComparisonRow:
    gpu_type: str
    cloud: str
    gpus: int
    tensor_parallel: int
    pipeline_parallel: int
    data_parallel: int
    zero_stage: int
    tokens_per_s_per_gpu: float
    mfu: float
    hours: float
    total_cost: float | None
    instance_type: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)


def compare_training(
    training: TrainingInput,
    model: ModelConfig,
    options: TrainingOptions | None = None,
    *,
    clouds: list[str] | None = None,
    gpu_types: list[str] | None = None,
) -> list[TrainingComparisonRow]:
    """Every GPU type x cloud that can run the job (its fastest plan), cheapest total first."""

    options = options or TrainingOptions()
    training.validate()
    model.validate()
    known = loader.clouds()
    rows: list[TrainingComparisonRow] = []
    spec, _ = resolve_model_spec(model)
    options = pinned_options(options, spec)  # --dp, and pins the model cannot run, as `gpucast training` reads them
    precision = parse_precision(model.precision or DEFAULT_PRECISION)  # training keeps the default (plan.py)
    reasons: list[str] = []
    for cloud in clouds or list(known):
        if cloud not in known:
            raise InputError(f"--clouds {cloud!r} is not one of {', '.join(known)}")
        opts = replace(options, cloud=cloud)
        opts.validate(known)
        gpus = [loader.resolve_gpu(g) for g in gpu_types] if gpu_types else list(loader.priced_gpus(cloud))
        for gpu in gpus:
            chosen = precision if precision is not Precision.FP8 or gpu.supports("fp8") else Precision.BF16
            try:
                c = best_for_gpu(spec, gpu, training, opts, chosen)
            except InfeasibleError as error:
                reasons.append(str(error))
                continue
            if c.fleet is None and not gpu_types:
                continue
            rows.append(
                TrainingComparisonRow(
                    gpu.name,
                    cloud,
                    c.setup.num_gpus,
                    c.setup.tp,
                    c.setup.pp,
                    c.setup.dp,
                    c.setup.zero,
                    c.perf.tokens_per_s_per_gpu,
                    c.perf.mfu,
                    c.hours,
                    c.total_cost if c.fleet else None,
                    c.fleet.instance_type if c.fleet else None,
                )
            )
    if not rows:  # a question without an answer (exit 2), not an empty table (exit 0)
        raise InfeasibleError(
            f"no GPU type and cloud can run this training job: {reasons[0] if reasons else 'none is priced'}"
        )
    rows.sort(key=lambda r: (r.total_cost is None, r.total_cost or 0.0, r.hours))
    return _priced_where_sold(rows)


def _priced_where_sold(rows: list[TrainingComparisonRow]) -> list[TrainingComparisonRow]:
    """A named GPU is run on every cloud: one no cloud prices (an RTX 4090 at on-demand) was listed eight times, the
    same plan priced "n/a" on each, and one that some clouds price also on the others. Unpriced rows stay only for a
    GPU no cloud prices, once, as ``compare`` lists serving plans (``planning.compare._priced_where_sold``)."""
    priced = {r.gpu_type for r in rows if r.total_cost is not None}
    shown: set[str] = set()
    kept = []
    for row in rows:
        if row.total_cost is None and (row.gpu_type in priced or row.gpu_type in shown):
            continue
        shown.add(row.gpu_type)
        kept.append(row)
    return kept
