"""Check estimates against published measurements: ``gpucast validate`` and the calibration.

An inference measurements CSV has the columns of ``../shared/calibration/inference.csv`` (``id, source,
engine, model, gpu, num_gpus, tp, pp, precision, kv_precision, input_tokens, output_tokens,
load, load_value, metric, value, unit, notes``; extra columns are ignored). Each row is resolved
into a replica configuration (catalog names, the row's engine and memory fraction) and a load,
evaluated with the same core as ``gpucast estimate``, and compared with the measured value.
Rows that cannot be evaluated are listed with the reason, never silently dropped.
``scripts/calibrate.py`` fits the efficiency factors on these same groups. Training measurements
(``training.csv``'s format, recognised by its header) are mapped by ``training.py`` and reported
in the same ``ValidationReport``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..catalog.loader import (
    default_max_num_seqs,
    efficiency_for,
    era_for,
    load_engines,
    resolve_gpu,
    resolve_model,
    sequences_capped_per_dp_rank,
)
from ..core.engine_era import parse_engine_version
from ..core.engine_releases import rank_chunk_tokens
from ..core.inference import replica_config
from ..core.memory import weight_bytes
from ..core.percentiles import LengthProfile
from ..core.perf import Efficiency
from ..core.replica import ReplicaConfig
from ..core.serving import OperatingPoint, under_load
from ..core.workload import PlanSettings, Workload
from ..errors import GpucastError
from .builds import build_settings, release_settings
from .finite_runs import fixed_rate
from .layouts import row_layout
from .percentiles import PERCENTILE_METRICS, is_percentile, percentile_value, replayed_tokens, row_profile, tail_at
from .report import MetricSummary as MetricSummary
from .report import RowResult as RowResult
from .report import ValidationReport as ValidationReport
from .report import abs_pct_error as abs_pct_error
from .report import percentile as percentile
from .report import read_table, require_columns, summarize
from .row_fields import (
    chunk_tokens,
    engine_release_label,
    engine_settings,
    in_process,
    request_count,
    row_kv_precision,
    row_precision,
    token_lengths,
)

NAIVE_EFFICIENCY = 0.7  # the seed formula's bandwidth efficiency
REQUIRED_COLUMNS = (
    "id", "source", "engine", "model", "gpu", "num_gpus", "tp", "pp", "precision", "kv_precision",
    "input_tokens", "output_tokens", "load", "load_value", "metric", "value",
)  # fmt: skip

METRICS = (
    "output_tok_per_s_total",
    "output_tok_per_s_per_gpu",
    "total_tok_per_s",
    "requests_per_s",
    "ttft_ms",
    "itl_ms",
    "tpot_ms",
    "itl_p50_ms",
    "e2e_ms",
    "kv_cache_tokens",
    # ttft_p99_ms, tpot_p99_ms... (validation.percentiles); itl_p50_ms is listed above already
    *(m for m in PERCENTILE_METRICS if m != "itl_p50_ms"),
)
LOADS = ("max-throughput", "concurrency", "request-rate", "static-batch", "startup")
MAX_LOAD_VALUE = 1e7  # the estimate's bound on a concurrency, a rate or a batch (EstimateRequest, the REST body)


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
    engine: str  # engine id in engines.toml (unknown engines: "vllm"); its factors apply to the efficiencies
    family: str
    cfg: ReplicaConfig
    replicas: int
    num_gpus: int
    input_tokens: float
    output_tokens: float
    load: str
    load_value: float
    kv_cache_tokens: int = 0  # per replica, as the engine would allocate it
    num_requests: int | None = None  # requests in the benchmark run, per replica, where stated
    targets: list[Target] = field(default_factory=list)
    lengths: LengthProfile | None = None  # the benchmark's request-length distribution (notes: length_profile=)
    era: str = ""  # kernel generation of the row's engine version (core.engine_era; "" = the current one)
    # prompt tokens each request still prefills when the benchmark replays its prompts to a server with prefix
    # caching on (notes: prefix_cache=replay; validation.percentiles.replayed_tokens); None = a cold cache
    uncached_tokens: float | None = None
    in_process: bool = False  # no HTTP server in front of the engine (notes: server=in-process): no front-end time
    paced: bool = False  # a request-rate run's arrivals evenly paced, not Poisson (notes; finite_runs.fixed_rate)


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """Rows of an inference measurements CSV; a missing file or column is one clear InputError."""
    header, rows = read_table(path)
    require_columns(path, header, REQUIRED_COLUMNS)
    return rows


def prepare(rows: Iterable[dict[str, str]], base: Path | None = None) -> tuple[list[Group], list[tuple[str, str]]]:
    """Resolve rows into evaluable groups, and list the rows skipped as (row id, reason). ``base``: the folder
    length-profile files named in notes are relative to (the measurements file's)."""
    groups: dict[tuple[Any, ...], Group] = {}
    skipped: list[tuple[str, str]] = []
    configs: dict[tuple[Any, ...], tuple[ReplicaConfig, int] | str] = {}
    for row in rows:
        try:
            _add_row(row, groups, configs, base)
        except _Skip as reason:
            skipped.append((row.get("id", "?"), str(reason)))
    return list(groups.values()), skipped


class _Skip(Exception):
    """A row gpucast cannot evaluate; the message says why."""


def _number(row: dict[str, str], column: str, cast: Any = float) -> Any:
    try:
        return cast(row[column])
    except (TypeError, ValueError):
        raise _Skip(f"{column} {row.get(column)!r} is not a number") from None


def _add_row(
    row: dict[str, str], groups: dict[tuple[Any, ...], Group], configs: dict[tuple[Any, ...], Any], base: Path | None
) -> None:
    """Put one CSV row into the group of rows sharing its operating point, or raise _Skip."""
    metric = row["metric"].strip()
    if metric not in METRICS:
        raise _Skip(f"metric {metric!r} not predicted")
    value = _number(row, "value")
    if not math.isfinite(value) or value <= 0:
        raise _Skip(f"value {row['value']!r} must be a positive number")
    load = row["load"].strip()
    if load not in LOADS:
        raise _Skip(f"load {load!r} is not one of {', '.join(LOADS)}")
    load_value = _number(row, "load_value") if load in ("concurrency", "request-rate", "static-batch") else 0.0
    if load in ("concurrency", "request-rate", "static-batch") and not 0 < load_value <= MAX_LOAD_VALUE:
        # estimate's bounds (EstimateRequest): -3 in flight predicted a negative throughput, inf an infinite TTFT
        raise _Skip(f"load_value {row['load_value']!r} of load {load} must be a number greater than 0 and at most "
                    f"{MAX_LOAD_VALUE:,.0f}")  # fmt: skip
    if load == "static-batch" and load_value != int(load_value):
        raise _Skip(f"load_value {row['load_value']!r} of a static batch must be a whole number of sequences")
    if (metric in ("ttft_ms", "e2e_ms") or is_percentile(metric)) and load == "max-throughput":
        raise _Skip("latency with all requests queued at once (set by the request count, not the engine)")
    try:
        profile = row_profile(row.get("notes", ""), base)
    except ValueError as error:
        raise _Skip(str(error)) from None
    tp, pp, num_gpus = (_number(row, c, int) for c in ("tp", "pp", "num_gpus"))
    if min(tp, pp, num_gpus) < 1 or num_gpus % (tp * pp):
        raise _Skip(f"num_gpus {num_gpus} is not a positive multiple of tp x pp = {tp * pp}")
    if "AMBIGUOUS" in row.get("notes", "") and tp * pp > 1:
        raise _Skip("throughput per GPU vs total ambiguous (TP>1, flagged in notes)")
    lengths = token_lengths(row)
    if lengths is None and metric != "kv_cache_tokens":
        raise _Skip("token lengths not numeric and no mean stated")
    if lengths is not None and not all(1 <= n < math.inf for n in lengths):
        # NaN or inf tokens were a ValueError/OverflowError traceback, 0 output tokens a ZeroDivisionError, and -5
        # input tokens was estimated as 1
        raise _Skip(f"input_tokens {row['input_tokens']!r} / output_tokens {row['output_tokens']!r} must be "
                    "finite numbers of at least 1 token")  # fmt: skip
    input_tokens, output_tokens = lengths or (1.0, 1.0)
    try:
        model = resolve_model(row["model"])
        gpu = resolve_gpu(row["gpu"])
    except GpucastError as error:
        raise _Skip(str(error).split(" (see")[0]) from None
    engine_id, memory, max_seqs = engine_settings(row)
    release = engine_release_label(row)  # the release it states, of the catalog engine it names ("" otherwise)
    engine = load_engines()[engine_id]
    precision = row_precision(row["precision"])
    kv_precision = row_kv_precision(row, precision, engine) if precision else None
    if precision is None or kv_precision is None:
        raise _Skip(f"precision {row['precision']!r}/{row['kv_precision']!r} unknown")
    model = engine.serves(model)
    # the release's default on a large GPU (vLLM 0.9+: 1024 on 70 GiB+ but A100), where the row states its release: a
    # row that does not (OCI's 2024 MI300X blog) is read with the plain default, as the fit always read it
    if parse_engine_version(release) is not None:
        max_seqs = default_max_num_seqs(engine, release, gpu)
    requests = request_count(row)
    if requests is not None:
        max_seqs = max(1, min(max_seqs, requests // (num_gpus // (tp * pp))))  # requests per replica
    ep, attention_dp = row_layout(row, tp)
    if load == "startup":  # the KV cache the logged build computed (throughput rows: the engine's default policy)
        memory = build_settings({**row, "engine": release}, engine_id, memory, mla=model.is_mla)
    else:  # the profiling budget of the release the engine label states (a V0 vLLM without chunked prefill)
        memory = release_settings({**row, "engine": release}, engine_id, memory, model)
    chunk = chunk_tokens(row)
    era = era_for(engine_id, model, release)  # the version the row's engine label states
    cfg_key = (
        era,
        engine_id,
        model.id,
        gpu.id,
        precision,
        kv_precision,
        tp,
        pp,
        ep,
        attention_dp,
        input_tokens,
        output_tokens,
        max_seqs,
        memory,
        chunk,
        profile,
        in_process(row),
    )
    uncached = replayed_tokens(row.get("notes", ""))
    if cfg_key not in configs:
        window = int(input_tokens + output_tokens) if lengths else 1
        settings = PlanSettings(
            engine_max_sequences=max_seqs,
            max_sequences_per_dp_rank=sequences_capped_per_dp_rank(engine_id),
            context_window=max(window, profile.longest) if profile is not None else window,
            memory=memory,
        )
        workload = Workload(1.0, max(1, int(input_tokens)), max(1, int(output_tokens)), lengths=profile)
        eff = efficiency_for(gpu, engine_id, model=model, engine_version=release)
        if in_process(row):  # the benchmark's client called the engine directly: no server front end in its TTFT
            eff = dataclasses.replace(eff, frontend_s=0.0)
        try:
            cfg, mem, _ = replica_config(
                model, gpu, eff, precision=precision, kv_precision=kv_precision,
                tp=tp, pp=pp, workload=workload, settings=settings, ep=ep, attention_dp=attention_dp,
            )  # fmt: skip
            if chunk is not None:  # the launch's budget, which SGLang divides over its attention-DP ranks too
                rank_chunk = rank_chunk_tokens(
                    memory, chunk, attention_dp, scheduler_per_rank=settings.max_sequences_per_dp_rank
                )
                cfg = dataclasses.replace(cfg, chunk_tokens=chunk, rank_chunk_tokens=rank_chunk)
            configs[cfg_key] = (cfg, mem.kv_capacity_tokens)
        except GpucastError as error:
            configs[cfg_key] = f"does not fit in the memory model: {error}"
    entry = configs[cfg_key]
    if isinstance(entry, str):
        raise _Skip(entry)
    cfg, kv_tokens = entry
    paced = fixed_rate(row.get("notes", ""))
    key = (row["source"], row["engine"], *cfg_key, num_gpus, load, load_value, uncached, paced)
    group = groups.get(key)
    if group is None:
        group = groups[key] = Group(
            source=row["source"],
            engine=engine_id,
            family=gpu.family,
            cfg=cfg,
            replicas=num_gpus // (tp * pp),
            num_gpus=num_gpus,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            load=load,
            load_value=load_value,
            kv_cache_tokens=kv_tokens,
            num_requests=requests // (num_gpus // (tp * pp)) if requests else None,
            lengths=profile,
            era=era,
            uncached_tokens=uncached,
            in_process=in_process(row),
            paced=paced,
        )
    group.targets.append(Target(row["id"], metric, value))


# ---------------------------------------------------------------------------------------------- prediction
def operating(group: Group, eff: Efficiency | None = None) -> OperatingPoint:
    """The replica's operating point under the group's load (``eff`` overrides the catalog's)."""
    if eff is not None and group.in_process:
        eff = dataclasses.replace(eff, frontend_s=0.0)
    cfg = dataclasses.replace(group.cfg, efficiency=eff) if eff is not None else group.cfg
    replayed = group.uncached_tokens
    return under_load(
        cfg,
        load=group.load,
        value=group.load_value,
        replicas=group.replicas,
        input_tokens=group.input_tokens,
        output_tokens=group.output_tokens,
        num_requests=group.num_requests,
        cached_input_tokens=0.0 if replayed is None else max(group.input_tokens - replayed, 0.0),
    )


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
        "itl_p50_ms": point.itl_s * 1e3,  # steady decode: the median step is the mean step
        "e2e_ms": point.e2e_s * 1e3,
        # engines log the pool of one attention-DP rank (SGLang "KV Cache is allocated. #tokens" per DP rank)
        "kv_cache_tokens": float(group.kv_cache_tokens) / group.cfg.attention_dp,
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
        "itl_p50_ms": 1e3 / (bandwidth / weight_bytes(cfg.model, cfg.precision)),
    }
    return values.get(metric)  # TTFT/E2E: the seed's prefill term is unspecified


# ---------------------------------------------------------------------------------------------- report
def evaluate(groups: list[Group]) -> list[RowResult]:
    results = []
    for group in groups:
        point = operating(group)
        tail = None
        if any(is_percentile(t.metric) for t in group.targets):
            run, closed = None, None
            if group.load == "request-rate" and group.num_requests:  # a finite run (validation.finite_runs)
                run = (group.load_value / group.replicas, group.num_requests, group.paced)
            if group.load == "concurrency" and group.num_requests:  # a finite closed loop (the same module)
                closed = (max(round(group.load_value / group.replicas), 1), group.num_requests)
            tail = tail_at(
                group.cfg, point, group.input_tokens, group.output_tokens, group.lengths, group.uncached_tokens,
                run=run, closed=closed,
            )  # fmt: skip
        for target in group.targets:
            if tail is not None and is_percentile(target.metric):
                predicted = percentile_value(tail, target.metric)
            else:
                predicted = metric_value(group, point, target.metric)
            results.append(
                RowResult(
                    target.row_id,
                    group.source,
                    target.metric,
                    target.value,
                    predicted,
                    abs_pct_error(predicted, target.value),
                    naive_value(group, target.metric),
                )
            )
    return results


def is_training(header: Iterable[str]) -> bool:
    """Training measurements (``../shared/calibration/training.csv``) state a model size and sequence length."""
    return bool({"params_b", "seq_len"} & set(header))


def validate_file(path: str | Path) -> ValidationReport:
    """Estimate every row of a measurements CSV and report the error (``gpucast validate``).

    The header decides the format: training rows are predicted by ``training.py`` (imported
    here, so that the inference path does not load it), inference rows by ``prepare``/``evaluate``."""
    header, table = read_table(path)
    if is_training(header):
        from . import training

        require_columns(path, header, training.REQUIRED_COLUMNS)
        rows, skipped = training.validate_rows(table)
        groups = {"throughput (all)": training.THROUGHPUT, "ALL": training.METRICS}
        summary = summarize(rows, training.METRICS, groups)
    else:
        require_columns(path, header, REQUIRED_COLUMNS)
        points, skipped = prepare(table, Path(path).parent)
        rows = evaluate(points)
        summary = summarize(rows, METRICS)
    rows.sort(key=lambda r: (r.source, r.metric, r.id))
    return ValidationReport(rows, skipped, summary)
