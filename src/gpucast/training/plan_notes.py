"""The words a training plan carries beside its numbers: its inputs as planned, its warnings and its memory assumption.

Split from ``training.plan`` (the search and the plan's numbers stay there) to keep each file short; every sentence
here restates what the chosen configuration was sized with, so a reader can check it without the code.
"""

from __future__ import annotations

from typing import Any

from ..catalog import loader
from ..core.specs import ModelSpec
from ..core.training_memory import NF4_BYTES_PER_PARAM, model_state_bytes_per_param
from ..inputs.training import TrainingInput, TrainingOptions
from ..inputs.types import DEFAULT_PRECISION, ModelConfig
from ..wording import counted, duration


def flops_note(setup: Any) -> str:
    """How the plan counts FLOPs per token: 6N for a full fine-tune, 4N for LoRA/QLoRA, whose frozen base computes
    no weight gradients (core.training.flops_per_token; the note said 6N for every method)."""
    low, high = (6, 8) if setup.method == "full" else (4, 6)
    frozen = "" if setup.method == "full" else ": the frozen base computes no weight gradients"
    return (
        f"FLOPs per token = {low} x parameters + attention ({high} x with full recomputation){frozen}; the seed's "
        "'2 x params x seq_len' counts a whole sequence's forward pass as one token's work and omits the backward pass"
    )


def state_bytes(setup: Any) -> str:
    """The model-state memory rule of the optimizer the plan was sized with (it said "Adam 16 bytes/param" for
    every optimizer: 8-bit AdamW plans hold 10, SGD 8)."""
    weight, grad, states = model_state_bytes_per_param(
        setup.precision, setup.optimizer, setup.model.hidden_size, setup.master_weights
    )
    label = {"adam": "Adam", "adamw": "AdamW", "adamw8bit": "8-bit AdamW", "adafactor": "Adafactor", "sgd": "SGD"}
    frozen = {
        "lora": "; the frozen base in BF16, 2 bytes per parameter",
        "qlora": f"; the frozen base in NF4, {NF4_BYTES_PER_PARAM:.2f} bytes per parameter (embeddings BF16)",
    }.get(setup.method, "")  # what the plan holds besides the trained adapters
    return (
        f"Memory: {setup.precision.name} training with {label.get(setup.optimizer, setup.optimizer)}, "
        f"{weight + grad + states:.3g} bytes per trained parameter (weights {weight:g} + gradients {grad:g} + "
        + (f"optimizer states incl. master weights {states:.3g})" if setup.master_weights
           else f"optimizer states {states:.3g}; pure {setup.precision.name}: no FP32 master copy)")
        + frozen
    )  # fmt: skip


def plan_warnings(
    training: TrainingInput,
    model: ModelConfig,
    options: TrainingOptions,
    spec: ModelSpec,
    best: Any,
    single: Any,
    *,
    priced: bool,
) -> list[str]:
    """What the plan's reader must know before acting on it: a missing price, a run shorter than an instance's
    practical minimum (and the single GPU that does it), a dataset smaller than one batch, a sequence past the
    model's context window, a global batch adjusted to divide. ``best`` and ``single``: ``training.plan``'s
    Candidate (the chosen run; the single-GPU option or None), typed loosely so this module does not import the
    planner that imports it."""
    setup, gpu, n = best.setup, best.gpu, best.setup.num_gpus
    tokens_per_step = setup.tokens_per_step
    warnings = []
    if not priced:
        hint = loader.pricing_hint(options.pricing, (options.cloud,), gpu.id, gpus_per_replica=n, tp=setup.tp)
        warnings.append(f"no {options.pricing} price for {gpu.name} on {options.cloud}: cost omitted{hint}")
    fleet = best.fleet
    if fleet is not None and (idle := fleet.paid_gpus - n) > 0:  # training.plan keeps the smaller run: say so
        warnings.append(
            f"{fleet.instances} x {fleet.instance_type} ({counted(fleet.instance_gpus, 'GPU')} each) "
            f"{'is' if fleet.instances == 1 else 'are'} paid for, {counted(n, 'GPU')} used: {counted(idle, 'idle GPU')} "
            f"cost ${idle * fleet.gpu_hourly_usd:,.2f} of the ${fleet.hourly_usd:,.2f} per hour "
            f"(${fleet.hourly_usd / n:,.2f} per GPU-hour used); --num-gpus {fleet.paid_gpus} runs on all of them"
        )
    if single is not None:
        startup, minimum = loader.run_overhead()
        warnings.append(
            f"the run takes about {duration(best.hours)} on {counted(n, 'GPU')} ({gpu.name}), shorter than an "
            f"instance's practical minimum of about {minimum:g} h (start-up alone takes about {startup * 60:.0f} "
            f"minutes: provisioning, image pull, model load); a single GPU does it too: 1 x {single.gpu.name}, "
            f"{single.hours:,.2f} h, ${single.total_cost:,.2f} (see the first alternative; --num-gpus 1 plans it)"
        )
    if training.dataset_size_tokens < tokens_per_step:  # one partial step per epoch: the step time is not its time
        warnings.append(f"the dataset ({training.dataset_size_tokens:,} tokens) is smaller than one global batch ({tokens_per_step:,} tokens): each epoch is a single partial step, so the step time shown (a full batch) is not that step's; the duration counts the dataset's tokens (use a smaller --global-batch-size)")  # fmt: skip
    if model.model_name is not None and training.sequence_length > spec.max_context:  # a catalog model's real window
        warnings.append(
            f"--sequence-length {training.sequence_length:,} is beyond {spec.name}'s {spec.max_context:,}-token "
            "context window: training past it is context extension (RoPE scaling such as YaRN or a larger base); "
            "memory and time are planned for the length given"
        )
    if setup.tokens_per_step != training.global_batch_size * training.sequence_length:
        warnings.append(
            f"global batch adjusted to {setup.global_batch_seqs} sequences (micro batch x accumulation x DP must divide it)"
        )
    accumulation = training.gradient_accumulation_steps
    if accumulation is not None and accumulation != setup.grad_accum:
        warnings.append(
            f"gradient_accumulation_steps (--gradient-accumulation-steps) {accumulation} is not what the plan runs: accumulation = global batch / "
            f"(DP x micro batch) = {setup.grad_accum} here; pin --micro-batch-size and --dp (or --num-gpus) to set it"
        )
    return warnings


def plan_inputs(training: TrainingInput, model: ModelConfig, options: TrainingOptions, setup: Any) -> dict[str, Any]:
    """The plan's ``inputs``: the seed's keys and what the chosen setup was searched with (optimizer states, master
    weights, stack, LoRA rank and targets, sequence parallelism, FP8 recipe), so ``export estimate`` can re-state the
    run for ``training-estimate`` and a reader sees what the memory and speed were computed for."""
    return {
        "dataset_size_tokens": training.dataset_size_tokens,
        "sequence_length": training.sequence_length,
        "num_epochs": training.num_epochs,
        "global_batch_size": training.global_batch_size,
        "optimizer_type": training.optimizer_type,
        "optimizer_8bit": setup.optimizer == "adamw8bit",  # the states the memory was planned with
        "master_weights": "fp32" if setup.master_weights else "bf16",
        "model": model.model_name,
        "framework": setup.framework,
        "lora_rank": setup.lora_rank,
        "lora_targets": list(setup.lora_targets),
        "sequence_parallel": setup.sequence_parallel,
        "fp8_recipe": setup.fp8_recipe if setup.precision.name == "FP8" else None,
        "gradient_checkpointing": training.gradient_checkpointing,
        "precision": (model.precision or DEFAULT_PRECISION).upper(),
        "method": options.method,
        "cloud": options.cloud,
        "pricing": options.pricing,
        "deadline_hours": options.deadline_hours,
        "optimize": options.optimize,
    }
