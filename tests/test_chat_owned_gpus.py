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
    assert "enough for the planned peak of 15 requests/s with the plan's 25% safety margin, which takes 2 replicas of " \
        "TP=1." in words  # fmt: skip


def test_too_few_gpus_for_one_replica_are_said() -> None:
    script = ["we have 2 L4s for llama 3.1 70b", "", "", "", "", "yes", "done"]
    result = chat(stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    words = " ".join(result.stdout.split())
    assert re.search(r"Your 2 x L4: one replica of this plan needs \d+ \(TP=\d+", words), words


def _said(message: str) -> str:
    result = chat(stdin=message + "\n")
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())


def _capacity(model: str, gpu: str, num_gpus: int, tp: int, *layout: str) -> float:
    done = subprocess.run([*gpucast_exe(), "estimate", "--model", model, "--gpu", gpu, "--num-gpus", str(num_gpus),
                           "--tp", str(tp), *layout, "--input-tokens", "1000", "--output-tokens", "300",
                           "--max-model-len", "4096", "--slo-capacity", "--json"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return float(json.loads(done.stdout)["requests_per_s"])


def test_the_owned_gpus_are_laid_out_for_the_most_traffic_not_as_the_plans_cheapest_layout() -> None:
    # the plan picks TP=2 for a light load (cheapest); 8 H100s were answered as 4 TP=2 replicas, 6.13 requests/s,
    # while 2 replicas of TP=4 serve 15.9 within the same targets (with vLLM 0.34's measured KV sizing TP=2 holds
    # more KV cache: 4 x TP=2 serve 10.3, still well below)
    words = _said("llama 3.1 70b, 50M tokens a day, we have 8 H100s")
    said = re.search(r"Your 8 x H100-SXM serve up to ([\d,.]+) requests/s within the targets as 2 replicas of TP=4 ",
                     words)  # fmt: skip
    assert said, words
    assert float(said[1]) == pytest.approx(_capacity("llama-3.1-70b", "H100", 8, 4), rel=0.005)
    assert _capacity("llama-3.1-70b", "H100", 8, 4) > 1.4 * _capacity("llama-3.1-70b", "H100", 8, 2)
    assert "the plan's TP=2 layout would hold 4 replicas serving" in words
    # 3 H100s: "too few for one replica" of the plan's TP=4, while one TP=2 replica fits (20 req/s: at 5 the plan
    # itself takes TP=2 now that vLLM 0.34 sizes its KV cache from the memory free after warmup)
    words = _said("llama 3.1 70b, 20 req/s, we have 3 H100s")
    assert re.search(r"Your 3 x H100-SXM serve up to [\d.]+ requests/s within the targets as 1 replica of TP=2, 1 GPU "
                     r"left over .* short of the planned peak of 30 requests/s", words), words  # fmt: skip
    assert "one replica of the plan's TP=4 needs 4" in words


def test_owned_gpus_of_another_type_than_the_plans_are_sized_as_that_type() -> None:
    # "plan on H100; we have 8 A100s" was answered as 8 H100s with the H100 plan's capacity
    words = _said("llama 3.1 70b on H100, 2 req/s, we have 8 A100s")
    assert "you have 8 x A100-SXM4-40GB" in words
    assert "Yours: 8 x A100-SXM4-40GB (not a plan setting; what they serve is said after the plan)" in words
    said = re.search(r"Your 8 x A100-SXM4-40GB \(not the plan's H100-SXM\) serve up to ([\d.]+) requests/s within the "
                     r"targets as 1 replica of TP=8", words)  # fmt: skip
    assert said, words
    assert float(said[1]) == pytest.approx(_capacity("llama-3.1-70b", "A100", 8, 8), rel=0.005)
    assert "Your 8 x H100-SXM" not in words


@pytest.mark.parametrize(("text", "count", "guess"), [
    ("we have eight H100s", 8, False),  # number words lost their space ("have8 h100s"): no count was read
    ("we have 2 nodes of 8 H100s", 16, False),  # was 8
    ("we have 2 x 8 H100", 16, False),  # was none
    ("we have 2 DGX H100 boxes", 16, False),  # was 2: a DGX H100 holds 8 GPUs
    ("we own two H100 nodes", 16, True),  # was none: 8 a node, said back as a guess
    ("we have an 8xH100 node", 8, False),  # was 64: 8 nodes of a guessed 8
    ("we have 2 8xH100 nodes", 16, False),
    ("we have two 8-GPU H100 nodes", 16, False),  # was none
    ("we have a single H100", 1, False),
    ("we have an H100", 1, False),  # an article after a word of having is a count (was none)
    ("I've got a pair of H100s", 2, False),  # was none
])  # fmt: skip
def test_gpus_said_in_words_or_as_whole_machines_are_counted(text: str, count: int, guess: bool) -> None:
    found = extract(text)
    assert found["owned_gpus"] == count and found["owned_gpu"] == "h100-sxm", found
    assert bool(found.get("_unsure")) == guess
    assert extract(f"fine-tune llama 3.1 8b, {text}")["num_gpus"] == count


def test_number_words_keep_the_space_before_them() -> None:
    from gpucast.chat.numbers import digits_for_words

    assert digits_for_words("serve at twenty five rps, we have eight gpus") == "serve at 25 rps, we have 8 gpus"


@pytest.mark.parametrize(("text", "count", "gpu"), [
    ("we have one 4090", 1, "rtx-4090"),  # "1 4090" once number words are digits: no GPU was read
    ("we have 2 4090s", 2, "rtx-4090"),
    ("can I run it on my 4090", 1, "rtx-4090"),
    ("we have a couple of A100s", 2, "a100-40gb"),  # read as 2 (the normalizer asks it back in the conversation)
])  # fmt: skip
def test_desk_cards_and_small_counts_in_words_are_an_owned_fleet(text: str, count: int, gpu: str) -> None:
    found = extract(text)
    assert (found["owned_gpus"], found["owned_gpu"]) == (count, gpu), found


def test_an_article_names_the_gpu_to_plan_on_not_a_fleet() -> None:
    assert "owned_gpus" not in extract("serve llama 3.1 8b on an H100")
    assert "owned_gpus" not in extract("serve llama 3.1 8b on my H100s")


def test_one_desk_card_is_sized_through_the_conversation() -> None:
    words = _said("serve llama 3.1 8b on one 4090")
    assert "Yours: 1 x GeForce RTX 4090" in words
    # the plan spreads the load over TP=2 replicas; one card holds one TP=1 replica of the 16 GB of FP16 weights
    assert re.search(r"Your 1 x GeForce RTX 4090 serves up to [\d.]+ requests/s within the targets as 1 replica of "
                     r"TP=1 ", words), words  # fmt: skip


def test_a_moe_fleet_is_laid_out_with_the_expert_and_attention_parallel_layouts_the_planner_searches() -> None:
    # DeepSeek-V3 on 16 H200s: the answer searched TP only (2 replicas of TP=8); 2 replicas of TP=8 EP=8
    # DP-attention=8 serve about 1.7x as much within the same targets (the layouts core.search tries for a MoE model)
    words = _said("serve deepseek v3 on H200 on aws, 5 rps, 1000 in 300 out, we have 16 H200s")
    said = re.search(r"Your 16 x H200-SXM serve up to ([\d.]+) requests/s within the targets as 2 replicas of TP=8 "
                     r"EP=8 DP-attention=8 ", words)  # fmt: skip
    assert said, words
    moe = _capacity("deepseek-v3", "H200", 16, 8, "--ep", "8", "--dp-attention", "8")
    assert float(said[1]) == pytest.approx(moe, rel=0.005)
    assert moe > 1.3 * _capacity("deepseek-v3", "H200", 16, 8)
    assert "the plan's TP=8 layout would hold 2 replicas serving" in words
    # owned GPUs of another type than the plan's are searched the same way
    words = _said("serve qwen3 30b a3b on H100s, 2 rps; we have 8 A100s")
    said = re.search(r"Your 8 x A100-SXM4-40GB \(not the plan's H100-SXM\) serve up to ([\d.]+) requests/s within "
                     r"the targets as 2 replicas of TP=4 EP=4 DP-attention=4", words)  # fmt: skip
    assert said, words
    assert float(said[1]) == pytest.approx(
        _capacity("qwen3-30b-a3b", "A100", 8, 4, "--ep", "4", "--dp-attention", "4"), rel=0.005
    )


def test_enough_is_one_rule_for_the_plans_layout_and_any_other() -> None:
    # one replica serving the peak many times over holds fewer than the 2 replicas the plan keeps for availability:
    # the plan's layout was "short of the plan's 2 replicas" while another layout's one replica was "enough"
    words = _said("serve llama 3.1 8b on H100, 0.5 rps, we have 1 H100")
    assert ("Your 1 x H100-SXM holds 1 replica of the plan's TP=1 layout: within the targets it serves up to 18.5 "
            "requests/s, enough for the planned peak of 0.75 requests/s with the plan's 25% safety margin, but as 1 "
            "replica, fewer than the 2 the plan keeps for availability.") in words  # fmt: skip
    words = _said("serve deepseek v3 on H200 on aws, 5 rps, 1000 in 300 out, we have 8 H200s")
    assert re.search(r"Your 8 x H200-SXM serve up to [\d.]+ requests/s within the targets as 1 replica of TP=8 EP=8 "
                     r"DP-attention=8 \(gpucast estimate --slo-capacity\), enough for the planned peak of 7.5 "
                     r"requests/s with the plan's 25% safety margin, but as 1 replica, fewer than the 2 the plan keeps "
                     r"for availability", words), words  # fmt: skip


def test_the_rule_sizes_the_peak_as_the_planner_does() -> None:
    from types import SimpleNamespace

    from gpucast.chat.owned import replicas_needed

    plan = SimpleNamespace(scaling=SimpleNamespace(peak_rps=15.0), inputs={"safety_margin": 0.25, "min_replicas": 2})
    assert replicas_needed(plan, 5.0) == (4, 2)  # ceil(15 x 1.25 / 5) = ceil(3.75)
    assert replicas_needed(plan, 18.75) == (1, 2)  # exactly the peak with its margin: one replica
    assert replicas_needed(plan, 18.7) == (2, 2)


def test_a_fleet_short_of_the_peak_is_laid_out_for_the_most_traffic_not_for_the_replica_floor() -> None:
    # 4 H100s are short of the peak either way: 1 replica of TP=4 serves more than the 2 replicas of TP=2 that would
    # hold the plan's minimum of 2 (2.6x at vLLM's 0.90; 1.55x with 0.34's measured KV sizing, where the plan itself
    # takes TP=2), and is the answer
    words = _said("serve llama 3.1 70b on H100 on aws, 5 rps, we have 4 H100s")
    assert re.search(r"Your 4 x H100-SXM serve up to [\d.]+ requests/s within the targets as 1 replica of TP=4 .*short "
                     r"of the planned peak of 7.5 requests/s", words), words  # fmt: skip
    assert _capacity("llama-3.1-70b", "H100", 4, 4) > 1.4 * _capacity("llama-3.1-70b", "H100", 4, 2)


def test_an_agent_plans_owned_fleet_is_counted_in_llm_calls() -> None:
    # an agent plan's peak and capacity are LLM calls/s (the plan's own words say so); the owned answer said
    # "requests/s" of them
    words = _said("an agent app on llama 3.1 8b on H100, 1 task/s, we have 8 H100s")
    said = re.search(r"Your 8 x H100-SXM hold 8 replicas of the plan's TP=1 layout: [^.]*?(?:\.\d[^.]*?)*\.", words)
    assert said, words
    assert "LLM calls/s" in said[0] and "requests/s" not in said[0], said[0]
    assert "enough for the planned peak of 12 LLM calls/s" in said[0]


def test_a_pinned_layout_is_the_one_the_owned_gpus_are_answered_for() -> None:
    # "TP 8" pinned: the owned fleet was answered as 2 replicas of TP=4 (the best layout searched), not the one asked
    words = _said("serve llama 3.1 70b on H100 on aws, 5 rps, tensor parallel 8, we have 8 H100s")
    said = re.search(r"Your 8 x H100-SXM hold 1 replica of the TP=8 layout you pinned: within the targets they serve "
                     r"up to ([\d.]+) requests/s", words)  # fmt: skip
    assert said, words
    assert float(said[1]) == pytest.approx(_capacity("llama-3.1-70b", "H100", 8, 8), rel=0.005)
    # and where another layout serves more, that is said beside it
    other = re.search(r"unpinned, another layout would serve more: ([\d.]+) requests/s within the targets as 2 replicas "
                      r"of TP=4", words)  # fmt: skip
    assert other, words
    assert float(other[1]) == pytest.approx(_capacity("llama-3.1-70b", "H100", 8, 4), rel=0.005)
    # a pinned layout too large for the fleet is said so, with what fits
    words = _said("serve llama 3.1 70b on H100 on aws, 5 rps, tp 8, we have 4 H100s")
    assert "Your 4 x H100-SXM: one replica of the layout you pinned needs 8 (TP=8), more than you have; unpinned, " \
        "another layout would serve more: " in words  # fmt: skip
    # owned GPUs of another type are laid out with the pinned degree too
    words = _said("serve qwen3 30b a3b on H100s, 2 rps, EP 4; we have 8 A100s")
    assert re.search(r"Your 8 x A100-SXM4-40GB \(not the plan's H100-SXM\) serve up to [\d.]+ requests/s within the "
                     r"targets as \d replicas? of TP=\d EP=4", words), words  # fmt: skip


@pytest.mark.parametrize(("text", "count", "gpu"), [
    ("we have 2 p5.48xlarge", 16, "h100-sxm"),  # the price catalog's instance: 8 x H100-SXM each (read by nothing)
    ("we have a g5.12xlarge", 4, "a10g"),
    ("we rent 3 p5.48xlarges", 24, "h100-sxm"),
])  # fmt: skip
def test_cloud_instances_are_an_owned_fleet_of_their_catalog_gpus(text: str, count: int, gpu: str) -> None:
    found = extract(text)
    assert (found["owned_gpus"], found["owned_gpu"]) == (count, gpu), found
    assert found["gpu"] == gpu  # the plan is made on their GPU, as for "we have 8 H100s" (it was the cheapest GPU)
    assert "owned_gpus" not in extract("serve llama 3.1 8b on a p5.48xlarge")  # the instance to plan on, not owned


def test_nodes_described_by_their_gpus_but_not_counted_ask_how_many() -> None:
    # "we have 8xH100 nodes" was 64 GPUs (8 nodes of a guessed 8); it says how many GPUs a node has, not how many nodes
    found = extract("serve llama 3.1 8b, 5 rps, we have 8xH100 nodes")
    assert "owned_gpus" not in found and "how many nodes" in found["_left_out"]["owned_gpus"], found
    script = ["serve llama 3.1 8b on aws, 5 rps, 1000 in 300 out, first token within 2 s, we have 8xH100 nodes"]
    result = chat(stdin="\n".join(script) + "\n")
    assert result.returncode == 2, result.stdout  # a replay that confirms by default with a value left out stops
    assert "does not say how many nodes you have: say e.g. 'we have 2 8xh100 nodes'" in result.stdout
    assert (
        extract("we have 2 8xH100 nodes")["owned_gpus"] == 16 and extract("we have an 8xH100 node")["owned_gpus"] == 8
    )


def test_a_vague_count_of_gpus_is_asked_back() -> None:
    result = chat(stdin="serve llama 3.1 8b, we have a few A100s\nno\n")
    assert "I took 'a few' as 3" in result.stdout and "Did you mean:" in result.stdout, result.stdout


@pytest.mark.parametrize("text", ["we have several A100s", "we have a handful of H100s", "we have some GPUs"])
def test_gpus_had_in_a_vague_amount_ask_how_many(text: str) -> None:
    # read by nothing: no fleet was sized and nothing was said
    found = extract(f"serve llama 3.1 8b, {text}")
    assert "owned_gpus" not in found and "does not say how many GPUs" in found["_left_out"]["owned_gpus"], found


@pytest.mark.parametrize("text", ["we have 8xH100 nodes", "we have several H100s"])
def test_a_fine_tunes_uncounted_gpus_ask_how_many(text: str) -> None:
    # "8xH100 nodes" was 64 GPUs (a guess asked back); once it asked how many nodes, a fine-tune dropped it unsaid
    found = extract(f"fine-tune llama 3.1 8b with lora, {text}")
    assert "num_gpus" not in found and "does not say how many GPUs" in found["_left_out"]["num_gpus"], found
