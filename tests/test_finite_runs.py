"""Finite benchmark runs (validation.finite_runs): a request-rate row that states its request count is predicted over
exactly those requests, starting empty, where the run is too short for the steady state."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import llama8b_fp8_h100_replica
from gpucast.core.percentiles import LengthProfile
from gpucast.core.replica import ReplicaConfig, prefill_seconds
from gpucast.core.simulate import fixed_rate_trace, simulate
from gpucast.validation.finite_runs import (
    SEEDS,
    finite_run_tail,
    fixed_rate,
    is_transient,
    relaxation_arrivals,
)
from gpucast.validation.inference import validate_file

PROMPT = 512  # tokens: the prefill budget below, so each step prefills exactly one prompt, alone
PERCENTILES = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "percentiles"


def _config() -> ReplicaConfig:
    """Llama-3.1-8B FP8 on one H100 with a 512-token prefill budget and room for every request of the runs."""
    return llama8b_fp8_h100_replica(PROMPT)


def test_relaxation_arrivals_by_hand() -> None:
    """rho / (1 - sqrt(rho))^2 arrivals: 1 at rho = 0.25 (0.25 / 0.5^2), 8.54 at 0.5; none is enough at rho >= 1."""
    assert relaxation_arrivals(0.25) == pytest.approx(1.0)
    assert relaxation_arrivals(0.5) == pytest.approx(0.5 / (1 - math.sqrt(0.5)) ** 2)
    assert relaxation_arrivals(1.0) == math.inf
    assert is_transient(0.25, 9) and not is_transient(0.25, 10)  # ten relaxation times' arrivals: 10
    assert is_transient(1.2, 100_000) and not is_transient(1.2, None)  # no count stated: the steady state
    assert not is_transient(0.5, 200) and is_transient(0.7, 200)  # 200 requests: steady below rho = 0.67


def test_fixed_rate_wording() -> None:
    assert fixed_rate("200 requests at a fixed rate of 4 req/s") and fixed_rate("--burstiness inf")
    assert not fixed_rate("200 requests per run (Poisson arrivals) at 25 req/s")


def test_overloaded_d_d_1_run_by_hand() -> None:
    """One prompt per step, each taking s, arriving every 1/r < s: request k (from 0) starts when k - 1 ends, so its
    TTFT is s + k (s - 1/r) (+ the server front end); over N = 100 the nearest-rank p50 is request 49's, the p99
    request 98's and the mean s + 49.5 (s - 1/r), the same for every seed (the arrivals are paced)."""
    cfg = _config()
    s = prefill_seconds(cfg, float(PROMPT))
    rate, n, front = 1.5 / s, 100, cfg.efficiency.frontend_s
    lag = s - 1.0 / rate  # the backlog each arrival adds: s / 3
    tail = finite_run_tail(cfg, rate=rate, requests=n, input_tokens=PROMPT, output_tokens=1, paced=True)
    assert tail.ttft_s[0] == pytest.approx(s + 49.5 * lag + front, rel=1e-9)
    assert tail.ttft_s[1] == pytest.approx(s + 49 * lag + front, rel=1e-9)  # p50
    assert tail.ttft_s[4] == pytest.approx(s + 98 * lag + front, rel=1e-9)  # p99
    assert tail.e2e_s == tail.ttft_s  # one output token: done at the first
    # the steady-state model has no answer here (the queue grows without bound); the run's backlog is finite
    assert tail.ttft_s[4] < 40 * s


def test_underloaded_d_d_1_run_never_queues() -> None:
    """Paced arrivals slower than the service (1/r > s) never wait: every TTFT is s (+ the front end)."""
    cfg = _config()
    s = prefill_seconds(cfg, float(PROMPT))
    trace = fixed_rate_trace(0.5 / s, 50, LengthProfile("fixed", ((1.0, PROMPT, 1),)))
    tail = simulate(cfg, trace, measured=(0.0, 1.0)).tail
    assert tail.ttft_s[1] == pytest.approx(s + cfg.efficiency.frontend_s) == tail.ttft_s[4]


def test_long_poisson_run_reaches_the_m_d_1_steady_state() -> None:
    """Poisson arrivals at rho = 0.5 of a one-prompt-per-step server (M/D/1): mean TTFT = s + rho s / (2 (1 - rho))
    = 1.5 s (Pollaczek-Khinchine) once the run is long (2,000 requests >> 10 x 8.5 relaxation arrivals)."""
    cfg = _config()
    s = prefill_seconds(cfg, float(PROMPT))
    tail = finite_run_tail(cfg, rate=0.5 / s, requests=2000, input_tokens=PROMPT, output_tokens=1)
    assert tail.ttft_s[0] - cfg.efficiency.frontend_s == pytest.approx(1.5 * s, rel=0.1)
    assert SEEDS >= 3


def test_accelmark_run_past_capacity_is_a_short_backlog() -> None:
    """AccelMark's 200-request runs at 25 req/s on 8 x A100-40GB (am-139..141, past the replica's capacity): the
    steady state said p99 TTFT 12 s (the queue near its cap), the 8-second run measured 0.6 s; the finite run's
    prediction is within a factor of two. Rows well below capacity keep the analytic tail (am-1: 300 requests at
    14% of saturation)."""
    rows = {r.id: r for r in validate_file(PERCENTILES / "accelmark_vllm073_sharegpt_gpt4.csv").rows}
    for row_id in ("am-139", "am-140", "am-141"):
        assert 0.5 < rows[row_id].predicted / rows[row_id].measured < 2.0
    assert rows["am-1"].predicted == pytest.approx(
        17.85, abs=0.05
    )  # the analytic p50 TTFT (17.9 before the refit of 2026-12-07)


def test_undefined_utilization_is_never_read_as_steady() -> None:
    """A NaN utilization (0 / 0) made ``relaxation_arrivals`` NaN and ``is_transient`` False: the steady-state tail
    was used for a run nothing said was steady."""
    assert relaxation_arrivals(math.nan) == math.inf
    assert is_transient(math.nan, 200)
    assert not is_transient(math.nan, None)  # no request count: not a finite run


def test_one_request_runs_alike_at_any_rate() -> None:
    """A run of one request meets an empty engine whatever the rate: its latency is the unloaded one; none is an
    error, not an empty average."""
    cfg = _config()
    slow, fast = (finite_run_tail(cfg, rate=r, requests=1, input_tokens=PROMPT, output_tokens=64) for r in (1e-6, 1e6))
    assert slow.ttft_s == pytest.approx(fast.ttft_s, rel=1e-6)
    assert slow.e2e_s == pytest.approx(fast.e2e_s, rel=1e-6)
    with pytest.raises(ValueError, match="at least one request"):
        finite_run_tail(cfg, rate=1.0, requests=0, input_tokens=PROMPT, output_tokens=64)
