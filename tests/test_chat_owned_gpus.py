""" "We have 8 H100s running Llama 3.1 8B: how much can they serve?" The GPUs a serving conversation says it has are
read and answered beside the plan: the replicas of the plan's layout they hold and the traffic those serve within
the targets, the number `gpucast estimate --slo-capacity` gives for that fleet (the real ``gpucast chat``)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import gpucast_exe
from gpucast.chat.parse import extract
from test_chat_session import chat


def test_a_gpu_count_is_a_fleet_when_serving_and_the_run_size_when_fine_tuning() -> None:
    assert (
        extract("we have 8 h100s running llama 3.1 8b, how many requests per second can they serve?")["owned_gpus"] == 8
    )
    training = extract("fine-tune llama 8b on 8 gpus")
    assert training["num_gpus"] == 8 and "owned_gpus" not in training


def test_the_owned_fleets_capacity_is_what_estimate_slo_capacity_gives() -> None:
    script = ["we have 8 H100s running llama 3.1 8b on aws, how many requests per second can they serve?", "",
              "1.5x", "1000 in 300 out", "2 s", "yes", "done"]  # fmt: skip
    result = chat(stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    words = " ".join(result.stdout.split())
    said = re.search(r"Your 8 x H100-SXM hold 8 replicas of the plan's TP=1 layout: within the targets they serve up "
                     r"to ([\d,.]+) requests/s", words)  # fmt: skip
    assert said, words
    done = subprocess.run([*gpucast_exe(), "estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "8",
                           "--tp", "1", "--input-tokens", "1000", "--output-tokens", "300", "--max-model-len", "4096",
                           "--slo-capacity", "--json"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    capacity = json.loads(done.stdout)["requests_per_s"]
    assert float(said[1].replace(",", "")) == pytest.approx(capacity, rel=0.005)  # shown to 3 figures
    assert "enough for the plan's 2 replicas" in words


def test_too_few_gpus_for_one_replica_are_said() -> None:
    script = ["we have 2 L4s for llama 3.1 70b", "", "", "", "", "yes", "done"]
    result = chat(stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    words = " ".join(result.stdout.split())
    assert re.search(r"Your 2 x L4: one replica of this plan needs \d+ \(TP=\d+", words), words
