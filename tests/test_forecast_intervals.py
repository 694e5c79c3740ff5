"""Seasonal-naive error bands (forecast/intervals.py): hand-checked cases and the numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucast.forecast.intervals import MEDIAN_SEASONS, MIN_ORIGINS, naive_error_bands


def test_exactly_periodic_series_has_zero_width_bands() -> None:
    day = np.sin(np.arange(24) / 24 * 2 * math.pi) + 2.0
    y = np.tile(day, 10)
    bands = naive_error_bands(y, 24, 48, (80, 95), floor=0.1)
    for level in (80, 95):
        lo, hi = bands[level]
        assert lo.shape == hi.shape == (48,)
        assert np.allclose(lo, 0.0) and np.allclose(hi, 0.0)


def test_geometric_series_hand_checked() -> None:
    # y_i = 2^i, season 1: the reference is the median of the last MEDIAN_SEASONS = 3 values, y[t-1], y[t-2],
    # y[t-3] -> y[t-2]; k steps ahead of origin t the actual is y[t+k-1] = 2^(k+1) y[t-2], so every origin's
    # relative error is exactly 2^(k+1) - 1. Origins start at t = 3 and n = 40 leaves 38 - k of them for step k,
    # so steps 1..18 are measured (>= MIN_ORIGINS = 20 origins) and 19..25 grow by sqrt(k / 18).
    assert (MIN_ORIGINS, MEDIAN_SEASONS) == (20, 3)
    y = 2.0 ** np.arange(40)
    lo, hi = naive_error_bands(y, 1, 25, (80,), floor=1e-9)[80]
    assert np.allclose(lo, 0.0)  # no negative errors: the low side stays at the forecast
    assert np.allclose(hi[:18], 2.0 ** np.arange(2, 20) - 1)
    assert hi[24] == pytest.approx((2.0**19 - 1) * math.sqrt(25 / 18))


def test_one_outage_in_the_history_does_not_blow_up_the_band() -> None:
    # a flat daily profile with one hour at zero: repeating that zero would be a 10x "error" (floor 10% of the
    # level); the median of three days ignores it, so the upper band stays small
    y = np.full(24 * 10, 100.0)
    y[24 * 5 + 7] = 0.0
    lo, hi = naive_error_bands(y, 24, 24, (95,), floor=10.0)[95]
    assert hi.max() < 0.01 and lo.min() >= -1.0


def test_too_short_history_gives_no_bands() -> None:
    assert naive_error_bands(np.arange(30, dtype=float), 24, 10, (80,), floor=1.0) == {}


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=30, max_value=400),
    season=st.sampled_from([1, 7, 24]),
    steps=st.integers(min_value=1, max_value=60),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_matches_numpy_quantiles_and_orders_levels(n: int, season: int, steps: int, seed: int) -> None:
    y = np.random.default_rng(seed).gamma(3.0, 10.0, n)
    bands = naive_error_bands(y, season, steps, (80, 95), floor=1.0)
    if not bands:
        assert n - max(1, min(MEDIAN_SEASONS, (n - MIN_ORIGINS) // season)) * season - MIN_ORIGINS + 1 < 1
        return
    lo80, hi80 = bands[80]
    lo95, hi95 = bands[95]
    assert len(lo80) == steps
    assert np.all(lo95 <= lo80 + 1e-12) and np.all(lo80 <= 0) and np.all(hi80 >= 0) and np.all(hi95 >= hi80 - 1e-12)
    # the first step against numpy on all origins (no more than 256 origins here: none subsampled)
    window = max(1, min(MEDIAN_SEASONS, (n - MIN_ORIGINS) // season))
    origins = np.arange(window * season, n)
    if len(origins) <= 256:
        phases = np.stack([y[origins - season * (j + 1)] for j in range(window)])
        forecast = np.median(phases, axis=0)
        relative = (y[origins] - forecast) / np.maximum(forecast, 1.0)
        q_lo, q_hi = np.quantile(relative, [0.1, 0.9])
        assert lo80[0] == pytest.approx(min(q_lo, 0.0)) and hi80[0] == pytest.approx(max(q_hi, 0.0))
