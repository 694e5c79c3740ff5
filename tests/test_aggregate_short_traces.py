"""scripts/aggregate_short_traces.py: per-minute counts, hand-checked, and the committed file it built."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import load_script

pd = pytest.importorskip("pandas")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def agg():
    return load_script(REPO / "scripts" / "aggregate_short_traces.py", "aggregate_short_traces")


def test_per_minute_hand_checked(agg, tmp_path) -> None:
    # Azure's schema: 3 requests in 12:00, none in 12:01, 2 in 12:02, 1 in 12:03; the first and last minutes are cut
    # by the trace window and dropped, so 12:01 (0 rps, no token mean) and 12:02 (2/60 rps) remain
    path = tmp_path / "trace.csv"
    path.write_text(
        "\ufeffTIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 12:00:05.1,100,10\n2023-11-16 12:00:30.0,200,20\n2023-11-16 12:00:59.9999,300,30\n"
        "2023-11-16 12:02:00.0,1000,1\n2023-11-16 12:02:59.5,3000,3\n2023-11-16 12:03:10,7,7\n"
    )
    out = agg.azure(path, "x")
    assert out["timestamp"].tolist() == ["2023-11-16T12:01:00Z", "2023-11-16T12:02:00Z"]
    assert out["rps"].tolist() == [0.0, round(2 / 60, 4)]
    assert pd.isna(out["input_tokens"].iloc[0]) and out["input_tokens"].iloc[1] == 2000.0
    assert out["output_tokens"].iloc[1] == 2.0 and (out["service"] == "x").all()


def test_mooncake_milliseconds_anchored(agg, tmp_path) -> None:
    path = tmp_path / "trace.jsonl"
    rows = [(0, 5, 1), (61_000, 7, 2), (119_999, 9, 4), (150_000, 1, 1)]
    path.write_text("".join(f'{{"timestamp": {t}, "input_length": {i}, "output_length": {o}, "hash_ids": [1]}}\n'
                            for t, i, o in rows))  # fmt: skip
    out = agg.mooncake(path, "m", "2025-01-01T00:00:00Z")
    assert out["timestamp"].tolist() == ["2025-01-01T00:01:00Z"] and out["rps"].tolist() == [round(2 / 60, 4)]
    assert out["input_tokens"].tolist() == [8.0] and out["output_tokens"].tolist() == [3.0]


def test_committed_file_matches_its_sources_totals() -> None:
    # data/traffic/short_traces_per_minute.csv, built from the real traces (data/traffic/README.md): whole requests
    # per minute, and per series the source file's requests less those of its dropped first and last minutes
    # (counted on the source files: Azure code 8,819 - 63 - 237, conversation 19,366 - 21 - 7, Mooncake conversation
    # 12,031 - 162 - 203)
    frame = pd.read_csv(REPO / "data" / "traffic" / "short_traces_per_minute.csv")
    counts = frame["rps"] * 60
    assert ((counts - counts.round()).abs() < 1e-2).all()
    totals = counts.round().groupby(frame["service"]).sum().to_dict()
    assert totals == {"azure-2023/code": 8519, "azure-2023/conversation": 19338, "mooncake/conversation": 11666}
