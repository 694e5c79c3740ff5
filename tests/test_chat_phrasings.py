"""The parser corpus: every phrasing in tests/data/chat_phrasings.csv read as the answer to its question.

Each row states the whole reading (every key the parser returns), so a phrasing that also yields a stray value
("TTFT under 1s" as 1 request/s, issue 23) fails, and whether the reading must be echoed back for confirmation:
a guess (typo, range, decimal comma, number without unit, closest name) is never used unasked."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucast.chat.errors import AnswerError
from gpucast.chat.questions import BY_KEY, interpret
from gpucast.chat.values import LEFT_OUT, UNSURE

CORPUS = Path(__file__).parent / "data" / "chat_phrasings.csv"
CONTEXT = {"dataset_tokens": {"intent": "training"}, "epochs": {"intent": "training"},
           "seq_len": {"intent": "training"}, "horizon": {"intent": "forecast"}}  # fmt: skip
ECHOES = ("gpus", "clouds", UNSURE, LEFT_OUT)  # lists repeated beside gpu/cloud, the guesses (the unsure column), the
# values refused beside readable ones (tests/test_chat_limits.py)


def _rows() -> list[dict[str, str]]:
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def _expected(text: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for pair in text.split():
        key, _, raw = pair.partition("=")
        if key == "slo_percentile":  # a name ("99", "mean"), not a number
            values[key] = raw
            continue
        try:
            values[key] = float(raw)
        except ValueError:
            values[key] = {"none": None, "True": True, "False": False}.get(raw, raw)
    return values


ROWS = _rows()


def test_the_corpus_is_large_and_varied():
    assert len(ROWS) >= 300
    assert len({row["text"] for row in ROWS}) >= 280  # a few phrasings are asked under two questions
    assert sum(row["unsure"] == "1" for row in ROWS) >= 40 and sum(row["expected"] == "error" for row in ROWS) >= 25


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['question']}:{r['text']}" for r in ROWS])
def test_phrasing(row: dict[str, str]) -> None:
    question = BY_KEY[row["question"]]
    answers = dict(CONTEXT.get(row["question"], {}))
    if row["expected"] == "error":
        with pytest.raises(AnswerError):
            interpret(question, row["text"], answers)
        return
    values = interpret(question, row["text"], answers)
    reading = {k: v for k, v in values.items() if k not in ECHOES}
    expected = _expected(row["expected"])
    assert set(reading) == set(expected), (reading, expected)
    for key, want in expected.items():
        got = reading[key]
        if isinstance(want, float) and not isinstance(got, bool):
            assert isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-4), (key, got, want)
        else:
            assert got == want, (key, got, want)
    assert bool(values.get(UNSURE)) == (row["unsure"] == "1"), values.get(UNSURE)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0.05, max_value=600, allow_nan=False),
    st.sampled_from(["ms", "s", "sec", "seconds", "milliseconds"]),
    st.sampled_from(["", "ttft ", "latency ", "under ", "within ", "in less than ", "ttft < ", "p99 under "]),
)
def test_a_time_is_never_read_as_a_rate(value, unit, lead):
    """Issue 23: "TTFT under 1s" answered to the load question was planned as 1 request/s."""
    try:
        values = interpret(BY_KEY["rps"], f"{lead}{value:.2f} {unit}", {})
    except AnswerError:
        return
    assert "rps" not in values and "peak_rps" not in values


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=5000), st.integers(min_value=1, max_value=5000))
def test_a_range_is_planned_at_its_upper_end_and_asked_back(low, extra):
    high = low + extra
    values = interpret(BY_KEY["rps"], f"{low}-{high} rps", {})
    assert values["rps"] == high and values[UNSURE]
