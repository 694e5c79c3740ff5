"""Monthly GPU spend (planning/fleet.py ``monthly_spend``, ``gpucast predict --spend``): hand-checked months, the
history and forecast parts, and the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")

from conftest import gpucast_exe  # noqa: E402
from gpucast.forecast import load_history  # noqa: E402
from gpucast.forecast.result import Backtest, ForecastPoint, ForecastResult  # noqa: E402
from gpucast.planning.fleet import ServiceSizing, monthly_spend, single_service  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "docs" / "sample-traffic.csv"


def _result(uid: str, mean: float, low: float, high: float, start: str, hours: int) -> ForecastResult:
    stamps = pd.date_range(start, periods=hours, freq="h", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    points = [ForecastPoint(t, mean, {80: low, 95: low}, {80: high, 95: high}) for t in stamps]
    backtest = Backtest(None, None, None, None, None, None, {80: None, 95: None}, 0, 0, 24)
    return ForecastResult(uid, "h", points, backtest, [], [24], "weighted", 24)


def test_monthly_spend_hand_checked() -> None:
    # 1 GPU per replica, 10 req/s per replica, at least 2 replicas, 25% margin, $2 per GPU-hour
    stamps = pd.date_range("2026-09-30", periods=24, freq="h", tz="UTC")
    history = load_history(pd.DataFrame({"timestamp": stamps, "rps": 30.0 + 0.001 * (stamps.hour % 2)}))
    uid = history.ids[0]
    sizing = [ServiceSizing(uid, "-", "-", "L4", 1, 10.0, 2, 0.25, 2.0)]
    hf = single_service(_result(uid, 7.0, 5.0, 50.0, "2026-10-01", 48))
    months = monthly_spend(hf, sizing, history)
    assert [m.month for m in months] == ["2026-09", "2026-10"]
    sept, october = months
    # September: 30 req/s x 1.25 / 10 = 3.75 -> 4 GPUs x $2 x 24 h
    assert (sept.source, sept.hours, sept.spend) == ("history", 24.0, pytest.approx(4 * 2 * 24))
    assert sept.spend_low == sept.spend_high == sept.spend
    # October: mean 7 -> 0.875 replicas -> the 2-replica floor: 2 GPUs x $2 x 48 h; upper bound 50 req/s ->
    # 6.25 -> 7 GPUs; lower bound 5 -> the floor again
    assert october.source == "forecast" and october.hours == 48.0
    assert october.spend == pytest.approx(2 * 2 * 48)
    assert october.spend_high == pytest.approx(7 * 2 * 48)
    assert october.spend_low == pytest.approx(2 * 2 * 48)
    # an unpriced service (no price list entry) adds nothing
    free = [ServiceSizing(uid, "-", "-", "L4", 1, 10.0, 2, 0.25, None)]
    assert all(m.spend == 0 for m in monthly_spend(hf, free, history))


def test_predict_spend_cli() -> None:
    cmd = [*gpucast_exe(), "predict", "--history", str(SAMPLE), "--horizon", "30d", "--model",
           "llama-3.1-8b", "--gpu", "H100", "--input-tokens", "1000", "--output-tokens", "300", "--spend"]  # fmt: skip
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    spend = json.loads(done.stdout)["spend"]
    assert [m["month"] for m in spend] == ["2026-09", "2026-10", "2026-11"]
    assert [m["source"] for m in spend] == ["history", "history+forecast", "forecast"]
    assert all(m["spend_low"] <= m["spend"] <= m["spend_high"] for m in spend)
    assert spend[0]["hours"] == 720 and spend[0]["spend"] > 0
    text = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    assert text.returncode == 0 and "Monthly GPU spend" in text.stdout
    bad = subprocess.run(
        [*cmd[: cmd.index("--model")], "--spend"], capture_output=True, text=True, check=False, timeout=300
    )
    assert bad.returncode == 2 and "--spend needs --model" in bad.stderr
