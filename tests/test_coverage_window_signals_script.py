"""scripts/coverage_window_signals.py (measurement for issue 26, not shipped): the changepoint probability, the
causal de-seasonalisation it reads and the window's needed factor, hand-checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import load_script

pytest.importorskip("pandas")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "coverage_window_signals.py"


def test_seasonal_deviation_uses_only_earlier_seasons() -> None:
    signals = load_script(SCRIPT, "coverage_window_signals")
    z = np.array([1.0, 2.0, 3.0, 5.0, 2.0, 9.0, 4.0, 2.0])  # season 2
    out = signals.seasonal_deviation(z, season=2, seasons=3)
    assert np.isnan(out[:2]).all()
    # t=2: 3 - z[0]; t=3: 5 - z[1]; t=4: 2 - median(3, 1); t=5: 9 - median(5, 2) = 5.5; t=7: 2 - median(z[5], z[3], z[1]) = 2 - 5
    assert out[2:].tolist() == pytest.approx([2.0, 3.0, 0.0, 5.5, 2.0, -3.0])
    # changing a later value leaves every earlier deviation alone
    later = z.copy()
    later[-1] = 100.0
    assert signals.seasonal_deviation(later, season=2)[:-1] == pytest.approx(out[:-1], nan_ok=True)


def test_change_probability_sees_a_fresh_step_and_not_noise() -> None:
    signals = load_script(SCRIPT, "coverage_window_signals")
    rng = np.random.default_rng(3)
    calm = 0.1 * rng.standard_normal(200)
    assert signals.change_probability(calm, 1 / 48) < 0.1
    stepped = np.concatenate([calm, 2.0 + 0.1 * rng.standard_normal(2)])  # a 20-sd step two steps ago
    assert signals.change_probability(stepped, 1 / 48) > 0.9
    # the step long past: the current run is long again
    settled = np.concatenate([calm, 2.0 + 0.1 * rng.standard_normal(40)])
    assert signals.change_probability(settled, 1 / 48) < 0.1


def test_needed_factor_and_ratio_note() -> None:
    signals = load_script(SCRIPT, "coverage_window_signals")
    mean = np.full(5, np.expm1(2.0))
    lo, hi = np.full(5, np.expm1(1.5)), np.full(5, np.expm1(3.0))  # half-widths 0.5 below, 1.0 above (log1p)
    actual = np.expm1(np.array([2.0, 2.5, 4.0, 1.0, 1.75]))  # factors 0, 0.5, 2, 2, 0.5
    assert signals.needed_factor(actual, mean, lo, hi, 0.5) == pytest.approx(0.5)
    assert signals.needed_factor(actual, mean, lo, hi, 1.0) == pytest.approx(2.0)
    assert signals.ratio_from(["x", "intervals narrowed 0.62x: the last season's errors ..."]) == pytest.approx(0.62)
    assert signals.ratio_from(["level shift of +20% in the last hours"]) == 1.0
