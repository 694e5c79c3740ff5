"""scripts/forecast_error_sources.py: the oracles that apportion the engine's error, checked by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import load_script

pytest.importorskip("pandas")
SCRIPT = load_script(Path(__file__).resolve().parents[1] / "scripts" / "forecast_error_sources.py", "fes")


def test_level_oracle_moves_each_block_by_its_median_log_error() -> None:
    """f = 1, 1, 3, 3 against a = 3: per 2-step block the log1p errors are log 2 (1 -> 3: log 4 - log 2) and 0, so
    the oracle is 3 everywhere; over the whole window their median is log(2) / 2, so 1 becomes 2^1.5 - 1 and 3
    becomes 4 sqrt(2) - 1."""
    f, a = np.array([1.0, 1.0, 3.0, 3.0]), np.full(4, 3.0)
    np.testing.assert_allclose(SCRIPT.shifted(f, a, 2), [3.0, 3.0, 3.0, 3.0], rtol=1e-12)
    whole = [2**1.5 - 1, 2**1.5 - 1, 4 * math.sqrt(2) - 1, 4 * math.sqrt(2) - 1]
    np.testing.assert_allclose(SCRIPT.shifted(f, a, 4), whole, rtol=1e-12)


def test_smooth_actual_is_a_centred_median_shrinking_at_the_ends() -> None:
    """1, 10, 2, 3 over 3 steps: median(1, 10) = 5.5, median(1, 10, 2) = 2, median(10, 2, 3) = 3, median(2, 3) =
    2.5 — the burst of 10 is not part of the smooth traffic."""
    np.testing.assert_allclose(SCRIPT.smooth(np.array([1.0, 10.0, 2.0, 3.0])), [5.5, 2.0, 3.0, 2.5])


def test_step_blocks_cover_the_horizon() -> None:
    assert SCRIPT.blocks(48, True) == [(0, 1), (1, 3), (3, 6), (6, 12), (12, 24), (24, 48)]
    assert SCRIPT.blocks(24, True) == [(0, 1), (1, 3), (3, 6), (6, 12), (12, 24)]
    assert SCRIPT.blocks(10, False) == [(0, 1), (1, 2), (2, 4), (4, 6), (6, 10)]
