"""Bands that allow for outages (issue 26 item 1): the loader's interpolated outage steps are recorded, their
recency-weighted share is hand-checked, a level whose lower tail they exceed becomes the one-sided interval
[0, q_level], and `gpucast predict` shows it end to end."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from conftest import gpucast_exe

pd = pytest.importorskip("pandas")

from gpucast.forecast import load_history, rolling  # noqa: E402


def _busy(days: int, outage_every: int | None, seed: int = 5) -> pd.DataFrame:
    """Hourly traffic of ~50 req/s with a daily cycle; one silent hour every ``outage_every`` hours (an outage:
    with ~180,000 requests expected in the hour, none is not demand), never at the same hour of the day twice in a
    row so it does not read as recurring on/off traffic."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * 24)
    y = 50 * (1 + 0.4 * np.sin(2 * np.pi * t / 24)) * np.exp(rng.normal(0, 0.1, len(t)))
    if outage_every:
        y[outage_every // 2 :: outage_every] = 0.0
    stamps = pd.date_range("2026-09-01", periods=len(t), freq="h", tz="UTC").astype(str)
    return pd.DataFrame({"timestamp": stamps, "rps": y})


def test_loader_records_the_outage_steps_it_interpolates() -> None:
    frame = _busy(14, 25)
    history = load_history(frame)
    stamps = history.outages["series"]
    assert len(stamps) == len(range(12, 14 * 24, 25))
    assert (history.frame.set_index("ds").loc[stamps, "y"] > 10).all()  # interpolated, not left at 0
    assert load_history(_busy(14, None)).outages == {}


def test_outage_rate_is_the_recency_weighted_share_hand_checked() -> None:
    season, now = 24, 100
    half_life = rolling.HALF_LIFE_SEASONS * season
    weights = 0.5 ** ((now - 1 - np.arange(now)) / half_life)
    outages = (10, 50, 99, 120)  # 120 lies after `now`: not known yet
    expected = weights[[10, 50, 99]].sum() / weights.sum()
    assert rolling.outage_rate(outages, now, season) == pytest.approx(expected, rel=1e-12)
    assert rolling.outage_rate((), now, season) == 0.0
    # a level is floored once outages are more frequent than its lower tail, (1 - level) / 2
    assert rolling.floored((80, 95), 0.03) == {95}
    assert rolling.floored((80, 95), 0.11) == {80, 95}
    assert rolling.floored((80, 95), 0.02) == frozenset()


def test_one_sided_level_takes_the_level_quantile_above() -> None:
    # [0, q_L]: all of the level's miss budget lies above, so the upper bound of a one-sided 95% band is the upper
    # bound of a two-sided 90% band (both the 0.95 quantile), with the same volatility widening
    rng = np.random.default_rng(2)
    origins = np.arange(100, 100 + 40 * 24, 24)
    residual = rng.standard_t(3, (40, 24)) * 0.3
    observed = np.ones_like(residual, dtype=bool)
    now = int(origins[-1]) + 24
    one = rolling.calibrate(residual, origins, observed, now, 24, (95,), one_sided=frozenset({95}))
    two = rolling.calibrate(residual, origins, observed, now, 24, (90,))
    assert one is not None and two is not None
    np.testing.assert_allclose(one.bands[95][1], two.bands[90][1], rtol=1e-12)
    wide = rolling.calibrate(residual, origins, observed, now, 24, (95,))
    assert wide is not None and np.all(one.bands[95][1] <= wide.bands[95][1])


def _predict(path) -> subprocess.CompletedProcess[str]:
    command = [*gpucast_exe(), "predict", "--history", str(path), "--horizon", "2d", "--json"]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def test_predict_floors_the_95_band_of_a_series_with_frequent_outages(tmp_path) -> None:
    path = tmp_path / "outages.csv"
    _busy(21, 25).to_csv(path, index=False)  # 4% of hours are outages: more than the 95% band's 2.5% lower tail
    run = _predict(path)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert all(p["lo95"] == 0 for p in data["forecast"])
    assert all(p["lo80"] > 0 for p in data["forecast"])  # 4% < the 80% band's 10% lower tail
    assert any("95% band reaches 0" in w for w in data["warnings"])
    calm = tmp_path / "calm.csv"
    _busy(21, None).to_csv(calm, index=False)
    data = json.loads(_predict(calm).stdout)
    assert all(p["lo95"] > 0 for p in data["forecast"])
    assert not any("band reaches 0" in w for w in data["warnings"])
