"""Issue 20: MoE layouts (expert parallelism, attention data parallelism) in memory, step time, search and CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from gpucast.catalog import loader
from gpucast.core.layout import (
    Layout,
    distinct_ranks,
    load_imbalance,
    parameter_split,
    tile_utilization,
    weight_bytes_per_gpu,
)
from gpucast.core.memory import MemorySettings, estimate_memory
from gpucast.core.params import count_parameters
from gpucast.core.perf import Efficiency, attention_flops_per_token, decode_step, prefill_time
from gpucast.core.search import parallel_options
from gpucast.core.specs import GIB, Precision

R1 = loader.resolve_model("deepseek-r1")
H200 = loader.resolve_gpu("H200")
LLAMA = loader.resolve_model("llama-3.1-70b")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gpucast", *args], capture_output=True, text=True, timeout=120)


def test_load_imbalance_hand_numbers():
    # T = 512 assignments over 8 groups: 1 + sqrt(2 ln 8 x 7 / 512) = 1 + sqrt(0.05686) = 1.2385
    assert load_imbalance(8, 512) == pytest.approx(1 + math.sqrt(2 * math.log(8) * 7 / 512))
    assert load_imbalance(8, 512) == pytest.approx(1.2385, abs=1e-4)
    assert load_imbalance(1, 10) == 1.0  # no expert parallelism: every GPU does the same work
    assert load_imbalance(8, 1) == pytest.approx(1 + math.sqrt(2 * math.log(8) * 7))  # 6.40
    assert load_imbalance(8, 0.1) == 8.0  # capped: at worst everything lands on one group
    assert load_imbalance(8, 1e6) < 1.01  # a prefill batch is balanced


def test_tile_utilization_pads_to_64_rows():
    assert tile_utilization(8) == pytest.approx(8 / 64)
    assert tile_utilization(64) == pytest.approx(1.0)
    assert tile_utilization(65) == pytest.approx(65 / 128)
    assert tile_utilization(1000) == pytest.approx(1000 / 1024)


def test_distinct_ranks():
    assert distinct_ranks(1, 8) == 1.0
    # 8 experts over 8 groups: 8 x (1 - (7/8)^8) = 5.25 distinct groups on average
    assert distinct_ranks(8, 8) == pytest.approx(8 * (1 - (7 / 8) ** 8))


def test_parameter_split_sums_to_total_and_attention_dp_replicates_attention():
    split = parameter_split(R1)
    assert split.attention + split.routed + split.other == count_parameters(R1).total
    assert split.routed > 0.9 * count_parameters(R1).total  # DeepSeek-R1 is mostly routed experts
    total = count_parameters(R1).total
    assert weight_bytes_per_gpu(R1, Layout(8), total, 1.0) == total / 8
    assert weight_bytes_per_gpu(R1, Layout(8, ep=8), total, 1.0) == total / 8  # EP moves experts, not bytes
    per_gpu = split.attention + (split.routed + split.other) / 8  # attention whole on every GPU
    assert weight_bytes_per_gpu(R1, Layout(8, ep=8, attention_dp=8), total, 1.0) == pytest.approx(per_gpu)


def test_attention_dp_multiplies_mla_kv_capacity():
    """MLA's latent is replicated on every TP rank; with DP attention each group caches its own sequences."""
    settings = MemorySettings()
    kw = {"precision": Precision.FP8, "kv_precision": Precision.BF16, "tp": 8, "settings": settings}
    plain = estimate_memory(R1, H200, **kw)
    dp = estimate_memory(R1, H200, attention_dp=8, **kw)
    assert plain.kv_bytes_per_token_per_gpu == dp.kv_bytes_per_token_per_gpu  # one latent per token either way
    extra_weights = dp.weights_gib - plain.weights_gib
    assert extra_weights * GIB == pytest.approx(parameter_split(R1).attention * Precision.FP8.bytes_per_param * 7 / 8)
    expected = 8 * math.floor((plain.kv_cache_gib - extra_weights) * GIB / plain.kv_bytes_per_token_per_gpu)
    assert dp.kv_capacity_tokens == expected
    assert dp.kv_capacity_tokens > 5 * plain.kv_capacity_tokens


def test_plain_layout_is_unchanged_and_dp_attention_reads_less_kv():
    eff = Efficiency()
    kw = {"precision": Precision.FP8, "kv_precision": Precision.BF16, "tp": 8, "pp": 1, "batch": 128.0}
    plain = decode_step(R1, H200, eff, context_tokens=4000, **kw)
    assert decode_step(R1, H200, eff, context_tokens=4000, ep=1, attention_dp=1, **kw) == plain
    dp = decode_step(R1, H200, eff, context_tokens=4000, ep=8, attention_dp=8, **kw)
    # long contexts: the replicated latent dominates plain TP's reads; DP attention reads 1/8 of it per GPU
    assert dp.bytes_per_gpu < plain.bytes_per_gpu
    # ... but each GPU then runs all 128 heads over its own sequences: 16 x 128 heads x 2,176 FLOPs per 1,152-byte
    # BF16 latent = 242 FLOP/byte, above the H200's 989.4 TFLOP/s / 4.8 TB/s = 206, so the absorbed MLA kernel is
    # compute-bound at BF16: 128 x 2 x 128 x 1,088 x 61 x 4,000 / 8 = 1.087e12 FLOPs / (989.4e12 x 0.55) = 2.00 ms
    compute = 128 * attention_flops_per_token(R1, 4000) / 8 / (989.4e12 * eff.compute_fraction)
    assert compute == pytest.approx(2.0e-3, rel=0.01)
    assert compute > plain.attention_s / 8
    assert dp.attention_s == pytest.approx(max(plain.attention_s / 8, compute), rel=1e-6)


def test_expert_parallel_prefill_pays_all_to_all_and_little_imbalance():
    eff = Efficiency()
    kw = {"precision": Precision.FP8, "tp": 8, "pp": 1, "tokens": 8192.0, "batched": True}
    plain = prefill_time(R1, H200, eff, **kw)
    ep = prefill_time(R1, H200, eff, ep=8, **kw)
    assert ep == pytest.approx(plain, rel=0.25)  # same compute; all-to-alls instead of all-reduces


def test_layout_problems():
    assert Layout(8, ep=3).problem(R1) is not None  # 3 does not divide 8
    assert "not a mixture-of-experts" in (Layout(8, ep=8).problem(LLAMA) or "")
    assert Layout(8, ep=8, attention_dp=8).problem(R1) is None
    assert Layout(8).problem(LLAMA) is None
    assert Layout(8, ep=8, attention_dp=8).label() == "TP=8 EP=8 DP-attention=8"


def test_search_tries_moe_layouts_before_pipelines():
    options = parallel_options(R1, H200)
    labels = [o.label() for o in options]
    assert "TP=8 EP=8 DP-attention=8" in labels and "TP=16 EP=16 DP-attention=16" in labels
    first_pipeline = next(i for i, o in enumerate(options) if o.pp > 1)
    assert all(o.pp == 1 for o in options[:first_pipeline])
    assert all(o.is_plain for o in parallel_options(LLAMA, H200))


def test_plan_names_the_layout_and_estimate_reproduces_it():
    """A DeepSeek-R1 plan at high load picks EP + DP attention; `estimate` with that layout gives its latencies
    (SLOs on means, as the scenario was set up; at p99 ITL a smaller batch binds first)."""
    done = _cli(
        "inference", "--model", "deepseek-r1", "--gpu", "H200", "--rps", "5", "--input-tokens", "3200",
        "--output-tokens", "800", "--itl-slo-ms", "50", "--peak-multiplier", "1", "--slo-percentile", "mean", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    res, thr = plan["gpu_resources"], plan["throughput"]
    assert res["expert_parallel"] == 8 and res["attention_data_parallel"] == 8
    again = _cli(
        "estimate", "--model", "deepseek-r1", "--gpu", "H200", "--num-gpus", str(res["total_gpus"]),
        "--tp", str(res["tensor_parallel"]), "--ep", "8", "--dp-attention", "8", "--input-tokens", "3200",
        "--output-tokens", "800", "--request-rate", str(thr["planned_rps_per_replica"] * res["max_replicas"]),
        "--max-model-len", str(plan["inputs"]["context_window"]), "--json",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    point = json.loads(again.stdout)
    assert point["ep"] == 8 and point["attention_dp"] == 8
    assert point["itl_ms"] == pytest.approx(thr["estimated_itl_ms"], rel=0.02)
    assert point["ttft_ms"] == pytest.approx(thr["estimated_ttft_ms"], rel=0.02)
    text = _cli("inference", "--model", "deepseek-r1", "--gpu", "H200", "--rps", "5", "--input-tokens", "3200",
                "--output-tokens", "800", "--itl-slo-ms", "50", "--slo-percentile", "mean")  # fmt: skip
    assert "TP=8 EP=8 DP-attention=8" in text.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model", "deepseek-r1", "--tp", "8", "--ep", "3"], "EP=3 does not divide TP=8"),
        (["--model", "llama-3.1-8b", "--tp", "8", "--ep", "8"], "not a mixture-of-experts"),
        (["--model", "deepseek-r1", "--tp", "8", "--ep", "0"], "--ep"),
        # without --tp no searched TP suits EP=3: the error named "--tp 1", a value the user never gave
        (["--model", "deepseek-r1", "--ep", "3"], "--ep 3 --dp-attention 1: both must divide TP, and no TP searched"),
        (["--model", "deepseek-r1", "--dp-attention", "3"], "no TP searched (a power of two dividing --num-gpus 8"),
    ],
)
def test_bad_layouts_are_one_line_errors(flags, message):
    done = _cli("estimate", *flags, "--gpu", "H200", "--num-gpus", "8", "--input-tokens", "100",
                "--output-tokens", "10", "--max-throughput")  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("engine", "extra", "expected"),
    [
        ("vllm", ["--engine-version", "0.8.5"], 8 * 256),  # an engine core per DP rank, each with max_num_seqs 256
        ("vllm", ["--max-num-seqs", "100"], 8 * 100),  # the flag is the engine's: per rank
        ("sglang", [], 256),  # SGLang divides --max-running-requests by its DP size itself
        ("vllm", ["--dp-attention", "1", "--engine-version", "0.8.5"], 256),  # no attention DP: one scheduler
    ],
)
def test_the_engine_sequence_limit_caps_each_attention_dp_rank_where_the_engine_schedules_each(engine, extra, expected):
    """vLLM runs a scheduler per DP rank, each with --max-num-seqs (as the exports already wrote it, divided over
    the ranks), but plans capped the whole DeepSeek-R1 replica at 256: 64 H200s for 20 req/s of 1k/1k where a
    default vLLM deployment needs 24 (QA 2026-12-07)."""
    flags = ["--dp-attention", "8", *extra] if "--dp-attention" not in extra else extra
    out = _cli("estimate", "--model", "deepseek-r1", "--gpu", "H200", "--num-gpus", "8", "--tp", "8", "--ep", "8",
               "--engine", engine, "--input-tokens", "1000", "--output-tokens", "1000", "--concurrency", "10",
               "--json", *flags)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["max_concurrent_sequences"] == expected


@pytest.mark.parametrize(
    ("gpu", "extra", "expected"),
    [
        ("H100", [], 1024),  # vLLM 0.9+: 1024 on a GPU of 70 GiB or more
        ("H100", ["--engine-version", "0.8.5"], 256),  # before it, 256
        ("H100", ["--max-num-seqs", "300"], 300),  # given: as given
        ("A100-80GB", [], 256),  # vLLM leaves A100s at 256 (vllm-project/vllm#17885)
        ("L40S", [], 256),  # 48 GB: below 70 GiB
    ],
)
def test_vllm_runs_1024_sequences_by_default_on_large_gpus(gpu, extra, expected):
    """vLLM's EngineArgs.get_batch_defaults gives max_num_seqs 1024 on GPUs of 70 GiB+ that are not A100s, 256
    elsewhere; gpucast capped every GPU at 256, so H100 plans were "limited by max-num-seqs" where the engine runs
    four times as many sequences (2026-12-07)."""
    out = _cli("estimate", "--model", "llama-3.1-8b", "--gpu", gpu, "--num-gpus", "1", "--input-tokens", "200",
               "--output-tokens", "100", "--concurrency", "10", "--json", *extra)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["max_concurrent_sequences"] == expected
