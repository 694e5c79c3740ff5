"""Golden files for the export tests: stored plans in, expected launch commands and manifests out.

``GPUCAST_UPDATE_GOLDEN=1`` rewrites the expected files from the current code (review the diff before
committing); ``GPUCAST_UPDATE_GOLDEN=plans`` also re-runs the planner for the stored plans. A missing plan
is planned with the real CLI (the commands are in :data:`PLANS`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from conftest import gpucast_exe

HERE = Path(__file__).resolve().parent
UPDATE = os.environ.get("GPUCAST_UPDATE_GOLDEN", "")
SERVING = "--input-tokens 500 --output-tokens 200"
PLANS = {  # name -> planning command (the cases: small model on one L4, 70B on TP4 H100, MoE on 8 x H200, LoRA)
    "l4-llama-3.1-8b-fp8": f"inference --model llama-3.1-8b --precision FP8 --rps 1 {SERVING} --gpu-type L4 --cloud gcp",
    "h100-llama-3.1-70b": f"inference --model llama-3.1-70b --rps 10 {SERVING} --gpu-type H100",
    "h200-deepseek-v3-fp8": "inference --model deepseek-v3 --precision FP8 --kv-precision FP8 --rps 5 "
    "--input-tokens 1000 --output-tokens 300 --gpu-type H200",
    # issue 11: an agent plan with prefix caching and a disaggregation comparison; an agent plan without prefix caching
    # and with an EAGLE-3 head; DeepSeek-V3 with its own MTP layers
    "h100-agent-llama-3.1-8b": "inference --model llama-3.1-8b --gpu-type H100 --tasks-per-second 2 --calls-per-task 10 "
    "--shared-prefix-tokens 4000 --context-growth-tokens 800 --output-tokens 300 --disaggregation",
    "l40s-agent-no-cache-eagle": "inference --model llama-3.1-8b --gpu-type L40S --tasks-per-second 1 --calls-per-task 6 "
    "--shared-prefix-tokens 2000 --context-growth-tokens 500 --output-tokens 200 --no-prefix-caching "
    "--speculative-tokens 3 --acceptance-rate 0.7",
    "h200-deepseek-v3-fp8-mtp": "inference --model deepseek-v3 --precision FP8 --kv-precision FP8 --rps 5 "
    "--input-tokens 1000 --output-tokens 300 --gpu-type H200 --speculative-tokens 2 --acceptance-rate 0.8",
    # issue 25: a replica over two nodes (TP 8 x PP 2), a plan whose pools win disaggregated, a --model-size stand-in
    "h100-llama-3.1-405b-tp8pp2": "inference --model llama-3.1-405b --rps 2 --input-tokens 1000 --output-tokens 200 "
    "--gpu-type H100 --tp 8 --pp 2",
    "h100-disagg-llama-3.1-8b": "inference --model llama-3.1-8b --rps 50 --input-tokens 4000 --output-tokens 1000 "
    "--gpu-type H100 --itl-slo-ms 15 --disaggregation",
    "h100-size-70b": f"inference --model-size 70 --rps 5 {SERVING} --gpu-type H100",
    "lora-llama-3.1-8b": "training --model llama-3.1-8b --method lora --dataset-size 100000000 --sequence-length 4096 "
    "--epochs 2 --global-batch-size 64 --gpu-type A100",
    "full-llama-3.1-70b-32gpu": "training --model llama-3.1-70b --method full --num-gpus 32 --dataset-size 2000000000 "
    "--sequence-length 4096 --epochs 1 --global-batch-size 256 --gpu-type H100",
}
INFERENCE = [name for name, command in PLANS.items() if command.startswith("inference")]
TRAINING = [name for name, command in PLANS.items() if command.startswith("training")]


def plan_path(name: str) -> Path:
    path = HERE / "plans" / f"{name}.json"
    if UPDATE == "plans" or not path.exists():
        subprocess.run([*gpucast_exe(), *PLANS[name].split(), "--output", str(path)], check=True,
                       capture_output=True, text=True)  # fmt: skip
    return path


def load(name: str) -> dict[str, Any]:
    return json.loads(plan_path(name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def check(relative: str, actual: str) -> None:
    """Compare ``actual`` with the golden file (or write it when updating or when it does not exist yet)."""
    path = HERE / relative
    if UPDATE or not path.exists():
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{relative} differs from the golden file (GPUCAST_UPDATE_GOLDEN=1 rewrites it)"
