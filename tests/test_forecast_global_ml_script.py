"""scripts/forecast_global_ml.py (the measurement of a global LightGBM member, issue 26): its features read only
the history before the origin, so the figures in docs/forecast-accuracy.md carry no look-ahead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import load_script

pytest.importorskip("pandas")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "forecast_global_ml.py"


@pytest.fixture(scope="module")
def ml():
    return load_script(SCRIPT, "forecast_global_ml")


def test_features_read_only_the_past(ml) -> None:
    rng = np.random.default_rng(0)
    z = np.log1p(50 * (1 + 0.5 * np.sin(2 * np.pi * np.arange(400) / 24)) * np.exp(rng.normal(0, 0.1, 400)))
    members = {name: rng.uniform(1, 100, 48) for name in ml.BASE_MEMBERS}
    for t in (48, 120, 300):
        for given in (None, members):
            x, base = ml.features(z, t, 48, given)
            changed = z.copy()
            changed[t:] += 3.0
            x2, base2 = ml.features(changed, t, 48, given)
            np.testing.assert_array_equal(x, x2)
            np.testing.assert_array_equal(base, base2)
        x, base = ml.features(z, t, 48)
        assert x.shape == (48, 10) and base[0] == pytest.approx(z[t - 24 : t].mean())
        np.testing.assert_allclose(x[:, 1], z[t - 24 + np.arange(48) % 24] - base)  # the same hour a day back
    _, stacked = ml.features(z, 300, 48, members)
    np.testing.assert_allclose(stacked, np.mean([np.log1p(members[n]) for n in ml.BASE_MEMBERS], axis=0))


def test_checkpoint_models_learn_only_from_cells_before_them(ml) -> None:
    pytest.importorskip("lightgbm")
    rng = np.random.default_rng(1)
    series = [20 * (i + 1) * (1 + 0.5 * np.sin(2 * np.pi * np.arange(240) / 24)) * np.exp(rng.normal(0, 0.1, 240))
              for i in range(3)]  # fmt: skip
    altered = [y.copy() for y in series]
    for y in altered:
        y[150:] *= 3.0
    a, b = ml.Pool(series, False, 48), ml.Pool(altered, False, 48)
    x, _ = ml.features(a.z[0], 140, 48)
    np.testing.assert_array_equal(a.model(144).predict(x), b.model(144).predict(x))
    assert not np.allclose(a.model(192).predict(x), b.model(192).predict(x))
