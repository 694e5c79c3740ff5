"""A value the CLI refuses is refused when the conversation reads it, saying what is accepted (chat.values.LIMITS).

Before 2026-12-07 "TP 0", "context length 0", "0 epochs", "2k in 0 out" were dropped unsaid (the plan searched a
layout, used the default window or length), and "TP 3", "peaks 500x", "5000% growth" were taken and failed only after
the summary. Each case here is also run through the CLI flag it stands for: the chat refuses exactly what the CLI
refuses. The rest of a message stands (the refused value is left out and said); an answer of the refused value alone
is asked again."""

from __future__ import annotations

import subprocess

import pytest

from conftest import gpucast_exe
from gpucast.chat.errors import AnswerError
from gpucast.chat.questions import BY_KEY, interpret
from gpucast.chat.values import LEFT_OUT, LIMITS, refusal

SERVE = ["inference", "--model", "llama-3.1-8b", "--rps", "10", "--input-tokens", "1000", "--output-tokens", "200"]
TRAIN = ["training", "--model", "llama-3.1-8b", "--dataset-size", "1000000", "--sequence-length", "2048",
         "--epochs", "1"]  # fmt: skip
# (first message, the key of the value, the CLI flags of the same value, whether both refuse it)
CASES = [
    ("serve llama 3.1 8b with TP 0", "tp", [*SERVE, "--tp", "0"], True),
    ("serve llama 3.1 8b, tensor parallel 3", "tp", [*SERVE, "--tp", "3"], True),
    ("serve llama 3.1 8b, tp 512", "tp", [*SERVE, "--tp", "512"], True),
    ("serve llama 3.1 8b, tp 4", "tp", [*SERVE, "--tp", "4"], False),
    ("serve llama 3.1 8b, pp 0", "pp", [*SERVE, "--pp", "0"], True),
    ("serve llama 3.1 8b, 2 pipeline stages", "pp", [*SERVE, "--pp", "2"], False),
    ("serve llama 3.1 8b, context length 0", "context_window", [*SERVE, "--context-window", "0"], True),
    ("serve llama 3.1 8b, peaks 0.5x", "peak_multiplier", [*SERVE, "--peak-multiplier", "0.5"], True),
    ("serve llama 3.1 8b, peaks 500x", "peak_multiplier", [*SERVE, "--peak-multiplier", "500"], True),
    ("serve llama 3.1 8b, expect 5000% growth", "growth_rate", [*SERVE, "--growth-rate", "5000"], True),
    ("serve llama 3.1 8b, expect 50% growth", "growth_rate", [*SERVE, "--growth-rate", "50"], False),
    ("serve llama 3.1 8b at 0 rps", "rps", [*SERVE[:3], "--rps", "0", *SERVE[5:]], True),
    ("serve llama 3.1 8b, 2k in 0 out", "output_tokens", [*SERVE[:8], "0"], True),
    ("fine-tune llama 3.1 8b for 0 epochs", "epochs", [*TRAIN[:-1], "0"], True),
    ("fine-tune llama 3.1 8b, seq len 0", "seq_len", [*TRAIN[:5], "0", *TRAIN[6:]], True),
    ("fine-tune llama 3.1 8b, batch size 0", "global_batch", [*TRAIN, "--global-batch-size", "0"], True),
    ("fine-tune llama 3.1 8b on 2 A100s", "num_gpus", [*TRAIN, "--global-batch-size", "64", "--num-gpus", "2"], False),
]


@pytest.mark.parametrize(("text", "key", "argv", "refused"), CASES, ids=[c[0] for c in CASES])
def test_the_chat_refuses_what_the_cli_refuses(text: str, key: str, argv: list[str], refused: bool) -> None:
    cli = subprocess.run([*gpucast_exe(), *argv, "--json"], capture_output=True, text=True, timeout=120)
    assert (cli.returncode != 0) == refused, cli.stderr
    values = interpret(BY_KEY["intent"], text, {})
    if not refused:
        assert key in values and LEFT_OUT not in values
        return
    assert key not in values and set(values[LEFT_OUT]) == {key}, values  # the model and goal stand
    assert "is not usable for" in values[LEFT_OUT][key] and "it takes" in values[LEFT_OUT][key]


@pytest.mark.parametrize(("key", "text"), [("rps", "0 rps"), ("epochs", "0"), ("tokens", "0 in 0 out"),
                                           ("intent", "tp 0"), ("peak", "peaks 500x")])  # fmt: skip
def test_an_answer_of_the_refused_value_alone_is_asked_again(key: str, text: str) -> None:
    context = {"intent": "training"} if key == "epochs" else {}
    with pytest.raises(AnswerError, match=r"is not usable for .* it takes|greater than 0"):
        interpret(BY_KEY[key], text, context)


def test_the_refusal_names_the_flag_and_what_is_accepted() -> None:
    values = interpret(BY_KEY["intent"], "serve llama 3.1 8b with TP 0", {})
    assert "tensor parallelism (--tp): it takes a power of two from 1 to 256" in values[LEFT_OUT]["tp"]
    assert refusal({"context_window": 0}) == (
        "0 is not usable for the context window (--context-window): it takes a whole number from 1 up to "
        "10,000,000 tokens"
    )


def test_every_limit_accepts_its_bounds_and_refuses_just_past_them() -> None:
    for key, limit in LIMITS.items():
        assert not limit.refuses(limit.high), key
        assert limit.refuses(limit.high * 2), key
        assert limit.refuses(limit.low) != limit.closed, key
