"""The fast engine's members for series without a season (forecast/nonseasonal.py), on the repository's one-hour
per-minute traces (Azure LLM inference 2023 code and conversation, Mooncake conversation): SES paths equal a plain
SES loop, the backtest's batched members equal the members at each prefix, a log-linear ramp is extrapolated
exactly, and on rolling origins the ensemble beats the last value repeated."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gpucast.forecast import nonseasonal, rolling
from gpucast.forecast.batched import members_at
from gpucast.forecast.fast import forecast_series
from gpucast.forecast.members import forecast_members
from gpucast.forecast.seasonality import plan_series

TRACES = Path(__file__).resolve().parents[1] / "data" / "traffic" / "short_traces_per_minute.csv"


def traces() -> dict[str, np.ndarray]:
    frame = pd.read_csv(TRACES)
    return {str(name): part["rps"].to_numpy(dtype=float) for name, part in frame.groupby("service", sort=True)}


def test_ses_paths_equal_a_plain_ses_loop_at_every_prefix():
    z = np.log1p(traces()["mooncake/conversation"])
    levels, sse = nonseasonal.ses_paths(z)
    for row, alpha in enumerate(nonseasonal.ALPHAS):
        level, total = z[0], 0.0
        for t, value in enumerate(z):
            if t > 0:
                total += (value - level) ** 2  # the forecast of step t is the level after step t - 1
            level += alpha * (value - level)
            assert levels[row, t] == pytest.approx(level, abs=1e-12)
            assert sse[row, t] == pytest.approx(total, abs=1e-9)


@pytest.mark.parametrize("name", ["azure-2023/code", "azure-2023/conversation", "mooncake/conversation"])
def test_batched_members_equal_the_members_at_each_prefix_on_real_traces(name):
    y = traces()[name]
    ends = np.arange(rolling.first_origin(len(y), 1), len(y))
    cap = rolling.CAP_FACTOR * float(y.max())
    batched = members_at(y, y, 1, 10, cap, ends)
    assert set(batched) == set(nonseasonal.NAMES)
    for row, end in enumerate(ends):
        for member, values in forecast_members(y[:end], 1, 10, cap, y[:end]).items():
            np.testing.assert_allclose(batched[member][row], values, rtol=1e-12, atol=1e-12)


def test_trend_and_drift_extrapolate_a_log_linear_ramp():
    """A series growing 2% a step: Drift (Theta) adds half the slope to the SES level, held after as many steps as
    the history has; the levels stay at the median and the last value."""
    n, h, b = 30, 40, 0.02
    y = np.expm1(1.0 + b * np.arange(n))
    f = forecast_members(y, 1, h, 1e9)
    k = np.minimum(np.arange(1, h + 1), n)
    level, sse = nonseasonal.ses_paths(np.log1p(y))
    best = level[int(np.argmin(sse[:, -1])), -1]
    np.testing.assert_allclose(f["Drift"], np.expm1(best + b / 2 * k), rtol=1e-9)
    assert f["FlatMedian"][0] == pytest.approx(float(np.median(y)))
    assert f["SeasonalNaive"][0] == pytest.approx(float(y[-1]))


def test_members_do_not_collapse_onto_the_last_value():
    """The reason for the module: with season 1 the seasonal members' windows were a few steps, and each was the
    last value or close to it. On Mooncake's hour the robust levels are hand-checked medians of the whole history
    and its last half, and the smoothed levels move from one minute's forecast to the next far less than the
    last value does (a collapsed member moves as much)."""
    y = traces()["mooncake/conversation"]
    f = forecast_members(y[:40], 1, 10, 1e9)
    assert f["FlatMedian"][0] == pytest.approx(float(np.median(y[:40])))
    assert f["RecentLevel"][0] == pytest.approx(float(np.median(y[20:40])))
    assert f["SeasonalMedian"][0] == pytest.approx(float(np.median(y[37:40])))
    ends = np.arange(20, len(y) + 1)
    every = members_at(y, y, 1, 1, 1e9, ends)
    moves = {name: float(np.std(np.diff(values[:, 0]))) for name, values in every.items()}
    for name in ("FlatMedian", "RecentLevel", "SES", "SES-slow", "Drift"):
        assert moves[name] < 0.5 * moves["SeasonalNaive"], (name, moves)


def _ratio(y: np.ndarray) -> float:
    """Geometric mean over the evaluation protocol's origins (16, 2 minutes apart, 10 minutes ahead, >= 20 minutes
    of history; scripts/evaluate_forecasts.py) of the ensemble's MAE over the naive forecast's."""
    horizon, ratios = 10, []
    for end in [len(y) - horizon - 2 * i for i in range(15, -1, -1)]:
        if end < 20:
            continue
        history, actual = y[:end], y[end : end + horizon]
        plan = plan_series(history, 60.0, horizon)
        assert plan.baseline_season == 1
        result = forecast_series("x", history, [str(k) for k in range(horizon)], "1min", plan, (80, 95))
        mean = np.array([p.mean for p in result.forecast])
        ratios.append(float(np.mean(np.abs(mean - actual))) / max(float(np.mean(np.abs(history[-1] - actual))), 1e-9))
    return math.exp(float(np.mean(np.log(ratios))))


def test_the_ensemble_beats_the_last_value_on_the_one_hour_traces():
    """Measured 0.897 geometric mean over the three traces and 0.814 on Mooncake (0.927 and 0.911 with the
    seasonal members and their collapsed windows, before nonseasonal.py); both bounds fail on the old members."""
    ratios = {name: _ratio(y) for name, y in traces().items()}
    assert ratios["mooncake/conversation"] < 0.87
    assert math.exp(float(np.mean(np.log(list(ratios.values()))))) < 0.91
    assert max(ratios.values()) <= 1.02


def test_band_growth_past_the_measured_steps_is_the_local_level_models():
    """rolling.extend: sqrt((1 + a^2 (k - 1)) / (1 + a^2 (K - 1))) past the K measured steps. a = 1 is the random
    walk the seasonal path keeps (sqrt(k / K)); hand-checked for a = 0.2, K = 2, k = 10: sqrt(1.36 / 1.04)."""
    band = np.array([0.1, 0.2])
    walk = rolling.extend(band, 10)
    np.testing.assert_allclose(walk[2:], 0.2 * np.sqrt(np.arange(3, 11) / 2), rtol=1e-12)
    np.testing.assert_allclose(rolling.extend(band, 10, 1.0), walk, rtol=1e-12)
    slow = rolling.extend(band, 10, 0.2)
    assert slow[-1] == pytest.approx(0.2 * math.sqrt(1.36 / 1.04))
    np.testing.assert_array_equal(slow[:2], band)
    for alpha in (0.02, 0.1, 0.5, 0.7):  # between flat and the random walk, never shrinking with the step
        grown = rolling.extend(band, 30, alpha)
        assert np.all(np.diff(grown[1:]) >= 0)
        assert np.all(grown[2:] >= 0.2) and np.all(grown <= rolling.extend(band, 30) + 1e-12)


def test_level_weight_is_the_ses_members_weight():
    """The weight with the least one-step squared error of a plain SES loop on log1p of the history."""
    for y in traces().values():
        z = np.log1p(y)
        sse = []
        for alpha in nonseasonal.ALPHAS:
            level, total = z[0], 0.0
            for value in z[1:]:
                total += (value - level) ** 2
                level += alpha * (value - level)
            sse.append(total)
        assert nonseasonal.level_weight(y) == nonseasonal.ALPHAS[int(np.argmin(sse))]
    assert nonseasonal.level_weight(np.array([3.0])) == 1.0


def test_one_hour_traces_bands_cover_their_targets_on_the_evaluation_protocol():
    """The table's protocol (scripts/evaluate_forecasts.py: 10 minutes ahead, origins 2 minutes apart, at least 20
    minutes of history, through load_history, scored on the raw counts): the 80% band covers 70-90% of held-out
    minutes and the 95% band 88-98% on each trace. Measured 0.81 / 0.98, 0.75 / 0.96, 0.88 / 0.98 (Azure code,
    Azure conversation, Mooncake; the conversation trace 0.77 / 0.96 before the two-sided level-shift hedge); before
    the local-level growth and the recurring-silence rule 0.86 / 0.94, 0.77 / 0.96, 0.94 / 0.99 (Mooncake outside
    both)."""
    from gpucast.forecast import forecast_load, load_history

    frame = pd.read_csv(TRACES)
    for name, part in frame.groupby("service", sort=True):
        part = part[["timestamp", "rps"]].reset_index(drop=True)
        y = part["rps"].to_numpy(dtype=float)
        inside: dict[int, list[float]] = {80: [], 95: []}
        for end in [len(y) - 10 - 2 * i for i in range(15, -1, -1) if len(y) - 10 - 2 * i >= 20]:
            result = forecast_load(load_history(part.iloc[:end]), 10)
            actual = y[end : end + 10]
            for level, store in inside.items():
                low = np.array([p.lo[level] for p in result.forecast])
                high = np.array([p.hi[level] for p in result.forecast])
                store.append(float(np.mean((actual >= low) & (actual <= high))))
        assert 0.70 <= np.mean(inside[80]) <= 0.90, (name, np.mean(inside[80]))
        assert 0.88 <= np.mean(inside[95]) <= 0.98, (name, np.mean(inside[95]))


def test_hedge_stretches_both_sides_without_a_season():
    """rolling.hedge: a seasonal band is stretched on the shift's side only; without a season on both sides by the
    shift's size (hand-checked)."""
    low, high = np.array([-0.1, -0.2]), np.array([0.1, 0.3])
    for shift, want in ((0.5, ([-0.1, -0.2], [0.6, 0.8])), (-0.5, ([-0.6, -0.7], [0.1, 0.3])), (0.0, (low, high))):
        np.testing.assert_allclose(rolling.hedge(low, high, shift), want)
    np.testing.assert_allclose(rolling.hedge(low, high, -0.5, both_sides=True), ([-0.6, -0.7], [0.6, 0.8]))
    np.testing.assert_allclose(rolling.hedge(low, high, 0.5, both_sides=True), ([-0.6, -0.7], [0.6, 0.8]))


def test_a_level_drop_at_the_end_is_spanned_by_the_band_without_a_season():
    """A day-long 10-minute series at ~50 req/s whose last two steps fall to 20: the non-seasonal members follow
    the drop (the forecast is 20), and the note says the intervals span the old and the new level. With the
    one-sided hedge the 80% band was 2.6-20.8, below the old level; now it reaches it (2.6-50.2)."""
    from gpucast.forecast import forecast_load, load_history

    rng = np.random.default_rng(7)
    y = 50 + rng.normal(0, 1.5, 100)
    y[-2:] = [22.0, 20.0]
    frame = pd.DataFrame({"timestamp": pd.date_range("2025-01-01", periods=100, freq="10min"), "rps": y})
    result = forecast_load(load_history(frame), 6)
    assert any(note.startswith("level shift of -") for note in result.warnings)
    assert all(p.mean < 30 for p in result.forecast)  # the members followed the drop
    for point in result.forecast:
        assert point.lo[80] <= 20.0 and point.hi[80] >= 48.0, point
