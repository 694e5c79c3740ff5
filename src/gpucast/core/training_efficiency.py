"""Fitted efficiencies of the training step-time model: fractions of datasheet peaks, overlap fractions and
per-software-stack factors, read from ``catalog/training_calibration.toml`` (fitted by
``scripts/calibrate_training.py``; how each enters the step time: ``core/training.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .training_memory import MemorySettings

__all__ = [
    "HOPPER_GENERATIONS",
    "HOPPER_NATIVE_ATTENTION",
    "FrameworkFactors",
    "TrainingEfficiency",
    "efficiency_from_table",
]


@dataclass(frozen=True)
class FrameworkFactors:
    """Software-stack multipliers on the achieved GEMM and attention rates (``[frameworks.<id>]``)."""

    matmul: float = 1.0
    attention: float = 1.0
    activation: float = 1.0  # on the stored activations' memory (times TrainingEfficiency.activation_factor)
    elementwise: float = 1.0  # on TrainingEfficiency.elementwise_passes (eager vs fused norms, activations, casts)
    lora: float = 1.0  # on TrainingEfficiency.lora_passes (eager PEFT branches vs compiled/fused ones)


HOPPER_GENERATIONS = ("hopper", "blackwell")
# Stacks whose attention kernel is written for Hopper (TransformerEngine's cuDNN fused attention, FA3-class).
# FlashAttention-2 (PyTorch SDPA's default, llm-foundry's Triton kernel, torchtune) reaches ~35% of H100's
# BF16 peak against ~75% for FlashAttention-3 (Shah et al. 2024, arXiv 2407.08608, Sec. 1), while on Ampere
# FA2 is the native kernel; ``fa2_hopper_factor`` carries that gap for the other stacks.
# PyTorch's SDPA on Hopper in the eager "hf" stack (PyTorch 2.11, data/benchmarks/measured/h200_finetune.csv) is
# Hopper-class too: Llama-3.1-8B LoRA at 8192 x 1 runs only 8% slower than at 2048 x 4 (1.363 vs 1.259 s per step),
# 4x the attention FLOPs in 0.1 s, i.e. > 450 TFLOP/s, which an FA2-class kernel (~35% of 989) cannot reach.
HOPPER_NATIVE_ATTENTION = ("megatron", "hf")


@dataclass(frozen=True)
class TrainingEfficiency:
    """Fitted fractions of datasheet peaks and overlap fractions (scripts/calibrate_training.py).

    Defaults are used when no calibration file is loaded; bounds are in the calibration script.
    """

    matmul_fraction: float = 0.65  # large BF16/FP16 GEMMs / dense peak
    fp8_matmul_fraction: float = 0.45  # FP8 GEMMs / FP8 peak (scaling, casts, smaller tiles)
    attention_fraction: float = 0.45  # causal flash attention (executed FLOPs) / BF16 peak
    fa2_hopper_factor: float = 1.0  # attention rate of FlashAttention-2-class kernels on Hopper/Blackwell (below)
    elementwise_passes: float = 30.0  # HBM traffic per token per layer in units of 2 x (h + ffn) bytes
    recompute_time_factor: float = 0.8  # recomputed forward time / same FLOPs at the average rate
    dp_exposed_fraction: float = 0.2  # part of DP/FSDP traffic that never overlaps compute
    tp_exposed_fraction: float = 0.5  # part of TP collectives that never overlaps compute
    lora_passes: float = 20.0  # HBM passes of a LoRA branch per adapted matrix, units of 2 x (d_in + d_out) bytes
    # QLoRA: effective HBM bytes per NF4 weight each time it is dequantized to BF16 (read 0.52 + write 2 at the
    # least; fitted on QLoRA-vs-LoRA step times by scripts/fit_qlora_dequant.py, catalog/qlora_dequant.toml).
    # 0 = no dequantization time; the catalog loader sets the fitted value.
    nf4_dequant_bytes: float = 0.0
    interconnect_fraction: float = 0.7  # achieved / nominal link bandwidth for large collectives
    activation_factor: float = 1.0  # MemorySettings.activation_factor
    fragmentation_fraction: float = 0.05
    context_gib: float = 1.0
    source: str = "defaults"
    frameworks: tuple[tuple[str, FrameworkFactors], ...] = ()  # (framework id, factors); absent = 1

    @property
    def memory(self) -> MemorySettings:
        stacks = tuple((name, f.activation) for name, f in self.frameworks if f.activation != 1.0)
        return MemorySettings(self.activation_factor, self.fragmentation_fraction, self.context_gib, stacks)

    def framework(self, name: str) -> FrameworkFactors:
        """The factors of software stack ``name`` (1 and 1 when the calibration has none)."""
        return dict(self.frameworks).get(name, FrameworkFactors())


def efficiency_from_table(table: Mapping[str, Any], family: str) -> TrainingEfficiency:
    """TrainingEfficiency from a parsed training_calibration.toml: [defaults] overlaid by [families.<family>],
    with the [frameworks.<id>] factors."""
    base = dict(table.get("defaults", {}))
    base.update(table.get("families", {}).get(family, {}))
    known = {f.name for f in dataclasses.fields(TrainingEfficiency)} - {"frameworks"}
    factors = {f.name for f in dataclasses.fields(FrameworkFactors)}
    frameworks = tuple(
        (name, FrameworkFactors(**{k: float(v) for k, v in values.items() if k in factors}))
        for name, values in sorted(table.get("frameworks", {}).items())
    )
    return TrainingEfficiency(**{k: v for k, v in base.items() if k in known}, frameworks=frameworks)
