"""The capacity search's shortcuts change no result: ``slo_capacity`` against the plain search it replaced (a tail
at every load tried, ``dataclasses.replace`` copies, nothing skipped), field for field, on a spread of questions."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from gpucast.catalog import loader
from gpucast.catalog.length_profiles import load_length_profiles
from gpucast.core.capacity import LONE_REQUEST, RATE_TOLERANCE, ReplicaEstimate, slo_capacity, slo_violation
from gpucast.core.inference import replica_config
from gpucast.core.serving import max_throughput, open_loop_point
from gpucast.core.specs import Precision
from gpucast.core.tails import latency_tail
from gpucast.core.workload import SLO, PlanSettings, Workload
from gpucast.errors import InfeasibleError


def reference(cfg, memory, kv_limited, settings, *, input_tokens, output_tokens, violation, slo, lengths=None):
    """The search as it was before the shortcuts (commit 3ae848e), kept here as the oracle."""
    shape = {"input_tokens": input_tokens, "output_tokens": output_tokens, "cached_input_tokens": 0.0}
    saturation = max_throughput(cfg, **shape)

    def tailed(point):
        tail = latency_tail(cfg, point, saturation_rate=saturation.requests_per_s, lengths=lengths,
                            input_tokens=input_tokens, output_tokens=output_tokens, cached_input_tokens=0.0)  # fmt: skip
        return replace(point, tail=tail)

    def at(c):
        point = open_loop_point(cfg, concurrency=c, saturation_rate=saturation.requests_per_s, **shape)
        return tailed(point) if slo.needs_tail(lengths) else point

    top = float(cfg.max_sequences)
    lowest = at(min(LONE_REQUEST, top))
    ttft, itl, e2e = slo.latencies(lowest)
    excess = max(itl * 1e3 / slo.itl_ms, ttft * 1e3 / slo.ttft_ms, e2e * 1e3 / slo.e2e_ms if slo.e2e_ms else 0.0)

    def found(capacity, meets, limit):
        return ReplicaEstimate(cfg, memory, kv_limited, capacity, saturation, meets, limit, lowest, 0.0, excess)

    if slo.needs_tail(lengths):
        saturation = tailed(saturation)
    if (missed := violation(lowest)) is not None:
        return found(saturation, False, missed)
    if violation(at(top)) is None:
        limit = "kv-cache" if kv_limited <= cfg.max_sequences else "max-num-seqs"
        return found(at(top), True, limit)
    lo, hi = min(LONE_REQUEST, top), top
    while hi > lo * (1.0 + RATE_TOLERANCE):
        mid = math.sqrt(lo * hi)
        if violation(at(mid)) is None:
            lo = mid
        else:
            hi = mid
    return found(at(lo), True, violation(at(hi)) or "slo")


CASES = [
    (model, gpu, precision, tp, shape, itl, percentile, profile)
    for model, gpu, precision, tp in [("llama-3.1-8b", "L40S", "BF16", 1), ("llama-3.1-70b", "H100", "FP8", 2),
                                      ("llama-3.1-70b", "A100-80GB", "BF16", 4), ("qwen2.5-32b", "H200", "FP8", 1)]
    for shape in [(128, 64), (2000, 500)]
    for itl, percentile, profile in [(50, "99", None), (100, "99", None), (150, "90", None), (100, "mean", None),
                                     (100, "99", "sharegpt"), (100, "mean", "sharegpt")]
]  # fmt: skip


@pytest.mark.parametrize(("model", "gpu", "precision", "tp", "shape", "itl", "percentile", "profile"), CASES)
def test_capacity_search_matches_the_plain_search(model, gpu, precision, tp, shape, itl, percentile, profile):
    spec, card = loader.resolve_model(model), loader.resolve_gpu(gpu)
    lengths = load_length_profiles()[profile].profile() if profile else None
    work = Workload(0.0, *shape, lengths=lengths)
    settings = PlanSettings()
    try:
        cfg, memory, kv = replica_config(spec, card, loader.efficiency_for(card), precision=Precision[precision],
                                         kv_precision=Precision.BF16, tp=tp, pp=1, workload=work, settings=settings)  # fmt: skip
    except InfeasibleError:
        pytest.skip("layout cannot run")
    slo = SLO(itl_ms=itl, percentile=percentile)
    args = {"input_tokens": shape[0], "output_tokens": shape[1], "slo": slo, "lengths": lengths}
    for violation in (lambda p: slo_violation(p, slo),  # the planner's, and one with a target of its own (agents)
                      lambda p: slo_violation(p, slo) or ("task" if p.e2e_s > 4.0 else None)):  # fmt: skip
        got = slo_capacity(cfg, memory, kv, settings, violation=violation, **args)
        assert got == reference(cfg, memory, kv, settings, violation=violation, **args)
