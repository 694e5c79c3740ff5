"""The closed-loop mode of the scheduler simulation (core.simulate.simulate_closed_loop) and the finite closed-loop
runs of validation.finite_runs: C clients, the first C requests sent together at t = 0, each client's next request
sent when its previous one completes, the server's front end in every round trip."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import llama8b_fp8_h100_replica
from gpucast.core.replica import ReplicaConfig, decode_step_time, prefill_seconds
from gpucast.core.simulate import simulate_closed_loop
from gpucast.validation.finite_runs import closed_loop_tail, closed_loop_transient
from gpucast.validation.inference import validate_file

PROMPT = 512  # tokens: the prefill budget below, so each step prefills exactly one prompt, alone
PERCENTILES = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "percentiles"


def _config(front_s: float, budget: int = PROMPT) -> ReplicaConfig:
    """Llama-3.1-8B FP8 on one H100, a ``budget``-token prefill budget, room for every request, front end set."""
    return llama8b_fp8_h100_replica(budget, front_s)


def test_start_up_burst_queues_one_prompt_per_step() -> None:
    """C equal prompts sent at t = 0, a budget that fits one prompt per step, one output token: the engine takes
    them one step each, so request k (from 0) has its first token k + 1 prefills after they arrive, and its client
    sees TTFT (k + 1) s + f (f the front end). Over the C = 8 of the burst alone the nearest-rank p50 is the 4th
    (4 s + f), p99 the 8th (8 s + f), the mean 4.5 s + f."""
    front = 0.020
    cfg = _config(front)
    s = prefill_seconds(cfg, float(PROMPT))
    tail = simulate_closed_loop(cfg, 8, [(PROMPT, 1)] * 8).tail
    assert tail.ttft_s[0] == pytest.approx(4.5 * s + front, rel=1e-9)
    assert tail.ttft_s[1] == pytest.approx(4 * s + front, rel=1e-9)
    assert tail.ttft_s[4] == pytest.approx(8 * s + front, rel=1e-9)
    assert tail.e2e_s == tail.ttft_s  # one output token: done at the first


def test_closed_loop_steady_state_is_littles_law() -> None:
    """C clients, one prompt per step taking s, a front end f < s: the engine is never idle after the burst, so
    each client's cycle is C s and, with one output token, every later request's TTFT is exactly C s (Little's law:
    C requests in the loop at 1 / s per second); the burst's k-th is (k + 1) s + f. Over N = 100 at C = 4 the
    nearest-rank p50 and p99 are C s, the maximum the burst's last (4 s + f), the engine's rate 1 / s."""
    front, clients, n = 0.002, 4, 100
    cfg = _config(front)
    s = prefill_seconds(cfg, float(PROMPT))
    assert front < s
    result = simulate_closed_loop(cfg, clients, [(PROMPT, 1)] * n)
    assert result.tail.ttft_s[1] == pytest.approx(clients * s, rel=1e-9)
    assert result.tail.ttft_s[4] == pytest.approx(clients * s, rel=1e-9)
    burst = sum((k + 1) * s + front for k in range(clients))
    assert result.tail.ttft_s[0] == pytest.approx((burst + (n - clients) * clients * s) / n, rel=1e-9)
    assert result.requests_per_s == pytest.approx(1.0 / s, rel=1e-9)  # first at the engine at f, last done at f + n s


def test_one_client_never_waits() -> None:
    """One client without a front end: each request meets an idle engine the moment its predecessor completes, so
    every TTFT is the lone prefill s, however many requests."""
    cfg = _config(0.0)
    s = prefill_seconds(cfg, float(PROMPT))
    tail = simulate_closed_loop(cfg, 1, [(PROMPT, 1)] * 30).tail
    assert tail.ttft_s[1] == pytest.approx(s, rel=1e-9) == tail.ttft_s[4]


def test_next_request_misses_the_step_scheduled_as_its_predecessor_ends() -> None:
    """Two clients, a budget for both prompts: step 1 prefills both; request 0 (one output token) completes at its
    end, and its client's next request, even with no front end, reaches the engine after step 2 was scheduled (the
    engine schedules a step as the last one ends, before its outputs reach the clients). So request 2 waits for
    step 2 (request 1's first decode) and is prefilled in step 3 beside request 1's second decode: TTFT = two decode
    steps of one sequence + the batched chunk."""
    cfg = _config(0.0, budget=2 * PROMPT)
    result = simulate_closed_loop(cfg, 2, [(PROMPT, 1), (PROMPT, 50), (PROMPT, 1)], measured=(2 / 3, 1.0))
    decode = decode_step_time(cfg, 1.0, float(PROMPT)).total_s  # context 513-514, evaluated at 512 (its bucket)
    chunk = prefill_seconds(cfg, float(PROMPT), batched=True) / cfg.pp
    assert result.requests == 1
    assert result.tail.ttft_s[0] == pytest.approx(2 * decode + chunk, rel=1e-9)


def test_closed_loop_needs_a_client_and_a_request() -> None:
    cfg = _config(0.0)
    with pytest.raises(ValueError, match="at least one client"):
        simulate_closed_loop(cfg, 0, [(PROMPT, 1)])
    with pytest.raises(ValueError, match="at least one client"):
        simulate_closed_loop(cfg, 2, [])


def test_burst_rule_by_hand() -> None:
    """The start-up burst reaches the p99 when more of its requests wait (C - 1) than lie above the p99 (N / 100):
    100 requests at concurrency 2 no (one waits, and it is the maximum, not the p99), 3 yes; one client never; no
    stated request count never."""
    assert not closed_loop_transient(1, 50) and not closed_loop_transient(1, 2)
    assert not closed_loop_transient(2, 100) and closed_loop_transient(3, 100)
    assert not closed_loop_transient(11, 1000) and closed_loop_transient(12, 1000)
    assert not closed_loop_transient(64, None)


def test_fixed_lengths_run_once_and_match_the_simulation() -> None:
    """Fixed lengths draw the same requests for every seed: the tail is the one run's."""
    cfg = _config(0.010)
    tail = closed_loop_tail(cfg, clients=4, requests=40, input_tokens=PROMPT, output_tokens=8)
    assert tail == simulate_closed_loop(cfg, 4, [(PROMPT, 8)] * 40).tail


def test_validation_rows_take_the_closed_loop_where_the_burst_reaches_the_p99() -> None:
    """vllm-project/vllm PR #23151's 100 prompts of 2,048 tokens at concurrency 10 (q3moe): the steady-state tail put
    the p99 TTFT 62% high (738 ms against 455), the closed-loop run of those 100 requests within 35% (the first
    ten prompts, 20k tokens, queue through a 8k-token budget); its mean TTFT row stays the mean model's. GPUStack's
    runs at concurrency 1 and 2 (burst too small for the p99 of 100) keep the analytic tail, and so do AccelMark's
    one-at-a-time runs."""
    rows = {r.id: r for r in validate_file(PERCENTILES / "vllm_qwen3_30b_a3b_h100_random.csv").rows}
    assert 0.65 < rows["q3moe-3"].predicted / rows["q3moe-3"].measured < 1.35
    assert 0.65 < rows["q3moe-2"].predicted / rows["q3moe-2"].measured < 1.35
    # the mean model's TTFT (-4.7%); the pins below moved by 0.1-0.3 ms with the refits of 2026-12-07 (254.3 before
    # the refit after the engines' step budgets by release)
    assert rows["q3moe-1"].predicted == pytest.approx(254.6, abs=0.1)
    gpustack = {r.id: r for r in validate_file(PERCENTILES / "gpustack_qwen3_8b_h100_sharegpt.csv").rows}
    # concurrency 1 and 2, analytic (63.23 both before the ShareGPT profile was cut at its cap, 2026-12-07)
    assert gpustack["gps-pct-44"].predicted == pytest.approx(62.73, abs=0.05)
    assert gpustack["gps-pct-50"].predicted == pytest.approx(62.76, abs=0.05)
    assert not math.isclose(gpustack["gps-pct-56"].predicted, 66.3, abs_tol=0.5)  # concurrency 8: simulated
