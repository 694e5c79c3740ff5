"""The backtest's batched members (forecast/batched.py) equal ``members.forecast_members`` run at each origin's
prefix: daily, weekly and no season, short and long histories, outages (zeros), flat stretches and bursts."""

from __future__ import annotations

import numpy as np
import pytest

from gpucast.forecast import rolling
from gpucast.forecast.batched import level_shifts, members_at
from gpucast.forecast.members import forecast_members, level_shift, repair_outages


def series(seed: int, n: int, season: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 50 * (1 + 0.4 * np.sin(2 * np.pi * t / max(season, 2))) * np.exp(rng.normal(0, 0.2, n))
    y[rng.integers(0, n, 3)] *= 4  # bursts
    y[rng.integers(0, n, 4)] = 0.0  # outages
    if seed % 3 == 0:
        y[n // 3 : n // 3 + 10] = 7.0  # a flat stretch
    if seed % 4 == 1:
        y[: n // 2] *= 0.3  # a level shift
    return y


@pytest.mark.parametrize(
    ("seed", "n", "season", "h"),
    [(0, 400, 24, 48), (1, 1344, 168, 336), (2, 60, 24, 24), (3, 30, 1, 8), (4, 500, 24, 1), (5, 200, 12, 30),
     (6, 1000, 168, 100), (7, 20, 24, 5), (8, 16, 1, 3)],
)  # fmt: skip
def test_batched_members_equal_the_members_at_each_prefix(seed, n, season, h):
    y = series(seed, n, season)
    repaired = repair_outages(y, season)
    ends = np.arange(rolling.first_origin(n, season), n)
    cap = rolling.CAP_FACTOR * float(y.max())
    batched = members_at(y, repaired, season, h, cap, ends)
    for row, end in enumerate(ends):
        one = forecast_members(y[:end], season, h, cap, repaired[:end])
        assert set(one) == set(batched)
        for name, values in one.items():
            np.testing.assert_allclose(batched[name][row], values, rtol=1e-9, atol=1e-9, err_msg=f"{name} at {end}")


@pytest.mark.parametrize(("seed", "n", "season"), [(0, 400, 24), (1, 1344, 168), (2, 60, 24), (3, 30, 1), (5, 200, 12)])
def test_batched_level_shifts_equal_level_shift_at_each_prefix(seed, n, season):
    y = series(seed, n, season)
    y[n - 5 :] *= 3  # a shift at the very end
    repaired = repair_outages(y, season)
    ends = np.arange(2, n + 1)
    got = level_shifts(repaired, season, ends)
    expected = [level_shift(y[:end], season, repaired[:end]) for end in ends]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    if n >= 200:  # long enough for the end's shift to stand out of the noise: the batch finds shifts too
        assert np.count_nonzero(got) > 0
