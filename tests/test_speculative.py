"""Speculative decoding (core/speculative.py): Leviathan et al. 2023's expected tokens per step,
the verification step's cost, draft memory, and the plan's ``speculative`` section."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpucast import GPUConfig, InputError, LLMWorkloadInput, ModelConfig, ServingOptions, plan_inference
from gpucast.catalog import loader
from gpucast.core.params import count_parameters
from gpucast.core.perf import decode_step
from gpucast.core.replica import ReplicaConfig, decode_step_time
from gpucast.core.specs import Precision
from gpucast.core.speculative import SpeculativeConfig, draft_memory_per_gpu, expected_tokens_per_step, proposer


@pytest.mark.parametrize(
    ("alpha", "k", "tokens"),
    [
        (0.5, 1, 1.5),  # (1 - 0.25) / 0.5
        (0.7, 3, (1 - 0.7**4) / 0.3),  # 2.533
        (0.8, 4, (1 - 0.8**5) / 0.2),  # 3.3616
        (1.0, 4, 5.0),  # every draft accepted: k + 1
        (0.0, 4, 1.0),  # none accepted: the target's own token
        (0.9, 0, 1.0),  # no drafting
    ],
)
def test_expected_tokens_per_step(alpha, k, tokens):
    assert expected_tokens_per_step(alpha, k) == pytest.approx(tokens)


def test_one_token_per_sequence_is_the_plain_step(ideal, h100):
    model = loader.resolve_model("llama-3.1-8b")
    common = {"precision": Precision.BF16, "kv_precision": Precision.BF16, "tp": 1, "pp": 1, "batch": 16.0}
    plain = decode_step(model, h100, ideal, context_tokens=1000, **common)
    assert decode_step(model, h100, ideal, context_tokens=1000, tokens_per_sequence=1.0, **common) == plain


def test_verification_multiplies_flops_not_bytes(ideal, h100):
    model = loader.resolve_model("llama-3.1-8b")
    common = {"precision": Precision.BF16, "kv_precision": Precision.BF16, "tp": 1, "pp": 1, "batch": 8.0}
    one = decode_step(model, h100, ideal, context_tokens=1000, **common)
    five = decode_step(model, h100, ideal, context_tokens=1000, tokens_per_sequence=5.0, **common)
    assert five.bytes_per_gpu == one.bytes_per_gpu
    assert five.flops_per_gpu == pytest.approx(5 * one.flops_per_gpu)


def test_mtp_head_is_one_layer_by_hand():
    # Llama-3.1-70B layer: q,o 8192^2 each, k,v 8192 x 1024 each, MLP 3 x 8192 x 28672, 2 norms
    target = loader.resolve_model("llama-3.1-70b")
    layer = 2 * 8192**2 + 2 * 8192 * 1024 + 3 * 8192 * 28672 + 2 * 8192
    spec = SpeculativeConfig(3, 0.7)
    weights, kv = draft_memory_per_gpu(target, spec, precision=Precision.BF16, kv_precision=Precision.BF16, tp=4)
    assert weights == pytest.approx(layer * 2 / 4, rel=1e-3)
    # one layer's KV: 2 x 8 kv heads x 128 x 2 bytes, heads split over TP=4
    assert kv == pytest.approx(2 * 8 * 128 * 2 / 4)
    assert proposer(target, spec).num_layers == 1


def test_draft_model_memory_is_its_weights():
    target, draft = loader.resolve_model("llama-3.1-8b"), loader.resolve_model("llama-3.2-1b")
    spec = SpeculativeConfig(4, 0.6, "draft", draft)
    weights, _ = draft_memory_per_gpu(target, spec, precision=Precision.BF16, kv_precision=Precision.BF16, tp=1)
    assert weights == pytest.approx(count_parameters(draft).total * 2, rel=0.01)


def test_helps_when_memory_bound_hurts_when_compute_bound(h100):
    """Small batch: the verify step costs about one step, so tokens come ~tau x faster (a 70B target, whose step
    is weight-bound, not overhead-bound); at batch 256
    the 5-token verification is compute-bound and the drafted tokens cost more than they save."""
    model = loader.resolve_model("llama-3.1-70b")
    cfg = ReplicaConfig(model, h100, loader.efficiency_for(h100), Precision.BF16, Precision.BF16, 1, 1, 256)
    spec = replace(cfg, speculative=SpeculativeConfig(4, 0.6, "draft", loader.resolve_model("llama-3.2-1b")))
    low = decode_step_time(cfg, 1.0, 2000).total_s / decode_step_time(spec, 1.0, 2000).total_s
    high = decode_step_time(cfg, 256.0, 2000).total_s / decode_step_time(spec, 256.0, 2000).total_s
    assert low > 1.1
    assert high < 1.0


def _plan(rps: float, **options):
    return plan_inference(
        LLMWorkloadInput(rps, 1000, 300),
        ModelConfig(model_name="llama-3.1-70b", precision="BF16"),
        GPUConfig("h100"),
        ServingOptions(tp=4, **options),
    )


def test_plan_reports_speculation_against_the_same_replica():
    """A tight ITL SLO keeps the batch small (memory-bound): speculation helps and saves GPUs."""
    plain = _plan(2.0, itl_slo_ms=30)
    spec = _plan(2.0, itl_slo_ms=30, speculative_tokens=3, acceptance_rate=0.7)
    s = spec.speculative
    assert plain.speculative is None and s is not None
    assert s.tokens_per_step == pytest.approx((1 - 0.7**4) / 0.3)
    assert s.itl_speedup_at_batch_1 > 1.5 and s.helps
    assert s.itl_ms_with < s.itl_ms_without
    assert s.total_gpus_without == plain.gpu_resources.total_gpus
    assert spec.gpu_resources.total_gpus <= plain.gpu_resources.total_gpus
    assert spec.gpu_resources.kv_cache_tokens < plain.gpu_resources.kv_cache_tokens  # draft weights + KV
    assert spec.to_dict()["speculative"]["draft_tokens"] == 3


def test_plan_says_when_speculation_hurts_at_the_planned_batch():
    """Loose SLOs (on means: p99 ITL binds at ~80 sequences) let the planner run ~250 sequences: verification is
    compute-bound there."""
    s = _plan(2.0, speculative_tokens=3, acceptance_rate=0.7, ttft_slo_ms=30_000, slo_percentile="mean").speculative
    assert s is not None
    assert s.itl_speedup_at_batch_1 > 1.5
    assert s.itl_speedup_at_planned_batch < 1.0 and not s.helps
    assert "turn it off" in s.note


def test_speculative_inputs_are_checked():
    with pytest.raises(InputError, match="--acceptance-rate is required"):
        _plan(1.0, speculative_tokens=3)
    with pytest.raises(InputError, match="--acceptance-rate"):
        _plan(1.0, speculative_tokens=3, acceptance_rate=1.5)
    with pytest.raises(InputError, match="--speculative-tokens"):
        _plan(1.0, speculative_tokens=-1, acceptance_rate=0.5)
    with pytest.raises(InputError, match="tokenizer"):
        _plan(1.0, speculative_tokens=3, acceptance_rate=0.5, draft_model="qwen2.5-7b")


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        (["inference", "--rps", "5"], ["--acceptance-rate", "0.7"]),
        (["inference", "--rps", "5"], ["--draft-model", "llama-3.2-1b"]),
        (["compare", "--rps", "5", "--top", "1"], ["--acceptance-rate", "0.7"]),
        (["estimate", "--gpu", "H100", "--num-gpus", "1", "--max-throughput"], ["--acceptance-rate", "0.7"]),
        (["estimate", "--gpu", "H100", "--num-gpus", "1", "--max-throughput"], ["--draft-model", "llama-3.2-1b"]),
    ],
)
def test_a_speculation_setting_without_speculative_tokens_is_refused(command, flags, capsys):
    """``--acceptance-rate 0.7`` alone was ignored with exit 0 (a plan without speculation), while
    ``--kv-transfer-gb-s`` without ``--disaggregation`` is refused (QA 2026-12-07); ``--speculative-tokens 0`` with
    it is an explicit "off" and plans as before, as the Python API's ``speculative_tokens=0`` does."""
    from gpucast.cli.main import main

    argv = [*command, "--model", "llama-3.1-8b", "--input-tokens", "500", "--output-tokens", "200"]
    assert main([*argv, *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "describes speculative decoding: give --speculative-tokens" in err[0], err
    assert main([*argv, *flags, "--speculative-tokens", "0", "--json"]) == 0
    capsys.readouterr()


def test_rest_refuses_a_speculation_setting_without_speculative_tokens(tmp_path):
    from fastapi.testclient import TestClient

    from gpucast.web import create_app

    client = TestClient(create_app(f"sqlite:///{tmp_path / 'web.db'}"))
    body = {"model": "llama-3.1-8b", "gpu": "H100", "num_gpus": 1, "input_tokens": 500, "output_tokens": 200}
    refused = client.post("/api/v1/estimate", json={**body, "acceptance_rate": 0.7})
    assert refused.status_code == 422 and refused.json()["field"] == "acceptance_rate"
    assert client.post("/api/v1/estimate", json={**body, "speculative_tokens": 0, "acceptance_rate": 0.7}).is_success
    plan = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 200},
            "model": {"model_name": "llama-3.1-8b"}, "serving": {"draft_model": "llama-3.2-1b"}}  # fmt: skip
    assert client.post("/api/v1/inference", json=plan).status_code == 422
