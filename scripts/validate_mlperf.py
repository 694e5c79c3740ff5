"""Compare gpucast's planned capacity with MLPerf Inference v5.x results (issue 21, item 4; validation, never fitted).

MLPerf's Server and Interactive scenarios report the largest Poisson query rate a system sustains with TTFT p99
and TPOT p99 under the benchmark's constraints; Offline reports the maximum throughput. That is the planner's
question at p99 SLOs, so for each result in data/benchmarks/mlperf/*.csv this asks ``planning.plan_inference``:

- Server / Interactive: capacity at the SLOs (``throughput.rps_per_replica``) with ``slo_percentile="99"``,
  TTFT and ITL targets = the run's own ``ttft_latency`` / ``tpot_latency`` (in the row, read from its log), the
  benchmark's length profile, the submission's GPU, weight precision, FP8 KV cache (NVIDIA's harness passes
  ``--fp8_kv_cache``, AMD's vLLM configs ``kv_cache_dtype: fp8``: closed/*/code in the results repository) and
  engine (TensorRT-LLM or vLLM). The system's GPUs are replicas of one layout: TP in 1, 2, 4, 8 (dividing the
  GPU count), and the system's capacity is the best layout's ``replicas x rps_per_replica`` — submitters tune
  their layout, and gpucast's planner, given the GPU, picks its layout the same way.
- Offline: the best layout's ``replicas x max_tps_per_replica`` (output tokens/s with every KV slot busy).

Compared in output tokens/s — MLPerf's own headline metric for these benchmarks, and the one that does not depend
on the model's generated lengths (Llama-2-70B writes ~274 tokens per OpenOrca sample in these runs; the profile
holds the dataset's reference answers, 219): predicted = planned requests/s x the profile's mean output.
Llama-3.1-405B rows are left out (no built-in length profile for its long-context mix). Nothing here is tuned
to these rows: scripts/calibrate.py reads only data/benchmarks/*.csv (tests/test_validate.py checks it).

    python scripts/validate_mlperf.py            # per-row table and median absolute errors (markdown)
"""

from __future__ import annotations

import csv
import statistics
import sys
from functools import cache
from pathlib import Path

from gpucast.errors import GpucastError
from gpucast.inputs.length_profile import resolve_length_profile
from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.inference import plan_inference

DATA = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "mlperf"
PROFILES = {"llama-2-70b": "mlperf-openorca", "mixtral-8x7b": "mlperf-mixtral", "llama-3.1-8b": "cnn-dailymail"}
LAYOUTS = (1, 2, 4, 8)
NO_SLO = 1e6  # ms (1,000 s): the largest ITL target the inputs accept; Offline is held to no latency (max_tps ignores SLOs anyway)


@cache
def planned_tokens_per_s(
    model: str, gpu: str, num_gpus: int, precision: str, engine: str, ttft_ms: float, tpot_ms: float
) -> tuple[float, int]:
    """Output tokens/s of the system's best layout (and its TP): at p99 SLOs (ttft_ms > 0) or saturated (offline)."""
    profile = PROFILES[model]
    output_mean = resolve_length_profile(profile).mean_output
    best = (0.0, 0)
    for tp in (t for t in LAYOUTS if t <= num_gpus and num_gpus % t == 0):
        offline = ttft_ms <= 0
        try:
            plan = plan_inference(
                LLMWorkloadInput(1.0, 1, 1, 1.0, 0.0, length_profile=profile),
                ModelConfig(model_name=model, precision=precision, kv_precision="FP8"),
                GPUConfig(gpu_type=gpu),
                ServingOptions(ttft_slo_ms=NO_SLO if offline else ttft_ms, itl_slo_ms=NO_SLO if offline else tpot_ms,
                               slo_percentile="mean" if offline else "99", tp=tp, pp=1, engine=engine, min_replicas=1),
            )  # fmt: skip
        except GpucastError:
            continue  # the layout cannot hold the model (or no load meets the SLOs)
        thr = plan.throughput
        replicas = num_gpus // tp
        if offline:
            tokens = replicas * thr.max_tps_per_replica
        else:
            tokens = replicas * thr.rps_per_replica * output_mean if thr.meets_latency_sla else 0.0
        best = max(best, (tokens, tp))
    return best


def compare(path: Path) -> list[dict[str, object]]:
    out = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["model"] not in PROFILES:
                continue
            offline = row["scenario"] == "Offline"
            tokens, tp = planned_tokens_per_s(
                row["model"], row["gpu"], int(row["num_gpus"]), row["precision"], row["engine"],
                0.0 if offline else float(row["ttft_limit_ms"]), 0.0 if offline else float(row["tpot_limit_ms"]),
            )  # fmt: skip
            measured = float(row["tokens_per_s"])
            error = tokens / measured - 1.0 if tokens > 0 else float("inf")
            out.append({**row, "planned_tokens_per_s": tokens, "tp": tp, "error": error})
    return out


def median_abs(rows: list[dict[str, object]]) -> float:
    return statistics.median(abs(float(r["error"])) for r in rows) if rows else float("nan")  # type: ignore[arg-type]


def main() -> None:
    rows = [r for path in sorted(DATA.glob("*.csv")) for r in compare(path)]
    print(
        "| benchmark | scenario | submitter | system | GPUs | engine | prec. | measured tok/s | gpucast tok/s | TP | error |"
    )
    print("|---|---|---|---|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['benchmark']} | {r['scenario']} | {r['submitter']} | {r['system']} | {r['num_gpus']}x {r['gpu']} | "
              f"{r['engine']} | {r['precision']} | {float(r['tokens_per_s']):,.0f} | "  # type: ignore[arg-type]
              f"{float(r['planned_tokens_per_s']):,.0f} | {r['tp']} | {float(r['error']):+.0%} |")  # type: ignore[arg-type]  # fmt: skip
    print()
    print("| group | rows | median abs. error | median signed error |")
    print("|---|---:|---:|---:|")
    groups: dict[str, list[dict[str, object]]] = {"all": rows}
    for r in rows:
        groups.setdefault(f"scenario {r['scenario']}", []).append(r)
        groups.setdefault(f"model {r['model']}", []).append(r)
        groups.setdefault(f"gpu {r['gpu']} ({r['engine']})", []).append(r)
    for name, members in groups.items():
        signed = statistics.median(float(r["error"]) for r in members)  # type: ignore[arg-type]
        print(f"| {name} | {len(members)} | {median_abs(members):.0%} | {signed:+.0%} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
