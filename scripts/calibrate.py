"""Fit gpucast's serving efficiencies (core.perf.Efficiency) to published measurements.

Reads ``../shared/calibration/inference.csv`` (columns and conventions in its README), predicts
every row it can with the real core (catalog.loader -> core.inference.replica_config ->
core.serving), and fits a few physically bounded factors by least squares on
log(predicted / measured):

- global: ``prefill_fraction``, ``step_overhead_s``, ``allreduce_latency_s``;
- per GPU family with data: ``bandwidth_fraction`` and ``compute_fraction``. Family values are
  tied to the [defaults] values by a weak log-normal prior (sigma PRIOR_SIGMA), so [defaults]
  lands at the centre of the families and is what GPUs of families without data get.

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
import contextlib
import csv
import dataclasses
import datetime
import math
import re
import sys
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from gpucast.catalog.loader import resolve_gpu, resolve_model
from gpucast.core.inference import PlanSettings, Workload, replica_config
from gpucast.core.memory import MemorySettings, weight_bytes
from gpucast.core.perf import Efficiency
from gpucast.core.serving import OperatingPoint, ReplicaConfig, at_request_rate, max_throughput, operating_point
from gpucast.core.specs import Precision
from gpucast.errors import GpucastError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("../shared/calibration/inference.csv")  # relative to the repo root
CALIBRATION_TOML = REPO / "src" / "gpucast" / "catalog" / "calibration.toml"

# ---------------------------------------------------------------------------------------------- fit settings
FRACTION_BOUNDS = (0.2, 0.95)
OVERHEAD_BOUNDS_MS = (0.5, 20.0)
ALLREDUCE_BOUNDS_US = (3.0, 50.0)
PRIOR_SIGMA = 0.25  # log-space spread of family bandwidth/compute fractions around [defaults]
START_SIGMA = 1.0  # very weak log-space pull of the global parameters towards START (keeps unidentified ones sane)
LOSS_SCALE = 0.3  # soft-L1 loss: residuals beyond ~30% in log space count linearly, not squared
MIN_FAMILY_ROWS = 10  # a family gets its own table only with at least this many fitted rows
NAIVE_EFFICIENCY = 0.7  # the seed formula's bandwidth efficiency
START = Efficiency()  # fixed starting point: the dataclass defaults
# Deterministic multi-start over (bandwidth_fraction, compute_fraction); the other parameters start at START.
STARTS = ((START.bandwidth_fraction, START.compute_fraction), (0.75, 0.4), (0.6, 0.3))

METRICS = (
    "output_tok_per_s_total",
    "output_tok_per_s_per_gpu",
    "total_tok_per_s",
    "requests_per_s",
    "ttft_ms",
    "itl_ms",
    "tpot_ms",
    "e2e_ms",
)


# ---------------------------------------------------------------------------------------------- data
@dataclass
class Target:
    """One measured number of a row: what to compare the prediction with."""

    row_id: str
    metric: str
    value: float


@dataclass
class Group:
    """CSV rows that share one operating point (same config, shape and load): evaluated once."""

    source: str
    engine: str
    family: str
    cfg: ReplicaConfig
    replicas: int
    num_gpus: int
    input_tokens: float
    output_tokens: float
    load: str
    load_value: float
    targets: list[Target] = field(default_factory=list)


def _precision(text: str) -> Precision | None:
    key = text.strip().rstrip("?").upper()
    if key.startswith("INT4"):
        return Precision.INT4
    return Precision.__members__.get(key)


def _engine_settings(engine: str) -> tuple[int, float]:
    """(engine max sequences, GPU memory fraction) of an engine named in the CSV."""
    name = engine.lower()
    if "tensorrt" in name:
        return 2048, 0.95  # trtllm-bench: huge auto-tuned batches, kv_cache_free_gpu_mem_fraction 0.95
    if "sglang" in name:
        return 256, 0.88
    return 256, 0.90  # vLLM defaults (and other open engines)


_REQUEST_COUNT = re.compile(r"(\d+)\s+(?:requests|prompts)\b")


def _request_count(row: dict[str, str]) -> int | None:
    """Requests in the whole benchmark run, where the notes state it: no more can be in flight."""
    match = _REQUEST_COUNT.search(row.get("notes", ""))
    return int(match.group(1)) if match else None


def _kv_precision(row: dict[str, str], precision: Precision) -> Precision | None:
    text = row["kv_precision"].strip()
    if text:
        return _precision(text)
    # README: TensorRT-LLM v0.17 FP8 rows also quantize the KV cache; elsewhere KV stays 16-bit.
    if precision is Precision.FP8 and row["source"].startswith("TRTLLM-perf-overview-v0.17"):
        return Precision.FP8
    return Precision.BF16 if precision is Precision.BF16 else Precision.FP16


_MEAN_LENGTH = re.compile(r"mean\s+(input|output)[^0-9]{0,20}(\d+(?:\.\d+)?)", re.IGNORECASE)


def _token_lengths(row: dict[str, str]) -> tuple[float, float] | None:
    """Numeric (input, output) lengths, or the means the notes state for dataset mixes."""
    lengths: dict[str, float] = {}
    for key in ("input", "output"):
        text = row[f"{key}_tokens"].strip()
        with contextlib.suppress(ValueError):  # e.g. "ShareGPT (variable)"
            lengths[key] = float(text)
    for kind, number in _MEAN_LENGTH.findall(row.get("notes", "")):
        lengths.setdefault(kind.lower(), float(number))
    if "input" not in lengths or "output" not in lengths:
        return None
    return lengths["input"], lengths["output"]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def prepare(rows: Iterable[dict[str, str]]) -> tuple[list[Group], Counter[str]]:
    """Resolve rows into evaluable groups; count the rows skipped, by reason."""
    groups: dict[tuple, Group] = {}
    skipped: Counter[str] = Counter()
    configs: dict[tuple, ReplicaConfig | str] = {}
    for row in rows:
        metric = row["metric"].strip()
        if metric not in METRICS:
            skipped[f"metric {metric!r} not predicted"] += 1
            continue
        try:
            value = float(row["value"])
        except ValueError:
            skipped["non-numeric value"] += 1
            continue
        load = row["load"].strip()
        if load not in ("max-throughput", "concurrency", "request-rate", "static-batch"):
            skipped[f"load {load!r} not modelled"] += 1
            continue
        try:
            load_value = float(row["load_value"]) if load != "max-throughput" else 0.0
        except ValueError:
            skipped["non-numeric load value"] += 1
            continue
        if metric in ("ttft_ms", "e2e_ms") and load == "max-throughput":
            # All requests queued at once: latency is set by the request count, not by the engine.
            skipped["TTFT/E2E with all requests queued at once (depends on request count)"] += 1
            continue
        if metric == "ttft_ms" and load == "static-batch" and load_value > 1:
            skipped["TTFT of a static batch > 1 (batched prefill; not continuous batching)"] += 1
            continue
        if "AMBIGUOUS" in row.get("notes", "") and int(row["tp"] or 1) * int(row["pp"] or 1) > 1:
            skipped["throughput per GPU vs total ambiguous (TP>1, flagged in notes)"] += 1
            continue
        lengths = _token_lengths(row)
        if lengths is None:
            skipped["token lengths not numeric and no mean stated"] += 1
            continue
        try:
            model = resolve_model(row["model"])
        except GpucastError:
            skipped[f"model {row['model']!r} not in catalog"] += 1
            continue
        try:
            gpu = resolve_gpu(row["gpu"])
        except GpucastError:
            skipped[f"GPU {row['gpu']!r} not in catalog"] += 1
            continue
        precision = _precision(row["precision"])
        kv_precision = _kv_precision(row, precision) if precision else None
        if precision is None or kv_precision is None:
            skipped[f"precision {row['precision']!r}/{row['kv_precision']!r} unknown"] += 1
            continue
        tp, pp, num_gpus = int(row["tp"]), int(row["pp"]), int(row["num_gpus"])
        if num_gpus % (tp * pp):
            skipped["num_gpus not a multiple of tp x pp"] += 1
            continue
        input_tokens, output_tokens = lengths
        max_seqs, mem_fraction = _engine_settings(row["engine"])
        requests = _request_count(row)
        if requests is not None:
            max_seqs = min(max_seqs, requests // (num_gpus // (tp * pp)))  # requests per replica
        cfg_key = (
            model.id,
            gpu.id,
            precision,
            kv_precision,
            tp,
            pp,
            input_tokens,
            output_tokens,
            max_seqs,
            mem_fraction,
        )
        if cfg_key not in configs:
            settings = PlanSettings(
                engine_max_sequences=max_seqs,
                context_window=int(input_tokens + output_tokens),
                memory=MemorySettings(gpu_memory_utilization=mem_fraction),
            )
            workload = Workload(requests_per_s=1.0, input_tokens=int(input_tokens), output_tokens=int(output_tokens))
            try:
                cfg, _, _ = replica_config(
                    model,
                    gpu,
                    START,
                    precision=precision,
                    kv_precision=kv_precision,
                    tp=tp,
                    pp=pp,
                    workload=workload,
                    settings=settings,
                )
                configs[cfg_key] = cfg
            except GpucastError as error:
                configs[cfg_key] = "weights or one sequence do not fit (memory model)" + (
                    "" if "weights" in str(error) else ": KV"
                )
        cfg_or_reason = configs[cfg_key]
        if isinstance(cfg_or_reason, str):
            skipped[cfg_or_reason] += 1
            continue
        key = (row["source"], row["engine"], *cfg_key, num_gpus, load, load_value)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(
                source=row["source"],
                engine=row["engine"],
                family=gpu.family,
                cfg=cfg_or_reason,
                replicas=num_gpus // (tp * pp),
                num_gpus=num_gpus,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                load=load,
                load_value=load_value,
            )
        group.targets.append(Target(row["id"], metric, value))
    return list(groups.values()), skipped


# ---------------------------------------------------------------------------------------------- prediction
def operating(group: Group, eff: Efficiency) -> OperatingPoint:
    cfg = dataclasses.replace(group.cfg, efficiency=eff)
    shape = {"input_tokens": group.input_tokens, "output_tokens": group.output_tokens}
    if group.load == "max-throughput":
        return max_throughput(cfg, **shape)
    if group.load == "request-rate":
        return at_request_rate(cfg, rate=group.load_value / group.replicas, **shape)
    if group.load == "concurrency":
        return operating_point(cfg, concurrency=group.load_value / group.replicas, **shape)
    return operating_point(cfg, concurrency=group.load_value, **shape)  # static batch: one batch per replica


def metric_value(group: Group, point: OperatingPoint, metric: str) -> float:
    fleet = group.replicas
    return {
        "output_tok_per_s_total": point.output_tokens_per_s * fleet,
        "output_tok_per_s_per_gpu": point.output_tokens_per_s * fleet / group.num_gpus,
        "total_tok_per_s": point.total_tokens_per_s * fleet,
        "requests_per_s": point.requests_per_s * fleet,
        "ttft_ms": point.ttft_s * 1e3,
        "itl_ms": point.itl_s * 1e3,
        "tpot_ms": point.itl_s * 1e3,
        "e2e_ms": point.e2e_s * 1e3,
    }[metric]


def naive_value(group: Group, metric: str) -> float | None:
    """The seed formula: one sequence at a time, TPS = replica HBM bandwidth x 0.7 / weight bytes."""
    cfg = group.cfg
    bandwidth = cfg.gpu.memory_bandwidth_tb_s * 1e12 * cfg.gpus * NAIVE_EFFICIENCY
    tps = bandwidth / weight_bytes(cfg.model, cfg.precision)  # per replica
    rps = tps / group.output_tokens
    if group.load == "request-rate":
        rps = min(rps, group.load_value / group.replicas)  # it serves the offered load up to capacity
        tps = rps * group.output_tokens
    values = {
        "output_tok_per_s_total": tps * group.replicas,
        "output_tok_per_s_per_gpu": tps * group.replicas / group.num_gpus,
        "total_tok_per_s": rps * (group.input_tokens + group.output_tokens) * group.replicas,
        "requests_per_s": rps * group.replicas,
        "itl_ms": 1e3 / (bandwidth / weight_bytes(cfg.model, cfg.precision)),
        "tpot_ms": 1e3 / (bandwidth / weight_bytes(cfg.model, cfg.precision)),
    }
    return values.get(metric)  # TTFT/E2E: the seed's prefill term is unspecified


# ---------------------------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Space:
    """Layout of the fitted vector: 5 global entries, then (bandwidth, compute) per family."""

    families: tuple[str, ...]

    GLOBAL = ("bandwidth_fraction", "compute_fraction", "prefill_fraction", "step_overhead_ms", "allreduce_latency_us")

    @property
    def names(self) -> list[str]:
        names = list(self.GLOBAL)
        for family in self.families:
            names += [f"{family}.bandwidth_fraction", f"{family}.compute_fraction"]
        return names

    def start(self) -> np.ndarray:
        head = [
            START.bandwidth_fraction,
            START.compute_fraction,
            START.prefill_fraction,
            START.step_overhead_s * 1e3,
            START.allreduce_latency_s * 1e6,
        ]
        return np.array(head + [START.bandwidth_fraction, START.compute_fraction] * len(self.families))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        pairs = [FRACTION_BOUNDS] * 3 + [OVERHEAD_BOUNDS_MS, ALLREDUCE_BOUNDS_US]
        pairs += [FRACTION_BOUNDS] * (2 * len(self.families))
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
            interconnect_fraction=START.interconnect_fraction,
            source=source,
        )
        result = {"default": base}
        for index, family in enumerate(self.families):
            bw, compute = x[5 + 2 * index], x[6 + 2 * index]
            result[family] = dataclasses.replace(base, bandwidth_fraction=float(bw), compute_fraction=float(compute))
        return result


def _for(effs: dict[str, Efficiency], family: str) -> Efficiency:
    return effs.get(family, effs["default"])


def predictions(groups: Sequence[Group], effs: dict[str, Efficiency]) -> list[tuple[Group, Target, float]]:
    out = []
    for group in groups:
        point = operating(group, _for(effs, group.family))
        for target in group.targets:
            out.append((group, target, metric_value(group, point, target.metric)))
    return out


def _residuals(x: np.ndarray, groups: Sequence[Group], space: Space) -> np.ndarray:
    effs = space.efficiencies(x)
    res = [math.log(max(pred, 1e-12) / target.value) for _, target, pred in predictions(groups, effs)]
    for value, start in zip(x[:5], space.start()[:5], strict=True):  # weak prior: START, x/÷ e at 1 sigma
        res.append(math.log(value / start) / START_SIGMA)
    for index in range(len(space.families)):  # weak prior tying each family to [defaults]
        res.append(math.log(x[5 + 2 * index] / x[0]) / PRIOR_SIGMA)
        res.append(math.log(x[6 + 2 * index] / x[1]) / PRIOR_SIGMA)
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


def fit(groups: Sequence[Group], *, min_family_rows: int = MIN_FAMILY_ROWS, max_evaluations: int = 400) -> Fit:
    """Least squares (soft-L1, log ratio) over the global and per-family parameters."""
    counts = Counter(group.family for group in groups for _ in group.targets)
    families = tuple(sorted(f for f, n in counts.items() if n >= min_family_rows))
    space = Space(families)
    low, high = space.bounds()
    x0 = np.clip(space.start(), low, high)

    def loss(x: np.ndarray) -> np.ndarray:
        return _residuals(x, groups, space)

    start_cost = _robust_cost(loss(x0))
    best: Fit | None = None
    evaluations = 0
    for bandwidth, compute in STARTS:  # the max(memory, compute) roofline makes the cost multi-modal
        x_start = x0.copy()
        x_start[[0, *range(5, len(x0), 2)]] = bandwidth
        x_start[[1, *range(6, len(x0), 2)]] = compute
        result = least_squares(
            loss,
            x_start,
            bounds=(low, high),
            loss="soft_l1",
            f_scale=LOSS_SCALE,
            x_scale=high - low,
            diff_step=1e-4,
            xtol=1e-8,
            ftol=1e-8,
            max_nfev=max_evaluations,
            method="trf",
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


# ---------------------------------------------------------------------------------------------- reporting
def abs_pct_errors(pairs: Iterable[tuple[str, float, float]]) -> dict[str, list[float]]:
    """{metric: [|pred/meas - 1| x 100]} from (metric, predicted, measured)."""
    errors: dict[str, list[float]] = defaultdict(list)
    for metric, pred, meas in pairs:
        error = abs(pred / meas - 1.0) * 100.0
        errors[metric].append(error)
        errors["ALL"].append(error)
    return errors


def summarize(errors: dict[str, list[float]]) -> dict[str, tuple[int, float, float]]:
    order = [m for m in (*METRICS, "ALL") if m in errors]
    return {m: (len(errors[m]), float(np.median(errors[m])), float(np.percentile(errors[m], 90))) for m in order}


def print_table(title: str, columns: dict[str, dict[str, tuple[int, float, float]]]) -> None:
    print(f"\n{title}")
    metrics = [m for m in (*METRICS, "ALL") if any(m in col for col in columns.values())]
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


def loso(groups: Sequence[Group], *, log: Callable[[str], None] = print) -> list[tuple[str, float, float]]:
    """Leave one source out: fit on the others, predict the held-out source's rows."""
    sources = sorted({g.source for g in groups})
    pairs: list[tuple[str, float, float]] = []
    for source in sources:
        train = [g for g in groups if g.source != source]
        held = [g for g in groups if g.source == source]
        started = time.perf_counter()
        fold = fit(train)
        held_pairs = [(t.metric, p, t.value) for _, t, p in predictions(held, fold.efficiencies())]
        pairs += held_pairs
        median = float(np.median([abs(p / m - 1) * 100 for _, p, m in held_pairs]))
        values = " ".join(f"{v:.3g}" for v in fold.x[:5])
        log(
            f"  without {source:<48} {len(held_pairs):>4} rows held out: median {median:6.1f}%  "
            f"({time.perf_counter() - started:.1f} s; bw/c/prefill/overhead ms/allreduce us {values})"
        )
    return pairs


def _round(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


def calibration_values(result: Fit) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Rounded [defaults] and [families.*] tables (3 significant digits: the fit is not better)."""
    effs = result.efficiencies()
    base = effs["default"]
    defaults = {
        "bandwidth_fraction": _round(base.bandwidth_fraction),
        "compute_fraction": _round(base.compute_fraction),
        "prefill_fraction": _round(base.prefill_fraction),
        "step_overhead_s": _round(base.step_overhead_s),
        "allreduce_latency_s": _round(base.allreduce_latency_s),
        "interconnect_fraction": _round(base.interconnect_fraction),
    }
    families = {
        family: {
            "bandwidth_fraction": _round(effs[family].bandwidth_fraction),
            "compute_fraction": _round(effs[family].compute_fraction),
        }
        for family in result.space.families
    }
    return defaults, families


def render_toml(
    result: Fit,
    *,
    data_label: str,
    rows: int,
    date: str,
    in_sample: dict[str, tuple[int, float, float]],
    cross: dict[str, tuple[int, float, float]] | None,
) -> str:
    defaults, families = calibration_values(result)

    lines = [
        "# Efficiency factors of the serving performance model (gpucast.core.perf.Efficiency).",
        "# Fractions of datasheet peaks that serving engines reach, and fixed per-step costs.",
        "# [defaults] applies to every GPU family without its own table.",
        "# Generated by `python scripts/calibrate.py` (do not edit by hand; `--check` verifies it).",
        "# Fitted: prefill_fraction, step_overhead_s, allreduce_latency_s (global); bandwidth_fraction and",
        "# compute_fraction per GPU family with data (tied to [defaults] by a weak prior). interconnect_fraction",
        "# is not identifiable from the data and stays at its default.",
        "#",
        f"# {'median (p90) |error| %':<34}{'in sample':>12}{'leave-one-source-out':>24}",
    ]
    for metric, (n, median, p90) in in_sample.items():
        held = f"{cross[metric][1]:.0f} ({cross[metric][2]:.0f})" if cross and metric in cross else "-"
        label = f"{metric} (n={n})" if metric != "ALL" else f"all rows (n={n})"
        lines.append(f"# {label:<34}{f'{median:.0f} ({p90:.0f})':>12}{held:>24}")
    lines.append("[defaults]")
    lines += [f"{key} = {_fmt(value)}" for key, value in defaults.items()]
    lines.append(f'source = "fitted by scripts/calibrate.py to {data_label} ({rows} rows, {date})"')
    for family, values in families.items():
        lines += ["", f"[families.{family}]"]
        lines += [f"{key} = {_fmt(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _fmt(value: float) -> str:
    return repr(value) if 1e-3 <= abs(value) < 1e4 else f"{value:.3g}"


def differs_from_file(result: Fit, path: Path) -> list[str]:
    """Differences between the fitted (rounded) values and ``path``; empty if equal."""
    if not path.exists():
        return [f"{path} does not exist"]
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    defaults, families = calibration_values(result)
    problems = []
    stored = data.get("defaults", {})
    for key, value in defaults.items():
        if not math.isclose(stored.get(key, math.nan), value, rel_tol=1e-9):
            problems.append(f"defaults.{key}: file {stored.get(key)} vs fit {value}")
    stored_families = data.get("families", {})
    if set(stored_families) != set(families):
        problems.append(f"families: file {sorted(stored_families)} vs fit {sorted(families)}")
    for family, values in families.items():
        for key, value in values.items():
            have = stored_families.get(family, {}).get(key, math.nan)
            if not math.isclose(have, value, rel_tol=1e-9):
                problems.append(f"families.{family}.{key}: file {have} vs fit {value}")
    return problems


# ---------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="inference CSV (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=CALIBRATION_TOML, help="calibration TOML to write")
    parser.add_argument("--check", action="store_true", help="re-fit and exit 1 if --output differs")
    parser.add_argument("--no-write", action="store_true", help="report only")
    parser.add_argument("--no-cv", action="store_true", help="skip leave-one-source-out cross-validation")
    parser.add_argument("--worst", type=int, default=10, help="list the N worst-predicted rows")
    args = parser.parse_args(argv)

    data = args.data if args.data.is_absolute() else REPO / args.data
    if not data.is_file():
        print(f"calibrate.py: calibration data {data} not found (use --data PATH)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    rows = read_rows(data)
    groups, skipped = prepare(rows)
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
    effs = result.efficiencies()
    print(f"\nfit: {result.evaluations} evaluations, robust cost {result.cost_start:.2f} -> {result.cost_end:.2f}")
    for name, value in zip(result.space.names, result.x, strict=True):
        print(f"  {name:<32} {value:.4g}")

    fitted = predictions(groups, effs)
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
    if not (args.no_cv or args.check):
        print("\nleave-one-source-out cross-validation:")
        cross = summarize(abs_pct_errors(loso(groups)))
        columns["leave-one-source-out"] = cross
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

    date = datetime.date.today().isoformat()
    text = render_toml(
        result,
        data_label=str(DEFAULT_DATA if data == REPO / DEFAULT_DATA else data),
        rows=n_rows,
        date=date,
        in_sample=in_sample,
        cross=cross,
    )
    print(f"\nelapsed {time.perf_counter() - started:.1f} s")
    if args.check:
        problems = differs_from_file(result, args.output)
        if problems:
            print(f"--check: {args.output} differs from the fit:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print(f"--check: {args.output} matches the fit")
        return 0
    if not args.no_write:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
