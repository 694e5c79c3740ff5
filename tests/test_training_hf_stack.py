"""The eager PyTorch + transformers + PEFT stack ("hf"): gradients freed between steps, autocast's FP32 model,
the LoRA branch's cost, and the rows of data/benchmarks/measured/h200_finetune.csv mapped to setups."""

from __future__ import annotations

import dataclasses

from gpucast.catalog.loader import resolve_gpu, resolve_model
from gpucast.core.params import count_parameters
from gpucast.core.specs import GIB
from gpucast.core.training import TrainingEfficiency, estimate_training_step
from gpucast.core.training_memory import TrainingSetup, training_memory
from gpucast.validation.training import RESERVED, prepare
from gpucast.validation.training_setups import _lora_of

H200 = resolve_gpu("h200")
LLAMA8B = resolve_model("llama-3.1-8b")


def _setup(**kw: object) -> TrainingSetup:
    base = dict(model=LLAMA8B, gpu=H200, framework="hf", micro_batch=2, seq_len=2048, recompute="full")
    base.update(kw)
    return TrainingSetup(**base)  # type: ignore[arg-type]


def test_pure_bf16_8b_full_fits_one_h200_and_peaks_at_end_of_backward() -> None:
    setup = _setup(master_weights=False)
    mem = training_memory(setup)
    states = count_parameters(LLAMA8B).total * (2 + 2 + 4) / GIB  # BF16 weights, gradients, AdamW m and v
    assert abs(mem.allocated - states) < 0.01  # gradients outweigh activations + logits at 2 x 2048
    assert mem.fits(H200)
    summed = training_memory(dataclasses.replace(setup, framework="default"))
    assert summed.allocated > mem.allocated + 5  # the summed count holds gradients and activations together


def test_autocast_model_is_fp32_and_reserved_adds_fragmentation() -> None:
    mem = training_memory(_setup(model=resolve_model("llama-3.2-1b"), micro_batch=8, recompute="none"))
    params = count_parameters(resolve_model("llama-3.2-1b")).total
    assert abs(mem.weights - params * 4 / GIB) < 1e-6 and abs(mem.optimizer_states - params * 8 / GIB) < 1e-6
    assert mem.reserved > mem.allocated


def test_lora_branch_costs_time_in_proportion_to_its_passes() -> None:
    setup = _setup(method="lora", lora_targets=("q", "k", "v", "o", "gate", "up", "down"), recompute="none")
    none = estimate_training_step(setup, TrainingEfficiency(lora_passes=2.0)).step_time_s
    some = estimate_training_step(setup, TrainingEfficiency(lora_passes=22.0)).step_time_s
    # 20 passes x 2 bytes x sum(d_in + d_out) = 81920 per token and layer, 4096 tokens x 32 layers, 4.8 TB/s
    assert abs((some - none) - 20 * 2 * 81920 * 4096 * 32 / (H200.memory_bandwidth_tb_s * 1e12)) < 1e-9


def test_lora_rank_and_targets_from_notes() -> None:
    assert _lora_of("LoRA r=16 alpha=32 on q/k/v/o/gate/up/down, frozen") == (
        16,
        ("q", "k", "v", "o", "gate", "up", "down"),
    )
    assert _lora_of("LoRA r=32 alpha=64 dropout 0 on q_proj,v_proj (9 trainable)") == (32, ("q", "v"))
    assert _lora_of("nothing stated") == (16, ("q", "k", "v", "o"))


def test_measured_rows_map_to_the_hf_stack_with_reserved_targets() -> None:
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "measured" / "h200_finetune.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        cases, skipped = prepare(csv.DictReader(handle))
    assert len(cases) == 13 and {c.setup.framework for c in cases} == {"hf"}
    assert all(reason == "metric step_time_s not modelled" for _, reason in skipped)
    pure = [c for c in cases if c.setup.method == "full" and not c.setup.master_weights]
    assert len(pure) == 3 and sum(1 for c in cases for t in c.targets if t[1] == RESERVED) == 13
