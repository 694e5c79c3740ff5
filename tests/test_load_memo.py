"""The memo of latencies at a load (``core.load_memo``) changes no capacity search's result, whatever the order in
which questions of other SLOs, shapes and calibrations filled it; and a wrong hit would be seen."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpucast.catalog import loader
from gpucast.catalog.length_profiles import load_length_profiles
from gpucast.core import load_memo
from gpucast.core.capacity import slo_capacity, slo_violation
from gpucast.core.inference import replica_config
from gpucast.core.specs import Precision
from gpucast.core.workload import SLO, PlanSettings, Workload

SHAPES = [(128, 64), (2000, 500)]
SLOS = [SLO(itl_ms=itl, percentile=pct) for pct in ("99", "90", "mean") for itl in (40, 60, 100, 150)] + [
    SLO(itl_ms=100, ttft_ms=300, percentile="99"), SLO(itl_ms=100, e2e_ms=20_000, percentile="99")
]  # fmt: skip


def _search(cfg, memory, kv, shape, slo, lengths, *, shared):
    violation = None if shared else (lambda p: slo_violation(p, slo))  # None: the SLOs alone, read from the memo
    return slo_capacity(cfg, memory, kv, PlanSettings(), input_tokens=shape[0], output_tokens=shape[1],
                        violation=violation, slo=slo, lengths=lengths)  # fmt: skip


def _config(model, gpu, precision, tp, efficiency=None):
    card = loader.resolve_gpu(gpu)
    efficiency = efficiency or loader.efficiency_for(card)
    return replica_config(loader.resolve_model(model), card, efficiency, precision=Precision[precision],
                          kv_precision=Precision.BF16, tp=tp, pp=1, workload=Workload(0.0, 128, 64),
                          settings=PlanSettings())  # fmt: skip


@pytest.mark.parametrize("profile", [None, "sharegpt"])
@pytest.mark.parametrize(("model", "gpu", "precision", "tp"), [("llama-3.1-8b", "L40S", "BF16", 1),
                                                               ("llama-3.1-70b", "H100", "FP8", 2)])  # fmt: skip
def test_shared_loads_give_the_plain_searchs_answer(model, gpu, precision, tp, profile):
    """Every SLO after the others (the memo full of their loads) gets exactly the search without the memo."""
    cfg, memory, kv = _config(model, gpu, precision, tp)
    lengths = load_length_profiles()[profile].profile() if profile else None
    load_memo.clear()
    for shape in SHAPES:
        for slo in SLOS:
            assert _search(cfg, memory, kv, shape, slo, lengths, shared=True) == _search(
                cfg, memory, kv, shape, slo, lengths, shared=False
            )
    assert load_memo.counts()["hits"] > 0  # later SLOs did read the loads earlier ones tried


def test_a_recalibrated_configuration_is_another_key():
    """A calibration change (another ``Efficiency``) must not be answered from the old one's loads."""
    cfg, memory, kv = _config("llama-3.1-8b", "L40S", "BF16", 1)
    slow = replace(cfg.efficiency, bandwidth_fraction=cfg.efficiency.bandwidth_fraction * 0.6)
    cfg_slow, memory_slow, kv_slow = _config("llama-3.1-8b", "L40S", "BF16", 1, efficiency=slow)
    slo = SLO(itl_ms=60, percentile="99")
    load_memo.clear()
    fast = _search(cfg, memory, kv, (128, 64), slo, None, shared=True)
    recalibrated = _search(cfg_slow, memory_slow, kv_slow, (128, 64), slo, None, shared=True)
    assert recalibrated == _search(cfg_slow, memory_slow, kv_slow, (128, 64), slo, None, shared=False)
    assert recalibrated != fast  # so a hit on the old calibration's loads would have been wrong


def test_a_wrong_hit_changes_the_answer():
    """The check above can fail: latencies planted under the keys a search reads change its result."""
    cfg, memory, kv = _config("llama-3.1-8b", "L40S", "BF16", 1)
    slo = SLO(itl_ms=60, percentile="99")
    load_memo.clear()
    right = _search(cfg, memory, kv, (128, 64), slo, None, shared=True)
    for table in (load_memo._MEANS, load_memo._TAILS):
        for key in table:
            table[key] = (0.0, 0.0, 0.0)  # every load tried now "meets" every target
    assert _search(cfg, memory, kv, (128, 64), slo, None, shared=True) != right
    load_memo.clear()


def test_the_memo_stays_bounded(monkeypatch):
    """Past ``LOADS_KEPT`` entries the oldest go first, and what is looked up again is computed again, rightly."""
    monkeypatch.setattr(load_memo, "LOADS_KEPT", 50)
    cfg, memory, kv = _config("llama-3.1-8b", "L40S", "BF16", 1)
    load_memo.clear()
    for slo in SLOS:
        assert _search(cfg, memory, kv, (128, 64), slo, None, shared=True) == _search(
            cfg, memory, kv, (128, 64), slo, None, shared=False
        )
        assert len(load_memo._MEANS) <= 50 and len(load_memo._TAILS) <= 50
    load_memo.clear()
