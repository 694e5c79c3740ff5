"""The vectorised band calibration (forecast/rolling.py ``calibrate`` over forecast/cells.py: all step blocks at
once, cells sorted once per series) against its plain definition written out block by block: recency-weighted and equal-weight
quantiles per block (``np.interp`` on mid-point cumulative weights), the wider of the two, blocks with too few cells
carrying the last one's, and the recent-volatility widening. Random residual tables, with and without holes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gpucast.forecast import rolling
from gpucast.forecast.cells import STEP_BLOCK_EDGES


def plain(residual, origins, observed, now, season, levels):
    """The definition, one block at a time (what ``calibrate`` computed before it was vectorised)."""
    steps = residual.shape[1]
    target = origins[:, None] + np.arange(steps)[None, :]
    mask = observed & (target < now)
    if mask[:, 0].sum() < rolling.MIN_ORIGINS:
        return None
    qs = [q for lv in levels for q in ((1 - lv / 100) / 2, 1 - (1 - lv / 100) / 2)]
    edges = [e for e in STEP_BLOCK_EDGES if e < steps] + [steps]
    blocks = [(a - 1, b - 1 if b < steps else steps) for a, b in itertools.pairwise(edges)] or [(0, steps)]
    lows = {lv: np.zeros(steps) for lv in levels}
    highs = {lv: np.zeros(steps) for lv in levels}
    typical = np.full(steps, np.nan)
    last: list[float] = []
    for a, b in blocks:
        cell = mask[:, a:b]
        if cell.sum() < rolling.MIN_ORIGINS:
            values = last
        else:
            r = residual[:, a:b][cell]
            w = np.exp2((target[:, a:b][cell] - (now - 1)) / (rolling.HALF_LIFE_SEASONS * season))
            order = np.argsort(r)
            v, wv = r[order], w[order]
            weighted = (np.cumsum(wv) - 0.5 * wv) / wv.sum()
            flat = (np.arange(len(v)) + 0.5) / len(v)
            both = [(np.interp(q, weighted, v), np.interp(q, flat, v)) for q in qs]
            values = [min(p) if j % 2 == 0 else max(p) for j, p in enumerate(both)]
            typical[a:b] = max(float(np.median(np.abs(r))), 1e-9)
        last = values
        for j, lv in enumerate(levels):
            lows[lv][a:b], highs[lv][a:b] = min(values[2 * j], 0.0), max(values[2 * j + 1], 0.0)
    typical = np.where(np.isfinite(typical), typical, np.nanmax(typical))
    recent = mask & (target >= now - season)
    widen = 1.0
    if recent.sum() >= max(4, season // 4):
        scaled = np.abs(residual) / typical[None, :]
        widen = float(np.clip(np.mean(scaled[recent]) / np.mean(scaled[mask]), rolling.MIN_WIDEN, rolling.MAX_WIDEN))
    return {lv: (lows[lv] * widen, highs[lv] * widen) for lv in levels}, widen


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_calibration_equals_the_block_by_block_definition(seed):
    rng = np.random.default_rng(seed)
    n_origins = int(rng.integers(12, 80))
    steps = int(rng.choice([1, 3, 24, 48, 100, 336]))
    season = int(rng.choice([2, 24, 168]))
    origins = np.sort(rng.choice(np.arange(50, 600), n_origins, replace=False))
    residual = rng.standard_t(3, (n_origins, steps)) * 0.3  # continuous: no ties, whose order is arbitrary
    now = int(origins[rng.integers(n_origins // 2, n_origins)] + rng.integers(0, steps))
    observed = rng.random((n_origins, steps)) > (0.1 if seed % 2 else 0.0)
    expected = plain(residual, origins, observed, now, season, (80, 95))
    cells = rolling.sort_cells(residual, origins, observed) if seed % 3 else None
    got = rolling.calibrate(residual, origins, observed, now, season, (80, 95), cells)
    assert (got is None) == (expected is None)
    if got is None:
        return
    bands, widen = expected
    assert got.widen == pytest.approx(widen, rel=1e-12)
    for lv in (80, 95):
        for k in (0, 1):
            np.testing.assert_allclose(got.bands[lv][k], bands[lv][k], rtol=1e-9, atol=1e-12)


def test_recent_calm_narrows_the_band_as_recent_turbulence_widens_it():
    # 40 origins a day apart, 24 steps: errors of size 1 until the last season, then 0.2 (calm) or 3.0 (turbulent);
    # the ratio of the last season's errors to all errors scales the band, clipped to [1/MAX_WIDEN, MAX_WIDEN]
    rng = np.random.default_rng(0)
    origins = np.arange(100, 100 + 40 * 24, 24)
    base = rng.standard_normal((40, 24))
    now = int(origins[-1]) + 24
    observed = np.ones_like(base, dtype=bool)
    for size, bound in ((0.2, "below"), (3.0, "above")):
        residual = base.copy()
        residual[-2:] *= size  # the rows whose cells land in the last season (ratio well past either clip)
        got = rolling.calibrate(residual, origins, observed, now, 24, (80,))
        assert got is not None
        if bound == "below":  # the rule before 2026-12-06 kept 1.0 here
            assert got.widen == pytest.approx(rolling.MIN_WIDEN)
        else:
            assert got.widen == pytest.approx(rolling.MAX_WIDEN)


def test_a_backtest_without_error_keeps_its_band_instead_of_dividing_by_zero():
    # a history the members forecast exactly (every residual 0, as a constant series gives): the volatility ratio
    # is 0 / 0; the band stays as it is (zero wide, widen 1) rather than raising ZeroDivisionError
    origins = np.arange(100, 100 + 40 * 24, 24)
    residual = np.zeros((40, 24))
    observed = np.ones_like(residual, dtype=bool)
    got = rolling.calibrate(residual, origins, observed, int(origins[-1]) + 24, 24, (80,))
    assert got is not None and got.widen == 1.0
    assert not np.any(got.bands[80][0]) and not np.any(got.bands[80][1])
