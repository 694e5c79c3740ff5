"""End-to-end: the installed ``gpucast`` command, as users run it."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from conftest import gpucast_exe
from test_api import _schema

SEED_FLAGS = [
    "--mode",
    "inference",
    "--rps",
    "10.0",
    "--input-tokens",
    "500",
    "--output-tokens",
    "200",
    "--model-size",
    "70",
    "--precision",
    "FP16",
    "--gpu-type",
    "H100-80GB",
    "--cost",
]


def run(*args: str, stdin: str | None = None, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, input=stdin, timeout=60, cwd=cwd)


def test_seed_forecast_command_prints_a_plan():
    result = run("forecast", *SEED_FLAGS)
    assert result.returncode == 0, result.stderr
    for section in ("GPU resources", "Throughput and latency", "Scaling", "Cost", "Recommendation"):
        assert section in result.stdout


def test_json_output_has_seed_fields_and_matches_schema():
    result = run("forecast", *SEED_FLAGS, "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    jsonschema.validate(plan, _schema())
    assert plan["gpu_resources"]["recommended_gpu_type"] == "H100-SXM"
    assert plan["inputs"]["precision"] == "FP16"
    assert plan["versions"]["gpucast"]


def test_output_file_is_the_json(tmp_path):
    out = tmp_path / "plan.json"
    result = run(
        "inference",
        "--model",
        "llama-3.1-8b",
        "--rps",
        "5",
        "--input-tokens",
        "1000",
        "--output-tokens",
        "300",
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["gpu_resources"]["total_gpus"] >= 1


def test_generated_config_is_accepted_as_is_and_flags_override(tmp_path):
    config = tmp_path / "inference_config.json"
    assert run("forecast", "--generate-config", "inference", "--output", str(config)).returncode == 0
    base = run("forecast", "--config", str(config), "--json", cwd=str(tmp_path))
    assert base.returncode == 0, base.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inference_config.json"]  # no file written unasked
    override = run("forecast", "--config", str(config), "--rps", "20.0", "--json", cwd=str(tmp_path))
    assert json.loads(base.stdout)["inputs"]["requests_per_second"] == 10.0
    assert json.loads(override.stdout)["inputs"]["requests_per_second"] == 20.0


def test_training_template_is_accepted_as_is(tmp_path):
    config = tmp_path / "training_config.json"
    assert run("forecast", "--generate-config", "training", "--output", str(config)).returncode == 0
    assert json.loads(config.read_text())["mode"] == "training"
    result = run("forecast", "--config", str(config), "--json", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["kind"] == "training" and plan["training_metrics"]["estimated_duration_hours"] > 0
    missing = run("forecast", "--mode", "training", "--dataset-size", "1000000", "--model-size", "7")
    assert missing.returncode == 2 and "--sequence-length is required" in missing.stderr


def test_explain_shows_formulas():
    result = run(
        "inference",
        "--model",
        "llama-3.1-8b",
        "--rps",
        "5",
        "--input-tokens",
        "500",
        "--output-tokens",
        "200",
        "--gpu",
        "L4",
        "--explain",
    )
    assert result.returncode == 0, result.stderr
    assert "KV bytes per token" in result.stdout and "Little's law" in result.stdout


def test_compare_ranks_gpus(tmp_path):
    result = run(
        "compare",
        "--model",
        "llama-3.1-8b",
        "--rps",
        "5",
        "--input-tokens",
        "500",
        "--output-tokens",
        "200",
        "--precisions",
        "BF16,FP8",
        "--clouds",
        "aws,gcp",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {r["cloud"] for r in rows} == {"aws", "gcp"}
    assert {r["precision"] for r in rows} == {"BF16", "FP8"}


@pytest.mark.parametrize("command", ["models", "gpus"])
def test_catalog_tables(command):
    assert run(command).returncode == 0
    assert len(json.loads(run(command, "--json").stdout)) >= 18


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "gpucast", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "gpucast" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rps", "-5"], "--rps"),
        (["--rps", "0"], "greater than 0"),
        (["--rps", "abc"], "invalid float value"),
        (["--input-tokens", "0"], "--input-tokens"),
        (["--gpu-type", "H900"], "H900"),
        (["--model", "llama-9000"], "not in the catalog"),
        (["--precision", "FP12"], "'FP12' is not one of FP32, FP16, BF16, FP8, INT8, INT4, FP4"),
        (["--cloud", "ibm"], "--cloud 'ibm'"),
        (["--pricing", "cheap"], "--pricing"),
        (["--context-window", "300"], "smaller than input + output"),
        (["--config", "/nonexistent.json"], "cannot be read"),
        (["--model-config", "/nonexistent/config.json"], "cannot be read"),
        (["--model", "llama-3.1-405b", "--gpu", "T4", "--precision", "FP32"], "cannot be served"),
        (["--tp", "3"], "power of two"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    base = ["inference", "--rps", "10", "--input-tokens", "500", "--output-tokens", "200"]
    if not any(a in args for a in ("--model", "--model-config")):
        base += ["--model-size", "7"]
    result = run(*base, *args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"mode": "inference", "workload": {"rps": 3}}', "unknown key 'workload.rps'"),
        ('{"mode": "inference", "extra": {}}', "unknown key 'extra'"),
        ('{"mode": "serve"}', "mode 'serve'"),
        ("[1, 2]", "top level must be a JSON object"),
        (
            '{"workload": {"requests_per_second": "ten", "avg_input_tokens": 5, "avg_output_tokens": 5},'
            ' "model": {"model_size_billions": 7}}',
            "must be a number",
        ),
    ],
)
def test_bad_config_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run("forecast", "--config", str(path))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_model_config_json_from_disk(tmp_path):
    cfg = {
        "model_type": "llama",
        "num_hidden_layers": 32,
        "hidden_size": 4096,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 14336,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
    }
    folder = tmp_path / "my-llama"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(cfg))
    result = run(
        "inference",
        "--model-config",
        str(folder / "config.json"),
        "--rps",
        "2",
        "--input-tokens",
        "100",
        "--output-tokens",
        "100",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["model"]["name"] == "my-llama"
    assert plan["model"]["total_params_b"] == pytest.approx(8.03, abs=0.01)


def test_inference_refuses_a_training_config(tmp_path):
    """`gpucast inference --config` of a training config planned a training run (the config's mode won over the
    command); `training` and `forecast` take it, `inference` says which command does."""
    config = tmp_path / "training_config.json"
    assert run("forecast", "--generate-config", "training", "--output", str(config)).returncode == 0
    result = run("inference", "--config", str(config), "--json", cwd=str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert "is a training config (mode 'training'): `gpucast inference` plans serving" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert run("training", "--config", str(config), "--json", cwd=str(tmp_path)).returncode == 0


def test_training_refuses_an_inference_config(tmp_path):
    """The mirror: `gpucast training --config` of an inference config said "--dataset-size is required", as if the
    file were a training config missing a key; now it names the config's mode and the command that plans it."""
    config = tmp_path / "inference_config.json"
    assert run("forecast", "--generate-config", "inference", "--output", str(config)).returncode == 0
    result = run("training", "--config", str(config), "--json", cwd=str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert "is an inference config (mode 'inference'): `gpucast training` plans training" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
