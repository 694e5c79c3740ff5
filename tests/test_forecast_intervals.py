"""Seasonal-naive error bands (forecast/intervals.py): hand-checked cases and the numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucast.forecast.intervals import MIN_ORIGINS, naive_error_bands


def test_exactly_periodic_series_has_zero_width_bands() -> None:
    day = np.sin(np.arange(24) / 24 * 2 * math.pi) + 2.0
    y = np.tile(day, 10)
    bands = naive_error_bands(y, 24, 48, (80, 95), floor=0.1)
    for level in (80, 95):
        lo, hi = bands[level]
        assert lo.shape == hi.shape == (48,)
        assert np.allclose(lo, 0.0) and np.allclose(hi, 0.0)


def test_geometric_series_hand_checked() -> None:
    # y_i = 2^i, season 1: the naive forecast k steps ahead of origin t is y[t-1] and the actual is 2^k y[t-1],
    # so every origin's relative error is exactly 2^k - 1. n = 40 gives 40 - k origins for step k, so steps
    # 1..20 are measured (>= MIN_ORIGINS = 20 origins) and 21..25 grow by sqrt(k / 20).
    assert MIN_ORIGINS == 20
    y = 2.0 ** np.arange(40)
    lo, hi = naive_error_bands(y, 1, 25, (80,), floor=1e-9)[80]
    assert np.allclose(lo, 0.0)  # no negative errors: the low side stays at the forecast
    assert np.allclose(hi[:20], 2.0 ** np.arange(1, 21) - 1)
    assert hi[24] == pytest.approx((2.0**20 - 1) * math.sqrt(25 / 20))


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
        assert n - season - MIN_ORIGINS + 1 < 1
        return
    lo80, hi80 = bands[80]
    lo95, hi95 = bands[95]
    assert len(lo80) == steps
    assert np.all(lo95 <= lo80 + 1e-12) and np.all(lo80 <= 0) and np.all(hi80 >= 0) and np.all(hi95 >= hi80 - 1e-12)
    # the first step against numpy on all origins (n - season <= 256 origins here are not subsampled)
    if n - season <= 256:
        origins = np.arange(season, n)
        relative = (y[origins] - y[origins - season]) / np.maximum(y[origins - season], 1.0)
        q_lo, q_hi = np.quantile(relative, [0.1, 0.9])
        assert lo80[0] == pytest.approx(min(q_lo, 0.0)) and hi80[0] == pytest.approx(max(q_hi, 0.0))
