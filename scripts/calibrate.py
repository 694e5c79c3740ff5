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
    check_or_write,
    class_summary,
    differs_from_file,
    print_table,
    render_toml,
    summarize,
    table_differences,
)
from calibration_space import (
    ENGINE_PRIOR_SIGMA,
    FIT_EXCLUDE,
    MIN_ENGINE_ROWS,
    MIN_FAMILY_ROWS,
    NG,
    PRIOR_SIGMA,
    REFERENCE_ENGINE,
    START_SIGMA,
    STARTS,
    Space,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("../shared/calibration/inference.csv")  # relative to the repo root
CALIBRATION_TOML = REPO / "src" / "gpucast" / "catalog" / "calibration.toml"


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
        era_tables=era_lines(eras, _fmt),
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
