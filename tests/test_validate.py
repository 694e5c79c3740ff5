"""`gpucast validate`: per-row predictions, per-metric error, skipped rows with reasons."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import gpucast_exe
from gpucast.validation.inference import percentile, validate_file

HEADER = "id,source,engine,model,gpu,num_gpus,tp,pp,precision,kv_precision,input_tokens,output_tokens,load,load_value,metric,value,unit,notes,extra\n"
ROWS = [
    "1,src-a,vLLM 0.6,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,1000,500,max-throughput,,output_tok_per_s_total,5000,tok/s,,x",
    "2,src-a,vLLM 0.6,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,1000,500,concurrency,16,itl_ms,12,ms,,x",
    "3,src-b,TensorRT-LLM 0.17,Llama-3.1-70B,H100-SXM-80GB,8,4,1,FP8,FP8,128,128,request-rate,4,ttft_ms,60,ms,kv_fraction 0.95,x",
    "4,src-b,TensorRT-LLM 0.17,Llama-9-1B,H100-SXM-80GB,1,1,1,BF16,,128,128,max-throughput,,output_tok_per_s_total,100,tok/s,,x",
    "5,src-b,TensorRT-LLM 0.17,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,sharegpt,sharegpt,max-throughput,,requests_per_s,10,req/s,,x",
    "6,src-b,vLLM,Llama-3.1-8B,H100-SXM-80GB,three,1,1,BF16,,100,100,max-throughput,,requests_per_s,10,req/s,,x",
    "7,src-b,vLLM,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,100,100,max-throughput,,furlongs,10,req/s,,x",
]


def _write(tmp_path, rows=ROWS, header=HEADER):
    path = tmp_path / "m.csv"
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def test_report_rows_summary_and_skipped(tmp_path):
    report = validate_file(_write(tmp_path))
    assert sorted(r.id for r in report.rows) == ["1", "2", "3"]
    reasons = dict(report.skipped)
    assert "not in the catalog" in reasons["4"]
    assert "token lengths" in reasons["5"]
    assert "num_gpus" in reasons["6"]
    assert "furlongs" in reasons["7"]
    summary = {s.metric: s for s in report.summary}
    assert summary["ALL"].n == 3
    row = next(r for r in report.rows if r.id == "1")
    assert summary["output_tok_per_s_total"].median_error_pct == abs(row.predicted / 5000 - 1) * 100
    assert row.naive is not None and row.naive < row.predicted  # the naive formula ignores batching


def test_percentile_matches_numpy_linear():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9.1


def test_cli_validate_end_to_end(tmp_path):
    path = _write(tmp_path)
    result = subprocess.run(
        [*gpucast_exe(), "validate", str(path), "--json"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"summary", "rows", "skipped"} <= set(data)
    assert len(data["skipped"]) == 4
    text = subprocess.run(
        [*gpucast_exe(), "validate", str(path), "--rows"], capture_output=True, text=True, check=False
    )
    assert text.returncode == 0 and "median" in text.stdout and "not evaluated" in text.stdout


def test_cli_validate_bad_files(tmp_path):
    missing = subprocess.run([*gpucast_exe(), "validate", str(tmp_path / "nope.csv")], capture_output=True, text=True)
    assert missing.returncode == 2 and "cannot be read" in missing.stderr
    bad = _write(tmp_path, rows=[], header="a,b,c\n")
    result = subprocess.run([*gpucast_exe(), "validate", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2 and "lacks column" in result.stderr


def test_every_benchmark_source_is_documented():
    import csv
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "data" / "benchmarks"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for path in folder.glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                assert row["source"] in readme, f"{path.name} row {row['id']}: source {row['source']} not in README"
                float(row["value"])  # every number is a number


def test_percentile_rows_are_predicted_with_the_benchmarks_own_lengths(tmp_path):
    """Issue 21: p99 TTFT / TPOT rows (data/benchmarks/percentiles) are predicted by core.tails with the request
    lengths the notes name (length_profile=FILE beside the data file); the report has one line per percentile."""
    import csv
    from pathlib import Path

    from gpucast.validation.inference import validate_file

    folder = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "percentiles"
    readme = (folder.parent / "README.md").read_text(encoding="utf-8")
    for path in folder.glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if "id" not in row:  # a file of request lengths (sharegpt_seed0_200.csv)
                    continue
                assert row["source"] in readme and row["as_of"]
                # a variable-length (ShareGPT) run names its lengths, unless its notes say why they are fixed at means
                if "sharegpt" in row["notes"].lower():
                    assert "length_profile=" in row["notes"] or "fixed at" in row["notes"], row["id"]
    report = validate_file(folder / "vllm_sharegpt_p99.csv")
    assert not report.skipped and len(report.rows) == 20
    metrics = {s.metric for s in report.summary}
    assert {"ttft_p99_ms", "tpot_p99_ms", "itl_p99_ms", "ttft_p50_ms", "tpot_p50_ms"} <= metrics
    by_id = {r.id: r for r in report.rows}
    # percentiles are ordered as the measurements are: p99 above the median, per-request TPOT below per-token ITL p99
    assert by_id["pct-2"].predicted > by_id["pct-1"].predicted and by_id["pct-4"].predicted < by_id["pct-5"].predicted

    # the same rows with fixed mean lengths predict a different (narrower) TTFT tail: the distribution is used
    fixed = tmp_path / "fixed.csv"
    with (folder / "vllm_sharegpt_p99.csv").open(encoding="utf-8") as source:
        fixed.write_text(source.read().replace("length_profile=sharegpt_seed0_200.csv", "lengths fixed"), "utf-8")
    narrow = {r.id: r for r in validate_file(fixed).rows}
    assert narrow["pct-2"].predicted < by_id["pct-2"].predicted

    missing = tmp_path / "missing.csv"
    with (folder / "vllm_sharegpt_p99.csv").open(encoding="utf-8") as source:
        missing.write_text(source.read().replace("length_profile=sharegpt_seed0_200.csv", "length_profile=gone.csv"),
                           "utf-8")  # fmt: skip
    skipped = validate_file(missing).skipped
    assert len(skipped) == 20 and "gone.csv" in skipped[0][1] and "no such file" in skipped[0][1]


def test_every_percentile_file_is_evaluated_row_by_row():
    """Issue 21: each source in data/benchmarks/percentiles is a file of its own (leave-one-source-out in
    docs/tail-latency.md); every row of every file parses, is predicted (none skipped: the model and GPU resolve, the
    named length profile exists) and has its source in the data README and an ``as_of`` date."""
    import csv
    from pathlib import Path

    from gpucast.validation.inference import validate_file

    folder = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "percentiles"
    readme = (folder.parent / "README.md").read_text(encoding="utf-8")
    files = sorted(p for p in folder.glob("*.csv") if p.name != "sharegpt_seed0_200.csv")  # that one is lengths
    assert len(files) >= 2
    sources = set()
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and all(r["as_of"] and r["source"] in readme and f"percentiles/{path.name}" in readme for r in rows)
        report = validate_file(path)
        assert not report.skipped, f"{path.name}: {report.skipped[:1]}"
        assert len(report.rows) == len(rows) and all(r.predicted > 0 for r in report.rows)
        sources |= {r["source"] for r in rows}
    assert len(sources) == len(files)  # one source per file


@pytest.mark.parametrize(
    ("name", "count", "source_count", "evaluated"),
    [("blackwell_moe_fp4.csv", 24, 4, 23), ("moe_low_batch.csv", 44, 4, 42)],
)
def test_the_moe_rounds_stay_out_of_the_fit(name: str, count: int, source_count: int, evaluated: int) -> None:
    """Issue 17: the Blackwell / FP4 / MoE rows and the low-batch MoE rows without MLA of 2026-12-07 are
    out-of-sample checks (fitting the first made the leave-one-source-out MoE and FP4/Blackwell figures worse; the
    second pull a fixed step cost both ways, docs/accuracy.md): they live in ``unfitted/``, every source is
    documented, no fitted file carries one of their sources, and ``validate`` evaluates all but the rows it says it
    cannot (the burst's TTFT; two Mixtral-8x22B rows the memory model cannot fit at TP4)."""
    import csv
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "data" / "benchmarks"
    path = folder / "unfitted" / name
    readme = (folder / "README.md").read_text(encoding="utf-8")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sources = {row["source"] for row in rows}
    assert len(rows) == count and len(sources) == source_count and all(s in readme for s in sources)
    assert all(row["as_of"] and row["notes"] for row in rows)
    for fitted in folder.glob("*.csv"):
        with fitted.open(newline="", encoding="utf-8") as handle:
            assert not sources & {row["source"] for row in csv.DictReader(handle)}, fitted.name
    report = validate_file(path)
    assert len(report.rows) == evaluated and len(report.skipped) == count - evaluated


def test_kv_capacity_start_up_logs_meet_the_issue_target():
    """Issue 20's target for KV capacity: within 10% (median) of the engines' start-up logs. The rows whose engine
    build gpucast models exactly (core.engine_releases.for_engine_build: vLLM 0.6.4+, SGLang) are within 5%; those of
    vLLM before 0.6.4, whose overhead is the fitted median of their vendor's logs, within 15%; the three known misses
    (vLLM 0.2.7's allocator reserve on Mixtral AWQ, kvl-1; 0.2.5's regression, kvl-7; a V1 build's profiling bug,
    kv-1) are reported, not hidden (docs/accuracy.md)."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data" / "benchmarks"
    rows = [r for name in ("kv_capacity.csv", "kv_capacity_logs.csv") for r in validate_file(data / name).rows]
    errors = {r.id: r.predicted / r.measured - 1 for r in rows if r.metric == "kv_cache_tokens"}
    assert len(errors) == 14
    fitted_overhead = ("kvl-6", "kvl-8", "kvl-9", "kvl-10")  # NVIDIA logs of vLLM 0.2-0.4: the fitted 1.0 GiB
    modelled = {k: v for k, v in errors.items() if k not in ("kvl-1", "kvl-7", "kv-1", *fitted_overhead)}
    assert len(modelled) == 7 and all(abs(e) < 0.05 for e in modelled.values()), modelled
    assert all(abs(errors[k]) < 0.15 for k in fitted_overhead), errors
    assert percentile([abs(e) for e in errors.values()], 50) < 0.10


def test_percentile_sources_are_never_fitted():
    """Issue 21: the percentile rows are out of sample. scripts/calibrate.py fits ``data/benchmarks/*.csv`` (and the
    shared calibration file); no row there may carry a percentile metric or come from a percentile source, so each
    source's error in docs/tail-latency.md stays a leave-one-source-out figure (the median ITL, ``itl_p50_ms``, is
    also a mean-model metric and is fitted from other sources)."""
    import csv
    from pathlib import Path

    from gpucast.validation.percentiles import is_percentile

    benchmarks = Path(__file__).resolve().parents[1] / "data" / "benchmarks"
    sources = set()
    for path in [*(benchmarks / "percentiles").glob("*.csv"), *(benchmarks / "mlperf").glob("*.csv")]:
        with path.open(newline="", encoding="utf-8") as handle:
            sources |= {row["source"] for row in csv.DictReader(handle) if row.get("source")}
    assert len(sources) >= 4 and "mlperf-inference-v5.1" in sources  # MLPerf server results: validation only
    fitted = sorted(benchmarks.glob("*.csv"))
    shared = benchmarks.parents[1].parent / "shared" / "calibration" / "inference.csv"
    fitted += [shared] if shared.is_file() else []
    for path in fitted:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                metric = row.get("metric", "")  # a median ITL is a mean-model metric fitted since before issue 21
                assert metric == "itl_p50_ms" or not is_percentile(metric), (path.name, row.get("id"))
                assert row.get("source") not in sources, (path.name, row.get("id"))
