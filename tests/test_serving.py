"""Continuous-batching model: Little's law holds, and latency/throughput move the right way."""

from __future__ import annotations

import itertools

import pytest

from gpucast.catalog import loader
from gpucast.core.fleet import size_fleet
from gpucast.core.inference import estimate_replica, replica_config
from gpucast.core.serving import (
    _solve_rate,
    at_request_rate,
    finite_run_wait,
    max_throughput,
    operating_point,
    static_batch,
)
from gpucast.core.specs import Precision
from gpucast.core.workload import SLO, PlanSettings, Workload
from gpucast.errors import InfeasibleError

WORK = Workload(requests_per_s=10, input_tokens=500, output_tokens=200)


def _cfg(model, gpu, precision=Precision.BF16, tp=1, pp=1, work=WORK):
    cfg, _, _ = replica_config(
        model,
        gpu,
        loader.efficiency_for(gpu),
        precision=precision,
        kv_precision=Precision.BF16,
        tp=tp,
        pp=pp,
        workload=work,
        settings=PlanSettings(),
    )
    return cfg


def test_solved_rate_satisfies_littles_law():
    a, b, p, c = 0.2, 5.0, 0.01, 64
    rate = _solve_rate(c, a, b, p)
    assert rate * (a + b / (1 - rate * p)) == pytest.approx(c)
    assert rate * p < 1


def test_more_concurrency_more_throughput_and_more_latency(llama8b, h100):
    cfg = _cfg(llama8b, h100)
    points = [operating_point(cfg, input_tokens=500, output_tokens=200, concurrency=c) for c in (1, 8, 32, 128)]
    for lo, hi in itertools.pairwise(points):
        assert hi.output_tokens_per_s > lo.output_tokens_per_s
        assert hi.itl_s > lo.itl_s


def test_throughput_saturates_at_kv_capacity(llama8b, h100):
    cfg = _cfg(llama8b, h100)
    top = max_throughput(cfg, input_tokens=500, output_tokens=200)
    beyond = operating_point(cfg, input_tokens=500, output_tokens=200, concurrency=cfg.max_sequences * 4)
    assert beyond.output_tokens_per_s == pytest.approx(top.output_tokens_per_s)
    assert beyond.ttft_s > top.ttft_s  # the extra requests queue


def test_fp8_is_faster_than_bf16_on_h100(llama70b, h100):
    bf16 = _cfg(llama70b, h100, Precision.BF16, tp=4)
    fp8 = _cfg(llama70b, h100, Precision.FP8, tp=4)
    args = {"input_tokens": 500, "output_tokens": 200, "concurrency": 64}
    assert operating_point(fp8, **args).itl_s < operating_point(bf16, **args).itl_s
    assert (
        max_throughput(fp8, input_tokens=500, output_tokens=200).output_tokens_per_s
        > max_throughput(bf16, input_tokens=500, output_tokens=200).output_tokens_per_s
    )


def test_more_tp_lowers_itl(llama70b, h100):
    itl = [
        operating_point(_cfg(llama70b, h100, tp=tp), input_tokens=500, output_tokens=200, concurrency=16).itl_s
        for tp in (2, 4, 8)
    ]
    assert itl[0] > itl[1] > itl[2]


def test_open_loop_rate_below_capacity_is_served(llama8b, h100):
    cfg = _cfg(llama8b, h100)
    point = at_request_rate(cfg, input_tokens=500, output_tokens=200, rate=2.0)
    assert point.requests_per_s == pytest.approx(2.0, rel=1e-3)
    busier = at_request_rate(cfg, input_tokens=500, output_tokens=200, rate=8.0)
    assert busier.ttft_s > point.ttft_s


def test_slo_caps_concurrency(llama70b, h100):
    loose = estimate_replica(
        llama70b,
        h100,
        loader.efficiency_for(h100),
        precision=Precision.BF16,
        kv_precision=Precision.BF16,
        tp=4,
        pp=1,
        workload=WORK,
        slo=SLO(itl_ms=1000),
        settings=PlanSettings(),
    )
    tight = estimate_replica(
        llama70b,
        h100,
        loader.efficiency_for(h100),
        precision=Precision.BF16,
        kv_precision=Precision.BF16,
        tp=4,
        pp=1,
        workload=WORK,
        slo=SLO(itl_ms=30),
        settings=PlanSettings(),
    )
    assert tight.capacity.concurrency < loose.capacity.concurrency
    assert tight.capacity.itl_s * 1e3 <= 30
    assert tight.limit == "itl"


def test_fleet_sizing_formula(llama8b, h100):
    est = estimate_replica(
        llama8b,
        h100,
        loader.efficiency_for(h100),
        precision=Precision.BF16,
        kv_precision=Precision.BF16,
        tp=1,
        pp=1,
        workload=WORK,
        slo=SLO(),
        settings=PlanSettings(),
    )
    cap = est.capacity.requests_per_s
    work = Workload(requests_per_s=cap * 5, input_tokens=500, output_tokens=200, peak_multiplier=2.0)
    fleet = size_fleet(est, work, PlanSettings(target_utilization=0.5, safety_margin=0.25, min_replicas=2))
    assert fleet.min_replicas == 10  # 5 x cap / (cap x 0.5)
    assert fleet.max_replicas == 13  # ceil(5 x 2 x 1.25)


def test_kv_capacity_below_one_sequence_is_infeasible(llama70b, h100):
    with pytest.raises(InfeasibleError, match="KV cache holds"):
        replica_config(
            llama70b,
            h100,
            loader.efficiency_for(h100),
            precision=Precision.BF16,
            kv_precision=Precision.BF16,
            tp=2,
            pp=1,
            workload=WORK,
            settings=PlanSettings(context_window=10_000_000),
        )


def test_static_batch_decodes_without_prefill_interleaving(llama8b, h100):
    cfg = _cfg(llama8b, h100)
    point = static_batch(cfg, input_tokens=500, output_tokens=200, batch=16)
    assert point.itl_s == pytest.approx(point.step.total_s)  # no prefill stretches the decode steps
    assert point.e2e_s == pytest.approx(point.ttft_s + 199 * point.step.total_s)
    assert point.requests_per_s == pytest.approx(16 / point.e2e_s)


def test_open_loop_past_capacity_queues_without_bound_unless_the_run_is_finite(llama8b, h100):
    cfg = _cfg(llama8b, h100)
    top = max_throughput(cfg, input_tokens=500, output_tokens=200)
    over = at_request_rate(cfg, input_tokens=500, output_tokens=200, rate=top.requests_per_s * 2)
    assert over.ttft_s == float("inf") and over.requests_per_s == pytest.approx(top.requests_per_s)
    rate, slots = top.requests_per_s * 2, cfg.max_sequences
    few = at_request_rate(cfg, input_tokens=500, output_tokens=200, rate=rate, num_requests=slots)
    front = cfg.efficiency.frontend_s  # the server's front end: the client's TTFT, not the saturated engine's
    assert front > 0.0  # vLLM's OpenAI server (calibration.toml [engines.vllm] frontend_s)
    # a run no longer than the batch slots: every request admitted
    assert few.ttft_s == pytest.approx(top.ttft_s + front)
    many = at_request_rate(cfg, input_tokens=500, output_tokens=200, rate=rate, num_requests=10 * slots)
    # in flight grow at rate - capacity = capacity; a queue forms after t0 = slots / capacity, T = 5 slots / capacity:
    # mean wait = capacity x (T - t0)^2 / (2 capacity T) = (4 slots / capacity)^2 / (10 slots / capacity)
    wait = 1.6 * slots / top.requests_per_s
    assert many.ttft_s == pytest.approx(top.ttft_s + wait + front)


def test_finite_run_wait_hand_checked():
    """32 req/s into 16 req/s of capacity for 500 requests: arrivals last 15.625 s, in flight grow at 16/s."""
    assert finite_run_wait(32, 16, 500, slots=0) == pytest.approx(250 * (1 / 16 - 1 / 32))  # the whole backlog: 7.81 s
    # 100 slots absorb the first 6.25 s: 16 x (15.625 - 6.25)^2 / (2 x 16 x 15.625) = 2.8125 s
    assert finite_run_wait(32, 16, 500, slots=100) == pytest.approx(2.8125)
    assert finite_run_wait(32, 16, 500, slots=250) == 0.0  # the slots outlast the arrivals
    assert finite_run_wait(8, 16, 500, slots=0) == 0.0  # under capacity: no queue


def test_closed_loop_wave_wait_hand_checked(llama8b, h100):
    """A benchmark client's prompts that share a prefill pass wait for half their wave: (B - 1) / 2 prompts."""
    import dataclasses

    from gpucast.core.serving import _request_costs, _wave_wait

    cfg = dataclasses.replace(_cfg(llama8b, h100), chunk_tokens=8192)
    costs = _request_costs(cfg, input_tokens=500, output_tokens=200, concurrency=33, cached_input_tokens=0)
    assert _wave_wait(cfg, costs, 500) == pytest.approx(16 * costs.prefill_cost)
    # prompts longer than half the budget prefill one per pass: completions stagger, no wave survives
    assert _wave_wait(cfg, costs, 4097) == 0.0
    alone = _request_costs(cfg, input_tokens=500, output_tokens=200, concurrency=1, cached_input_tokens=0)
    assert _wave_wait(cfg, alone, 500) == 0.0


def test_waves_raise_closed_loop_ttft_only(llama8b, h100):
    """``waves`` (a benchmark client) adds the fitted share of the wave wait to TTFT; the open loop and the
    planner (``at_request_rate``) never see it."""
    import dataclasses

    cfg = _cfg(llama8b, h100)
    # without the server's front end, which a client (``waves``) also waits for (tests/test_frontend.py)
    eff = dataclasses.replace(cfg.efficiency, closed_loop_wave_fraction=0.5, frontend_s=0.0)
    cfg = dataclasses.replace(cfg, efficiency=eff)
    shape = {"input_tokens": 500, "output_tokens": 200, "concurrency": 32}
    plain, waves = operating_point(cfg, **shape), operating_point(cfg, waves=True, **shape)
    assert waves.ttft_s > plain.ttft_s
    # the wave's TTFT is prefill time moved out of ITL (wave_itl_prefill), not added: Little's law holds for both
    for point in (plain, waves):
        assert point.requests_per_s * (point.ttft_s + 199 * point.itl_s) == pytest.approx(32, rel=1e-6)
    assert waves.itl_s < plain.itl_s
    none = dataclasses.replace(cfg, efficiency=dataclasses.replace(cfg.efficiency, closed_loop_wave_fraction=0.0))
    assert operating_point(none, waves=True, **shape).ttft_s == pytest.approx(operating_point(none, **shape).ttft_s)
    open_loop = at_request_rate(cfg, input_tokens=500, output_tokens=200, rate=plain.requests_per_s / 2)
    reference = at_request_rate(none, input_tokens=500, output_tokens=200, rate=plain.requests_per_s / 2)
    assert open_loop.ttft_s == pytest.approx(reference.ttft_s)


def test_wave_itl_prefill_hand_checked():
    """Independent arrivals stretch ITL by their whole prefill; a synchronized wave by half of it (the other half is
    the wave wait in TTFT): P x (1 - share / 2)."""
    from gpucast.core.serving import wave_itl_prefill

    assert wave_itl_prefill(0.4, 0.0) == pytest.approx(0.4)
    assert wave_itl_prefill(0.4, 1.0) == pytest.approx(0.2)
    assert wave_itl_prefill(0.4, 0.5) == pytest.approx(0.3)
    assert wave_itl_prefill(0.4, 3.0) == pytest.approx(0.2)  # a share is at most 1


def test_closed_loop_with_waves_keeps_littles_law(llama8b, h100):
    """With waves, each second of prefill is counted once: rate x (TTFT + (O - 1) x ITL) is still the concurrency,
    and the decode steps are stretched less than without the waves."""
    import dataclasses

    cfg = _cfg(llama8b, h100)
    cfg = dataclasses.replace(cfg, efficiency=dataclasses.replace(cfg.efficiency, closed_loop_wave_fraction=1.0))
    shape = {"input_tokens": 500, "output_tokens": 200, "concurrency": 32}
    waves, plain = operating_point(cfg, waves=True, **shape), operating_point(cfg, **shape)
    assert waves.requests_per_s * (waves.ttft_s + 199 * waves.itl_s) == pytest.approx(32, rel=1e-6)
    assert waves.itl_s < plain.itl_s
    assert waves.ttft_s > plain.ttft_s


def test_the_request_rate_bisection_reads_the_operating_points_rate():
    """``at_request_rate`` bisects on the closed loop's rate alone (``serving._closed_loop_rate``); the oracle builds
    the whole operating point at every step, as it did: the same point, bit for bit, for dense and MoE replicas,
    plain and cached prompts, low and high rates."""
    from gpucast.core import serving as srv

    def oracle(cfg, tin, tout, rate, cached):
        lo, hi = 0.0, float(cfg.max_sequences)
        for _ in range(60):
            mid = (lo + hi) / 2.0
            point = srv.operating_point(cfg, concurrency=mid, input_tokens=tin, output_tokens=tout,
                                        cached_input_tokens=cached)  # fmt: skip
            lo, hi = (mid, hi) if point.requests_per_s < rate else (lo, mid)
        top = srv.max_throughput(cfg, input_tokens=tin, output_tokens=tout, cached_input_tokens=cached)
        return srv.open_loop_point(cfg, concurrency=hi, saturation_rate=top.requests_per_s, input_tokens=tin,
                                   output_tokens=tout, cached_input_tokens=cached)  # fmt: skip

    checked = 0
    for name, gpu, tp in [("llama-3.1-8b", "L40S", 1), ("mixtral-8x7b", "H100", 2)]:
        card = loader.resolve_gpu(gpu)
        cfg, _, _ = replica_config(loader.resolve_model(name), card, loader.efficiency_for(card),
                                   precision=Precision.BF16, kv_precision=Precision.BF16, tp=tp, pp=1, workload=Workload(0.0, 500, 200),
                                   settings=PlanSettings())  # fmt: skip
        for tin, tout, cached in [(500.0, 200.0, 0.0), (3000.0, 100.0, 2500.0)]:
            top = srv.max_throughput(cfg, input_tokens=tin, output_tokens=tout, cached_input_tokens=cached)
            for share in (0.01, 0.3, 0.9, 0.999):
                rate = share * top.requests_per_s
                got = srv._at_request_rate.__wrapped__(cfg, tin, tout, rate, None, cached)
                assert got == oracle(cfg, tin, tout, rate, cached)
                checked += 1
    assert checked == 16


def test_the_open_loop_point_is_the_closed_loops_with_the_open_loops_queue():
    """``open_loop_point`` reads the closed loop's rate alone (``serving._closed_loop_rate``); the oracle builds the
    closed loop's whole point first, as it did, and replaces its TTFT, ITL and E2E: the same point, bit for bit."""
    from dataclasses import replace

    from gpucast.core import serving as srv

    checked = 0
    for name, gpu, tp in [("llama-3.1-8b", "L40S", 1), ("mixtral-8x7b", "H100", 2)]:
        card = loader.resolve_gpu(gpu)
        cfg, _, _ = replica_config(loader.resolve_model(name), card, loader.efficiency_for(card),
                                   precision=Precision.BF16, kv_precision=Precision.BF16, tp=tp, pp=1,
                                   workload=Workload(0.0, 500, 200), settings=PlanSettings())  # fmt: skip
        for tin, tout, cached in [(500.0, 200.0, 0.0), (3000.0, 100.0, 2500.0)]:
            shape = {"input_tokens": tin, "output_tokens": tout, "cached_input_tokens": cached}
            saturation = srv.max_throughput(cfg, **shape).requests_per_s
            for load in (1e-3, 0.7, 9.0, 0.8 * cfg.max_sequences, float(cfg.max_sequences)):
                closed = srv.operating_point(cfg, concurrency=load, **shape)
                rate = closed.requests_per_s
                costs = srv._request_costs(cfg, concurrency=load, **shape)
                ttft = costs.ttft_alone + srv._prefill_wait(max(rate / saturation, rate * costs.prefill_cost),
                                                            costs.prefill_latency) + cfg.efficiency.frontend_s  # fmt: skip
                itl = costs.step.total_s / max(1.0 - rate * costs.prefill_cost, 1e-9)
                expected = replace(closed, ttft_s=ttft, itl_s=itl, e2e_s=ttft + max(tout - 1.0, 0.0) * itl)
                assert srv.open_loop_point(cfg, concurrency=load, saturation_rate=saturation, **shape) == expected
                checked += 1
    assert checked == 20
