"""Skipping layouts and GPU types by their cost floor changes no answer (``core.search_floor``,
``planning.compare_top``): each GPU's chosen layout against the plain search over every layout, field for field,
and the first N rows of a comparison against the same rows of the whole comparison; the ceiling is checked to
bound every capacity the search finds."""

from __future__ import annotations

import itertools
import random

import pytest

from gpucast.catalog import loader
from gpucast.core.inference import estimate_replica, replica_config
from gpucast.core.search import best_for_gpu, cheapest_sharding, priced_candidate, sharding_options
from gpucast.core.search_floor import CEILING_SLACK, capacity_ceiling
from gpucast.core.serving import max_throughput, open_loop_point
from gpucast.core.specs import Precision
from gpucast.core.workload import SLO, PlanSettings, Workload
from gpucast.errors import InfeasibleError
from gpucast.inputs.types import LLMWorkloadInput, ModelConfig, ServingOptions
from gpucast.planning.compare import compare_gpus

MODELS = [("llama-3.1-8b", "BF16"), ("llama-3.1-70b", "FP8"), ("llama-3.1-70b", "BF16"), ("qwen2.5-32b", "FP8"),
          ("mistral-7b", "BF16")]  # fmt: skip


def questions(count: int, seed: int) -> list[tuple[str, str, float, int, int, int, str]]:
    rng = random.Random(seed)
    return [(*rng.choice(MODELS), round(rng.uniform(0.5, 80), 2), rng.choice([128, 500, 2000, 6000]),
             rng.choice([64, 200, 800]), rng.choice([40, 100, 200]), rng.choice(["99", "90", "mean"]))
            for _ in range(count)]  # fmt: skip


def plain_search(model, gpu, efficiency, **search):
    """``best_for_gpu`` as it was: every layout evaluated, none skipped (the oracle)."""
    keys = ("precision", "kv_precision", "workload", "slo", "settings")
    given = {k: search[k] for k in keys}

    def evaluate(o):
        est = estimate_replica(model, gpu, efficiency, tp=o.tp, pp=o.pp, ep=o.ep, attention_dp=o.attention_dp, **given)
        return priced_candidate(est, search["workload"], search["settings"], search["prices"], search["pricing"])

    return cheapest_sharding(
        sharding_options(model, gpu, None, None),
        evaluate,
        lambda candidate: candidate,
        none_valid="none",
    )


@pytest.mark.parametrize("seed", range(4))
def test_each_gpu_gets_the_layout_the_plain_search_chooses(seed):
    settings = PlanSettings()
    cases = 0
    for name, precision, rps, tokens_in, tokens_out, itl, percentile in questions(6, seed):
        model = loader.resolve_model(name)
        workload = Workload(rps, tokens_in, tokens_out)
        slo = SLO(itl_ms=itl, percentile=percentile)
        for gpu in loader.priced_gpus(tuple(loader.clouds())):
            for cloud in ("aws", "vast", "lambda"):
                prices = loader.offers_for((cloud,), gpu.id)
                search = {"precision": Precision[precision], "kv_precision": Precision[precision], "workload": workload,
                          "slo": slo, "settings": settings, "prices": prices, "pricing": "on-demand"}  # fmt: skip
                efficiency = loader.efficiency_for(gpu)
                try:
                    expected = plain_search(model, gpu, efficiency, **search)
                except InfeasibleError as error:
                    with pytest.raises(InfeasibleError, match=str(error)[:40].replace("(", r"\(").replace(")", r"\)")):
                        best_for_gpu(model, gpu, efficiency, **search)
                    continue
                assert best_for_gpu(model, gpu, efficiency, **search) == expected
                cases += 1
    assert cases > 100


@pytest.mark.parametrize("seed", range(3))
def test_the_first_rows_of_a_comparison_are_the_whole_comparisons_first_rows(seed):
    for name, precision, rps, tokens_in, tokens_out, itl, percentile in questions(5, 100 + seed):
        workload = LLMWorkloadInput(requests_per_second=rps, avg_input_tokens=tokens_in, avg_output_tokens=tokens_out)
        model = ModelConfig(model_name=name, precision=precision)
        options = ServingOptions(itl_slo_ms=itl, slo_percentile=percentile)
        every = compare_gpus(workload, model, options, clouds=list(loader.clouds()))
        assert len(every) > 12
        for top in (1, 5, 12, 40):
            assert compare_gpus(workload, model, options, clouds=list(loader.clouds()), top=top) == every[:top]


def test_the_ceiling_bounds_every_capacity_found():
    settings = PlanSettings()
    checked = 0
    for name, precision, rps, tokens_in, tokens_out, itl, percentile in questions(12, 7):
        model = loader.resolve_model(name)
        for gpu in loader.priced_gpus(("aws",)):
            for layout in sharding_options(model, gpu, None, None):
                keys = {"precision": Precision[precision], "kv_precision": Precision[precision], "tp": layout.tp,
                        "pp": layout.pp, "ep": layout.ep, "attention_dp": layout.attention_dp, "settings": settings}  # fmt: skip
                ceiling = capacity_ceiling(model, gpu, loader.efficiency_for(gpu), input_tokens=tokens_in,
                                           output_tokens=tokens_out, **keys)  # fmt: skip
                try:
                    found = estimate_replica(model, gpu, loader.efficiency_for(gpu), workload=Workload(rps, tokens_in,
                                             tokens_out), slo=SLO(itl_ms=itl, percentile=percentile), **keys)  # fmt: skip
                except InfeasibleError:  # it cannot start: nor can it have a ceiling
                    assert ceiling is None
                    continue
                assert ceiling is not None
                assert ceiling.saturation_rps == found.saturation.requests_per_s
                if found.meets_slo:
                    assert found.capacity.requests_per_s <= ceiling.capacity_rps
                    checked += 1
    assert checked > 100


def test_the_rate_grows_with_the_load_up_to_a_full_replica():
    """What the saturation bound of the ceiling rests on (and the capacity search with it): the open-loop rate of
    every load the search may try is non-decreasing in the load, up to the rate of a full replica (its ceiling);
    checked over every priced GPU's layouts of dense and MoE models, short and long prompts."""
    settings, checked = PlanSettings(), 0
    for name, precision in [*MODELS, ("mixtral-8x7b", "BF16"), ("qwen3-30b-a3b", "FP8"), ("deepseek-v3", "FP8")]:
        model = loader.resolve_model(name)
        for gpu in loader.priced_gpus(("aws", "lambda")):
            for layout in sharding_options(model, gpu, None, None):
                for tokens_in, tokens_out in [(128, 64), (2000, 500), (6000, 200)]:
                    try:
                        cfg, _, _ = replica_config(model, gpu, loader.efficiency_for(gpu), precision=Precision[precision],
                                                   kv_precision=Precision[precision], tp=layout.tp, pp=layout.pp,
                                                   workload=Workload(0.0, tokens_in, tokens_out), settings=settings,
                                                   ep=layout.ep, attention_dp=layout.attention_dp)  # fmt: skip
                    except InfeasibleError:
                        continue
                    shape = {"input_tokens": tokens_in, "output_tokens": tokens_out}
                    full = max_throughput(cfg, **shape).requests_per_s
                    top = float(cfg.max_sequences)
                    loads = [1e-3 * (top / 1e-3) ** (k / 80) for k in range(81)]
                    rates = [open_loop_point(cfg, concurrency=c, saturation_rate=full, **shape).requests_per_s
                             for c in loads]  # fmt: skip
                    assert all(b >= a for a, b in itertools.pairwise(rates)), (name, gpu.id, layout)
                    assert rates[-1] <= full * (1.0 + CEILING_SLACK)
                    checked += 1
    assert checked > 200
