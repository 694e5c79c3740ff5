"""Training core: hand-computed memory and FLOPs, monotonicity, the parallelism search, the calibration script."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from conftest import load_script
from gpucast.catalog.loader import resolve_gpu, resolve_model
from gpucast.core.params import count_parameters
from gpucast.core.specs import GIB, ModelSpec, Precision
from gpucast.core.training import (
    TrainingEfficiency,
    efficiency_from_table,
    estimate_training_step,
    flops_per_token,
)
from gpucast.core.training_memory import (
    NF4_BYTES_PER_PARAM,
    TrainingSetup,
    activation_bytes_per_layer,
    lora_trainable_parameters,
    model_state_bytes_per_param,
    training_memory,
)
from gpucast.core.training_search import search_parallelism
from gpucast.errors import InfeasibleError, InputError

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "calibrate_training.py"
SHIPPED = REPO / "src" / "gpucast" / "catalog" / "training_calibration.toml"
DATA = (REPO / ".." / "shared" / "calibration" / "training.csv").resolve()

H100 = resolve_gpu("H100")
A100_40 = resolve_gpu("A100-40GB")
LLAMA_8B = resolve_model("llama-3-8b")
# A GPT layer as in Korthikanti et al. 2022: MHA, FFN 4h (plain), tied embeddings.
GPT = ModelSpec(id="gpt", name="GPT", num_layers=24, hidden_size=1024, num_heads=16, num_kv_heads=16, head_dim=64,
                intermediate_size=4096, vocab_size=50304, tie_word_embeddings=True, gated_mlp=False)  # fmt: skip


def _states_bytes(memory) -> float:
    return (memory.weights + memory.gradients + memory.optimizer_states) * GIB


# ---------------------------------------------------------------------------------------------- memory
def test_mixed_precision_adam_is_16_bytes_per_parameter():
    assert sum(model_state_bytes_per_param(Precision.BF16, "adamw", 4096)) == 16.0  # 2 + 2 + 12 (ZeRO paper)
    assert 7e9 * 16 / 1e9 == 112.0  # a 7B model: 112 GB of weights + gradients + optimizer before sharding
    setup = TrainingSetup(model=LLAMA_8B, gpu=H100)
    assert _states_bytes(training_memory(setup)) == pytest.approx(16 * count_parameters(LLAMA_8B).total)


def test_other_optimizers_bytes_per_parameter():
    assert sum(model_state_bytes_per_param(Precision.BF16, "adamw8bit", 4096)) == 10.0  # 2 + 2 + 4 + 2
    assert sum(model_state_bytes_per_param(Precision.BF16, "sgd", 4096)) == 8.0  # master copy only
    assert sum(model_state_bytes_per_param(Precision.BF16, "adamw", 4096, master=False)) == 8.0  # pure BF16
    assert sum(model_state_bytes_per_param(Precision.FP32, "adamw", 4096)) == 16.0  # 4 + 4 + 8
    adafactor = sum(model_state_bytes_per_param(Precision.BF16, "adafactor", 4096))
    assert adafactor == pytest.approx(8.0, abs=0.01)  # factored second moment is ~8/h


def test_zero_stages_shard_what_they_should():
    base = TrainingSetup(model=LLAMA_8B, gpu=H100, dp=8, zero=0)
    m0 = training_memory(base)
    m1 = training_memory(dataclasses.replace(base, zero=1))
    m2 = training_memory(dataclasses.replace(base, zero=2))
    m3 = training_memory(dataclasses.replace(base, zero=3))
    assert (m1.weights, m1.gradients, m1.optimizer_states) == pytest.approx(
        (m0.weights, m0.gradients, m0.optimizer_states / 8)
    )
    assert (m2.weights, m2.gradients) == pytest.approx((m0.weights, m0.gradients / 8))
    assert (m3.weights, m3.gradients, m3.optimizer_states) == pytest.approx(
        (m0.weights / 8, m0.gradients / 8, m0.optimizer_states / 8)
    )
    assert _states_bytes(m3) == pytest.approx(_states_bytes(m0) / 8)


def test_korthikanti_activations():
    s, b, h, a = 2048, 2, GPT.hidden_size, GPT.num_heads
    expected = s * b * h * (34 + 5 * a * s / h)  # Korthikanti et al. 2022, Table 2, no parallelism
    assert activation_bytes_per_layer(GPT, s, b, flash_attention=False) == pytest.approx(expected)
    assert activation_bytes_per_layer(GPT, s, b, flash_attention=True) == pytest.approx(s * b * h * 34)
    assert activation_bytes_per_layer(GPT, s, b, flash_attention=False, recompute="selective") == pytest.approx(
        s * b * h * 34
    )
    assert activation_bytes_per_layer(GPT, s, b, tp=4, flash_attention=False) == pytest.approx(expected / 4)
    assert activation_bytes_per_layer(GPT, s, b, recompute="full") == pytest.approx(2 * s * b * h)
    # whole model, no flash: L layers of it (x the fitted-free default factor 1)
    setup = TrainingSetup(model=GPT, gpu=H100, micro_batch=b, seq_len=s, flash_attention=False, dropout=True)
    assert training_memory(setup).activations * GIB == pytest.approx(expected * GPT.num_layers)
    no_dropout = dataclasses.replace(setup, dropout=False)  # no dropout masks: 2 s b h less per layer
    assert training_memory(no_dropout).activations * GIB == pytest.approx((expected - 2 * s * b * h) * GPT.num_layers)


def test_lora_trainable_parameters_llama3_8b():
    # per layer: q 16*(4096+4096) + k 16*(4096+1024) + v 16*(4096+1024) + o 16*(4096+4096) = 425,984; x 32 layers
    assert lora_trainable_parameters(LLAMA_8B, 16, ("q", "k", "v", "o")) == 13_631_488
    setup = TrainingSetup(model=LLAMA_8B, gpu=H100, method="lora")
    memory = training_memory(setup)
    assert memory.optimizer_states * GIB == pytest.approx(13_631_488 * 12)  # Adam on the adapters only
    assert memory.gradients * GIB == pytest.approx(13_631_488 * 2)  # no gradients for frozen weights


def test_qlora_base_is_about_055_bytes_per_parameter():
    assert abs(NF4_BYTES_PER_PARAM - 0.516) < 0.001
    model = resolve_model("llama-3.1-70b")
    setup = TrainingSetup(model=model, gpu=H100, method="qlora")
    trainable = lora_trainable_parameters(model, 16, setup.lora_targets)
    base = training_memory(setup).weights * GIB - trainable * 2
    assert base / count_parameters(model).total == pytest.approx(0.55, abs=0.02)


def test_qlora_activations_follow_the_nf4_implementation():
    # bitsandbytes' MatMul4Bit saves every quantized linear's input (as full fine-tuning does); torchtune's
    # NF4 linear saves only the weight (as LoRA's frozen linears do)
    def activations(method: str, framework: str = "default") -> float:
        setup = TrainingSetup(model=LLAMA_8B, gpu=H100, method=method, framework=framework, lora_targets=("q", "v"))
        return training_memory(setup).activations

    assert activations("qlora") == pytest.approx(activations("full"))
    assert activations("qlora", "torchtune") == pytest.approx(activations("lora"))
    assert activations("lora") < activations("full")


# ---------------------------------------------------------------------------------------------- flops
def test_flops_per_token():
    n, layers, s, h = count_parameters(GPT).total, GPT.num_layers, 2048, GPT.hidden_size  # tied: N = all params
    attention = 12 * layers * s * h
    assert flops_per_token(GPT, s).model == pytest.approx(6 * n + attention)
    full = flops_per_token(GPT, s, recompute="full")
    assert full.model == pytest.approx(6 * n + attention)
    assert full.hardware == pytest.approx(8 * n + attention * 4 / 3)  # forward run twice: 8N
    assert flops_per_token(GPT, s, method="lora").model == pytest.approx(4 * n + attention)
    # the seed's "2 x params x seq_len" is neither: it is seq_len/3 times 6N at this length
    assert 2 * n * s > 100 * flops_per_token(GPT, s).model


# ---------------------------------------------------------------------------------------------- throughput
def test_more_gpus_give_more_total_tokens_per_second():
    small = TrainingSetup(model=LLAMA_8B, gpu=H100, dp=8, zero=3, micro_batch=2, seq_len=4096, grad_accum=4)
    large = dataclasses.replace(small, dp=16)
    assert estimate_training_step(large).tokens_per_s > estimate_training_step(small).tokens_per_s


def test_bigger_micro_batch_needs_more_activation_memory():
    setup = TrainingSetup(model=LLAMA_8B, gpu=H100, dp=8, zero=3, micro_batch=1, seq_len=4096)
    bigger = dataclasses.replace(setup, micro_batch=4)
    assert training_memory(bigger).activations == pytest.approx(4 * training_memory(setup).activations)
    assert training_memory(bigger).total > training_memory(setup).total


def test_perf_is_consistent_and_small_models_reach_lower_mfu():
    eff = TrainingEfficiency()
    big = estimate_training_step(TrainingSetup(model=LLAMA_8B, gpu=H100, dp=8, zero=3, micro_batch=4), eff)
    tiny = estimate_training_step(TrainingSetup(model=GPT, gpu=H100, dp=8, zero=3, micro_batch=4), eff)
    assert 0.0 < tiny.mfu < big.mfu < 1.0
    assert big.tflops_per_gpu == pytest.approx(big.mfu * H100.peak_flops("bf16") / 1e12)
    assert big.tokens_per_s == pytest.approx(8 * big.tokens_per_s_per_gpu)
    assert big.hfu == pytest.approx(big.mfu)  # no recomputation


def test_fp8_needs_fp8_tensor_cores():
    with pytest.raises(ValueError, match="FP8"):
        TrainingSetup(model=LLAMA_8B, gpu=A100_40, precision=Precision.FP8)


# ---------------------------------------------------------------------------------------------- search
def test_search_returns_a_fitting_configuration():
    setup, perf = search_parallelism(LLAMA_8B, H100, num_gpus=8, seq_len=4096, global_batch_seqs=64)
    assert perf.fits and setup.num_gpus == 8
    assert setup.global_batch_seqs == 64
    _, lean_perf = search_parallelism(
        LLAMA_8B, H100, num_gpus=8, seq_len=4096, global_batch_seqs=64, objective="memory"
    )
    assert lean_perf.memory.total <= perf.memory.total


def test_search_explains_what_would_fit():
    model = resolve_model("llama-3.1-70b")
    with pytest.raises(InfeasibleError, match=r"it fits on \d+ GPUs \(TP\d+\) or more, with ZeRO-3"):
        search_parallelism(model, A100_40, num_gpus=2, seq_len=4096, global_batch_seqs=8, tp=1, pp=1)


def test_search_rejects_an_indivisible_batch():
    with pytest.raises(InputError, match="global batch"):
        search_parallelism(LLAMA_8B, H100, num_gpus=8, seq_len=2048, global_batch_seqs=3, tp=1, pp=1)


# ---------------------------------------------------------------------------------------------- calibration
HEADER = (
    "id,source,framework,model,params_b,gpu,num_gpus,precision,seq_len,global_batch_tokens_or_seqs,micro_batch,"
    "tp,pp,dp,zero_or_fsdp,grad_ckpt,method,metric,value,unit,notes"
)
ROWS = [  # published rows (ids as in ../shared/calibration/training.csv), values as printed
    'mpt-h100-7b-s2048-g8-mb6-tps,"llm-foundry [H100]",Composer,MPT-7b,6.659,H100-80GB,8,amp_bf16,2048,'
    '98304tok (48seq),6,1,1,8,FSDP FULL_SHARD,False,full,tokens_per_s_per_gpu,11170,tokens/s/GPU,"grad_accum=1"',
    'mpt-h100-7b-s2048-g8-mb6-mfu,"llm-foundry [H100]",Composer,MPT-7b,6.659,H100-80GB,8,amp_bf16,2048,'
    '98304tok (48seq),6,1,1,8,FSDP FULL_SHARD,False,full,mfu_pct,46.44,%,"grad_accum=1"',
    'mpt-a10040-1b-s2048-g8-mb8-tps,"llm-foundry [A100 40GB]",Composer,MPT-1b,1.316,A100-40GB,8,bf16 (MP mode PURE),'
    "2048,1048576tok (512seq),8,1,1,8,FSDP FULL_SHARD,False,full,tokens_per_s_per_gpu,21000,tokens/s/GPU,"
    '"grad_accum=8"',
    'torchtune-3b-flags-packed-mem,"torchtune flags",torchtune,Llama 3.2 3B,3.2,A100 (memory size not stated),1,'
    "bf16,4096,2seq,2,,,,none,False,full,peak_mem_gb_per_gpu,60.0,GiB (peak active),packed",
    'torchtune-3b-flags-baseline-mem,"torchtune flags",torchtune,Llama 3.2 3B,3.2,A100 (memory size not stated),1,'
    "bf16,4096,2seq,2,,,,none,False,full,peak_mem_gb_per_gpu,25.5,GiB (peak active),unpacked",
]


@pytest.fixture(scope="module")
def calibrate():
    return load_script(SCRIPT, "gpucast_calibrate_training_script")


def test_calibration_script_on_a_fixture(calibrate, tmp_path, capsys):
    data = tmp_path / "training.csv"
    data.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    output = tmp_path / "training_calibration.toml"
    assert calibrate.main(["--data", str(data), "--output", str(output), "--worst", "0"]) == 0
    text = capsys.readouterr().out
    assert "skipped    1: unpacked dataset" in text and "leave-one-source-out" in text
    table = tomllib.loads(output.read_text(encoding="utf-8"))
    eff = efficiency_from_table(table, "hopper")
    for name, (low, high) in calibrate.BOUNDS.items():
        assert low <= getattr(eff, name) <= high
    assert calibrate.main(["--data", str(data), "--output", str(output), "--check", "--worst", "0"]) == 0
    assert calibrate.main(["--data", str(tmp_path / "missing.csv"), "--no-write"]) == 2


@pytest.mark.skipif(not DATA.is_file() or not SHIPPED.is_file(), reason="shared calibration data not present")
def test_shipped_calibration_is_reproduced(calibrate):
    # the script's default data: the shared CSV and data/benchmarks/training-fit/*.csv
    assert calibrate.main(["--check", "--tolerance", "0.01", "--worst", "0"]) == 0


def test_shipped_calibration_loads():
    table = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    hopper = efficiency_from_table(table, "hopper")
    default = efficiency_from_table(table, "no-such-family")
    assert 0.3 <= hopper.matmul_fraction <= 0.9 and default.matmul_fraction == table["defaults"]["matmul_fraction"]


def test_framework_factors_scale_gemm_and_attention_rates(llama8b, h100):
    from gpucast.core.training import FrameworkFactors, efficiency_from_table

    table = {"defaults": {"matmul_fraction": 0.6}, "frameworks": {"megatron": {"matmul": 1.2, "attention": 2.0}}}
    eff = efficiency_from_table(table, "hopper")
    assert eff.framework("megatron") == FrameworkFactors(1.2, 2.0)
    assert eff.framework("torchtune") == FrameworkFactors()  # no table: factors 1
    base = TrainingSetup(model=llama8b, gpu=h100, seq_len=8192, micro_batch=1)
    default = estimate_training_step(base, eff)
    megatron = estimate_training_step(dataclasses.replace(base, framework="megatron"), eff)
    assert megatron.breakdown["matmul_s"] == pytest.approx(default.breakdown["matmul_s"] / 1.2)
    assert megatron.breakdown["attention_s"] == pytest.approx(default.breakdown["attention_s"] / 2.0)
    with pytest.raises(ValueError, match="framework"):
        TrainingSetup(model=llama8b, gpu=h100, framework="jax")


def test_fp8_adds_cast_traffic_but_keeps_attention_bf16(llama8b, h100):
    bf16 = estimate_training_step(TrainingSetup(model=llama8b, gpu=h100, seq_len=4096))
    fp8 = estimate_training_step(TrainingSetup(model=llama8b, gpu=h100, seq_len=4096, precision=Precision.FP8))
    assert fp8.breakdown["attention_s"] == pytest.approx(bf16.breakdown["attention_s"])
    assert fp8.breakdown["elementwise_s"] > bf16.breakdown["elementwise_s"]


def test_training_options_reject_unknown_framework():
    from gpucast.inputs.training import TrainingOptions

    with pytest.raises(InputError, match="--framework"):
        TrainingOptions(framework="jax").validate(("aws",))
