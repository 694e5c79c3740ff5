"""scripts/ttft_decomposition.py (issue 21, "Where p99 TTFT misses" in docs/tail-latency.md): the parts of a
predicted TTFT percentile add up to it, the queue vanishes where nothing waits, and the shape error is checked by
hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import load_script

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture(scope="module")
def decomposition():  # type: ignore[no-untyped-def]
    return load_script(SCRIPTS / "ttft_decomposition.py", "ttft_decomposition")


@pytest.fixture(scope="module")
def every_run(decomposition):  # type: ignore[no-untyped-def]
    return decomposition.rows()  # ~7 s: every percentile file predicted once


def test_parts_add_up_and_queue_is_nonnegative_at_light_load(every_run) -> None:  # type: ignore[no-untyped-def]
    rows = [r for r in every_run if r["file"] == "vllm_llama70b_fp8_h200_sharegpt.csv"]
    assert len(rows) == 8  # one cold run and seven replayed rates
    for r in rows:
        for level in ("p50", "p99"):
            parts = sum(r[f"{level}_{p}"] for p in ("front", "prefill", "step", "queue"))
            assert parts == pytest.approx(r[f"{level}_predicted"])
            assert r[f"{level}_front"] == pytest.approx(26.4, abs=0.1)  # vLLM's fitted front end (calibration.toml)
    cold = next(r for r in rows if r["load"] == "request-rate 0.5")
    # 0.5 req/s, 3% of the replica's capacity: the median waits for nothing (the analytic wait's atom at 0)
    assert 0.0 <= cold["p50_queue"] < 0.1 * cold["p50_predicted"]
    assert cold["p99_prefill"] > cold["p50_prefill"]  # the p99 is a long prompt's


def test_runs_sharing_an_operating_point_stay_apart(every_run) -> None:  # type: ignore[no-untyped-def]
    # SGLang's DeepSeek-V3 runs with the expert fusion off and on have one operating point and two measured runs
    rows = [r for r in every_run if r["file"] == "sglang_dsv3_h200_sharegpt.csv"]
    assert sorted(round(r["p99_measured"]) for r in rows) == [1241, 1635]
    assert all(not math.isnan(r["mean_measured"]) for r in rows)  # the source prints the mean too


def test_shape_error_by_hand(decomposition) -> None:  # type: ignore[no-untyped-def]
    # predicted 40 / 100 ms at p50 / p99 against 50 / 100 measured: level -20%, the spread 2.5x against 2x: +25%
    row = {"p50_predicted": 40.0, "p50_measured": 50.0, "p99_predicted": 100.0, "p99_measured": 100.0}
    assert decomposition.shape_error(row) == pytest.approx(0.25)
    row["p99_predicted"] = 80.0  # both 20% low: the miss is all in the level
    assert decomposition.shape_error(row) == pytest.approx(0.0)
    row["p99_measured"] = math.nan
    assert math.isnan(decomposition.shape_error(row))
