"""One training configuration (pure, standard library only): what the memory and time formulas
(``training_memory``, ``training``) read, and the checks that make every accepted setup one a framework can run."""

from __future__ import annotations

from dataclasses import dataclass

from .specs import GPUSpec, ModelSpec, Precision
from .training_parallel import parallelism_problem

METHODS = ("full", "lora", "qlora")
OPTIMIZERS = ("adam", "adamw", "adafactor", "sgd", "adamw8bit")
RECOMPUTE = ("none", "selective", "full")
TRAINING_PRECISIONS = (Precision.BF16, Precision.FP16, Precision.FP8, Precision.FP32)
# Software stacks with their own fitted factors (TrainingEfficiency.frameworks): Megatron-LM/Megatron-Core,
# MosaicML Composer/llm-foundry (PyTorch FSDP), torchtune, "hf" (eager PyTorch + Hugging Face transformers + PEFT:
# the HF Trainer or a plain training loop); "default" is an average stack (factors 1).
FRAMEWORKS = ("default", "megatron", "composer", "torchtune", "hf")
LORA_TARGET_NAMES = ("q", "k", "v", "o", "gate", "up", "down")


@dataclass(frozen=True)
class TrainingSetup:
    """One training configuration: model, GPU, method, optimizer, parallelism and memory savers.

    ``tp * pp * dp`` GPUs; each DP rank runs ``grad_accum`` micro-batches of ``micro_batch``
    sequences of ``seq_len`` tokens per optimizer step, so the global batch is
    ``micro_batch * grad_accum * dp`` sequences. ``zero`` 3 is FSDP FULL_SHARD, 2 SHARD_GRAD_OP.
    """

    model: ModelSpec
    gpu: GPUSpec
    precision: Precision = Precision.BF16
    method: str = "full"
    lora_rank: int = 16
    lora_targets: tuple[str, ...] = ("q", "k", "v", "o")
    optimizer: str = "adamw"
    zero: int = 0
    tp: int = 1
    pp: int = 1
    dp: int = 1
    micro_batch: int = 1
    seq_len: int = 2048
    grad_accum: int = 1
    recompute: str = "none"
    flash_attention: bool = True
    cpu_offload: bool = False  # optimizer states + gradients (+ weights under ZeRO-3) in host memory
    master_weights: bool = True  # False: pure BF16 (no FP32 master, BF16 optimizer states)
    chunked_loss: bool = False  # cross-entropy over LOSS_CHUNKS chunks of the logits (torchtune)
    optimizer_in_backward: bool = False  # step each parameter in backward: one layer of gradients live
    activation_offload: bool = False  # checkpointed layer inputs are kept in host memory
    network_gbit_s: float = 0.0  # inter-node bandwidth per GPU; 0 = the GPU family's default
    tp_comm_overlap: bool = False  # TP collectives overlapped with GEMMs (Megatron-Core/TransformerEngine)
    framework: str = "default"  # software stack (FRAMEWORKS): selects TrainingEfficiency.frameworks factors
    cp: int = 1  # context parallelism: each sequence split over cp ranks (ring attention)
    vpp: int = 1  # virtual pipeline stages per PP rank (interleaved 1F1B)
    ep: int = 1  # expert parallelism (MoE): routed experts split over ep ranks drawn from TP x CP x DP
    sequence_parallel: bool = True  # norms/dropout activations split over TP (Megatron-Core's default with TP > 1)
    fp8_recipe: str = "delayed"  # FP8_RECIPES: per-tensor delayed or current scaling, MXFP8 blocks (Blackwell)
    dropout: bool = False  # hidden/attention dropout on (GPT-3-era recipes); today's LLM recipes train without it

    def __post_init__(self) -> None:
        checks = (
            (self.method in METHODS, f"method {self.method!r} is not one of {', '.join(METHODS)}"),
            (self.optimizer in OPTIMIZERS, f"optimizer {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}"),
            (self.recompute in RECOMPUTE, f"recompute {self.recompute!r} is not one of {', '.join(RECOMPUTE)}"),
            (self.zero in (0, 1, 2, 3), f"zero stage {self.zero!r} is not one of 0, 1, 2, 3"),
            (self.precision in TRAINING_PRECISIONS, f"precision {self.precision.name} is not a training precision"),
            (
                self.precision is not Precision.FP8 or self.gpu.supports("fp8"),
                f"{self.gpu.name} has no FP8 tensor cores; train in BF16",
            ),
            (self.framework in FRAMEWORKS, f"framework {self.framework!r} is not one of {', '.join(FRAMEWORKS)}"),
            (
                set(self.lora_targets) <= set(LORA_TARGET_NAMES),
                f"LoRA targets must be among {', '.join(LORA_TARGET_NAMES)}",
            ),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        for name in ("lora_rank", "tp", "pp", "dp", "micro_batch", "seq_len", "grad_accum", "cp", "vpp", "ep"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        problem = parallelism_problem(self)
        if problem:
            raise ValueError(problem)

    @property
    def num_gpus(self) -> int:
        return self.tp * self.pp * self.cp * self.dp

    @property
    def global_batch_seqs(self) -> int:
        return self.micro_batch * self.grad_accum * self.dp

    @property
    def tokens_per_step(self) -> int:
        return self.global_batch_seqs * self.seq_len
