"""Fit gpucast's training efficiencies (core.training.TrainingEfficiency) to published training runs.

Reads ``../shared/calibration/training.csv`` (columns and sources in its README), turns every row it
can into a ``TrainingSetup`` (catalog models; MPT and Megatron GPT shapes from the llm-foundry yamls
and the Megatron tables/papers, below), predicts it with the real core and fits a few bounded
parameters by least squares on log(predicted / measured):

- throughput: ``matmul_fraction`` (global, and per GPU family with >= 10 rows, tied to the global value
  by a log-normal prior of sigma 0.15), ``fp8_matmul_fraction``, ``attention_fraction``,
  ``elementwise_passes``, ``recompute_time_factor``, ``dp_exposed_fraction``, ``tp_exposed_fraction``;
- memory: ``activation_factor`` (peak-memory rows; torchtune reports the allocator's peak, so they are
  compared with ``TrainingMemory.allocated``: fragmentation and the CUDA context keep their defaults).

Each source's rows are weighted by 1/sqrt(rows) so that the large llm-foundry tables do not drown the
others; soft-L1 loss; a weak prior (factor e at 1 sigma) towards the TrainingEfficiency defaults keeps
parameters a held-out fold cannot identify finite. Deterministic, no randomness.

MFU conventions are converted, not mixed: llm-foundry's MFU is ``(6 x all params incl. the learned
position table + 12*L*h*s) x tokens/s / peak`` (FP8 rows: over the FP8 peak), Megatron-LM 2021's
"% of peak" counts full recomputation (``96*B*s*l*h^2*(1 + s/6h + V/16lh)``, i.e. HFU); measured
values are rescaled to gpucast's FLOP count before comparing. Rows whose configuration is not stated
(batch or sequence unknown, unpacked datasets) are skipped with the reason printed.

Prints per-metric n / median / p90 absolute % error in sample, under leave-one-source-out
cross-validation, and for the rule of thumb "6N FLOPs per token at 40% MFU" (BF16 dense peak).

    python scripts/calibrate_training.py           # fit, report, write src/gpucast/catalog/training_calibration.toml
    python scripts/calibrate_training.py --check   # re-fit; exit 1 if the file differs (--tolerance)
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import re
import sys
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from gpucast.catalog.loader import resolve_gpu, resolve_model
from gpucast.core.params import count_parameters
from gpucast.core.specs import ModelSpec, Precision
from gpucast.core.training import TrainingEfficiency, estimate_training_step, flops_per_token
from gpucast.core.training_memory import TrainingSetup, training_memory

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("../shared/calibration/training.csv")  # relative to the repo root
OUTPUT = REPO / "src" / "gpucast" / "catalog" / "training_calibration.toml"
THROUGHPUT = ("tokens_per_s_per_gpu", "tokens_per_s_total", "mfu_pct", "tflops_per_gpu")
METRICS = (*THROUGHPUT, "peak_mem_gb_per_gpu")
BOUNDS = {  # physically meaningful ranges
    "matmul_fraction": (0.3, 0.9),
    "fp8_matmul_fraction": (0.2, 0.9),
    "attention_fraction": (0.15, 0.9),
    "elementwise_passes": (5.0, 150.0),
    "recompute_time_factor": (0.4, 1.2),
    "dp_exposed_fraction": (0.0, 1.0),
    "tp_exposed_fraction": (0.0, 1.0),
}
GLOBAL = tuple(BOUNDS)
PRIOR_SIGMA, START_SIGMA, LOSS_SCALE, MIN_FAMILY_ROWS = 0.3, 3.0, 0.2, 10
ATTENTION_PRIOR_SIGMA = 0.5  # flash-attention kernels differ more between GPU generations than GEMMs do
START = TrainingEfficiency()

# ---------------------------------------------------------------------------------------------- shapes
# llm-foundry scripts/train/yamls/pretrain/mpt-*.yaml: d_model / n_heads / n_layers, vocab 50368, expansion 4,
# tied embeddings, no biases; the benchmark configs add a learned position table (max_seq_len x d_model).
MPT = {"125m": (768, 12, 12), "350m": (1024, 16, 24), "760m": (1536, 12, 24), "1b": (2048, 16, 24),
       "3b": (2560, 20, 32), "7b": (4096, 32, 32), "13b": (5120, 40, 40), "30b": (7168, 64, 48),
       "70b": (8192, 64, 80)}  # fmt: skip
# Narayanan et al. 2021 (arXiv 2104.04473) Table 1: heads, TP, PP for the README's April-2021 rows.
MEGATRON_2021 = {"1.7B": (24, 1, 1), "3.6B": (32, 2, 1), "7.5B": (32, 4, 1), "18B": (48, 8, 1), "39B": (64, 8, 2),
                 "76B": (80, 8, 4), "145B": (96, 8, 8), "310B": (128, 8, 16), "530B": (128, 8, 35),
                 "1T": (160, 8, 64)}  # fmt: skip
# Korthikanti et al. 2022 (arXiv 2205.05198) Table 3: hidden, heads, layers, TP, PP, GPUs, global batch.
MEGATRON_2022 = {"22B": (6144, 64, 48, 8, 1, 8, 4), "175B": (12288, 96, 96, 8, 8, 64, 64),
                 "530B": (20480, 128, 105, 8, 35, 280, 280), "1T": (25600, 160, 128, 8, 64, 512, 512)}  # fmt: skip
GPU_NAMES = {"H100-80GB-SXM": "h100-sxm", "A100-80GB-SXM (Selene)": "a100-80gb-sxm", "RTX A6000 48GB": "a6000",
             "A100 (80GB assumed)": "a100-80gb-sxm", "A100 (memory size not stated)": "a100-80gb-sxm"}  # fmt: skip


def gpt(name: str, hidden: int, heads: int, layers: int, vocab: int, tied: bool) -> ModelSpec:
    """A GPT-style decoder: plain 4h MLP, MHA, LayerNorms (as in MPT and Megatron GPT)."""
    return ModelSpec(
        id=name.lower(), name=name, num_layers=layers, hidden_size=hidden, num_heads=heads, num_kv_heads=heads,
        head_dim=hidden // heads, intermediate_size=4 * hidden, vocab_size=vocab, tie_word_embeddings=tied,
        gated_mlp=False,
    )  # fmt: skip


@dataclass
class Case:
    """One configuration and the rows measured on it."""

    source: str
    setup: TrainingSetup
    targets: list[tuple[str, str, float, float]]  # (row id, metric, measured in gpucast's convention, raw)
    their_flops: float = 0.0  # the source's FLOPs per token (for MFU/TFLOP conversion), 0 = same as ours
    hfu: bool = False  # the source's % of peak counts recomputation


def _num(text: str) -> float | None:
    match = re.search(r"[\d.]+", text or "")
    return float(match.group()) if match else None


def _recompute_that_fits(setup: TrainingSetup) -> TrainingSetup:
    """Unstated recomputation: the least that fits, as a practitioner would configure it."""
    for option in ("none", "selective", "full"):
        candidate = dataclasses.replace(setup, recompute=option)
        if training_memory(candidate).fits(setup.gpu, 0.0):
            return candidate
    return dataclasses.replace(setup, recompute="full")


def setup_for(row: dict[str, str]) -> tuple[TrainingSetup, float, bool] | str:
    """(setup, the source's FLOPs per token or 0, HFU convention) for a row, or why it is skipped."""
    rid, notes = row["id"], row["notes"]
    seq = int(_num(row["seq_len"]) or 0)
    if not seq:
        return "sequence length / batch not stated"
    batch_match = re.search(r"(\d+)seq", row["global_batch_tokens_or_seqs"])
    gpu = resolve_gpu(GPU_NAMES.get(row["gpu"], row["gpu"]))
    num_gpus = int(_num(row["num_gpus"]) or 0)
    if rid.startswith("mpt-"):
        size = row["model"].split("-")[1].lower()
        h, a, layers = MPT[size]
        model = gpt(row["model"], h, a, layers, 50368, True)
        mine = count_parameters(model).total + seq * h
        if abs(mine / (float(row["params_b"]) * 1e9) - 1) > 0.02:
            return f"MPT shape does not match params_b ({mine / 1e9:.3f}B vs {row['params_b']})"
        ga = int(re.search(r"grad_accum=(\d+)", notes).group(1))  # type: ignore[union-attr]
        setup = TrainingSetup(
            model=model, gpu=gpu, precision=Precision.FP8 if "fp8" in row["precision"] else Precision.BF16,
            master_weights="PURE" not in row["precision"], zero=3 if "FULL_SHARD" in row["zero_or_fsdp"] else 2,
            dp=num_gpus, micro_batch=int(row["micro_batch"]), seq_len=seq, grad_accum=ga,
            recompute="full" if row["grad_ckpt"] == "True" else "none",
        )  # fmt: skip
        their = 6.0 * float(row["params_b"]) * 1e9 + 12.0 * layers * h * seq
        return setup, their, False
    if rid.startswith("megatron-"):
        match = re.search(r"h=(\d+), L=(\d+)(?:, heads=(\d+))?, vocab (\d+)", row["model"])
        label = rid.split("-")[3] if rid.startswith("megatron-a100") else rid.split("-")[2]
        if rid.startswith("megatron-a100-2022"):
            h, a, layers, tp, pp, num_gpus, batch = MEGATRON_2022[label]
            model = gpt(f"GPT-{label}", h, a, layers, 51200, True)
            dp, recompute, their, hfu = 1, "selective", 0.0, False
        elif "strong" in rid:
            model, tp, pp, batch = gpt("GPT-177B", 12288, 96, 96, 131072, False), 8, 6, 1152
            dp, recompute, their, hfu = num_gpus // 48, "none", 0.0, False
        elif match is None:
            return "model shape not stated"
        elif rid.startswith("megatron-a100-2021"):
            h, layers, vocab = int(match.group(1)), int(match.group(2)), int(match.group(4))
            a, tp, pp = MEGATRON_2021[label]
            model = gpt(row["model"].split(" ")[0], h, a, layers, vocab, True)
            dp, batch, recompute, hfu = int(row["dp"]), int(batch_match.group(1)), "full", True  # type: ignore[union-attr]
            their = 96.0 * layers * h * h * (1 + seq / (6 * h) + vocab / (16 * layers * h))  # eq. (3) / (B*s)
        else:
            h, layers, a, vocab = (int(match.group(i)) for i in (1, 2, 3, 4))
            model = gpt(row["model"].split(" ")[0], h, a, layers, vocab, False)
            tp, pp, dp = int(row["tp"]), int(row["pp"]), int(row["dp"])
            batch, recompute, their, hfu = int(batch_match.group(1)), "none", 0.0, False  # type: ignore[union-attr]
        mine = count_parameters(model).total / 1e9
        if abs(mine / float(row["params_b"]) - 1) > 0.05:
            return f"GPT shape does not match params_b ({mine:.1f}B vs {row['params_b']})"
        setup = TrainingSetup(
            model=model, gpu=gpu, tp=tp, pp=pp, dp=dp, zero=1, micro_batch=1, seq_len=seq,
            grad_accum=max(1, batch // dp), recompute=recompute, precision=Precision.BF16,
            flash_attention=not rid.startswith("megatron-a100"),  # 2021/2022 runs predate FlashAttention
            tp_comm_overlap=rid.startswith("megatron-h100"),  # "tp-comm-overlap on" (README / notes)
        )  # fmt: skip
        if recompute == "none":
            setup = _recompute_that_fits(setup)
        return setup, their, hfu
    if rid.startswith("torchtune-"):
        if "flags-baseline" in rid:
            return "unpacked dataset: sequence lengths unknown"
        stack = ("packed", "compile", "chunkedce", "ac", "optbwd", "actoffload", "adamw8bit")
        step = next((i for i, s in enumerate(stack) if f"-{s}-" in rid), len(stack)) if "-flags-" in rid else -1
        method = row["method"]
        low_memory = method == "full" and "full_finetune_single_device" in notes
        setup = TrainingSetup(
            model=resolve_model(row["model"]), gpu=gpu, method=method, master_weights=False,
            zero=3 if "FSDP" in row["zero_or_fsdp"] else 0, dp=num_gpus, micro_batch=int(row["micro_batch"]),
            seq_len=seq, optimizer="adamw8bit" if (step >= 6 and method == "full") or low_memory else "adamw",
            chunked_loss=step >= 2, recompute="full" if step >= 3 else "none",
            optimizer_in_backward=(step >= 4 and method == "full") or low_memory,
            activation_offload=step >= 5, cpu_offload="CPU offload" in notes,
        )  # fmt: skip
        if "-flags-" not in rid:
            setup = _recompute_that_fits(setup)
        if low_memory and not training_memory(setup).fits(gpu, 0.0):  # paged 8-bit states spill to the host
            setup = dataclasses.replace(setup, cpu_offload=True)
        return setup, 0.0, False
    return "unknown source"


def prepare(rows: Sequence[dict[str, str]]) -> tuple[list[Case], Counter[str]]:
    cases: dict[tuple[str, str, float, bool], Case] = {}
    skipped: Counter[str] = Counter()
    for row in rows:
        if row["metric"] not in METRICS:
            skipped[f"metric {row['metric']} not modelled"] += 1
            continue
        result = setup_for(row)
        if isinstance(result, str):
            skipped[result] += 1
            continue
        setup, their, hfu = result
        key = (row["source"], repr(setup), their, hfu)
        case = cases.setdefault(key, Case(row["source"], setup, [], their, hfu))
        value = float(row["value"])
        if row["metric"] == "peak_mem_gb_per_gpu" and row["unit"].strip() == "GB":
            value = value * 1e9 / 2**30
        converted = value
        if row["metric"] in ("mfu_pct", "tflops_per_gpu") and their:
            flops = flops_per_token(setup.model, setup.seq_len, setup.recompute, setup.method)
            converted = value * (flops.hardware if hfu else flops.model) / their
        case.targets.append((row["id"], row["metric"], converted, value))
    return list(cases.values()), skipped


def predict(case: Case, metric: str, eff: TrainingEfficiency) -> float:
    if metric == "peak_mem_gb_per_gpu":
        return training_memory(case.setup, eff.memory).allocated
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
    """6N FLOPs per token at 40% of the BF16 dense peak; N = all parameters."""
    if metric == "peak_mem_gb_per_gpu":
        return None
    s = case.setup
    tps = 0.4 * s.gpu.peak_flops("bf16") / (6.0 * count_parameters(s.model).total)
    if metric in ("mfu_pct", "tflops_per_gpu"):
        flops = flops_per_token(s.model, s.seq_len, s.recompute, s.method)
        fraction = tps * (flops.hardware if case.hfu else flops.model) / s.gpu.peak_flops("bf16")
        return 100 * fraction if metric == "mfu_pct" else fraction * s.gpu.peak_flops("bf16") / 1e12
    return tps * (s.num_gpus if metric == "tokens_per_s_total" else 1)


# ---------------------------------------------------------------------------------------------- fit
def families(cases: Sequence[Case]) -> tuple[str, ...]:
    counts = Counter(c.setup.gpu.family for c in cases for t in c.targets if t[1] in THROUGHPUT)
    return tuple(sorted(f for f, n in counts.items() if n >= MIN_FAMILY_ROWS))


def efficiencies(x: Sequence[float], fams: Sequence[str]) -> dict[str, TrainingEfficiency]:
    base = TrainingEfficiency(**dict(zip(GLOBAL, map(float, x[: len(GLOBAL)]), strict=True)), source="fit")
    result = {"default": base}
    for i, family in enumerate(fams):
        matmul, attention = x[len(GLOBAL) + 2 * i], x[len(GLOBAL) + 2 * i + 1]
        result[family] = dataclasses.replace(base, matmul_fraction=float(matmul), attention_fraction=float(attention))
    return result


def _eff(effs: dict[str, TrainingEfficiency], case: Case) -> TrainingEfficiency:
    return effs.get(case.setup.gpu.family, effs["default"])


def _weights(cases: Sequence[Case], metrics: tuple[str, ...]) -> dict[str, float]:
    counts = Counter(c.source for c in cases for t in c.targets if t[1] in metrics)
    return {source: 1.0 / math.sqrt(n) for source, n in counts.items()}


def fit_throughput(cases: Sequence[Case]) -> tuple[np.ndarray, tuple[str, ...]]:
    fams = families(cases)
    weight = _weights(cases, THROUGHPUT)
    pair = ("matmul_fraction", "attention_fraction")
    start = np.array([getattr(START, k) for k in GLOBAL] + [getattr(START, k) for k in pair] * len(fams))
    low = np.array([BOUNDS[k][0] for k in GLOBAL] + [BOUNDS[k][0] for k in pair] * len(fams))
    high = np.array([BOUNDS[k][1] for k in GLOBAL] + [BOUNDS[k][1] for k in pair] * len(fams))

    def residuals(x: np.ndarray) -> np.ndarray:
        effs = efficiencies(x, fams)
        res = [
            weight[c.source] * math.log(predict(c, m, _eff(effs, c)) / v)
            for c in cases
            for _, m, v, _ in c.targets
            if m in THROUGHPUT
        ]
        for i, k in enumerate(GLOBAL):  # weak prior towards the defaults: exposures absolute, the rest in log
            default = getattr(START, k)
            deviation = x[i] - default if k.endswith("exposed_fraction") else math.log(x[i] / default)
            res.append(deviation / START_SIGMA)
        for i in range(len(fams)):  # families tied to the global values
            res.append(math.log(x[len(GLOBAL) + 2 * i] / x[0]) / PRIOR_SIGMA)
            res.append(math.log(x[len(GLOBAL) + 2 * i + 1] / x[2]) / ATTENTION_PRIOR_SIGMA)
        return np.array(res)

    result = least_squares(
        residuals, np.clip(start, low, high), bounds=(low, high), loss="soft_l1", f_scale=LOSS_SCALE,
        x_scale=high - low, diff_step=1e-4, xtol=1e-8, ftol=1e-8, max_nfev=300, method="trf",
    )  # fmt: skip
    return result.x, fams


def fit_memory(cases: Sequence[Case]) -> float:
    """activation_factor minimising the weighted log error of the peak-memory rows (golden section)."""
    rows = [(c, v) for c in cases for _, m, v, _ in c.targets if m == "peak_mem_gb_per_gpu"]
    if not rows:
        return START.activation_factor
    weight = _weights(cases, ("peak_mem_gb_per_gpu",))

    def cost(factor: float) -> float:
        eff = dataclasses.replace(START, activation_factor=factor)
        return sum(
            weight[c.source] * abs(math.log(training_memory(c.setup, eff.memory).allocated / v)) for c, v in rows
        )

    grid = np.linspace(0.5, 2.0, 151)  # median-like (L1) fit on a fixed grid: deterministic and robust
    return float(grid[int(np.argmin([cost(f) for f in grid]))])


@dataclass
class Fit:
    x: np.ndarray
    fams: tuple[str, ...]
    activation_factor: float

    def efficiencies(self) -> dict[str, TrainingEfficiency]:
        effs = efficiencies(self.x, self.fams)
        return {k: dataclasses.replace(v, activation_factor=self.activation_factor) for k, v in effs.items()}


def fit(cases: Sequence[Case]) -> Fit:
    x, fams = fit_throughput(cases)
    return Fit(x, fams, fit_memory(cases))


# ---------------------------------------------------------------------------------------------- report
def errors(pairs: list[tuple[str, float, float]]) -> dict[str, tuple[int, float, float]]:
    by: dict[str, list[float]] = defaultdict(list)
    for metric, pred, meas in pairs:
        by[metric].append(abs(pred / meas - 1) * 100)
        by["throughput (all)" if metric in THROUGHPUT else metric + " "].append(abs(pred / meas - 1) * 100)
    order = [*METRICS, "throughput (all)"]
    return {m: (len(by[m]), float(np.median(by[m])), float(np.percentile(by[m], 90))) for m in order if m in by}


def pairs_for(cases: Sequence[Case], result: Fit) -> list[tuple[str, float, float]]:
    effs = result.efficiencies()
    return [(m, predict(c, m, _eff(effs, c)), v) for c in cases for _, m, v, _ in c.targets]


def loso(cases: Sequence[Case]) -> list[tuple[str, float, float]]:
    out = []
    for source in sorted({c.source for c in cases}):
        held = [c for c in cases if c.source == source]
        pairs = pairs_for(held, fit([c for c in cases if c.source != source]))
        out += pairs
        median = float(np.median([abs(p / v - 1) * 100 for _, p, v in pairs]))
        print(f"  without {source[:70]:<70} {len(pairs):>4} rows: median {median:5.1f}%")
    return out


def table(columns: dict[str, dict[str, tuple[int, float, float]]]) -> list[str]:
    lines = [f"{'metric':<24}" + "".join(f"{name:>26}" for name in columns)]
    for metric in [*METRICS, "throughput (all)"]:
        cells = [
            f"{c[metric][0]:>5} {c[metric][1]:>8.1f} {c[metric][2]:>8.1f}" if metric in c else f"{'-':>23}"
            for c in columns.values()
        ]
        if any(metric in c for c in columns.values()):
            lines.append(f"{metric:<24}" + "".join(f"{cell:>26}" for cell in cells))
    return lines


def values(result: Fit) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    base = result.efficiencies()["default"]
    defaults = {k: float(f"{getattr(base, k):.3g}") for k in (*GLOBAL, "activation_factor")}
    effs = result.efficiencies()
    fams = {
        f: {k: float(f"{getattr(effs[f], k):.3g}") for k in ("matmul_fraction", "attention_fraction")}
        for f in result.fams
    }
    return defaults, fams


def render(result: Fit, lines: list[str], data: str) -> str:
    defaults, fams = values(result)
    head = [
        "# Training efficiencies (gpucast.core.training.TrainingEfficiency), fitted by scripts/calibrate_training.py",
        f"# to {data}. Do not edit by hand; `python scripts/calibrate_training.py --check` verifies it.",
        "# Absolute % error per metric: n, median, p90 (in sample | leave-one-source-out | 6N at 40% MFU):",
        *[f"#   {line}" for line in lines],
        "[defaults]",
    ]
    body = [f"{k} = {v!r}" for k, v in defaults.items()]
    body.append('source = "fitted by scripts/calibrate_training.py"')
    for family, vals in fams.items():
        body += ["", f"[families.{family}]", *[f"{k} = {v!r}" for k, v in vals.items()]]
    return "\n".join(head + body) + "\n"


def differs(result: Fit, path: Path, tolerance: float) -> list[str]:
    if not path.exists():
        return [f"{path} does not exist"]
    stored = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults, fams = values(result)
    problems = [
        f"defaults.{k}: file {stored.get('defaults', {}).get(k)} vs fit {v}"
        for k, v in defaults.items()
        if not math.isclose(stored.get("defaults", {}).get(k, math.nan), v, rel_tol=tolerance, abs_tol=tolerance)
    ]
    if set(stored.get("families", {})) != set(fams):
        problems.append(f"families: file {sorted(stored.get('families', {}))} vs fit {sorted(fams)}")
    for family, vals in fams.items():
        for k, v in vals.items():
            have = stored.get("families", {}).get(family, {}).get(k, math.nan)
            if not math.isclose(have, v, rel_tol=tolerance):
                problems.append(f"families.{family}.{k}: file {have} vs fit {v}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="training CSV (default %(default)s)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="re-fit; exit 1 if --output differs")
    parser.add_argument("--tolerance", type=float, default=1e-9, help="relative tolerance of --check")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--no-cv", action="store_true", help="skip leave-one-source-out cross-validation")
    parser.add_argument("--worst", type=int, default=8)
    parser.add_argument("--memory", action="store_true", help="list the peak-memory rows")
    args = parser.parse_args(argv)
    path = args.data if args.data.is_absolute() else REPO / args.data
    if not path.is_file():
        print(f"calibrate_training.py: training data {path} not found (use --data PATH)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    cases, skipped = prepare(rows)
    n = sum(len(c.targets) for c in cases)
    print(
        f"{path.name}: {len(rows)} rows, {n} predicted in {len(cases)} configurations, {sum(skipped.values())} skipped"
    )
    for reason, count in skipped.most_common():
        print(f"  skipped {count:>4}: {reason}")
    result = fit(cases)
    names = [*GLOBAL, *(f"{f}.{k}" for f in result.fams for k in ("matmul_fraction", "attention_fraction"))]
    for name, value in zip(names, result.x, strict=True):
        print(f"  {name:<32} {value:.4g}")
    print(f"  {'activation_factor':<32} {result.activation_factor:.4g}")
    fitted = pairs_for(cases, result)
    columns = {"in sample": errors(fitted)}
    if not (args.no_cv or args.check):
        print("leave-one-source-out:")
        columns["leave-one-source-out"] = errors(loso(cases))
    thumb = [(m, p, v) for c in cases for _, m, v, _ in c.targets if (p := rule_of_thumb(c, m)) is not None]
    columns["6N at 40% MFU"] = errors(thumb)
    lines = table(columns)
    print("\nabsolute % error (n, median, p90):")
    print("\n".join(lines))
    if args.worst:
        effs = result.efficiencies()
        ranked = sorted(
            ((c, rid, m, predict(c, m, _eff(effs, c)) / v) for c in cases for rid, m, v, _ in c.targets),
            key=lambda item: -abs(math.log(item[3])),
        )
        print(f"\n{args.worst} worst rows (predicted / measured):")
        for c, rid, m, ratio in ranked[: args.worst]:
            print(f"  {rid:<44} {m:<22} {ratio:5.2f}x  recompute={c.setup.recompute} zero={c.setup.zero}")
    if args.memory:
        effs = result.efficiencies()
        for c in cases:
            for rid, m, v, _ in c.targets:
                if m == "peak_mem_gb_per_gpu":
                    mem = training_memory(c.setup, _eff(effs, c).memory)
                    print(f"  {rid:<40} measured {v:6.1f} predicted {mem.allocated:6.1f} GiB {mem} {c.setup.recompute}")
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    if args.check:
        problems = differs(result, args.output, args.tolerance)
        if problems:
            print(f"--check: {args.output} differs from the fit:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(f"--check: {args.output} matches the fit")
        return 0
    if not args.no_write:
        args.output.write_text(render(result, lines, path.name), encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
