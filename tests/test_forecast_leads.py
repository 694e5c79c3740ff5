"""Band growth past the calibrated steps from the series' own level changes (forecast/leads.py, rolling.extend):
hand-checked numbers, the fallbacks, and the properties — larger level changes give a wider band, and the band
never narrows with the lead."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucast.forecast import leads, rolling


def _linear_log(n: int) -> np.ndarray:
    """log1p(y) = 0.1 s: every change over L steps is exactly 0.1 L, so every quantile of it is too."""
    return np.expm1(0.1 * np.arange(n))


def test_variogram_and_added_spread_by_hand() -> None:
    """season 2, 20 points: whole-season lags 2..16 have at least 2 seasons (4) of pairs, Q(L) = 0.1 L, Q² = 0.01 L².
    K = 4: Q²(4) = 0.16. Step 5: Q² halfway between lags 4 and 6, (0.16 + 0.36) / 2 = 0.26, added 0.10; step 16:
    2.56 - 0.16 = 2.40; past lag 16 a random walk from it: step 17 2.56 * 17 / 16 - 0.16 = 2.56, step 20 3.04."""
    x = np.log1p(_linear_log(20))
    measured = leads.variogram(x, 2, [0.8, 0.95])
    np.testing.assert_allclose(measured[:, 0], 0.1 * np.arange(2, 17, 2), rtol=1e-9)
    np.testing.assert_allclose(measured[:, 1], measured[:, 0], rtol=1e-12)
    added = leads.added_spread(_linear_log(20), 2, 4, 20, (80, 95))
    assert added is not None
    expected = {5: 0.10, 6: 0.20, 16: 2.40, 17: 2.56, 20: 3.04}
    for step, value in expected.items():
        assert added[80][step - 5] == pytest.approx(value, rel=1e-9)
        assert added[95][step - 5] == pytest.approx(value, rel=1e-9)
    band = np.array([0.1, 0.2, 0.3, 0.3])
    grown = rolling.extend(band, 20, added=added[80])
    np.testing.assert_array_equal(grown[:4], band)
    assert grown[4] == pytest.approx(math.sqrt(0.09 + 0.10))
    assert grown[-1] == pytest.approx(math.sqrt(0.09 + 3.04))


def test_fallbacks_to_the_random_walk() -> None:
    """No season, K shorter than a season, or a history too short to measure the K-step change (K + two seasons):
    None, and rolling.extend keeps the random walk."""
    y = _linear_log(200)
    assert leads.added_spread(y, 1, 48, 168, (80,)) is None
    assert leads.added_spread(y, 24, 12, 168, (80,)) is None
    assert leads.added_spread(y[:95], 24, 48, 168, (80,)) is None  # lags 24 and 48 need 95 - L >= 48: only 24
    assert leads.added_spread(y[:96], 24, 48, 168, (80,)) is not None
    assert leads.added_spread(y, 24, 48, 48, (80,)) is None  # nothing past K
    band = np.array([0.2, 0.4])
    np.testing.assert_allclose(rolling.extend(band, 8)[2:], 0.4 * np.sqrt(np.arange(3, 9) / 2))


def _daily_walk(steps: np.ndarray, days: int, season: int = 24) -> np.ndarray:
    """log traffic: a fixed daily profile plus a level that changes once a day by ``steps`` (a walk over days);
    high enough that no step reaches 0."""
    profile = 25.0 + 0.5 * np.sin(2 * np.pi * np.arange(season) / season)
    level = np.concatenate([[0.0], np.cumsum(steps)])[:days]
    return np.tile(profile, days) + np.repeat(level, season)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-0.5, 0.5), min_size=9, max_size=9),
    st.floats(1.01, 4.0),
    st.floats(0.01, 0.5),
)
def test_larger_level_changes_give_a_wider_band(steps: list[float], factor: float, edge: float) -> None:
    """Scaling the daily level's changes by c scales every whole-season change, so the added spread by c²
    exactly, and the extended band is at least as wide at every step."""
    base = _daily_walk(np.array(steps), 10)
    wider = _daily_walk(factor * np.array(steps), 10)
    small = leads.added_spread(np.expm1(base), 24, 48, 168, (80, 95))
    large = leads.added_spread(np.expm1(wider), 24, 48, 168, (80, 95))
    assert small is not None and large is not None
    band = np.full(48, edge)
    for lv in (80, 95):
        np.testing.assert_allclose(large[lv], factor**2 * small[lv], rtol=1e-6, atol=1e-12)
        assert np.all(rolling.extend(band, 168, added=large[lv]) >= rolling.extend(band, 168, added=small[lv]) - 1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.0, 1e4), min_size=72, max_size=400),
    st.sampled_from([24, 12]),
    st.floats(0.0, 1.0),
)
def test_the_band_never_narrows_with_the_lead(values: list[float], season: int, edge: float) -> None:
    """Any history: the added spread is non-negative and non-decreasing, so the band past K never falls below its
    step-K width nor narrows from one step to the next."""
    known = 2 * season
    added = leads.added_spread(np.array(values), season, known, 7 * season, (80, 95))
    if added is None:
        return
    for lv in (80, 95):
        assert np.all(added[lv] >= 0) and np.all(np.diff(added[lv]) >= 0)
        grown = rolling.extend(np.full(known, edge), 7 * season, added=added[lv])
        assert np.all(np.diff(grown[known - 1 :]) >= 0)


def test_a_mean_reverting_level_grows_less_than_the_random_walk() -> None:
    """Daily level changes that undo each other (up, down, up, …): the level never drifts, so past K the band
    levels off instead of growing by sqrt(k / K); a level that keeps moving one way grows faster."""
    back_and_forth = _daily_walk(np.array([0.3, -0.3] * 6), 13)
    one_way = _daily_walk(np.full(12, 0.3), 13)
    band = np.full(48, 0.2)
    walk = rolling.extend(band, 168)
    reverting = leads.added_spread(np.expm1(back_and_forth), 24, 48, 168, (80,))
    drifting = leads.added_spread(np.expm1(one_way), 24, 48, 168, (80,))
    assert reverting is not None and drifting is not None
    assert rolling.extend(band, 168, added=reverting[80])[-1] < walk[-1]
    assert rolling.extend(band, 168, added=drifting[80])[-1] > walk[-1]
