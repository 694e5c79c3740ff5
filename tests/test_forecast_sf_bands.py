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

import numpy as np
import pytest

from gpucast.forecast import fast, fold_bands, rolling
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


def test_needed_factor_by_hand() -> None:
    """Around 9 (log1p 10) with the band [4, 19] (+-log 2): 15 needs log 1.6 / log 2 = 0.678 of the width, 39 needs
    log 4 / log 2 = 2, 3 needs log 2.5 / log 2 = 1.32 below, 9 needs nothing."""
    mean, low, high = np.full(4, 9.0), np.full(4, 4.0), np.full(4, 19.0)
    got = fold_bands.needed(np.array([15.0, 39.0, 3.0, 9.0]), mean, low, high)
    np.testing.assert_allclose(got, [math.log(1.6) / math.log(2), 2.0, math.log(2.5) / math.log(2), 0.0])


def test_scale_is_the_conformal_quantile_at_least_one() -> None:
    """Eight factors: the 80% level reads the 0.8 * (1 + 1/8) = 0.9 quantile (position 6.3 of 0..7), never below 1
    nor above the recalibration's top (2.5)."""
    factors = [np.array([0.0, 0.5, 3.1, 1.5]), np.array([0.0, 0.2, 2.0, 1.0])]  # sorted: 0 0 .2 .5 1 1.5 2 3.1
    assert fold_bands.scale_for(factors, 80) == pytest.approx(2.0 + 0.3 * 1.1)
    assert fold_bands.scale_for([np.array([0.1, 0.3])], 80) == 1.0
    assert fold_bands.scale_for([np.array([9.0, 9.0])], 80) == 2.5
    assert fold_bands.scale_for([], 95) == 1.0


def test_fold_check_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two folds of 4 steps after 12 steps of history, each forecast 9 (log1p 10) with the hand-set rule of
    ``_rule`` (80%: +-log 2, 95%: +-log 3) calibrated on the history before its cutoff (12, then 16 steps, and the
    outages recorded before it). Fold 1 holds 9, 15, 30, 3: needed factors at 80% 0, 0.678, 1.632 (log 3.1 / log 2)
    and 1.32; fold 2 holds 9, 5, 39, 9: 0, 0.737, 2, 0. Cross-conformal: fold 1 is scored with fold 2's factors,
    whose 4-cell quantile at 0.8 * 5/4 = 1 is their largest, 2: band 10 / 4 - 1 = 1.5 to 10 * 4 - 1 = 39, all four
    inside; fold 2 with fold 1's largest, 1.632: 10 / 3.1 - 1 to 10 * 3.1 - 1 = 30, 39 outside: 7 / 8. At 95% the
    same cells (fold 2's 39 needs log 4 / log 3 = 1.26, fold 1's 30 log 3.1 / log 3 = 1.03): 7 / 8 again. The
    forecast's scale reads all eight factors: at 80% the 0.9 quantile, 1.632 + 0.3 * (2 - 1.632); at 95% the
    largest, 1.26."""
    calls: list[tuple[int, tuple[int, ...], int]] = []

    def rule(y: np.ndarray, plan: SeriesPlan, horizon: int, levels: tuple[int, ...]) -> fast.BandRule:
        calls.append((len(y), plan.outages, horizon))
        return _rule({80: math.log(2), 95: math.log(3)}, {80: 1.0, 95: 1.0})

    monkeypatch.setattr(fold_bands, "band_rule", rule)
    plan = SeriesPlan((), 4, 2, 1, outages=(3, 13, 17))
    folds = np.full((2, 4), 9.0)
    truth = np.array([[9.0, 15.0, 30.0, 3.0], [9.0, 5.0, 39.0, 9.0]])
    got = fold_bands.check(np.ones(20), plan, folds, truth, LEVELS)
    assert got.coverage == {80: 0.875, 95: 0.875} and got.cells == 8
    assert calls == [(12, (3,), 4), (16, (3, 13), 4)]
    r31 = math.log(3.1) / math.log(2)
    assert got.scale[80] == pytest.approx(r31 + 0.3 * (2.0 - r31))
    assert got.scale[95] == pytest.approx(math.log(4) / math.log(3))
    calls.clear()
    got = fold_bands.check(np.ones(14), replace(plan, outages=()), folds, truth, LEVELS)
    assert calls == [(10, (), 4)]  # fold 1 had 6 steps before it, under MIN_CHECK_HISTORY: only fold 2 is scored
    assert got.cells == 4 and got.coverage == {80: 0.75, 95: 0.75}  # no other fold: the rule's band, 39 outside
    assert got.scale == {80: pytest.approx(2.0), 95: pytest.approx(math.log(4) / math.log(3))}
    got = fold_bands.check(np.ones(10), plan, folds, truth, LEVELS)
    assert got.coverage == {80: None, 95: None} and got.cells == 0 and got.scale == {80: 1.0, 95: 1.0}


def _bursty(seed: int, days: int = 21) -> np.ndarray:
    """Hourly traffic with a daily cycle, lognormal noise and a level that halves for the last three days."""
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    level = np.where(hours >= (days - 3) * 24, 40.0, 80.0)
    return level * (1 + 0.6 * np.sin(2 * np.pi * hours / 24)) * rng.lognormal(0.0, 0.2, len(hours))


@pytest.mark.parametrize("engine", ["fast", "statsforecast"])
def test_both_engines_bands_are_the_calibrated_rule_around_their_mean(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each engine's bounds are ``band_rule(...).centred(its own mean)`` on the history it fitted, the statsforecast
    engine's with the recalibration scaled by its folds' factor (``fold_bands.check``, at least 1): before
    2026-12-08 its bands came from three folds' relative residuals and seasonal-naive's error quantiles
    (``intervals.py``) and would not match. The outages the loader recorded reach the rule."""
    if engine == "statsforecast":
        pytest.importorskip("statsforecast")
    pd = pytest.importorskip("pandas")
    from gpucast.forecast import forecast_load, load_history

    seen: list[fold_bands.FoldCheck] = []
    original = fold_bands.check

    def spy(*args: object) -> fold_bands.FoldCheck:
        seen.append(original(*args))  # type: ignore[arg-type]
        return seen[-1]

    monkeypatch.setattr(fold_bands, "check", spy)
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
    rule = fast.band_rule(fitted, plan, horizon, LEVELS)
    if engine == "statsforecast":
        assert len(seen) == 1 and all(seen[0].scale[lv] >= 1.0 for lv in LEVELS)
        assert seen[0].coverage == result.backtest.coverage
        rule = replace(rule, recalibrated={lv: rule.recalibrated[lv] * seen[0].scale[lv] for lv in LEVELS})
        assert any("intervals widened" in w for w in result.warnings) == (max(seen[0].scale.values()) > 1.05)
    else:
        assert not seen
    mean = np.array([p.mean for p in result.forecast])
    lows, highs = rule.centred(mean)
    for lv in LEVELS:
        np.testing.assert_allclose([p.lo[lv] for p in result.forecast], lows[lv], rtol=1e-12)
        np.testing.assert_allclose([p.hi[lv] for p in result.forecast], highs[lv], rtol=1e-12)
    coverage = result.backtest.coverage
    assert all(coverage[lv] is not None and 0.0 <= coverage[lv] <= 1.0 for lv in LEVELS)
    assert coverage[95] >= coverage[80]
