"""Every model and GPU the issue-20 catalog adds loads and plans through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gpucast.catalog import loader

# (model id, a GPU it fits on): together they use every new GPU
NEW_MODELS = [
    ("gpt-oss-20b", "rtx-5090"),
    ("gpt-oss-120b", "h100"),
    ("deepseek-v3.1", "h200"),
    ("deepseek-v3.2", "b300"),
    ("kimi-k2", "gb300"),
    ("glm-4.5", "mi355x"),
    ("glm-4.6", "b200"),
    ("glm-4.5-air", "h20"),
    ("qwen3-next-80b-a3b", "h200"),
    ("qwen3-coder-480b-a35b", "b200"),
    ("gemma-3-1b", "l4"),
    ("gemma-3-4b", "rtx-3090"),
    ("gemma-3-12b", "rtx-4090"),
    ("gemma-3-27b", "l20"),
    ("mistral-small-3.1-24b", "l40s"),
    ("mistral-small-3.2-24b", "a100-80gb-sxm"),
]
NEW_GPUS = {"b300", "gb300", "mi355x", "h20", "l20", "rtx-3090", "rtx-5090"}
FP4_GPUS = {"b300", "gb300", "mi355x", "rtx-5090"}


def test_the_smoke_runs_cover_every_new_gpu() -> None:
    assert {gpu for _, gpu in NEW_MODELS} >= NEW_GPUS
    assert set(loader.load_gpus()) >= NEW_GPUS


@pytest.mark.parametrize("gpu_id", sorted(NEW_GPUS))
def test_new_gpus_state_their_fp4_path(gpu_id: str) -> None:
    gpu = loader.load_gpus()[gpu_id]
    assert gpu.supports("fp4") == (gpu_id in FP4_GPUS)
    assert gpu.source.startswith("https://") and gpu.as_of


@pytest.mark.parametrize(("model_id", "gpu_id"), NEW_MODELS)
def test_new_model_plans(model_id: str, gpu_id: str) -> None:
    command = [sys.executable, "-m", "gpucast", "inference", "--model", model_id, "--gpu", gpu_id, "--rps", "1"]
    command += ["--input-tokens", "1000", "--output-tokens", "200", "--json"]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert plan["model"]["id"] == model_id
    resources = plan["gpu_resources"]
    assert resources["recommended_gpu_type"] == loader.resolve_gpu(gpu_id).name
    assert resources["total_gpus"] >= 1 and resources["kv_cache_tokens"] > 0
