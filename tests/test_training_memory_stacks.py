"""Per-stack memory terms: torchtune's single-device recipes free gradients between steps, PEFT's FP32 adapters keep
an FP32 copy of each adapted matrix's input, and the logits are counted exactly (no activation factor)."""

from __future__ import annotations

import dataclasses

from gpucast.catalog.loader import resolve_gpu, resolve_model
from gpucast.core.specs import GIB
from gpucast.core.training_memory import MemorySettings, TrainingSetup, training_memory

A100 = resolve_gpu("a100-80gb-sxm")
LLAMA3B = resolve_model("llama-3.2-3b")
LLAMA8B = resolve_model("llama-3.1-8b")
ALL = ("q", "k", "v", "o", "gate", "up", "down")


def test_torchtune_single_device_peak_is_states_plus_the_larger_of_forward_and_backward() -> None:
    setup = TrainingSetup(model=LLAMA3B, gpu=A100, framework="torchtune", master_weights=False, micro_batch=2,
                          seq_len=4096, chunked_loss=True, recompute="full")  # fmt: skip
    mem = training_memory(setup)
    forward = mem.activations * GIB + 2 * 4096 * LLAMA3B.vocab_size * (2 + 8 / 8)  # + BF16 logits, one FP32 chunk
    expected = (mem.weights + mem.optimizer_states) * GIB + max(forward, mem.gradients * GIB)
    assert abs(mem.allocated * GIB - expected) < 1e3
    summed = training_memory(dataclasses.replace(setup, dp=2))  # FSDP/DDP ranks keep gradient buckets: summed
    assert summed.allocated > mem.allocated + 0.9 * min(forward, mem.gradients * GIB) / GIB


def test_peft_lora_stores_an_fp32_copy_of_each_adapted_input() -> None:
    # Llama-3.1-8B, all linear layers: 4 x (6 x 4096 + 14336) - 2 x (3 x 4096 + 14336) = 102,400 bytes per token and
    # layer beyond the default stack's count; 2048 x 4 tokens x 32 layers = 25.0 GiB
    base = TrainingSetup(model=LLAMA8B, gpu=resolve_gpu("h200"), method="lora", lora_targets=ALL, micro_batch=4,
                         seq_len=2048)  # fmt: skip
    hf = training_memory(dataclasses.replace(base, framework="hf"))
    default = training_memory(base)
    assert abs((hf.activations - default.activations) * GIB - 102_400 * 2048 * 4 * 32) < 1e3
    # q and v only: 4 x (4096 + 4096) - 2 x 4096 (the shared QKV input) = 24,576
    qv = dataclasses.replace(base, lora_targets=("q", "v"))
    diff = training_memory(dataclasses.replace(qv, framework="hf")).activations - training_memory(qv).activations
    assert abs(diff * GIB - 24_576 * 2048 * 4 * 32) < 1e3
    checkpointed = dataclasses.replace(base, recompute="full")  # only layer inputs are kept: no adapter copies
    assert training_memory(dataclasses.replace(checkpointed, framework="hf")).activations == (
        training_memory(checkpointed).activations
    )


def test_logits_are_not_scaled_by_the_activation_factor() -> None:
    setup = TrainingSetup(model=LLAMA3B, gpu=A100, micro_batch=2, seq_len=4096)
    one, two = (training_memory(setup, MemorySettings(activation_factor=f)) for f in (1.0, 2.0))
    assert abs((two.allocated - one.allocated) - one.activations) < 1e-9  # only the layers' activations double
