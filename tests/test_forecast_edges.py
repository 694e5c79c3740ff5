"""Edge-case traffic histories through the forecast: every answer is finite, ordered and non-negative, or a clear
InputError. Found by driving `gpucast predict` with short, silent, outage-ending and huge histories (2026-12-06)."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import gpucast_exe
from gpucast.errors import InputError
from gpucast.forecast import forecast_future_needs, forecast_load
from gpucast.forecast.history import normalize_freq
from gpucast.forecast.rolling import interval

pytest.importorskip("pandas")


def assert_sane(result, horizon: int) -> None:
    """Finite numbers, lo <= mean <= hi, bounds non-negative, nested levels, coverage in [0, 1] or None."""
    assert len(result.forecast) == horizon
    for point in result.forecast:
        assert math.isfinite(point.mean) and point.mean >= 0
        for lv in point.lo:
            lo, hi = point.lo[lv], point.hi[lv]
            assert math.isfinite(lo) and math.isfinite(hi), (lv, lo, hi)
            assert 0.0 <= lo <= point.mean <= hi, (point.timestamp, lv, lo, point.mean, hi)
        levels = sorted(point.lo)
        for inner, outer in itertools.pairwise(levels):
            assert point.lo[outer] <= point.lo[inner] and point.hi[inner] <= point.hi[outer]
    for value in result.backtest.coverage.values():
        assert value is None or 0.0 <= value <= 1.0
    for span in result.backtest.coverage_by_steps:
        for value in span.coverage.values():
            assert value is None or 0.0 <= value <= 1.0


def daily(n: int, base: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.abs(base * (1 + 0.5 * np.sin(2 * np.pi * t / 24)) + rng.normal(0, base * 0.05, n))


def test_interval_never_below_zero():
    """A log band deeper than the forecast's own log level means 0 requests, not a negative rate: expm1 of a log1p
    value below 0 is negative (down to -1)."""
    low, high = interval(np.array([5.0, 100.0]), np.array([-3.0, -50.0]), np.array([0.5, 0.5]))
    assert low.tolist() == [0.0, 0.0]
    assert np.all(high >= [5.0, 100.0])


def test_outage_at_the_end_keeps_bounds_non_negative():
    """Busy traffic that went silent for its last 30 hours: a level shift far down, the lower band reached -1.0
    req/s before the fix."""
    y = daily(500, 1000.0)
    y[-30:] = 0.0
    assert_sane(forecast_load(y.tolist(), "7d"), 168)


def test_short_history_far_horizon_bounds_non_negative():
    """25 hourly points forecast 14 days: the random-walk growth of a 2-step band took lo95 below 0 at step 56."""
    assert_sane(forecast_load(daily(25, 100.0).tolist(), "14d"), 336)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*gpucast_exe(), *args], capture_output=True, text=True, check=False, timeout=120)


def write_history(path: Path, values: np.ndarray, freq: str = "h", ids: list[str] | None = None) -> Path:
    pd = pytest.importorskip("pandas")
    stamps = pd.date_range("2026-09-01", periods=len(values), freq=freq, tz="UTC").astype(str)
    frame = pd.DataFrame({"timestamp": stamps, "rps": values})
    if ids:
        frame = pd.concat([frame.assign(service=uid) for uid in ids], ignore_index=True)
    frame.to_csv(path, index=False)
    return path


NO_SCALE = 1e6 + 1e-4 * np.sin(np.arange(200))  # moves, but by less than 1e-9 of its level: MASE has no scale


@pytest.mark.parametrize(("values", "shown"), [(np.full(200, 42.0), "MASE 0.000"), (np.zeros(200), "sMAPE 0.0%"),
                                               (NO_SCALE, "MASE n/a")])  # fmt: skip
def test_terminal_summary_shows_no_nan(tmp_path, values, shown):
    """A constant history's backtest is perfect (0.0), a history with no seasonal-naive error has no MASE scale
    (NaN: "n/a"); the summary printed "nan" for both (``x or float('nan')`` treats 0.0 as missing)."""
    result = run_cli("predict", "--history", str(write_history(tmp_path / "h.csv", values)), "--horizon", "1d")
    assert result.returncode == 0, result.stderr
    assert shown in result.stdout
    assert "nan" not in result.stdout.lower()


def test_subnormal_rates_rank_members_without_overflow():
    """Rates of ~1e-310 (subnormal floats): seasonal-naive's backtest error is a few subnormals, and a member's
    error divided by it overflowed (a RuntimeWarning on stderr, an error under pytest) instead of ranking it last."""
    y = np.where(np.arange(100) % 3 == 0, 1e-310, 5.0)
    y[::7] = 0.0
    assert_sane(forecast_load(y.tolist(), "1d"), 24)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1e6, allow_nan=False)), min_size=8, max_size=80
    ),
    st.sampled_from(["1h", "6h", "2d"]),
)
def test_random_short_series_give_sane_bands(values, horizon):
    """Random short non-negative series (with runs of zeros): predict's bands are finite, ordered, >= 0."""
    try:
        result = forecast_load(values, horizon)
    except InputError:
        return
    assert_sane(result, {"1h": 1, "6h": 6, "2d": 48}[horizon])


def test_one_service_is_forecast_when_another_of_the_file_is_too_short(tmp_path):
    """`--service a` of a file whose service 'd' has 3 rows: the loader checked every service before picking one,
    and 'd' being too short stopped the forecast of 'a'."""
    path = write_history(tmp_path / "fleet.csv", daily(200, 100.0), ids=["a", "b"])
    with path.open("a") as handle:
        handle.writelines(f"2026-09-01 0{h}:00:00+00:00,7.0,d\n" for h in range(3))
    ok = run_cli("predict", "--history", str(path), "--service", "a", "--horizon", "1d", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["unique_id"] == "a"
    short = run_cli("predict", "--history", str(path), "--service", "d", "--horizon", "1d")
    assert short.returncode == 2 and short.stderr.strip().count("\n") == 0
    assert "'d' has 3 points" in short.stderr
    missing = run_cli("predict", "--history", str(path), "--service", "zz", "--horizon", "1d")
    assert missing.returncode == 2 and "'zz' is not in the history; services: a, b, d" in missing.stderr


@pytest.mark.parametrize(("freq", "alias"), [("1w", "7D"), ("2W", "14D"), ("w", "7D"), ("1d", "D")])
def test_weeks_are_a_step_of_seven_days(freq, alias):
    """`--freq 1w` was "unknown" after a pandas FutureWarning on stderr (pandas' 'W' is anchored on Sundays)."""
    assert normalize_freq(freq) == alias


@pytest.mark.parametrize("freq", ["1M", "1y", "1Q"])
def test_calendar_freqs_are_one_clear_error(freq):
    """Months, quarters, years have no fixed length: an InputError, without pandas' deprecation warning (an
    error under pytest's filterwarnings, two extra lines on the CLI's stderr)."""
    with pytest.raises(InputError, match="unknown freq"):
        normalize_freq(freq)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real `gpucast serve` over a fresh SQLite file."""
    from conftest import gpucast_server

    db = tmp_path_factory.mktemp("web") / "edges.db"
    with gpucast_server(f"sqlite:///{db}") as running:
        yield running["base"]


def post_forecast(base: str, csv: bytes, **fields: str) -> tuple[int, dict]:
    """POST /api/v1/forecast with the history as a multipart file upload (what a browser or curl -F sends)."""
    boundary = "gpucast-edge-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="h.csv"\r\n'
                 "Content-Type: text/csv\r\n\r\n".encode() + csv + f"\r\n--{boundary}--\r\n".encode())  # fmt: skip
    request = urllib.request.Request(f"{base}/api/v1/forecast", data=b"".join(parts), method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_http_forecast_edges(server, tmp_path):
    """The same edge cases over HTTP: sane bands (>= 0 after an outage at the end), one service of a file whose
    other service is too short, weekly steps; a bad one is a 422 with one message."""
    ended = daily(500, 1000.0)
    ended[-30:] = 0.0
    status, body = post_forecast(server, write_history(tmp_path / "o.csv", ended).read_bytes(), horizon="7d")
    assert status == 200, body
    assert all(row["lo95"] >= 0.0 and row["lo80"] >= 0.0 for row in body["forecast"])
    fleet = write_history(tmp_path / "f.csv", daily(200, 100.0), ids=["a"]).read_bytes()
    fleet += b"".join(f"2026-09-01 0{h}:00:00+00:00,7.0,d\n".encode() for h in range(3))
    status, body = post_forecast(server, fleet, series="a", horizon="1d")
    assert status == 200 and body["unique_id"] == "a", body
    status, body = post_forecast(server, fleet, series="d", horizon="1d")
    assert status == 422 and "'d' has 3 points" in body["error"]
    weekly = write_history(tmp_path / "w.csv", daily(400, 50.0), freq="D").read_bytes()
    status, body = post_forecast(server, weekly, freq="1w", horizon="8w")
    assert status == 200 and len(body["forecast"]) == 8, body


def test_python_api_forecasts_one_service_of_a_file_with_a_short_other(tmp_path):
    """``forecast_load(path, unique_id=...)`` loaded and checked every service of the file first."""
    path = write_history(tmp_path / "fleet.csv", daily(200, 100.0), ids=["a"])
    with path.open("a") as handle:
        handle.writelines(f"2026-09-01 0{h}:00:00+00:00,7.0,d\n" for h in range(3))
    assert_sane(forecast_load(path, "1d", unique_id="a"), 24)
    with pytest.raises(InputError, match="'d' has 3 points"):
        forecast_load(path, "1d", unique_id="d")


def test_constant_history_reports_coverage_not_checked(tmp_path):
    """No backtest runs on a constant history: its coverage is None ("not checked", as ``Backtest`` documents);
    it was 1.0, printed as "80% band held 100% ... (0 last backtest origins, 0 steps each)"."""
    result = forecast_load([7.0] * 100, "1d")
    assert set(result.backtest.coverage.values()) == {None}
    assert_sane(result, 24)
    text = run_cli("predict", "--history", str(write_history(tmp_path / "c.csv", np.full(100, 7.0))), "--horizon", "1d")
    assert text.returncode == 0, text.stderr
    assert "Interval coverage   not checked" in text.stdout and "held 100%" not in text.stdout


@pytest.mark.parametrize("rate", ["inf", "1e300", "1001"])
def test_unbounded_growth_rate_is_one_error(tmp_path, rate):
    """`--growth-rate inf` printed inf in the JSON and a traceback in the summary (NaN in the sparkline); 1e300
    overflowed the overlay (OverflowError). The bound is the web API's, 1000% a month."""
    path = write_history(tmp_path / "h.csv", daily(200, 100.0))
    for extra in (["--json"], []):
        result = run_cli("predict", "--history", str(path), "--horizon", "90d", "--growth-rate", rate, *extra)
        assert result.returncode == 2, result.stdout[-300:]
        assert "Traceback" not in result.stderr and "at most 1000" in result.stderr


def test_growth_rate_at_the_bound_stays_finite():
    """1000% a month over the longest horizon (366 days) on a 1e12 req/s history: finite, ordered bands."""
    result = forecast_load((daily(400, 1e12)).tolist(), "366d", growth_rate=1000, scenario="pessimistic")
    assert_sane(result, 366 * 24)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: forecast_load(["a"] * 20, "1d"), "history value 'a' is not a number"),
        (lambda: forecast_future_needs(list(range(100)), math.inf), "finite number > 0"),
        (lambda: forecast_future_needs(list(range(100)), math.nan), "finite number > 0"),
    ],
)
def test_python_api_bad_values_are_input_errors(call, message):
    """A non-numeric list value raised a bare ValueError, an infinite horizon an OverflowError."""
    with pytest.raises(InputError, match=message):
        call()


@pytest.mark.parametrize("scale", [1e12, 1e100, 6e149])  # 6e149: the peak just under 1e150
def test_huge_rates_forecast_like_small_ones(scale):
    """Far above 1 req/s the forecast is scale-free (log1p is log there), up to the loader's bound (1e150)."""
    base = daily(200, 1e6)
    factor = scale / 1e6
    small, huge = forecast_load(base.tolist(), "1d"), forecast_load((base * factor).tolist(), "1d")
    assert_sane(huge, 24)
    assert huge.seasonalities == small.seasonalities
    assert huge.forecast[0].mean == pytest.approx(small.forecast[0].mean * factor, rel=1e-4)
    assert huge.forecast[-1].hi[95] == pytest.approx(small.forecast[-1].hi[95] * factor, rel=1e-4)


@pytest.mark.parametrize("scale", [1e160, 1.7e308])
def test_rates_past_the_float_headroom_are_one_error(tmp_path, scale):
    """1e160 req/s: RuntimeWarnings on stderr (variances overflow) and a forecast that is not the 1 req/s one
    scaled; 1.7e308: inf and NaN, and a traceback in the summary's sparkline. Refused at load."""
    path = write_history(tmp_path / "h.csv", scale * (1 - 0.1 * np.abs(np.sin(np.arange(200)))))
    result = run_cli("predict", "--history", str(path), "--horizon", "1d")
    assert result.returncode == 2 and "too large to forecast" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_jittered_hourly_timestamps_are_read_as_hours(tmp_path):
    """Hourly rows stamped up to 50 minutes late (when a job ran): the median step was 3604 s, so "14d" was not
    a whole number of steps ("use a multiple of 3604s"); read as 1h now, with a warning."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    stamps = pd.date_range("2026-09-01", periods=500, freq="h", tz="UTC")
    stamps = stamps + pd.to_timedelta(rng.integers(0, 3000, 500), unit="s")
    path = tmp_path / "jitter.csv"
    pd.DataFrame({"timestamp": stamps.astype(str), "rps": daily(500, 100.0)}).to_csv(path, index=False)
    result = run_cli("predict", "--history", str(path), "--horizon", "14d", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["freq"] == "h" and len(data["forecast"]) == 336
    assert any("not evenly spaced" in w for w in data["warnings"])


def test_an_uncommon_regular_step_is_kept():
    """A series logged every 90 s is 90 s steps, not snapped to a common step (60 s and 120 s are 33-50% away)."""
    pd = pytest.importorskip("pandas")
    from gpucast.forecast.history import load_history

    frame = pd.DataFrame({"ds": pd.date_range("2026-09-01", periods=100, freq="90s"), "y": daily(100, 10.0)})
    history = load_history(frame)
    assert history.freq == "90s" and not history.warnings


def test_timeline_period_the_peak_configuration_cannot_serve_is_one_error(tmp_path):
    """Weekdays busy with 1,000-token prompts, weekends quiet with 2,000,000-token ones: the configuration sized at
    the weekday peak (one H100) cannot hold a weekend request, and the timeline divided by its 0 req/s per replica
    (ZeroDivisionError, a traceback). Since 2026-12-06 a request beyond the model's context window (2,000,200 tokens on
    Llama-3.1-8B's 131,072) is refused before any sizing, naming the request; either way one line and exit 2."""
    pd = pytest.importorskip("pandas")
    stamps = pd.date_range("2026-09-07", periods=24 * 21, freq="h", tz="UTC")  # a Monday
    weekend = np.asarray(stamps.dayofweek >= 5)
    frame = pd.DataFrame({"timestamp": stamps.astype(str), "rps": np.where(weekend, 5.0, 100.0),
                          "input_tokens": np.where(weekend, 2_000_000.0, 1000.0), "output_tokens": 200.0})  # fmt: skip
    frame.to_csv(tmp_path / "h.csv", index=False)
    result = run_cli("predict", "--history", str(tmp_path / "h.csv"), "--model", "llama-3.1-8b", "--gpu", "H100",
                     "--horizon", "14d")  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-400:]
    assert "2,000,000" in result.stderr and ("cannot serve the" in result.stderr or "context window" in result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_timeline_from_zero_token_columns_is_one_error(tmp_path):
    """Token columns of zeros were planned as 1 token in / 1 out while the timeline reported 0 and 0."""
    pd = pytest.importorskip("pandas")
    stamps = pd.date_range("2026-09-01", periods=300, freq="h", tz="UTC")
    frame = pd.DataFrame({"timestamp": stamps.astype(str), "rps": daily(300, 50.0), "input_tokens": 0.0,
                          "output_tokens": 0.0})  # fmt: skip
    frame.to_csv(tmp_path / "h.csv", index=False)
    result = run_cli("predict", "--history", str(tmp_path / "h.csv"), "--model", "llama-3.1-8b", "--gpu", "H100")
    assert result.returncode == 2 and "a request has at least one of each" in result.stderr


def test_timeline_beyond_the_planners_bound_names_the_forecast_peak(tmp_path):
    """A 1e12 req/s history with --model: the error named `--rps`, a flag `predict` does not take."""
    path = write_history(tmp_path / "h.csv", daily(300, 1e12))
    result = run_cli("predict", "--history", str(path), "--model", "llama-3.1-8b", "--gpu", "H100",
                     "--input-tokens", "100", "--output-tokens", "10")  # fmt: skip
    assert result.returncode == 2 and "--rps" not in result.stderr, result.stderr
    assert "the forecast peak" in result.stderr and "at most 1e+07 req/s" in result.stderr
