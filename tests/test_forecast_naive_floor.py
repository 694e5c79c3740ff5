"""leads.naive_floored: a seasonal band no replay could check is made no narrower than seasonal-naive's own error
interval one season ahead, measured on the history (docs/forecast-accuracy.md, the one-week traces)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import load_script
from gpucast.forecast import leads


def _band() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    return {80: (np.array([-0.1, -0.5]), np.array([0.1, 0.5])), 95: (np.array([-0.2, -0.6]), np.array([0.3, 0.6]))}


def test_floor_by_hand() -> None:
    """season 2, log1p values 0, 0, 0.1, 0.2, 0.4, 0.2: one-season changes 0.1, 0.2, 0.3, 0.0 (four pairs, two
    seasons). Sorted 0, 0.1, 0.2, 0.3: the 0.8 quantile at position 2.4 is 0.24, the 0.95 one at 2.85 is 0.285.
    80%: step 1's ±0.1 becomes ±0.24, step 2's ±0.5 stays; 95%: step 1 -0.285 / +0.3, step 2 ±0.6 stays."""
    y = np.expm1(np.array([0.0, 0.0, 0.1, 0.2, 0.4, 0.2]))
    out = leads.naive_floored(_band(), y, 2)
    np.testing.assert_allclose(out[80][0], [-0.24, -0.5], rtol=1e-9)
    np.testing.assert_allclose(out[80][1], [0.24, 0.5], rtol=1e-9)
    np.testing.assert_allclose(out[95][0], [-0.285, -0.6], rtol=1e-9)
    np.testing.assert_allclose(out[95][1], [0.3, 0.6], rtol=1e-9)


def test_unchanged_without_two_seasons_of_pairs_or_a_season() -> None:
    y = np.expm1(np.array([0.0, 0.0, 0.1, 0.2, 0.4]))  # three pairs: fewer than two seasons
    band = _band()
    for out in (leads.naive_floored(band, y, 2), leads.naive_floored(band, np.arange(50.0), 1)):
        for lv in band:
            np.testing.assert_array_equal(out[lv][0], band[lv][0])
            np.testing.assert_array_equal(out[lv][1], band[lv][1])


def test_never_narrows_and_grows_with_the_day_to_day_changes() -> None:
    rng = np.random.default_rng(0)
    calm = np.exp(rng.normal(3.0, 0.05, 96))
    swings = calm * np.repeat(np.exp(rng.normal(0.0, 0.5, 4)), 24)  # day levels moved by ~exp(±0.5)
    band = _band()
    quiet, wild = leads.naive_floored(band, calm, 24), leads.naive_floored(band, swings, 24)
    for lv in band:
        assert np.all(wild[lv][1] >= band[lv][1]) and np.all(wild[lv][0] <= band[lv][0])
        assert wild[lv][1][0] > quiet[lv][1][0]


def test_three_day_windows_script_scores_cycle_less_series() -> None:
    """scripts/forecast_three_day_windows.py: its synthetic series are seeded, and one of 300 hours scored 24 hours
    ahead gives 18 windows (starts 0, 36, ..., 180, the last leaving 84 + 24 hours; three lengths each), every
    figure finite."""
    pytest.importorskip("pandas")
    script = load_script(Path(__file__).resolve().parents[1] / "scripts" / "forecast_three_day_windows.py", "ftdw")
    first, again = script.synthetic()[0], script.synthetic()[0]
    np.testing.assert_array_equal(first.frame["rps"].to_numpy(), again.frame["rps"].to_numpy())
    line = script.score([first], 24)
    assert line.startswith("18 windows, 24 h ahead")
    assert all(math.isfinite(float(v)) for v in re.findall(r"\d+\.\d+", line))
