"""Both engines' bands from one calibration (``fast.band_rule``, ``fast.BandRule.centred``): the statsforecast
ensemble's intervals (``ensemble._assemble``, what ``--backend dask`` always uses) are the default engine's
per-step conformal log bands, replay recalibration, level-shift hedge, growth past the calibrated steps, outage
floor and record-rise cap, centred on the ensemble's own mean; its fold check scores them as they would have stood
at each fold's cutoff (``ensemble.fold_coverage``). Why: its own bands, conformal on three folds, covered too little
on ServeGen (client-73 0.50 of the hours at 80%; 9 of 18 seasonal series outside 70-90% at 48 hours;
docs/forecast-accuracy.md, "The statsforecast engine's bands")."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import ClassVar

import numpy as np
import pytest

from gpucast.forecast import fast, rolling
from gpucast.forecast.seasonality import SeriesPlan, plan_series

LEVELS = (80, 95)


def _rule(band: dict[int, float], scale: dict[int, float], shift: float = 0.0) -> fast.BandRule:
    """A hand-set rule: season 1, four calibrated steps, a flat log band of +-band[lv], recalibrated by scale[lv],
    over a 10-step history of 9s (so neither the record-rise cap, season 1, nor the original-scale cap past the
    history's length, 10 > 4 steps, applies)."""
    history = np.full(10, 9.0)
    bt = rolling.Backtested(np.arange(1), np.full((1, 4), np.nan), {}, 1, history)
    return fast.BandRule(
        season=1, steps=4, bt=bt, ensemble_bt=np.full((1, 4), 9.0), rep=rolling.Replay(np.array([], dtype=int), {}),
        quantiles=None, band={lv: (np.full(4, -b), np.full(4, b)) for lv, b in band.items()}, recalibrated=scale,
        shift=shift, outages_now=0.0, undetected=False, unchecked=False, growth_at=lambda t: 1.0,
    )  # fmt: skip


def test_centred_bounds_by_hand() -> None:
    """A log1p band of +-log 2 around a mean of 9 (log1p 9 = log 10): 10 / 2 - 1 = 4 and 10 * 2 - 1 = 19; at 95%
    +-log 3 recalibrated 1.5x: 10 / 3^1.5 - 1 = 0.9245 and 10 * 3^1.5 - 1 = 50.96."""
    lows, highs = _rule({80: math.log(2), 95: math.log(3)}, {80: 1.0, 95: 1.5}).centred(np.full(4, 9.0))
    np.testing.assert_allclose(lows[80], 4.0)
    np.testing.assert_allclose(highs[80], 19.0)
    np.testing.assert_allclose(lows[95], 10 / 3**1.5 - 1)
    np.testing.assert_allclose(highs[95], 10 * 3**1.5 - 1)
    # the same band around another mean (as the statsforecast ensemble's): 20 -> 21 / 2 - 1 and 21 * 2 - 1
    lows, highs = _rule({80: math.log(2)}, {80: 1.0}).centred(np.full(4, 20.0))
    np.testing.assert_allclose(lows[80], 9.5)
    np.testing.assert_allclose(highs[80], 41.0)


def test_centred_hedges_a_level_shift_on_both_sides_without_a_season() -> None:
    """Season 1: a shift of log 1.5 stretches both sides (``rolling.hedge``): 10 / (2 * 1.5) - 1 and 10 * 3 - 1."""
    lows, highs = _rule({80: math.log(2)}, {80: 1.0}, shift=math.log(1.5)).centred(np.full(4, 9.0))
    np.testing.assert_allclose(lows[80], 10 / 3 - 1)
    np.testing.assert_allclose(highs[80], 29.0)


class _Stub:
    """A band rule that records the history it was calibrated on and returns [mean / 2, 1.5 mean] at 80%,
    [mean / 4, 2 mean] at 95%."""

    calls: ClassVar[list[tuple[int, tuple[int, ...], int]]] = []

    def __init__(self, y: np.ndarray, plan: SeriesPlan, horizon: int, levels: tuple[int, ...]) -> None:
        _Stub.calls.append((len(y), plan.outages, horizon))

    def centred(self, mean: np.ndarray) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        return {80: mean / 2, 95: mean / 4}, {80: 1.5 * mean, 95: 2 * mean}


def test_fold_coverage_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two folds of 4 steps after 12 steps of history: each fold's band from the history before its cutoff (12, then
    16 steps, with the outages recorded before it), centred on that fold's forecast (10 everywhere: [5, 15] at 80%,
    [2.5, 20] at 95%). Fold 1 holds 10, 14 in and 16, 4 out at 80%; fold 2 holds 6, 10 in and 21, 3 out: 4 / 8. At
    95% only 21 is out: 7 / 8. A fold with under ``MIN_CHECK_HISTORY`` steps before it is not scored."""
    pytest.importorskip("pandas")
    from gpucast.forecast import ensemble

    monkeypatch.setattr(ensemble, "band_rule", _Stub)
    _Stub.calls = []
    plan = SeriesPlan((), 4, 2, 1, outages=(3, 13, 17))
    folds = np.full((2, 4), 10.0)
    truth = np.array([[10.0, 14.0, 16.0, 4.0], [6.0, 21.0, 3.0, 10.0]])
    held, cells = ensemble.fold_coverage(np.ones(20), plan, folds, truth, LEVELS)
    assert held == {80: 0.5, 95: 0.875} and cells == 8
    assert _Stub.calls == [(12, (3,), 4), (16, (3, 13), 4)]
    _Stub.calls = []
    held, cells = ensemble.fold_coverage(np.ones(14), replace(plan, outages=()), folds, truth, LEVELS)
    assert held == {80: 0.5, 95: 0.75} and cells == 4  # fold 1 had 6 steps before it: only fold 2 is scored
    assert _Stub.calls == [(10, (), 4)]
    held, cells = ensemble.fold_coverage(np.ones(10), plan, folds, truth, LEVELS)
    assert held == {80: None, 95: None} and cells == 0 and len(_Stub.calls) == 1


def _bursty(seed: int, days: int = 21) -> np.ndarray:
    """Hourly traffic with a daily cycle, lognormal noise and a level that halves for the last three days."""
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    level = np.where(hours >= (days - 3) * 24, 40.0, 80.0)
    return level * (1 + 0.6 * np.sin(2 * np.pi * hours / 24)) * rng.lognormal(0.0, 0.2, len(hours))


@pytest.mark.parametrize("engine", ["fast", "statsforecast"])
def test_both_engines_bands_are_the_calibrated_rule_around_their_mean(engine: str) -> None:
    """Each engine's bounds are ``band_rule(...).centred(its own mean)`` on the history it fitted: the statsforecast
    engine's too (before 2026-12-08 its bands came from three folds' relative residuals and seasonal-naive's
    error quantiles, ``intervals.py``, and would not match). The outages the loader recorded reach the rule."""
    if engine == "statsforecast":
        pytest.importorskip("statsforecast")
    pd = pytest.importorskip("pandas")
    from gpucast.forecast import forecast_load, load_history

    y = _bursty(5)
    y[200:203] = 0.0  # an outage the loader interpolates and records
    stamps = pd.date_range("2024-03-04", periods=len(y), freq="h")
    history = load_history(pd.DataFrame({"timestamp": stamps, "rps": y}))
    assert history.outages, "the loader should record the zero hours as an outage"
    horizon = 36
    result = forecast_load(history, horizon, engine=engine)
    fitted = history.frame["y"].to_numpy(dtype=float)
    plan = plan_series(fitted, 3600.0, horizon)
    repaired = history.frame["ds"].isin(next(iter(history.outages.values()))).to_numpy()
    plan = replace(plan, outages=tuple(np.flatnonzero(repaired).tolist()))
    assert plan.outages
    mean = np.array([p.mean for p in result.forecast])
    lows, highs = fast.band_rule(fitted, plan, horizon, LEVELS).centred(mean)
    for lv in LEVELS:
        np.testing.assert_allclose([p.lo[lv] for p in result.forecast], lows[lv], rtol=1e-12)
        np.testing.assert_allclose([p.hi[lv] for p in result.forecast], highs[lv], rtol=1e-12)
    coverage = result.backtest.coverage
    assert all(coverage[lv] is not None and 0.0 <= coverage[lv] <= 1.0 for lv in LEVELS)
    assert coverage[95] >= coverage[80]
