"""scripts/evaluate_forecasts.py: the origins it cuts, one scored series, the table and the docs block it writes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import load_script

pd = pytest.importorskip("pandas")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "evaluate_forecasts.py"


@pytest.fixture(scope="module")
def ev():
    return load_script(SCRIPT, "evaluate_forecasts")


def test_origins_hand_checked(ev) -> None:
    # 336 hours, 48-hour horizon: the last origin at 288, then every 12 hours back; none before 3 days (72)
    assert ev.cuts(336, 48, 4, 12) == [252, 264, 276, 288]
    assert ev.cuts(100, 24, 3, 12) == [] or min(ev.cuts(100, 24, 3, 12)) >= 72
    assert ev.geomean([0.5, 2.0]) == pytest.approx(1.0)


def test_every_repository_trace_is_found(ev) -> None:
    names = [s.name for s in ev.traces()]
    assert "ServeGen m-large" in names and "docs/sample-traffic.csv" in names
    assert sum(n.startswith("ServeGen m-") and "/client-" in n for n in names) == 12


def test_one_series_scored_and_written(ev, tmp_path, monkeypatch) -> None:
    series = next(s for s in ev.traces() if s.name == "ServeGen m-mid")
    score = ev.evaluate(series, 24, 2, 24, with_sf=False)
    assert 0 < score.vs_naive < 3 and score.vs_sf is None
    assert 0 <= score.cov80 <= score.cov95 <= 1
    text = ev.table([score])
    assert "| ServeGen m-mid | ServeGen aggregate |" in text and "**all hourly series** (1)" in text
    doc = tmp_path / "page.md"
    doc.write_text(f"intro\n{ev.BEGIN}\nold\n{ev.END}\nafter\n")
    monkeypatch.setattr(ev, "DOC", doc)
    ev.write_docs("new table")
    assert doc.read_text() == f"intro\n{ev.BEGIN}\nnew table\n{ev.END}\nafter\n"
    assert not math.isnan(score.vs_naive)


def test_one_hour_traces_per_minute_scored_on_their_own_protocol(ev) -> None:
    # data/traffic/short_traces_per_minute.csv: Azure 2023 code/conversation and Mooncake conversation, ~1 h each
    short = [s for s in ev.traces() if s.short]
    assert sorted(s.name for s in short) == ["azure-2023/code", "azure-2023/conversation", "mooncake/conversation"]
    for s in short:
        stamps = pd.to_datetime(s.frame["timestamp"])
        assert 55 <= len(s.frame) <= 60 and (stamps.diff().dropna().dt.total_seconds() == 60).all()
        assert (s.frame["rps"] >= 0).all() and s.frame["rps"].mean() > 1
    conv = next(s for s in short if s.name == "azure-2023/conversation")
    # 10 minutes ahead from 16 origins 2 min apart, at least 20 minutes of history: 58 minutes leave 15 origins
    assert ev.cuts(len(conv.frame), 10, 16, 2, 20) == list(range(20, 49, 2))
    score = ev.evaluate(conv, 48, 16, 12, with_sf=True)  # the hourly arguments do not apply to a short trace
    assert 0.5 < score.vs_naive < 1.5 and score.vs_sf is not None and 0.5 < score.vs_sf < 1.5
    assert 0 <= score.cov80 <= score.cov95 <= 1
    text = ev.table([score])
    assert "one-hour trace (per minute)" in text and "all hourly series" not in text


def test_one_day_traces_per_ten_minutes_scored_on_their_own_protocol(ev) -> None:
    # data/traffic/servegen_one_day.csv: ServeGen DeepSeek-R1 and mm-image, totals and four clients each, one day
    one_day = [s for s in ev.traces() if s.family == ev.ONE_DAY_FAMILY]
    assert len(one_day) == 10 and not any(s.hourly or s.short for s in one_day)
    total = next(s for s in one_day if s.name == "ServeGen mm-image")
    steps = pd.to_datetime(total.frame["timestamp"]).diff().dropna().dt.total_seconds()
    assert len(total.frame) == 144 and (steps == 600).all()
    # 2 hours ahead from 16 origins 1 hour apart, the last ending at the day's end (132), none before 6 hours (36)
    assert ev.cuts(144, 12, 16, 6, 36) == list(range(42, 133, 6))
    score = ev.evaluate(total, 48, 16, 12, with_sf=False)  # the hourly arguments do not apply
    assert 0.5 < score.vs_naive < 1.5 and 0 <= score.cov80 <= score.cov95 <= 1
    text = ev.table([score])
    assert "one-day trace (per 10 minutes)" in text and "all hourly series" not in text


def test_one_week_traces_hourly_scored_on_their_own_protocol(ev) -> None:
    # data/traffic/azure_2024_week.csv: Azure LLM inference 2024, code and conversation, one week each, hourly
    week = [s for s in ev.traces() if s.family == ev.WEEK_FAMILY]
    assert sorted(s.name for s in week) == ["azure-2024/code", "azure-2024/conversation"]
    assert not any(s.hourly or s.short for s in week) and ev.WEEK.horizon == 24
    for s in week:
        steps = pd.to_datetime(s.frame["timestamp"]).diff().dropna().dt.total_seconds()
        assert len(s.frame) == 168 and (steps == 3600).all()
    # 24 hours ahead from origins 12 hours apart, the last ending at the week's end (144), none before 3 days (72)
    assert ev.cuts(168, 24, 7, 12, 72) == list(range(72, 145, 12))
    score = ev.evaluate(week[0], 48, 16, 12, with_sf=False)  # the hourly arguments do not apply
    assert 0.2 < score.vs_naive < 5 and 0 <= score.cov80 <= score.cov95 <= 1
    assert len(score.windows[80]) == 7
    text = ev.table([score])
    assert "one-week trace (hourly)" in text and "all hourly series" not in text
