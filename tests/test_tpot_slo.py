"""At a percentile the token SLO bounds the per-request TPOT (MLPerf Inference's server/interactive constraint,
vLLM's "P99 TPOT"), not the per-gap ITL: the closed form for one request shape by hand, the profile's bisection
against its own CDF, and a load that only the per-request definition accepts."""

from __future__ import annotations

from statistics import NormalDist

import pytest

from gpucast.catalog import loader
from gpucast.core.capacity import latency_violation, slo_violation
from gpucast.core.inference import estimate_replica
from gpucast.core.memory import MemorySettings
from gpucast.core.specs import Precision
from gpucast.core.tails import LEVELS, TPOT_TOLERANCE, StepDistribution, _tpot_tail
from gpucast.core.workload import SLO, PlanSettings, Workload

# a step of 20 ms that carries 10 ms of prefill one time in ten: mean extra 1 ms, variance
# 0.9 x 0.001^2 + 0.1 x 0.009^2 = 9e-6 s^2 (sd 3 ms), so the mean ITL is 21 ms
STEPS = StepDistribution((0.0, 0.010), (0.9, 0.1), 0.0)


def test_step_variance_by_hand() -> None:
    assert STEPS.mean_extra == pytest.approx(0.001) and STEPS.variance == pytest.approx(9e-6)


def test_closed_form_tpot_by_hand() -> None:
    """101 output tokens average 100 gaps: sd 3 ms / 10 = 0.3 ms, so p50 21 ms, p90 21 + 1.2816 x 0.3 = 21.384 ms,
    p95 21 + 1.6449 x 0.3 = 21.493 ms, p99 21 + 2.3263 x 0.3 = 21.698 ms; 2 output tokens: one gap, sd 3 ms."""
    tail = _tpot_tail([(1.0, 101.0)], 0.020, 0.021, STEPS)
    assert tail == pytest.approx((0.021, 0.021, 0.0213845, 0.0214935, 0.0216979), rel=1e-5)
    assert _tpot_tail([(1.0, 2.0)], 0.020, 0.021, STEPS)[4] == pytest.approx(0.021 + 2.3263479 * 0.003, rel=1e-6)
    # at least one decode step, and no variance: every request's TPOT is the mean ITL
    assert _tpot_tail([(1.0, 2.0)], 0.030, 0.021, STEPS)[1:] == (0.030,) * 4
    assert _tpot_tail([(1.0, 101.0)], 0.020, 0.021, StepDistribution((0.0,), (1.0,), 0.0)) == (0.021,) * 5


def test_profile_tpot_is_its_mixture_quantile() -> None:
    """Half the requests of 101 output tokens (sd 0.3 ms), half of 5 (sd 1.5 ms): each quantile solves the mixture's
    CDF to the bisection's tolerance and lies between the two shapes' own quantiles."""
    outputs = [(0.5, 101.0), (0.5, 5.0)]
    tail = _tpot_tail(outputs, 0.020, 0.021, STEPS)
    normal = NormalDist()
    assert tail[:2] == (0.021, pytest.approx(0.021, rel=1e-9))  # symmetric about the mean ITL: the median is it
    for level, value in zip(LEVELS, tail[1:], strict=True):
        cdf = 0.5 * normal.cdf((value - 0.021) / 0.0003) + 0.5 * normal.cdf((value - 0.021) / 0.0015)
        assert cdf == pytest.approx(level, abs=1e-7)
        one = [_tpot_tail([o], 0.020, 0.021, STEPS)[1 + LEVELS.index(level)] for o in outputs]
        assert min(one) <= value <= max(one) * (1.0 + TPOT_TOLERANCE)
    # p99 by hand: 0.5 Phi(x / 0.3) + 0.5 Phi(x / 1.5) = 0.99 (x ms above the mean ITL); Phi(x / 0.3) = 1 there,
    # so Phi(x / 1.5) = 0.98: x = 1.5 x 2.0537 = 3.0806
    assert (tail[4] - 0.021) * 1e3 == pytest.approx(3.0806, rel=1e-4)


def _estimate(slo: SLO):  # type: ignore[no-untyped-def]
    gpu = loader.resolve_gpu("H100")
    engine = loader.resolve_engine("vllm")
    settings = PlanSettings(memory=MemorySettings.for_engine(engine, None), context_window=8192)
    return estimate_replica(
        loader.resolve_model("llama-3.1-8b"), gpu, loader.efficiency_for(gpu, "vllm"),
        precision=Precision.FP8, kv_precision=Precision.FP8, tp=1, pp=1,
        workload=Workload(1.0, 2000, 40), slo=slo, settings=settings,
    )  # fmt: skip


def test_a_load_whose_p99_per_gap_itl_misses_the_slo_meets_it_on_the_p99_tpot() -> None:
    """Long prompts (2,000 tokens), short answers (40): once a few % of the steps carry a prompt chunk the p99
    per-gap ITL is a chunk-carrying step (~31 ms here against a ~5 ms decode step), while a request's 39 gaps
    average it away. With a 10 ms token SLO at p99 the capacity search stops where the p99 TPOT reaches 10 ms, a
    load whose p99 per-gap ITL is three times the SLO: the search before (per-gap ITL) never accepted such a load."""
    slo = SLO(1e9, 10.0, percentile="99")
    est = _estimate(slo)
    point = est.capacity
    assert est.meets_slo and est.limit == "itl" and point.tail is not None
    ttft, tpot, e2e = slo.latencies(point)
    assert tpot == point.tail.tpot[4] and 9.5 <= tpot * 1e3 <= 10.0 and slo_violation(point, slo) is None
    assert point.tail.itl_s[4] * 1e3 > 25.0  # the per-gap reading misses the same SLO threefold
    assert latency_violation((ttft, point.tail.itl_s[4], e2e), slo) == "itl"
    # on the means the same SLO is looser still: never fewer requests per replica than at p99
    assert _estimate(SLO(1e9, 10.0)).capacity.requests_per_s >= point.requests_per_s
