"""Training rows of a measurements CSV: turn each into a ``TrainingSetup`` and predict its metric.

The format is ``../shared/calibration/training.csv`` (columns in ``REQUIRED_COLUMNS``; the ``framework``
column selects the software stack; extra columns are ignored). ``gpucast validate`` and
``scripts/calibrate_training.py`` share this module so that the error the command reports is the error the fit minimised: one mapping from rows to
setups, one prediction, one rule of thumb. Standard library only (the script adds numpy/scipy for the fit).

Rows are mapped by source, because each source states its configuration differently: llm-foundry MPT
rows (``mpt-*``) by the MPT yaml shapes, Megatron-LM rows (``megatron-*``) by the shapes of the papers'
tables, torchtune rows (``torchtune-*``) by their flag stack; any other row by its stated columns and a
catalog model: ``validation.training_setups.setup_for``. Rows whose configuration is not stated are skipped
with the reason.

MFU conventions are converted, not mixed: llm-foundry's MFU is ``(6 x all params incl. the learned
position table + 12*L*h*s) x tokens/s / peak`` (FP8 rows: over the FP8 peak), Megatron-LM 2021's
"% of peak" counts full recomputation (``96*B*s*l*h^2*(1 + s/6h + V/16lh)``, i.e. HFU); measured values
are rescaled to gpucast's FLOP count before comparing. Other rows are taken to use gpucast's convention.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..catalog.loader import training_efficiency_for
from ..core.params import count_parameters
from ..core.specs import Precision
from ..core.training import TrainingEfficiency, estimate_training_step, flops_per_token
from ..core.training_memory import TrainingSetup, training_memory
from ..errors import GpucastError
from .report import RowResult, abs_pct_error
from .training_setups import RowSkipped, float_column, setup_for

REQUIRED_COLUMNS = (
    "id", "source", "model", "params_b", "gpu", "num_gpus", "precision", "seq_len", "global_batch_tokens_or_seqs",
    "micro_batch", "tp", "pp", "dp", "zero_or_fsdp", "grad_ckpt", "method", "metric", "value", "unit",
)  # fmt: skip
THROUGHPUT = ("tokens_per_s_per_gpu", "tokens_per_s_total", "mfu_pct", "tflops_per_gpu")
# peak_reserved_gb_per_gpu is no CSV metric: a peak-memory row whose source measured the caching allocator's reserved
# memory (torch.cuda.max_memory_reserved: notes saying "RESERVED"), or whose notes give "reserved N GiB" beside the
# allocated value, is compared with TrainingMemory.reserved (allocated + fragmentation), the others with allocated.
RESERVED = "peak_reserved_gb_per_gpu"
MEMORY = ("peak_mem_gb_per_gpu", RESERVED)
METRICS = (*THROUGHPUT, *MEMORY)
_RESERVED_NOTE = re.compile(r"reserved ([\d.]+) GiB")
RULE_OF_THUMB_MFU = 0.4  # "6N FLOPs per token at 40% MFU" of the BF16 dense peak: the baseline to beat


@dataclass
class Case:
    """One configuration and the rows measured on it (rows sharing a setup are predicted once)."""

    source: str
    setup: TrainingSetup
    targets: list[tuple[str, str, float, float]]  # (row id, metric, measured in gpucast's convention, raw)
    their_flops: float = 0.0  # the source's FLOPs per token (for MFU/TFLOP conversion), 0 = same as ours
    hfu: bool = False  # the source's % of peak counts recomputation


# ---------------------------------------------------------------------------------------------- rows
def prepare(rows: Iterable[dict[str, str]]) -> tuple[list[Case], list[tuple[str, str]]]:
    """Group rows into cases (one per configuration), and list the rows skipped as (row id, reason)."""
    cases: dict[tuple[str, str, float, bool], Case] = {}
    skipped: list[tuple[str, str]] = []
    for row in rows:
        rid = row.get("id", "?")
        if row["metric"] not in METRICS:
            skipped.append((rid, f"metric {row['metric']} not modelled"))
            continue
        try:
            value = float_column(row, "value")
        except RowSkipped as reason:
            skipped.append((rid, str(reason)))
            continue
        if not math.isfinite(value) or value <= 0:
            skipped.append((rid, f"value {row['value']!r} must be a positive number"))
            continue
        result = setup_for(row)
        if isinstance(result, str):
            skipped.append((rid, result))
            continue
        setup, their, hfu = result
        key = (row["source"], repr(setup), their, hfu)
        case = cases.setdefault(key, Case(row["source"], setup, [], their, hfu))
        metric = row["metric"]
        if metric == "peak_mem_gb_per_gpu" and row["unit"].strip() == "GB":
            value = value * 1e9 / 2**30
        if metric == "peak_mem_gb_per_gpu":
            notes = row.get("notes", "")
            beside = _RESERVED_NOTE.search(notes)
            if beside:  # the allocated value, and the reserved one of the same run
                case.targets.append((f"{rid}:reserved", RESERVED, float(beside.group(1)), float(beside.group(1))))
            elif "RESERVED" in notes:
                metric = RESERVED
        converted = value
        if row["metric"] in ("mfu_pct", "tflops_per_gpu") and their:
            flops = flops_per_token(setup.model, setup.seq_len, setup.recompute, setup.method)
            converted = value * (flops.hardware if hfu else flops.model) / their
        case.targets.append((rid, metric, converted, value))
    return list(cases.values()), skipped


def predict(case: Case, metric: str, eff: TrainingEfficiency) -> float:
    """gpucast's value of ``metric`` for the case (memory: allocated GiB, which torchtune's peak reports)."""
    if metric == "peak_mem_gb_per_gpu":
        return training_memory(case.setup, eff.memory).allocated
    if metric == RESERVED:
        return training_memory(case.setup, eff.memory).reserved
    perf = estimate_training_step(case.setup, eff)
    if metric == "tokens_per_s_per_gpu":
        return perf.tokens_per_s_per_gpu
    if metric == "tokens_per_s_total":
        return perf.tokens_per_s
    fraction = perf.hfu if case.hfu else perf.mfu
    if metric == "mfu_pct":
        return 100.0 * fraction
    peak = case.setup.gpu.peak_flops("fp8" if case.setup.precision is Precision.FP8 else "bf16")
    return fraction * peak / 1e12


def rule_of_thumb(case: Case, metric: str) -> float | None:
    """6N FLOPs per token at 40% of the BF16 dense peak; N = all parameters. No memory counterpart."""
    if metric in MEMORY:
        return None
    s = case.setup
    tps = RULE_OF_THUMB_MFU * s.gpu.peak_flops("bf16") / (6.0 * count_parameters(s.model).total)
    if metric in ("mfu_pct", "tflops_per_gpu"):
        flops = flops_per_token(s.model, s.seq_len, s.recompute, s.method)
        fraction = tps * (flops.hardware if case.hfu else flops.model) / s.gpu.peak_flops("bf16")
        return 100 * fraction if metric == "mfu_pct" else fraction * s.gpu.peak_flops("bf16") / 1e12
    return tps * (s.num_gpus if metric == "tokens_per_s_total" else 1)


def validate_rows(rows: Iterable[dict[str, str]]) -> tuple[list[RowResult], list[tuple[str, str]]]:
    """Predict every training row with the shipped (fitted) efficiencies: what ``gpucast validate`` reports.

    Errors are computed in gpucast's convention (as the fit does); measured, predicted and naive values
    are reported in the row's own convention and unit, so they read like the CSV.
    """
    cases, skipped = prepare(rows)
    results: list[RowResult] = []
    effs: dict[str, TrainingEfficiency] = {}
    for case in cases:
        gpu = case.setup.gpu
        eff = effs[gpu.family] if gpu.family in effs else effs.setdefault(gpu.family, training_efficiency_for(gpu))
        for rid, metric, value, raw in case.targets:
            try:
                predicted = predict(case, metric, eff)
            except (GpucastError, ValueError, ZeroDivisionError) as error:
                skipped.append((rid, f"not predicted: {error}"))
                continue
            scale = raw / value  # from gpucast's convention back to the row's
            naive = rule_of_thumb(case, metric)
            results.append(
                RowResult(
                    rid, case.source, metric, raw, predicted * scale, abs_pct_error(predicted, value),
                    None if naive is None else naive * scale,
                )
            )  # fmt: skip
    return results, skipped
