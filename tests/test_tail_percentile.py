"""``tails.latencies_at`` (one percentile, what the capacity search decides from) gives the floats of the whole
tail's ``at``, bit for bit, and the search that reads it the same answers as one that attaches whole tails."""

from __future__ import annotations

import math

import pytest

from gpucast.catalog import loader
from gpucast.catalog.length_profiles import load_length_profiles
from gpucast.core import load_memo
from gpucast.core.capacity import slo_capacity, slo_violation
from gpucast.core.inference import replica_config
from gpucast.core.serving import max_throughput, open_loop_point
from gpucast.core.specs import Precision
from gpucast.core.tails import latencies_at, latency_tail
from gpucast.core.workload import SLO, PlanSettings, Workload

CONFIGS = [("llama-3.1-8b", "L40S", "BF16", 1), ("llama-3.1-70b", "H100", "FP8", 4), ("mixtral-8x7b", "A100-80GB",
           "BF16", 2)]  # fmt: skip
SHAPES = [(128, 64, 0.0), (2000, 500, 0.0), (20_000, 200, 0.0), (3000, 300, 2500.0), (500, 1, 0.0)]


def _config(model, gpu, precision, tp):
    card = loader.resolve_gpu(gpu)
    return replica_config(loader.resolve_model(model), card, loader.efficiency_for(card), precision=Precision[precision],
                          kv_precision=Precision.BF16, tp=tp, pp=1, workload=Workload(0.0, 128, 64),
                          settings=PlanSettings(context_window=2048))  # fmt: skip


@pytest.mark.parametrize(("model", "gpu", "precision", "tp"), CONFIGS)
@pytest.mark.parametrize("profile", [None, "sharegpt"])
def test_one_percentile_is_the_whole_tails_bit_for_bit(model, gpu, precision, tp, profile):
    cfg, _, _ = _config(model, gpu, precision, tp)
    lengths = load_length_profiles()[profile].profile() if profile else None
    compared = 0
    for tin, tout, cached in SHAPES:
        shape = {"input_tokens": float(tin), "output_tokens": float(tout), "cached_input_tokens": cached}
        saturation = max_throughput(cfg, **shape).requests_per_s
        for load in (1e-3, 0.5, 3.0, 17.0, 0.6 * cfg.max_sequences, float(cfg.max_sequences)):
            point = open_loop_point(cfg, concurrency=load, saturation_rate=saturation, **shape)
            for rate in (saturation, 0.5 * point.requests_per_s):  # the second: overloaded, TTFT's tail grows
                tail = latency_tail(cfg, point, saturation_rate=rate, lengths=lengths, **shape)
                for percentile in ("mean", "50", "90", "95", "99"):
                    one = latencies_at(cfg, point, percentile, saturation_rate=rate, lengths=lengths, **shape)
                    assert one == tail.at(percentile), (tin, tout, cached, load, percentile)
                    compared += 1
    overloaded = open_loop_point(cfg, concurrency=4.0, saturation_rate=1.0, input_tokens=128, output_tokens=64)
    infinite = type(overloaded)(*[math.inf if f == "ttft_s" else getattr(overloaded, f) for f in
                                  overloaded.__dataclass_fields__])  # fmt: skip
    kwargs = {"input_tokens": 128, "output_tokens": 64, "saturation_rate": 1.0, "lengths": lengths}
    assert latencies_at(cfg, infinite, "99", **kwargs) == latency_tail(cfg, infinite, **kwargs).at("99")
    assert compared == len(SHAPES) * 6 * 2 * 5


def test_a_different_level_would_be_seen():
    """The check above can fail: the levels differ, so reading the wrong one is not equal."""
    cfg, _, _ = _config("llama-3.1-8b", "L40S", "BF16", 1)
    shape = {"input_tokens": 2000.0, "output_tokens": 200.0}
    saturation = max_throughput(cfg, **shape).requests_per_s
    point = open_loop_point(cfg, concurrency=0.8 * cfg.max_sequences, saturation_rate=saturation, **shape)
    tail = latency_tail(cfg, point, saturation_rate=saturation, **shape)
    assert latencies_at(cfg, point, "99", saturation_rate=saturation, **shape) != tail.at("95")
    assert len({tail.at(p) for p in ("50", "90", "95", "99")}) == 4


@pytest.mark.parametrize("percentile", ["99", "90", "50", "mean"])
def test_the_search_from_one_percentile_gives_the_whole_tails_answer(percentile):
    """The SLOs alone (memo and one percentile) against a search that attaches whole tails at every load."""
    cfg, memory, kv = _config("llama-3.1-70b", "H100", "FP8", 4)
    load_memo.clear()
    for tin, tout, _ in SHAPES[:3]:
        for itl in (30, 45, 60, 100):
            for slo in (SLO(itl_ms=itl, percentile=percentile), SLO(itl_ms=itl, ttft_ms=400, percentile=percentile)):
                kwargs = {"input_tokens": tin, "output_tokens": tout, "slo": slo}
                plain = slo_capacity(cfg, memory, kv, PlanSettings(), violation=lambda p, s=slo: slo_violation(p, s),
                                     **kwargs)  # fmt: skip
                assert slo_capacity(cfg, memory, kv, PlanSettings(), **kwargs) == plain
    load_memo.clear()
