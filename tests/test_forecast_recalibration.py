"""Replay recalibration of the fast engine's bands (forecast/rolling.py): hand-checked factors and the effect on
a series whose noise the per-step quantiles under-state."""

from __future__ import annotations

import numpy as np
import pytest

from gpucast.forecast import rolling
from gpucast.forecast.rolling import Replay, _needed, recalibration


def test_needed_factor_hand_checked() -> None:
    # band [-0.1, 0.4]: +0.2 needs 0.5x the upper side, -0.3 needs 3x the lower side, 0 needs nothing
    out = _needed(np.array([0.2, -0.3, 0.0, 0.4]), np.full(4, -0.1), np.full(4, 0.4))
    assert out == pytest.approx([0.5, 3.0, 0.0, 1.0])


def test_recalibration_is_the_conformal_quantile_clipped() -> None:
    needed = [np.linspace(0.0, 2.0, 11) for _ in range(5)]  # 55 scores, 0.0 .. 2.0 (each 5 times)
    rep = Replay(np.array([10, 20, 30, 40, 50]), {80: needed, 95: needed})
    scale = recalibration(rep, (80, 95))
    expected80 = float(np.quantile(np.concatenate(needed), 0.8 * (1 + 1 / 55)))
    assert scale[80] == pytest.approx(expected80)
    assert scale[95] == pytest.approx(min(float(np.quantile(np.concatenate(needed), 0.95 * (1 + 1 / 55))), 2.5))
    # only replays whose horizon ended by `before` count; fewer than MIN_REPLAY_ORIGINS: no recalibration
    assert recalibration(rep, (80,), before=35) == {80: 1.0}
    tiny = Replay(rep.ends, {80: [np.zeros(3)] * 5})
    assert recalibration(tiny, (80,)) == {80: rolling.SCALE_RANGE[0]}


def _noisy(cut_day: int, before: float, after: float) -> np.ndarray:
    t = np.arange(24 * 21)
    spread = np.where(t < 24 * cut_day, before, after)
    return 100 * (1 + 0.5 * np.sin(2 * np.pi * t / 24)) * np.exp(np.random.default_rng(3).normal(0, spread))


def _scale(y: np.ndarray) -> float:
    bt = rolling.backtest(y, 24, 24)
    rep = rolling.replay(bt, rolling.prequential(bt), (80,), y)
    assert len(rep.ends) >= rolling.MIN_REPLAY_ORIGINS
    return recalibration(rep, (80,))[80]


def test_replay_widens_bands_that_under_cover() -> None:
    # log-normal noise whose spread jumps 15x five days before the end: more than the volatility widening
    # (MAX_WIDEN = 2) follows, so the replayed bands miss and the factor widens them (measured 1.12)
    assert _scale(_noisy(16, 0.02, 0.3)) > 1.05


def test_replay_narrows_bands_that_over_cover() -> None:
    # the same jump nine days before the end: the heuristics (the wider of recency-weighted and flat quantiles,
    # volatility widening) over-cover by then and the replay narrows, to the 0.8 floor
    assert _scale(_noisy(12, 0.02, 0.3)) == pytest.approx(rolling.SCALE_RANGE[0])
