"""End-to-end: agent workloads through the installed ``gpucast`` command, flags and config files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from test_api import _schema
from test_cli import run

DATA = Path(__file__).parent / "data" / "agent"
AGENT_FLAGS = [
    "--model", "llama-3.1-8b", "--gpu-type", "H100", "--tasks-per-second", "2", "--calls-per-task", "6",
    "--shared-prefix-tokens", "2000", "--context-growth-tokens", "800", "--output-tokens", "200",
    "--think-time-s", "5", "--tp", "1",
]  # fmt: skip
COMPARE_FLAGS = [*AGENT_FLAGS[:2], *AGENT_FLAGS[4:]]  # compare names its GPUs with --gpus, not also --gpu-type


def _json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_agent_flags_give_the_agent_section():
    plan = _json("inference", *AGENT_FLAGS)
    agent = plan["agent"]
    assert agent["calls_per_second"] == pytest.approx(12.0)
    # 2000 + 800 x 7/2 + 200 x 5/2 = 5300 tokens per call on average
    assert agent["mean_input_tokens_per_call"] == pytest.approx(5300)
    assert 0 < agent["prefix_cache_hit_rate"] <= agent["reusable_fraction"] <= 1
    assert plan["inputs"]["requests_per_second"] == pytest.approx(12.0)
    jsonschema.validate(plan, _schema())


def test_no_prefix_caching_flag():
    on = _json("inference", *AGENT_FLAGS)
    off = _json("inference", *AGENT_FLAGS, "--no-prefix-caching")
    assert off["agent"]["prefix_cache_hit_rate"] == 0 and not off["agent"]["prefix_caching"]
    assert off["gpu_resources"]["total_gpus"] >= on["gpu_resources"]["total_gpus"]
    assert off["throughput"]["estimated_ttft_ms"] > on["throughput"]["estimated_ttft_ms"]


def test_agent_config_file_end_to_end(tmp_path):
    output = tmp_path / "plan.json"
    result = run("inference", "--config", str(DATA / "agent.json"), "--output", str(output))
    assert result.returncode == 0, result.stderr
    for section in ("Agent workload", "Speculative decoding", "Disaggregated prefill/decode", "Task latency"):
        assert section in result.stdout
    plan = json.loads(output.read_text())
    assert plan["agent"]["tasks_per_second"] == 0.5 and plan["agent"]["calls_per_task"] == 8
    assert plan["agent"]["task_latency_slo_ms"] == 180000
    assert plan["speculative"]["draft_tokens"] == 3
    assert plan["disaggregation"]["winner"] in ("unified", "disaggregated")
    jsonschema.validate(plan, _schema())


def test_flags_override_the_agent_config():
    plan = _json("inference", "--config", str(DATA / "agent.json"), "--calls-per-task", "4")
    assert plan["agent"]["calls_per_task"] == 4
    assert plan["agent"]["calls_per_second"] == pytest.approx(2.0)


def test_seed_forecast_command_takes_the_agent_config():
    plan = _json("forecast", "--config", str(DATA / "agent.json"))
    assert plan["agent"]["calls_per_second"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calls-per-task", "-3"], "calls_per_task (--calls-per-task) -3.0 must be greater than 0"),
        (["--think-time-s", "-1"], "think_time_s"),
        (["--calls-distribution", "zipf"], "is not one of fixed, geometric"),
        (["--rps", "5"], "--rps (workload.requests_per_second) is derived from the agent workload"),
        (["--speculative-tokens", "2"], "--acceptance-rate is required"),
    ],
)
def test_bad_agent_flags_exit_2_with_one_line(args, message):
    result = run("inference", *AGENT_FLAGS, *args)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_context_beyond_the_window_exits_2():
    result = run("inference", "--config", str(DATA / "too_long.json"))
    assert result.returncode == 2
    assert "beyond Llama-3.1-8B's 131072-token window" in result.stderr


def test_unknown_agent_key_in_config(tmp_path):
    config = json.loads((DATA / "agent.json").read_text())
    config["agent"]["calls"] = 3
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    result = run("inference", "--config", str(path))
    assert result.returncode == 2 and "agent.calls" in result.stderr


def test_compare_includes_the_options_and_says_which_wins():
    result = run(
        "compare", *COMPARE_FLAGS, "--gpus", "H100,A100-80GB", "--speculative-tokens", "3", "--acceptance-rate",
        "0.7", "--disaggregation",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Best:" in result.stdout
    rows = json.loads(
        run("compare", *COMPARE_FLAGS, "--gpus", "H100", "--speculative-tokens", "3", "--acceptance-rate", "0.7",
            "--disaggregation", "--json").stdout
    )  # fmt: skip
    variants = {r["variant"] for r in rows}
    assert {"base", "kv-fp8", "no-prefix-cache", "no-speculation"} <= variants
    by = {r["variant"]: r for r in rows if r["variant"] != "disaggregated"}
    # FP8 KV halves the bytes per token: never fewer GPUs needed than with BF16 KV
    assert by["kv-fp8"]["total_gpus"] <= by["base"]["total_gpus"]
    assert by["kv-fp8"]["kv_precision"] == "FP8" and by["base"]["kv_precision"] == "FP16"
    assert by["no-prefix-cache"]["total_gpus"] >= by["base"]["total_gpus"]


def test_compare_without_agent_inputs_has_only_base_rows():
    rows = json.loads(
        run("compare", "--model", "llama-3.1-8b", "--rps", "2", "--input-tokens", "500", "--output-tokens", "100",
            "--gpus", "H100", "--json").stdout
    )  # fmt: skip
    assert rows and {r["variant"] for r in rows} == {"base"}


def test_agent_plan_inputs_rebuild_the_request(tmp_path):
    """A saved agent plan echoes the agent and serving options under the input dataclasses' field names, so
    commands that re-plan from a plan file (exports) get the same request."""
    from gpucast.export.plan_file import inference_inputs_from_plan
    from gpucast.planning.inference import plan_inference

    output = tmp_path / "plan.json"
    assert run("inference", "--config", str(DATA / "agent.json"), "--output", str(output)).returncode == 0
    saved = json.loads(output.read_text())
    again = plan_inference(*inference_inputs_from_plan(saved)).to_dict()
    assert again["agent"] == saved["agent"] and again["gpu_resources"] == saved["gpu_resources"]
    assert run("export", "vllm", str(output)).returncode == 0
