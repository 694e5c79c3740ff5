"""scripts/azure2024_week.py: hourly sums of wattproof's per-minute file and of the official request files on tiny
hand-checked inputs, the total check; and the committed data/traffic/azure_2024_week.csv against the figures an
independent analysis of the official files printed (data/traffic/README.md)."""

from __future__ import annotations

import statistics
from datetime import datetime
from pathlib import Path

import pytest

from conftest import load_script

pd = pytest.importorskip("pandas")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "traffic" / "azure_2024_week.csv"


@pytest.fixture(scope="module")
def aw():
    return load_script(REPO / "scripts" / "azure2024_week.py", "azure2024_week")


def _minutes(code: int, conv: int) -> list[dict[str, str]]:
    return [{"minute": str(m), "code_requests": str(code), "conv_requests": str(conv)} for m in range(7 * 24 * 60)]


def test_minutes_summed_per_hour(aw) -> None:
    rows = _minutes(1, 2)
    rows[61]["code_requests"] = "5"  # hour 1 gains 4
    hours = aw.hourly_from_minutes(rows)
    assert len(hours["code"]) == 168 and hours["code"][0] == 60 and hours["code"][1] == 64
    assert set(hours["conv"]) == {120}
    with pytest.raises(ValueError, match="expected 3"):
        aw.hourly_from_minutes(rows[:3] + rows[4:])  # a minute missing
    with pytest.raises(ValueError, match="minutes"):
        aw.hourly_from_minutes(rows[:-1])  # the week cut short


def test_official_rows_counted_per_hour(aw) -> None:
    start = datetime.fromisoformat("2024-05-10 00:00:00+00:00")
    lines = [
        "TIMESTAMP,ContextTokens,GeneratedTokens\n",
        "2024-05-10 00:00:00.009930+00:00,2162,5\n",
        "2024-05-10 00:59:59.999999+00:00,76,15\n",
        "2024-05-10 01:00:00.000001+00:00,2376,1\n",
        "2024-05-16 23:59:59.929501+00:00,7670,8\n",
    ]
    counts = aw.hourly_from_requests(lines, start)
    assert counts[0] == 2 and counts[1] == 1 and counts[167] == 1 and sum(counts) == 4
    with pytest.raises(ValueError, match="outside the week"):
        aw.hourly_from_requests([lines[0], "2024-05-17 00:00:00.1+00:00,1,1\n"], start)
    with pytest.raises(ValueError, match="header"):
        aw.hourly_from_requests(["Timestamp,Model\n"], start)


def test_totals_must_be_the_official_counts(aw, tmp_path) -> None:
    src = tmp_path / "minutes.csv"
    src.write_text("# a comment line, as wattproof's file starts\nminute,code_requests,conv_requests\n"
                   + "".join(f"{m},1,1\n" for m in range(7 * 24 * 60)))  # fmt: skip
    assert aw.main(["--minutes", str(src), str(tmp_path / "out.csv")]) == 1  # 10,080 requests, not 16.8 M
    assert not (tmp_path / "out.csv").exists()
    hours = aw.read_minutes(src)
    aw.write(hours, tmp_path / "w.csv")
    written = pd.read_csv(tmp_path / "w.csv")
    assert list(written.columns) == ["service", "timestamp", "requests", "rps"] and len(written) == 336
    assert written["timestamp"].iloc[168] == "2024-05-12T00:00:00Z" and written["rps"].iloc[0] == pytest.approx(
        60 / 3600, abs=1e-4
    )


def _hours(frame, service: str) -> list[int]:
    return frame[frame["service"] == service]["requests"].tolist()


def test_committed_week_matches_the_published_figures(aw) -> None:
    frame = pd.read_csv(DATA)
    assert sorted(frame["service"].unique()) == ["azure-2024/code", "azure-2024/conversation"]
    code, conv = _hours(frame, "azure-2024/code"), _hours(frame, "azure-2024/conversation")
    assert len(code) == len(conv) == 168
    assert sum(code) == aw.ROWS["code"] == 16_803_695 and sum(conv) == aw.ROWS["conv"] == 27_303_999
    assert (frame["rps"] - frame["requests"] / 3600).abs().max() < 1e-4
    for service, first in (
        ("azure-2024/code", "2024-05-10T00:00:00Z"),
        ("azure-2024/conversation", "2024-05-12T00:00:00Z"),
    ):
        stamps = pd.to_datetime(frame[frame["service"] == service]["timestamp"])
        assert str(frame[frame["service"] == service]["timestamp"].iloc[0]) == first
        assert (stamps.diff().dropna().dt.total_seconds() == 3600).all()
    # the first ten hourly counts of the code service, printed by an analysis of the official file
    assert code[:10] == [77540, 76895, 66953, 57781, 46575, 38670, 32595, 29267, 25758, 28504]
    # each day's peak / trough ratio (the same analysis, one decimal)
    ratios = {
        "code": [8.6, 7.0, 5.9, 10.0, 11.3, 11.1, 9.1],
        "conv": [1.8, 1.8, 1.9, 2.0, 2.0, 2.2, 1.7],
    }
    for hours, want in ((code, ratios["code"]), (conv, ratios["conv"])):
        days = [hours[24 * d : 24 * d + 24] for d in range(7)]
        assert [round(max(d) / min(d), 1) for d in days] == want
    # coefficient of variation and 24-hour autocorrelation of the hourly counts
    for hours, cov, rho in ((code, 0.848, 0.7545), (conv, 0.291, 0.3995)):
        assert statistics.stdev(hours) / statistics.fmean(hours) == pytest.approx(cov, abs=5e-4)
        assert statistics.correlation(hours[:-24], hours[24:]) == pytest.approx(rho, abs=5e-5)
