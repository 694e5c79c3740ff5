"""`gpucast predict` end to end: forecast JSON, capacity timeline, fan chart, bad input."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from conftest import gpucast_exe

pd = pytest.importorskip("pandas")
pytest.importorskip("statsforecast")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    rng = np.random.default_rng(1)
    n = 24 * 21
    hours = np.arange(n)
    y = 10 * (1 + 0.4 * np.sin(2 * np.pi * hours / 24)) * (1 + 0.1 * np.sin(2 * np.pi * hours / 168))
    y += rng.normal(0, 0.3, n)
    ts = pd.date_range("2026-09-01", periods=n, freq="h", tz="UTC")
    path = tmp_path_factory.mktemp("hist") / "traffic.csv"
    pd.DataFrame({"timestamp": ts.astype(str), "rps": y.clip(0.1)}).to_csv(path, index=False)
    return path


def run(*args):
    return subprocess.run([*gpucast_exe(), "predict", *args], capture_output=True, text=True, check=False, timeout=300)


def test_predict_json_with_capacity_timeline(history, tmp_path):
    plot = tmp_path / "fan.html"
    result = run("--history", str(history), "--horizon", "2d", "--model", "llama-3.1-8b", "--gpu", "L4",
                 "--input-tokens", "500", "--output-tokens", "200", "--current-gpus", "1", "--json", "--plot", str(plot))  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["forecast"]) == 48
    row = data["forecast"][0]
    assert row["lo95"] <= row["lo80"] <= row["mean"] <= row["hi80"] <= row["hi95"]
    assert {"mase", "smape", "baseline_mase"} <= set(data["backtest"])
    assert data["members"] and data["capacity"]
    day = data["capacity"][0]
    assert day["gpus"] >= day["replicas"] >= 2 and day["monthly_cost"] > 0
    assert data["exceeds_capacity_at"] is not None  # one L4 cannot carry ~14 req/s of an 8B model
    assert "<svg" in plot.read_text()


def test_predict_terminal_summary(history):
    result = run("--history", str(history), "--horizon", "24h", "--scenario", "pessimistic")
    assert result.returncode == 0, result.stderr
    assert "seasonal-naive" in result.stdout and "pessimistic" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--history", "/nonexistent.csv"], "nonexistent"),
        (["--horizon", "forever"], "forever"),
        (["--scenario", "apocalypse"], "apocalypse"),
        (["--model", "llama-3.1-8b"], "--input-tokens"),
    ],
)
def test_predict_bad_input(history, args, message):
    base = ["--history", str(history), "--horizon", "1d"]
    merged = base + args if args[0] != "--history" else [*args, "--horizon", "1d"]
    result = run(*merged)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr


def test_seed_forecast_future_needs_api(history):
    from gpucast import LLMForecastEngine, ModelConfig

    rps = list(pd.read_csv(history)["rps"])
    needs = LLMForecastEngine().forecast_future_needs(rps, ModelConfig(model_name="llama-3.1-8b"), 2, "spike")
    assert needs.forecast.scenario == "spike" and len(needs.forecast.forecast) == 48
    assert needs.capacity is not None and needs.capacity.periods
    assert needs.to_dict()["capacity"]["gpus_per_replica"] >= 1


def test_predict_all_services_in_one_file(tmp_path):
    rng = np.random.default_rng(2)
    n = 24 * 21
    hours = np.arange(n)
    ts = pd.date_range("2026-09-01", periods=n, freq="h", tz="UTC").astype(str)
    frames = [
        pd.DataFrame({"service": f"svc-{s}", "timestamp": ts, "rps": (5 + s) * (1.2 + np.sin(2 * np.pi * hours / 24))
                      + rng.normal(0, 0.2, n)})
        for s in range(3)
    ]  # fmt: skip
    path = tmp_path / "fleet.csv"
    pd.concat(frames).to_csv(path, index=False)
    result = run("--history", str(path), "--id-col", "service", "--horizon", "1d", "--all-services", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert sorted(data) == ["svc-0", "svc-1", "svc-2"]
    assert all(len(r["forecast"]) == 24 for r in data.values())
    several = run("--history", str(path), "--id-col", "service", "--horizon", "1d")
    assert (several.returncode == 2 and "--service" in several.stderr) or "unique_id" in several.stderr
