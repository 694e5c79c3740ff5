"""At a percentile the token SLO bounds the per-request TPOT (MLPerf Inference's server/interactive constraint,
vLLM's "P99 TPOT"), not the per-gap ITL: the closed form for one request shape by hand, the profile's bisection
against its own CDF, and a load that only the per-request definition accepts."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from gpucast.catalog import loader
from gpucast.core.capacity import latency_violation, slo_violation
from gpucast.core.inference import estimate_replica
from gpucast.core.memory import MemorySettings
from gpucast.core.percentiles import skewed_cdf, skewed_cdf_terms, skewed_quantile
from gpucast.core.specs import Precision
from gpucast.core.tails import LEVELS, TPOT_TOLERANCE, StepDistribution, _tpot_tail, step_distribution
from gpucast.core.workload import SLO, PlanSettings, Workload

# a step of 20 ms that carries 10 ms of prefill one time in ten: mean extra 1 ms, variance
# 0.9 x 0.001^2 + 0.1 x 0.009^2 = 9e-6 s^2 (sd 3 ms), so the mean ITL is 21 ms; third central moment
# 0.9 x (-0.001)^3 + 0.1 x 0.009^3 = 7.2e-8 s^3, skewness 7.2e-8 / (9e-6)^1.5 = 8/3
STEPS = StepDistribution((0.0, 0.010), (0.9, 0.1), 0.0)


def _wilson_hilferty(z: float, skew: float) -> float:
    """The standardized gamma quantile written out: shape k = 4 / skew^2, k (1 - 1/(9k) + z / (3 sqrt k))^3."""
    k = 4.0 / skew**2
    return (k * (1.0 - 1.0 / (9.0 * k) + z / (3.0 * math.sqrt(k))) ** 3 - k) / math.sqrt(k)


def test_step_moments_by_hand() -> None:
    assert STEPS.mean_extra == pytest.approx(0.001) and STEPS.variance == pytest.approx(9e-6)
    assert STEPS.third == pytest.approx(7.2e-8)


def test_closed_form_tpot_by_hand() -> None:
    """101 output tokens average 100 gaps: sd 3 ms / 10 = 0.3 ms and skewness (8/3) / 10 = 0.2667 (k = 56.25), so
    p50 21 - 0.0444 x 0.3 = 20.9867 ms, p90 21 + 1.3062 x 0.3 = 21.3919, p95 21.5151, p99 21 + 2.5212 x 0.3 = 21.7563
    (the central limit's normal: 21, 21.384, 21.493, 21.698); 2 output tokens: one gap, sd 3 ms, skewness 8/3
    (k = 0.5625): p99 21 + 3.8947 x 3 = 32.684 ms (the gap is 20 or 30 ms: the normal's 27.98 ms lies below it)."""
    tail = _tpot_tail([(1.0, 101.0)], 0.020, 0.021, STEPS)
    by_hand = [0.021 + 0.0003 * _wilson_hilferty(z, 0.8 / 3.0) for z in (0.0, 1.2815516, 1.6448536, 2.3263479)]
    assert tail == pytest.approx((0.021, *by_hand), rel=1e-6)
    assert tail[1:] == pytest.approx((0.0209867, 0.0213919, 0.0215151, 0.0217563), rel=1e-5)
    assert _tpot_tail([(1.0, 2.0)], 0.020, 0.021, STEPS)[4] == pytest.approx(0.032684, rel=1e-4)
    # at least one decode step, and no variance: every request's TPOT is the mean ITL
    assert _tpot_tail([(1.0, 101.0)], 0.030, 0.021, STEPS)[1:] == (0.030,) * 4
    assert _tpot_tail([(1.0, 101.0)], 0.020, 0.021, StepDistribution((0.0,), (1.0,), 0.0)) == (0.021,) * 5


def test_whole_prompt_stalls_are_a_compound_poisson() -> None:
    """A step carries a whole 10 ms prompt as a Poisson(0.04) stream (an unchunked engine): over 100 gaps a request
    meets Poisson(4) prompts, skewness 1 / sqrt(4) = 0.5 (cumulants g s^2, g s^3). Its p99 is 9 prompts
    (P(N <= 8) = 0.979, P(N <= 9) = 0.992): the gamma reads 4 + 2 x 2.688 = 9.38 and covers it, the normal's
    4 + 2 x 2.326 = 8.65 does not; p95 (exact 8) 7.55 against the normal's 7.29."""
    steps = step_distribution([(0.010, 1.0)], 0.04, 0.0)
    assert steps.variance == pytest.approx(0.04 * 0.01**2, rel=1e-5)
    assert steps.third == pytest.approx(0.04 * 0.01**3, rel=1e-5)
    tail = _tpot_tail([(1.0, 101.0)], 0.020, 0.020 + steps.mean_extra, steps)
    prompts = [(t - 0.020) * 100 / 0.010 for t in tail[1:]]  # prompts met, from the TPOT quantiles
    assert prompts[3] == pytest.approx(4.0 + 2.0 * _wilson_hilferty(2.3263479, 0.5), rel=1e-5)
    assert prompts[3] == pytest.approx(9.377, rel=1e-3) and prompts[2] == pytest.approx(7.547, rel=1e-3)


def test_profile_tpot_is_its_mixture_quantile() -> None:
    """Half the requests of 101 output tokens (sd 0.3 ms, skewness 0.267), half of 5 (sd 1.5 ms, skewness 4/3): each
    quantile solves the mixture's CDF to the bisection's tolerance and lies between the two shapes' own quantiles."""
    outputs = [(0.5, 101.0), (0.5, 5.0)]
    tail = _tpot_tail(outputs, 0.020, 0.021, STEPS)
    terms = [skewed_cdf_terms(0.0003, 0.8 / 3.0), skewed_cdf_terms(0.0015, 4.0 / 3.0)]
    for level, value in zip(LEVELS, tail[1:], strict=True):
        cdf = sum(0.5 * skewed_cdf(value - 0.021, term) for term in terms)
        assert cdf == pytest.approx(level, abs=1e-7)
        one = [_tpot_tail([o], 0.020, 0.021, STEPS)[1 + LEVELS.index(level)] for o in outputs]
        assert min(one) <= value <= max(one) * (1.0 + TPOT_TOLERANCE)
    # p99 by hand: 0.5 F1(x) + 0.5 F2(x) = 0.99 (x ms above the mean ITL); F1(x) = 1 there, so F2(x) = 0.98:
    # x = 1.5 x the gamma's quantile at z = 2.0537 with k = 2.25: 1.5 x 2.6780 = 4.0170 (the normal's: 3.0806)
    assert (tail[4] - 0.021) * 1e3 == pytest.approx(4.0170, rel=1e-4)
    assert (tail[4] - 0.021) * 1e3 == pytest.approx(1.5 * _wilson_hilferty(2.0537489, 4.0 / 3.0), rel=1e-6)


def test_skewed_cdf_inverts_the_skewed_quantile() -> None:
    """The CDF the mixture's bisection uses is the quantile function's inverse (sd 2), and nothing lies below the
    gamma's zero, sqrt(k) = 2 / skewness standard deviations under the mean."""
    normal = NormalDist()
    for skew in (0.0, 0.1, 0.5, 1.3, 2.7):
        term = skewed_cdf_terms(2.0, skew)
        for z in (-1.0, 0.0, 1.2815516, 2.3263479):
            assert skewed_cdf(2.0 * skewed_quantile(z, skew), term) == pytest.approx(normal.cdf(z), abs=1e-9)
        if skew:
            assert skewed_cdf(-2.0 * 2.0 / skew - 1e-9, term) == 0.0


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
