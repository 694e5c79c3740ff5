"""Answers to the conversation found misread by the web and conversation sweep of 2026-12-06
(docs/reliability.md): each test failed before its fix. Read through ``questions.interpret``, the function the
conversation uses, and one scripted ``gpucast chat``."""

from __future__ import annotations

import json

import pytest

from gpucast.chat.errors import AnswerError
from gpucast.chat.questions import BY_KEY, interpret


def read(key: str, text: str, answers: dict | None = None) -> dict:
    values = interpret(BY_KEY[key], text, answers or {})
    return {k: v for k, v in values.items() if k != "_unsure"}


@pytest.mark.parametrize(("key", "text"), [("rps", "-5 rps"), ("rps", "minus 5 rps"), ("rps", "\u22125 rps"),
                                           ("tokens", "-2k in 500 out"), ("tokens", "2k in -500 out"),
                                           ("tokens", "2000/-500"), ("latency", "-2 s"), ("peak", "-3x")])  # fmt: skip
def test_a_negative_number_is_refused_not_read_without_its_sign(key, text):
    """'-5 rps' was planned as 5 requests/s, '-2 s' as a 2-second target: the minus sign was dropped."""
    with pytest.raises(AnswerError, match="negative"):
        interpret(BY_KEY[key], text, {"rps": 10.0})


def test_names_dates_and_ranges_keep_their_hyphens():
    assert read("model", "serve llama-3.1-8b on H100")["model"] == "llama-3.1-8b"
    assert read("rps", "10 -20 rps")["rps"] == 20.0 and read("rps", "10 - 20 rps")["rps"] == 20.0


def test_a_number_in_e_notation_is_its_value():
    """'1e3 rps' was read as 3 requests/s and '1e400 rps' as 400."""
    assert read("rps", "1e3 rps") == {"rps": 1000.0} and read("rps", "2.5e2 rps") == {"rps": 250.0}
    assert read("latency", "1e3 ms") == {"ttft_ms": 1000.0}
    assert read("tokens", "1e3 in 500 out") == {"input_tokens": 1000, "output_tokens": 500}
    with pytest.raises(AnswerError, match="too large"):
        interpret(BY_KEY["rps"], "1e400 rps", {})


def test_one_token_count_keeps_its_multiplier():
    """'1.5M tokens' to the tokens question was read as 1 token in (the 'M' and the '.5' were lost)."""
    assert read("tokens", "1.5M tokens") == {"input_tokens": 1_500_000}
    assert read("tokens", "0.5k") == {"input_tokens": 500} and read("tokens", "2 million") == {
        "input_tokens": 2_000_000
    }
    assert read("tokens", "2k/500") == {"input_tokens": 2000, "output_tokens": 500}
    with pytest.raises(AnswerError, match="whole numbers"):
        interpret(BY_KEY["tokens"], "1.5 tokens", {})


def test_a_peak_below_the_average_is_a_contradiction_asked_again():
    """'peak of 5 rps' after '10 rps' (or '10 rps' after a peak of 5) was planned as "peaks 1x" without a word."""
    with pytest.raises(AnswerError, match="below the average of 10"):
        interpret(BY_KEY["peak"], "peak of 5 rps", {"rps": 10.0})
    with pytest.raises(AnswerError, match="below the average of 10"):
        interpret(BY_KEY["rps"], "10 rps", {"peak_rps": 5.0})
    assert read("peak", "peak of 30 rps", {"rps": 10.0}) == {"peak_rps": 30.0}
    assert read("rps", "10 rps, peak of 30 rps", {"peak_rps": 5.0}) == {"rps": 10.0, "peak_rps": 30.0}
    from test_chat_session import chat

    result = chat(stdin="serve llama 3.1 8b on H100 on aws\n10 rps\npeak of 5 rps\n2x\n\n\nyes\ndone\n")
    assert result.returncode == 0, result.stderr
    assert "A peak of 5 requests/s is below the average of 10" in result.stdout
    assert "peaks 2x = 20 requests/s" in result.stdout and "peaks 1x" not in result.stdout


def test_two_different_rates_in_one_answer_are_asked_back():
    """'10 rps, 20 rps' was planned at 20 requests/s without a word (the last rate won)."""
    values = interpret(BY_KEY["rps"], "10 rps, 20 rps", {})
    assert values["rps"] == 20.0 and values["_unsure"] == ["you gave two rates (10 and 20 requests/s); I used 20"]
    assert "_unsure" not in interpret(BY_KEY["rps"], "600 requests per minute, 10 rps", {})  # the same rate twice
    assert "_unsure" not in interpret(BY_KEY["rps"], "10 rps and a peak of 30 rps", {})


@pytest.mark.parametrize("last", ["-5 rps", "lots of them"])
def test_a_script_that_ends_on_a_refused_answer_exits_2_not_a_plan_of_the_default(last):
    """`printf 'serve\\nllama 3 70b\\nH100\\n-5 rps\\n' | gpucast chat` printed a plan for the default 10 req/s with
    exit 0: the refused answer was the script's last, and the question then took its default. Now one line, exit 2;
    an answer after the refusal (or an explicit Enter) still plans."""
    from test_chat_session import chat

    result = chat(stdin=f"serve\nllama 3 70b\nH100\n{last}\n")
    assert result.returncode == 2, result.stdout[-300:]
    assert result.stderr.count("\n") == 1 and f"the answer '{last}'" in result.stderr
    assert "no plan made" in result.stderr and "Recommendation" not in result.stdout
    assert chat(stdin=f"serve\nllama 3 70b\nH100\n{last}\n20 rps\n").returncode == 0
    assert chat(stdin=f"serve\nllama 3 70b\nH100\n{last}\n\n").returncode == 0  # Enter: the default, asked for


@pytest.mark.parametrize(("after", "why"), [("no", "which was declined"), ("H100 on aws", "which was not confirmed")])
def test_a_guessed_model_passed_over_at_the_end_of_a_script_is_not_planned_as_the_default(after, why):
    """'llama 70b' is read as a guess (the newest 70B Llama, Llama-3.3-70B) and asked back; a script answering 'no' or another question's
    value there, then ending, planned the default Llama-3.1-8B with exit 0. Now exit 2 naming the guess; 'yes', Enter
    or a model typed again still plan the 70B model."""
    from test_chat_session import chat

    result = chat(stdin=f"serve\nllama 70b\n{after}\n10 rps\n")
    assert result.returncode == 2 and "Recommendation" not in result.stdout
    assert "the answer 'llama 70b'" in result.stderr and why in result.stderr and result.stderr.count("\n") == 1
    for confirmed, model in (
        ("yes\n", "Llama-3.3-70B"),
        ("\n", "Llama-3.3-70B"),
        (f"{after}\nllama 3 70b\n", "Llama-3-70B"),
    ):
        planned = chat(stdin=f"serve\nllama 70b\n{confirmed}")
        assert planned.returncode == 0 and model in planned.stdout, planned.stderr


def test_a_plan_declined_at_the_end_of_a_script_is_not_computed():
    """'no' at "Shall I compute the plan?" as a script's last answer computed the plan anyway (exit 0): the
    confirmation took its default, yes. Now exit 2; a change typed after the 'no', or an Enter, still plans."""
    from test_chat_session import MULTI, chat

    declined = chat(stdin=f"{MULTI}\nno\n")
    assert declined.returncode == 2 and "Computing the plan" not in declined.stdout
    assert "the plan was declined and no change followed" in declined.stderr
    assert chat(stdin=f"{MULTI}\nno\n30 rps\n").returncode == 0
    assert chat(stdin=f"{MULTI}\nno\n\n").returncode == 0


def test_corrections_typed_mid_conversation_reach_the_plan(tmp_path):
    """Flow sweep (2026-12-07): 'no, H200' answered to the latency question was read as "no limit" (a 10 s target)
    beside the GPU, and 'actually make it 20 rps' to the peak question as a peak of 20 requests/s; the exported
    plan now equals `gpucast inference` for the corrected numbers."""
    from test_chat_session import chat, cli_json

    out = tmp_path / "plan.json"
    script = ("serve llama 3.1 8b on H100 on aws, 10 rps, 1k in 300 out\nactually make it 20 rps\n3x\nno, H200\n"
              f"500 ms\nyes\njson {out}\ndone\n")  # fmt: skip
    result = chat(stdin=script)
    assert result.returncode == 0, result.stderr
    assert "Got it: 20 requests/s on average" in result.stdout and "GPU H200-SXM" in result.stdout
    assert "peaks 3x = 60 requests/s" in result.stdout and "within 10 s" not in result.stdout
    cli = cli_json("inference", "--model", "llama-3.1-8b", "--gpu", "H200", "--cloud", "aws", "--rps", "20",
                   "--input-tokens", "1000", "--output-tokens", "300", "--peak-multiplier", "3", "--ttft-slo-ms", "500")  # fmt: skip
    plan = json.loads(out.read_text())
    assert plan["inputs"]["ttft_slo_ms"] == 500.0 and plan["gpu_resources"] == cli["gpu_resources"]


def test_a_forecast_passes_the_precision_and_names_what_it_cannot_use(tmp_path):
    """A forecast dropped 'fp8' (`gpucast predict` has --precision) and, unsaid, a latency target and spot pricing
    (it has no such flags); the summary claimed "the cheapest GPU that meets the targets ..., spot pricing"."""
    from pathlib import Path

    from test_chat_session import chat, cli_json

    history = Path(__file__).resolve().parents[1] / "docs" / "sample-traffic.csv"
    out = tmp_path / "forecast.json"
    result = chat(stdin=f"forecast llama 3.1 70b on H100 in fp8 with ttft under 500ms on spot\n{history}\n\n\n\n"
                        f"json {out}\nmarkdown {tmp_path / 'forecast.md'}\ncompare\ndone\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Not used:  first token within 500 ms, spot pricing" in result.stdout
    assert "H100-SXM on aws\n" in result.stdout
    # "markdown" failed with "plan is not a gpucast plan" and "compare" pointed a forecast to fine-tuning
    assert "a Markdown report is made of a serving or training plan" in result.stdout
    assert "for a forecast, type another GPU" in result.stdout and "fine-tuning" not in result.stdout
    cli = cli_json("predict", "--history", str(history), "--model", "llama-3.1-70b", "--gpu", "H100", "--precision",
                   "FP8", "--input-tokens", "1000", "--output-tokens", "300")  # fmt: skip
    assert json.loads(out.read_text()) == cli


def test_comparing_every_cloud_says_every_cloud():
    """The clouds question's default and the summary said "aws, gcp and azure" while the comparison ranks every
    cloud of the price catalog (lambda, runpod, nebius... rows)."""
    from gpucast.chat.session import summary_lines

    assert "Compare:   every GPU on every cloud of the price catalog" in summary_lines({"intent": "compare"})
    assert BY_KEY["clouds"].shown({"intent": "compare"}) == "all: every cloud of the price catalog"


def test_a_fine_tuning_summary_names_the_serving_answers_it_cannot_use():
    """'fine-tune ..., 20 rps, ttft under 1s, with sglang' planned the training run and dropped the rest unsaid,
    the summary even showing "engine sglang" beside the GPU as if it were used."""
    from gpucast.chat.session import summary_lines

    lines = summary_lines({"intent": "training", "model": "llama-3.1-8b", "gpu": "h100-sxm", "cloud": "aws",
                           "rps": 20.0, "ttft_ms": 1000.0, "engine": "sglang", "tp": 2})  # fmt: skip
    assert "GPU:       H100-SXM on aws, TP=2" in lines
    assert lines[-1].startswith("Not used:  20 requests/s on average, first token within 1 s, engine sglang (")


def test_a_change_typed_after_the_plan_is_confirmed_and_planned_again(tmp_path):
    """'30 rps' at "What next?" got "I don't know '30' here": a change after the plan needed a new conversation.
    Now it is applied as at the summary, confirmed and planned again; the export equals `gpucast inference`."""
    from test_chat_session import chat, cli_json

    out = tmp_path / "plan.json"
    result = chat(stdin=f"serve llama 3.1 8b on L4 on gcp, 10 rps, 1k in 200 out\n2x\n1s\nyes\n30 rps\n\njson {out}\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Computing the plan") == 2 and "I don't know" not in result.stdout
    cli = cli_json("inference", "--model", "llama-3.1-8b", "--gpu", "L4", "--cloud", "gcp", "--rps", "30",
                   "--input-tokens", "1000", "--output-tokens", "200", "--peak-multiplier", "2", "--ttft-slo-ms", "1000")  # fmt: skip
    assert json.loads(out.read_text())["gpu_resources"] == cli["gpu_resources"]


def test_a_serving_summary_names_a_history_it_cannot_use():
    """'json plan.json' typed at the summary (the export comes after the plan) was read as a traffic history and
    kept unsaid in a serving plan."""
    from gpucast.chat.session import summary_lines

    answers = {"intent": "inference", **interpret(BY_KEY["confirm"], "json plan.json", {"intent": "inference"})}
    assert summary_lines(answers)[-1].startswith("Not used:  history plan.json (a serving plan has no training data")


def test_the_gpus_named_for_a_comparison_are_the_ones_compared(tmp_path):
    """'compare H100 vs A100 vs L40S' ranked every GPU of the catalog (the names were dropped, the summary said
    "every GPU"); the rows now equal `gpucast compare --gpus H100,A100,L40S`."""
    from test_chat_session import chat, cli_json

    out = tmp_path / "rows.json"
    result = chat(
        stdin=f"compare H100 vs A100 vs L40S for llama 3.1 8b, 20 rps, 1k in 200 out, on aws\n\n\n\njson {out}\n"
    )
    assert result.returncode == 0, result.stderr
    assert "Compare:   H100-SXM, A100-SXM4-40GB, L40S on aws" in result.stdout
    cli = cli_json("compare", "--gpus", "H100,A100,L40S", "--model", "llama-3.1-8b", "--rps", "20", "--input-tokens",
                   "1000", "--output-tokens", "200", "--ttft-slo-ms", "2000", "--clouds", "aws", "--top", "10")  # fmt: skip
    assert json.loads(out.read_text()) == cli and len(cli) == 3


@pytest.mark.parametrize("folder", ["serve", "train", "fine-tune-h100-fp8"])
def test_the_words_of_a_history_path_are_not_answers(tmp_path, folder):
    """A traffic history in a folder named 'serve' (or 'train') switched a forecast to "serve a model" (or a
    fine-tune): the path's words were read as answers. A path is a file name, nothing more."""
    import shutil
    from pathlib import Path

    from gpucast.chat.parse import extract

    history = tmp_path / folder / "traffic.csv"
    history.parent.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "docs" / "sample-traffic.csv", history)
    found = extract(str(history))
    assert found.get("history") == str(history) and "intent" not in found
    assert "gpu" not in found and "precision" not in found
    assert extract(f"forecast {history} for the next 2 weeks")["intent"] == "forecast"
