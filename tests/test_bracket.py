"""The capacity search's replayed bisection (``core.bracket``) gives the plain bisection's answer, bit for bit, from
fewer loads; the replay is exact for a monotone decision whatever guides it, and a non-monotone one would be seen."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucast.catalog import loader
from gpucast.catalog.length_profiles import load_length_profiles
from gpucast.core import load_memo
from gpucast.core.bracket import GUARD, _pending, geometric_bisection, replayed_bisection
from gpucast.core.capacity import LONE_REQUEST, RATE_TOLERANCE, slo_capacity, slo_violation
from gpucast.core.inference import replica_config
from gpucast.core.serving import max_throughput, open_loop_point
from gpucast.core.specs import Precision
from gpucast.core.tails import latencies_at
from gpucast.core.workload import SLO, PlanSettings, Workload
from gpucast.errors import InfeasibleError

LO, HI = LONE_REQUEST, 256.0


def _counted(judge):
    calls = []

    def counted(load):
        calls.append(load)
        return judge(load)

    return counted, calls


@settings(max_examples=300, deadline=None)
@given(
    capacity=st.floats(LO * 1.0001, HI / 1.0001),
    curve=st.sampled_from(["linear", "queue", "flat", "step", "noise"]),
    seed=st.integers(0, 1000),
)
def test_the_replay_gives_the_plain_bisections_answer_whatever_guides_it(capacity, curve, seed):
    """Any monotone decision: the ratio may be smooth, a queue's pole, constant, a jump or noise (it only guides)."""
    rng = random.Random(seed)
    ratios = {
        "linear": lambda c: 0.2 + 0.8 * c / capacity,
        "queue": lambda c: 0.3 / max(1.0 - 0.7 * c / capacity, 1e-9),
        "flat": lambda c: 0.5,
        "step": lambda c: 0.9 if c <= capacity else 5.0,
        "noise": lambda c: rng.uniform(0.0, 3.0),
    }
    ratio = ratios[curve]
    plain = geometric_bisection(LO, HI, RATE_TOLERANCE, lambda c: c <= capacity)
    judge, calls = _counted(lambda c: (c <= capacity, ratio(c)))
    assert replayed_bisection(LO, HI, RATE_TOLERANCE, judge, ratio(LO), ratio(HI)) == plain
    assert all(LO < c < HI for c in calls)


def test_a_smooth_ratio_takes_fewer_loads():
    """The point of the replay: ~9 loads where the plain bisection takes 17 (a ratio that grows with the load)."""
    rng = random.Random(7)
    counts = []
    for _ in range(200):
        capacity = math.exp(rng.uniform(math.log(0.01), math.log(200.0)))
        base, bend = rng.uniform(0.05, 0.9), rng.uniform(0.0, 0.95)

        def ratio(c, capacity=capacity, base=base, bend=bend):  # a step growing with C over a queue's 1 / (1 - rho)
            grow = base + (1.0 - base) * c / capacity  # (rho capped at 0.99, as serving._prefill_wait caps it)
            return grow * (1.0 - bend) / max(1.0 - bend * c / capacity, 0.01)

        judge, calls = _counted(lambda c, r=ratio: (r(c) <= 1.0, r(c)))
        meets, plain_calls = _counted(lambda c, r=ratio: r(c) <= 1.0)
        plain = geometric_bisection(LO, HI, RATE_TOLERANCE, meets)
        assert replayed_bisection(LO, HI, RATE_TOLERANCE, judge, ratio(LO), ratio(HI)) == plain
        counts.append((len(calls), len(plain_calls)))
    assert sum(n for n, _ in counts) < 0.6 * sum(m for _, m in counts)


def test_a_decision_that_is_not_monotone_would_be_seen():
    """The replay decides a midpoint from loads tried on its side; where the decision is not monotone (a window
    that misses below the capacity) it may not be the plain bisection's, which is why the search's decisions must
    be monotone (tests/test_tails.py) and the answers are checked against the plain search below."""
    capacity, hole = 20.0, (0.50, 0.52)  # misses inside the hole, below the capacity

    def meets(c):
        return c <= capacity and not hole[0] < c < hole[1]

    plain = geometric_bisection(LO, HI, RATE_TOLERANCE, meets)
    replayed = replayed_bisection(LO, HI, RATE_TOLERANCE, lambda c: (meets(c), c / capacity), LO / capacity, 10.0)
    assert plain != replayed  # the plain search's first midpoint (0.506) falls in the hole; the replay jumps over


def test_a_midpoint_next_to_a_tried_load_is_evaluated_not_inferred():
    """A computed latency may wobble in its last digits (a queue near saturation amplifies them), so a load tried
    a hair above a midpoint does not decide it: the midpoint is left open (evaluated); ``GUARD`` beyond, it is."""
    first = math.sqrt(LO * HI)  # the bisection's first midpoint
    for hair in (1e-15, 1e-9, 0.5 * GUARD):
        assert _pending(LO, HI, RATE_TOLERANCE, first * (1.0 + hair), HI, {}) == first
        assert _pending(LO, HI, RATE_TOLERANCE, LO, first * (1.0 - hair), {}) == first
    assert _pending(LO, HI, RATE_TOLERANCE, first * (1.0 + 2.0 * GUARD), HI, {}) != first  # decided: the next one
    assert _pending(LO, HI, RATE_TOLERANCE, first * (1.0 + 1e-9), HI, {first: True}) != first  # tried itself


P99 = SLO(percentile="99")


def test_the_latencies_a_search_decides_from_never_fall_over_a_guard():
    """What ``GUARD`` rests on: the latencies a search decides from (means, and at p99 with the tail) may wobble
    in their last digits over loads a hair apart (~1e-12 relative, measured), but never fall from a load to one
    ``GUARD`` / 10 above it, at low loads (a flat latency, so the steepest test) and high ones."""
    settings, checked = PlanSettings(), 0
    for model, gpu, precision, tp in MODELS[:4]:
        card = loader.resolve_gpu(gpu)
        for tin, tout in [(128, 64), (2000, 500)]:
            try:
                cfg, _, _ = replica_config(loader.resolve_model(model), card, loader.efficiency_for(card),
                                           precision=Precision[precision], kv_precision=Precision.BF16, tp=tp, pp=1,
                                           workload=Workload(0.0, tin, tout), settings=settings)  # fmt: skip
            except InfeasibleError:
                continue
            shape = {"input_tokens": float(tin), "output_tokens": float(tout)}
            sat = max_throughput(cfg, **shape).requests_per_s

            def latencies(c, cfg=cfg, shape=shape, sat=sat):
                point = open_loop_point(cfg, concurrency=c, saturation_rate=sat, **shape)
                p99 = P99.with_means(point, latencies_at(cfg, point, "99", saturation_rate=sat, **shape))
                return (point.ttft_s, point.itl_s, point.e2e_s, *p99)

            for load in (LO, 3e-3, 0.3, 17.0, 0.9 * cfg.max_sequences):
                steps = [latencies(load * (1.0 + k * GUARD / 10.0)) for k in range(12)]
                for lower, higher in itertools.pairwise(steps):
                    assert all(b >= a for a, b in zip(lower, higher, strict=True)), (model, gpu, tin, load)
                checked += 1
    assert checked >= 30


MODELS = [("llama-3.1-8b", "L40S", "BF16", 1), ("llama-3.1-70b", "H100", "FP8", 4), ("mixtral-8x7b", "H100", "BF16", 2),
          ("qwen3-30b-a3b", "L4", "FP8", 1), ("deepseek-v3", "H200", "FP8", 8), ("gpt-oss-120b", "B200", "FP4", 1),
          ("qwen3-next-80b-a3b", "H100", "FP8", 2), ("gemma-3-27b", "A10G", "BF16", 4)]  # fmt: skip
SLOS = [SLO(itl_ms=itl, percentile=p) for p in ("99", "90", "50", "mean") for itl in (25, 60, 150)] + [
    SLO(itl_ms=100, ttft_ms=250, percentile="99"), SLO(itl_ms=100, e2e_ms=8000, percentile="95")
]  # fmt: skip


@pytest.mark.parametrize(("model", "gpu", "precision", "tp"), MODELS)
@pytest.mark.parametrize("profile", [None, "sharegpt"])
def test_the_search_with_the_slos_alone_gives_the_plain_searchs_answer(model, gpu, precision, tp, profile):
    """``slo_capacity`` without a violation of the caller's (replayed, one percentile, the memo) against the plain
    bisection with a whole tail at every load (a violation given: tests/test_capacity_search.py's oracle)."""
    spec, card = loader.resolve_model(model), loader.resolve_gpu(gpu)
    lengths = load_length_profiles()[profile].profile() if profile else None
    try:
        cfg, memory, kv = replica_config(spec, card, loader.efficiency_for(card), precision=Precision[precision],
                                         kv_precision=Precision.BF16, tp=tp, pp=1, workload=Workload(0.0, 128, 64),
                                         settings=PlanSettings(context_window=2048))  # fmt: skip
    except InfeasibleError:
        pytest.skip("layout cannot run")
    load_memo.clear()
    limits = set()
    for tin, tout in [(128, 64), (1000, 200), (2000, 500)]:
        for slo in SLOS:
            args = {"input_tokens": tin, "output_tokens": tout, "slo": slo, "lengths": lengths}
            got = slo_capacity(cfg, memory, kv, PlanSettings(), **args)
            plain = slo_capacity(
                cfg, memory, kv, PlanSettings(), violation=lambda p, s=slo: slo_violation(p, s), **args
            )
            assert got == plain, (tin, tout, slo)
            limits.add(got.limit)
    assert limits & {"itl", "ttft", "e2e"}  # some searches did bisect
    load_memo.clear()
