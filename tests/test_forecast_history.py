"""Loading traffic histories: every accepted shape, and every repair or rejection with its documented message."""

from __future__ import annotations

import json

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("statsforecast")

from gpucast.errors import InputError  # noqa: E402
from gpucast.forecast import load_history  # noqa: E402

HOURS = pd.date_range("2024-03-01", periods=48, freq="h")


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def csv(tmp_path, header: str, rows: list[str], name: str = "h.csv"):
    return write(tmp_path, name, "\n".join([header, *rows]) + "\n")


def iso_rows(values, start: int = 0):
    return [f"{HOURS[i + start].isoformat()}Z,{v}" for i, v in enumerate(values)]


def test_two_columns_need_no_options(tmp_path):
    history = load_history(csv(tmp_path, "when,load", iso_rows(range(48))))
    assert list(history.frame.columns) == ["unique_id", "ds", "y"]
    assert history.freq == "h" and len(history.frame) == 48 and not history.warnings
    assert history.frame["ds"].iloc[0] == pd.Timestamp("2024-03-01 00:00")


def test_value_column_found_by_name_or_option(tmp_path):
    rows = [f"{HOURS[i].isoformat()},{i},{100 - i}" for i in range(48)]
    assert load_history(csv(tmp_path, "timestamp,rps,other", rows)).frame["y"].iloc[1] == 1
    chosen = load_history(csv(tmp_path, "t,a,b", rows), value_col="b", timestamp_col="t")
    assert chosen.frame["y"].iloc[1] == 99
    with pytest.raises(InputError, match="no value column among"):
        load_history(csv(tmp_path, "timestamp,a,b", rows))
    with pytest.raises(InputError, match="value_col 'nope' is not a column"):
        load_history(csv(tmp_path, "timestamp,a,b", rows), value_col="nope")


@pytest.mark.parametrize("scale", [1, 1000])
def test_epoch_seconds_and_milliseconds(tmp_path, scale):
    start = int(pd.Timestamp("2024-03-01", tz="UTC").timestamp())
    rows = [f"{(start + 3600 * i) * scale},{i}" for i in range(48)]
    history = load_history(csv(tmp_path, "ts,value", rows))
    assert history.frame["ds"].iloc[0] == pd.Timestamp("2024-03-01 00:00")
    assert history.freq == "h"


def test_time_zones_are_normalised_to_utc(tmp_path):
    local = pd.date_range("2024-03-01 02:00", periods=48, freq="h", tz="+02:00")
    rows = [f"{ts.isoformat()},{i}" for i, ts in enumerate(local)]
    history = load_history(csv(tmp_path, "timestamp,y", rows))
    assert history.frame["ds"].iloc[0] == pd.Timestamp("2024-03-01 00:00")


def test_json_and_parquet(tmp_path):
    records = [{"timestamp": HOURS[i].isoformat(), "requests": i} for i in range(48)]
    assert len(load_history(write(tmp_path, "h.json", json.dumps(records))).frame) == 48
    pytest.importorskip("pyarrow")
    path = tmp_path / "h.parquet"
    pd.DataFrame({"timestamp": HOURS, "rps": range(48)}).to_parquet(path)
    assert load_history(path).frame["y"].sum() == sum(range(48))


def test_request_log_is_aggregated_to_rps_and_tokens(tmp_path):
    rows = []
    for hour in range(10):
        for k in range(hour + 1):  # hour h has h+1 requests
            rows.append(f"2024-03-01T{hour:02d}:{k:02d}:00Z,{100 * (k + 1)},50")
    history = load_history(csv(tmp_path, "timestamp,input_tokens,output_tokens", rows), freq="1h")
    assert history.kind == "requests"
    frame = history.frame
    assert frame["y"].tolist() == pytest.approx([(h + 1) / 3600 for h in range(10)])
    assert frame["input_tokens"].iloc[1] == pytest.approx(150)  # mean of 100, 200
    assert set(frame["output_tokens"]) == {50}
    five = load_history(csv(tmp_path, "timestamp,input_tokens,output_tokens", rows), freq="5min", kind="requests")
    assert five.freq == "5min" and five.frame["y"].iloc[0] == pytest.approx(1 / 300)


def test_duplicates_are_averaged_with_a_warning(tmp_path):
    rows = iso_rows(range(48)) + iso_rows([100])
    history = load_history(csv(tmp_path, "timestamp,rps", rows))
    assert history.frame["y"].iloc[0] == 50
    assert any("duplicate timestamps averaged" in w for w in history.warnings)


def test_gaps_and_nan_are_interpolated_with_a_warning(tmp_path):
    values = [str(float(i)) for i in range(48)]
    values[10] = ""
    rows = [r for i, r in enumerate(iso_rows(values)) if i not in (20, 21)]
    history = load_history(csv(tmp_path, "timestamp,rps", rows))
    assert len(history.frame) == 48
    assert history.frame["y"].iloc[20] == pytest.approx(20) and history.frame["y"].iloc[10] == pytest.approx(10)
    assert any(
        "3 missing or NaN 1h steps filled by linear interpolation (longest gap 2)" in w for w in history.warnings
    )


def test_unsorted_rows_are_sorted_with_a_warning(tmp_path):
    history = load_history(csv(tmp_path, "timestamp,rps", iso_rows(range(48))[::-1]))
    assert history.frame["y"].is_monotonic_increasing
    assert any("sorted" in w for w in history.warnings)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (iso_rows([*range(47), -3]), "negative value -3 in column 'rps'"),
        (iso_rows([*range(47), "lots"]), "value 'lots' in column 'rps' is not a number"),
        ([*iso_rows(range(47)), "yesterday,3"], "cannot parse timestamp 'yesterday'"),
        (iso_rows(range(5)), "at least 8 are needed"),
    ],
)
def test_bad_values_are_rejected_in_one_line(tmp_path, rows, message):
    with pytest.raises(InputError, match=message) as info:
        load_history(csv(tmp_path, "timestamp,rps", rows))
    assert "\n" not in str(info.value)


def test_mostly_missing_and_bad_files_are_rejected(tmp_path):
    rows = [r for i, r in enumerate(iso_rows(range(48))) if i % 3 == 0]
    with pytest.raises(InputError, match="at most 50% can be interpolated"):
        load_history(csv(tmp_path, "timestamp,rps", rows), freq="1h")
    with pytest.raises(InputError, match="not found"):
        load_history(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="unknown history file type"):
        load_history(write(tmp_path, "h.xlsx", "x"))
    with pytest.raises(InputError, match="unknown freq"):
        load_history(csv(tmp_path, "timestamp,rps", iso_rows(range(48))), freq="fortnightly")


def test_several_services_by_id_and_constant_series(tmp_path):
    rows = [f"{HOURS[i].isoformat()},{svc},{5.0}" for svc in ("a", "b") for i in range(48)]
    history = load_history(csv(tmp_path, "timestamp,service,rps", rows))
    assert history.ids == ["a", "b"]
    assert np.ptp(history.frame["y"]) == 0  # constant is accepted here; the ensemble forecasts it flat


def test_huge_file_is_refused_before_reading(tmp_path):
    from gpucast.forecast.history import MAX_FILE_BYTES

    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # sparse: no disk space used, nothing read
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match=r"huge\.csv.*2\.0 GiB.*aggregate"):
        load_history(path)


def test_dropouts_in_busy_traffic_are_interpolated_with_a_warning():
    # 200 rps (720,000 requests per hour) with one hour at 0: an outage, not demand
    values = [200.0 + 10 * np.sin(i / 3) for i in range(72)]
    values[30] = 0.0
    frame = pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=72, freq="h"), "rps": values})
    history = load_history(frame)
    assert history.frame["y"].iloc[30] == pytest.approx((values[29] + values[31]) / 2)
    assert any("1 dropout step" in w for w in history.warnings)


def test_zeros_in_sparse_traffic_are_real():
    # 0.01 rps is 36 requests per hour: an empty hour is plausible, so nothing is repaired
    values = [0.01] * 72
    values[30] = 0.0
    frame = pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=72, freq="h"), "rps": values})
    history = load_history(frame)
    assert history.frame["y"].iloc[30] == 0.0
    assert not any("dropout" in w for w in history.warnings)


def test_silent_stretches_are_counted_as_separate_runs():
    from gpucast.forecast.history import silent_stretches

    assert silent_stretches(np.array([True, True, False, True, False, False, True])) == 3
    assert silent_stretches(np.array([False, False])) == 0
    assert silent_stretches(np.array([], dtype=bool)) == 0


def test_recurring_silence_in_busy_traffic_is_demand_not_an_outage():
    """On/off traffic: 3 rps (180 requests a minute) silent for one minute every 8 minutes — 5 separate silent
    stretches in 40 minutes, more than one per DROPOUT_RECUR_STEPS (20): kept as they are, with a warning. The
    same series with one silent minute keeps the outage repair."""
    from gpucast.forecast.history import DROPOUT_RECUR_STEPS

    minutes = pd.date_range("2026-01-01", periods=40, freq="min")
    values = [3.0 + 0.5 * np.sin(i) for i in range(40)]
    silent = [4, 12, 20, 28, 36]
    assert len(silent) * DROPOUT_RECUR_STEPS >= len(values)
    on_off = [0.0 if i in silent else v for i, v in enumerate(values)]
    history = load_history(pd.DataFrame({"timestamp": minutes, "rps": on_off}))
    assert history.frame["y"].to_numpy()[silent].tolist() == [0.0] * 5
    assert any("5 separate silent stretches in 40 steps" in w for w in history.warnings)
    assert not any("dropout" in w for w in history.warnings)
    once = [0.0 if i == 20 else v for i, v in enumerate(values)]
    repaired = load_history(pd.DataFrame({"timestamp": minutes, "rps": once}))
    assert repaired.frame["y"].iloc[20] == pytest.approx((values[19] + values[21]) / 2)
    assert any("1 dropout step" in w for w in repaired.warnings)
