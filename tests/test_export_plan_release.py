"""An export launches what the plan was sized for: the plan's step token budget and, where gpucast holds its flags,
the plan's engine release (the real CLI: plan to a file, then export it)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import gpucast_exe

WORKLOAD = ("--model", "llama-3.1-8b", "--rps", "5", "--input-tokens", "1000", "--output-tokens", "200")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, timeout=120)


def _plan(tmp_path: Path, *flags: str) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "plan.json"
    done = _run("inference", *WORKLOAD, *flags, "--json", "--output", str(path))
    assert done.returncode == 0, done.stderr
    return path, json.loads(path.read_text(encoding="utf-8"))


def _export(path: Path, engine: str, *flags: str) -> dict[str, Any]:
    done = _run("export", engine, str(path), "--json", *flags)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_a_v0_plan_exports_the_budget_it_was_sized_with(tmp_path: Path) -> None:
    # vLLM 0.6.3 profiles and steps without chunked prefill at a 4k context: whole prompts, max(4,096, 2,048) tokens
    # a step; its plain default budget is 2,048 (what the export wrote before the plan recorded its own)
    path, plan = _plan(tmp_path, "--gpu", "H100", "--engine", "vllm", "--engine-version", "0.6.3")
    planned = plan["gpu_resources"]["max_batched_tokens"]
    assert planned == 4096
    assert f"prefill of up to {planned:,} tokens a step" in " ".join(plan["assumptions"])
    launch = _export(path, "vllm")
    assert _value(launch["argv"], "--max-num-batched-tokens") == "4096"
    assert any("the one the plan was sized with" in note for note in launch["notes"])
    # gpucast holds no 0.6.3 flags: the current release's, said so
    assert launch["version"] == "0.34.0"
    assert any("sized for vLLM 0.6.3" in warning for warning in launch["warnings"])
    # another engine launches the same step budget under its own flag name
    assert _value(_export(path, "sglang")["argv"], "--chunked-prefill-size") == "4096"


@pytest.mark.parametrize(("gpu", "budget"), [("L4", "2048"), ("H100", "8192")])
def test_a_current_plan_exports_the_engines_default_without_a_note(tmp_path: Path, gpu: str, budget: str) -> None:
    path, plan = _plan(tmp_path, "--gpu", gpu, "--engine", "vllm")
    assert str(plan["gpu_resources"]["max_batched_tokens"]) == budget  # vLLM 0.9+: 2,048 under 70 GiB, else 8,192
    launch = _export(path, "vllm")
    assert _value(launch["argv"], "--max-num-batched-tokens") == budget
    assert not any("step token budget" in note for note in launch["notes"])
    assert not launch["warnings"]


def test_a_plan_for_a_release_gpucast_holds_exports_that_release(tmp_path: Path) -> None:
    path, _ = _plan(tmp_path, "--gpu", "H100", "--engine", "vllm", "--engine-version", "0.10.2")
    assert _export(path, "vllm")["version"] == "0.10.2"
    assert _export(path, "vllm", "--engine-version", "0.34.0")["version"] == "0.34.0"  # the flag still decides
    assert _export(path, "sglang")["version"] == "0.5.23"  # another engine: its current release


def test_a_plan_file_without_the_budget_falls_back_to_the_engines_default(tmp_path: Path) -> None:
    path, plan = _plan(tmp_path, "--gpu", "L4", "--engine", "vllm")
    del plan["gpu_resources"]["max_batched_tokens"]  # a plan file written before the field
    path.write_text(json.dumps(plan), encoding="utf-8")
    assert _value(_export(path, "vllm")["argv"], "--max-num-batched-tokens") == "2048"


def test_an_old_v0_plan_file_without_the_budget_exports_the_one_its_release_was_sized_with(tmp_path: Path) -> None:
    # a vLLM 0.6.3 plan file written before the field: the fallback was the GPU rule alone (0.6.3 predates it: the
    # plain 2,048), while the plan stepped by whole prompts, max(4,096, 2,048) tokens (core.engine_releases)
    path, plan = _plan(tmp_path, "--gpu", "H100", "--engine", "vllm", "--engine-version", "0.6.3")
    assert plan["gpu_resources"].pop("max_batched_tokens") == 4096
    path.write_text(json.dumps(plan), encoding="utf-8")
    launch = _export(path, "vllm")
    assert _value(launch["argv"], "--max-num-batched-tokens") == "4096"
    assert any("step token budget 4,096: the one the plan was sized with" in note for note in launch["notes"])
    assert _value(_export(path, "trtllm")["argv"], "--max_num_tokens") == "4096"  # the plan's engine's budget
