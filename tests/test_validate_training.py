"""`gpucast validate` on training rows (issue #5): the calibration's mapping, skips with reasons, same report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import gpucast_exe
from gpucast.errors import InputError
from gpucast.validation.inference import validate_file
from gpucast.validation.training import rule_of_thumb

HEADER = (
    "id,source,framework,model,params_b,gpu,num_gpus,precision,seq_len,global_batch_tokens_or_seqs,micro_batch,"
    "tp,pp,dp,zero_or_fsdp,grad_ckpt,method,metric,value,unit,notes"
)
MPT = "mpt-a10080-7b-s2048-g8-mb8-{}"
ROWS = [
    # llm-foundry MPT-7B on 8 A100-80GB: throughput, MFU (llm-foundry's convention, converted) and a metric not modelled
    f"{MPT.format('tps')},llm-foundry,Composer,MPT-7b,6.658,A100-80GB,8,amp_bf16,2048,2097152tok (1024seq),8,1,1,8,"
    'FSDP FULL_SHARD,False,full,tokens_per_s_per_gpu,3500,tokens/s/GPU,"grad_accum=16"',
    f"{MPT.format('mfu')},llm-foundry,Composer,MPT-7b,6.658,A100-80GB,8,amp_bf16,2048,2097152tok (1024seq),8,1,1,8,"
    'FSDP FULL_SHARD,False,full,mfu_pct,50.0,%,"grad_accum=16"',
    f"{MPT.format('step')},llm-foundry,Composer,MPT-7b,6.658,A100-80GB,8,amp_bf16,2048,2097152tok (1024seq),8,1,1,8,"
    'FSDP FULL_SHARD,False,full,step_time_s,4.7,s,"grad_accum=16"',
    # a user's own run (no known source): catalog model and the stated columns
    "my-run-1,my cluster,torchtitan,Llama-3.1-8B,8.03,H100,8,bf16,8192,64seq,1,1,1,8,FSDP,True,full,"
    "tokens_per_s_per_gpu,6500,tokens/s/GPU,",
    "my-run-2,my cluster,torchtitan,Llama-3.1-8B,8.03,Z9000,8,bf16,8192,64seq,1,1,1,8,FSDP,True,full,"
    "tokens_per_s_per_gpu,6500,tokens/s/GPU,",
    "my-run-3,my cluster,torchtitan,Llama-3.1-8B,8.03,H100,8,bf16,8192,64seq,two,1,1,8,FSDP,True,full,"
    "tokens_per_s_per_gpu,6500,tokens/s/GPU,",
    "my-run-4,my cluster,torchtitan,Llama-3.1-8B,8.03,H100,8,bf16,8192,64seq,1,1,1,8,FSDP,True,full,"
    "tokens_per_s_per_gpu,fast,tokens/s/GPU,",
]
DATA = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "training.csv"


def _write(tmp_path: Path, rows: list[str] = ROWS, header: str = HEADER) -> Path:
    path = tmp_path / "training.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_training_rows_are_predicted_and_skips_say_why(tmp_path):
    report = validate_file(_write(tmp_path))
    assert sorted(r.id for r in report.rows) == [MPT.format("mfu"), MPT.format("tps"), "my-run-1"]
    reasons = dict(report.skipped)
    assert set(reasons) == {MPT.format("step"), "my-run-2", "my-run-3", "my-run-4"}
    assert "not modelled" in reasons[MPT.format("step")]
    assert "'Z9000' is not in the catalog" in reasons["my-run-2"]
    assert "micro_batch 'two'" in reasons["my-run-3"]
    assert "value 'fast' is not a number" in reasons["my-run-4"]
    for row in report.rows:
        assert row.predicted > 0 and row.naive is not None and row.naive > 0
        assert row.error_pct == pytest.approx(abs(row.predicted / row.measured - 1) * 100)
    summary = {s.metric: s for s in report.summary}
    assert [s.metric for s in report.summary] == [
        "tokens_per_s_per_gpu", "mfu_pct", "throughput (all)", "ALL",
    ]  # fmt: skip
    assert summary["ALL"].n == 3 and summary["throughput (all)"].naive_median_error_pct is not None


def test_mfu_is_reported_in_the_rows_convention(tmp_path):
    """llm-foundry counts the position table and 12*L*h*s attention FLOPs: the prediction is converted to it."""
    report = validate_file(_write(tmp_path, ROWS[:2]))
    tps, mfu = (next(r for r in report.rows if r.metric == m) for m in ("tokens_per_s_per_gpu", "mfu_pct"))
    params, layers, hidden, seq, peak = 6.658e9, 32, 4096, 2048, 312e12
    their_mfu = tps.predicted * (6 * params + 12 * layers * hidden * seq) / peak * 100
    assert mfu.predicted == pytest.approx(their_mfu, rel=0.01)


def test_rule_of_thumb_is_6n_at_40_percent():
    from gpucast.catalog.loader import resolve_gpu, resolve_model
    from gpucast.core.params import count_parameters
    from gpucast.core.training_memory import TrainingSetup
    from gpucast.validation.training import Case

    setup = TrainingSetup(model=resolve_model("llama-3.1-8b"), gpu=resolve_gpu("H100"), dp=8)
    case = Case("x", setup, [])
    expected = 0.4 * setup.gpu.peak_flops("bf16") / (6 * count_parameters(setup.model).total)
    assert rule_of_thumb(case, "tokens_per_s_per_gpu") == pytest.approx(expected)
    assert rule_of_thumb(case, "tokens_per_s_total") == pytest.approx(8 * expected)
    assert rule_of_thumb(case, "peak_mem_gb_per_gpu") is None


def test_missing_training_columns_are_one_error(tmp_path):
    header = HEADER.replace(",micro_batch", "").replace(",grad_ckpt", "")
    with pytest.raises(InputError, match="lacks column\\(s\\) micro_batch, grad_ckpt"):
        validate_file(_write(tmp_path, [], header))


def test_cli_validate_training_end_to_end(tmp_path):
    path = _write(tmp_path)
    result = subprocess.run(
        [*gpucast_exe(), "validate", str(path), "--json"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["rows"]) == 3 and len(data["skipped"]) == 4
    assert {s["metric"] for s in data["summary"]} >= {"tokens_per_s_per_gpu", "mfu_pct", "ALL"}
    assert all(row["reason"] for row in data["skipped"])
    text = subprocess.run(
        [*gpucast_exe(), "validate", str(path), "--rows"], capture_output=True, text=True, check=False
    )
    assert text.returncode == 0, text.stderr
    assert "Absolute error per metric" in text.stdout and "my-run-2" in text.stdout


@pytest.mark.skipif(not DATA.is_file(), reason="shared calibration data not present")
def test_shared_training_data_throughput_error_under_15_percent():
    report = validate_file(DATA)
    summary = {s.metric: s for s in report.summary}
    throughput = summary["throughput (all)"]
    assert throughput.n > 400 and throughput.median_error_pct < 15
    assert (
        throughput.naive_median_error_pct is not None
        and throughput.naive_median_error_pct > throughput.median_error_pct
    )
    assert len(report.skipped) < 20 and all(reason for _, reason in report.skipped)


def test_stated_cp_vp_ep_make_moe_and_long_sequence_rows_evaluable():
    from gpucast.validation.training_setups import setup_for

    row = dict(zip(HEADER.split(","), [""] * 21, strict=True))
    row.update(id="mine-moe", framework="Megatron-Bridge (Megatron-Core)", model="qwen3-235b-a22b", gpu="H100",
               num_gpus="256", precision="fp8", seq_len="4096", global_batch_tokens_or_seqs="8192seq",
               micro_batch="1", tp="2", pp="8", dp="16", zero_or_fsdp="distributed optimizer", method="full",
               notes="GBS 8192, MBS 1, seq 4096, TP 2 PP 8 CP 1 VP 4 EP 32")  # fmt: skip
    setup, _, _ = setup_for(row)
    assert (setup.tp, setup.pp, setup.vpp, setup.ep, setup.dp, setup.framework) == (2, 8, 4, 32, 16, "megatron")
    without_ep = setup_for({**row, "notes": "TP 2 PP 8 CP 1 VP 4 EP n/a"})
    assert isinstance(without_ep, str) and "states no expert parallelism" in without_ep
    # a dp column of GPUs / (TP x PP) still counts the CP ranks: 64 GPUs at TP 8, CP 2 -> DP 4
    dense = {**row, "model": "llama-3.1-70b", "num_gpus": "64", "tp": "8", "pp": "1", "dp": "8",
             "global_batch_tokens_or_seqs": "64seq", "notes": "TP 8 PP 1 CP 2 VP n/a EP n/a"}  # fmt: skip
    setup, _, _ = setup_for(dense)
    assert (setup.cp, setup.dp, setup.num_gpus) == (2, 4, 64)
    mx = setup_for({**dense, "gpu": "B200", "precision": "mxfp8"})
    assert not isinstance(mx, str) and mx[0].fp8_recipe == "mxfp8"


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("num_gpus", "0", "num_gpus '0' is not a whole number of 1 or more"),
        ("num_gpus", "-8", "num_gpus '-8' is not a whole number of 1 or more"),
        ("num_gpus", "eight", "num_gpus 'eight' is not a whole number"),
        ("seq_len", "-8192", "seq_len '-8192' is not a whole number of 1 or more"),
        ("seq_len", "8k", "seq_len '8k' is not a whole number"),
        ("params_b", "-7", "params_b '-7' must be a positive number"),
        ("params_b", "nan", "params_b 'nan' must be a positive number"),
    ],
)
def test_a_training_row_with_a_bad_count_is_skipped_with_its_value(tmp_path, column, value, reason):
    """The first digits of a count were read (-8 GPUs was 8; 0 GPUs let the dp column stand for them; "8k" tokens was
    8) and a negative params_b went unread: each row is now skipped with its value (the prices sweep's leftover)."""
    names = HEADER.split(",")
    good = "my-run-1,my cluster,torchtitan,Llama-3.1-8B,8.03,H100,8,bf16,8192,64seq,1,1,1,8,FSDP,True,full,"
    cells = (good + "tokens_per_s_per_gpu,6500,tokens/s/GPU,").split(",")
    cells[names.index(column)] = value
    report = validate_file(_write(tmp_path, [",".join(cells)]))
    assert not report.rows
    assert reason in dict(report.skipped)["my-run-1"]


def test_a_count_with_a_remark_in_brackets_is_read():
    """Published tables write "8 (1 node)": the count is read, the remark left."""
    from gpucast.validation.training_setups import _count

    assert _count({"num_gpus": "8 (1 node)"}, "num_gpus") == 8 and _count({"num_gpus": " 16 "}, "num_gpus") == 16
    assert _count({"num_gpus": ""}, "num_gpus") is None
