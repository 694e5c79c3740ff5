"""The seed's fine-tuning input (``TrainingInput``) and gpucast's training options, and their validation.

Split from ``inputs.types`` (serving inputs) so each file holds one kind of plan's inputs; the value checks
they share (``check_positive``, ``whole``) stay there. Every check names the flag, the value and what is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.training_setup import LORA_TARGET_NAMES
from ..errors import InputError
from .numbers import check_flag, check_instance, check_positive, fold_case, plain_numbers, whole
from .offers import check_pricing
from .types import GPUConfig, ModelConfig, model_and_gpu

OPTIMIZERS = ("Adam", "AdamW", "Adafactor", "SGD")


@dataclass
class TrainingInput:
    """Fine-tuning job (seed field names); planned by the training planner (roadmap item 3)."""

    dataset_size_tokens: int
    sequence_length: int
    num_epochs: int
    global_batch_size: int
    # None = chosen by the planner; a value given (1 included) is pinned. The default was 1, read as "searched", so
    # --micro-batch-size 1 could not pin 1 (64 GPUs planned micro batch 16) and --gradient-accumulation-steps was
    # ignored without a word; accumulation = global batch / (DP x micro batch), a warning says when it differs
    micro_batch_size: int | None = None
    gradient_accumulation_steps: int | None = None
    optimizer_type: str = "AdamW"
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        plain_numbers(self)
        self.dataset_size_tokens, self.sequence_length = whole(self.dataset_size_tokens), whole(self.sequence_length)

    def validate(self) -> None:
        # the REST body's bounds (web.schemas.TrainingSection), so the CLI, the desktop and the pages refuse alike:
        # unbounded, --sequence-length 1e308 was an OverflowError traceback and --dataset-size 1e20 a 1.7e11 h plan
        for name, value, upper in (
            ("dataset_size_tokens (--dataset-size)", self.dataset_size_tokens, 10**15),
            ("sequence_length (--sequence-length)", self.sequence_length, 10_000_000),
            ("num_epochs (--epochs)", self.num_epochs, 10_000),
            ("global_batch_size (--global-batch-size)", self.global_batch_size, 10_000_000),
        ):
            check_positive(name, value, integer=True, upper=upper)
        for name, given in (
            ("micro_batch_size (--micro-batch-size)", self.micro_batch_size),
            ("gradient_accumulation_steps (--gradient-accumulation-steps)", self.gradient_accumulation_steps),
        ):
            if given is not None:  # None: the planner chooses it
                check_positive(name, given, integer=True, upper=100_000)
        # else: "does not split over N GPUs", for every N
        if self.micro_batch_size is not None and self.micro_batch_size > self.global_batch_size:
            raise InputError(f"micro_batch_size (--micro-batch-size) {self.micro_batch_size} is larger than the "
                             f"global batch of {self.global_batch_size} sequences (--global-batch-size)")  # fmt: skip
        check_flag("training.gradient_checkpointing", self.gradient_checkpointing)  # a config's "no" is a true string
        self.optimizer_type = optimizer_name(self.optimizer_type)  # any case, as training-estimate's "adamw"
        if self.optimizer_type not in OPTIMIZERS:
            raise InputError(
                f"optimizer_type (--optimizer) {self.optimizer_type!r} is not one of {', '.join(OPTIMIZERS)}"
            )


def optimizer_name(value: Any) -> Any:
    """``OPTIMIZERS``' spelling of an optimizer given in any case ("adamw" -> "AdamW"); anything else unchanged,
    for the check that follows to name it."""
    canonical = {name.lower(): name for name in OPTIMIZERS}
    return canonical.get(value.strip().lower(), value) if isinstance(value, str) else value


METHODS = ("full", "lora", "qlora")


RECOMPUTE = ("none", "selective", "full")
OBJECTIVES = ("speed", "cost")
FRAMEWORKS = ("default", "megatron", "composer", "torchtune", "hf")  # = core.training_memory.FRAMEWORKS
# Names users give a software stack -> the fitted stack whose kernels and memory policy it runs (docs/fine-tune.md,
# "Software stacks"): Megatron-Core's family (TransformerEngine GEMMs, cuDNN fused attention, fused norms, distributed
# optimizer), PyTorch FSDP2 stacks with FlashAttention-2-class SDPA (torchtitan, DeepSpeed's ZeRO on PyTorch: the
# average "default" stack, on which torchtitan's rows are fitted), MosaicML's, torchtune's, and the eager Hugging Face
# stack (transformers + PEFT through the Trainer, TRL, axolotl or Unsloth; Unsloth's and axolotl's fused kernels are
# not measured, so they plan as the eager stack: an upper bound on their step time).
FRAMEWORK_ALIASES = {
    "megatron-core": "megatron", "mcore": "megatron", "megatron-lm": "megatron", "nemo": "megatron",
    "megatron-bridge": "megatron", "llm-foundry": "composer", "mosaicml": "composer", "torchtitan": "default",
    "fsdp2": "default", "fsdp": "default", "deepspeed": "default", "transformers": "hf", "hf-trainer": "hf",
    "trainer": "hf", "peft": "hf", "trl": "hf", "axolotl": "hf", "unsloth": "hf",
}  # fmt: skip


def resolve_framework(name: str) -> str:
    """The fitted stack id of ``--framework NAME`` (an id or an alias, any case), or an InputError listing both."""
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    if key in FRAMEWORKS:
        return key
    if key in FRAMEWORK_ALIASES:
        return FRAMEWORK_ALIASES[key]
    raise InputError(
        f"--framework {name!r} is not one of {', '.join(FRAMEWORKS)} or their aliases {', '.join(FRAMEWORK_ALIASES)}"
    )


@dataclass
class TrainingOptions:
    """gpucast's training additions: method, sharding, recomputation, GPUs, deadline, pricing."""

    method: str = "full"
    lora_rank: int = 16
    lora_targets: tuple[str, ...] = ("q", "k", "v", "o")
    optimizer_8bit: bool = False
    zero: int | None = None  # 0-3; None = searched (FSDP full shard = 3)
    recompute: str | None = None  # none|selective|full; None = searched (the seed's flag forces "full")
    flash_attention: bool = True
    tp: int | None = None
    pp: int | None = None
    dp: int | None = None  # with --dp the GPU count is TP x PP x DP (TP, PP default 1)
    num_gpus: int | None = None
    deadline_hours: float | None = None
    cloud: str = "aws"
    pricing: str = "on-demand"
    optimize: str = "speed"
    framework: str = "default"  # software stack: fitted GEMM/attention factors (training_calibration.toml)
    cp: int = 1  # context parallelism (sequence split over CP ranks)
    vpp: int = 1  # virtual pipeline stages per PP rank (interleaved 1F1B)
    ep: int = 1  # expert parallelism (MoE)
    sequence_parallel: bool = True  # False: TP without sequence parallelism
    fp8_recipe: str | None = None  # delayed (default with FP8), current or mxfp8 (Blackwell)
    master_weights: str = "fp32"  # fp32: FP32 master weights and optimizer states (mixed precision); bf16: pure BF16

    def __post_init__(self) -> None:
        plain_numbers(self)
        self.zero = whole(self.zero)

    def validate(self, known_clouds: tuple[str, ...]) -> None:
        # names in any case ("LoRA", "QLoRA" as the papers write them), as --framework and --precision are read
        self.method, self.recompute, self.optimize = map(fold_case, (self.method, self.recompute, self.optimize))
        self.master_weights = fold_case(self.master_weights)
        if self.method not in METHODS:
            raise InputError(f"--method {self.method!r} is not one of {', '.join(METHODS)}")
        check_training_setup(self.master_weights, self.lora_rank, self.lora_targets, self.zero, self.recompute,
                             targets_name="training.lora_targets")  # fmt: skip
        check_parallel_sizes(
            (("--tp", self.tp), ("--pp", self.pp), ("--dp", self.dp), ("--num-gpus", self.num_gpus)),
            (("--cp", self.cp), ("--vpp", self.vpp), ("--ep", self.ep)),
        )
        for key in ("sequence_parallel", "flash_attention", "optimizer_8bit"):  # a config's "no" is a true string
            check_flag(f"training.{key}", getattr(self, key))
        if self.dp is not None:
            implied = self.dp * (self.tp or 1) * (self.pp or 1) * self.cp
            if self.num_gpus is not None and self.num_gpus != implied:
                raise InputError(f"--num-gpus {self.num_gpus} is not TP x PP x CP x DP = {implied}")
        if self.deadline_hours is not None:
            check_positive("--deadline-hours", self.deadline_hours, upper=1e6)
        self.cloud = fold_case(self.cloud)  # "AWS" as --clouds reads it
        if not isinstance(self.cloud, str) or self.cloud not in known_clouds:
            raise InputError(f"--cloud {self.cloud!r} is not one of {', '.join(known_clouds)}")
        check_pricing(self.pricing)
        if self.optimize not in OBJECTIVES:
            raise InputError(f"--optimize {self.optimize!r} is not one of {', '.join(OBJECTIVES)}")
        self.framework = resolve_framework(self.framework)


def check_parallel_sizes(
    searched: tuple[tuple[str, int | None], ...], fixed: tuple[tuple[str, int | None], ...]
) -> None:
    """Pinned parallel sizes (None: searched) and the ones that default to 1 (CP, VPP, EP: None is no size; it
    was a TypeError deep in the search), each a whole number from 1 to 100,000; ``training`` and
    ``training-estimate`` alike."""
    for flag, value in searched:
        if value is not None:
            check_positive(flag, value, integer=True, upper=100_000)
    for flag, value in fixed:
        check_positive(flag, value, integer=True, upper=100_000)


def check_training_setup(
    master_weights: str,
    lora_rank: int,
    lora_targets: tuple[str, ...] | list[str],
    zero: int | None,
    recompute: str | None,
    *,
    targets_name: str = "--lora-targets",
) -> None:
    """The settings ``training`` (``TrainingOptions``) and ``training-estimate`` (``TrainingEstimateRequest``) both
    take, checked once: master weights, LoRA rank and targets, ZeRO stage (None: searched) and recomputation.
    ``targets_name``: how a targets value that is not a list of names is named (a config's key for ``training``)."""
    check_master_weights(master_weights)
    check_positive("--lora-rank", lora_rank, integer=True, upper=4096)
    check_lora_targets(lora_targets, targets_name)
    if zero is not None and (isinstance(zero, bool) or zero not in (0, 1, 2, 3)):
        raise InputError(f"--zero {zero!r} is not one of 0, 1, 2, 3")
    if recompute is not None and recompute not in RECOMPUTE:
        raise InputError(f"--recompute {recompute!r} is not one of {', '.join(RECOMPUTE)}")


def check_master_weights(value: str) -> None:
    """``--master-weights``: FP32 master weights and optimizer states (mixed precision) or pure BF16; ``training`` and
    ``training-estimate`` refuse anything else alike."""
    if value not in ("fp32", "bf16"):
        raise InputError(f"--master-weights {value!r} is not one of fp32, bf16")


def check_lora_targets(targets: tuple[str, ...] | list[str], name: str = "--lora-targets") -> None:
    """``--lora-targets``: at least one of the matrices LoRA can adapt (``core.training_setup.LORA_TARGET_NAMES``),
    the same check for ``training`` and ``training-estimate``."""
    if not isinstance(targets, (list, tuple)) or not all(isinstance(t, str) for t in targets):
        raise InputError(f"{name} {targets!r} must be a list of names among {', '.join(LORA_TARGET_NAMES)}, "
                         "e.g. [\"q\", \"v\"]")  # fmt: skip
    if not targets or any(t not in LORA_TARGET_NAMES for t in targets):
        raise InputError(f"--lora-targets {','.join(targets)!r} must be among {', '.join(LORA_TARGET_NAMES)}")


def training_arguments(
    training: object, model: object, gpu: object, options: object
) -> tuple[TrainingInput, ModelConfig, GPUConfig, TrainingOptions]:
    """``plan_training``'s arguments checked to be the dataclasses it takes (None or a dict for ``training`` was an
    AttributeError), with the defaults for ``gpu``/``options`` None; as ``inputs.types.serving_arguments``."""
    return (
        check_instance("training", training, TrainingInput, "TrainingInput(dataset_size_tokens=10**9, ...)"),
        *model_and_gpu(model, gpu),
        check_instance("options", TrainingOptions() if options is None else options, TrainingOptions,
                       'TrainingOptions(method="lora") or None'),
    )  # fmt: skip
