"""Load stated as a token volume ("50M tokens a day", "300k TPM"): read, turned into a request rate by the request
shape, and planned as the CLI plans that rate (the real ``gpucast chat`` and ``gpucast inference``). Before
2026-12-08 the volume was ignored (the default 10 requests/s planned), "daily volume of 40M tokens" was 40
requests a day and "5M output tokens a day" a refused 5,000,000-token answer."""

from __future__ import annotations

import json

import pytest

from gpucast.chat.parse import extract
from gpucast.chat.token_volume import requests_per_s, shown
from test_chat_session import chat, cli_json

SECTIONS = ("gpu_resources", "throughput", "scaling", "cost")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("serve qwen3 32b, about 50 million tokens per day", {"total_tokens_per_s": 50e6 / 86_400}),
        ("2b tokens a month", {"total_tokens_per_s": 2e9 / (86_400 * 30.4375)}),
        ("300k tpm", {"total_tokens_per_s": 300e3 / 60}),
        ("daily volume of 40m tokens", {"total_tokens_per_s": 40e6 / 86_400}),
        ("5m output tokens a day", {"output_tokens_per_s": 5e6 / 86_400}),
        ("we process 10 million prompt tokens per day", {"input_tokens_per_s": 10e6 / 86_400}),
        # prompt and answer volumes both: their sum ("50M input tokens" was a 50M-token prompt; the second volume
        # of two was dropped)
        ("50m input tokens and 5m output tokens a day", {"total_tokens_per_s": 55e6 / 86_400}),
        ("5m output and 50m input tokens per day", {"total_tokens_per_s": 55e6 / 86_400}),
        ("50m prompt tokens a day, 5m completion tokens a day", {"total_tokens_per_s": 55e6 / 86_400}),
        # per second: a volume from 1,000 tokens/s (no stream is that fast) or said to be one; it was ignored
        ("we serve 10k tokens per second", {"total_tokens_per_s": 10e3}),
        ("5k output tokens/s", {"output_tokens_per_s": 5e3}),
        ("500 tokens per second in total", {"total_tokens_per_s": 500.0}),
        # read by nothing before: "MM" (finance's million), tokens per day / hour / second as dashboards abbreviate
        # them, Anthropic's input/output rate limits, "MTok" as price sheets write it, "daily tokens"
        ("about 50mm tokens a day", {"total_tokens_per_s": 50e6 / 86_400}),
        ("2m tpd", {"total_tokens_per_s": 2e6 / 86_400}),
        ("300k tph", {"total_tokens_per_s": 300e3 / 3600}),
        ("5k tps", {"total_tokens_per_s": 5e3}),
        ("400k itpm and 80k otpm", {"total_tokens_per_s": 480e3 / 60}),
        ("80k otpm", {"output_tokens_per_s": 80e3 / 60}),
        ("5 mtok a day", {"total_tokens_per_s": 5e6 / 86_400}),
        ("40m daily tokens", {"total_tokens_per_s": 40e6 / 86_400}),  # was 40M requests a day (463 requests/s)
        ("40m tokens of traffic per day", {"total_tokens_per_s": 40e6 / 86_400}),
        ("half a billion tokens a month", {"total_tokens_per_s": 0.5e9 / (86_400 * 30.4375)}),
        # the sides said after the volume or before it: the 2M was a 2,000,000-token answer, the 20M both sides
        ("20m tokens a day in and 2m out", {"total_tokens_per_s": 22e6 / 86_400}),
        ("in: 20m tokens/day, out: 2m tokens/day", {"total_tokens_per_s": 22e6 / 86_400}),
        ("out: 2m tokens/day", {"output_tokens_per_s": 2e6 / 86_400}),
        ("10b tokens per quarter", {"total_tokens_per_s": 10e9 / (86_400 * 365.25 / 4)}),
    ],
)
def test_volumes_are_read_and_are_no_rate_or_length(text: str, expected: dict[str, float]) -> None:
    found = extract(text)
    assert set(found) - {"intent", "model"} == set(expected)  # no rps, no input/output tokens beside it
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-3)


def test_a_speed_per_second_stays_a_latency_target_and_a_stated_rate_wins() -> None:
    assert extract("50 tokens per second per user") == {"itl_ms": 20.0}
    assert extract("50 tokens per second") == {} and extract("decode speed of 2000 tok/s") == {"itl_ms": 0.5}
    assert extract("500 tps") == {} and extract("each user wants 30 tps") == {"itl_ms": pytest.approx(1000 / 30)}
    both = extract("20 rps and 50m tokens a day")
    assert both["rps"] == 20.0 and "total_tokens_per_s" not in both
    assert any("token volume" in reason for reason in both["_unsure"])


def test_the_rate_follows_the_request_shape() -> None:
    answers = {"total_tokens_per_s": 2500.0}
    assert requests_per_s(answers, 2000, 500) == pytest.approx(1.0)
    assert requests_per_s({"output_tokens_per_s": 500.0}, 2000, 500) == pytest.approx(1.0)
    assert requests_per_s({"input_tokens_per_s": 500.0}, 2000, 500) == pytest.approx(0.25)
    assert requests_per_s({}, 2000, 500) is None
    assert shown("total", 50e6 / 86_400) == "50M tokens a day (prompts + answers)"


def test_a_daily_token_volume_is_planned_as_the_cli_plans_its_rate(tmp_path) -> None:
    out = tmp_path / "plan.json"
    script = ["serve qwen3 32b on H100 on aws, about 50 million tokens per day", "", "2k in 500 out", "", "yes",
              f"json {out}", "done"]  # fmt: skip
    result = chat(stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    assert "50M tokens a day, prompts + answers, / 2,500 tokens per request" in result.stdout
    plan = json.loads(out.read_text())
    rate = 50e6 / 86_400 / 2500
    assert plan["inputs"]["requests_per_second"] == pytest.approx(rate, rel=1e-5)  # the plan file keeps 6 digits
    cli = cli_json("inference", "--model", "qwen3-32b", "--gpu", "H100", "--cloud", "aws", "--rps", repr(rate),
                   "--input-tokens", "2000", "--output-tokens", "500")  # fmt: skip
    for section in SECTIONS:
        assert plan[section] == cli[section], section


def test_an_abbreviated_volume_is_planned_through_the_conversation(tmp_path) -> None:
    out = tmp_path / "plan.json"
    script = ["serve llama 3.1 8b on H100 on aws, 2M TPD", "", "1000 in 300 out", "", "yes", f"json {out}", "done"]
    result = chat(stdin="\n".join(script) + "\n")
    assert result.returncode == 0, result.stderr
    assert "2M tokens a day, prompts + answers, / 1,300 tokens per request" in result.stdout
    plan = json.loads(out.read_text())
    assert plan["inputs"]["requests_per_second"] == pytest.approx(2e6 / 86_400 / 1300, rel=1e-4)  # 6 decimals
