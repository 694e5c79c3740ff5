"""``gpucast export k8s``: manifests from stored plans (golden files), validated offline against the Kubernetes
OpenAPI schemas of the ``kubernetes-validate`` package (strict: unknown fields fail), the KEDA ScaledObject CRD
schema vendored in tests/data (KEDA v2.20.2), and — for the Kubeflow PyTorchJob, whose CRD is not packaged on
PyPI/npm — a hand-written structural schema plus the core PodTemplate schema for its pod templates."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import gpucast_exe
from golden.golden_files import INFERENCE, TRAINING, check, load, plan_path
from gpucast.errors import InputError
from gpucast.export.k8s import K8sOptions, plan_manifests, serving_manifests
from gpucast.export.k8s_training import training_manifests

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate ([dev] extra)")
K8S_VERSION = "1.33.0"  # a current Kubernetes minor; the package bundles its OpenAPI schemas
DATA = Path(__file__).resolve().parent / "data"
CASES = [(name, {}) for name in INFERENCE + TRAINING] + [
    ("h100-llama-3.1-70b", {"keda": True, "namespace": "llm"}),
    ("h200-deepseek-v3-fp8", {"engine": "sglang", "keda": True}),
    ("h100-llama-3.1-70b", {"engine": "trtllm"}),
    ("lora-llama-3.1-8b", {"kubeflow": True}),
    ("full-llama-3.1-70b-32gpu", {"kubeflow": True}),
]
PYTORCHJOB_SCHEMA = {  # the CRD's required structure (kubeflow/training-operator v1 PyTorchJob), written by hand
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kubeflow.org/v1"}, "kind": {"const": "PyTorchJob"},
        "spec": {"type": "object", "required": ["pytorchReplicaSpecs"], "additionalProperties": False, "properties": {
            "nprocPerNode": {"type": "string"}, "elasticPolicy": {"type": "object"},
            "runPolicy": {"type": "object", "additionalProperties": False, "properties": {
                "backoffLimit": {"type": "integer"}, "activeDeadlineSeconds": {"type": "integer", "minimum": 1},
                "cleanPodPolicy": {"enum": ["All", "Running", "None"]}, "ttlSecondsAfterFinished": {"type": "integer"},
                "schedulingPolicy": {"type": "object"}, "suspend": {"type": "boolean"}}},
            "pytorchReplicaSpecs": {"type": "object", "additionalProperties": False, "required": ["Master"],
                                    "patternProperties": {"^(Master|Worker)$": {
                "type": "object", "required": ["replicas", "template"], "additionalProperties": False, "properties": {
                    "replicas": {"type": "integer", "minimum": 1},
                    "restartPolicy": {"enum": ["Always", "OnFailure", "Never", "ExitCode"]},
                    "template": {"type": "object"}}}}},
        }},
    },
}  # fmt: skip


def _documents(name: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(plan_manifests(load(name), K8sOptions(**options))))


def _golden_name(name: str, options: dict[str, Any]) -> str:
    suffix = "".join(f".{k}-{v}" if v is not True else f".{k}" for k, v in sorted(options.items()))
    return f"k8s/{name}{suffix}.yaml"


@pytest.mark.parametrize(("name", "options"), CASES)
def test_manifests_match_golden(name: str, options: dict[str, Any]) -> None:
    check(_golden_name(name, options), plan_manifests(load(name), K8sOptions(**options)))


def _validate(document: dict[str, Any]) -> None:
    kind = document["kind"]
    if kind == "ScaledObject":
        crd = yaml.safe_load((DATA / "keda.sh_scaledobjects.yaml").read_text(encoding="utf-8"))
        version = next(v for v in crd["spec"]["versions"] if v["name"] == document["apiVersion"].split("/")[1])
        jsonschema.validate(document, version["schema"]["openAPIV3Schema"])
    elif kind == "PyTorchJob":
        jsonschema.validate(document, PYTORCHJOB_SCHEMA)
        for role in document["spec"]["pytorchReplicaSpecs"].values():
            wrapped = {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": "t"},
                "template": role["template"],
            }
            kubernetes_validate.validate(wrapped, K8S_VERSION, strict=True)
    else:
        kubernetes_validate.validate(document, K8S_VERSION, strict=True)


@pytest.mark.parametrize(("name", "options"), CASES)
def test_manifests_are_valid_kubernetes(name: str, options: dict[str, Any]) -> None:
    documents = _documents(name, options)
    assert documents
    for document in documents:
        _validate(document)


def test_validation_can_fail() -> None:
    """The validators reject what Kubernetes and KEDA would reject (so the test above means something)."""
    deployment = next(d for d in _documents("h100-llama-3.1-70b", {}) if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment)
    scaled = next(d for d in _documents("h100-llama-3.1-70b", {"keda": True}) if d["kind"] == "ScaledObject")
    scaled["spec"]["triggers"][0]["metadata"]["threshold"] = 179.2  # KEDA trigger metadata values are strings
    with pytest.raises(jsonschema.ValidationError):
        _validate(scaled)
    job = _documents("lora-llama-3.1-8b", {"kubeflow": True})[0]
    job["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = "1"
    with pytest.raises(jsonschema.ValidationError):
        _validate(job)


def _by_kind(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in documents}


@pytest.mark.parametrize("name", INFERENCE)
def test_serving_objects_carry_the_plan(name: str) -> None:
    plan = load(name)
    res, scaling, cost = plan["gpu_resources"], plan["scaling"], plan["cost"]
    docs = _by_kind(_documents(name, {}))
    assert set(docs) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    gpus = res["tensor_parallel"] * res["pipeline_parallel"]
    assert container["resources"] == {"requests": {"nvidia.com/gpu": gpus}, "limits": {"nvidia.com/gpu": gpus}}
    assert docs["Deployment"]["spec"]["replicas"] == scaling["recommended_min_replicas"]
    assert {p["httpGet"]["path"] for k, p in container.items() if k.endswith("Probe")} == {"/health"}
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    assert pod["nodeSelector"]["node.kubernetes.io/instance-type"] == cost["instance_type"]
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (scaling["recommended_min_replicas"],
                                                         scaling["recommended_max_replicas"])  # fmt: skip
    target = float(hpa["metrics"][0]["pods"]["target"]["averageValue"])
    assert target == pytest.approx(scaling["auto_scale_queue_depth_threshold"], rel=1e-3)
    assert docs["Service"]["spec"]["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]


def test_gke_accelerator_label_and_keda_triggers() -> None:
    l4 = _by_kind(_documents("l4-llama-3.1-8b-fp8", {"keda": True}))
    assert l4["Deployment"]["spec"]["template"]["spec"]["nodeSelector"] == {
        "node.kubernetes.io/instance-type": "g2-standard-4",
        "cloud.google.com/gke-accelerator": "nvidia-l4",
    }
    assert "HorizontalPodAutoscaler" not in l4  # KEDA owns the HPA of a ScaledObject
    triggers = l4["ScaledObject"]["spec"]["triggers"]
    assert "vllm:num_requests_running" in triggers[0]["metadata"]["query"]
    assert "vllm:num_requests_waiting" in triggers[0]["metadata"]["query"]
    assert float(triggers[0]["metadata"]["threshold"]) == pytest.approx(
        load("l4-llama-3.1-8b-fp8")["scaling"]["auto_scale_queue_depth_threshold"], rel=1e-3
    )
    sglang = _by_kind(_documents("h200-deepseek-v3-fp8", {"keda": True, "engine": "sglang"}))["ScaledObject"]
    assert "sglang:num_queue_reqs" in sglang["spec"]["triggers"][0]["metadata"]["query"]


def test_trtllm_options_file_is_mounted_and_keda_refused() -> None:
    docs = _by_kind(_documents("h100-llama-3.1-70b", {"engine": "trtllm"}))
    assert "extra-llm-api-options.yaml" in docs["ConfigMap"]["data"]
    mounts = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "engine-options", "mountPath": "/etc/trtllm"} in mounts
    pods = docs["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["pods"]  # no request gauges: DCGM GPU utilization
    assert pods["metric"]["name"] == "DCGM_FI_DEV_GPU_UTIL"
    gpu_util = load("h100-llama-3.1-70b")["scaling"]["auto_scale_gpu_util_threshold"]
    assert float(pods["target"]["averageValue"]) == pytest.approx(100 * gpu_util)
    with pytest.raises(InputError, match="--keda needs Prometheus gauges"):
        serving_manifests(load("h100-llama-3.1-70b"), K8sOptions(engine="trtllm", keda=True))


def test_pod_needing_more_gpus_than_the_priced_instance_gets_a_bigger_node() -> None:
    plan = load("l4-llama-3.1-8b-fp8")
    plan["gpu_resources"]["tensor_parallel"] = 2  # 2 GPUs per pod; the plan priced g2-standard-4 (1 L4)
    documents, notes = serving_manifests(plan)
    selector = documents[0]["spec"]["template"]["spec"]["nodeSelector"]
    assert selector["node.kubernetes.io/instance-type"] == "g2-standard-48"
    assert any("fewer than the 2 GPUs" in n for n in notes)


def test_training_job_single_and_multi_node() -> None:
    single, _ = training_manifests(load("lora-llama-3.1-8b"))
    job = single[0]
    assert job["kind"] == "Job" and job["spec"]["completions"] == 1
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "--standalone" in container["command"]
    plan = load("full-llama-3.1-70b-32gpu")
    multi, _ = training_manifests(plan)
    job, service = multi
    nodes, per_node = plan["gpu_resources"]["nodes"], plan["gpu_resources"]["gpus_per_node"]
    assert (job["spec"]["completions"], job["spec"]["parallelism"]) == (nodes, nodes)
    assert (nodes, per_node) == (4, 8)
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"--nnodes={nodes}" in command and f"--nproc-per-node={per_node}" in command
    assert (
        service["spec"]["clusterIP"] == "None"
        and job["spec"]["template"]["spec"]["subdomain"] == service["metadata"]["name"]
    )
    env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GPUCAST_TENSOR_PARALLEL"] == str(plan["parallelism"]["tensor_parallel"])
    assert env["GPUCAST_PIPELINE_PARALLEL"] == str(plan["parallelism"]["pipeline_parallel"])
    hours = plan["training_metrics"]["estimated_duration_hours"]
    assert job["spec"]["activeDeadlineSeconds"] == pytest.approx(2 * hours * 3600, abs=1)


def test_pytorchjob_master_and_workers() -> None:
    plan = load("full-llama-3.1-70b-32gpu")
    job = training_manifests(plan, K8sOptions(kubeflow=True))[0][0]
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert specs["Master"]["replicas"] == 1 and specs["Worker"]["replicas"] == plan["gpu_resources"]["nodes"] - 1
    assert job["spec"]["nprocPerNode"] == str(plan["gpu_resources"]["gpus_per_node"])


@pytest.mark.parametrize("name", INFERENCE)
def test_training_manifests_refuse_serving_plans(name: str) -> None:
    with pytest.raises(InputError, match="needs a training plan; this is an inference plan"):
        training_manifests(load(name))


def test_end_to_end_inference_to_k8s(tmp_path: Path) -> None:
    """The issue's flow: plan with the CLI, then export the plan file to Kubernetes YAML."""
    plan = tmp_path / "plan.json"
    planned = subprocess.run([*gpucast_exe(), "inference", "--model", "llama-3.1-70b", "--rps", "10", "--input-tokens",
                              "500", "--output-tokens", "200", "--gpu-type", "H100", "--output", str(plan)],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    out = tmp_path / "k8s.yaml"
    exported = subprocess.run([*gpucast_exe(), "export", "k8s", str(plan), "--namespace", "llm", "--keda",
                               "--output", str(out)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    documents = list(yaml.safe_load_all(out.read_text(encoding="utf-8")))
    assert [d["kind"] for d in documents] == ["Deployment", "Service", "ScaledObject"]
    assert all(d["metadata"]["namespace"] == "llm" for d in documents)
    for document in documents:
        _validate(document)
    printed = subprocess.run([*gpucast_exe(), "export", "k8s", str(plan_path("lora-llama-3.1-8b"))],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert printed.returncode == 0 and "kind: Job" in printed.stdout
