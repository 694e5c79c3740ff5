"""Fleet progress: ``progress(done, total)`` climbs monotonically to the total, chunking does not change a forecast,
and the CLI shows a bar on a terminal and plain status lines elsewhere."""

from __future__ import annotations

import itertools
import json
import sys

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("statsforecast")

from gpucast.cli.main import main  # noqa: E402
from gpucast.forecast import forecast_fleet, load_history  # noqa: E402
from gpucast.forecast.ensemble import forecast_frame  # noqa: E402

HOURS = 2 * 7 * 24


def fleet(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` hourly services (two weeks, daily cycle, noise) and one constant service (done without a fit)."""
    rng = np.random.default_rng(seed)
    t = np.arange(HOURS)
    ds = pd.date_range("2026-03-02", periods=HOURS, freq="h")
    frames = [
        pd.DataFrame({"service": f"svc-{k}", "timestamp": ds,
                      "rps": (10 + 5 * k) * (1.3 + np.sin(2 * np.pi * (t + k) / 24)) + rng.normal(0, 0.5, HOURS)})
        for k in range(n)
    ]  # fmt: skip
    frames.append(pd.DataFrame({"service": "flat", "timestamp": ds, "rps": 3.0}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def history():
    return load_history(fleet(6), id_col="service")


def test_progress_is_monotonic_up_to_the_total_and_chunks_change_nothing(history):
    calls: list[tuple[int, int]] = []
    chunked = forecast_frame(
        history.frame,
        history.freq,
        12,
        fast=True,
        chunk_size=2,
        engine="statsforecast",
        progress=lambda *c: calls.append(c),
    )
    assert calls == [(1, 7), (3, 7), (5, 7), (7, 7)]  # the constant first, then three chunks of two
    whole = forecast_frame(
        history.frame, history.freq, 12, fast=True, engine="statsforecast"
    )  # default size: one chunk for 7 services
    assert list(chunked) == list(whole)
    for uid in whole:
        assert chunked[uid].forecast == whole[uid].forecast
        assert chunked[uid].members == whole[uid].members


def test_fleet_progress_default_chunks(history):
    calls: list[tuple[int, int]] = []
    forecast_fleet(history, "12h", fast=True, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (1, 7) and calls[-1] == (7, 7)
    assert all(a[0] <= b[0] and a[1] == b[1] == 7 for a, b in itertools.pairwise(calls))


def test_cli_plain_status_lines_when_stderr_is_not_a_terminal(tmp_path, capsys):
    path = tmp_path / "fleet.csv"
    fleet(2).to_csv(path, index=False)
    args = ["predict", "--history", str(path), "--id-col", "service", "--horizon", "6h", "--all-services", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "forecast: 1/3 services over all cores",
        "forecast: 2/3 services over all cores",
        "forecast: 3/3 services over all cores",
    ]
    assert sorted(json.loads(captured.out)) == ["flat", "svc-0", "svc-1"]


def test_cli_progress_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    path = tmp_path / "fleet.csv"
    fleet(2).to_csv(path, index=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # the captured stderr stands in for a terminal
    args = ["predict", "--history", str(path), "--id-col", "service", "--horizon", "6h", "--all-services", "--json"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "forecasting over all cores" in err and "3/3" in err and "━" in err
    assert "forecast: " not in err  # no plain lines on a terminal
