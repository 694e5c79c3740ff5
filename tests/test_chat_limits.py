"""A value the CLI refuses is refused when the conversation reads it, saying what is accepted (chat.values.LIMITS).

Before 2026-12-07 "TP 0", "context length 0", "0 epochs", "2k in 0 out" were dropped unsaid (the plan searched a
layout, used the default window or length), and "TP 3", "peaks 500x", "5000% growth" were taken and failed only after
the summary. Each case here is also run through the CLI flag it stands for: the chat refuses exactly what the CLI
refuses."""

from __future__ import annotations

import subprocess

import pytest

from conftest import gpucast_exe
from gpucast.chat.errors import AnswerError
from gpucast.chat.questions import BY_KEY, interpret
from gpucast.chat.values import LIMITS, refusal

SERVE = ["inference", "--model", "llama-3.1-8b", "--rps", "10", "--input-tokens", "1000", "--output-tokens", "200"]
TRAIN = ["training", "--model", "llama-3.1-8b", "--dataset-size", "1000000", "--sequence-length", "2048",
         "--epochs", "1"]  # fmt: skip
# (first message, the CLI flags of the same value, whether both refuse it)
CASES = [
    ("serve llama 3.1 8b with TP 0", [*SERVE, "--tp", "0"], True),
    ("serve llama 3.1 8b, tensor parallel 3", [*SERVE, "--tp", "3"], True),
    ("serve llama 3.1 8b, tp 512", [*SERVE, "--tp", "512"], True),
    ("serve llama 3.1 8b, tp 4", [*SERVE, "--tp", "4"], False),
    ("serve llama 3.1 8b, pp 0", [*SERVE, "--pp", "0"], True),
    ("serve llama 3.1 8b, 2 pipeline stages", [*SERVE, "--pp", "2"], False),
    ("serve llama 3.1 8b, context length 0", [*SERVE, "--context-window", "0"], True),
    ("serve llama 3.1 8b, peaks 0.5x", [*SERVE, "--peak-multiplier", "0.5"], True),
    ("serve llama 3.1 8b, peaks 500x", [*SERVE, "--peak-multiplier", "500"], True),
    ("serve llama 3.1 8b, expect 5000% growth", [*SERVE, "--growth-rate", "5000"], True),
    ("serve llama 3.1 8b, expect 50% growth", [*SERVE, "--growth-rate", "50"], False),
    ("serve llama 3.1 8b at 0 rps", [*SERVE[:3], "--rps", "0", *SERVE[5:]], True),
    ("serve llama 3.1 8b, 2k in 0 out", [*SERVE[:8], "0"], True),
    ("fine-tune llama 3.1 8b for 0 epochs", [*TRAIN[:-1], "0"], True),
    ("fine-tune llama 3.1 8b, seq len 0", [*TRAIN[:5], "0", *TRAIN[6:]], True),
    ("fine-tune llama 3.1 8b, batch size 0", [*TRAIN, "--global-batch-size", "0"], True),
]


@pytest.mark.parametrize(("text", "argv", "refused"), CASES, ids=[c[0] for c in CASES])
def test_the_chat_refuses_what_the_cli_refuses(text: str, argv: list[str], refused: bool) -> None:
    cli = subprocess.run([*gpucast_exe(), *argv, "--json"], capture_output=True, text=True, timeout=120)
    assert (cli.returncode != 0) == refused, cli.stderr
    if not refused:
        interpret(BY_KEY["intent"], text, {})
        return
    with pytest.raises(AnswerError, match=r"is not usable for .* it takes"):
        interpret(BY_KEY["intent"], text, {})


def test_the_refusal_names_the_flag_and_what_is_accepted() -> None:
    with pytest.raises(AnswerError) as error:
        interpret(BY_KEY["intent"], "serve llama 3.1 8b with TP 0", {})
    assert "tensor parallelism (--tp): it takes a power of two from 1 to 256" in str(error.value)
    assert refusal({"context_window": 0}) == (
        "0 is not usable for the context window (--context-window): it takes a whole number from 1 up to "
        "10,000,000 tokens"
    )


def test_every_limit_accepts_its_bounds_and_refuses_just_past_them() -> None:
    for key, limit in LIMITS.items():
        assert not limit.refuses(limit.high), key
        assert limit.refuses(limit.high * 2), key
        assert limit.refuses(limit.low) != limit.closed, key
