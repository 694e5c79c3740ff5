"""Plan-level validation (``gpucast validate --plans``): does the planner size measured deployments right?

``gpucast validate`` checks ``estimate`` row by row; this checks the planner, the seed's own success metric
("within ±20% of actual GPU requirements"). Each *loaded* serving measurement — a deployment (model, GPU,
num_gpus, TP, PP, precision, KV precision, engine) serving R req/s at mean TTFT t and mean ITL i with fixed
numeric input/output lengths — becomes a planning question: plan 10 x R req/s (peak multiplier 1, growth 0,
default safety margin) with TTFT <= 1.1 t and ITL <= 1.1 i, GPU, TP, PP, precisions and engine pinned. The
measured deployment needs ``ceil(10 x replicas x (1 + margin)) x TP x PP`` GPUs; the error is planned / needed - 1.

Definitions chosen where the issue (#17, item 3) is silent, and why:
- A point is the CSV rows sharing source, engine, model, GPU, num_gpus, TP, PP, precisions, lengths, load and
  load_value. R: ``requests_per_s``, else ``output_tok_per_s_total`` / output tokens, else
  ``output_tok_per_s_per_gpu`` x num_gpus / output tokens. t: ``ttft_ms``. i: ``tpot_ms`` before ``itl_ms``
  (per-request decode time is what the planner's ITL models; streamed ITL is inflated by multi-step and chunked
  output, data/benchmarks/README.md).
- Latencies whose notes say "median" (TTFT and ITL both) are planned with p50 SLOs (``slo_percentile`` "50",
  ``core.tails``): the planner bounds the statistic the source measured, never a median read as a mean; a point
  with one median and one mean is left out. Token lengths must be numbers (ShareGPT mixes are left out, even with
  means in the notes: a plan for the mean shape is not the measured workload, and the two ShareGPT tables stop at
  18-42% of their own published max throughput, far from the SLO edge the metric assumes; docs/accuracy.md).
- Loaded: a request-rate point among the two highest rates its table (source, engine, model, GPU, TP, PP,
  precision, shape) publishes — any metric counts as published — or a closed-loop point at concurrency >= 25.
  A request-rate table that serves under 90% of the offered rate already at its lowest rate has no point below
  saturation (SGLang's DeepSeek-V3 README tables: 0.63 and 0.76 of 1 req/s, median TPOT 140-680 ms; the serving
  fit leaves that source out as a misconfigured run too): its points are left out, named.
- The plan models the measured deployment as ``estimate`` does: the engine id, memory fraction (notes or the
  engine's default) and KV precision of ``inference.py``; ``max_num_seqs`` = the engine's catalog default; the
  context window = input + output rounded up to a multiple of 128 (a max_model_len a benchmark would set).
- Everything else is the planner's default, the target GPU utilization (0.7 of a replica's saturation
  throughput at average traffic) included: the question is the one a user would ask.
- A plan whose SLOs cannot be met (``meets_latency_sla`` false or ``InfeasibleError``, which includes a
  deployment the memory model cannot hold) is a miss, "infeasible", ranked worse than any finite error
  (error +inf) in the medians. Other input errors (e.g. TP not a power of two) leave the point out with the reason.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalog.loader import load_engines, resolve_gpu, resolve_model
from ..core.engine_era import parse_engine_version
from ..errors import GpucastError, InfeasibleError, InputError
from ..inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from ..planning.inference import plan_inference
from .builds import release_settings, unchunked_window
from .inference import REQUIRED_COLUMNS, is_training
from .layouts import row_layout
from .plan_diagnosis import estimate_at_rate, estimate_closed_loop
from .plan_points import (
    LOAD_FACTOR,
    MIN_CONCURRENCY,
    TOP_RATES,
    ServingPoint,
    curve_elasticity,
    group_points,
    loaded_points,
    rate_rps,
)
from .report import read_table, require_columns
from .row_fields import engine_release_label, engine_settings, row_kv_precision, row_precision

SLO_SLACK = 1.1  # SLOs 10% above the measured latencies (means, or medians where published)
WITHIN_PCT = 20.0  # the seed's success metric: within ±20% of the GPUs needed
CONTEXT_STEP = 128
REPO = Path(__file__).resolve().parents[3]


def default_files() -> list[Path]:
    """The repository's serving data: what ``scripts/calibrate.py`` fits (``../shared/calibration/inference.csv``,
    ``data/benchmarks/*.csv``) and the published tables kept out of the fit (``data/benchmarks/unfitted/*.csv``),
    so an open-loop table added for the plan check is asked without being fitted on (missing files skipped; none at
    all is an InputError). ``percentiles/`` stays out: its sources are the held-out tail check of issue 21."""
    candidates = [REPO.parent / "shared" / "calibration" / "inference.csv"]
    candidates += sorted((REPO / "data" / "benchmarks").glob("*.csv"))
    candidates += sorted((REPO / "data" / "benchmarks" / "unfitted").glob("*.csv"))
    found = [p for p in candidates if p.is_file()]
    if not found:
        raise InputError("no serving data found next to this installation: give CSV files to `validate --plans`")
    return found


# ---------------------------------------------------------------------------------------------- planning
@dataclass
class PlanResult:
    """One planning question and the planner's answer."""

    ids: list[str]
    source: str
    engine: str
    model: str
    gpu: str
    tp: int
    pp: int
    num_gpus: int
    precision: str
    kv_precision: str
    input_tokens: float
    output_tokens: float
    load: str
    load_value: float
    rate_rps: float  # R measured across the deployment
    ttft_ms: float
    itl_ms: float
    planned_rps: float
    needed_gpus: int
    planned_gpus: int | None  # None: infeasible
    error_pct: float  # planned / needed - 1, in %; +inf when infeasible
    outcome: str  # "planned" or "infeasible"
    plan_ttft_ms: float | None = None
    plan_itl_ms: float | None = None
    note: str = ""  # why infeasible, or that an open-loop point was saturated
    slo_percentile: str = "mean"  # the statistic the SLOs bound: the measured one ("50" where medians)
    capacity_per_replica: float | None = None  # the planner's capacity at the SLOs, req/s per replica
    estimate_ttft_ms: float = math.nan  # ``estimate --request-rate R`` on the measured deployment (plan_diagnosis)
    estimate_itl_ms: float = math.nan
    # closed-loop points: ``estimate --concurrency C``, the measurement's own load generator (plan_diagnosis)
    closed_loop_rps: float = math.nan
    closed_loop_ttft_ms: float = math.nan
    closed_loop_itl_ms: float = math.nan
    curve_elasticity: float | None = None  # measured d ln(latency) / d ln(R) at the point (plan_points)

    @property
    def exact_estimate_error_pct(self) -> float | None:
        """The plan's error if the estimate reproduced the measured curve exactly: the capacity at 1.1 x the
        latencies is R x 1.1^(1/e) on a curve rising like R^e, so the plan is 1.1^(-1/e) - 1 off "needed" (before
        rounding to whole replicas). None where the curve is unknown; -100% where it does not rise (e <= 0)."""
        e = self.curve_elasticity
        if e is None:
            return None
        return (SLO_SLACK ** (-1.0 / e) - 1.0) * 100.0 if e > 0 else -100.0

    @property
    def estimate_window(self) -> tuple[float, float] | None:
        """The estimate / measured ratio of the binding latency that lands the plan within ±20%: the capacity is
        R x (1.1 / ratio)^(1/e), so ratio in [1.1 x 0.8^e, 1.1 x 1.2^e]. A flat curve (small e) admits a narrow
        window away from 1: the question then rewards a biased estimate, not an exact one."""
        e = self.curve_elasticity
        if e is None or e <= 0:
            return None
        band = WITHIN_PCT / 100.0
        return SLO_SLACK * (1.0 - band) ** e, SLO_SLACK * (1.0 + band) ** e

    @property
    def capacity_ratio(self) -> float:
        """Capacity per replica / measured R per replica: the plan misses by about its inverse."""
        if self.capacity_per_replica is None:
            return math.nan
        return self.capacity_per_replica * (self.num_gpus // (self.tp * self.pp)) / self.rate_rps

    @property
    def within(self) -> bool:
        return abs(self.error_pct) <= WITHIN_PCT


def question(point: ServingPoint) -> tuple[LLMWorkloadInput, ModelConfig, GPUConfig, ServingOptions]:
    """The planning question for a loaded point (raises GpucastError where it cannot be asked)."""
    model, gpu = resolve_model(point.model), resolve_gpu(point.gpu)
    row = {"engine": point.engine, "notes": point.notes, "kv_precision": point.kv_precision}
    engine_id, memory, _ = engine_settings(row)
    engine = load_engines()[engine_id]
    precision = row_precision(point.precision)
    kv = row_kv_precision(row, precision, engine) if precision else None
    if precision is None or kv is None:
        raise InputError(f"precision {point.precision!r}/{point.kv_precision!r} unknown")
    needed = point.input_tokens + point.output_tokens
    window = math.ceil(needed / CONTEXT_STEP) * CONTEXT_STEP
    release = engine_release_label(row)  # "" for an engine outside the catalog (validated as today's vLLM)
    launched = unchunked_window({**row, "engine": release}, engine_id, model)
    if launched is not None:  # the release profiles over max_model_len: the launch's, else vLLM's default (the model's)
        window = release_settings({**row, "engine": release}, engine_id, memory, model).max_batched_tokens
    margin = ServingOptions().safety_margin
    ep, attention_dp = row_layout({"notes": point.notes}, point.tp)
    return (
        LLMWorkloadInput(LOAD_FACTOR * rate_rps(point), round(point.input_tokens), round(point.output_tokens), 1.0, 0.0),
        ModelConfig(model_name=model.id, precision=precision.name, kv_precision=kv.name,
                    context_window=window),
        GPUConfig(gpu_type=gpu.id),
        ServingOptions(ttft_slo_ms=SLO_SLACK * (point.ttft_ms or 0.0), itl_slo_ms=SLO_SLACK * (point.itl_ms or 0.0),
                       safety_margin=margin, tp=point.tp, pp=point.pp, ep=ep, attention_dp=attention_dp, engine=engine_id,
                       # the fraction the notes state; none: the engine's default for the release and layout
                       gpu_memory_utilization=None if memory.default_fraction_rule else memory.gpu_memory_utilization,
                       # the row's engine label states its release (core.engine_era); one that states none
                       # ("vLLM (CI build 9513; version not captured)") is the current engine, as a question
                       engine_version=release if parse_engine_version(release) else None,
                       slo_percentile=point.slo_percentile),  # the statistic measured (with slack)
    )  # fmt: skip


def ask(point: ServingPoint) -> PlanResult:
    """Plan the point's question with the real planner (``planning.inference.plan_inference``); GpucastError if
    it cannot be asked."""
    workload, model, gpu, options = question(point)
    rate = rate_rps(point)
    result = PlanResult(
        ids=point.ids, source=point.source, engine=options.engine, model=point.model, gpu=point.gpu, tp=point.tp,
        pp=point.pp, num_gpus=point.num_gpus, precision=model.precision or "", kv_precision=model.kv_precision or "",
        input_tokens=point.input_tokens, output_tokens=point.output_tokens, load=point.load,
        load_value=point.load_value, rate_rps=rate, ttft_ms=point.ttft_ms or math.nan,
        itl_ms=point.itl_ms or math.nan, planned_rps=workload.requests_per_second,
        needed_gpus=point.needed_gpus(options.safety_margin), planned_gpus=None, error_pct=math.inf,
        outcome="infeasible", slo_percentile=options.slo_percentile,
    )  # fmt: skip
    shape = (point.num_gpus, model, gpu, options, point.input_tokens, point.output_tokens)
    result.estimate_ttft_ms, result.estimate_itl_ms = estimate_at_rate(rate, *shape)
    if point.load == "concurrency":
        result.closed_loop_rps, result.closed_loop_ttft_ms, result.closed_loop_itl_ms = estimate_closed_loop(
            point.load_value, *shape
        )
    try:
        plan = plan_inference(workload, model, gpu, options)
    except InfeasibleError as error:
        result.note = str(error)
        return result
    thr = plan.throughput
    result.planned_gpus = plan.gpu_resources.total_gpus
    result.plan_ttft_ms, result.plan_itl_ms = thr.estimated_ttft_ms, thr.estimated_itl_ms
    result.capacity_per_replica = thr.rps_per_replica
    if not thr.meets_latency_sla:
        result.note = f"the plan does not meet the SLOs: {plan.recommendation}"
        return result
    result.outcome = "planned"
    result.error_pct = (result.planned_gpus / result.needed_gpus - 1.0) * 100.0
    if point.load == "request-rate" and rate < 0.9 * point.load_value:
        result.note = f"saturated: served {rate:.3g} of {point.load_value:g} req/s offered"
    return result


# ---------------------------------------------------------------------------------------------- report
def median(values: Sequence[float]) -> float:
    """Median that tolerates +inf (infeasible plans rank above every finite error)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass
class PlanSummary:
    source: str  # a source key, or "ALL"
    n: int
    within: int  # points within ±20%
    infeasible: int
    share_within: float  # within / n
    median_error_pct: float  # signed; +inf when the median point is infeasible
    median_abs_error_pct: float
    curve_known: int = 0  # points whose measured curve has a lighter point (curve_elasticity known)
    exact_within: int = 0  # ...of which an exact estimate would plan within ±20% (exact_estimate_error_pct)


def summarize(results: Sequence[PlanResult]) -> list[PlanSummary]:
    """Per source (alphabetical) and ALL: n, share within ±20%, signed and absolute median error."""
    groups: dict[str, list[PlanResult]] = defaultdict(list)
    for r in results:
        groups[r.source].append(r)
    ordered = [*sorted(groups), "ALL"] if results else []
    groups["ALL"] = list(results)
    out = []
    for key in ordered:
        rs = groups[key]
        within = sum(r.within for r in rs)
        exact = [r.exact_estimate_error_pct for r in rs if r.exact_estimate_error_pct is not None]
        out.append(PlanSummary(key, len(rs), within, sum(r.outcome == "infeasible" for r in rs), within / len(rs),
                               median([r.error_pct for r in rs]), median([abs(r.error_pct) for r in rs]),
                               len(exact), sum(abs(x) <= WITHIN_PCT for x in exact)))  # fmt: skip
    return out


def _finite(value: Any) -> Any:
    """JSON has no infinity: an infeasible plan's error is null (its outcome says why)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _derived(r: PlanResult) -> dict[str, Any]:
    """A point's derived diagnosis fields for the JSON (the properties beside the dataclass fields)."""
    return {
        "within": r.within,
        "capacity_ratio": _finite(r.capacity_ratio),
        "exact_estimate_error_pct": r.exact_estimate_error_pct,
        "estimate_window": r.estimate_window,
    }


@dataclass
class PlanValidationReport:
    results: list[PlanResult]
    left_out: list[tuple[str, str, str]]  # (ids, source, reason) per point or row not planned
    other_rows: dict[str, int]  # rows of non-serving loads, per load (not points)
    summary: list[PlanSummary]
    files: list[str]

    def worst(self, n: int = 5) -> list[PlanResult]:
        return sorted(self.results, key=lambda r: -abs(r.error_pct))[:n]

    def to_dict(self) -> dict[str, Any]:
        def clean(item: Any) -> dict[str, Any]:
            return {k: _finite(v) for k, v in dataclasses.asdict(item).items()}

        definition = {"load_factor": LOAD_FACTOR, "slo_slack": SLO_SLACK, "within_pct": WITHIN_PCT,
                      "safety_margin": ServingOptions().safety_margin, "min_concurrency": MIN_CONCURRENCY,
                      "top_rates": TOP_RATES}  # fmt: skip
        return {
            "definition": definition,
            "files": self.files,
            "summary": [clean(s) for s in self.summary],
            "points": [clean(r) | _derived(r) for r in self.results],
            "left_out": [{"ids": i, "source": s, "reason": r} for i, s, r in self.left_out],
            "other_rows": self.other_rows,
        }


def read_serving_rows(path: str | Path) -> list[dict[str, str]]:
    """Rows of an inference measurements CSV; a training CSV or a missing column is one InputError."""
    header, rows = read_table(path)
    if is_training(header):
        raise InputError(f"{str(path)!r} holds training measurements: `validate --plans` needs serving measurements")
    require_columns(path, header, REQUIRED_COLUMNS)
    return rows


def validate_plans(paths: Sequence[str | Path] | None = None) -> PlanValidationReport:
    """Plan every loaded serving point of ``paths`` (default: the repository's serving data) and report the error."""
    files = [Path(p) for p in paths] if paths else default_files()
    rows = [row for path in files for row in read_serving_rows(path)]
    points, bad, other = group_points(rows)
    loaded, left = loaded_points(points)
    left_out = list(bad) + [(",".join(p.ids), p.source, r) for p, r in left]
    results = []
    for point in loaded:
        try:
            result = ask(point)
        except GpucastError as error:  # cannot be asked (unknown model/GPU, TP not a power of two...)
            left_out.append((",".join(point.ids), point.source, str(error).split(" (see")[0]))
            continue
        result.curve_elasticity = curve_elasticity(point, points)
        results.append(result)
    results.sort(key=lambda r: (r.source, r.model, r.gpu, r.input_tokens, r.output_tokens, r.load_value))
    return PlanValidationReport(results, left_out, dict(other), summarize(results), [str(f) for f in files])
