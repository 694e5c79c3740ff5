"""Issue 21, TTFT: the OpenAI-compatible server's per-request front end (``Efficiency.frontend_s``), its source
(``data/benchmarks/vllm_ci_serving.csv``) and its fit (``scripts/calibrate_frontend.py``; docs/tail-latency.md)."""

from __future__ import annotations

import csv
import dataclasses
import math
import sys
import tomllib
from pathlib import Path

import pytest

from gpucast.catalog import loader
from gpucast.core.inference import estimate_replica
from gpucast.core.memory import MemorySettings
from gpucast.core.percentiles import lognormal_profile
from gpucast.core.perf import Efficiency, EngineFactors
from gpucast.core.serving import at_request_rate, max_throughput, operating_point, static_batch
from gpucast.core.specs import Precision
from gpucast.core.tails import latency_tail
from gpucast.core.workload import SLO, PlanSettings, Workload
from gpucast.validation.inference import prepare, read_rows, validate_file

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "benchmarks" / "vllm_ci_serving.csv"
FRONTEND = 0.025  # s: a round value for the hand checks (the fitted one is in calibration.toml)
CHAT = lognormal_profile(
    "chat", input_mean=300, input_median=200, input_max=4096, output_mean=250, output_median=180, output_max=2048
)


def _config(frontend: float):  # type: ignore[no-untyped-def]
    """Llama-3.1-8B FP8 on one H100 (vLLM), with the catalog's efficiencies and the given front end."""
    gpu = loader.resolve_gpu("H100")
    settings = PlanSettings(memory=MemorySettings.for_engine(loader.resolve_engine("vllm"), None), context_window=8192)
    eff = dataclasses.replace(loader.efficiency_for(gpu, "vllm"), frontend_s=frontend)
    est = estimate_replica(
        loader.resolve_model("llama-3.1-8b"), gpu, eff, precision=Precision.FP8, kv_precision=Precision.FP8,
        tp=1, pp=1, workload=Workload(1.0, 300, 250, lengths=CHAT), slo=SLO(1e9, 1e9), settings=settings,
    )  # fmt: skip
    return est.config


def test_engine_factors_add_the_front_end() -> None:
    """Seconds add (a scale would make 0 absorbing): the engine's 20 ms on a 5 ms base is 25 ms, and an era's factors
    (no front end of their own) keep it."""
    eff = EngineFactors(frontend_s=0.020).apply(Efficiency(frontend_s=0.005))
    assert eff.frontend_s == pytest.approx(0.025, abs=1e-15)
    assert EngineFactors(bandwidth_scale=0.5).apply(eff).frontend_s == pytest.approx(0.025, abs=1e-15)


def test_an_open_loop_pays_it_once_outside_the_engine() -> None:
    """At 2 req/s the front end adds exactly 25 ms to TTFT and E2E, and nothing to the engine: the same running
    requests, rate and ITL (the prompt is in the server, not in a batch)."""
    shape = {"input_tokens": 300.0, "output_tokens": 250.0}
    bare, served = (at_request_rate(_config(f), rate=2.0, **shape) for f in (0.0, FRONTEND))
    assert served.ttft_s - bare.ttft_s == pytest.approx(FRONTEND, abs=1e-12)
    assert served.e2e_s - bare.e2e_s == pytest.approx(FRONTEND, abs=1e-12)
    assert (served.concurrency, served.requests_per_s, served.itl_s) == (
        bare.concurrency,
        bare.requests_per_s,
        bare.itl_s,
    )


def test_in_process_loads_pay_none() -> None:
    """A static batch (``benchmark_latency.py``, MLPerf-style in-process runs) and the saturated max-throughput point
    (the engine stays busy while a server handles requests) are unchanged."""
    shape = {"input_tokens": 300.0, "output_tokens": 250.0}
    assert static_batch(_config(FRONTEND), batch=8, **shape) == static_batch(_config(0.0), batch=8, **shape)
    served, bare = max_throughput(_config(FRONTEND), **shape), max_throughput(_config(0.0), **shape)
    assert (served.requests_per_s, served.ttft_s, served.itl_s) == (bare.requests_per_s, bare.ttft_s, bare.itl_s)


def test_a_closed_loop_client_waits_for_it_in_its_cycle() -> None:
    """One request in flight (a ``--max-concurrency 1`` client): TTFT grows by the 25 ms and the rate falls so that
    Little's law still holds, C = rate x E2E, with the cycle 25 ms longer (the ITL and the prompt's M/D/1 wait move
    only through the prefill share of the now lower rate: by under a microsecond here)."""
    shape = {"input_tokens": 300.0, "output_tokens": 250.0}
    bare = operating_point(_config(0.0), concurrency=1.0, waves=True, **shape)
    served = operating_point(_config(FRONTEND), concurrency=1.0, waves=True, **shape)
    assert served.requests_per_s * served.e2e_s == pytest.approx(1.0, rel=1e-9)
    assert served.ttft_s - bare.ttft_s == pytest.approx(FRONTEND, abs=1e-6)
    assert served.e2e_s - bare.e2e_s == pytest.approx(FRONTEND, abs=2e-4)  # 249 steps, each a little shorter
    assert served.requests_per_s < bare.requests_per_s


def test_past_the_engine_slots_the_front_end_only_replaces_queueing() -> None:
    """More requests in flight than the engine's slots: the engine runs full either way, and of the client's queue
    (C - slots) / rate the front end takes its share, so the point is the bare engine's (the saturated rate)."""
    shape = {"input_tokens": 300.0, "output_tokens": 250.0}
    bare, served = _config(0.0), _config(FRONTEND)
    crowd = 4.0 * served.max_sequences
    assert operating_point(served, concurrency=crowd, waves=True, **shape) == operating_point(
        bare, concurrency=crowd, waves=True, **shape
    )


@pytest.mark.parametrize("lengths", [None, CHAT])
def test_every_ttft_and_e2e_percentile_shifts_by_it(lengths) -> None:  # type: ignore[no-untyped-def]
    """A constant moves the whole TTFT and E2E distributions (one request shape or a profile): each percentile by
    exactly the 25 ms; ITL and per-request TPOT are the engine's and do not move."""
    shape = {"input_tokens": CHAT.mean_input, "output_tokens": CHAT.mean_output}
    tails = []
    for frontend in (0.0, FRONTEND):
        cfg = _config(frontend)
        point = at_request_rate(cfg, rate=2.0, **shape)
        tails.append(latency_tail(cfg, point, **shape, saturation_rate=max_throughput(cfg, **shape).requests_per_s,
                                  lengths=lengths))  # fmt: skip
    bare, served = tails
    for a, b in zip(bare.ttft_s, served.ttft_s, strict=True):
        assert b - a == pytest.approx(FRONTEND, abs=1e-9)
    for a, b in zip(bare.e2e_s, served.e2e_s, strict=True):
        assert b - a == pytest.approx(FRONTEND, abs=1e-9)
    assert bare.itl_s == served.itl_s and bare.tpot_s == served.tpot_s


def test_the_source_file_names_its_provenance() -> None:
    """Every row: a source described in the data README, the build's URL, an ``as_of``, the length profile of the
    200 prompts; every row is predicted (model, GPU and profile resolve)."""
    readme = (DATA.parent / "README.md").read_text(encoding="utf-8")
    with DATA.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    for row in rows:
        assert row["source"] in readme and row["as_of"]
        assert (
            "https://buildkite.com/vllm/performance-benchmark/builds/" + row["source"].rsplit("-", 1)[1] in row["notes"]
        )
        assert "length_profile=percentiles/sharegpt_seed0_200.csv" in row["notes"]
    report = validate_file(DATA)
    assert not report.skipped and len(report.rows) == 4


def test_the_shipped_value_is_the_fit_of_the_shipped_engine() -> None:
    """The loader gives vLLM the fitted front end of ``calibration.toml``, SGLang its own measured one and
    TensorRT-LLM none; re-fitted on the source's rows with the shipped efficiencies (front end off), the median gap is
    vLLM's value again (within 0.2 ms: the stored efficiencies are rounded to 3 digits), in the 17.8-27.5 ms the three
    builds leave (docs/tail-latency.md)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from calibrate_frontend import fit_frontend, frontend_groups, gaps

    stored = tomllib.loads((REPO / "src" / "gpucast" / "catalog" / "calibration.toml").read_text("utf-8"))
    value = stored["engines"]["vllm"]["frontend_s"]
    assert stored["engines"]["sglang"]["frontend_s"] == pytest.approx(0.0066, abs=1e-12)
    gpu = loader.resolve_gpu("H200")
    assert loader.efficiency_for(gpu, "vllm").frontend_s == value
    assert loader.efficiency_for(gpu, "sglang").frontend_s == pytest.approx(0.0066, abs=1e-12)
    assert loader.efficiency_for(gpu, "trtllm").frontend_s == 0.0
    groups, skipped = prepare(read_rows(DATA), DATA.parent)
    front = frontend_groups(groups)
    assert not skipped and len(front) == 3  # the 9513 run's TTFT and ITL share one operating point
    assert fit_frontend(front, lambda g: g.cfg.efficiency) == pytest.approx(value, abs=2e-4)
    found = sorted(gap for _, gap in gaps(front, lambda g: g.cfg.efficiency))
    assert len(found) == 3 and found[0] > 0.015 and found[-1] < 0.030 and math.isclose(found[1], value, abs_tol=2e-4)


def test_sglang_s_front_end_is_the_published_mock_engine_measurement() -> None:
    """engines.toml gives SGLang's server its measured time, with its source: on a mock engine whose forward
    busy-waits 1000 / 380 = 2.632 ms, median TTFT 9.54 ms and median TPOT 2.94 ms (tt-inference-server#3560); TTFT
    less one engine step (forward + the scheduler's 0.31 ms) is 9.54 - 2.94 = 6.60 ms. vLLM's is fitted (none in the
    catalog), TensorRT-LLM's server has none."""
    engines = loader.load_engines()
    sglang = engines["sglang"]
    assert sglang.frontend_ms == pytest.approx(9.54 - 2.94, abs=1e-9)
    forward = 1000 / 380  # ms: the mock's busy-wait at 380 tokens/s
    assert forward == pytest.approx(2.632, abs=5e-4) and 2.94 - forward == pytest.approx(0.31, abs=0.01)
    assert "tt-inference-server/issues/3560" in sglang.frontend_source and sglang.frontend_as_of == "2026-05-18"
    assert engines["vllm"].frontend_ms is None and engines["trtllm"].frontend_ms is None


def test_the_calibration_charges_each_server_its_own() -> None:
    """``calibrate.py`` charges SGLang's served rows the catalog's 6.6 ms whatever vLLM's fit gives, vLLM the fitted
    value, an engine outside the Python OpenAI servers nothing."""
    sys.path.insert(0, str(REPO / "scripts"))
    from calibrate_frontend import frontend_for, sourced_frontends

    assert sourced_frontends() == {"sglang": pytest.approx(0.0066, abs=1e-12)}
    for fitted in (0.0, 0.0264):
        assert frontend_for("sglang", fitted) == pytest.approx(0.0066, abs=1e-12)
        assert frontend_for("vllm", fitted) == fitted
        assert frontend_for("trtllm", fitted) == 0.0


def test_a_measured_front_end_needs_its_source() -> None:
    """A catalog front end without ``frontend_source`` / ``frontend_as_of`` (or negative) is refused."""
    base = dataclasses.asdict(loader.load_engines()["sglang"])
    base["aliases"] = tuple(base["aliases"])
    for change in ({"frontend_source": ""}, {"frontend_as_of": ""}, {"frontend_ms": -1.0}):
        with pytest.raises(TypeError):
            type(loader.load_engines()["sglang"])(**{**base, **change})


def test_an_sglang_open_loop_point_waits_its_own_front_end() -> None:
    """At 2 req/s, SGLang's TTFT carries its 6.6 ms and the same engine with vLLM's 26.4 ms carries 19.8 ms more:
    the front end is the only difference."""
    shape = {"input_tokens": 300.0, "output_tokens": 250.0}
    sglang, vllm_like = (at_request_rate(_config(f), rate=2.0, **shape) for f in (0.0066, 0.0264))
    assert vllm_like.ttft_s - sglang.ttft_s == pytest.approx(0.0198, abs=1e-12)


def test_an_in_process_benchmark_pays_no_front_end(tmp_path: Path) -> None:
    """A row whose notes say ``server=in-process`` (the client called the engine itself, as AccelMark's runner does
    with vLLM's ``AsyncLLMEngine``) is predicted without the server front end: its TTFT percentiles are shorter by
    exactly the engine's ``frontend_s`` and nothing else moves (validation.row_fields.in_process)."""
    header = "id,source,engine,model,gpu,num_gpus,tp,pp,precision,kv_precision,input_tokens,output_tokens,load,load_value,metric,value,unit,notes,as_of"
    rows = [
        f"{tag}-{metric},s,vLLM 0.7.3,Llama-3-8B,H100,1,1,1,BF16,BF16,250,346,request-rate,5,{metric},10,ms,{notes},2026-04"
        for tag, notes in (("served", "an HTTP server"), ("local", "server=in-process"))
        for metric in ("ttft_p50_ms", "ttft_p99_ms", "tpot_p99_ms")
    ]
    path = tmp_path / "rows.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    predicted = {r.id: r.predicted for r in validate_file(path).rows}
    frontend = loader.efficiency_for(loader.resolve_gpu("H100"), "vllm").frontend_s * 1e3
    assert frontend > 0
    for metric in ("ttft_p50_ms", "ttft_p99_ms"):
        assert predicted[f"served-{metric}"] - predicted[f"local-{metric}"] == pytest.approx(frontend, rel=1e-6)
    assert predicted["served-tpot_p99_ms"] == pytest.approx(predicted["local-tpot_p99_ms"], rel=1e-9)
