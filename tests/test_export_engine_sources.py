"""Exports against the engines' own sources (docs/reliability.md, "Exports against the engines' sources").

Each test pins a value the engine release reads differently from what an earlier export assumed:

* TensorRT-LLM 1.2's ``speculative_config`` is a pydantic union discriminated by ``decoding_type``
  (tensorrt_llm/llmapi/llm_args.py): "Draft_Target" and "Eagle3" are its literals ("DraftTarget" matches no member,
  so the server does not start) and ``speculative_model`` its field; 1.0 keyed ``DecodingBaseConfig.from_dict``
  by "DraftTarget" / "Eagle" with ``speculative_model_dir``.
* TensorRT-LLM's capacity scheduler admits ``max_batch_size x pp_size`` sequences per rank
  (tensorrt_llm/_torch/pyexecutor/_util.py), so a PP replica exported with the plan's whole concurrency could hold
  twice the sequences the plan's latency allows.
* TensorRT-LLM 1.0 replaced the CLI's ``kv_cache_config`` by the options file's (``llm_args | file``), so a plan's
  memory fraction was dropped whenever the file set an FP8 KV cache or block reuse.
* SGLang gives each attention DP rank ``max_running_requests // attn_dp_size`` (0.5.23
  mem_cache/kv_cache_configurator.py; 0.5.9 model_runner.py), so a replica-wide value that is not a multiple of the
  ranks left every rank below its share.
* SGLang's /health generates one token and waits up to 20 s for the scheduler: the probes' timeouts cover it.
* trtllm-serve's Prometheus text is at /prometheus/metrics (its /metrics is JSON).
"""

from __future__ import annotations

import copy

import pytest

from golden.golden_files import load
from gpucast.export import launch_for
from gpucast.export.engine_args import LaunchOptions
from gpucast.export.k8s import serving_manifests
from gpucast.export.k8s_pods import K8sOptions
from test_export_engine_args import _flags


def _draft_plan() -> dict:
    plan = copy.deepcopy(load("h200-deepseek-v3-fp8-mtp"))
    plan["inputs"]["draft_model"] = "llama-3.2-1b"
    return plan


@pytest.mark.parametrize(("version", "draft", "eagle", "model_key"), [
    ("1.2.1", "Draft_Target", "Eagle3", "speculative_model"),
    ("1.0.0", "DraftTarget", "Eagle", "speculative_model_dir"),
])  # fmt: skip
def test_trtllm_speculative_names_follow_the_release(version: str, draft: str, eagle: str, model_key: str) -> None:
    options = LaunchOptions(engine="trtllm", version=version)
    spec = launch_for(_draft_plan(), "trtllm", options).config_file["speculative_config"]
    assert spec == {"decoding_type": draft, "max_draft_len": 2, model_key: "meta-llama/Llama-3.2-1B-Instruct"}
    head = "yuhuili/EAGLE3-LLaMA3.1-Instruct-8B"
    with_head = LaunchOptions(engine="trtllm", version=version, speculative_model=head)
    spec = launch_for(load("l40s-agent-no-cache-eagle"), "trtllm", with_head).config_file["speculative_config"]
    assert spec == {"decoding_type": eagle, "max_draft_len": 3, model_key: head}


def test_trtllm_batch_size_is_per_pipeline_stage() -> None:
    plan = load("h100-llama-3.1-405b-tp8pp2")
    concurrency = int(plan["throughput"]["concurrency_per_replica"])
    assert plan["gpu_resources"]["pipeline_parallel"] == 2 and concurrency % 2 == 0
    assert _flags(launch_for(plan, "trtllm").argv)["--max_batch_size"] == str(concurrency // 2)
    odd = copy.deepcopy(plan)
    odd["throughput"]["concurrency_per_replica"] = concurrency + 1  # rounded up: the stages hold at least the plan's
    assert _flags(launch_for(odd, "trtllm").argv)["--max_batch_size"] == str(concurrency // 2 + 1)
    # vLLM and SGLang cap the whole replica's running sequences, whatever the PP depth
    assert _flags(launch_for(plan, "vllm").argv)["--max-num-seqs"] == str(concurrency)
    assert _flags(launch_for(plan, "sglang").argv)["--max-running-requests"] == str(concurrency)


def _fp8_kv_plan(fraction: float) -> dict:
    plan = copy.deepcopy(load("h200-deepseek-v3-fp8"))
    assert plan["inputs"]["kv_precision"] == "FP8"
    plan["inputs"]["gpu_memory_utilization"] = fraction
    return plan


@pytest.mark.parametrize("version", ["1.2.1", "1.0.0"])
def test_trtllm_options_file_keeps_the_memory_fraction(version: str) -> None:
    launch = launch_for(_fp8_kv_plan(0.85), "trtllm", LaunchOptions(engine="trtllm", version=version))
    assert launch.config_file["kv_cache_config"] == {"dtype": "fp8", "free_gpu_memory_fraction": 0.85}
    assert _flags(launch.argv)["--kv_cache_free_gpu_memory_fraction"] == "0.85"
    agent = launch_for(load("l40s-agent-no-cache-eagle"), "trtllm", LaunchOptions(engine="trtllm", version=version))
    fraction = load("l40s-agent-no-cache-eagle")["inputs"]["gpu_memory_utilization"]
    assert agent.config_file["kv_cache_config"] == {"enable_block_reuse": False, "free_gpu_memory_fraction": fraction}
    plain = launch_for(load("h100-llama-3.1-70b"), "trtllm")  # no options-file section to repeat it in
    assert "kv_cache_config" not in plain.config_file


def _attention_dp_plan(concurrency: float) -> dict:
    plan = copy.deepcopy(load("h200-deepseek-v3-fp8"))
    plan["gpu_resources"] |= {"expert_parallel": 8, "attention_data_parallel": 8}
    plan["throughput"]["concurrency_per_replica"] = concurrency
    return plan


@pytest.mark.parametrize("version", ["0.5.23", "0.5.9"])
def test_sglang_running_requests_give_every_dp_rank_its_share(version: str) -> None:
    options = LaunchOptions(engine="sglang", version=version)
    value = int(_flags(launch_for(_attention_dp_plan(1030.4), "sglang", options).argv)["--max-running-requests"])
    assert value == 1032 and value // 8 == 129  # 1030 // 8 = 128 per rank before: 1024 sequences, not 1030
    # the engines that cap each rank get the same 129 per rank
    assert _flags(launch_for(_attention_dp_plan(1030.4), "vllm").argv)["--max-num-seqs"] == "129"
    assert _flags(launch_for(_attention_dp_plan(1030.4), "trtllm").argv)["--max_batch_size"] == "129"
    exact = _flags(launch_for(_attention_dp_plan(1032), "sglang", options).argv)["--max-running-requests"]
    assert exact == "1032"


def _engine_probes(engine: str) -> dict:
    documents, _ = serving_manifests(load("h100-llama-3.1-70b"), K8sOptions(engine=engine))
    workload = next(d for d in documents if d["kind"] == "Deployment")
    return workload["spec"]["template"]["spec"]["containers"][0]


def test_sglang_probes_wait_for_its_generating_health_check() -> None:
    """SGLang 0.5.23's /health sends a one-token request and waits up to 20 s (SGLANG_HEALTH_CHECK_TIMEOUT) for the
    scheduler; a 5 s readiness timeout failed pods the engine still reported healthy."""
    sgl = _engine_probes("sglang")
    assert sgl["readinessProbe"]["timeoutSeconds"] == 25 and sgl["livenessProbe"]["timeoutSeconds"] == 25
    assert sgl["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    vllm = _engine_probes("vllm")  # vLLM's /health answers from the engine's state at once
    assert (vllm["readinessProbe"]["timeoutSeconds"], vllm["livenessProbe"]["timeoutSeconds"]) == (5, 10)


def test_trtllm_pod_monitor_scrapes_prometheus_text() -> None:
    """trtllm-serve's /metrics is JSON iteration statistics (a Prometheus scrape fails and marks the target down);
    prometheus_client's app is mounted at /prometheus/metrics. 1.0.0: no Prometheus endpoint known, no PodMonitor."""
    plan = load("h100-llama-3.1-70b")
    documents, _ = serving_manifests(plan, K8sOptions(engine="trtllm"))
    monitor = next(d for d in documents if d["kind"] == "PodMonitor")
    assert monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/prometheus/metrics"
    old = K8sOptions(engine="trtllm", launch=LaunchOptions(engine="trtllm", version="1.0.0"))
    assert not [d for d in serving_manifests(plan, old)[0] if d["kind"] == "PodMonitor"]
    vllm = next(d for d in serving_manifests(plan)[0] if d["kind"] == "PodMonitor")
    assert vllm["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"
