"""Models given by their shape (``--layers --hidden --heads ...``) and the Megatron/NeMo shapes in the catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpucast.catalog import loader
from gpucast.catalog.hf_config import model_from_shape
from gpucast.core.params import count_parameters
from gpucast.errors import InputError

ROOT = Path(__file__).resolve().parents[1]

LLAMA_31_8B = {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn": 14336, "vocab": 128256}


def test_shape_flags_give_the_same_model_as_the_catalog_entry() -> None:
    shaped = model_from_shape(LLAMA_31_8B)
    catalog = loader.resolve_model("llama-3.1-8b")
    for field in ("num_layers", "hidden_size", "num_heads", "num_kv_heads", "head_dim", "intermediate_size",
                  "vocab_size", "gated_mlp", "mlp_bias", "attention_bias", "num_experts"):  # fmt: skip
        assert getattr(shaped, field) == getattr(catalog, field), field
    assert count_parameters(shaped) == count_parameters(catalog)


def test_plain_mlp_by_hand() -> None:
    # Nemotron-3 8B (NeMo Nemotron3Config8B): 32 x (4 x 4096^2 attention + 2 x 4096 x 16384 MLP + 2 x 4096 norms)
    # + 2 x 256000 x 4096 embeddings + 4096 final norm
    spec = model_from_shape({"layers": 32, "hidden": 4096, "heads": 32, "ffn": 16384, "vocab": 256000, "mlp": "plain"})
    expected = 32 * (4 * 4096**2 + 2 * 4096 * 16384 + 2 * 4096) + 2 * 256000 * 4096 + 4096
    assert count_parameters(spec).total == expected == 8_539_869_184


def test_moe_shape_by_hand() -> None:
    # Mixtral-8x7B's shape: 46.7B total, 12.9B active (model card)
    spec = model_from_shape(
        {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn": 14336, "vocab": 32000,
         "experts": 8, "active_experts": 2}
    )  # fmt: skip
    counts = count_parameters(spec)
    assert counts.total == pytest.approx(46.7e9, rel=0.01)
    assert counts.active == pytest.approx(12.9e9, rel=0.01)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ({"layers": 2, "hidden": 4000, "heads": 48, "vocab": 100}, "--hidden 4000 is not divisible by --heads 48"),
        (
            {"layers": 2, "hidden": 4096, "heads": 32, "kv_heads": 5, "vocab": 100},
            "--kv-heads 5 must divide --heads 32",
        ),
        ({"layers": 2, "hidden": 4096, "heads": 32, "kv_heads": 64, "vocab": 100}, "--kv-heads 64 must divide"),
        ({"layers": 2, "hidden": 4096, "heads": 32}, "--vocab is required"),
        ({"hidden": 4096, "heads": 32, "vocab": 100}, "--layers is required"),
        ({"layers": 0, "hidden": 4096, "heads": 32, "vocab": 100}, "--layers 0 must be a whole number"),
        ({"layers": 2, "hidden": 4096, "heads": 32, "vocab": 100, "mlp": "swish"}, "--mlp 'swish' is not one of"),
        ({"layers": 2, "hidden": 4096, "heads": 32, "vocab": 100, "experts": 8}, "--experts 8 needs --active-experts"),
        ({"layers": 2, "hidden": 4096, "heads": 32, "vocab": 100, "active_experts": 2}, "--active-experts needs"),
        (
            {"layers": 2, "hidden": 4096, "heads": 32, "vocab": 100, "experts": 4, "active_experts": 5},
            "--active-experts 5 must be between 1 and --experts 4",
        ),
        ({"layers": 2, "hidden": 64, "heads": 1, "vocab": 100, "width": 3}, "unknown shape key 'width'"),
    ],
)
def test_inconsistent_shapes_are_one_line_errors(shape: dict, message: str) -> None:
    with pytest.raises(InputError, match=message) as error:
        model_from_shape(shape)
    assert "\n" not in str(error.value)


@given(
    heads=st.integers(1, 64),
    head_dim=st.sampled_from([32, 64, 128]),
    groups=st.integers(1, 8),
    layers=st.integers(1, 8),
)
def test_consistent_shapes_always_build(heads: int, head_dim: int, groups: int, layers: int) -> None:
    kv = max(1, heads // groups)
    if heads % kv:
        kv = heads
    spec = model_from_shape(
        {"layers": layers, "hidden": heads * head_dim, "heads": heads, "kv_heads": kv, "vocab": 1000}
    )
    assert spec.head_dim == head_dim and spec.num_kv_heads == kv
    assert count_parameters(spec).total > 0


# --------------------------------------------------------------------------- catalog shapes (published counts)

PUBLISHED_B = {  # published totals (models.toml cites each); counted totals must be within 2%
    "gpt3-5b": 5.0,
    "gpt3-20b": 20.0,
    "gpt3-175b": 175.0,  # Brown et al. 2020, Table 2.1
    "nemotron-4-15b": 15.7,  # 3.2B embedding + 12.5B non-embedding (arXiv 2402.16819)
    "nemotron-4-340b": 340.0,  # arXiv 2406.11704
}


@pytest.mark.parametrize("model_id", sorted(PUBLISHED_B))
def test_new_catalog_shapes_within_2_percent(model_id: str) -> None:
    spec = loader.resolve_model(model_id)
    assert count_parameters(spec).total == pytest.approx(PUBLISHED_B[model_id] * 1e9, rel=0.02)


def test_gpt3_175b_by_hand() -> None:
    # 96 x (12 h^2 attention + MLP, + q/k/v biases 3h + MLP biases 4h + h + 2 LayerNorms 4h) + tied 50304 x h + h
    h = 12288
    layer = 12 * h * h + 3 * h + 5 * h + 4 * h
    assert count_parameters(loader.resolve_model("gpt3-175b")).total == 96 * layer + 50304 * h + h


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "gpucast", *args], capture_output=True, text=True, env=env, check=False
    )


ESTIMATE = ("training-estimate", "--gpu", "H100", "--num-gpus", "8", "--seq-len", "4096", "--micro-batch", "1",
            "--json")  # fmt: skip


def test_cli_shape_flags_match_the_named_model() -> None:
    shaped = _cli(*ESTIMATE, *[f"--{k.replace('_', '-')}={v}" for k, v in LLAMA_31_8B.items()])
    named = _cli(*ESTIMATE, "--model", "llama-3.1-8b")
    assert shaped.returncode == named.returncode == 0, shaped.stderr
    a, b = json.loads(shaped.stdout), json.loads(named.stdout)
    assert a["tokens_per_s"] == b["tokens_per_s"] and a["memory_per_gpu_gb"] == b["memory_per_gpu_gb"]
    assert a["model"].startswith("custom (32 layers, hidden 4096")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--layers", "4", "--hidden", "4000", "--heads", "48", "--vocab", "100"), "--hidden 4000 is not divisible"),
        (("--model", "llama-3.1-8b", "--layers", "4"), "give only one of --model"),
        (("--layers", "4"), "--hidden is required with the shape flags"),
    ],
)
def test_cli_bad_shapes_exit_2_in_one_line(flags: tuple[str, ...], message: str) -> None:
    done = _cli(*ESTIMATE, *flags)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_cli_training_plan_takes_a_shape() -> None:
    done = _cli("training", "--layers", "24", "--hidden", "4096", "--heads", "32", "--vocab", "50304", "--mlp", "plain",
                "--gpu-type", "H100", "--dataset-size", "1000000000", "--sequence-length", "2048", "--epochs", "1",
                "--global-batch-size", "256", "--num-gpus", "8", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["model"]["total_params_b"] == pytest.approx(5.2, abs=0.05)  # untied: 5.04 + 0.21 lm_head
