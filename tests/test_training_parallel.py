"""Context, virtual-pipeline, expert and sequence parallelism and the FP8 recipes: hand-checked formulas,
properties and the CLI flags (core/training_parallel.py, core/training_memory.py)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucast.catalog.loader import resolve_gpu, resolve_model
from gpucast.core.params import count_parameters, expert_parameters, num_moe_layers
from gpucast.core.specs import GIB, Precision
from gpucast.core.training import TrainingEfficiency, estimate_training_step
from gpucast.core.training_memory import (
    TrainingSetup,
    activation_bytes_per_layer,
    pipeline_in_flight,
    training_memory,
)
from gpucast.core.training_parallel import (
    FP8_CAST_BYTES,
    context_ring_s,
    dp_collectives,
    expert_dispatch_s,
    interleave_p2p_s,
    ring_latency_s,
)
from gpucast.core.training_search import search_parallelism

ROOT = Path(__file__).resolve().parents[1]
H100, B200 = resolve_gpu("H100"), resolve_gpu("B200")
GPT3_5B = resolve_model("gpt3-5b")  # a Korthikanti GPT layer: MHA, plain 4h MLP
LLAMA_70B = resolve_model("llama-3.1-70b")
QWEN_MOE = resolve_model("qwen3-30b-a3b")
EFF = TrainingEfficiency()


# --------------------------------------------------------------------------- sequence and context parallelism


def test_gpt_layer_is_34_sbh_with_sequence_parallelism_and_10_plus_24_over_t_without() -> None:
    s, b, h, t = 2048, 2, 4096, 4
    with_sp = activation_bytes_per_layer(GPT3_5B, s, b, tp=t)
    without = activation_bytes_per_layer(GPT3_5B, s, b, tp=t, sequence_parallel=False)
    assert with_sp == s * b * h * 34 / t  # Korthikanti et al. 2022, Table 2, TP + SP
    assert without == s * b * h * (10 + 24 / t)  # Table 2, TP without SP


def test_context_parallelism_splits_activations_and_logits_by_cp() -> None:
    base = TrainingSetup(
        model=GPT3_5B, gpu=H100, seq_len=8192, micro_batch=1, tp=2, dp=4, dropout=True
    )  # GPT-3: 34 s b h
    split = dataclasses.replace(base, cp=4, dp=1)
    one, four = training_memory(base), training_memory(split)
    layer = 8192 / 4 * 1 * 4096 * 34 / 2  # s/cp x b x h x 34 / tp
    assert four.activations * GIB == pytest.approx(24 * layer)
    assert four.activations == pytest.approx(one.activations / 4)
    assert four.weights == one.weights  # weights are replicated over CP


def test_zero_shards_over_dp_times_cp() -> None:
    base = TrainingSetup(model=GPT3_5B, gpu=H100, seq_len=8192, tp=2, dp=4, zero=1)
    assert training_memory(dataclasses.replace(base, cp=2, dp=2)).optimizer_states == pytest.approx(
        training_memory(base).optimizer_states
    )


def test_context_ring_by_hand() -> None:
    # Llama-3.1-70B, s 16384, cp 4, tp 8: 3 x (cp-1) chunks of s/cp x 2 x 1024 (8 KV heads x 128) x 2 bytes / tp
    # per layer over 80 layers; CP ranks sit 8 GPUs (one node) apart: the ring crosses nodes on one 50 GB/s NIC each
    setup = TrainingSetup(model=LLAMA_70B, gpu=H100, seq_len=16384, tp=8, cp=4)
    ring = 3 * 3 * (16384 / 4) * 2 * 1024 * 2 / 8 * 80
    seconds = ring / (50.0 * 1e9 * 0.7)
    assert context_ring_s(setup, 0.0, 0.7) == pytest.approx(seconds)
    assert context_ring_s(setup, 2 * seconds, 0.7) == 0.0  # hidden behind a longer attention kernel
    assert context_ring_s(dataclasses.replace(setup, cp=1), 0.0, 0.7) == 0.0


def test_dp_is_gpus_over_tp_pp_cp() -> None:
    setup, _ = search_parallelism(LLAMA_70B, H100, num_gpus=64, seq_len=16384, global_batch_seqs=64, tp=8, pp=2,
                                  cp=2, zero=1, micro_batch=1)  # fmt: skip
    assert (setup.tp, setup.pp, setup.cp, setup.dp) == (8, 2, 2, 2) and setup.num_gpus == 64
    assert setup.global_batch_seqs == 64  # CP does not multiply the batch


# --------------------------------------------------------------------------- data-parallel ring latency


def test_ring_latency_by_hand() -> None:
    # NCCL tuning.cc, ring Simple: 8.4 us + 3.4 us per NVLink step + 14 us per network step; g - 1 steps, n - 1 inter
    fsdp = TrainingSetup(model=LLAMA_70B, gpu=H100, dp=512, zero=3)  # 64 nodes of 8: 448 NVLink + 63 network steps
    assert ring_latency_s(fsdp, 512, 1) == pytest.approx((8.4 + 448 * 3.4 + 63 * 14.0) * 1e-6)  # 2.41 ms
    assert ring_latency_s(fsdp, 48, 8) == pytest.approx((8.4 + 47 * 14.0) * 1e-6)  # one rank per node (TP 8)
    assert ring_latency_s(fsdp, 8, 1) == pytest.approx((8.4 + 7 * 3.4) * 1e-6)  # one node: NVLink only
    assert ring_latency_s(fsdp, 1, 1) == 0.0


def test_dp_collectives_per_layer_or_bucket() -> None:
    fsdp = TrainingSetup(model=LLAMA_70B, gpu=H100, dp=64, zero=3)
    assert dp_collectives(fsdp, 70e9) == 3 * 80  # all-gather forward and backward, reduce-scatter, per layer
    megatron = TrainingSetup(model=LLAMA_70B, gpu=H100, tp=8, dp=48, zero=1, framework="megatron")
    assert dp_collectives(megatron, 1e9) == 2 * 21  # buckets of max(40M, 1M x 48) = 48M: ceil(1e9 / 48M) = 21
    assert dp_collectives(dataclasses.replace(megatron, dp=8), 1e9) == 2 * 25  # 40M floor
    assert dp_collectives(dataclasses.replace(megatron, framework="default"), 1e9) == 2 * 80


def test_fsdp_weak_scaling_loses_throughput_per_gpu() -> None:
    # same work per GPU, more ranks: the ring start-up grows (llm-foundry's H100 7B: 10,475 -> 9,670 tok/s, 128 -> 512)
    base = TrainingSetup(model=resolve_model("llama-2-7b"), gpu=H100, seq_len=2048, micro_batch=6, dp=128, zero=3)
    small, large = (estimate_training_step(dataclasses.replace(base, dp=d), EFF) for d in (128, 512))
    assert large.tokens_per_s_per_gpu < small.tokens_per_s_per_gpu
    extra = 3 * 32 * (ring_latency_s(base, 512, 1) - ring_latency_s(base, 128, 1))
    assert large.step_time_s - small.step_time_s <= extra + 1e-9  # at most all of it exposed


# --------------------------------------------------------------------------- virtual pipeline stages


def test_interleaved_bubble_is_pp_minus_1_over_vpp_m() -> None:
    base = TrainingSetup(model=LLAMA_70B, gpu=H100, seq_len=4096, tp=8, pp=4, dp=1, grad_accum=8, zero=1)
    plain = estimate_training_step(base, EFF).breakdown["pipeline_bubble_s"]
    t_mb = plain / 3  # (pp - 1) slots
    interleaved = estimate_training_step(dataclasses.replace(base, vpp=2), EFF).breakdown
    assert interleaved["pipeline_bubble_s"] / (8 * t_mb) == pytest.approx(3 / (2 * 8))
    assert interleaved["pipeline_p2p_s"] > 0.0 and estimate_training_step(base, EFF).breakdown["pipeline_p2p_s"] == 0


def test_interleaved_p2p_by_hand() -> None:
    # 2 (vpp - 1) transfers of s x b x h x 2 / tp bytes; PP ranks 8 x 1 GPUs apart: one NIC each (50 GB/s)
    setup = TrainingSetup(model=LLAMA_70B, gpu=H100, seq_len=4096, tp=8, pp=4, vpp=5, grad_accum=8)
    expected = 2 * 4 * 4096 * 8192 * 2 / 8 / (50.0 * 1e9 * 0.7)
    assert interleave_p2p_s(setup, 0.7) == pytest.approx(expected)


def test_interleaved_first_stage_holds_more_activations() -> None:
    setup = TrainingSetup(model=LLAMA_70B, gpu=H100, tp=8, pp=4, vpp=2, grad_accum=8)
    assert pipeline_in_flight(setup) == 4 * (1 + 3 / 8)  # Korthikanti et al. 2022, section 4.2.3
    assert pipeline_in_flight(dataclasses.replace(setup, vpp=1)) == 4


# --------------------------------------------------------------------------- expert parallelism


def test_expert_parallel_weights_by_hand() -> None:
    setup = TrainingSetup(model=QWEN_MOE, gpu=B200, dp=8, ep=8, zero=1)
    experts = expert_parameters(QWEN_MOE) * QWEN_MOE.num_experts * num_moe_layers(QWEN_MOE)
    total = count_parameters(QWEN_MOE).total
    memory = training_memory(setup)
    assert memory.weights * GIB == pytest.approx(((total - experts) + experts / 8) * 2.0)
    # ZeRO-1 spreads all optimizer states over the 8 GPUs either way
    assert memory.optimizer_states == pytest.approx(training_memory(dataclasses.replace(setup, ep=1)).optimizer_states)


def test_expert_all_to_all_by_hand() -> None:
    # 4 all-to-alls per MoE layer (48) of b x s x top-8 x h x 2 x (ep - 1)/ep bytes over NVLink
    setup = TrainingSetup(model=QWEN_MOE, gpu=H100, seq_len=4096, micro_batch=1, dp=8, ep=8)
    volume = 4096 * 8 * 2048 * 2 * 7 / 8
    assert expert_dispatch_s(setup, 0.7) == pytest.approx(
        4 * 48 * volume / (H100.interconnect_bandwidth_gb_s * 1e9 * 0.7)
    )
    assert expert_dispatch_s(dataclasses.replace(setup, ep=1), 0.7) == 0.0


def test_expert_parallel_makes_a_moe_run_fit() -> None:
    base = TrainingSetup(model=QWEN_MOE, gpu=H100, seq_len=4096, dp=16, zero=1, recompute="full")
    assert not training_memory(base).fits(H100)
    assert training_memory(dataclasses.replace(base, ep=16)).fits(H100)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": LLAMA_70B, "ep": 2}, "needs a mixture-of-experts model"),
        ({"ep": 3}, "ep 3 does not divide"),
        ({"dp": 2, "ep": 4}, "ep 4 must divide tp x cp x dp = 2"),
        ({"vpp": 2}, "needs pipeline parallelism"),
        ({"pp": 4, "vpp": 5, "grad_accum": 4}, "do not split into pp x vpp"),
        ({"pp": 4, "vpp": 2, "grad_accum": 6}, "multiple of pp"),
        ({"cp": 3, "seq_len": 4096}, "does not split into 2 x cp"),
        ({"precision": Precision.FP8, "fp8_recipe": "mxfp8"}, "mxfp8 needs Blackwell"),
        ({"fp8_recipe": "tensorwise"}, "not one of delayed, current, mxfp8"),
    ],
)
def test_impossible_layouts_are_rejected(change: dict, message: str) -> None:
    fields = {"model": QWEN_MOE, "gpu": H100, "dp": 8, "grad_accum": 8, **change}
    with pytest.raises(ValueError, match=message):
        TrainingSetup(**fields)


# --------------------------------------------------------------------------- FP8 recipes


def test_fp8_recipe_cast_bytes() -> None:
    assert FP8_CAST_BYTES == {"delayed": 5.0, "current": 7.0, "mxfp8": 4.0625}
    base = TrainingSetup(model=LLAMA_70B, gpu=B200, precision=Precision.FP8, tp=8, seq_len=4096, grad_accum=4)
    times = {
        r: estimate_training_step(dataclasses.replace(base, fp8_recipe=r), EFF).step_time_s for r in FP8_CAST_BYTES
    }
    assert times["mxfp8"] < times["delayed"] < times["current"]


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    cp_log=st.integers(0, 3), seq_log=st.integers(11, 15), tp=st.sampled_from([1, 2, 8]),
    recompute=st.sampled_from(["none", "selective", "full"]),
)  # fmt: skip
def test_more_context_parallelism_never_more_activation_memory(
    cp_log: int, seq_log: int, tp: int, recompute: str
) -> None:
    base = TrainingSetup(model=LLAMA_70B, gpu=H100, seq_len=1 << seq_log, tp=tp, cp=1 << cp_log, recompute=recompute)
    more = dataclasses.replace(base, cp=2 * base.cp)
    assert training_memory(more).activations <= training_memory(base).activations
    assert training_memory(more).total <= training_memory(base).total


@settings(max_examples=40, deadline=None)
@given(pp=st.sampled_from([2, 4, 8]), accum_mult=st.integers(1, 8), v1=st.sampled_from([1, 2, 5]),
       v2=st.sampled_from([1, 2, 5, 10]))  # fmt: skip
def test_more_virtual_stages_never_a_larger_bubble(pp: int, accum_mult: int, v1: int, v2: int) -> None:
    low, high = sorted((v1, v2))
    if LLAMA_70B.num_layers % (pp * high):
        return
    base = TrainingSetup(model=LLAMA_70B, gpu=H100, seq_len=4096, tp=8, pp=pp, grad_accum=pp * accum_mult)
    bubble = {v: estimate_training_step(dataclasses.replace(base, vpp=v), EFF).breakdown["pipeline_bubble_s"]
              for v in (low, high)}  # fmt: skip
    assert bubble[high] <= bubble[low]


# --------------------------------------------------------------------------- CLI


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "gpucast", *args], capture_output=True, text=True, env=env, check=False
    )


ESTIMATE = ("training-estimate", "--model", "llama-3.1-70b", "--gpu", "H100", "--num-gpus", "64", "--seq-len", "16384",
            "--micro-batch", "1", "--global-batch", "64", "--framework", "megatron", "--zero", "1", "--json")  # fmt: skip


def test_cli_parallelism_flags() -> None:
    done = _cli(*ESTIMATE, "--tp", "8", "--pp", "4", "--vpp", "5", "--cp", "2", "--precision", "FP8",
                "--fp8-recipe", "current", "--no-sequence-parallel")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["tp"], result["pp"], result["cp"], result["vpp"], result["dp"]) == (8, 4, 2, 5, 1)
    moe = _cli("training-estimate", "--model", "qwen3-30b-a3b", "--gpu", "H100", "--num-gpus", "16", "--seq-len", "4096",
               "--micro-batch", "1", "--global-batch", "1024", "--tp", "1", "--pp", "1", "--ep", "16", "--json")  # fmt: skip
    assert moe.returncode == 0, moe.stderr
    assert json.loads(moe.stdout)["ep"] == 16


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--cp", "3"), "TP x PP x CP = 3 does not divide --num-gpus 64"),
        (("--cp", "0"), "--cp 0 must be greater than 0"),
        (("--tp", "8", "--pp", "1", "--vpp", "2"), "needs pipeline parallelism pp > 1"),
        (("--tp", "8", "--pp", "4", "--vpp", "3"), "80 layers do not split into pp x vpp = 4 x 3"),
        (
            (
                "--ep",
                "2",
            ),
            "needs a mixture-of-experts model",
        ),
        (("--precision", "FP8", "--fp8-recipe", "mxfp8"), "--fp8-recipe mxfp8 needs Blackwell"),
        (("--fp8-recipe", "current"), "--fp8-recipe current applies to FP8 training"),
        (("--precision", "FP8", "--fp8-recipe", "block"), "--fp8-recipe 'block' is not one of delayed, current, mxfp8"),
    ],
)
def test_cli_bad_parallelism_exits_2_in_one_line(flags: tuple[str, ...], message: str) -> None:
    done = _cli(*ESTIMATE, *flags)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_cli_training_plan_with_context_parallelism() -> None:
    done = _cli("training", "--model", "llama-3.1-70b", "--gpu-type", "H100", "--dataset-size", "10000000000",
                "--sequence-length", "32768", "--epochs", "1", "--global-batch-size", "64", "--num-gpus", "64",
                "--tp", "8", "--cp", "4", "--framework", "megatron", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert "CP=4" in plan["recommendation"]
    assert plan["parallelism"]["data_parallel"] * 8 * 4 * plan["parallelism"]["pipeline_parallel"] == 64


# --------------------------------------------------------------------------- software stacks by the names users know


def test_framework_aliases_resolve_to_fitted_stacks() -> None:
    from gpucast.core.training_memory import FRAMEWORKS
    from gpucast.errors import InputError
    from gpucast.inputs.training import FRAMEWORK_ALIASES, resolve_framework

    assert set(FRAMEWORK_ALIASES.values()) <= set(FRAMEWORKS)
    assert resolve_framework("NeMo") == resolve_framework("megatron-bridge") == "megatron"
    assert resolve_framework("torchtitan") == resolve_framework("DeepSpeed") == "default"
    assert resolve_framework("Unsloth") == resolve_framework("peft") == resolve_framework("axolotl") == "hf"
    with pytest.raises(InputError, match="--framework 'jax' is not one of default") as error:
        resolve_framework("jax")
    assert "\n" not in str(error.value)


def test_every_alias_is_in_the_docs_table() -> None:
    from gpucast.inputs.training import FRAMEWORK_ALIASES

    text = (ROOT / "docs" / "fine-tune.md").read_text(encoding="utf-8")
    table = text[text.index("### Software stacks") :]
    for alias in FRAMEWORK_ALIASES:
        assert f"`{alias}`" in table, alias


def test_cli_alias_gives_the_stack_result() -> None:
    args = ("training-estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "8", "--seq-len", "4096",
            "--micro-batch", "1", "--json", "--framework")  # fmt: skip
    nemo, megatron = _cli(*args, "nemo"), _cli(*args, "megatron")
    assert nemo.returncode == megatron.returncode == 0, nemo.stderr
    assert json.loads(nemo.stdout) == json.loads(megatron.stdout)


def test_without_sequence_parallelism_every_tp_rank_repeats_the_h_wide_elementwise_work() -> None:
    # Llama-3.1-70B on 8 x H100 (TP 8), 30 passes x 2 bytes x h (8192) x (1 - 1/8) more per token and layer without SP:
    # 4096 tokens x 80 layers over 3.35 TB/s
    model = resolve_model("llama-3.1-70b")
    setup = TrainingSetup(model=model, gpu=H100, tp=8, seq_len=4096, recompute="full")
    eff = TrainingEfficiency(elementwise_passes=30.0)
    with_sp = estimate_training_step(setup, eff).breakdown["elementwise_s"]
    without = estimate_training_step(dataclasses.replace(setup, sequence_parallel=False), eff).breakdown[
        "elementwise_s"
    ]
    extra = 30.0 * (1.0 + 0.8 / 3.0) * 2.0 * 8192 * (1 - 1 / 8) * 4096 * 80 / (H100.memory_bandwidth_tb_s * 1e12)
    assert abs((without - with_sp) - extra) < 1e-9
