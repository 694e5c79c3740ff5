"""The last backtest's achieved coverage beside every forecast, over the whole horizon (forecast/coverage.py):
`gpucast predict` table and --json, fleet mode, `gpucast fleet`, the Python API; spans and honesty checked."""

from __future__ import annotations

import itertools
import json
import subprocess

import numpy as np
import pytest

from conftest import gpucast_exe

pd = pytest.importorskip("pandas")

from gpucast.forecast import forecast_load  # noqa: E402
from gpucast.forecast.coverage import spans  # noqa: E402


def _frame(days: int, services: int = 1, seed: int = 3) -> pd.DataFrame:
    """Hourly traffic with a daily cycle and multiplicative noise (a level step a week before the end)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days * 24)
    stamps = pd.date_range("2026-09-01", periods=len(t), freq="h", tz="UTC").astype(str)
    rows = []
    for s in range(services):
        level = (10.0 + 5 * s) * np.where(t >= (days - 7) * 24, 1.3, 1.0)
        y = level * (1 + 0.5 * np.sin(2 * np.pi * (t + 2 * s) / 24)) * np.exp(rng.normal(0, 0.15, len(t)))
        rows.append(pd.DataFrame({"service": f"svc-{s}", "timestamp": stamps, "rps": y}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    path = tmp_path_factory.mktemp("cov") / "traffic.csv"
    _frame(21).drop(columns="service").to_csv(path, index=False)
    return path


def run(*args):
    return subprocess.run([*gpucast_exe(), "predict", *args], capture_output=True, text=True, check=False, timeout=300)


def test_spans_cover_the_horizon_on_a_doubling_scale() -> None:
    assert spans(48, 336) == [(1, 48), (49, 96), (97, 192), (193, 336)]
    assert spans(48, 48) == [(1, 48)]
    assert spans(24, 30) == [(1, 24), (25, 30)]


def _check_backtest(bt: dict, horizon: int) -> None:
    """The JSON's coverage fields are consistent: spans tile 1..horizon, the pooled figure is their cell-weighted
    mean, and the spans' cells are what the checked origins could have observed."""
    assert bt["coverage_horizon"] == horizon
    by = bt["coverage_by_steps"]
    assert by[0]["first"] == 1 and by[-1]["last"] == horizon
    assert all(a["last"] + 1 == b["first"] for a, b in itertools.pairwise(by))
    assert by[0]["last"] == bt["fold_horizon"]  # the first span is the calibrated steps
    cells = sum(s["cells"] for s in by)
    assert cells > 0 and 1 <= bt["coverage_checked_steps"] <= horizon
    for level in (80, 95):
        pooled = sum(s[f"coverage{level}"] * s["cells"] for s in by if s["cells"]) / cells
        assert bt[f"coverage{level}"] == pytest.approx(pooled, abs=1e-3)
    assert bt["coverage95"] >= bt["coverage80"]
    # every checked origin observed each of the first span's steps; no span has more cells than origins x steps
    assert by[0]["cells"] == by[0]["origins"] * by[0]["last"] == bt["coverage_origins"] * by[0]["last"]
    assert all(s["cells"] <= s["origins"] * (s["last"] - s["first"] + 1) for s in by)


def test_predict_json_reports_coverage_over_the_whole_horizon(history) -> None:
    result = run("--history", str(history), "--horizon", "14d", "--json")
    assert result.returncode == 0, result.stderr
    bt = json.loads(result.stdout)["backtest"]
    _check_backtest(bt, 336)
    assert len(bt["coverage_by_steps"]) == 4  # 1-48, 49-96, 97-192, 193-336
    # 21 days of history: an origin 14 days back has seen all 336 steps, and the far spans are scored
    assert bt["coverage_checked_steps"] == 336 and bt["coverage_by_steps"][-1]["cells"] > 0


def test_predict_table_prints_coverage_with_its_steps(history) -> None:
    result = run("--history", str(history), "--horizon", "14d")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())  # the table wraps long lines
    assert "Interval coverage" in out and "80% band held" in out and "95% band held" in out
    assert "of the 336 ahead" in out and "by steps ahead: 1-48" in out and "193-336" in out


def test_short_history_says_which_steps_are_not_checked(tmp_path) -> None:
    path = tmp_path / "short.csv"
    _frame(10).drop(columns="service").to_csv(path, index=False)
    data = json.loads(run("--history", str(path), "--horizon", "14d", "--json").stdout)
    bt = data["backtest"]
    _check_backtest(bt, 336)
    assert bt["coverage_checked_steps"] < 336  # 10 days cannot show a forecast 14 days ahead
    text = " ".join(run("--history", str(path), "--horizon", "14d").stdout.split())
    assert f"steps {bt['coverage_checked_steps'] + 1}-336 not checked" in text


def test_python_api_and_horizon_within_the_calibrated_steps(history) -> None:
    result = forecast_load(history, "1d")
    bt = result.backtest
    assert bt.coverage_horizon == 24 and len(bt.coverage_by_steps) == 1
    assert bt.coverage_by_steps[0].coverage == bt.coverage
    _check_backtest(bt.to_dict(), 24)


def test_fleet_mode_table_shows_coverage(tmp_path) -> None:
    path = tmp_path / "fleet.csv"
    _frame(21, services=2).to_csv(path, index=False)
    result = run("--history", str(path), "--id-col", "service", "--all-services", "--horizon", "7d")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "80%/95% held (steps)" in out and out.count("(1-168/168)") == 2
    data = json.loads(
        run("--history", str(path), "--id-col", "service", "--all-services", "--horizon", "7d", "--json").stdout
    )
    for service in data.values():
        _check_backtest(service["backtest"], 168)


def test_gpucast_fleet_table_shows_coverage(tmp_path) -> None:
    path = tmp_path / "fleet.csv"
    _frame(21, services=2).to_csv(path, index=False)
    services = tmp_path / "services.csv"
    services.write_text("service,team,environment\nsvc-0,search,prod\nsvc-1,chat,prod\n")
    command = [*gpucast_exe(), "fleet", "--history", str(path), "--services", str(services), "--horizon", "3d"]
    result = subprocess.run([*command, "--no-capacity"], capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "80%/95% held (steps)" in out and "(1-72/72)" in out and "base) band" in out


def test_desktop_summary_shows_coverage(history) -> None:
    from gpucast.desktop.compute import forecast_summary

    data = forecast_load(history, "14d").to_dict()
    rows = dict(forecast_summary(data))
    checked = data["backtest"]["coverage_checked_steps"]
    assert rows["Interval coverage"].endswith(f"of the last backtest, steps 1-{checked} of the 336 ahead")
    assert "80% band held" in rows["Interval coverage"]
