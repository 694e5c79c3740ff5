"""Training flags that only the training commands take: a model by its shape, the large-run parallelism and the
FP8 recipe (``training`` and ``training-estimate``), and ``training-estimate``'s own flags."""

from __future__ import annotations

import argparse
from typing import Any

from ..console.flags import token_count


def add_shape_flags(parser: argparse.ArgumentParser) -> None:
    """An architecture given by its shape instead of a name (``catalog.hf_config.model_from_shape``)."""
    shape = parser.add_argument_group("model shape (instead of --model / --model-config)")
    shape.add_argument("--layers", type=int, help="transformer layers")
    shape.add_argument("--hidden", type=int, help="hidden size (model width)")
    shape.add_argument("--heads", type=int, help="attention (query) heads; must divide --hidden")
    shape.add_argument("--kv-heads", type=int, help="key/value heads (GQA), dividing --heads (default --heads)")
    shape.add_argument("--ffn", type=int, help="MLP width, per expert with --experts (default 4 x --hidden)")
    shape.add_argument("--vocab", type=int, help="vocabulary size")
    shape.add_argument("--mlp", help="gated (SwiGLU, 3 matrices; default) or plain (GELU / squared ReLU, 2 matrices)")
    shape.add_argument("--experts", type=int, help="routed experts per MoE layer (every layer MoE)")
    shape.add_argument("--active-experts", type=int, help="experts per token (with --experts)")


SHAPE_DESTS = ("layers", "hidden", "heads", "kv_heads", "ffn", "vocab", "mlp", "experts", "active_experts")


def shape_from_args(args: argparse.Namespace) -> dict[str, Any] | None:
    """The shape flags the user gave, or None when none was given."""
    shape = {k: getattr(args, k) for k in SHAPE_DESTS if getattr(args, k, None) is not None}
    return shape or None


def add_training_estimate_flags(parser: argparse.ArgumentParser) -> None:
    """``gpucast training-estimate``: one training configuration."""
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", help="catalog model name, alias or Hugging Face id (or the shape flags)")
    model.add_argument("--model-config", help="path to a Hugging Face config.json")
    add_shape_flags(parser)
    parser.add_argument("--gpu", "--gpu-type", dest="gpu", required=True, help="GPU type")
    parser.add_argument("--num-gpus", type=int, required=True, help="GPUs in total (TP x PP x DP)")
    parser.add_argument("--precision", default="BF16", help="BF16, FP16, FP8 or FP32 (default BF16)")
    parser.add_argument("--seq-len", type=token_count, required=True, help="sequence length")
    parser.add_argument("--micro-batch", type=int, required=True, help="micro batch per GPU (sequences)")
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument("--global-batch-tokens", type=token_count, help="global batch in tokens")
    batch.add_argument("--global-batch", type=int, help="global batch in sequences (default micro batch x GPUs)")
    parser.add_argument("--tp", type=int, help="tensor parallelism (default: searched)")
    parser.add_argument("--pp", type=int, help="pipeline parallelism (default: searched)")
    parser.add_argument("--zero", type=int, help="ZeRO stage 0-3 (default: searched)")
    parser.add_argument("--method", default="full", help="full, lora or qlora (default full)")
    parser.add_argument("--recompute", help="none, selective or full (default: searched)")
    parser.add_argument("--optimizer", default="adamw", help="adam, adamw, adafactor, sgd or adamw8bit")
    parser.add_argument("--lora-rank", type=int, default=16, help="LoRA rank (default 16)")
    parser.add_argument(
        "--lora-targets", default=("q", "k", "v", "o"), type=lambda v: tuple(x.strip() for x in v.split(",") if x.strip()),
        help="matrices LoRA adapts, e.g. q,k,v,o (default) or q,k,v,o,gate,up,down",
    )  # fmt: skip
    parser.add_argument("--no-flash-attention", dest="flash_attention", action="store_false", help="no flash attention")
    parser.add_argument(
        "--framework", default="default",
        help="default, megatron, composer, torchtune or hf, or an alias: nemo, torchtitan, deepspeed, peft, axolotl ...",
    )  # fmt: skip
    parser.add_argument(
        "--master-weights",
        default="fp32",
        choices=("fp32", "bf16"),
        help="fp32: FP32 master weights and AdamW states (mixed precision, default); bf16: pure BF16 training",
    )
    add_parallelism_flags(parser, with_ep=True)
    parser.add_argument("--json", action="store_true", help="print JSON")


def add_parallelism_flags(parser: argparse.ArgumentParser, *, with_ep: bool) -> None:
    """Context, virtual-pipeline and expert parallelism, sequence parallelism and the FP8 recipe (training)."""
    group = parser.add_argument_group("large-run parallelism and FP8 recipe (training)")
    group.add_argument("--cp", type=int, help="context parallelism: each sequence split over CP ranks (default 1)")
    group.add_argument("--vpp", type=int, help="virtual pipeline stages per PP rank, interleaved 1F1B (default 1)")
    if with_ep:
        group.add_argument("--ep", type=int, help="expert parallelism of a MoE model (default 1)")
    group.add_argument(
        "--no-sequence-parallel", dest="sequence_parallel", action="store_const", const=False,
        help="TP without sequence parallelism: norm and dropout activations replicated on every TP rank",
    )  # fmt: skip
    group.add_argument("--fp8-recipe", help="with --precision FP8: delayed (default), current or mxfp8 (Blackwell)")


def training_request_from_args(args: argparse.Namespace) -> Any:
    from ..training.estimate import TrainingEstimateRequest

    return TrainingEstimateRequest(
        gpu=args.gpu, num_gpus=args.num_gpus, seq_len=args.seq_len, micro_batch=args.micro_batch, model=args.model,
        model_config=args.model_config, shape=shape_from_args(args), precision=args.precision, global_batch=args.global_batch,
        global_batch_tokens=args.global_batch_tokens, tp=args.tp, pp=args.pp, zero=args.zero, method=args.method,
        recompute=args.recompute, optimizer=args.optimizer, lora_rank=args.lora_rank, lora_targets=args.lora_targets, framework=args.framework,
        flash_attention=args.flash_attention, master_weights=args.master_weights, cp=_or_one(args.cp), vpp=_or_one(args.vpp),
        ep=_or_one(args.ep), sequence_parallel=args.sequence_parallel is not False, fp8_recipe=args.fp8_recipe,
    )  # fmt: skip


def _or_one(value: int | None) -> int:
    """A parallelism flag left out is 1; a given 0 or negative value stays, for validation to name it."""
    return 1 if value is None else value


# `gpucast training` shares the seed's parser groups with `forecast` and `inference`; these flags size a serving plan
# and a training plan never reads them (TrainingOptions takes only the cloud, pricing and TP/PP/EP of the serving
# section). Written as the user types them where the flag is not the dest's own spelling.
SERVING_ONLY = {
    "rps": "--rps", "input_tokens": "--input-tokens", "output_tokens": "--output-tokens",
    "peak_multiplier": "--peak-multiplier", "growth_rate": "--growth-rate", "length_profile": "--length-profile",
    "context_window": "--context-window", "batch_size": "--batch-size", "kv_precision": "--kv-precision",
    "target_gpu_utilization": "--target-gpu-utilization", "target_latency": "--target-latency",
    "ttft_slo_ms": "--ttft-slo-ms", "itl_slo_ms": "--itl-slo-ms", "slo_percentile": "--slo-percentile",
    "engine": "--engine", "engine_version": "--engine-version", "safety_margin": "--safety-margin",
    "min_replicas": "--min-replicas", "dp_attention": "--dp-attention",
    "gpu_memory_utilization": "--gpu-memory-utilization", "max_num_seqs": "--max-num-seqs",
    "require_slo": "--allow-infeasible", "speculative_tokens": "--speculative-tokens",
    "acceptance_rate": "--acceptance-rate", "draft_model": "--draft-model", "disaggregation": "--disaggregation",
    "kv_transfer_gb_s": "--kv-transfer-gb-s", "tasks_per_second": "--tasks-per-second",
    "calls_per_task": "--calls-per-task", "shared_prefix_tokens": "--shared-prefix-tokens",
    "context_growth_tokens": "--context-growth-tokens", "think_time_s": "--think-time-s",
    "calls_distribution": "--calls-distribution", "max_calls_per_task": "--max-calls-per-task",
    "prefix_caching": "--no-prefix-caching", "prefix_cache_gib": "--prefix-cache-gib", "task_slo_ms": "--task-slo-ms",
    "criticality": "--criticality", "price_max_age_days": "--price-max-age-days",
}  # fmt: skip


def hide_serving_flags(parser: argparse.ArgumentParser) -> None:
    """Leave the serving-only flags out of ``gpucast training --help`` (they are still parsed, to be refused), and
    word the shared ``--precision`` for training: the seed's help said "the published checkpoint's, else FP16"
    and INT4/FP4, while a run trains at BF16 unless told (``inputs.sections``; the web and desktop forms' default)
    and takes only BF16, FP16, FP8 and FP32."""
    for action in parser._actions:
        if action.dest in SERVING_ONLY:
            action.help = argparse.SUPPRESS
        elif action.dest == "precision":
            action.help = "BF16, FP16, FP8 or FP32 (default BF16, whatever the checkpoint's precision)"


def refuse_serving_flags(args: argparse.Namespace, command: str = "training") -> None:
    """``gpucast training --rps 5`` (or ``--engine``, ``--ttft-slo-ms`` ...) planned the run and dropped the flag
    without a word, and ``--shared-prefix-tokens`` answered with an agent-workload error: one clear error instead.
    ``compare --mode training`` dropped them too, and its serving-only ``--precisions`` (QA 2026-12-07)."""
    from ..errors import InputError

    only = SERVING_ONLY | ({"precisions": "--precisions"} if command != "training" else {})
    given = [flag for dest, flag in only.items() if getattr(args, dest, None) is not None]
    if given:
        one = len(given) == 1
        raise InputError(
            f"{', '.join(given)} {'is a serving-plan flag' if one else 'are serving-plan flags'} (`gpucast inference`,"
            f" `compare`): `gpucast {command}` plans a training run and does not read {'it' if one else 'them'}"
        )


# The training flags a serving plan never reads (the seed's training group and gpucast's training additions), as
# the user types them: `inference`, `forecast` in its default mode, `compare` and `export` from planning flags
# parse them (they share the seed's parser groups) and dropped them without a word.
TRAINING_ONLY = {
    "dataset_size": "--dataset-size", "sequence_length": "--sequence-length", "epochs": "--epochs",
    "global_batch_size": "--global-batch-size", "micro_batch_size": "--micro-batch-size",
    "gradient_accumulation_steps": "--gradient-accumulation-steps", "optimizer": "--optimizer",
    "gradient_checkpointing": "--gradient-checkpointing", "method": "--method", "lora_rank": "--lora-rank",
    "lora_targets": "--lora-targets", "optimizer_8bit": "--optimizer-8bit", "master_weights": "--master-weights",
    "zero": "--zero", "recompute": "--recompute", "flash_attention": "--no-flash-attention", "num_gpus": "--num-gpus",
    "dp": "--dp", "deadline_hours": "--deadline-hours", "optimize": "--optimize", "framework": "--framework",
}  # fmt: skip


def refuse_training_flags(args: argparse.Namespace, command: str) -> None:
    """``gpucast inference --dataset-size 1e9`` (``compare --method lora``, ``forecast --epochs 3``) planned serving
    and dropped the flag with exit 0, while ``training --rps 5`` is refused (:func:`refuse_serving_flags`): the
    same one error line the other way round (QA 2026-12-07)."""
    from ..errors import InputError

    given = [flag for dest, flag in TRAINING_ONLY.items() if getattr(args, dest, None) is not None]
    if given:
        one = len(given) == 1
        raise InputError(
            f"{', '.join(given)} {'is a training flag' if one else 'are training flags'}: `gpucast {command}` plans "
            f"serving and does not read {'it' if one else 'them'} (plan a run with `gpucast training`"
            + (" or `compare --mode training`)" if command == "compare" else ")")
        )
