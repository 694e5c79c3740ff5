"""Edge inputs of the serving variants (agent workloads, speculative decoding, disaggregation) found by a trust sweep
(docs/reliability.md, "Serving variants sweep"): a flag that would do nothing, or a combination that contradicts
itself, is one clear line and exit 2; an infeasible answer names the target that no load meets."""

from __future__ import annotations

import json

import pytest

from gpucast.catalog import loader
from gpucast.core.disaggregation import plan_disaggregated
from gpucast.core.inference import replica_config
from gpucast.core.specs import Precision
from gpucast.core.workload import PlanSettings, Workload
from gpucast.errors import InputError
from gpucast.inputs.agent import AgentWorkloadInput
from gpucast.inputs.types import ServingOptions
from test_serving_edges import one_line_error, run

BASE = ["inference", "--model", "llama-3.1-70b", "--gpu-type", "H100", "--output-tokens", "250"]
RATE = ["--rps", "5", "--input-tokens", "1000"]
AGENT = ["--tasks-per-second", "0.5", "--shared-prefix-tokens", "3000", "--context-growth-tokens", "1000",
         "--calls-per-task", "8"]  # fmt: skip


def test_a_kv_link_without_disaggregation_is_refused() -> None:
    """``--kv-transfer-gb-s`` sizes the prefill-to-decode link of a disaggregated plan; alone it was ignored."""
    line = one_line_error([*BASE, *RATE, "--kv-transfer-gb-s", "10"])
    assert "--kv-transfer-gb-s 10" in line and "--disaggregation" in line
    with pytest.raises(InputError, match="--disaggregation"):
        ServingOptions(kv_transfer_gb_s=10.0).validate(("aws",))
    ServingOptions(kv_transfer_gb_s=10.0, disaggregation=True).validate(("aws",))


@pytest.mark.parametrize("draft", ["llama-3.1-70b", "llama-3.1-405b"])
def test_a_draft_model_not_smaller_than_the_target_is_refused(draft: str) -> None:
    """A 405B draft for a 70B target was blamed on the KV cache ("holds 0 tokens at TP=8 PP=8"), a 70B draft for
    itself planned 16 GPUs: a draft proposes tokens more cheaply than the target, or it is no draft."""
    line = one_line_error(
        [*BASE, *RATE, "--speculative-tokens", "4", "--acceptance-rate", "0.7", "--draft-model", draft]
    )
    assert f"--draft-model '{draft}'" in line and "is not smaller than Llama-3.1-70B (70.6B)" in line


def test_a_small_draft_model_still_plans() -> None:
    status, out, err = run([*BASE, *RATE, "--speculative-tokens", "4", "--acceptance-rate", "0.7",
                            "--draft-model", "llama-3.2-1b"])  # fmt: skip
    assert status == 0, err
    assert "Total GPUs" in out


def test_an_infeasible_disaggregation_names_the_kv_transfer_when_it_is_the_cause() -> None:
    """At 0.01 GB/s the verdict said "prefill alone exceeds the TTFT SLO" for an 86 ms prefill: the 8 s transfer was."""
    model, gpu = loader.resolve_model("llama-3.1-70b"), loader.resolve_gpu("H100")
    cfg, _, _ = replica_config(model, gpu, loader.efficiency_for(gpu), precision=Precision.FP16,
                               kv_precision=Precision.FP16, tp=4, pp=1, workload=Workload(0.0, 1000, 250),
                               settings=PlanSettings(context_window=4096))  # fmt: skip
    common = {"input_tokens": 1000.0, "output_tokens": 250.0, "cached_input_tokens": 0.0, "peak_calls_per_s": 7.5,
              "safety_margin": 0.25, "ttft_slo_ms": 2000.0, "itl_slo_ms": 100.0, "unified_total_gpus": 8,
              "unified_itl_ms": 30.0, "unified_prefill_share": 0.1}  # fmt: skip
    slow = plan_disaggregated(cfg, **common, link_gb_s=0.01)
    assert not slow.feasible
    assert "plus the KV transfer" in slow.reason and "at 0.01 GB/s per GPU" in slow.reason
    lone = plan_disaggregated(cfg, **{**common, "ttft_slo_ms": 1.0}, link_gb_s=50.0)
    assert "prefill alone" in lone.reason


def test_a_prefix_cache_size_with_prefix_caching_off_is_refused() -> None:
    line = one_line_error([*BASE, *AGENT, "--no-prefix-caching", "--prefix-cache-gib", "5"])
    assert "--prefix-cache-gib" in line and "--no-prefix-caching" in line
    with pytest.raises(InputError, match="give one or the other"):
        AgentWorkloadInput(1.0, 2.0, 100, 100, prefix_caching=False, prefix_cache_gib=5.0).validate(100)


def test_think_time_past_its_bound_says_the_bound() -> None:
    """1e9 s was refused as "must be a number of seconds, 0 or more", which it is."""
    assert "from 0 to 1000000" in one_line_error([*BASE, *AGENT, "--think-time-s", "1e9"])


def test_an_unmeetable_task_slo_is_named_in_the_infeasible_answer() -> None:
    """The answer listed the TTFT and TPOT targets only, and "(task-latency missed)" without the target."""
    line = one_line_error([*BASE, *AGENT, "--task-slo-ms", "1"])
    assert "task <= 1 ms" in line and "task-latency missed" in line


def test_a_fixed_call_count_above_the_cap_is_said() -> None:
    status, out, err = run([*BASE, *AGENT, "--max-calls-per-task", "4"])
    assert status == 0, err
    assert "every task capped at 4 calls" in out + err


def test_the_rest_api_refuses_the_same_combinations(tmp_path) -> None:
    """The JSON API answers the two contradictions above with its one error shape (422), as the CLI does."""
    from fastapi.testclient import TestClient

    from gpucast.web import create_app

    rate = {"requests_per_second": 5, "avg_input_tokens": 1000, "avg_output_tokens": 250}
    bodies = {
        "--disaggregation": {"workload": rate, "model": {"model_name": "llama-3.1-70b"},
                             "serving": {"kv_transfer_gb_s": 10}},
        "give one or the other": {"workload": {"avg_output_tokens": 250}, "model": {"model_name": "llama-3.1-70b"},
                                  "agent": {"tasks_per_second": 0.5, "calls_per_task": 8, "shared_prefix_tokens": 3000,
                                            "context_growth_tokens": 1000, "prefix_caching": False,
                                            "prefix_cache_gib": 5}},
    }  # fmt: skip
    with TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}")) as client:
        for expected, body in bodies.items():
            response = client.post("/api/v1/inference", json=body)
            assert response.status_code == 422, response.text
            assert expected in response.json()["error"]


def test_estimate_takes_the_speculative_options_everywhere(tmp_path) -> None:
    """``estimate`` speculates as ``inference`` does: from the CLI, the Python API and the REST API alike, with the
    same refusals (a draft model not smaller than the target)."""
    from fastapi.testclient import TestClient

    from gpucast.planning.estimate import EstimateRequest, estimate
    from gpucast.web import create_app

    fields = {"model": "llama-3.1-70b", "gpu": "H100", "num_gpus": 4, "tp": 4, "input_tokens": 1000,
              "output_tokens": 250, "load": "request-rate", "load_value": 2.0}  # fmt: skip
    spec = {"speculative_tokens": 4, "acceptance_rate": 0.7, "draft_model": "llama-3.2-1b"}
    plain, fast = estimate(EstimateRequest(**fields)), estimate(EstimateRequest(**fields, **spec))
    assert fast.itl_ms < plain.itl_ms  # 2.77 tokens per verification step at 70% acceptance
    flags = ["estimate", "--model", "llama-3.1-70b", "--gpu", "H100", "--num-gpus", "4", "--tp", "4",
             "--input-tokens", "1000", "--output-tokens", "250", "--request-rate", "2", "--json",
             "--speculative-tokens", "4", "--acceptance-rate", "0.7"]  # fmt: skip
    status, out, err = run([*flags, "--draft-model", "llama-3.2-1b"])
    assert status == 0, err
    assert json.loads(out)["itl_ms"] == pytest.approx(fast.itl_ms)
    assert "is not smaller than" in one_line_error([*flags, "--draft-model", "llama-3.1-405b"])
    with TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}")) as client:
        response = client.post("/api/v1/estimate", json={**fields, **spec})
        assert response.status_code == 200, response.text
        assert response.json()["itl_ms"] == pytest.approx(fast.itl_ms)
        refused = client.post("/api/v1/estimate", json={**fields, **spec, "draft_model": "llama-3.1-405b"})
        assert refused.status_code == 422 and "is not smaller than" in refused.json()["error"]


def test_the_rest_estimate_body_takes_the_moe_layout_and_engine_release(tmp_path) -> None:
    """``ep``, ``attention_dp`` and ``engine_version`` were CLI and Python API fields the REST body refused."""
    from fastapi.testclient import TestClient

    from gpucast.planning.estimate import EstimateRequest, estimate
    from gpucast.web import create_app

    fields = {"model": "deepseek-r1", "gpu": "H200", "num_gpus": 8, "tp": 8, "ep": 8, "attention_dp": 8,
              "input_tokens": 1000, "output_tokens": 1000, "load": "concurrency", "load_value": 64,
              "engine": "sglang", "engine_version": "0.4.3"}  # fmt: skip
    with TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}")) as client:
        response = client.post("/api/v1/estimate", json=fields)
    assert response.status_code == 200, response.text
    assert response.json()["ep"] == 8 and response.json()["attention_dp"] == 8
    assert response.json()["itl_ms"] == pytest.approx(estimate(EstimateRequest(**fields)).itl_ms)


@pytest.mark.parametrize("cached", ["1000", "-1", "nan", "2000"])
def test_cached_input_tokens_outside_the_prompt_are_refused(cached: str) -> None:
    """``estimate --cached-input-tokens`` is the part of each prompt served from the prefix cache: at least one token
    of the prompt must be prefilled."""
    line = one_line_error(["estimate", "--model", "llama-3.1-8b", "--gpu", "H100", "--num-gpus", "1",
                           "--input-tokens", "1000", "--output-tokens", "100", "--request-rate", "1",
                           "--cached-input-tokens", cached])  # fmt: skip
    assert f"--cached-input-tokens {float(cached):g}" in line and "less than --input-tokens (1000)" in line
