"""QLoRA's NF4 dequantization time (2026-12-07, seventeenth session): QLoRA was modelled as fast as LoRA; the pairs
in data/benchmarks/qlora/qlora_vs_lora.csv measure it 2-105% slower. Each test here failed before the change."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conftest import load_script
from gpucast.catalog.loader import nf4_dequant_bytes, resolve_gpu, resolve_model, training_efficiency_for
from gpucast.core.params import count_parameters
from gpucast.core.training import estimate_training_step
from gpucast.core.training_memory import NF4_BYTES_PER_PARAM
from gpucast.core.training_parallel import ring_latency_s
from gpucast.core.training_setup import TrainingSetup

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fit_qlora_dequant.py"


@pytest.fixture(scope="module")
def fit_script():
    return load_script(SCRIPT, "gpucast_fit_qlora_dequant")


def test_catalog_value_matches_the_fit(fit_script, capsys):
    assert fit_script.main(["--check"]) == 0, capsys.readouterr().err


def test_litgpt_7b_pair_hand_checked(fit_script):
    """LitGPT resource table (A100-SXM4-40GB, bitsandbytes 0.41.1): Llama 2 7B LoRA 2.36 min, bnb.nf4 3.68 min per
    1,000 iterations of micro-batch 1 -> 79.2 ms more per iteration. Quantized weights: 6,738,415,616 - 2 x 32,000 x
    4,096 = 6,476,271,616; two dequantizations per iteration (forward, input gradient; no checkpointing), 1.555 TB/s:
    0.0792 x 1.555e12 / (2 x 6,476,271,616) = 9.51 bytes per weight."""
    pair = next(p for p in fit_script.load() if p.id == "litgpt-rt2310-llama-2-7b-nf4")
    assert pair.quantized == 6_738_415_616 - 2 * 32_000 * 4_096
    assert pair.implied_bytes == pytest.approx((3.68 - 2.36) * 0.06 * 1.555e12 / (2 * pair.quantized), rel=1e-12)
    assert pair.implied_bytes == pytest.approx(9.51, abs=0.01)


def test_fit_lies_above_the_physical_floor_and_predicts_held_out_pairs(fit_script):
    pairs = fit_script.load()
    value = nf4_dequant_bytes()
    assert fit_script.FLOOR < value < 20.0  # read 0.52 + write 2 bytes at least; the kernels reach part of HBM
    for i, pair in enumerate(pairs):  # each pair from the median of the others: QLoRA's step time within 10%
        held_out = fit_script.fit(pairs[:i] + pairs[i + 1 :])
        assert pair.qlora_s_at(held_out) == pytest.approx(pair.qlora_s, rel=0.10), pair.id


def _step(method: str, gpu: str, **kw: object):
    setup = TrainingSetup(model=resolve_model("llama-3.1-8b"), gpu=resolve_gpu(gpu), method=method, **kw)
    return estimate_training_step(setup, training_efficiency_for(setup.gpu))


def test_qlora_is_slower_than_lora_on_the_same_setup():
    # 8B, one H100, 4 x 2048 tokens, no recomputation: QLoRA ran 10,219 vs LoRA 10,218 tokens/s before
    lora = _step("lora", "h100", micro_batch=4, seq_len=2048, framework="hf")
    qlora = _step("qlora", "h100", micro_batch=4, seq_len=2048, framework="hf")
    params = count_parameters(resolve_model("llama-3.1-8b"))
    expected = (
        2 * (params.total - params.embedding) * nf4_dequant_bytes() / (resolve_gpu("h100").memory_bandwidth_tb_s * 1e12)
    )
    assert qlora.breakdown["dequant_s"] == pytest.approx(expected, rel=1e-9)
    assert qlora.step_time_s == pytest.approx(lora.step_time_s + expected, rel=1e-9)
    # recomputation dequantizes a third time
    rec = _step("qlora", "h100", micro_batch=4, seq_len=2048, framework="hf", recompute="full")
    assert rec.breakdown["dequant_s"] == pytest.approx(1.5 * expected, rel=1e-9)


def test_the_cost_is_per_micro_batch_so_small_micro_batches_pay_most():
    def slowdown(gpu: str, micro_batch: int) -> float:
        kw = {"micro_batch": micro_batch, "seq_len": 2048, "recompute": "full"}
        return _step("qlora", gpu, **kw).step_time_s / _step("lora", gpu, **kw).step_time_s

    assert slowdown("rtx-4090", 1) > slowdown("rtx-4090", 4) > 1.0
    assert slowdown("h200", 1) > slowdown("h200", 4) > 1.0
    # torchtune measured 8B QLoRA 28% slower than LoRA on a 4090 (2 x 2048, checkpointed); gpucast says 11% (its
    # LoRA step there is already 1.7x the measured one, so the same dequantization time weighs less)
    assert slowdown("rtx-4090", 2) > 1.1


def test_fsdp_gathers_nf4_weights_as_stored():
    # ZeRO-3 QLoRA gathered 2 bytes per weight (BF16) per micro-batch; torchao's NF4Tensor and bitsandbytes'
    # quant_storage shard the packed 4-bit data, so the gather moves NF4_BYTES_PER_PARAM
    kw = {"micro_batch": 1, "seq_len": 2048, "zero": 3, "dp": 8, "recompute": "full", "framework": "torchtune"}
    eff = dataclasses.replace(training_efficiency_for(resolve_gpu("a100-40gb")), dp_exposed_fraction=1.0)
    setups = {m: TrainingSetup(model=resolve_model("llama-3.1-70b"), gpu=resolve_gpu("a100-40gb"), method=m, **kw)
              for m in ("lora", "qlora")}  # fmt: skip
    # all of it exposed: the bytes plus the rings' start-up (3 per layer, the same for both), which is taken out
    start_up = 3 * 80 * ring_latency_s(setups["lora"], 8, 1)
    exposed = {m: estimate_training_step(s, eff).breakdown["dp_comm_exposed_s"] - start_up for m, s in setups.items()}
    assert exposed["qlora"] / exposed["lora"] == pytest.approx(NF4_BYTES_PER_PARAM / 2.0, rel=0.02)
