"""scripts/forecast_level_shrink.py and scripts/forecast_bottom_up.py (measurements for issue 26 item 2): the level
gap reads only the past and is hand-checked; the client frame is ServeGen's 10-minute rates averaged per hour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import load_script

pytest.importorskip("pandas")

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def test_level_gap_hand_checked_and_causal() -> None:
    shrink = load_script(SCRIPTS / "forecast_level_shrink.py", "forecast_level_shrink")
    # daily mean log levels 1, 2, 3, 4 (days 0-3), then a day at 10 (day 4): at t = 5 days the gap is the median
    # of the five daily levels (3) minus the last one (10); what comes after t changes nothing
    z = np.repeat([1.0, 2.0, 3.0, 4.0, 10.0, 99.0], 24)
    assert shrink.gap(z, 5 * 24) == pytest.approx(3.0 - 10.0)
    assert shrink.gap(z, 24) == 0.0  # fewer than two days: no correction
    # more than a week: only the last 7 days count
    z = np.repeat([50.0, 50.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 5.0], 24)
    assert shrink.gap(z, 9 * 24) == pytest.approx(2.0 - 5.0)


def test_client_frame_is_hourly_means(tmp_path) -> None:
    bottom_up = load_script(SCRIPTS / "forecast_bottom_up.py", "forecast_bottom_up")
    # ServeGen's chunk-<i>-trace.csv rows: start_s, rate, ...; two clients, 12 windows = 2 hours
    for i, rates in ((1, [1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 6]), (2, [6] * 12)):
        rows = "".join(f"{600 * k},{r},0,,0,0\n" for k, r in enumerate(rates))
        (tmp_path / f"chunk-{i}-trace.csv").write_text(rows)
    frame = bottom_up.client_frame(tmp_path)
    wide = frame.pivot(index="timestamp", columns="service", values="rps")
    np.testing.assert_allclose(wide["chunk-1-trace.csv"].to_numpy(), [3.5, 1.0])
    np.testing.assert_allclose(wide.sum(axis=1).to_numpy(), [9.5, 7.0])
