"""Bands far past the calibrated steps of a short, volatile history: past the history's length an assumed
log-scale random walk is capped by the same local level model on the original scale (``rolling.level_capped``),
so the upper bound grows like ETS(A,N,N)'s — linearly in variance — instead of compounding multiplicatively
(8 hourly values 0–120 forecast 28 days ahead had a 95% upper bound of 2e10 req/s)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucast.forecast import leads, nonseasonal, rolling
from gpucast.forecast.fast import calibrated_steps, forecast_series
from gpucast.forecast.seasonality import plan_series

LEVELS = (80, 95)


def _forecast(y: np.ndarray, horizon: int):
    plan = plan_series(y, 3600.0, horizon)
    return plan, forecast_series("x", y, [str(k) for k in range(horizon)], "1h", plan, LEVELS)


def _ordered_bands(result: Any) -> tuple[np.ndarray, dict[int, np.ndarray], dict[int, np.ndarray]]:
    """The forecast's mean and its bands per level, after checking every bound is finite, >= 0 and around the mean."""
    mean = np.array([p.mean for p in result.forecast])
    lo = {lv: np.array([p.lo[lv] for p in result.forecast]) for lv in LEVELS}
    hi = {lv: np.array([p.hi[lv] for p in result.forecast]) for lv in LEVELS}
    for lv in LEVELS:
        assert np.all(np.isfinite(lo[lv])) and np.all(np.isfinite(hi[lv]))
        assert np.all(lo[lv] >= 0) and np.all(lo[lv] <= mean) and np.all(mean <= hi[lv])
    return mean, lo, hi


def test_level_capped_hand_checked() -> None:
    """Mean 10, a calibrated upper bound of 30 at K = 2 (log band b = log(31 / 11) = 1.0361), random walk (a = 1):
    the log walk gives 11 * (31 / 11)^sqrt(k / 2) - 1 = 38.128 and 46.615 at k = 3, 4; the level walk with a
    one-step spread of 12 gives 10 + max(20, 12 sqrt(k)) = 30.785 and 34, the smaller, kept. Steps up to the
    start are untouched; a spread too small to reach the start's width keeps the band at that width."""
    mean = np.full(4, 10.0)
    b = math.log1p(30) - math.log1p(10)
    high = np.expm1(math.log1p(10) + rolling.extend(np.array([b, b]), 4))
    np.testing.assert_allclose(high, [30, 30, 38.1282046, 46.6151284], rtol=1e-7)
    np.testing.assert_allclose(rolling.level_capped(mean, high, 2, 1.0, 12.0), [30, 30, 10 + 12 * math.sqrt(3), 34])
    np.testing.assert_allclose(rolling.level_capped(mean, high, 2, 1.0, 1.0), [30, 30, 30, 30])
    assert rolling.level_capped(mean, high, 4, 1.0, 12.0) is high  # nothing past the start
    assert rolling.step_spread(np.array([1, 50, 2, 80, 0, 3, 120, 5.0]), 95) == 116.4  # |changes| 3 .. 117


def test_the_short_volatile_history_of_the_report() -> None:
    """1, 50, 2, 80, 0, 3, 120, 5 hourly, 672 steps ahead: no season, K = 1, the SES weight 0.2; steps 1-8 (the
    history's length) keep the log walk: 95% upper bound 831.196 at step 8 around a mean of 7.0576. Past it the
    level walk: one-step spreads (80%, 95%) 108 and 116.4, grown by sqrt(1 + 0.04 * 671) = 5.2764 to 569.85 and
    614.2 at step 672: the 95% bound stays at its step-8 width, 831.196 (was 1.99e10); the 80% one
    7.0576 + 569.85 = 576.90 (was 4.64e8)."""
    y = np.array([1, 50, 2, 80, 0, 3, 120, 5], dtype=float)
    plan, result = _forecast(y, 672)
    assert plan.baseline_season == 1 and calibrated_steps(len(y), 1, 672) == 1
    assert nonseasonal.level_weight(y) == 0.2
    at_n, last = result.forecast[7], result.forecast[-1]
    assert math.isclose(at_n.hi[95], 831.196, rel_tol=1e-6) and math.isclose(last.mean, 7.057637, rel_tol=1e-6)
    assert last.hi[95] == at_n.hi[95]
    assert math.isclose(last.hi[80], last.mean + 108 * math.sqrt(1 + 0.04 * 671), rel_tol=1e-9)
    assert math.isclose(last.hi[80], 576.9048, rel_tol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.0, 1e4, allow_nan=False), min_size=3, max_size=40),
    st.sampled_from([48, 168, 672]),
)
def test_far_bands_of_short_histories_are_finite_ordered_growing_and_bounded(values: list[float], horizon: int) -> None:
    """Any short non-negative history (no season), a long horizon: every bound finite, 0 <= lo95 <= lo80 <= mean <=
    hi80 <= hi95, the upper width hi - mean never shrinking past the history's length n (the mean is flat there:
    the drift member's trend is held for n steps), and the bound proved in ``rolling.level_capped``: past n,
    hi95[k] <= mean[k] + max(W, (max(y) - min(y)) sqrt(k)), W the 95% width at step n (the one-step spread is
    at most the history's range, the level walk's growth sqrt(1 + a^2 (k - 1)) at most sqrt(k) for a <= 1, and
    the 80% band's cap is inside the 95% one's); with the mean capped at 2x the history's peak
    (``rolling.CAP_FACTOR``), hi95 <= 2 max(y) + max(W, (max(y) - min(y)) sqrt(horizon))."""
    y = np.array(values)
    plan, result = _forecast(y, horizon)
    if plan.baseline_season > 1:
        return
    start = max(calibrated_steps(len(y), plan.baseline_season, horizon), len(y))
    mean, lo, hi = _ordered_bands(result)
    for inner, outer in itertools.pairwise(LEVELS):
        assert np.all(lo[outer] <= lo[inner]) and np.all(hi[inner] <= hi[outer])
    if horizon <= start:
        return
    width = hi[95][start - 1] - mean[start - 1]
    spread = float(y.max() - y.min())
    k = np.arange(start + 1, horizon + 1)
    tol = 1e-9 * (1 + float(np.max(hi[95])))
    assert np.all(hi[95][start:] <= mean[start:] + np.maximum(width, spread * np.sqrt(k)) + tol)
    peak = rolling.CAP_FACTOR * float(y.max()) + max(width, spread * math.sqrt(horizon))
    assert float(np.max(hi[95][start:])) <= peak + tol
    for lv in LEVELS:
        assert np.all(np.diff(hi[lv][start - 1 :] - mean[start - 1 :]) >= -tol)


def test_far_bands_of_a_seasonal_history_stop_compounding_past_its_length() -> None:
    """A daily-seasonal hourly series whose day level moves multiplicatively (lognormal, sigma 1.5: 14 days, peak
    5283 req/s), forecast 90 days ahead: its bands grow by the measured level changes (``leads.added_spread``), a
    log-scale random walk past the longest measured lag that compounded to a 95% upper bound of 3.8e11 req/s at
    step 2160. Past the history's length (336 steps) the upper side is capped by the local level walk on the
    original scale (``rolling.level_capped``, ``coverage.bands``): every bound finite and ordered, each hour of
    the day's upper width hi - mean never shrinking from one day to the next, and hi95[k] <= mean[k] +
    max(W, (max(y) - min(y)) sqrt(k)), W the 95% width at step 336; here it stays at its step-336 width."""
    rng = np.random.default_rng(3)
    t = np.arange(14 * 24)
    y = np.round(np.exp(rng.normal(3, 1.5, 14)).repeat(24) * (1 + 0.8 * np.sin(2 * np.pi * t / 24)), 1).clip(0)
    horizon = 90 * 24
    plan, result = _forecast(y, horizon)
    assert plan.baseline_season == 24 and calibrated_steps(len(y), 24, horizon) == 48 and y.max() == 5283.2
    start = len(y)
    mean, lo, hi = _ordered_bands(result)
    for lv in LEVELS:
        width = hi[lv][start - 1 :] - mean[start - 1 :]
        assert np.all(width[24:] >= width[:-24] - 1e-9 * hi[lv].max())  # same hour, a day later: never narrower
    assert np.all(lo[95] <= lo[80]) and np.all(hi[80] <= hi[95])
    w = hi[95][start - 1] - mean[start - 1]
    k = np.arange(start + 1, horizon + 1)
    assert np.all(hi[95][start:] <= mean[start:] + np.maximum(w, float(y.max() - y.min()) * np.sqrt(k)) + 1e-6)
    # 47859.606 before the regime profile (members._profile, 2026-12-07): its days differ up to 80x in level;
    # 54760.465 before the record-rise cap (leads.reach_capped, 2026-12-07): now under 2x the history's peak
    assert math.isclose(hi[95][-1], 9949.668, rel_tol=1e-6) and hi[95][-1] - mean[-1] <= w + 1e-6


def test_flat_ceiling_hand_checked() -> None:
    """History 0, 1, 3: log1p range R = log(4) = 1.3863; past step 1 of a 5-step horizon the ceiling is
    R² · max(1, k / 3) for k = 2..5: R² at k = 2, 3 and R² · 4/3, R² · 5/3 after (a random walk past the history's
    length), the same at every level. A band of 0.5 walking as a random walk (alpha 1) from K = 1 stays below
    hypot(0.5, R) there (0.5 sqrt(5) = 1.118 < 1.474): the walk as before. History 1, 1.2, 1: R = log(2.2 / 2) =
    0.0953, and the walk (0.707 at k = 2) is held at hypot(0.5, R sqrt(max(1, k / 3))) from the first step past K."""
    ceiling = leads.flat_ceiling(np.array([0.0, 1.0, 3.0]), 1, 5, LEVELS)
    assert ceiling is not None
    r2 = math.log(4) ** 2
    for lv in LEVELS:
        np.testing.assert_allclose(ceiling[lv], [r2, r2, r2 * 4 / 3, r2 * 5 / 3])
    walk = 0.5 * np.sqrt(np.arange(1, 6))
    np.testing.assert_allclose(rolling.extend(np.array([0.5]), 5, 1.0, None, ceiling[80]), walk)
    tight = leads.flat_ceiling(np.array([1.0, 1.2, 1.0]), 1, 5, LEVELS)
    assert tight is not None
    r = math.log(2.2 / 2.0)
    held = [math.hypot(0.5, r * math.sqrt(max(1.0, k / 3))) for k in range(2, 6)]
    np.testing.assert_allclose(rolling.extend(np.array([0.5]), 5, 1.0, None, tight[95]), [0.5, *held])
    assert leads.flat_ceiling(np.array([3.0]), 1, 5, LEVELS) is None


def test_a_cycle_no_season_describes_keeps_its_band_in_range() -> None:
    """16 hours per minute of a 24-minute cycle between 8 and 32 req/s, forecast 16 hours ahead: no season is
    detected, the SES weight tracks the cycle and the local level walk compounded on the log scale to an 80% upper
    bound of 4,035 req/s (docs/reliability.md, "Forecast and history sweep"). The ceiling holds it within the
    history's whole log range of the step-K band: below 4x the history's largest value."""
    minutes = np.arange(16 * 60)
    y = np.round(20 + 12 * np.sin(2 * np.pi * minutes / 24), 3)
    plan = plan_series(y, 60.0, 960)
    result = forecast_series("x", y, [str(k) for k in range(960)], "1min", plan, LEVELS)
    _, _, hi = _ordered_bands(result)
    assert plan.baseline_season <= 1
    assert hi[80].max() < 4 * y.max() and hi[95].max() < 6 * y.max()
