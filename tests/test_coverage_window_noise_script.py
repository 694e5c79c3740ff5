"""scripts/coverage_window_noise.py (measurement for issue 26, not shipped): the AR(1) oracle's window coverage and
the lag-1 autocorrelation it is fed, hand-checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import load_script

pytest.importorskip("pandas")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "coverage_window_noise.py"


def test_the_oracle_covers_its_level_on_average_and_independent_hours_vary_binomially() -> None:
    noise = load_script(SCRIPT, "coverage_window_noise")
    windows = noise.oracle_windows(0.0, 24)
    for level in (80, 95):
        assert windows[level].mean() == pytest.approx(level / 100.0, abs=0.005)
    # phi = 0: 24 independent hours, so one window's 80% cover has the binomial sd sqrt(0.8 x 0.2 / 24) = 0.0816
    assert windows[80].std() == pytest.approx(0.0816, abs=0.003)
    # persistent noise: the hours miss together, so the window's cover spreads more around the same mean
    sticky = noise.oracle_windows(0.9, 24)
    assert sticky[80].mean() == pytest.approx(0.80, abs=0.01)
    assert sticky[80].std() > 2 * windows[80].std()


def test_outside_counts_the_windows_off_the_target_range() -> None:
    noise = load_script(SCRIPT, "coverage_window_noise")
    cover = np.array([0.69, 0.70, 0.80, 0.90, 0.91])
    assert noise.outside(cover, 80) == pytest.approx(2 / 5)
    assert noise.outside(np.array([0.88, 0.98, 1.0]), 95) == pytest.approx(1 / 3)


def test_lag1_reads_the_autocorrelation_of_the_deseasonalised_log_series() -> None:
    noise = load_script(SCRIPT, "coverage_window_noise")
    rng = np.random.default_rng(1)
    x, values = 0.0, []
    for _ in range(24 * 200):
        x = 0.7 * x + 0.2 * rng.standard_normal()
        values.append(x)
    profile = np.tile(np.sin(np.arange(24) / 24 * 2 * np.pi), 200)
    y = np.expm1(3.0 + profile + np.array(values))  # a daily cycle times AR(1) noise, on the log1p scale
    assert noise.lag1(y) == pytest.approx(0.7, abs=0.03)
