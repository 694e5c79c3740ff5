"""``gpucast export k8s`` and ``export helm``: criticality tiers, the YAML header (adapter rule, warnings), every
reference between the objects, and the production-stack values checked against the chart's own values.schema.json
(vllm-stack 0.1.12, vendored in tests/data)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import jsonschema
import pytest

from conftest import gpucast_exe
from golden.golden_files import load, plan_path
from gpucast.errors import InputError
from gpucast.export.k8s import K8sOptions, manifests_and_warnings, plan_manifests, serving_manifests
from test_export_k8s import CASES, DATA, _by_kind, _documents


def test_criticality_sets_replicas_spread_and_disruption_budget() -> None:
    tier1 = _by_kind(_documents("h100-llama-3.1-70b", {"criticality": "tier1"}))
    assert tier1["Deployment"]["spec"]["replicas"] == 3  # the plan's 2 raised to tier 1's 3
    spread = tier1["Deployment"]["spec"]["template"]["spec"]["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert "HorizontalPodAutoscaler" not in tier1  # the plan's max of 2 is raised too: 3-3, nothing to scale
    tier3 = _by_kind(_documents("h100-size-70b", {"criticality": "tier3"}))
    assert "PodDisruptionBudget" in tier3  # the plan keeps 3 replicas even at tier 3
    single = load("l4-llama-3.1-8b-fp8")
    single["scaling"]["recommended_min_replicas"] = single["scaling"]["recommended_max_replicas"] = 1
    kinds = {x["kind"] for x in serving_manifests(single, K8sOptions(criticality="tier3"))[0]}
    assert "PodDisruptionBudget" not in kinds  # a PDB on one replica would block every node drain


def test_header_states_the_adapter_rule_and_warns_on_stand_ins() -> None:
    text, warnings = manifests_and_warnings(load("h100-agent-llama-3.1-8b"), K8sOptions())
    assert "# autoscaling: HPA on the Pods metric vllm_requests_in_flight" in text
    assert "vllm:num_requests_waiting{<<.LabelMatchers>>}" in text and warnings == []
    assert "imagePullSecrets" in text and "prefixaware" in text  # documented placeholder; prefix-aware routing
    text, warnings = manifests_and_warnings(load("h100-size-70b"), K8sOptions())
    assert warnings and "--model-size stand-in" in warnings[0] and "# note: WARNING: the plan's model" in text


@pytest.mark.parametrize("name", ["h100-llama-3.1-70b", "h100-agent-llama-3.1-8b", "l40s-agent-no-cache-eagle"])
def test_helm_values_match_the_production_stack_schema(name: str) -> None:
    from gpucast.export.helm import helm_values

    schema = json.loads((DATA / "vllm-stack-0.1.12.values.schema.json").read_text(encoding="utf-8"))
    values, _ = helm_values(load(name))
    jsonschema.validate(values, schema)
    spec = values["servingEngineSpec"]["modelSpec"][0]
    plan = load(name)
    assert spec["vllmConfig"]["tensorParallelSize"] == plan["gpu_resources"]["tensor_parallel"]
    assert spec["vllmConfig"]["dtype"] == "auto" and spec["tag"] == "v0.34.0"
    agent = plan.get("agent") or {}
    assert values["routerSpec"]["routingLogic"] == ("prefixaware" if agent.get("prefix_caching") else "roundrobin")
    assert spec["vllmConfig"]["enablePrefixCaching"] is bool(agent.get("prefix_caching", True))
    bad = json.loads(json.dumps(values))
    bad["servingEngineSpec"]["modelSpec"][0]["requestCPU"] = "4"  # the schema wants an integer
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_helm_refuses_what_the_chart_cannot_run() -> None:
    from gpucast.export.helm import helm_values

    with pytest.raises(InputError, match="no LeaderWorkerSet path"):
        helm_values(load("h100-llama-3.1-405b-tp8pp2"))
    with pytest.raises(InputError, match="disaggregated prefill/decode pools"):
        helm_values(load("h100-disagg-llama-3.1-8b"))
    with pytest.raises(InputError, match="runs vLLM only"):
        helm_values(load("h100-llama-3.1-70b"), K8sOptions(engine="sglang"))
    result = subprocess.run([*gpucast_exe(), "export", "helm", str(plan_path("h100-agent-llama-3.1-8b"))],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0 and "routingLogic: prefixaware" in result.stdout


@pytest.mark.parametrize(("name", "options"), CASES)
def test_references_resolve(name: str, options: dict[str, Any]) -> None:
    """Every claim, ConfigMap and Service selector the manifests use points at an object or pods they define."""
    documents = _documents(name, options)
    names = {(d["kind"], d["metadata"]["name"]) for d in documents}
    pod_labels = []
    for document in documents:
        spec = document.get("spec", {})
        templates = [spec.get("template")] + [spec.get("leaderWorkerTemplate", {}).get(k)
                                              for k in ("leaderTemplate", "workerTemplate")]  # fmt: skip
        for template in filter(None, templates):
            pod_labels.append(template["metadata"]["labels"])
            for volume in template["spec"].get("volumes", []):
                if "persistentVolumeClaim" in volume:
                    assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in names
                if "configMap" in volume:
                    assert ("ConfigMap", volume["configMap"]["name"]) in names
    for document in documents:
        if document["kind"] in ("Service", "PodDisruptionBudget", "PodMonitor"):
            spec = document["spec"]
            selector = spec["selector"].get("matchLabels", spec["selector"])
            assert any(selector.items() <= labels.items() for labels in pod_labels), document["metadata"]["name"]


@pytest.mark.parametrize("namespace", ['a"b', "Bad Name!", "", "-ml", "a" * 64])
def test_a_namespace_kubernetes_refuses_is_refused(namespace: str) -> None:
    """--namespace goes verbatim into every object and into the KEDA queries (``namespace="..."``): 'a"b' wrote a
    broken PromQL query and 'Bad Name!' a manifest kubectl rejects, with exit 0 (QA 2026-12-07)."""
    with pytest.raises(InputError, match=r"--namespace .* is not a Kubernetes namespace"):
        K8sOptions(namespace=namespace)
    result = subprocess.run([*gpucast_exe(), "export", "k8s", str(plan_path("h100-agent-llama-3.1-8b")), "--keda",
                             "--namespace", namespace], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2 and result.stdout == "" and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    with pytest.raises(InputError, match="--storage-class"):
        K8sOptions(storage_class="Fast SSD")
    assert K8sOptions(namespace="ml-prod-1", storage_class="fast.ssd-1").namespace == "ml-prod-1"


def test_a_tp_group_over_nvlink_trays_names_the_nvlink_partition_it_needs():
    """DeepSeek-R1 on OCI's 4-GPU GB200 trays at TP=8 spans two trays of one NVLink domain; the plan warned to
    launch them in one domain, but the LeaderWorkerSet said nothing, and nothing keeps its two pods in one NVLink
    partition. An 8-GPU H100 node's TP group (405B TP8 x PP2) needs no such note. (TP=8 is given: with vLLM 0.34's
    measured KV sizing one 4-GPU tray holds the model, and the planner may pick TP=4.)"""
    from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
    from gpucast.planning.inference import plan_inference

    plan = plan_inference(
        LLMWorkloadInput(20, 1000, 300), ModelConfig(model_name="deepseek-r1"), GPUConfig("GB200"),
        ServingOptions(cloud="oci", tp=8),
    ).to_dict()  # fmt: skip
    assert plan["gpu_resources"]["tensor_parallel"] == 8
    text = plan_manifests(plan)
    assert "kind: LeaderWorkerSet" in text and "nvidia.com/gpu.clique" in text
    assert "nvidia.com/gpu.clique" not in plan_manifests(load("h100-llama-3.1-405b-tp8pp2"))
