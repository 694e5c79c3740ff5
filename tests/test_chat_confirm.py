"""Issue 23's conversation, end to end through the real ``gpucast chat``: a latency is never read as a load, the
peak question's answer is the plan's peak multiplier, guesses are echoed back for confirmation, and the spot
advice prices the fleet the plan just made."""

from __future__ import annotations

import json
import re

from gpucast.catalog import loader
from gpucast.core.cost import cheapest_fleet
from test_chat_session import chat, cli_json


def _summary(text: str) -> str:
    return text[text.rindex("Here is what I understood") : text.index("Computing the plan")]


def test_ttft_under_1s_is_a_latency_target_not_one_request_per_second(tmp_path):
    out = tmp_path / "plan.json"
    answers = f"serve llama 3.1 70b on H100 on aws\nTTFT under 1s\n20\n\n\nyes\njson {out}\n"
    result = chat(stdin=answers)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Got it: first token within 1 s" in text and "Noted. I still need the answer to this question." in text
    assert "1 requests/s" not in text and "20 requests/s on average" in _summary(text)
    inputs = json.loads(out.read_text())["inputs"]
    assert inputs["requests_per_second"] == 20.0 and inputs["ttft_slo_ms"] == 1000.0


def test_latencies_in_words_are_understood_at_the_latency_question():
    for words in ("within a second", "in under a second", "in less than a second"):
        result = chat(stdin=f"serve llama 3.1 8b on L4 on aws, 5 rps, 2x at peak, 500 in 200 out\n{words}\nyes\n")
        assert result.returncode == 0, result.stderr
        assert "Sorry" not in result.stdout and "first token within 1 s" in _summary(result.stdout), words


def test_the_peak_answer_is_the_plans_peak_multiplier(tmp_path):
    out = tmp_path / "plan.json"
    result = chat(stdin=f"serve llama 3.1 8b on L4 on aws, 10 rps, 1000 in 300 out\n3x\n\nyes\njson {out}\n")
    assert result.returncode == 0, result.stderr
    assert (
        "How peaky is the traffic" in result.stdout and "support and chat traffic often peaks at 2-3x" in result.stdout
    )
    assert "peaks 3x = 30 requests/s" in _summary(result.stdout)
    plan = json.loads(out.read_text())
    cli = cli_json("inference", "--model", "llama-3.1-8b", "--gpu", "L4", "--cloud", "aws", "--rps", "10",
                   "--input-tokens", "1000", "--output-tokens", "300", "--peak-multiplier", "3")  # fmt: skip
    assert plan["inputs"]["peak_load_multiplier"] == 3.0 and plan["gpu_resources"] == cli["gpu_resources"]


def test_a_peak_rate_answers_the_peak_question():
    result = chat(stdin="serve llama 3.1 8b on L4 on aws, 10 rps, 1000 in 300 out\n40 rps\n\nyes\n")
    assert result.returncode == 0, result.stderr
    assert "peaks 4x = 40 requests/s" in _summary(result.stdout)


def test_a_guess_is_echoed_back_and_no_asks_the_question_again():
    answers = "serve llama 3.1 8b on L4 on aws\n20 reqests per secnd\nno\n25 rps\n\n\n\nyes\n"
    result = chat(stdin=answers)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "I am not sure I read that right: I read 'reqests' as 'requests'; I read 'secnd' as 'second'." in text
    assert "Did you mean: 20 requests/s on average?" in text and "OK, I left it out. Please answer again" in text
    assert "25 requests/s on average" in _summary(text) and "20 requests/s" not in _summary(text)


def test_a_confirmed_guess_is_used_and_a_new_answer_replaces_it():
    confirmed = chat(stdin="serve llama 3.1 8b on L4 on aws\n10-20 rps\nyes\n\n\n\nyes\n")
    assert "you gave a range (10-20); I planned for the upper end, 20" in confirmed.stdout
    assert "20 requests/s on average" in _summary(confirmed.stdout)
    retyped = chat(stdin="serve llama 3.1 8b on L4 on aws\n10-20 rps\n15 rps\n\n\n\nyes\n")
    assert "15 requests/s on average" in _summary(retyped.stdout)
    unit_less = chat(stdin="serve llama 3.1 8b on L4 on aws, 5 rps, 2x at peak, 500 in 200 out\n800\n\nyes\n")
    assert "no unit given: I read 800 as 800 ms" in unit_less.stdout
    assert "first token within 800 ms" in _summary(unit_less.stdout)


def test_spot_advice_prices_the_fleet_the_plan_made(tmp_path):
    for n, first in enumerate(("serve llama 3.1 70b on H100 on aws, 100 rps", "serve llama 3.1 70b on aws, 100 rps\n")):
        out = tmp_path / f"plan{n}.json"
        result = chat(stdin=f"{first}\n\n\n\nyes\njson {out}\n")
        assert result.returncode == 0, result.stderr
        plan = json.loads(out.read_text())
        res = plan["gpu_resources"]
        gpu = loader.resolve_gpu(res["recommended_gpu_type"])
        spot = cheapest_fleet(loader.prices_for("aws", gpu.id), gpus_per_replica=res["min_gpus_per_replica"],
                              replicas=res["max_replicas"], pricing="spot")  # fmt: skip
        assert spot is not None
        words = " ".join(result.stdout[result.stdout.index("In plain words") :].split())
        said = re.search(r"On spot instances the same fleet \((\d+) x ([^,]+), (\d+) x (\S+)\) costs \$([\d,]+) a month",
                         words)  # fmt: skip
        assert said, words
        assert (int(said[1]), said[2]) == (res["total_gpus"], res["recommended_gpu_type"])
        assert (int(said[3]), said[4]) == (spot.instances, spot.instance_type)
        assert said[5] == f"{spot.monthly_usd:,.0f}"


def test_summary_typed_at_the_confirmation_shows_it_once():
    # the summary was printed by the command and again before the question was asked again: twice in a row
    first = "serve llama 3.1 8b on H100, 5 rps, peaks 2x, 1000 in 300 out, first token within 2 s"
    result = chat(stdin=f"{first}\nsummary\nyes\ndone\n")
    assert result.returncode == 0, result.stderr
    asked = result.stdout[: result.stdout.index("Computing the plan")]
    assert asked.count("Here is what I understood") == 2, asked  # before the question, and once for 'summary'
    again = asked[asked.index("> summary") :]
    assert again.count("Here is what I understood") == 1 and "Shall I compute the plan?" in again
