"""Capacity timeline from token forecasts, and the fan chart files (HTML and PNG)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from conftest import gpucast_exe

pd = pytest.importorskip("pandas")
pytest.importorskip("statsforecast")

from gpucast.errors import InputError  # noqa: E402
from gpucast.forecast import forecast_load, load_history  # noqa: E402
from gpucast.forecast.plot import write_fan_chart  # noqa: E402
from gpucast.inputs.types import GPUConfig, ModelConfig  # noqa: E402
from gpucast.planning.timeline import capacity_timeline, period_tokens  # noqa: E402


def _series(input_tokens: float, days: int = 14, seed: int = 3) -> pd.DataFrame:
    """Hourly rps with a daily cycle; input tokens per request constant, one hour without requests (NaN)."""
    rng = np.random.default_rng(seed)
    n = 24 * days
    hours = np.arange(n)
    rps = 8 * (1.2 + np.sin(2 * np.pi * hours / 24)) + rng.normal(0, 0.2, n)
    tin = np.full(n, input_tokens)
    tin[30] = np.nan
    ts = pd.date_range("2026-09-01", periods=n, freq="h", tz="UTC").astype(str)
    return pd.DataFrame({"timestamp": ts, "rps": rps.clip(0.1), "input_tokens": tin, "output_tokens": 150.0})


@pytest.fixture(scope="module")
def short_prompts():
    return forecast_load(load_history(_series(400.0)), "2d")


@pytest.fixture(scope="module")
def long_prompts():
    return forecast_load(load_history(_series(3000.0)), "2d")


def test_series_token_columns_are_forecast(short_prompts):
    tokens = short_prompts.tokens
    assert set(tokens) == {"input_tokens", "output_tokens"}
    assert np.allclose(tokens["input_tokens"], 400.0) and np.allclose(tokens["output_tokens"], 150.0)
    mix = period_tokens(short_prompts, "day")
    assert len(mix) == 2 and all(m == pytest.approx((400.0, 150.0)) for m in mix.values())


def test_timeline_plans_each_period_with_forecast_tokens(short_prompts, long_prompts):
    model, gpu = ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="L4")
    short = capacity_timeline(short_prompts, model=model, gpu=gpu)
    long = capacity_timeline(long_prompts, model=model, gpu=gpu)
    assert short.tokens_source == long.tokens_source == "forecast"
    assert short.periods[0].input_tokens == pytest.approx(400.0)
    # 7.5x longer prompts: each replica carries fewer requests, so the same load needs more GPUs
    assert long.periods[0].rps_per_replica < short.periods[0].rps_per_replica
    assert sum(p.gpus for p in long.periods) > sum(p.gpus for p in short.periods)


def test_given_tokens_override_and_defaults(short_prompts):
    model, gpu = ModelConfig(model_name="llama-3.1-8b"), GPUConfig(gpu_type="L4")
    given = capacity_timeline(short_prompts, model=model, gpu=gpu, input_tokens=3000, output_tokens=150)
    assert given.tokens_source == "given" and given.periods[0].input_tokens == 3000
    no_tokens = forecast_load([10.0 + (i % 24) for i in range(24 * 10)], "1d")
    default = capacity_timeline(no_tokens, model=model, gpu=gpu)
    assert default.tokens_source == "default" and (
        default.periods[0].input_tokens,
        default.periods[0].output_tokens,
    ) == (500, 200)
    with pytest.raises(InputError, match="both input and output"):
        capacity_timeline(short_prompts, model=model, gpu=gpu, input_tokens=100)


def test_fan_chart_html_and_png(short_prompts, tmp_path):
    history = load_history(_series(400.0))
    html_path, png_path = tmp_path / "fan.html", tmp_path / "fan.png"
    write_fan_chart(html_path, history, short_prompts)
    page = html_path.read_text()
    assert page.count("<polygon") == 2 and "requests/s" in page and "http" not in page.replace("http://www.w3.org", "")
    write_fan_chart(png_path, history, short_prompts)
    data = png_path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    with pytest.raises(InputError, match=r"\.png"):
        write_fan_chart(tmp_path / "fan.pdf", history, short_prompts)


def test_predict_cli_uses_token_columns_and_writes_png(tmp_path):
    path = tmp_path / "traffic.csv"
    _series(2000.0).to_csv(path, index=False)
    png = tmp_path / "fan.png"
    cmd = [*gpucast_exe(), "predict", "--history", str(path), "--horizon", "1d", "--model", "llama-3.1-8b",
           "--gpu", "L4", "--json", "--plot", str(png)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tokens_source"] == "forecast"
    assert data["capacity"][0]["input_tokens"] == pytest.approx(2000.0)
    assert png.read_bytes()[:4] == b"\x89PNG"
