"""Issue 21: the percentile sources added on 2026-12-07 (data/benchmarks/README.md) are transcribed as their pages print
them and reach the validator as the runs they were: finite request-rate runs of the stated prompt count, and one burst
of 16 requests (a closed loop of N = C). Validation only: these rows are never fitted (test_validate.py checks that)."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

from gpucast.validation.inference import prepare, read_rows, validate_file

PERCENTILES = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "percentiles"
RTX3090 = PERCENTILES / "zhjunqin_llama3_8b_rtx3090_sharegpt.csv"
L20 = PERCENTILES / "vllm_dsr1_l20_pp3tp8_random.csv"
PROMPTS = {1: 100, 2: 200, 5: 1000, 8: 1000}  # the page's --request-rate -> --num-prompts
INPUT_TOTALS = {100: 22925, 200: 42889, 1000: 213987}  # its printed "Total input tokens" (the same for every engine)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_rtx3090_comparison_is_the_pages_eighteen_runs() -> None:
    """18 runs (engine x rate), each with P50/P90/P99 TTFT and TPOT ordered as percentiles are; the mean lengths are
    the printed totals over the stated prompt count, and each run is a finite run of exactly those prompts."""
    runs: dict[tuple[str, str, str], dict[str, float]] = defaultdict(dict)
    for row in _rows(RTX3090):
        rate = int(row["load_value"])
        prompts = PROMPTS[rate]
        assert row["notes"].startswith(f"{prompts} prompts at {rate} req/s"), row["id"]
        assert round(float(row["input_tokens"]) * prompts) == INPUT_TOTALS[prompts], row["id"]
        generated = re.search(r"input / ([\d,]+) generated tokens", row["notes"])
        assert generated and round(float(row["output_tokens"]) * prompts) == int(generated.group(1).replace(",", ""))
        runs[(row["engine"], row["kv_precision"], row["load_value"])][row["metric"]] = float(row["value"])
    assert len(runs) == 18 and all(len(metrics) == 6 for metrics in runs.values())
    for metrics in runs.values():
        for kind in ("ttft", "tpot"):
            assert metrics[f"{kind}_p50_ms"] <= metrics[f"{kind}_p90_ms"] <= metrics[f"{kind}_p99_ms"]

    groups, skipped = prepare(read_rows(RTX3090), RTX3090.parent)
    assert not skipped and len(groups) == 18
    assert all(g.load == "request-rate" and g.num_requests == PROMPTS[int(g.load_value)] for g in groups)
    assert all(g.lengths is not None for g in groups)  # length_profile=sharegpt, not fixed lengths
    assert {g.engine for g in groups} == {"vllm", "lmdeploy", "trtllm"}  # mlc-llm is read as vLLM


def test_l20_before_block_is_one_burst_of_sixteen_on_pp3_tp8() -> None:
    """The PR's stock ("Before") run: 16 prompts at concurrency 16 on 24 L20s (PP3 x TP8), predicted as the closed
    loop it was; the predicted percentiles are ordered (p50 <= p99) and the mean rows sit beside them."""
    groups, skipped = prepare(read_rows(L20), L20.parent)
    assert not skipped and len(groups) == 1
    group = groups[0]
    assert (group.load, group.load_value, group.num_requests) == ("concurrency", 16.0, 16)
    assert (group.cfg.tp, group.cfg.pp, group.replicas) == (8, 3, 1)
    predicted = {r.metric: r.predicted for r in validate_file(L20).rows}
    assert set(predicted) == {"ttft_ms", "ttft_p50_ms", "ttft_p99_ms", "tpot_ms", "tpot_p50_ms", "tpot_p99_ms"}
    assert 0 < predicted["ttft_p50_ms"] <= predicted["ttft_p99_ms"]
    assert 0 < predicted["tpot_p50_ms"] <= predicted["tpot_p99_ms"]
