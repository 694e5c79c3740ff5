"""The training parallelism search: the fastest (or leanest) TP x PP x ZeRO x micro-batch x recomputation
layout of a run that fits, with the fixed CP / VPP / EP choices (step times from ``core/training.py``)."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from ..errors import InfeasibleError, InputError
from .specs import GPUSpec, ModelSpec, Precision
from .training import HEADROOM, TrainingPerf, estimate_training_step
from .training_efficiency import TrainingEfficiency
from .training_memory import TrainingSetup, training_memory

__all__ = ["search_parallelism"]


def _powers_of_two(limit: int) -> list[int]:
    return [1 << i for i in range(32) if (1 << i) <= limit]


def _tp_options(model: ModelSpec, gpu: GPUSpec, num_gpus: int) -> list[int]:
    """TP sizes: powers of two inside one node that divide the heads and the GPU count."""
    kv = model.num_kv_heads
    return [
        t
        for t in _powers_of_two(min(gpu.gpus_per_node, num_gpus))
        if model.num_heads % t == 0 and (kv % t == 0 or t % kv == 0) and num_gpus % t == 0
    ]


def search_parallelism(
    model: ModelSpec,
    gpu: GPUSpec,
    *,
    num_gpus: int,
    seq_len: int,
    global_batch_seqs: int,
    precision: Precision = Precision.BF16,
    method: str = "full",
    optimizer: str = "adamw",
    lora_rank: int = 16,
    lora_targets: tuple[str, ...] = ("q", "k", "v", "o"),
    flash_attention: bool = True,
    tp: int | None = None,
    pp: int | None = None,
    zero: int | None = None,
    micro_batch: int | None = None,
    recompute: str | None = None,
    eff: TrainingEfficiency = TrainingEfficiency(),
    objective: str = "speed",
    framework: str = "default",
    master_weights: bool = True,
    cp: int = 1,
    vpp: int = 1,
    ep: int = 1,
    sequence_parallel: bool = True,
    fp8_recipe: str = "delayed",
) -> tuple[TrainingSetup, TrainingPerf]:
    """The fastest (``objective="speed"``) or least-memory (``"memory"``) configuration that fits.

    Enumerates TP (powers of two within a node dividing the heads), PP (powers of two up to the
    layer count), ZeRO 0-3, micro-batch (powers of two) and recomputation; DP = GPUs / (TP x PP), and
    the global batch must split into whole micro-batches per DP rank. Fixed choices (``tp=...``) are
    honoured. Raises InputError when no split of the batch exists, InfeasibleError with the nearest
    feasible alternative when nothing fits in memory (with 5% headroom). ``cp``, ``vpp`` and ``ep`` are fixed:
    DP = GPUs / (TP x PP x CP); TP/PP choices that ``vpp`` or ``ep`` cannot run with are left out.
    """
    if objective not in ("speed", "memory"):
        raise InputError(f"objective {objective!r} is not one of speed, memory")
    if num_gpus < 1 or global_batch_seqs < 1 or seq_len < 1:
        raise InputError("num_gpus, global_batch_seqs and seq_len must be >= 1")
    fixed = {"tp": tp, "pp": pp, "cp": cp if cp > 1 else None, "vpp": vpp if vpp > 1 else None,
             "ep": ep if ep > 1 else None, "zero": zero, "micro_batch": micro_batch, "recompute": recompute}  # fmt: skip
    tps = [tp] if tp else _tp_options(model, gpu, num_gpus)
    pps = [pp] if pp else [p for p in _powers_of_two(model.num_layers) if p <= num_gpus]
    zeros = [zero] if zero is not None else [0, 1, 2, 3]
    mbs = [micro_batch] if micro_batch else _powers_of_two(min(global_batch_seqs, 64))
    recomputes = [recompute] if recompute else ["none", "selective", "full"]
    best: tuple[float, TrainingSetup, TrainingPerf] | None = None
    lightest: tuple[float, TrainingSetup] | None = None
    splits, last_problem = 0, ""
    for t, p, z, mb, rc in itertools.product(tps, pps, zeros, mbs, recomputes):
        if num_gpus % (t * p * cp) or (vpp > 1 and p == 1 and pp is None):
            continue
        dp = num_gpus // (t * p * cp)
        if global_batch_seqs % (mb * dp) or (z > 0 and dp * cp == 1 and zero is None):
            continue
        try:  # a TP/PP choice the fixed CP/VPP/EP cannot run with is skipped; the last reason is reported
            setup = TrainingSetup(
                model=model, gpu=gpu, precision=precision, method=method, lora_rank=lora_rank,
                lora_targets=lora_targets, optimizer=optimizer, zero=z, tp=t, pp=p, dp=dp, micro_batch=mb,
                seq_len=seq_len, grad_accum=global_batch_seqs // (mb * dp), recompute=rc,
                flash_attention=flash_attention, framework=framework, master_weights=master_weights,
                cp=cp, vpp=vpp, ep=ep, sequence_parallel=sequence_parallel,
                fp8_recipe=fp8_recipe if precision is Precision.FP8 else "delayed",
            )  # fmt: skip
        except ValueError as error:
            last_problem = str(error)
            continue
        splits += 1
        perf = estimate_training_step(setup, eff)
        if lightest is None or perf.memory.total < lightest[0]:
            lightest = (perf.memory.total, setup)
        if not perf.fits:
            continue
        score = -perf.tokens_per_s if objective == "speed" else perf.memory.total
        if best is None or score < best[0]:
            best = (score, setup, perf)
    if best is not None:
        return best[1], best[2]
    if splits == 0 and last_problem:
        raise InputError(last_problem)
    if splits == 0:
        raise InputError(
            f"global batch of {global_batch_seqs} sequences does not split into whole micro-batches over "
            f"{num_gpus} GPUs with {_describe(fixed)}; use a global batch that is a multiple of the data-parallel size"
        )
    assert lightest is not None
    raise InfeasibleError(_infeasible_message(lightest[1], eff))


def _describe(fixed: dict[str, Any]) -> str:
    chosen = [f"{k}={v}" for k, v in fixed.items() if v is not None]
    return ", ".join(chosen) if chosen else "any TP/PP"


def _infeasible_message(lightest: TrainingSetup, eff: TrainingEfficiency) -> str:
    """Nothing fits: say how short the leanest configuration is and what would fit."""
    mem = training_memory(lightest, eff.memory)
    limit = lightest.gpu.memory_gib * (1.0 - HEADROOM)
    head = (
        f"{lightest.model.name} ({lightest.method}) does not fit on {lightest.num_gpus} x {lightest.gpu.name}: "
        f"the leanest configuration (TP{lightest.tp} PP{lightest.pp} ZeRO-{lightest.zero}, micro-batch "
        f"{lightest.micro_batch}, {'no' if lightest.recompute == 'none' else lightest.recompute} recomputation) needs {mem.total:.1f} GiB per GPU of {limit:.1f}"
    )
    lean = dataclasses.replace(lightest, zero=3, micro_batch=1, recompute="full", grad_accum=1, pp=1, vpp=1)
    smaller = {"full": ", or LoRA/QLoRA", "lora": ", or QLoRA"}.get(lightest.method, "")  # not the method it is
    same = dataclasses.replace(lean, tp=lightest.tp, pp=lightest.pp, vpp=lightest.vpp, zero=max(lightest.zero, 3))
    if same.num_gpus == lightest.num_gpus and training_memory(same, eff.memory).fits(lean.gpu, HEADROOM):
        # pinned settings (a micro-batch, no recomputation) were what did not fit: say so before asking for GPUs
        where = "this GPU" if lightest.num_gpus == 1 else f"these {lightest.num_gpus} GPUs"
        return f"{head}; it fits on {where} with full recomputation and micro-batch 1"
    for gpus in _powers_of_two(1 << 16):
        if gpus <= lightest.num_gpus or gpus % lean.cp:
            continue
        if (
            lean.method == "qlora"
        ):  # 4-bit weights shard over ZeRO-3 ranks or pipeline stages, never TP (training_parallel)
            staged = dataclasses.replace(lean, tp=1, pp=gpus, dp=1, zero=0)  # layers split over GPUs (device_map)
            if gpus <= lean.model.num_layers and training_memory(staged, eff.memory).fits(lean.gpu, HEADROOM):
                return f"{head}; it fits on {gpus} GPUs (PP{gpus}) or more, with full recomputation if need be"
            tp = 1
        else:
            tp = min(lean.gpu.gpus_per_node, gpus // lean.cp, lean.tp if lean.tp > 1 else 8)
        while tp > 1 and (lean.model.num_heads % tp or gpus % (tp * lean.cp)):
            tp //= 2
        dp = gpus // (tp * lean.cp)
        ep = lean.ep if (tp * lean.cp * dp) % lean.ep == 0 else 1
        candidate = dataclasses.replace(lean, tp=tp, dp=dp, ep=ep)
        if training_memory(candidate, eff.memory).fits(lean.gpu, HEADROOM):
            # the count is the least that fits at the leanest setting, which a plan of that many GPUs need not
            # use (70B full on 32 H100s plans ZeRO-2 without recomputation): the GPUs are what is needed
            return f"{head}; it fits on {gpus} GPUs (TP{tp}) or more, with ZeRO-3 and full recomputation if need be{smaller}"
    return f"{head}; no GPU count up to 65536 fits: use {smaller[5:] + ' or ' if smaller else ''}a GPU with more memory"
