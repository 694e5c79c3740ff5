"""``back`` undoes the last answer whole: a value stated beside the question asked ("we have 8 H100s" at the rate
question, "50M tokens a day" with the model) goes with it, and a value it replaced comes back (the real ``gpucast
chat``). Before 2026-12-08 ``back`` removed only the asked question's own keys, so a retracted owned fleet was
still sized after the plan and a retracted token volume still set the request rate."""

from __future__ import annotations

import json

import pytest

from test_chat_session import chat


def _run(tmp_path, *lines: str) -> tuple[str, dict]:
    out = tmp_path / "plan.json"
    result = chat(stdin="\n".join([*lines, f"json {out}", "done"]) + "\n")
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split()), json.loads(out.read_text())


def _summary(words: str) -> str:
    return words[words.rindex("Here is what I understood") : words.rindex("Shall I compute")]


def test_back_retracts_an_owned_fleet_said_beside_the_rate(tmp_path) -> None:
    words, plan = _run(tmp_path, "serve llama 3.1 8b on H100 on aws", "20 rps, we have 8 H100s", "back", "20 rps",
                       "", "", "", "yes")  # fmt: skip
    assert "Going back. (Enter keeps your previous answer: GPU H100-SXM, 20 requests/s on average, you have 8 x " \
           "H100-SXM.)" in words  # fmt: skip
    assert "Yours:" not in _summary(words) and "Your 8 x" not in words
    assert plan["inputs"]["requests_per_second"] == 20.0


def test_back_retracts_an_owned_fleet_said_on_its_own_and_asks_the_same_question(tmp_path) -> None:
    words, _ = _run(tmp_path, "serve llama 3.1 8b on H100 on aws", "we have 8 H100s", "back", "5 rps", "", "", "",
                    "yes")  # fmt: skip
    assert "Going back: I dropped your last answer (GPU H100-SXM, you have 8 x H100-SXM)." in words
    assert words.count("How many requests per second on a busy day") == 3  # asked, noted, back: asked again
    assert "Yours:" not in _summary(words) and "Your 8 x" not in words
    # kept, the fleet is answered after the plan: the test fails if the retraction is not what removes it
    kept, _ = _run(tmp_path, "serve llama 3.1 8b on H100 on aws", "we have 8 H100s", "5 rps", "", "", "", "yes")
    assert "Yours: 8 x H100-SXM" in _summary(kept) and "Your 8 x H100-SXM" in kept


def test_back_retracts_a_token_volume_said_with_the_model(tmp_path) -> None:
    # the volume answered the rate question too, so it was never asked; back at the GPU question undoes both
    words, plan = _run(tmp_path, "serve", "llama 3.1 8b, about 50M tokens a day", "back", "llama 3.1 8b", "H100 on aws",
                       "3 rps", "", "", "", "yes")  # fmt: skip
    assert "previous answer: model Llama-3.1-8B, 50M tokens a day" in words
    assert "tokens a day" not in _summary(words)
    assert plan["inputs"]["requests_per_second"] == 3.0


def test_back_restores_the_value_an_answer_replaced(tmp_path) -> None:
    # "actually mixtral" at the rate question replaced the model; undoing that answer brings Llama back
    words, plan = _run(tmp_path, "serve llama 3.1 8b on H100 on aws", "20 rps, actually model mixtral", "back",
                       "20 rps", "", "", "", "yes")  # fmt: skip
    summary = _summary(words)
    assert "Llama-3.1-8B" in summary and "Mixtral" not in summary
    assert plan["model"]["id"] == "llama-3.1-8b"


@pytest.mark.parametrize("first", ["serve llama 3.1 8b on H100 on aws, 2 rps, we have 8 H100s",
                                   "serve llama 3.1 8b on H100 on aws, 20M tokens a day"])  # fmt: skip
def test_back_after_a_message_that_answered_everything_undoes_all_of_it(tmp_path, first: str) -> None:
    words, plan = _run(tmp_path, first, "back", "serve llama 3.1 8b on H100 on aws, 4 rps", "", "", "", "yes")
    assert "Going back. (Enter keeps your previous answer: goal: serve a model, model Llama-3.1-8B" in words
    summary = _summary(words)
    assert "Yours:" not in summary and "tokens a day" not in summary and "Your 8 x" not in words
    assert plan["inputs"]["requests_per_second"] == 4.0


def test_back_after_the_plan_undoes_the_last_change_and_plans_again(tmp_path) -> None:
    # "back" at "What next?" was "I don't know 'back' here"
    words, plan = _run(tmp_path, "serve llama 3.1 8b on H100 on aws, 5 rps", "", "", "", "yes", "8 rps", "yes", "back",
                       "yes")  # fmt: skip
    assert "Going back: I dropped your last answer (8 requests/s on average)." in words
    assert words.count("Computing the plan") == 3
    assert plan["inputs"]["requests_per_second"] == 5.0
