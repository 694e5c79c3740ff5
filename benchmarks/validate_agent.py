"""Predicted vs published numbers for prefix caching, speculative decoding and agent hit rates.

Reads ``data/benchmarks/agent/agent.csv`` (sources in its README; not fitted by scripts/calibrate.py)
and prints, per row, what gpucast's core predicts, the measured value and the error, then the
median and p90 absolute error per feature. Usage::

    python benchmarks/validate_agent.py [--json] [CSV]

Metrics:
- ``spec_speedup``: decode tokens/s with / without speculative decoding at the row's batch
  (``serving.decode_step_time`` with and without the proposer); the acceptance rate is the row's,
  or solved from its mean acceptance length tau = (1 - a^(k+1)) / (1 - a) (Leviathan et al. 2023);
- ``decode_tok_per_s_per_gpu``: batch / decode step / GPUs (decode-only nodes);
- ``apc_throughput_ratio`` / ``total_tok_per_s``: offline max throughput with the row's cached
  fraction of every prompt served from the prefix cache, vs without;
- ``hit_rate``: the agent arithmetic's reusable fraction (core/agent.py) with an unbounded cache.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from gpucast.catalog import loader
from gpucast.core.agent import AgentShape, token_flow
from gpucast.core.inference import replica_config
from gpucast.core.replica import ReplicaConfig, decode_step_time
from gpucast.core.serving import max_throughput
from gpucast.core.specs import Precision
from gpucast.core.speculative import SpeculativeConfig, expected_tokens_per_step
from gpucast.core.workload import PlanSettings, Workload

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "agent" / "agent.csv"


def acceptance_from_length(tau: float, k: int) -> float:
    """Per-token acceptance a with (1 - a^(k+1)) / (1 - a) = tau, by bisection (tau grows with a)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if expected_tokens_per_step(mid, k) < tau:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def _replica(row: dict[str, str]) -> ReplicaConfig:
    model = loader.resolve_model(row["model"])
    gpu = loader.resolve_gpu(row["gpu"])
    engine = loader.resolve_engine(row["engine"]) if row["engine"] in loader.load_engines() else None
    eff = loader.efficiency_for(gpu, engine.id if engine else "vllm")
    inputs, outputs = float(row["input_tokens"]), float(row["output_tokens"])
    workload = Workload(1.0, int(inputs), max(1, round(outputs)))
    cfg, _, _ = replica_config(
        model, gpu, eff, precision=Precision[row["precision"]], kv_precision=Precision[row["kv_precision"]],
        tp=int(row["tp"]), pp=int(row["pp"]), workload=workload,
        settings=PlanSettings(context_window=int(inputs + outputs)),
    )  # fmt: skip
    return cfg


def predict(row: dict[str, str]) -> float:
    metric = row["metric"]
    if metric == "hit_rate":
        shape = AgentShape(
            tasks_per_s=1.0,
            calls_per_task=float(row["calls_per_task"]),
            shared_prefix_tokens=int(row["shared_prefix_tokens"]),
            context_growth_tokens=int(row["context_growth_tokens"]),
            output_tokens=int(float(row["output_tokens"])),
        )
        return token_flow(shape).reusable_fraction
    cfg = _replica(row)
    inputs, outputs = float(row["input_tokens"]), float(row["output_tokens"])
    if metric in ("apc_throughput_ratio", "total_tok_per_s"):
        cached = float(row["cached_fraction"] or 0.0) * inputs
        base = max_throughput(cfg, input_tokens=inputs, output_tokens=outputs)
        if metric == "total_tok_per_s":
            return base.total_tokens_per_s
        hit = max_throughput(cfg, input_tokens=inputs, output_tokens=outputs, cached_input_tokens=cached)
        return hit.total_tokens_per_s / base.total_tokens_per_s
    batch = float(row["batch"])
    context = inputs + outputs / 2.0
    plain = decode_step_time(cfg, batch, context).total_s
    if metric == "decode_tok_per_s_per_gpu":
        return batch / plain / int(row["num_gpus"])
    k = int(row["draft_tokens"])
    alpha = (
        float(row["acceptance_rate"])
        if row["acceptance_rate"]
        else acceptance_from_length(float(row["acceptance_length"]), k)
    )
    spec = replace(cfg, speculative=SpeculativeConfig(k, alpha, "mtp"))
    return plain / decode_step_time(spec, batch, context).total_s


def run(path: Path) -> dict[str, Any]:
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            predicted = predict(row)
            measured = float(row["value"])
            rows.append(
                {
                    "id": int(row["id"]),
                    "source": row["source"],
                    "feature": row["feature"],
                    "metric": row["metric"],
                    "model": row["model"],
                    "gpu": row["gpu"],
                    "measured": measured,
                    "predicted": round(predicted, 4),
                    "error_percent": round((predicted - measured) / measured * 100.0, 1),
                }
            )
    summary = {}
    for feature in [*sorted({r["feature"] for r in rows}), "all"]:
        errors = sorted(abs(r["error_percent"]) for r in rows if feature in ("all", r["feature"]))
        p90 = errors[min(len(errors) - 1, int(0.9 * len(errors)))]
        summary[feature] = {"n": len(errors), "median_abs_error_percent": statistics.median(errors), "p90": p90}
    return {"rows": rows, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default=str(DATA))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(Path(args.csv))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'id':>3} {'feature':<13} {'metric':<25} {'model':<17} {'measured':>10} {'predicted':>10} {'error':>7}")
    for r in report["rows"]:
        print(
            f"{r['id']:>3} {r['feature']:<13} {r['metric']:<25} {r['model']:<17} {r['measured']:>10g} "
            f"{r['predicted']:>10g} {r['error_percent']:>+6.1f}%"
        )
    print("\nmedian (p90) |error| % by feature:")
    for feature, s in report["summary"].items():
        print(f"  {feature:<13} n={s['n']:<3} {s['median_abs_error_percent']:.1f} ({s['p90']:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
