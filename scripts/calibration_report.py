"""Reporting helpers of scripts/calibrate.py: error tables, rounded calibration tables, the --check comparison.

Kept beside calibrate.py (which imports it) so that the fit itself stays short.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from calibration_space import MIN_ENGINE_ROWS, REFERENCE_ENGINE

from gpucast.validation.inference import METRICS
from gpucast.validation.report import abs_pct_error

LOSS_SCALE = 0.3  # soft-L1 loss: residuals beyond ~30% in log space count linearly, not squared
# scipy.optimize.least_squares settings of the serving fits (calibrate.py's main fit and calibrate_eras.py's era
# factors): one robust loss and one convergence rule, so a residual weighs the same in both
SOLVER_OPTIONS: dict[str, Any] = {
    "loss": "soft_l1", "f_scale": LOSS_SCALE, "diff_step": 1e-4, "xtol": 1e-8, "ftol": 1e-8, "method": "trf"
}  # fmt: skip

# the roadmap's "throughput metrics": every rate a row can state, pooled (row "THROUGHPUT" of the tables)
THROUGHPUT = ("output_tok_per_s_total", "output_tok_per_s_per_gpu", "total_tok_per_s", "requests_per_s")


def abs_pct_errors(pairs: Iterable[tuple[str, float, float]]) -> dict[str, list[float]]:
    """{metric: [|pred/meas - 1| x 100]} from (metric, predicted, measured), plus the pooled "THROUGHPUT"
    and "ALL" classes."""
    errors: dict[str, list[float]] = defaultdict(list)
    for metric, pred, meas in pairs:
        error = abs_pct_error(pred, meas)
        errors[metric].append(error)
        if metric in THROUGHPUT:
            errors["THROUGHPUT"].append(error)
        errors["ALL"].append(error)
    return errors


LATENCY = ("ttft_ms", "itl_ms", "tpot_ms", "itl_p50_ms", "e2e_ms")
CLASSES = ("dense Hopper", "MoE", "FP4/Blackwell")  # issue 20's classes, reported separately


def row_classes(group: Any) -> list[str]:
    """The classes a fitted operating point belongs to: MoE models; FP4 weights or a Blackwell GPU; dense models on
    Hopper (the reference class)."""
    cfg = group.cfg
    classes = []
    if not cfg.model.is_moe and cfg.gpu.family == "hopper":
        classes.append("dense Hopper")
    if cfg.model.is_moe:
        classes.append("MoE")
    if cfg.gpu.family == "blackwell" or cfg.precision.value.compute_key == "fp4":
        classes.append("FP4/Blackwell")
    return classes


def class_summary(quads: Iterable[tuple[Any, str, float, float]]) -> dict[str, tuple[int, float, float]]:
    """{"<class> throughput" / "<class> latency": (n, median, p90)} from (group, metric, predicted, measured)."""
    errors: dict[str, list[float]] = defaultdict(list)
    for group, metric, pred, meas in quads:
        kind = "throughput" if metric in THROUGHPUT else "latency" if metric in LATENCY else None
        if kind is None:
            continue
        for name in row_classes(group):
            errors[f"{name} {kind}"].append(abs_pct_error(pred, meas))
    order = [f"{c} {k}" for c in CLASSES for k in ("throughput", "latency")]
    return {
        m: (len(errors[m]), float(np.median(errors[m])), float(np.percentile(errors[m], 90)))
        for m in order
        if m in errors
    }


def summarize(errors: dict[str, list[float]]) -> dict[str, tuple[int, float, float]]:
    order = [m for m in (*METRICS, "THROUGHPUT", "ALL") if m in errors]
    return {m: (len(errors[m]), float(np.median(errors[m])), float(np.percentile(errors[m], 90))) for m in order}


def print_table(title: str, columns: dict[str, dict[str, tuple[int, float, float]]]) -> None:
    print(f"\n{title}")
    metrics = [m for m in (*METRICS, "THROUGHPUT", "ALL") if any(m in col for col in columns.values())]
    metrics += [m for col in columns.values() for m in col if m not in metrics]
    metrics = list(dict.fromkeys(metrics))
    header = f"  {'metric':<26}" + "".join(f"{name:>28}" for name in columns)
    print(header)
    print(f"  {'':<26}" + "".join(f"{'n   median%    p90%':>28}" for _ in columns))
    for metric in metrics:
        cells = []
        for col in columns.values():
            if metric in col:
                n, med, p90 = col[metric]
                cells.append(f"{n:>10d} {med:>8.1f} {p90:>8.1f}")
            else:
                cells.append(f"{'-':>10} {'-':>8} {'-':>8}")
        print(f"  {metric:<26}" + "".join(f"{c:>28}" for c in cells))


def _round(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


def calibration_values(result: Any) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Rounded [defaults] and [families.*] tables (3 significant digits: the fit is not better)."""
    effs = result.efficiencies()
    base = effs["default"]
    defaults = {
        "bandwidth_fraction": _round(base.bandwidth_fraction),
        "compute_fraction": _round(base.compute_fraction),
        "prefill_fraction": _round(base.prefill_fraction),
        "step_overhead_s": _round(base.step_overhead_s),
        "sequence_overhead_s": _round(base.sequence_overhead_s),
        "prefill_serial_fraction": _round(base.prefill_serial_fraction),
        "allreduce_latency_s": _round(base.allreduce_latency_s),
        "interconnect_fraction": _round(base.interconnect_fraction),
        "kv_bandwidth_fraction": _round(base.kv_bandwidth_fraction),
        "moe_layer_overhead_s": _round(base.moe_layer_overhead_s),
        "moe_prefill_layer_overhead_s": _round(base.moe_prefill_layer_overhead_s),
        "expert_compute_scale": _round(base.expert_compute_scale),
        "closed_loop_wave_fraction": _round(base.closed_loop_wave_fraction),
    }
    families = {
        family: {
            "bandwidth_fraction": _round(effs[family].bandwidth_fraction),
            "compute_fraction": _round(effs[family].compute_fraction),
        }
        for family in result.space.families
    }
    return defaults, families


def engine_values(result: Any) -> dict[str, dict[str, float]]:
    """Rounded [engines.*] tables of the fitted engines."""
    return {
        engine: {
            key: _round(value)
            for key, value in dataclasses.asdict(factors).items()
            if key != "frontend_s" or value  # only the engines with a server front end (calibrate_frontend.py)
        }
        for engine, factors in result.engine_factors().items()
    }


def _fmt(value: float) -> str:
    return repr(value) if 1e-3 <= abs(value) < 1e4 else f"{value:.3g}"


def differs_from_file(result: Any, path: Path, rel_tol: float = 1e-9) -> list[str]:
    """Differences between the fitted (rounded) values and ``path`` beyond ``rel_tol``; empty if equal."""
    if not path.exists():
        return [f"{path} does not exist"]
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults, families = calibration_values(result)
    problems = []
    stored = data.get("defaults", {})
    for key, value in defaults.items():
        if not math.isclose(stored.get(key, math.nan), value, rel_tol=rel_tol):
            problems.append(f"defaults.{key}: file {stored.get(key)} vs fit {value}")
    problems += table_differences("families", families, data, rel_tol)
    problems += table_differences("engines", engine_values(result), data, rel_tol)
    return problems


def table_differences(
    section: str, fitted: dict[str, dict[str, float]], data: dict[str, Any], rel_tol: float
) -> list[str]:
    """Differences between fitted ``[section.<name>]`` tables and the file's ``data`` beyond ``rel_tol``: the
    families, the engines and the eras are compared alike."""
    stored = data.get(section, {})
    problems = []
    if set(stored) != set(fitted):
        problems.append(f"{section}: file {sorted(stored)} vs fit {sorted(fitted)}")
    for name, values in fitted.items():
        for key, value in values.items():
            have = stored.get(name, {}).get(key, math.nan)
            if not math.isclose(have, value, rel_tol=rel_tol):
                problems.append(f"{section}.{name}.{key}: file {have} vs fit {value}")
    return problems


def check_or_write(problems: list[str] | None, output: Path, text: str, *, no_write: bool) -> int:
    """The end of a calibration run, shared by both scripts: with ``--check`` (``problems`` not None) report
    whether ``output`` matches the fit (exit 1 if not); otherwise write ``text`` unless ``--no-write``."""
    if problems is not None:
        if problems:
            print(f"--check: {output} differs from the fit:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(f"--check: {output} matches the fit")
        return 0
    if not no_write:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}")
    return 0


def render_toml(
    result: Any,
    *,
    data_label: str,
    rows: int,
    date: str,
    in_sample: dict[str, tuple[int, float, float]],
    cross: dict[str, tuple[int, float, float]] | None,
    classes: dict[str, dict[str, tuple[int, float, float]]] | None = None,
    era_tables: Sequence[str] = (),
    era_notes: Sequence[str] = (),
) -> str:
    """calibration.toml's text: the header of error tables, then [defaults], [families.*], [engines.*], [eras.*]."""
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
    lines += era_tables
    return "\n".join(lines) + "\n"
