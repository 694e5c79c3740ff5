"""Catalog files: required entries, sources, name resolution, Hugging Face config reading."""

from __future__ import annotations

import json

import pytest

from gpucast.catalog import loader
from gpucast.core.params import count_parameters
from gpucast.errors import ConfigError, UnknownGPUError, UnknownModelError

REQUIRED_GPUS = [
    "A100-40GB", "A100-80GB", "A100-80GB-PCIe", "H100-SXM", "H100-80GB", "H100", "H100-PCIe", "H100-NVL", "H200",
    "B200", "GB200", "GH200", "L40S", "L4", "A10G", "T4", "V100-32GB", "RTX-6000-Ada", "RTX-PRO-6000-Blackwell",
    "MI300X",
]  # fmt: skip


@pytest.mark.parametrize("name", REQUIRED_GPUS)
def test_required_gpus_resolve(name):
    gpu = loader.resolve_gpu(name)
    assert gpu.memory_gib > 0 and gpu.memory_bandwidth_tb_s > 0 and gpu.gpus_per_node >= 1
    assert gpu.peak_flops("fp16") > 0


def test_h100_aliases_are_one_gpu():
    assert {loader.resolve_gpu(n).id for n in ("H100-SXM", "H100-80GB", "H100", "h100 sxm")} == {"h100-sxm"}
    assert loader.resolve_gpu("A100-SXM4-80GB").id == loader.resolve_gpu("A100-80GB").id


@pytest.mark.parametrize("gpu", list(loader.load_gpus().values()), ids=lambda g: g.id)
def test_every_gpu_has_source_and_sane_numbers(gpu):
    assert gpu.source.startswith("http") and gpu.as_of
    assert 8 <= gpu.memory_gib <= 300
    assert 0.2 <= gpu.memory_bandwidth_tb_s <= 10
    assert gpu.interconnect_bandwidth_gb_s > 0
    if "fp8" in gpu.dense_tflops:
        assert gpu.dense_tflops["fp8"] >= gpu.dense_tflops.get("fp16", 0)


def test_hopper_and_blackwell_precision_support():
    assert loader.resolve_gpu("H100").supports("fp8")
    assert not loader.resolve_gpu("A100-80GB").supports("fp8")
    assert loader.resolve_gpu("B200").supports("fp4")
    assert not loader.resolve_gpu("H100").supports("fp4")


def test_prices_reference_known_gpus_and_have_sources():
    prices = loader.load_prices()
    assert {"aws", "gcp", "azure"} <= set(loader.clouds())
    for price in prices:
        assert price.gpu_id in loader.load_gpus()
        # marketplace offers (Vast.ai) have a price range instead of an on-demand price
        assert (price.on_demand_usd_h or price.marketplace_low_usd_h or 0) > 0 and price.gpus >= 1
        assert price.source.startswith("http") and price.as_of
        if price.spot_usd_h is not None:
            assert price.spot_usd_h > 0
    types = {p.instance_type for p in prices}
    assert {"p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge", "g6e.xlarge", "g5.xlarge", "g4dn.xlarge"} <= types
    assert {"a2-highgpu-8g", "a3-highgpu-8g", "g2-standard-4"} <= types


@pytest.mark.parametrize(
    ("spelling", "model_id"),
    [
        ("Llama-3.1-70B", "llama-3.1-70b"),
        ("meta-llama/Llama-3.1-70B-Instruct", "llama-3.1-70b"),
        ("llama3-70b", "llama-3-70b"),
        ("LLAMA-3.1-8B", "llama-3.1-8b"),
        ("mixtral", "mixtral-8x7b"),
        ("deepseek-r1", "deepseek-r1"),
    ],
)
def test_model_spellings(spelling, model_id):
    assert loader.resolve_model(spelling).id == model_id


def test_unknown_names_suggest_close_matches():
    with pytest.raises(UnknownModelError, match="did you mean"):
        loader.resolve_model("llama-3.1-7b")
    with pytest.raises(UnknownGPUError, match="H100"):
        loader.resolve_gpu("H10")


@pytest.mark.parametrize(("name", "first"), [("V100", "V100-SXM2-32GB"), ("mi300", "Instinct MI300X")])
def test_suggestions_read_the_ids_and_aliases_too(name, first):
    """`gpucast gpus` lists v100-32gb, yet "V100" suggested nothing: only the long names (V100-SXM2-32GB) were
    compared. Ids and aliases count now, and a name the input begins comes first."""
    with pytest.raises(UnknownGPUError, match=f"did you mean {first}, "):
        loader.resolve_gpu(name)


def test_hf_config_moe_and_mla(tmp_path):
    deepseek = loader.resolve_model("deepseek-v3")
    cfg = {
        "model_type": "deepseek_v3", "num_hidden_layers": 61, "hidden_size": 7168, "num_attention_heads": 128,
        "num_key_value_heads": 128, "intermediate_size": 18432, "moe_intermediate_size": 2048, "vocab_size": 129280,
        "n_routed_experts": 256, "num_experts_per_tok": 8, "n_shared_experts": 1, "first_k_dense_replace": 3,
        "moe_layer_freq": 1, "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
        "qk_rope_head_dim": 64, "v_head_dim": 128, "max_position_embeddings": 163840,
    }  # fmt: skip
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    spec = loader.read_hf_config(path)
    assert count_parameters(spec).total == count_parameters(deepseek).total
    assert count_parameters(spec).active == count_parameters(deepseek).active


def test_hf_config_errors(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"hidden_size": 4096}')
    with pytest.raises(ConfigError, match="num_hidden_layers"):
        loader.read_hf_config(path)
    path.write_text("[]")
    with pytest.raises(ConfigError, match="JSON object"):
        loader.read_hf_config(path)
