"""MLPerf Inference v5.x results (data/benchmarks/mlperf, issue 21 item 4): sourced, never fitted, and compared.

The rows are an out-of-sample check of the planner at p99 SLOs (scripts/validate_mlperf.py, docs/tail-latency.md).
MLPerf Inference v4.1 is reserved for an independent check and must never appear.
"""

from __future__ import annotations

import csv
import re
import statistics
from pathlib import Path

import pytest

from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
MLPERF = ROOT / "data" / "benchmarks" / "mlperf"


def mlperf_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(MLPERF.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def test_mlperf_rows_are_v5_or_later_with_their_source_and_constraints():
    rows = mlperf_rows()
    assert len(rows) >= 100
    for row in rows:
        assert re.fullmatch(r"mlperf-inference-v(5|[6-9])\.\d+", row["source"]), row["source"]  # never v4.x
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]) and row["path"].endswith("mlperf_log_summary.txt")
        assert float(row["tokens_per_s"]) > 0 and float(row["samples_per_s"]) > 0
        if row["scenario"] == "Offline":
            assert row["ttft_limit_ms"] == row["tpot_limit_ms"] == ""
            continue
        # a VALID server run met its own p99 constraints: the parse read the right lines
        assert float(row["ttft_p99_ms"]) <= float(row["ttft_limit_ms"]), row["id"]
        assert float(row["tpot_p99_ms"]) <= float(row["tpot_limit_ms"]), row["id"]
    limits = {(r["benchmark"], r["scenario"]): (r["ttft_limit_ms"], r["tpot_limit_ms"]) for r in rows}
    assert limits[("llama2-70b-99", "Server")] == ("2000.00", "200.00")  # MLPerf's Llama-2-70B server constraints
    assert limits[("llama2-70b-99", "Interactive")] == ("450.00", "40.00")


def test_mlperf_server_capacity_within_the_issue_target():
    """Issue 21's target is 25%: the planner's capacity at p99 SLOs over the Server results (a median over 86 rows
    on six GPUs; out of sample, so a physics change that breaks it shows here)."""
    script = load_script(ROOT / "scripts" / "validate_mlperf.py", "gpucast_validate_mlperf_script")
    rows = [r for path in sorted(MLPERF.glob("*.csv")) for r in script.compare(path)]
    server = [abs(r["error"]) for r in rows if r["scenario"] == "Server"]
    offline = [abs(r["error"]) for r in rows if r["scenario"] == "Offline"]
    assert len(server) >= 50 and len(offline) >= 50
    assert statistics.median(server) <= 0.25
    assert statistics.median(offline) <= 0.25


def test_mlperf_interactive_capacity_bounds_the_per_request_tpot():
    """At p99 the token SLO bounds the per-request TPOT, MLPerf's own constraint, so the planner's capacity on the
    Interactive results (450 ms / 40 ms) is the capacity at which ``gpucast estimate``'s p99 TTFT and p99 TPOT meet
    MLPerf's limits (within 1%, every row): bounding the per-gap p99 ITL it was 64% low (median signed -55%);
    now 32% (+17%), Llama-2-70B 17%."""
    script = load_script(ROOT / "scripts" / "validate_mlperf.py", "gpucast_validate_mlperf_script")
    rows = [r for path in sorted(MLPERF.glob("*.csv")) for r in script.compare(path)]
    interactive = [r for r in rows if r["scenario"] == "Interactive"]
    assert len(interactive) >= 40
    for r in interactive:
        assert r["planned_tokens_per_s"] == pytest.approx(r["estimated_tokens_per_s"], rel=0.01), r["id"]
    assert statistics.median(abs(r["error"]) for r in interactive) <= 0.35


def test_mlperf_interactive_miss_is_the_step_at_the_runs_batch():
    """Why Blackwell's Interactive capacity is ~2x too high (docs/tail-latency.md): not the TPOT tail (the runs'
    TPOT p99/p50 is ~1.1, as gpucast's), but the decode step at the batch the runs held. Little's law on the runs'
    own logs puts 8 x B200 Llama-2-70B Interactive at ~250 sequences per GPU stepping in 33 ms, where gpucast's TP1
    step is ~17 ms; on H200 at its Server batch the step matches. Guarded so that a physics change that closes (or
    widens) the gap shows here and the docs' table is refreshed."""
    script = load_script(ROOT / "scripts" / "validate_mlperf.py", "gpucast_validate_mlperf_script")
    rows = mlperf_rows()

    def step(model: str, scenario: str, gpu: str) -> dict[str, float]:
        members = [r for r in rows if (r["model"], r["scenario"], r["gpu"]) == (model, scenario, gpu)]
        return script.step_at_run(members)

    b200 = step("llama-2-70b", "Interactive", "b200")
    assert 200 <= b200["batch"] <= 300 and 30 <= b200["measured_ms"] <= 36
    assert b200["measured_ms"] / b200["model_ms"] > 1.6
    h200 = step("llama-2-70b", "Server", "h200")
    assert h200["measured_ms"] / h200["model_ms"] == pytest.approx(1.0, abs=0.1)
