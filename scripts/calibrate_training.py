"""Fit gpucast's training efficiencies (core.training.TrainingEfficiency) to published training runs.

Reads ``../shared/calibration/training.csv`` (columns and sources in its README), turns every row it
can into a ``TrainingSetup`` (catalog models; MPT and Megatron GPT shapes from the llm-foundry yamls
and the Megatron tables/papers, in gpucast.training_validation), predicts it with the real core and fits a few bounded
parameters by least squares on log(predicted / measured):

- throughput: ``matmul_fraction`` (global, and per GPU family with >= 10 rows, tied to the global value
  by a log-normal prior of sigma 0.15), per software stack (``framework`` column: megatron, composer,
  torchtune) a GEMM and an attention factor (log-normal priors of sigma 0.15 and 0.5 around 1, the
  "default" stack), ``fp8_matmul_fraction``, ``attention_fraction``, ``fa2_hopper_factor`` (FlashAttention-2
  class kernels on Hopper/Blackwell, all stacks but Megatron-Core; fits ~0.49, the FA2/FA3 ratio of 35%/75% of
  H100 peak that the FlashAttention-3 paper states), ``elementwise_passes``, ``recompute_time_factor``, ``dp_exposed_fraction``, ``tp_exposed_fraction``;
- memory: ``activation_factor`` (peak-memory rows; torchtune reports the allocator's peak, so they are
  compared with ``TrainingMemory.allocated``: fragmentation and the CUDA context keep their defaults).

Each source's rows are weighted by 1/sqrt(rows) so that the large llm-foundry tables do not drown the
others; soft-L1 loss; a weak prior (factor e at 1 sigma) towards the TrainingEfficiency defaults keeps
parameters a held-out fold cannot identify finite. Deterministic, no randomness.

Rows are turned into setups and predicted by ``gpucast.training_validation`` (shared with ``gpucast
validate``, so the command reports the error this fit minimises): the MPT and Megatron GPT shapes, the
conversion of each source's MFU convention to gpucast's, and the rows skipped (batch or sequence unknown,
unpacked datasets), whose reasons are printed.

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
import sys
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from gpucast.catalog.loader import nf4_dequant_bytes
from gpucast.core.training import FrameworkFactors, TrainingEfficiency
from gpucast.core.training_memory import training_memory
from gpucast.validation.training import MEMORY, RESERVED, THROUGHPUT, Case, predict, rule_of_thumb
from gpucast.validation.training import prepare as prepare_rows

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling module below
from calibration_report import check_or_write
from training_fit_tables import errors, stack_lines, table

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("../shared/calibration/training.csv")  # relative to the repo root
FIT_DIR = REPO / "data" / "benchmarks" / "training-fit"  # further published rows fitted on (sources in its README)
MEASURED_DIR = REPO / "data" / "benchmarks" / "measured"  # gpucast's own GPU measurements (sources in its README)
MEMORY_STACKS = ("hf",)  # stacks with their own activation-memory factor (their peak-memory rows fit it)
OUTPUT = REPO / "src" / "gpucast" / "catalog" / "training_calibration.toml"
BOUNDS = {  # physically meaningful ranges
    "matmul_fraction": (0.3, 0.9),
    "fp8_matmul_fraction": (0.2, 0.9),
    "attention_fraction": (0.15, 0.9),
    "fa2_hopper_factor": (0.3, 1.0),
    "elementwise_passes": (5.0, 150.0),
    "recompute_time_factor": (0.4, 1.2),
    "dp_exposed_fraction": (0.0, 1.0),
    "tp_exposed_fraction": (0.0, 1.0),
    "lora_passes": (2.0, 100.0),
}
GLOBAL = tuple(BOUNDS)
PRIOR_SIGMA, START_SIGMA, LOSS_SCALE, MIN_FAMILY_ROWS = 0.3, 3.0, 0.2, 10
ATTENTION_PRIOR_SIGMA = 0.5  # flash-attention kernels differ more between GPU generations than GEMMs do
FRAMEWORK_BOUNDS = {"matmul": (0.5, 1.5), "attention": (0.3, 2.0), "elementwise": (0.3, 5.0), "lora": (0.1, 10.0)}
# GEMM and attention kernels are shared (cuBLAS, flash kernels): tight priors. Eager vs fused elementwise kernels
# (norms, activations, RoPE, casts) and eager vs compiled LoRA branches differ by integer factors: weak priors.
FRAMEWORK_SIGMA = {"matmul": PRIOR_SIGMA / 2, "attention": ATTENTION_PRIOR_SIGMA, "elementwise": START_SIGMA,
                   "lora": START_SIGMA}  # fmt: skip
PER_STACK = len(FRAMEWORK_BOUNDS)
START = TrainingEfficiency()


def prepare(rows: Sequence[dict[str, str]]) -> tuple[list[Case], Counter[str]]:
    """The cases to fit, and how many rows each skip reason covers (the script prints counts, not ids)."""
    cases, skipped = prepare_rows(rows)
    return cases, Counter(reason for _, reason in skipped)


# ---------------------------------------------------------------------------------------------- fit
def families(cases: Sequence[Case]) -> tuple[str, ...]:
    counts = Counter(c.setup.gpu.family for c in cases for t in c.targets if t[1] in THROUGHPUT)
    return tuple(sorted(f for f, n in counts.items() if n >= MIN_FAMILY_ROWS))


def frameworks(cases: Sequence[Case]) -> tuple[str, ...]:
    """Software stacks with throughput rows (each gets a GEMM and an attention factor)."""
    return tuple(sorted({c.setup.framework for c in cases if c.setup.framework != "default" and _has_tps(c)}))


def _has_tps(case: Case) -> bool:
    return any(t[1] in THROUGHPUT for t in case.targets)


def efficiencies(x: Sequence[float], fams: Sequence[str], fws: Sequence[str] = ()) -> dict[str, TrainingEfficiency]:
    offset = len(GLOBAL) + 2 * len(fams)
    stacks = tuple(
        (fw, FrameworkFactors(**{k: float(x[offset + PER_STACK * i + j]) for j, k in enumerate(FRAMEWORK_BOUNDS)}))
        for i, fw in enumerate(fws)
    )
    base = TrainingEfficiency(
        **dict(zip(GLOBAL, map(float, x[: len(GLOBAL)]), strict=True)), source="fit", frameworks=stacks,
        nf4_dequant_bytes=nf4_dequant_bytes(),  # fitted apart (scripts/fit_qlora_dequant.py): QLoRA rows see it
    )  # fmt: skip
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


def fit_throughput(cases: Sequence[Case]) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    fams, fws = families(cases), frameworks(cases)
    weight = _weights(cases, THROUGHPUT)
    pair = ("matmul_fraction", "attention_fraction")
    start = np.array([getattr(START, k) for k in GLOBAL] + [getattr(START, k) for k in pair] * len(fams))
    start = np.concatenate([start, np.ones(PER_STACK * len(fws))])
    low = np.array(
        [BOUNDS[k][0] for k in GLOBAL] + [BOUNDS[k][0] for k in pair] * len(fams)
        + [FRAMEWORK_BOUNDS[k][0] for k in FRAMEWORK_BOUNDS] * len(fws)
    )  # fmt: skip
    high = np.array(
        [BOUNDS[k][1] for k in GLOBAL] + [BOUNDS[k][1] for k in pair] * len(fams)
        + [FRAMEWORK_BOUNDS[k][1] for k in FRAMEWORK_BOUNDS] * len(fws)
    )  # fmt: skip
    offset = len(GLOBAL) + 2 * len(fams)

    def residuals(x: np.ndarray) -> np.ndarray:
        effs = efficiencies(x, fams, fws)
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
        for i in range(len(fws)):  # software stacks around the "default" stack (factors 1)
            for j, k in enumerate(FRAMEWORK_BOUNDS):
                res.append(math.log(x[offset + PER_STACK * i + j]) / FRAMEWORK_SIGMA[k])
        return np.array(res)

    result = least_squares(
        residuals, np.clip(start, low, high), bounds=(low, high), loss="soft_l1", f_scale=LOSS_SCALE,
        x_scale=high - low, diff_step=1e-4, xtol=1e-10, ftol=1e-12, gtol=1e-10, max_nfev=400, method="trf",
    )  # fmt: skip
    return result.x, fams, fws


def _grid_fit(
    rows: Sequence[tuple[Case, str, float]], weight: dict[str, float], grid: np.ndarray, settings: object
) -> float:
    """The grid value minimising the weighted absolute log error (median-like, deterministic and robust);
    ``settings(value)`` gives the MemorySettings for a grid value."""

    def cost(value: float) -> float:
        mem = settings(value)  # type: ignore[operator]
        total = 0.0
        for c, m, v in rows:
            got = training_memory(c.setup, mem)
            total += weight[c.source] * abs(math.log((got.reserved if m == RESERVED else got.allocated) / v))
        return total

    return float(grid[int(np.argmin([cost(f) for f in grid]))])


def fit_memory(cases: Sequence[Case]) -> tuple[float, dict[str, float], float]:
    """(activation_factor, per-stack activation factors, fragmentation_fraction), one after the other: the global
    factor on all allocated-memory rows (every stack: a stack that a held-out source alone measures then falls back
    to an average over all stacks, not over the others), each MEMORY_STACKS factor on its own stack's rows relative
    to it, the fragmentation on the rows that report reserved memory (torch.cuda.max_memory_reserved)."""
    rows = [(c, m, v) for c in cases for _, m, v, _ in c.targets if m in MEMORY]
    weight = _weights(cases, MEMORY)
    grid = np.linspace(0.5, 2.0, 151)
    base = [r for r in rows if r[1] != RESERVED]
    factor = START.activation_factor
    if base:
        factor = _grid_fit(base, weight, grid, lambda f: dataclasses.replace(START, activation_factor=f).memory)
    stacks: dict[str, float] = {}
    for stack in MEMORY_STACKS:
        own = [r for r in rows if r[1] != RESERVED and r[0].setup.framework == stack]
        if own:
            stacks[stack] = _grid_fit(
                own, weight, np.linspace(0.3, 2.0, 171),
                lambda f, s=stack: dataclasses.replace(
                    START, activation_factor=factor, frameworks=((s, FrameworkFactors(activation=f)),)
                ).memory,
            )  # fmt: skip
    reserved = [r for r in rows if r[1] == RESERVED]
    fragmentation = START.fragmentation_fraction
    if reserved:
        frames = tuple((k, FrameworkFactors(activation=v)) for k, v in stacks.items())
        fragmentation = _grid_fit(
            reserved, weight, np.linspace(0.0, 0.3, 61),
            lambda f: dataclasses.replace(
                START, activation_factor=factor, fragmentation_fraction=f, frameworks=frames
            ).memory,
        )  # fmt: skip
    return factor, stacks, fragmentation


@dataclass
class Fit:
    x: np.ndarray
    fams: tuple[str, ...]
    fws: tuple[str, ...]
    activation_factor: float
    stack_activation: dict[str, float]
    fragmentation_fraction: float

    def efficiencies(self) -> dict[str, TrainingEfficiency]:
        effs = efficiencies(self.x, self.fams, self.fws)
        return {k: self._memory(v) for k, v in effs.items()}

    def _memory(self, eff: TrainingEfficiency) -> TrainingEfficiency:
        names = sorted({*dict(eff.frameworks), *self.stack_activation})
        frames = tuple(
            (n, dataclasses.replace(eff.framework(n), activation=self.stack_activation.get(n, 1.0))) for n in names
        )
        return dataclasses.replace(
            eff, activation_factor=self.activation_factor, fragmentation_fraction=self.fragmentation_fraction,
            frameworks=frames,
        )  # fmt: skip


def fit(cases: Sequence[Case]) -> Fit:
    x, fams, fws = fit_throughput(cases)
    return Fit(x, fams, fws, *fit_memory(cases))


# ---------------------------------------------------------------------------------------------- report
def pairs_for(cases: Sequence[Case], result: Fit) -> list[tuple[str, float, float]]:
    effs = result.efficiencies()
    return [(m, predict(c, m, _eff(effs, c)), v) for c in cases for _, m, v, _ in c.targets]


def loso(
    cases: Sequence[Case], by_stack: dict[str, list[tuple[str, float, float]]] | None = None
) -> list[tuple[str, float, float]]:
    """Leave-one-source-out pairs; ``by_stack`` (when given) collects them per software stack as well."""
    out = []
    for source in sorted({c.source for c in cases}):
        held = [c for c in cases if c.source == source]
        pairs = pairs_for(held, fit([c for c in cases if c.source != source]))
        out += pairs
        if by_stack is not None:
            stacks = [c.setup.framework for c in held for _ in c.targets]
            for stack, pair in zip(stacks, pairs, strict=True):
                by_stack[stack].append(pair)
        median = float(np.median([abs(p / v - 1) * 100 for _, p, v in pairs]))
        print(f"  without {source[:70]:<70} {len(pairs):>4} rows: median {median:5.1f}%")
    return out


def values(result: Fit) -> tuple[dict[str, float], dict[str, dict[str, dict[str, float]]]]:
    """[defaults] and the [families.*] / [frameworks.*] tables, rounded to 3 significant digits."""
    effs = result.efficiencies()
    base = effs["default"]
    defaults = {k: float(f"{getattr(base, k):.3g}") for k in (*GLOBAL, "activation_factor", "fragmentation_fraction")}
    fams = {
        f: {k: float(f"{getattr(effs[f], k):.3g}") for k in ("matmul_fraction", "attention_fraction")}
        for f in result.fams
    }
    fws = {fw: {k: float(f"{getattr(base.framework(fw), k):.3g}") for k in FRAMEWORK_BOUNDS} for fw in result.fws}
    for stack, factor in result.stack_activation.items():
        fws.setdefault(stack, {})["activation"] = float(f"{factor:.3g}")
    return defaults, {"families": fams, "frameworks": fws}


def render(result: Fit, lines: list[str], data: str) -> str:
    defaults, sections = values(result)
    head = [
        "# Training efficiencies (gpucast.core.training.TrainingEfficiency), fitted by scripts/calibrate_training.py",
        f"# to {data}. Do not edit by hand; `python scripts/calibrate_training.py --check` verifies it.",
        "# [frameworks.<id>]: software-stack factors on the achieved GEMM and attention rates (default stack 1).",
        "# Absolute % error per metric: n, median, p90 (in sample | leave-one-source-out | 6N at 40% MFU):",
        *[f"#   {line}".rstrip() for line in lines],
        "[defaults]",
    ]
    body = [f"{k} = {v!r}" for k, v in defaults.items()]
    body.append('source = "fitted by scripts/calibrate_training.py"')
    for section, tables in sections.items():
        for name, vals in tables.items():
            body += ["", f"[{section}.{name}]", *[f"{k} = {v!r}" for k, v in vals.items()]]
    return "\n".join(head + body) + "\n"


def differs(result: Fit, path: Path, tolerance: float) -> list[str]:
    if not path.exists():
        return [f"{path} does not exist"]
    stored = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults, sections = values(result)
    problems = [
        f"defaults.{k}: file {stored.get('defaults', {}).get(k)} vs fit {v}"
        for k, v in defaults.items()
        if not math.isclose(stored.get("defaults", {}).get(k, math.nan), v, rel_tol=tolerance, abs_tol=tolerance)
    ]
    for section, tables in sections.items():
        if set(stored.get(section, {})) != set(tables):
            problems.append(f"{section}: file {sorted(stored.get(section, {}))} vs fit {sorted(tables)}")
        for name, vals in tables.items():
            for k, v in vals.items():
                have = stored.get(section, {}).get(name, {}).get(k, math.nan)
                if not math.isclose(have, v, rel_tol=tolerance):
                    problems.append(f"{section}.{name}.{k}: file {have} vs fit {v}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        default=[DEFAULT_DATA, *sorted(FIT_DIR.glob("*.csv")), *sorted(MEASURED_DIR.glob("*.csv"))],
        help="training CSVs (default: ../shared/calibration/training.csv, data/benchmarks/training-fit/*.csv and "
        "data/benchmarks/measured/*.csv)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="re-fit; exit 1 if --output differs")
    parser.add_argument("--tolerance", type=float, default=1e-9, help="relative tolerance of --check")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--no-cv", action="store_true", help="skip leave-one-source-out cross-validation")
    parser.add_argument("--worst", type=int, default=8)
    parser.add_argument("--memory", action="store_true", help="list the peak-memory rows")
    args = parser.parse_args(argv)
    paths = [p if p.is_absolute() else REPO / p for p in args.data]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"calibrate_training.py: training data {', '.join(missing)} not found (use --data PATH)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    rows = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    cases, skipped = prepare(rows)
    n = sum(len(c.targets) for c in cases)
    files = ", ".join(p.name for p in paths)
    print(f"{files}: {len(rows)} rows, {n} predicted in {len(cases)} configurations, {sum(skipped.values())} skipped")
    for reason, count in skipped.most_common():
        print(f"  skipped {count:>4}: {reason}")
    result = fit(cases)
    names = [*GLOBAL, *(f"{f}.{k}" for f in result.fams for k in ("matmul_fraction", "attention_fraction"))]
    names += [f"{fw}.{k}" for fw in result.fws for k in FRAMEWORK_BOUNDS]
    for name, value in zip(names, result.x, strict=True):
        print(f"  {name:<32} {value:.4g}")
    print(f"  {'activation_factor':<32} {result.activation_factor:.4g}")
    for stack, factor in result.stack_activation.items():
        print(f"  {stack + '.activation':<32} {factor:.4g}")
    print(f"  {'fragmentation_fraction':<32} {result.fragmentation_fraction:.4g}")
    fitted = pairs_for(cases, result)
    columns = {"in sample": errors(fitted)}
    by_stack: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    if not (args.no_cv or args.check):
        print("leave-one-source-out:")
        columns["leave-one-source-out"] = errors(loso(cases, by_stack))
    thumb = [(m, p, v) for c in cases for _, m, v, _ in c.targets if (p := rule_of_thumb(c, m)) is not None]
    columns["6N at 40% MFU"] = errors(thumb)
    lines = table(columns)
    if by_stack:
        lines += ["", *stack_lines(by_stack)]
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
                if m in MEMORY:
                    mem = training_memory(c.setup, _eff(effs, c).memory)
                    got = mem.reserved if m == RESERVED else mem.allocated
                    print(f"  {rid:<40} measured {v:6.1f} predicted {got:6.1f} GiB {mem} {c.setup.recompute}")
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    problems = differs(result, args.output, args.tolerance) if args.check else None
    return check_or_write(problems, args.output, render(result, lines, files), no_write=args.no_write)


if __name__ == "__main__":
    sys.exit(main())
