"""The global LightGBM member (forecast/global_ml.py): causal features, no look-ahead in its checkpoint models,
deterministic fits, a weight earned in the backtest, and a clean skip without lightgbm or without a fleet."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from gpucast.errors import InputError  # noqa: E402
from gpucast.forecast import forecast_fleet, global_ml, load_history  # noqa: E402


def fleet_series(seed: int, days: int, period: int = 24) -> np.ndarray:
    """Hourly traffic of one service: a cycle of ``period`` hours, its own level, multiplicative noise, an outage."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * 24)
    level = 20.0 * (1 + seed)
    y = level * (1 + 0.6 * np.sin(2 * np.pi * t / period)) * np.exp(rng.normal(0, 0.08, len(t)))
    y[rng.integers(60, len(t))] = 0.0
    return y


def fleet_frame(series: list[np.ndarray]) -> pd.DataFrame:
    stamps = pd.date_range("2025-01-01", periods=len(series[0]), freq="h")
    return pd.concat(
        [pd.DataFrame({"service": f"svc-{i}", "timestamp": stamps, "rps": y}) for i, y in enumerate(series)],
        ignore_index=True,
    )


def test_features_read_only_the_past() -> None:
    z = np.log1p(fleet_series(0, 12))
    for t in (48, 100, 250):
        x, level = global_ml.features(z, t, 48)
        changed = z.copy()
        changed[t:] += 5.0
        x2, level2 = global_ml.features(changed, t, 48)
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(level, level2)
        assert x.shape == (48, 10) and level[0] == pytest.approx(z[t - 24 : t].mean())
        np.testing.assert_allclose(x[:, 1], z[t - 24 + np.arange(48) % 24] - level)  # same hour, a day back


def test_checkpoint_models_see_only_cells_before_them_and_are_deterministic() -> None:
    pytest.importorskip("lightgbm")
    series = [fleet_series(seed, 10) for seed in range(3)]
    altered = [y.copy() for y in series]
    for y in altered:
        y[150:] *= 3.0  # the future changes; nothing before index 150 does
    a, b, again = (
        global_ml.GlobalModel(series, 48),
        global_ml.GlobalModel(altered, 48),
        global_ml.GlobalModel(series, 48),
    )
    origins = np.array([80, 100, 144, 150, 200])
    fa = a.forecasts(global_ml.repair_outages(series[0], 24), origins, 48)
    fb = b.forecasts(global_ml.repair_outages(altered[0], 24), origins, 48)
    np.testing.assert_array_equal(fa[:4], fb[:4])  # checkpoints <= 144: trained and read before the change
    assert not np.allclose(fa[4], fb[4])  # at 200 the model and the history hold the change
    np.testing.assert_array_equal(fa, again.forecasts(global_ml.repair_outages(series[0], 24), origins, 48))
    assert np.isfinite(fa).all() and (fa >= 0).all()
    beyond = a.forecasts(global_ml.repair_outages(series[0], 24), np.array([200]), 72)[0]
    np.testing.assert_array_equal(beyond[48:], beyond[24:48])  # past the trained steps: its last day again


def test_the_member_earns_its_weight_where_the_lags_know_more() -> None:
    # a two-day cycle: seasonal members of a daily season cannot follow it, the same hour two days back can
    pytest.importorskip("lightgbm")
    hist = load_history(fleet_frame([fleet_series(seed, 12, period=48) for seed in range(4)]), id_col="service")
    with_ml = forecast_fleet(hist, 24, n_jobs=1, ml=True)
    without = forecast_fleet(hist, 24, n_jobs=1)
    for uid, result in with_ml.items():
        weights = {m.name: m.weight for m in result.members}
        assert sum(weights.values()) == pytest.approx(1.0)
        assert "LightGBM" not in {m.name for m in without[uid].members}
        assert result.backtest.mae < without[uid].backtest.mae
    assert sum({m.name: m.weight for m in r.members}["LightGBM"] > 0.3 for r in with_ml.values()) >= 3


def test_without_lightgbm_or_a_fleet_the_member_is_skipped(monkeypatch) -> None:
    series = [fleet_series(seed, 8) for seed in range(3)]
    hist = load_history(fleet_frame(series), id_col="service")
    plain = forecast_fleet(hist, 24, n_jobs=1)
    monkeypatch.setattr(global_ml, "available", lambda: False)
    skipped = forecast_fleet(hist, 24, n_jobs=1, ml=True)
    for uid, result in skipped.items():
        assert [p.mean for p in result.forecast] == [p.mean for p in plain[uid].forecast]
        assert any("lightgbm is not installed" in w for w in result.warnings)
    monkeypatch.setattr(global_ml, "available", lambda: True)
    two = load_history(fleet_frame(series[:2]), id_col="service")
    for result in forecast_fleet(two, 24, n_jobs=1, ml=True).values():
        assert any("at least 3 hourly series" in w for w in result.warnings)
        assert "LightGBM" not in {m.name for m in result.members}


def test_the_member_needs_the_fast_engine() -> None:
    hist = load_history(fleet_frame([fleet_series(seed, 8) for seed in range(3)]), id_col="service")
    with pytest.raises(InputError, match="fast engine"):
        forecast_fleet(hist, 24, n_jobs=1, ml=True, engine="statsforecast")
