"""A user count without a rate ("serve llama for 5000 users"): kept, and the rate question asks how often each user
sends a request, whose answer is per user unless it says it is the total. Before 2026-12-08 the count was dropped
without a word and the default 10 requests/s planned (the real ``gpucast chat`` and ``gpucast inference``)."""

from __future__ import annotations

import json

import pytest

from gpucast.chat.parse import extract
from gpucast.chat.questions import BY_KEY, interpret
from gpucast.chat.values import UNSURE
from test_chat_session import chat, cli_json


def test_a_user_count_alone_is_kept_and_the_question_asks_per_user() -> None:
    found = extract("serve llama 3.1 8b for 5000 users")
    assert found["users"] == 5000 and "rps" not in found
    assert "users" not in extract("10k users, each sends about 20 messages a day")  # a rate per user: multiplied
    assert "You said 5,000 users: how often does each send" in BY_KEY["rps"].text_for({"users": 5000})


@pytest.mark.parametrize(("users", "answer", "rps"), [
    (5000, "20 a day", 5000 * 20 / 86_400),
    (5000, "20 messages a day", 5000 * 20 / 86_400),
    (200, "one every 30 seconds", 200 / 30),
    (200, "a request every 2 minutes each", 200 / 120),
    (5000, "2 rps", 2.0),  # the total, as its unit says
    (5000, "5 requests per second in total", 5.0),
    (5000, "6000 users, 10 messages a day each", 6000 * 10 / 86_400),  # a new count: its own product
])  # fmt: skip
def test_the_rate_answer_is_per_user_unless_it_says_total(users: int, answer: str, rps: float) -> None:
    values = interpret(BY_KEY["rps"], answer, {"intent": "inference", "users": users})
    assert values["rps"] == pytest.approx(rps)
    assert not values.get(UNSURE)


def test_a_bare_number_is_read_per_user_per_day_and_asked_back() -> None:
    values = interpret(BY_KEY["rps"], "20", {"intent": "inference", "users": 5000})
    assert values["rps"] == pytest.approx(5000 * 20 / 86_400)
    assert values[UNSURE] == ["I read 20 as 20 requests a day per user, 100,000 a day in all"]


def test_the_conversation_plans_users_times_their_rate_as_the_cli(tmp_path) -> None:
    out = tmp_path / "plan.json"
    script = ["serve llama 3.1 8b on H100 on aws for 5000 users", "20 a day", "2x", "1000 in 300 out", "2 s", "yes",
              f"json {out}", "done"]  # fmt: skip
    result = chat(stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    assert "[10 req/s in total]" in result.stdout
    plan = json.loads(out.read_text())
    rate = 5000 * 20 / 86_400
    cli = cli_json("inference", "--model", "llama-3.1-8b", "--gpu", "H100", "--cloud", "aws", "--rps", repr(rate),
                   "--input-tokens", "1000", "--output-tokens", "300", "--peak-multiplier", "2")  # fmt: skip
    for section in ("gpu_resources", "throughput", "scaling", "cost"):
        assert plan[section] == cli[section], section


@pytest.mark.parametrize(("text", "count"), [
    ("serve llama 3.1 8b for 200 concurrent users", 200),
    ("100 users at once", 100),
    ("50 simultaneous users", 50),
    ("300 requests in flight", 300),
    ("concurrency of 64", 64),
    ("~300 engineers, maybe 50 of them active at the same time", 50),  # the population and, of them, those at once
    ("40 users online at once", 40),
])  # fmt: skip
def test_concurrent_users_are_requests_in_flight_not_a_user_population(text: str, count: int) -> None:
    # "200 concurrent users" was a head count: the rate question asked how often each sends a request
    found = extract(text)
    assert found["concurrency"] == count and "users" not in found, found
    assert BY_KEY["rps"].is_done(found) and BY_KEY["peak"].is_done(found)  # the stated concurrency is the peak
    # concurrent users with their own rate are that rate times the users, as before
    if text.endswith("users"):
        assert extract(f"{text}, each sending a request every 30 seconds")["rps"] == pytest.approx(count / 30)


def test_a_concurrency_is_planned_as_the_rate_littles_law_gives_with_the_plans_own_request_time(tmp_path) -> None:
    out = tmp_path / "plan.json"
    script = ["serve llama 3.1 8b on H100 on aws, 200 concurrent users, 1000 in 300 out", "2 s", "yes", f"json {out}",
              "done"]  # fmt: skip
    result = chat(stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    words = " ".join(result.stdout.split())
    assert "Load: 200 requests in flight at peak (users each waiting for their answer)" in words
    assert "How many requests per second" not in words and "How peaky" not in words
    plan = json.loads(out.read_text())
    thr = plan["throughput"]
    # N in flight at a replica's operating point within the targets: N x rps / in-flight per replica (Little's law)
    peak = 200 * thr["rps_per_replica"] / thr["concurrency_per_replica"]
    assert plan["scaling"]["peak_rps"] == pytest.approx(peak, rel=0.01)
    # the copies planned hold the 200 in flight within the targets (with the plan's 25% margin)
    replicas = plan["gpu_resources"]["max_replicas"]
    assert replicas * thr["concurrency_per_replica"] >= 200 * 1.25 * 0.99
    assert "Load from concurrency: 200 requests in flight at once" in words and "by Little's law" in words


def test_a_concurrency_without_a_gpu_is_planned_to_hold_it_though_the_cheapest_gpu_changes_with_the_rate(
    tmp_path,
) -> None:
    # Qwen2.5-32B at 150 in flight: the cheapest GPU flips between A100s and the H100 at neighbouring rates, so the
    # rate never settles; the plan kept is sized above what its own request time needs
    out = tmp_path / "plan.json"
    script = ["serve qwen2.5 32b with 150 concurrent users, 2k prompts and 400 token answers", "", "", "yes",
              f"json {out}", "done"]  # fmt: skip
    result = chat(stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    plan = json.loads(out.read_text())
    thr, res = plan["throughput"], plan["gpu_resources"]
    assert res["max_replicas"] * thr["concurrency_per_replica"] >= 150 * 1.25 * 0.99
    assert plan["scaling"]["peak_rps"] >= 150 * thr["rps_per_replica"] / thr["concurrency_per_replica"] * 0.99
    words = " ".join(result.stdout.split())
    compared = chat(stdin="compare GPUs for qwen2.5 32b with 150 concurrent users, 2k prompts and 400 token answers"
                    "\n\n\n\ndone\n")  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    assert "every GPU above is ranked at that rate" in " ".join(compared.stdout.split())
    assert "Load from concurrency: 150 requests in flight" in words


def test_a_concurrency_typed_at_the_confirmation_replaces_the_rate_and_a_rate_replaces_it() -> None:
    # the rate answered earlier won silently over "100 concurrent users" typed at the confirmation
    first = "serve llama 3.1 8b on H100, 5 rps, 1000 in 300 out, first token within 2 s"
    result = chat(stdin=f"{first}\n\n100 concurrent users\nyes\ndone\n")
    assert result.returncode == 0, result.stderr
    words = " ".join(result.stdout.split())
    assert "Load: 100 requests in flight at peak" in words and "Load from concurrency: 100 requests" in words
    again = chat(stdin="serve llama 3.1 8b on H100, 100 concurrent users, 1000 in 300 out, first token within 2 s\n"
                 "30 rps\n2x\nyes\ndone\n")  # fmt: skip
    assert again.returncode == 0, again.stderr
    words = " ".join(again.stdout.split())
    assert "Load: 30 requests/s on average" in words and "Load from concurrency" not in words


def test_an_agent_apps_concurrency_is_said_not_used_and_its_task_rate_asked() -> None:
    # an agent app's load is its tasks/s: "20 concurrent users" marked the rate question answered and the default
    # 1 task/s was planned without a word
    result = chat(stdin="an agent app on llama 3.1 8b on H100, 20 concurrent users\n\n\n\n\nyes\ndone\n")
    assert result.returncode == 0, result.stderr
    words = " ".join(result.stdout.split())
    assert "How many agent tasks per second" in words
    assert "Not used: 20 requests in flight (an agent app is planned from its tasks per second)" in words
