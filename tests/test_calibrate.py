"""scripts/calibrate.py: row preparation, a bounded fit that lowers the error, TOML round trip."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from conftest import load_script
from gpucast.core.memory import weight_bytes
from gpucast.core.perf import Efficiency

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "calibrate.py"

HEADER = (
    "id,source,engine,model,gpu,num_gpus,tp,pp,precision,kv_precision,input_tokens,output_tokens,"
    "load,load_value,metric,value,unit,notes"
)
TRT = '"TensorRT-LLM 0.17 (trtllm-bench, TRT engine)"'
# Published rows (ids as in ../shared/calibration/inference.csv), one made-up closed-loop row
# (id 9001) to exercise the concurrency path, and two rows the script must skip.
ROWS = [
    f"11,TRTLLM-perf-overview-v0.17,{TRT},Llama-3.1-8B,H100-SXM-80GB,1,1,1,FP8,FP8,128,2048,max-throughput,,output_tok_per_s_total,21109.38,tok/s,offline",
    f"12,TRTLLM-perf-overview-v0.17,{TRT},Llama-3.1-8B,H100-SXM-80GB,1,1,1,FP8,FP8,128,4096,max-throughput,,output_tok_per_s_total,13593.65,tok/s,offline",
    f"16,TRTLLM-perf-overview-v0.17,{TRT},Llama-3.1-8B,H100-SXM-80GB,1,1,1,FP8,FP8,2048,2048,max-throughput,,output_tok_per_s_total,9488.42,tok/s,offline",
    f"18,TRTLLM-perf-overview-v0.17,{TRT},Llama-3.1-8B,H100-SXM-80GB,1,1,1,FP8,FP8,20000,2000,max-throughput,,output_tok_per_s_total,1401.31,tok/s,offline",
    "676,TRTLLM-serving,TensorRT-LLM 0.14 + Triton,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,BF16?,467,256,request-rate,2,itl_ms,8,ms,QPS=2; 500 requests",
    "677,TRTLLM-serving,TensorRT-LLM 0.14 + Triton,Llama-3.1-8B,H100-SXM-80GB,1,1,1,BF16,BF16?,467,256,request-rate,2,ttft_ms,23,ms,QPS=2; 500 requests",
    "9001,fixture,vLLM 0.6,Llama-3.1-8B,H100-SXM-80GB,2,1,1,BF16,BF16,500,200,concurrency,16,itl_ms,9.5,ms,made-up fixture row",
    "1059,TRTLLM-v0.6.1,TensorRT-LLM v0.5,Llama-2-7B,H100-SXM-80GB,1,1,1,FP8,FP8,128,1,static-batch,1,ttft_ms,7,ms,batch 1",
    "944,SGLang,SGLang 0.3.0,Llama-3.1-8B-Instruct,A100-SXM-80GB,1,1,1,BF16,BF16,ShareGPT (variable),ShareGPT (variable),request-rate,4,ttft_ms,31.98,ms,median",
    "1111,LMDeploy,llm-awq,Llama-2-7B-chat,RTX-4090-24GB,1,1,1,INT4 (W4A16 AWQ),FP16,1,512,static-batch,1,output_tok_per_s_total,112.9,tok/s,batch 1",
]


@pytest.fixture(scope="module")
def calibrate():
    return load_script(SCRIPT, "gpucast_calibrate_script")


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    path = tmp_path / "inference.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return path


def _median_error(calibrate, groups, effs) -> float:
    return float(np.median([abs(p / t.value - 1.0) for _, t, p in calibrate.predictions(groups, effs)]))


def test_prepare_skips_what_it_cannot_evaluate(calibrate, data):
    groups, skipped = calibrate.prepare(calibrate.read_rows(data))
    assert sum(len(g.targets) for g in groups) == 9  # RTX-4090-24GB is a catalog alias
    assert len(skipped) == 1
    assert any("not numeric" in reason for _, reason in skipped)
    served = next(g for g in groups if g.load == "request-rate")
    assert len(served.targets) == 2  # ITL and TTFT of one operating point are evaluated once
    assert served.cfg.max_sequences <= 500  # "500 requests" in the notes caps what can be in flight
    closed = next(g for g in groups if g.load == "concurrency")
    assert closed.replicas == 2


def test_fit_is_bounded_and_lowers_the_error(calibrate, data):
    groups, _ = calibrate.prepare(calibrate.read_rows(data))
    result = calibrate.fit(groups, min_family_rows=3)
    low, high = result.space.bounds()
    assert np.all(result.x >= low - 1e-12) and np.all(result.x <= high + 1e-12)
    assert result.space.families == ("hopper",)
    assert result.cost_end < result.cost_start
    start = result.space.efficiencies(result.space.start())
    assert _median_error(calibrate, groups, result.efficiencies()) < _median_error(calibrate, groups, start)
    effs = result.efficiencies()
    for eff in effs.values():
        for name in ("bandwidth_fraction", "compute_fraction", "prefill_fraction"):
            assert 0.2 <= getattr(eff, name) <= 0.95
        assert 0.5e-3 <= eff.step_overhead_s <= 20e-3
        assert 3e-6 <= eff.allreduce_latency_s <= 50e-6
        assert eff.interconnect_fraction == Efficiency().interconnect_fraction


def test_written_toml_loads_and_checks(calibrate, data, tmp_path):
    groups, _ = calibrate.prepare(calibrate.read_rows(data))
    result = calibrate.fit(groups, min_family_rows=3)
    stats = calibrate.summarize(calibrate.abs_pct_errors([("itl_ms", 1.1, 1.0)]))
    text = calibrate.render_toml(
        result, data_label="fixture.csv", rows=8, date="2025-01-01", in_sample=stats, cross=None
    )
    table = tomllib.loads(text)
    defaults = table["defaults"]
    assert defaults["source"].startswith("fitted by scripts/calibrate.py to fixture.csv (8 rows")
    Efficiency(**defaults)  # every key is an Efficiency field
    for family in table["families"].values():
        Efficiency(**{**defaults, **family})
    out = tmp_path / "calibration.toml"
    out.write_text(text, encoding="utf-8")
    assert calibrate.differs_from_file(result, out) == []
    out.write_text(text.replace(f"prefill_fraction = {defaults['prefill_fraction']!r}", "prefill_fraction = 0.123"))
    assert calibrate.differs_from_file(result, out)


def test_missing_data_is_a_one_line_error(calibrate, tmp_path, capsys):
    assert calibrate.main(["--data", str(tmp_path / "absent.csv"), "--no-write"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not found" in err and "\n" not in err


def test_naive_formula_ignores_batching(calibrate, data):
    groups, _ = calibrate.prepare(calibrate.read_rows(data))
    group = next(g for g in groups if g.load == "max-throughput")
    naive = calibrate.naive_value(group, "output_tok_per_s_total")
    bytes_ = weight_bytes(group.cfg.model, group.cfg.precision)
    assert math.isclose(naive, group.cfg.gpu.memory_bandwidth_tb_s * 1e12 * 0.7 / bytes_)
    assert calibrate.naive_value(group, "ttft_ms") is None


SHARED = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "inference.csv"


@pytest.mark.skipif(not SHARED.is_file(), reason="../shared/calibration/inference.csv is not beside the checkout")
def test_shipped_calibration_is_reproduced_by_the_script(calibrate, capsys):
    # the full re-fit without cross-validation; 1% tolerance for floating point across machines
    assert calibrate.main(["--check", "--tolerance", "0.01", "--worst", "0"]) == 0, capsys.readouterr().err
