"""`gpucast validate --plans`: serving points from CSV rows, loaded-point selection, planned vs needed GPUs."""

from __future__ import annotations

import json
import math
import subprocess

import pytest

from conftest import gpucast_exe
from gpucast.inputs.types import ServingOptions
from gpucast.validation.plans import (
    PlanResult,
    group_points,
    loaded_points,
    median,
    question,
    rate_rps,
    read_serving_rows,
    summarize,
    validate_plans,
)

HEADER = "id,source,engine,model,gpu,num_gpus,tp,pp,precision,kv_precision,input_tokens,output_tokens,load,load_value,metric,value,unit,notes\n"
DEPLOY = "vLLM 0.6,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,1000,200"
ROWS = [
    # table A (one replica): request rates 1, 2, 4; the two highest (2, 4) are loaded
    f"a1,src-a,{DEPLOY},request-rate,1,requests_per_s,1,req/s,",
    f"a2,src-a,{DEPLOY},request-rate,1,ttft_ms,40,ms,",
    f"a3,src-a,{DEPLOY},request-rate,1,itl_ms,10,ms,",
    f"a4,src-a,{DEPLOY},request-rate,2,requests_per_s,2,req/s,",
    f"a5,src-a,{DEPLOY},request-rate,2,output_tok_per_s_total,999,tok/s,",  # requests_per_s wins
    f"a6,src-a,{DEPLOY},request-rate,2,ttft_ms,45,ms,",
    f"a7,src-a,{DEPLOY},request-rate,2,itl_ms,30,ms,",
    f"a8,src-a,{DEPLOY},request-rate,2,tpot_ms,11,ms,",  # tpot wins over itl
    f"a9,src-a,{DEPLOY},request-rate,4,output_tok_per_s_total,700,tok/s,",  # R = 700 / 200 = 3.5
    f"a10,src-a,{DEPLOY},request-rate,4,ttft_ms,60,ms,",
    f"a11,src-a,{DEPLOY},request-rate,4,itl_ms,12,ms,",
    # two replicas of TP2 (num_gpus 4), closed loop: concurrency 8 is light, 32 loaded
    "b1,src-b,vLLM,Llama-3.1-8B,H100-SXM-80GB,4,2,1,BF16,,1000,500,concurrency,32,output_tok_per_s_per_gpu,250,tok/s,",
    "b2,src-b,vLLM,Llama-3.1-8B,H100-SXM-80GB,4,2,1,BF16,,1000,500,concurrency,32,ttft_ms,80,ms,",
    "b3,src-b,vLLM,Llama-3.1-8B,H100-SXM-80GB,4,2,1,BF16,,1000,500,concurrency,32,tpot_ms,14,ms,",
    "b4,src-b,vLLM,Llama-3.1-8B,H100-SXM-80GB,4,2,1,BF16,,1000,500,concurrency,8,requests_per_s,1,req/s,",
    "b5,src-b,vLLM,Llama-3.1-8B,H100-SXM-80GB,4,2,1,BF16,,1000,500,concurrency,8,ttft_ms,50,ms,",
    "b6,src-b,vLLM,Llama-3.1-8B,H100-SXM-80GB,4,2,1,BF16,,1000,500,concurrency,8,tpot_ms,9,ms,",
    # left out: a dataset mix, medians, a missing TTFT, a bad GPU count; not a point: max-throughput
    "c1,src-c,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,ShareGPT,ShareGPT,concurrency,64,requests_per_s,5,req/s,",
    "c2,src-c,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,ShareGPT,ShareGPT,concurrency,64,ttft_ms,50,ms,",
    "c3,src-c,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,ShareGPT,ShareGPT,concurrency,64,tpot_ms,20,ms,",
    "d1,src-d,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,concurrency,64,requests_per_s,5,req/s,",
    "d2,src-d,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,concurrency,64,ttft_ms,50,ms,median TTFT",
    "d3,src-d,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,concurrency,64,tpot_ms,20,ms,mean TPOT",
    "e1,src-e,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,concurrency,64,requests_per_s,5,req/s,",
    "e2,src-e,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,concurrency,64,tpot_ms,20,ms,",
    "f1,src-f,SGLang,Llama-3.1-8B,H100-SXM-80GB,three,1,1,BF16,,512,512,concurrency,64,tpot_ms,20,ms,",
    # a table saturated already at its lowest rate (served 0.5 of 1 req/s offered): no point is a question
    "s1,src-s,vLLM,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,request-rate,1,requests_per_s,0.5,req/s,",
    "s2,src-s,vLLM,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,request-rate,1,ttft_ms,900,ms,",
    "s3,src-s,vLLM,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,request-rate,1,tpot_ms,90,ms,",
    "s4,src-s,vLLM,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,request-rate,2,requests_per_s,0.6,req/s,",
    "s5,src-s,vLLM,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,request-rate,2,ttft_ms,2000,ms,",
    "s6,src-s,vLLM,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,request-rate,2,tpot_ms,95,ms,",
    # both latencies medians: planned at p50 SLOs
    "h1,src-h,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,concurrency,64,requests_per_s,5,req/s,",
    "h2,src-h,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,concurrency,64,ttft_ms,50,ms,median TTFT",
    "h3,src-h,SGLang,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,concurrency,64,tpot_ms,20,ms,median TPOT",
    "g1,src-g,vLLM,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,512,512,max-throughput,,requests_per_s,20,req/s,",
]


def _write(tmp_path, rows=ROWS, header=HEADER):
    path = tmp_path / "serving.csv"
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def _points(tmp_path):
    points, bad, other = group_points(read_serving_rows(_write(tmp_path)))
    return {p.ids[0]: p for p in points}, bad, other


def test_points_take_rate_and_latencies_from_the_right_rows(tmp_path):
    points, bad, other = _points(tmp_path)
    assert bad == [("f1", "src-f", "num_gpus 'three' is not a number")]
    assert other == {"max-throughput": 1}
    assert rate_rps(points["a4"]) == 2  # requests_per_s before output tokens / output length
    assert (points["a4"].itl_ms, points["a4"].itl_from) == (11, "tpot_ms")
    assert rate_rps(points["a9"]) == pytest.approx(700 / 200)
    assert rate_rps(points["b1"]) == pytest.approx(250 * 4 / 500)  # per GPU x num_gpus / output tokens
    assert points["a9"].ids == ["a9", "a10", "a11"]


def test_needed_gpus_count_the_margin_and_the_replica_size(tmp_path):
    points, _, _ = _points(tmp_path)
    assert points["a1"].needed_gpus(0.25) == 13  # ceil(10 x 1 x 1.25) x 1
    assert points["b1"].replicas == 2
    assert points["b1"].needed_gpus(0.25) == 50  # ceil(10 x 2 x 1.25) x TP 2
    assert points["b1"].needed_gpus(0.0) == 40


def test_loaded_points_and_reasons_for_the_others(tmp_path):
    points, _, _ = _points(tmp_path)
    loaded, left = loaded_points(list(points.values()))
    assert sorted(p.ids[0] for p in loaded) == ["a4", "a9", "b1", "h1"]
    reasons = {p.ids[0]: reason for p, reason in left}
    assert reasons["a1"] == "lightly loaded: rate 1 is not among the table's 2 highest (4, 2)"
    assert reasons["b4"] == "lightly loaded: concurrency 8 < 25"
    assert "token lengths are not numbers" in reasons["c1"]
    assert reasons["d1"] == "only ttft_ms is a median (notes): one statistic must bound both SLOs"
    assert reasons["e1"] == "no ttft_ms measured at this operating point"
    for ident in ("s1", "s4"):  # table A's lowest rate is served in full: A stays
        assert reasons[ident].startswith("saturated table: already at its lowest rate, 1 req/s offered, it served 0.5")
    assert len(loaded) + len(left) == len(points)  # every point is accounted for


def test_plans_are_asked_with_the_measured_deployment(tmp_path):
    report = validate_plans([_write(tmp_path)])
    by_id = {r.ids[0]: r for r in report.results}
    assert sorted(by_id) == ["a4", "a9", "b1", "h1"]
    a9 = by_id["a9"]
    assert (a9.planned_rps, a9.needed_gpus, a9.engine, a9.tp, a9.pp) == (35.0, 13, "vllm", 1, 1)
    for r in report.results:
        if r.outcome == "planned":
            assert r.planned_gpus is not None and r.planned_gpus % (r.tp * r.pp) == 0
            assert r.error_pct == pytest.approx((r.planned_gpus / r.needed_gpus - 1) * 100)
        else:
            assert r.error_pct == math.inf and not r.within
    left = {ids.split(",")[0]: reason for ids, _, reason in report.left_out}
    assert {"a1", "b4", "c1", "d1", "e1", "f1", "s1", "s4"} == set(left)
    # the SLOs are measured means: validate --plans bounds the mean, whatever the planner's default (p99)
    points = {p.ids[0]: p for p in loaded_points(group_points(read_serving_rows(_write(tmp_path)))[0])[0]}
    assert question(points["a9"])[3].slo_percentile == "mean" and ServingOptions().slo_percentile == "99"
    # ...and where the source published medians of both, the median (issue 21's p50 SLOs)
    assert question(points["h1"])[3].slo_percentile == "50" and by_id["h1"].slo_percentile == "50"
    assert report.summary[-1].source == "ALL" and report.summary[-1].n == 4


def test_each_point_shows_the_estimate_its_capacity_hangs_on(tmp_path):
    """The diagnosis columns: the planner's capacity per replica against R, and `estimate --request-rate R` on the
    measured deployment. The capacity is the largest rate meeting the SLOs and latency grows with the rate, so
    the estimate at R meets the SLOs exactly where the capacity reaches R (the planner is the estimator's
    inverse)."""
    report = validate_plans([_write(tmp_path)])
    planned = [r for r in report.results if r.outcome == "planned"]
    assert planned
    for r in planned:
        assert r.capacity_per_replica is not None and r.capacity_per_replica > 0
        replicas = r.num_gpus // (r.tp * r.pp)
        assert r.capacity_ratio == pytest.approx(r.capacity_per_replica * replicas / r.rate_rps)
        meets = r.estimate_ttft_ms <= 1.1 * r.ttft_ms * 1.001 and r.estimate_itl_ms <= 1.1 * r.itl_ms * 1.001
        if abs(r.capacity_ratio - 1.0) > 0.01:  # away from the edge, where the bisection's tolerance decides
            assert meets == (r.capacity_ratio > 1.0), r.ids
    points = report.to_dict()["points"]
    assert all("capacity_ratio" in p and "estimate_itl_ms" in p for p in points)


def test_closed_loop_points_show_the_measurements_own_load_generator(tmp_path):
    """A closed-loop point also carries ``estimate --concurrency C`` on the measured deployment (the benchmark
    client the measurement used) beside the open-loop estimate at R; an open-loop point has none (NaN, null in
    JSON). Checked against `gpucast estimate` itself, so the column cannot drift from the estimator."""
    from gpucast.planning.estimate import EstimateRequest, estimate

    report = validate_plans([_write(tmp_path)])
    by_id = {r.ids[0]: r for r in report.results}
    closed, open_ = by_id["b1"], by_id["a4"]
    direct = estimate(EstimateRequest(gpu="H100-SXM-80GB", num_gpus=4, input_tokens=1000, output_tokens=500,
                                      load="concurrency", load_value=32, model="llama-3.1-8b", tp=2,
                                      precision="BF16", engine="vllm", max_model_len=1536))  # fmt: skip
    assert closed.closed_loop_rps == pytest.approx(direct.requests_per_s, rel=1e-9)
    assert closed.closed_loop_ttft_ms == pytest.approx(direct.ttft_ms, rel=1e-9)
    assert closed.closed_loop_itl_ms == pytest.approx(direct.itl_ms, rel=1e-9)
    assert math.isnan(open_.closed_loop_itl_ms) and math.isnan(open_.closed_loop_rps)
    points = {p["ids"][0]: p for p in report.to_dict()["points"]}
    assert points["a4"]["closed_loop_itl_ms"] is None
    assert points["b1"]["closed_loop_itl_ms"] == pytest.approx(direct.itl_ms, rel=1e-9)


def test_curve_elasticity_reads_the_measured_segment_above_the_point(tmp_path):
    """d ln(latency) / d ln(R) to the next heavier point of the table (the heaviest point: from the next lighter),
    the larger of TTFT's and ITL's. Table A: rate 2 (TTFT 45, TPOT 11) -> 3.5 req/s (TTFT 60, ITL 12); table B:
    concurrency 8 (1 req/s, TTFT 50, TPOT 9) -> 32 (250 tok/s/GPU x 4 / 500 = 2 req/s, TTFT 80, TPOT 14)."""
    from gpucast.validation.plan_points import curve_elasticity

    points, _, _ = _points(tmp_path)
    table = list(points.values())
    a = max(math.log(60 / 45), math.log(12 / 11)) / math.log(3.5 / 2)
    assert curve_elasticity(points["a4"], table) == pytest.approx(a)
    assert curve_elasticity(points["a9"], table) == pytest.approx(a)  # the heaviest: the same segment, from below
    assert curve_elasticity(points["b1"], table) == pytest.approx(math.log(80 / 50) / math.log(2))
    assert curve_elasticity(points["h1"], table) is None  # alone in its table


def test_exact_estimate_error_and_window_follow_the_curve():
    """On a curve rising like R^e an exact estimate plans 1.1^(-1/e) - 1 off "needed", and an estimate/measured
    ratio q plans (q / 1.1)^(1/e) - 1 off: the window's ends are exactly -20% and +20%."""
    r = PlanResult(["x"], "s", "vllm", "m", "g", 1, 1, 1, "BF16", "BF16", 1, 1, "concurrency", 32, 1.0, 10, 10, 10,
                   13, 13, 0.0, "planned")  # fmt: skip
    assert r.exact_estimate_error_pct is None and r.estimate_window is None
    for e in (0.2, 0.5, 1.0, 3.0):
        r.curve_elasticity = e
        assert r.exact_estimate_error_pct == pytest.approx((1.1 ** (-1 / e) - 1) * 100)
        lo, hi = r.estimate_window
        assert ((lo / 1.1) ** (1 / e) - 1) * 100 == pytest.approx(-20)
        assert ((hi / 1.1) ** (1 / e) - 1) * 100 == pytest.approx(20)
        assert (lo <= 1.0 <= hi) == (abs(r.exact_estimate_error_pct) <= 20)
    r.curve_elasticity = 0.2
    assert r.estimate_window[0] > 1.0  # a flat curve rewards an over-estimate, not an exact one


def test_a_table_measured_by_the_estimator_itself_plans_the_exact_estimate_error(tmp_path):
    """Rows written from `estimate --request-rate` at two rates: the estimate is exact by construction, so the plan of
    the lighter point misses "needed" by the curve's own exact_estimate_error_pct, to first order and whole
    replicas (1 of 13 = 7.7 points)."""
    from gpucast.planning.estimate import EstimateRequest, estimate

    for low, high in ((4, 8), (8, 12)):
        rows = []
        for rate in (low, high):
            e = estimate(EstimateRequest(gpu="H100-SXM-80GB", num_gpus=1, input_tokens=1000, output_tokens=200,
                                         load="request-rate", load_value=rate, model="llama-3.1-8b", tp=1,
                                         precision="BF16", engine="vllm", max_model_len=1280))  # fmt: skip
            deploy = f"self,vLLM,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,,1000,200,request-rate,{rate}"
            rows += [f"r{rate}a,{deploy},requests_per_s,{rate},req/s,", f"r{rate}b,{deploy},ttft_ms,{e.ttft_ms},ms,",
                     f"r{rate}c,{deploy},itl_ms,{e.itl_ms},ms,"]  # fmt: skip
        report = validate_plans([_write(tmp_path, rows)])
        lighter = next(r for r in report.results if r.load_value == low)
        assert lighter.exact_estimate_error_pct is not None and lighter.exact_estimate_error_pct < -10
        assert lighter.error_pct == pytest.approx(lighter.exact_estimate_error_pct, abs=8.0), (low, high)


def test_impossible_latency_is_an_infeasible_miss(tmp_path):
    rows = [
        f"z1,src-z,{DEPLOY},concurrency,64,requests_per_s,10,req/s,",
        f"z2,src-z,{DEPLOY},concurrency,64,ttft_ms,0.01,ms,",
        f"z3,src-z,{DEPLOY},concurrency,64,itl_ms,0.01,ms,",
        "y1,src-z,vLLM,Llama-9-1B,H100-SXM-80GB,1,1,1,BF16,,100,100,concurrency,64,requests_per_s,1,req/s,",
        "y2,src-z,vLLM,Llama-9-1B,H100-SXM-80GB,1,1,1,BF16,,100,100,concurrency,64,ttft_ms,10,ms,",
        "y3,src-z,vLLM,Llama-9-1B,H100-SXM-80GB,1,1,1,BF16,,100,100,concurrency,64,itl_ms,10,ms,",
    ]
    report = validate_plans([_write(tmp_path, rows)])
    (result,) = report.results
    assert result.outcome == "infeasible" and result.error_pct == math.inf and result.note
    assert report.summary[-1].within == 0 and report.summary[-1].infeasible == 1
    assert report.to_dict()["points"][0]["error_pct"] is None  # JSON has no infinity
    assert "not in the catalog" in report.left_out[0][2]  # cannot be asked: left out, not a miss


def _result(source: str, error: float) -> PlanResult:
    planned = None if math.isinf(error) else 1
    return PlanResult(["x"], source, "vllm", "m", "g", 1, 1, 1, "BF16", "BF16", 1, 1, "concurrency", 32, 1, 1, 1,
                      10, 13, planned, error, "planned" if planned else "infeasible")  # fmt: skip


def test_summary_shares_and_medians():
    results = [_result("s1", e) for e in (-10.0, 5.0, 30.0)] + [_result("s2", e) for e in (-50.0, math.inf)]
    summary = {s.source: s for s in summarize(results)}
    assert list(summary) == ["s1", "s2", "ALL"]
    assert (summary["s1"].n, summary["s1"].within, summary["s1"].share_within) == (3, 2, 2 / 3)
    assert (summary["s1"].median_error_pct, summary["s1"].median_abs_error_pct) == (5.0, 10.0)
    assert summary["s2"].median_error_pct == math.inf and summary["s2"].infeasible == 1
    assert summary["ALL"].median_error_pct == 5.0 and summary["ALL"].median_abs_error_pct == 30.0
    assert median([]) != median([])  # NaN for no points


def test_cli_plans_json_and_text(tmp_path):
    path = _write(tmp_path)
    result = subprocess.run(
        [*gpucast_exe(), "validate", "--plans", str(path), "--json"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"definition", "files", "summary", "points", "left_out", "other_rows"} <= set(data)
    assert len(data["points"]) == 4 and data["summary"][-1]["source"] == "ALL"
    assert {"ids", "rate_rps", "planned_gpus", "needed_gpus", "error_pct", "within"} <= set(data["points"][0])
    text = subprocess.run([*gpucast_exe(), "validate", "--plans", str(path), "--rows"], capture_output=True, text=True)
    assert text.returncode == 0 and "needed" in text.stdout and "lightly loaded" in text.stdout


def test_cli_bad_input_is_one_line(tmp_path):
    none = subprocess.run([*gpucast_exe(), "validate"], capture_output=True, text=True)
    assert none.returncode == 2 and "one measurements CSV" in none.stderr
    training = _write(tmp_path, rows=[], header="model,params_b,seq_len\n")
    result = subprocess.run([*gpucast_exe(), "validate", "--plans", str(training)], capture_output=True, text=True)
    assert result.returncode == 2 and "training measurements" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_repository_serving_data_report_structure():
    report = validate_plans()
    assert report.results, "the repository's serving tables have loaded points"
    assert report.summary[-1].source == "ALL" and report.summary[-1].n == len(report.results)
    assert sum(s.n for s in report.summary[:-1]) == len(report.results)
    sources = {r.source for r in report.results}
    assert "NIM-benchmarking-llm-1.0.0" in sources
    assert all(reason for _, _, reason in report.left_out)
    ids = [i for r in report.results for i in r.ids] + [i for ids, _, _ in report.left_out for i in ids.split(",")]
    assert len(ids) == len(set(ids))  # no row in two points
    nim = next(r for r in report.results if r.ids[0] == "nim-7")  # 2 x H100 TP2, concurrency 25: 623.4 tok/s / 500
    assert nim.rate_rps == pytest.approx(623.4 / 500) and nim.needed_gpus == 26
    assert json.loads(json.dumps(report.to_dict()))["summary"][-1]["n"] == len(report.results)


def test_rows_say_saturated_where_the_estimate_at_r_has_no_steady_state():
    """The packaged tables hold points past the modelled capacity (NIM at 100+ clients): their `estimate
    --request-rate R` latencies are unbounded, printed "inf" before; the table says "saturated" (JSON: null)."""
    done = subprocess.run([*gpucast_exe(), "validate", "--plans", "--rows"], capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    cells = done.stdout.split()
    assert "inf" not in cells and "saturated" in cells


def test_default_files_ask_the_unfitted_open_loop_tables_without_fitting_them():
    """Issue 17: open-loop tables added for the plan check live in ``data/benchmarks/unfitted/`` (never read by
    ``scripts/calibrate.py``); ``validate --plans`` reads them by default, and ``percentiles/`` (issue 21's held-out
    tail check) stays out. DataCrunch's SGLang sweeps give four loaded points (the two highest rates of each table)."""
    import csv

    from gpucast.validation.plans import REPO, default_files

    folder = REPO / "data" / "benchmarks"
    files = default_files()
    assert folder / "unfitted" / "datacrunch_h200_llama_sglang.csv" in files
    assert not any("percentiles" in f.parts for f in files)
    for fitted in folder.glob("*.csv"):
        with fitted.open(newline="", encoding="utf-8") as handle:
            assert all(r["source"] != "datacrunch-h200-llama-sglang-2024-12" for r in csv.DictReader(handle))
    report = validate_plans([folder / "unfitted" / "datacrunch_h200_llama_sglang.csv"])
    assert sorted(r.load_value for r in report.results) == [4, 8, 8, 16]
    assert all(r.slo_percentile == "50" for r in report.results)  # the source publishes medians
