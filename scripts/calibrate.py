"""Fit gpucast's serving efficiencies (core.perf.Efficiency) to published measurements.

Reads ``../shared/calibration/inference.csv`` (columns and conventions in its README), predicts
every row it can with the real core (catalog.loader -> core.inference.replica_config ->
core.serving), and fits a few physically bounded factors by least squares on
log(predicted / measured):

- global: ``prefill_fraction``, ``step_overhead_s``, ``sequence_overhead_s``, ``allreduce_latency_s``;
- per GPU family with data: ``bandwidth_fraction`` and ``compute_fraction``. Family values are
  tied to the [defaults] values by a weak log-normal prior (sigma PRIOR_SIGMA), so [defaults]
  lands at the centre of the families and is what GPUs of families without data get.

Then, with all of those fixed, the kernel-generation factors ``[eras.<name>]`` (core.engine_era: engine releases
older than their current MLA + MoE kernels) are fitted on the rows of their own sources, which the main fit
excludes, and checked leave-one-engine-out (``calibrate_eras.py``). The Python OpenAI servers' per-request front end
(``Efficiency.frontend_s``) is fitted likewise on the served rows that identify it, which the main fit excludes, and
the main fit is run once more with it on the served vLLM/SGLang rows (``calibrate_frontend.py``).

``interconnect_fraction`` is kept at its default: no row isolates large-message all-reduce
bandwidth. The global parameters also carry a very weak prior towards the Efficiency defaults
(factor e at one sigma) so that a parameter a subset of the data cannot identify (e.g. the
per-step overhead without low-load rows, in cross-validation) stays finite and sane.
No row is tuned individually. Soft-L1 loss keeps a few rows the physics cannot represent from
dominating. The roofline's max(memory, compute) makes the cost multi-modal, so the fit runs from
a fixed set of starting points and keeps the best: deterministic, no randomness.

Rows: loads map to core.serving (max-throughput -> max_throughput, concurrency/request-rate ->
per-replica operating_point / at_request_rate, static-batch -> operating_point at the batch).
Engine settings: TensorRT-LLM max 2048 sequences, memory fraction 0.95; SGLang 256 / 0.88;
vLLM and others 256 / 0.90; a request count stated in the notes ("500 requests") caps the
sequences in flight. Skipped, with counts printed: unresolvable names, non-numeric lengths
without stated means, TTFT/E2E when all requests are queued at once (set by the request count),
TTFT of static batches > 1 (a batched prefill), per-GPU/total-ambiguous TP>1 rows.

Prints per-metric n / median / p90 absolute % error in sample, at the start values, under
leave-one-source-out cross-validation, and for the naive seed formula (TPS per replica =
replica HBM bandwidth x 0.7 / weight bytes, one sequence at a time; ITL = 1 / that TPS).

    python scripts/calibrate.py            # fit, report, write src/gpucast/catalog/calibration.toml
    python scripts/calibrate.py --check    # re-fit; exit 1 if calibration.toml differs
    python scripts/calibrate.py --data other.csv --no-write
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from gpucast.core.perf import Efficiency, EngineFactors
from gpucast.validation.inference import Group, Target, metric_value, naive_value, operating, prepare, read_rows

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling module below
from calibrate_eras import ERA_SOURCES, era_groups, era_lines, era_values, fit_era, leave_one_engine_out, predict
from calibrate_frontend import (
    FRONTEND_ENGINES,
    fit_frontend,
    frontend_for,
    frontend_groups,
    gaps,
    leave_one_source_out,
    sourced_frontends,
)
from calibration_report import (
    LOSS_SCALE,
    SOLVER_OPTIONS,
    _fmt,
    abs_pct_errors,
    calibration_values,
    check_or_write,
    class_summary,
    differs_from_file,
    engine_values,
    print_table,
    summarize,
    table_differences,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("../shared/calibration/inference.csv")  # relative to the repo root
CALIBRATION_TOML = REPO / "src" / "gpucast" / "catalog" / "calibration.toml"

# ---------------------------------------------------------------------------------------------- fit settings
FRACTION_BOUNDS = (0.2, 0.95)
OVERHEAD_BOUNDS_MS = (0.5, 20.0)
SEQUENCE_OVERHEAD_BOUNDS_US = (0.1, 300.0)  # per sequence per decode step
SERIAL_BOUNDS = (0.01, 1.0)  # share of min(memory, compute) of a lone prefill pass not overlapped
ALLREDUCE_BOUNDS_US = (3.0, 50.0)
MOE_LAYER_BOUNDS_US = (0.1, 500.0)  # per MoE layer per forward pass
MOE_PREFILL_LAYER_BOUNDS_US = (0.1, 5000.0)  # per MoE layer of a (eager) prefill pass
EXPERT_SCALE_BOUNDS = (0.05, 1.5)  # grouped-GEMM compute relative to the dense GEMMs
WAVE_BOUNDS = (0.01, 1.0)  # share of a closed-loop benchmark's prompts arriving in synchronized waves
PRIOR_SIGMA = 0.25  # log-space spread of family bandwidth/compute fractions around [defaults]
START_SIGMA = 1.0  # very weak log-space pull of the global parameters towards START (keeps unidentified ones sane)
MIN_FAMILY_ROWS = 10  # a family gets its own table only with at least this many fitted rows
# Engine factors (core.perf.EngineFactors): TensorRT-LLM is the reference (factors 1, so the family fractions
# stay identifiable); another engine gets its own factors with at least MIN_ENGINE_ROWS fitted rows, each tied
# to 1 by a weak log-normal prior (ENGINE_PRIOR_SIGMA).
REFERENCE_ENGINE = "trtllm"
MIN_ENGINE_ROWS = 20
ENGINE_PRIOR_SIGMA = 0.3
ENGINE_BOUNDS = {"bandwidth_scale": (0.5, 1.5), "compute_scale": (0.5, 1.5), "overhead_scale": (0.33, 3.0)}
# fixed starting point: the dataclass defaults, and 10 us per sequence per step (the dataclass default is 0,
# "not modelled", which a log-space prior cannot start from)
START = dataclasses.replace(
    Efficiency(),
    sequence_overhead_s=10e-6,
    prefill_serial_fraction=0.5,
    moe_layer_overhead_s=10e-6,
    moe_prefill_layer_overhead_s=100e-6,
    closed_loop_wave_fraction=0.3,
)
# Deterministic multi-start over (bandwidth_fraction, compute_fraction); the other parameters start at START.
STARTS = ((START.bandwidth_fraction, START.compute_fraction), (0.75, 0.4), (0.6, 0.3))


# ---------------------------------------------------------------------------------------------- parameters
# Sources kept out of the fit (still reported by `gpucast validate`), each with the reason.
FIT_EXCLUDE = {
    "SGLang-benchmark_dsv3-README": "server saturated already at 1 req/s (median TPOT 140-680 ms): a misconfigured "
    "run (data/benchmarks/README.md), not the engine's capacity",
    "dstack-deepseek-r1-h200-mi300x-2025-03": "early-2025 DeepSeek MLA/MoE kernels (SGLang 0.4.2-0.4.3, vLLM 0.7, "
    "TensorRT-LLM 0.17 PyTorch preview): fitted after the main fit as the [eras.early-mla-moe] factors "
    "(calibrate_eras.py), not into the per-engine factors the current engine versions use",
    "dstack-llama405b-h100-mi300x-2024-12": "Meta's Llama-3.1-405B FP8 checkpoint quantizes only the MLP weights "
    "(attention stays BF16; the source's log shows 56.8 GB loaded per GPU against 47.7 GiB for all-linear FP8), a "
    "layout gpucast's FP8 precision does not describe, so its KV capacity and large-batch rows are off by design",
}
NG = 12  # global parameters: bandwidth, compute, prefill, overhead, all-reduce latency, KV bandwidth, per-sequence,
# prefill serial share, per-MoE-layer overhead (decode, prefill), grouped-GEMM compute scale, closed-loop wave share


@dataclass(frozen=True)
class Space:
    """Layout of the fitted vector: the global entries, (bandwidth, compute) per family, then the
    ENGINE_BOUNDS factors per engine."""

    families: tuple[str, ...]
    engines: tuple[str, ...] = ()
    frontend: float = 0.0  # fixed, not fitted here: FRONTEND_ENGINES' server front end (calibrate_frontend.py)

    GLOBAL = (
        "bandwidth_fraction",
        "compute_fraction",
        "prefill_fraction",
        "step_overhead_ms",
        "allreduce_latency_us",
        "kv_bandwidth_fraction",
        "sequence_overhead_us",
        "prefill_serial_fraction",
        "moe_layer_overhead_us",
        "moe_prefill_layer_overhead_us",
        "expert_compute_scale",
        "closed_loop_wave_fraction",
    )

    @property
    def names(self) -> list[str]:
        names = list(self.GLOBAL)
        for family in self.families:
            names += [f"{family}.bandwidth_fraction", f"{family}.compute_fraction"]
        for engine in self.engines:
            names += [f"{engine}.{name}" for name in ENGINE_BOUNDS]
        return names

    @property
    def engine_offset(self) -> int:
        return NG + 2 * len(self.families)

    def start(self) -> np.ndarray:
        head = [
            START.bandwidth_fraction,
            START.compute_fraction,
            START.prefill_fraction,
            START.step_overhead_s * 1e3,
            START.allreduce_latency_s * 1e6,
            START.kv_bandwidth_fraction,
            START.sequence_overhead_s * 1e6,
            START.prefill_serial_fraction,
            START.moe_layer_overhead_s * 1e6,
            START.moe_prefill_layer_overhead_s * 1e6,
            START.expert_compute_scale,
            START.closed_loop_wave_fraction,
        ]
        families = [START.bandwidth_fraction, START.compute_fraction] * len(self.families)
        return np.array(head + families + [1.0] * (len(ENGINE_BOUNDS) * len(self.engines)))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        pairs = [FRACTION_BOUNDS] * 3 + [OVERHEAD_BOUNDS_MS, ALLREDUCE_BOUNDS_US, FRACTION_BOUNDS]
        pairs.append(SEQUENCE_OVERHEAD_BOUNDS_US)
        pairs.append(SERIAL_BOUNDS)
        pairs += [MOE_LAYER_BOUNDS_US, MOE_PREFILL_LAYER_BOUNDS_US, EXPERT_SCALE_BOUNDS, WAVE_BOUNDS]
        pairs += [FRACTION_BOUNDS] * (2 * len(self.families))
        pairs += list(ENGINE_BOUNDS.values()) * len(self.engines)
        low, high = zip(*pairs, strict=True)
        return np.array(low, dtype=float), np.array(high, dtype=float)

    def efficiencies(self, x: Sequence[float], source: str = "calibrate.py") -> dict[str, Efficiency]:
        """{'default': ..., family: ...} as the loader builds them from calibration.toml."""
        base = Efficiency(
            bandwidth_fraction=float(x[0]),
            compute_fraction=float(x[1]),
            prefill_fraction=float(x[2]),
            step_overhead_s=float(x[3]) * 1e-3,
            allreduce_latency_s=float(x[4]) * 1e-6,
            kv_bandwidth_fraction=float(x[5]),
            sequence_overhead_s=float(x[6]) * 1e-6,
            prefill_serial_fraction=float(x[7]),
            moe_layer_overhead_s=float(x[8]) * 1e-6,
            moe_prefill_layer_overhead_s=float(x[9]) * 1e-6,
            expert_compute_scale=float(x[10]),
            closed_loop_wave_fraction=float(x[11]),
            interconnect_fraction=START.interconnect_fraction,
            source=source,
        )
        result = {"default": base}
        for index, family in enumerate(self.families):
            bw, compute = x[NG + 2 * index], x[NG + 1 + 2 * index]
            result[family] = dataclasses.replace(base, bandwidth_fraction=float(bw), compute_fraction=float(compute))
        return result

    def engine_factors(self, x: Sequence[float]) -> dict[str, EngineFactors]:
        """{engine id: factors} for the fitted engines (the others, incl. the reference, are unscaled)."""
        width = len(ENGINE_BOUNDS)
        return {
            engine: EngineFactors(
                **dict(zip(ENGINE_BOUNDS, map(float, x[start : start + width]), strict=True)),
                frontend_s=frontend_for(engine, self.frontend),
            )
            for engine, start in zip(self.engines, range(self.engine_offset, len(x), width), strict=False)
        }


def _for(effs: dict[str, Efficiency], family: str) -> Efficiency:
    return effs.get(family, effs["default"])


def predictions(
    groups: Sequence[Group], effs: dict[str, Efficiency], engines: dict[str, EngineFactors] | None = None
) -> list[tuple[Group, Target, float]]:
    """(group, target, predicted) with the family's efficiencies and the group's engine factors."""
    out = []
    engines = engines or {}
    for group in groups:
        eff = _for(effs, group.family)
        if group.engine in engines:
            eff = engines[group.engine].apply(eff)
        point = operating(group, eff)
        for target in group.targets:
            out.append((group, target, metric_value(group, point, target.metric)))
    return out


def _residuals(x: np.ndarray, groups: Sequence[Group], space: Space) -> np.ndarray:
    effs = space.efficiencies(x)
    pred = predictions(groups, effs, space.engine_factors(x))
    res = [math.log(max(value, 1e-12) / target.value) for _, target, value in pred]
    for value, start in zip(x[:NG], space.start()[:NG], strict=True):  # weak prior: START, x/÷ e at 1 sigma
        res.append(math.log(value / start) / START_SIGMA)
    for index in range(len(space.families)):  # weak prior tying each family to [defaults]
        res.append(math.log(x[NG + 2 * index] / x[0]) / PRIOR_SIGMA)
        res.append(math.log(x[NG + 1 + 2 * index] / x[1]) / PRIOR_SIGMA)
    for value in x[space.engine_offset :]:  # weak prior tying each engine factor to 1 (the reference engine)
        res.append(math.log(value) / ENGINE_PRIOR_SIGMA)
    return np.array(res)


@dataclass
class Fit:
    space: Space
    x: np.ndarray
    cost_start: float
    cost_end: float
    evaluations: int

    def efficiencies(self, source: str = "calibrate.py") -> dict[str, Efficiency]:
        return self.space.efficiencies(self.x, source)

    def engine_factors(self) -> dict[str, EngineFactors]:
        return self.space.engine_factors(self.x)


def fit(
    groups: Sequence[Group],
    *,
    min_family_rows: int = MIN_FAMILY_ROWS,
    min_engine_rows: int = MIN_ENGINE_ROWS,
    max_evaluations: int = 400,
    warm: Fit | None = None,
    frontend: float = 0.0,
) -> Fit:
    """Least squares (soft-L1, log ratio) over the global, per-family and per-engine parameters.

    ``warm``: start from that fit's values (by parameter name; a parameter it lacks starts at its default) instead of
    the deterministic multi-start, as the leave-one-source-out folds do from the full fit: the same optimum of the
    same cost, reached in a few evaluations instead of three full searches."""
    counts = Counter(group.family for group in groups for _ in group.targets)
    families = tuple(sorted(f for f, n in counts.items() if n >= min_family_rows))
    by_engine = Counter(group.engine for group in groups for _ in group.targets)
    engines = tuple(sorted(e for e, n in by_engine.items() if n >= min_engine_rows and e != REFERENCE_ENGINE))
    space = Space(families, engines, frontend)
    low, high = space.bounds()
    x0 = np.clip(space.start(), low, high)

    def loss(x: np.ndarray) -> np.ndarray:
        return _residuals(x, groups, space)

    start_cost = _robust_cost(loss(x0))
    best: Fit | None = None
    evaluations = 0
    starts: list[np.ndarray] = []
    if warm is not None:
        known = dict(zip(warm.space.names, warm.x, strict=True))
        starts.append(np.clip([known.get(name, x) for name, x in zip(space.names, x0, strict=True)], low, high))
    else:
        for bandwidth, compute in STARTS:  # the max(memory, compute) roofline makes the cost multi-modal
            x_start = x0.copy()
            x_start[[0, *range(NG, space.engine_offset, 2)]] = bandwidth
            x_start[[1, *range(NG + 1, space.engine_offset, 2)]] = compute
            starts.append(x_start)
    for x_start in starts:
        result = least_squares(
            loss,
            x_start,
            bounds=(low, high),
            x_scale=high - low,
            max_nfev=max_evaluations,
            **SOLVER_OPTIONS,
        )
        evaluations += int(result.nfev)
        candidate = Fit(space, result.x, start_cost, _robust_cost(result.fun), evaluations)
        if best is None or candidate.cost_end < best.cost_end - 1e-9:  # ties: the earlier start wins
            best = candidate
    assert best is not None
    best.evaluations = evaluations
    return best


def _robust_cost(residuals: np.ndarray) -> float:
    z = (residuals / LOSS_SCALE) ** 2
    return float(0.5 * LOSS_SCALE**2 * np.sum(2.0 * (np.sqrt(1.0 + z) - 1.0)))


def _fit_frontend_on(result: Fit, front: Sequence[Group]) -> float:
    """The front end fitted on ``front`` with ``result``'s efficiencies and engine factors."""
    effs, engines = result.efficiencies(), result.engine_factors()

    def base(group: Group) -> Efficiency:
        eff = _for(effs, group.family)
        return engines[group.engine].apply(eff) if group.engine in engines else eff

    return fit_frontend(front, base)


# ---------------------------------------------------------------------------------------------- reporting
def loso(
    groups: Sequence[Group], *, log: Callable[[str], None] = print, warm: Fit | None = None, frontend: float = 0.0
) -> list[tuple[Group, str, float, float]]:
    """Leave one source out: fit on the others, predict the held-out source's rows: (group, metric, predicted,
    measured)."""
    sources = sorted({g.source for g in groups})
    pairs: list[tuple[Group, str, float, float]] = []
    for source in sources:
        train = [g for g in groups if g.source != source]
        held = [g for g in groups if g.source == source]
        started = time.perf_counter()
        fold = fit(train, warm=warm, frontend=frontend)
        held_pairs = [
            (g, t.metric, p, t.value) for g, t, p in predictions(held, fold.efficiencies(), fold.engine_factors())
        ]
        pairs += held_pairs
        median = float(np.median([abs(p / m - 1) * 100 for _, _, p, m in held_pairs]))
        values = " ".join(f"{v:.3g}" for v in fold.x[:NG])
        log(
            f"  without {source:<48} {len(held_pairs):>4} rows held out: median {median:6.1f}%  "
            f"({time.perf_counter() - started:.1f} s; bw/c/prefill/overhead ms/allreduce us/kv bw/seq us {values})"
        )
    return pairs


def render_toml(
    result: Fit,
    *,
    data_label: str,
    rows: int,
    date: str,
    in_sample: dict[str, tuple[int, float, float]],
    cross: dict[str, tuple[int, float, float]] | None,
    classes: dict[str, dict[str, tuple[int, float, float]]] | None = None,
    eras: dict[str, EngineFactors] | None = None,
    era_notes: Sequence[str] = (),
) -> str:
    defaults, families = calibration_values(result)

    lines = [
        "# Efficiency factors of the serving performance model (gpucast.core.perf.Efficiency).",
        "# Fractions of datasheet peaks that serving engines reach, and fixed per-step costs.",
        "# [defaults] applies to every GPU family without its own table.",
        "# Generated by `python scripts/calibrate.py` (do not edit by hand; `--check` verifies it).",
        "# Fitted: prefill_fraction, step_overhead_s, sequence_overhead_s, allreduce_latency_s, moe_layer_overhead_s (global); bandwidth_fraction and",
        "# compute_fraction per GPU family with data (tied to [defaults] by a weak prior). interconnect_fraction",
        "# is not identifiable from the data and stays at its default. [engines.<id>]: multiplicative factors of",
        f"# an engine relative to {REFERENCE_ENGINE} (core.perf.EngineFactors), fitted for engines with >= {MIN_ENGINE_ROWS}",
        "# rows (tied to 1 by a weak prior); engines without a table (the reference, and those without data) use 1.",
        "# [eras.<name>]: factors on top of those for engine versions older than their current kernels",
        "# (core.engine_era), fitted after the main fit on the era's rows (scripts/calibrate_eras.py).",
        "# frontend_s (seconds, added to TTFT/E2E of served loads): the Python OpenAI servers' per-request front end,",
        "# fitted on vLLM's CI serving rows at 1 req/s after the main fit (scripts/calibrate_frontend.py), or the",
        "# engine's measured one where engines.toml gives it (frontend_ms, with its source: SGLang's).",
        "#",
        f"# {'median (p90) |error| %':<34}{'in sample':>12}{'leave-one-source-out':>24}",
    ]
    for metric, (n, median, p90) in in_sample.items():
        held = f"{cross[metric][1]:.0f} ({cross[metric][2]:.0f})" if cross and metric in cross else "-"
        label = {"ALL": f"all rows (n={n})", "THROUGHPUT": f"all throughput (n={n})"}.get(metric, f"{metric} (n={n})")
        lines.append(f"# {label:<34}{f'{median:.0f} ({p90:.0f})':>12}{held:>24}")
    fitted_classes = (classes or {}).get("fitted (in sample)", {})
    held_classes = (classes or {}).get("leave-one-source-out", {})
    for name, (n, median, p90) in fitted_classes.items():
        held = f"{held_classes[name][1]:.0f} ({held_classes[name][2]:.0f})" if name in held_classes else "-"
        lines.append(f"# {f'{name} (n={n})':<34}{f'{median:.0f} ({p90:.0f})':>12}{held:>24}")
    lines += [f"# era {note}" for note in era_notes]
    lines.append("[defaults]")
    lines += [f"{key} = {_fmt(value)}" for key, value in defaults.items()]
    lines.append(f'source = "fitted by scripts/calibrate.py to {data_label} ({rows} rows, {date})"')
    for family, values in families.items():
        lines += ["", f"[families.{family}]"]
        lines += [f"{key} = {_fmt(value)}" for key, value in values.items()]
    for engine, values in engine_values(result).items():
        lines += ["", f"[engines.{engine}]"]
        lines += [f"{key} = {_fmt(value)}" for key, value in values.items()]
    lines += era_lines(eras or {}, _fmt)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        nargs="+",
        default=[DEFAULT_DATA, *sorted((REPO / "data" / "benchmarks").glob("*.csv"))],
        help="measurement CSVs (default: ../shared/calibration/inference.csv and data/benchmarks/*.csv)",
    )
    parser.add_argument("--output", type=Path, default=CALIBRATION_TOML, help="calibration TOML to write")
    parser.add_argument("--check", action="store_true", help="re-fit and exit 1 if --output differs")
    parser.add_argument(
        "--tolerance", type=float, default=1e-9, help="relative tolerance of --check (floating point across machines)"
    )
    parser.add_argument("--no-write", action="store_true", help="report only")
    parser.add_argument("--no-cv", action="store_true", help="skip leave-one-source-out cross-validation")
    parser.add_argument("--worst", type=int, default=10, help="list the N worst-predicted rows")
    args = parser.parse_args(argv)

    files = [path if path.is_absolute() else REPO / path for path in args.data]
    for path in files:
        if not path.is_file():
            print(f"calibrate.py: calibration data {path} not found (use --data PATH ...)", file=sys.stderr)
            return 2
    started = time.perf_counter()
    rows_by_file = {path: read_rows(path) for path in files}
    rows = [row for file_rows in rows_by_file.values() for row in file_rows]
    # the files the fit reads rows from (a file whose every source is in FIT_EXCLUDE is only reported)
    data = ", ".join(
        path.name for path, file_rows in rows_by_file.items() if any(r["source"] not in FIT_EXCLUDE for r in file_rows)
    )
    groups, skipped_rows = [], []
    for path, file_rows in rows_by_file.items():  # length profiles named in notes are relative to their file
        file_groups, file_skipped = prepare(file_rows, path.parent)
        groups += file_groups
        skipped_rows += file_skipped
    all_groups = groups
    skipped = Counter(reason for _, reason in skipped_rows)
    for source, reason in FIT_EXCLUDE.items():
        skipped[f"source {source} excluded from the fit: {reason}"] += sum(
            len(g.targets) for g in groups if g.source == source
        )
    front = frontend_groups(groups)
    skipped["served rows of the front-end sources: fitted after the main fit (calibrate_frontend.py)"] += sum(
        len(g.targets) for g in front
    )
    groups = [g for g in groups if g.source not in FIT_EXCLUDE and all(g is not f for f in front)]
    n_rows = sum(len(g.targets) for g in groups)
    print(
        f"{data}: {len(rows)} rows, {n_rows} predicted in {len(groups)} operating points, {sum(skipped.values())} skipped"
    )
    for reason, count in skipped.most_common():
        print(f"  skipped {count:>4}: {reason}")
    by_source = Counter(g.source for g in groups for _ in g.targets)
    for source, count in sorted(by_source.items()):
        print(f"  fitted  {count:>4}: {source}")

    result = fit(groups)
    frontend = _fit_frontend_on(result, front)
    print(f"\nwithout a front end: robust cost {result.cost_end:.2f}; front end fitted on it {frontend * 1e3:.3g} ms")
    result = fit(groups, warm=result, frontend=frontend)  # once more, with the front end on the served rows
    frontend = _fit_frontend_on(result, front)
    result = dataclasses.replace(result, space=dataclasses.replace(result.space, frontend=frontend))
    effs = result.efficiencies()
    engine_factors = result.engine_factors()
    print(f"\nfit: {result.evaluations} evaluations, robust cost {result.cost_start:.2f} -> {result.cost_end:.2f}")
    sourced = sourced_frontends()
    fitted_on = ", ".join(e for e in FRONTEND_ENGINES if e not in sourced)
    print(f"  front end ({fitted_on})     {frontend * 1e3:.3g} ms")
    for engine, value in sourced.items():
        print(f"  front end ({engine}, engines.toml)     {value * 1e3:.3g} ms")
    for name, value in zip(result.space.names, result.x, strict=True):
        print(f"  {name:<32} {value:.4g}")

    fitted = predictions(groups, effs, engine_factors)
    start = predictions(groups, result.space.efficiencies(result.space.start()))
    in_sample = summarize(abs_pct_errors((t.metric, p, t.value) for _, t, p in fitted))
    columns = {
        "fitted (in sample)": in_sample,
        "start values": summarize(abs_pct_errors((t.metric, p, t.value) for _, t, p in start)),
    }
    naive = [(t.metric, naive_value(g, t.metric), t.value) for g, t, _ in fitted]
    columns["naive seed formula"] = summarize(abs_pct_errors((m, p, v) for m, p, v in naive if p is not None))

    per_source = {}
    for source in sorted(by_source):
        per_source[source[:27]] = summarize(
            abs_pct_errors((t.metric, p, t.value) for g, t, p in fitted if g.source == source)
        )

    cross = None
    classes = {"fitted (in sample)": class_summary((g, t.metric, p, t.value) for g, t, p in fitted)}
    if not (args.no_cv or args.check):
        print("\nleave-one-source-out cross-validation:")
        held_out = loso(groups, warm=result, frontend=frontend)
        cross = summarize(abs_pct_errors((m, p, v) for _, m, p, v in held_out))
        columns["leave-one-source-out"] = cross
        classes["leave-one-source-out"] = class_summary(held_out)
    print_table("absolute % error per class (issue 20):", classes)
    print_table("absolute % error per metric (n, median, p90):", columns)
    print_table("in-sample absolute % error per source:", per_source)

    if args.worst:
        print(f"\n{args.worst} worst in-sample rows (predicted / measured):")
        worst = sorted(fitted, key=lambda item: -abs(math.log(item[2] / item[1].value)))[: args.worst]
        for g, t, p in worst:
            cfg = g.cfg
            print(
                f"  id {t.row_id:>5} {t.metric:<24} {p / t.value:6.2f}x  {cfg.model.id} {cfg.gpu.id} TP{cfg.tp} "
                f"{cfg.precision.name} {g.input_tokens:g}/{g.output_tokens:g} {g.load} {g.load_value:g} [{g.source}]"
            )

    def base(group: Group) -> Efficiency:  # a group's efficiency from the main fit, before any era factors
        eff = _for(effs, group.family)
        return engine_factors[group.engine].apply(eff) if group.engine in engine_factors else eff

    print(f"\nfront end {frontend * 1e3:.3g} ms on {len(front)} served rows' TTFT (measured - predicted without it):")
    for source, gap in gaps(front, base):
        print(f"  {source:<40} {gap * 1e3:6.1f} ms")
    for source, value, measured, predicted in leave_one_source_out(front, base):
        print(f"  without {source:<32} front end {value * 1e3:5.1f} ms: TTFT {predicted:5.1f} / {measured:5.1f} ms")

    eras: dict[str, EngineFactors] = {}
    era_notes: list[str] = []
    for era in sorted(ERA_SOURCES):
        rows_of_era = era_groups(all_groups, era)
        if not rows_of_era:
            continue
        eras[era] = fit_era(rows_of_era, base)
        fitted_era = summarize(abs_pct_errors((m, p, v) for _, m, p, v in predict(rows_of_era, base, eras[era])))
        before = summarize(abs_pct_errors((m, p, v) for _, m, p, v in predict(rows_of_era, base, EngineFactors())))
        print(f"\nera {era}: {eras[era]} on {sum(len(g.targets) for g in rows_of_era)} rows")
        held = None
        if not args.check:
            print("  leave-one-engine-out:")
            held = summarize(abs_pct_errors((m, p, v) for _, m, p, v in leave_one_engine_out(rows_of_era, base)))
        era_columns = {"without era factors": before, "fitted (in sample)": fitted_era}
        if held is not None:
            era_columns["leave-one-engine-out"] = held
        print_table(f"era {era}: absolute % error per metric (n, median, p90):", era_columns)
        n, median, p90 = fitted_era["ALL"]
        note = f"{era}: all {n} rows median (p90) |error| {median:.0f}% ({p90:.0f}%) in sample"
        if held is not None:
            note += f", {held['ALL'][1]:.0f}% ({held['ALL'][2]:.0f}%) leave-one-engine-out"
        era_notes.append(note + f"; {before['ALL'][1]:.0f}% ({before['ALL'][2]:.0f}%) without the factors")

    date = datetime.date.today().isoformat()
    text = render_toml(
        result,
        data_label=data,
        rows=n_rows,
        date=date,
        in_sample=in_sample,
        cross=cross,
        classes=classes,
        eras=eras,
        era_notes=era_notes,
    )
    print(f"\nelapsed {time.perf_counter() - started:.1f} s")
    problems = None
    if args.check:
        problems = differs_from_file(result, args.output, args.tolerance)
        if args.output.exists():
            stored = tomllib.loads(args.output.read_text(encoding="utf-8"))
            problems += table_differences("eras", era_values(eras), stored, args.tolerance)
    return check_or_write(problems, args.output, text, no_write=args.no_write)


if __name__ == "__main__":
    sys.exit(main())
