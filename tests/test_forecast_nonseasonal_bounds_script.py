"""scripts/forecast_nonseasonal_bounds.py (measurements for issue 26, not shipped): its robust slope and its error
growth exponent, hand-checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import load_script

pytest.importorskip("pandas")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "forecast_nonseasonal_bounds.py"


def test_theil_sen_is_the_median_pairwise_slope_and_ignores_one_outlier() -> None:
    bounds = load_script(SCRIPT, "forecast_nonseasonal_bounds")
    # pairwise slopes of [0, 1, 2, 10]: 1, 1, 10/3, 1, 9/2, 8 -> median (1 + 10/3) / 2
    assert bounds.theil_sen(np.array([0.0, 1.0, 2.0, 10.0])) == pytest.approx((1 + 10 / 3) / 2)
    z = 1.0 + 0.3 * np.arange(10)
    z[4] = 100.0  # 36 of the 45 pairs do not involve it and have slope 0.3 exactly
    assert bounds.theil_sen(z) == pytest.approx(0.3)
    assert bounds.theil_sen(np.array([5.0])) == 0.0


def test_growth_exponent_of_a_random_walk_and_of_flat_errors() -> None:
    bounds = load_script(SCRIPT, "forecast_nonseasonal_bounds")
    k = np.arange(1, 11)
    assert bounds.growth_exponent(0.2 * np.sqrt(k)) == pytest.approx(0.5)
    assert bounds.growth_exponent(np.full(10, 0.7)) == pytest.approx(0.0, abs=1e-12)
    assert bounds.growth_exponent(3.0 * k**0.1) == pytest.approx(0.1)
