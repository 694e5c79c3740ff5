"""A catalog model whose published checkpoint is quantized (DeepSeek-R1/V3 ship FP8) is planned at that precision
when no precision is given, and the plan says so; a given precision, and every 16-bit model, plan as before."""

from __future__ import annotations

import json

import pytest

from gpucast.catalog.hf_config import checkpoint_precision
from gpucast.catalog.loader import load_models, read_hf_config, resolve_model
from gpucast.cli.main import main
from gpucast.core.specs import Precision
from gpucast.inputs.types import LLMWorkloadInput, ModelConfig
from gpucast.planning.estimate import EstimateRequest, estimate
from gpucast.planning.inference import plan_inference
from gpucast.planning.request import resolve

WORKLOAD = ["--rps", "1", "--input-tokens", "1000", "--output-tokens", "200"]
# DeepSeek-R1's quantization_config (https://huggingface.co/deepseek-ai/DeepSeek-R1/blob/main/config.json)
DEEPSEEK_QUANTIZATION = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                         "weight_block_size": [128, 128]}  # fmt: skip
# llm-compressor FP8 (compressed-tensors), one config group of 8-bit float weights
FP8_WEIGHTS = {"num_bits": 8, "type": "float"}
COMPRESSED_FP8 = {"quant_method": "compressed-tensors", "config_groups": {"group_0": {"weights": FP8_WEIGHTS}}}
NOTE = "Precision FP8: DeepSeek-R1's published checkpoint is FP8 (no --precision given)"


def _plan(capsys: pytest.CaptureFixture[str], *flags: str) -> dict:
    assert main(["inference", "--model", "deepseek-r1", "--gpu", "H200", *WORKLOAD, *flags, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_catalog_marks_only_officially_quantized_releases():
    quantized = {key for key, spec in load_models().items() if spec.checkpoint_precision}
    # DeepSeek, DeepSeek-V3.1/V3.2 and Kimi-K2 publish FP8 (quant_method fp8); gpt-oss publishes MXFP4 experts
    assert quantized == {"deepseek-v3", "deepseek-r1", "deepseek-v3.1", "deepseek-v3.2", "kimi-k2", "gpt-oss-20b",
                         "gpt-oss-120b"}  # fmt: skip
    assert resolve_model("deepseek-r1").checkpoint_precision == "FP8"
    assert resolve_model("llama-3.1-405b").checkpoint_precision == ""  # an FP8 variant exists; the release is BF16


def test_deepseek_r1_without_precision_plans_at_fp8_and_says_why(capsys):
    plan = _plan(capsys)
    assert plan["inputs"]["precision"] == "FP8"
    assert any(NOTE in line for line in plan["assumptions"]), plan["assumptions"]
    fp16 = _plan(capsys, "--precision", "FP16")
    assert fp16["inputs"]["precision"] == "FP16"
    assert not any("Precision FP8" in line for line in fp16["assumptions"])
    # one FP8 copy of the 671B weights fits 8 x H200; at FP16 it needs 16 GPUs per replica
    assert plan["gpu_resources"]["total_gpus"] < fp16["gpu_resources"]["total_gpus"]


def test_seed_forecast_and_config_without_precision_use_the_checkpoint(capsys, tmp_path):
    config = tmp_path / "plan.json"
    config.write_text(json.dumps({"mode": "inference", "model": {"model_name": "deepseek-r1"}}), encoding="utf-8")
    assert main(["forecast", "--config", str(config), "--gpu-type", "H200", *WORKLOAD, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["inputs"]["precision"] == "FP8"
    assert main(["forecast", "--config", str(config), "--gpu-type", "H200", *WORKLOAD, "--precision", "BF16",
                 "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["inputs"]["precision"] == "BF16"


def test_python_api_default_and_16_bit_models_unchanged():
    workload = LLMWorkloadInput(1.0, 1000, 200)
    assert resolve(workload, ModelConfig(model_name="deepseek-v3")).precision is Precision.FP8
    request = resolve(workload, ModelConfig(model_name="llama-3.1-70b"))
    assert request.precision is Precision.FP16 and request.precision_note == ""
    plan = plan_inference(workload, ModelConfig(model_name="llama-3.1-70b"))
    same = plan_inference(workload, ModelConfig(model_name="llama-3.1-70b", precision="FP16"))
    assert plan.to_dict()["inputs"]["precision"] == "FP16"
    assert plan.gpu_resources.total_gpus == same.gpu_resources.total_gpus
    assert plan.assumptions == same.assumptions


def test_rest_body_without_precision_uses_the_checkpoint(tmp_path):
    from fastapi.testclient import TestClient

    from gpucast.web import create_app

    body = {"workload": {"requests_per_second": 1, "avg_input_tokens": 1000, "avg_output_tokens": 200},
            "model": {"model_name": "deepseek-r1"}, "gpu": {"gpu_type": "H200"}}  # fmt: skip
    with TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}")) as client:
        response = client.post("/api/v1/inference", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["inputs"]["precision"] == "FP8"


def test_estimate_without_precision_uses_the_checkpoint_else_bf16():
    request = EstimateRequest(gpu="H200", num_gpus=8, tp=8, input_tokens=1000, output_tokens=200, model="deepseek-r1")
    result = estimate(request)
    assert result.precision == "FP8" and NOTE in result.warnings
    llama = estimate(
        EstimateRequest(gpu="H100", num_gpus=1, input_tokens=1000, output_tokens=200, model="llama-3.1-8b")
    )
    assert llama.precision == "BF16" and not any("Precision" in w for w in llama.warnings)


@pytest.mark.parametrize(
    ("quantization", "expected"),
    [
        (DEEPSEEK_QUANTIZATION, "FP8"),
        ({"quant_method": "mxfp4"}, "MXFP4"),  # gpt-oss
        ({"quant_method": "awq", "bits": 4, "group_size": 128}, "INT4"),
        ({"quant_method": "gptq", "bits": 8}, "INT8"),
        ({"quant_method": "gptq"}, ""),  # width not stated: not a clear case
        ({"quant_method": "modelopt", "quant_algo": "NVFP4"}, "NVFP4"),
        (COMPRESSED_FP8, "FP8"),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True}, ""),
        (None, ""),
    ],
)
def test_quantization_config_maps_to_a_precision(quantization, expected):
    assert checkpoint_precision(quantization) == expected


def test_hf_config_with_fp8_quantization_reads_as_fp8(tmp_path, capsys):
    folder = tmp_path / "DeepSeek-R1"
    folder.mkdir()
    config = {
        "model_type": "deepseek_v3", "num_hidden_layers": 61, "hidden_size": 7168, "num_attention_heads": 128,
        "num_key_value_heads": 128, "intermediate_size": 18432, "vocab_size": 129280, "n_routed_experts": 256,
        "num_experts_per_tok": 8, "n_shared_experts": 1, "moe_intermediate_size": 2048, "first_k_dense_replace": 3,
        "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
        "v_head_dim": 128, "max_position_embeddings": 163840, "quantization_config": DEEPSEEK_QUANTIZATION,
    }  # fmt: skip
    path = folder / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    assert read_hf_config(path).checkpoint_precision == "FP8"
    assert main(["inference", "--model-config", str(path), "--gpu", "H200", *WORKLOAD, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["inputs"]["precision"] == "FP8"
    assert any("config.json declares FP8 weights" in line for line in plan["assumptions"])
