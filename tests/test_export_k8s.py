"""``gpucast export k8s``: manifests from stored plans (golden files), validated offline against the Kubernetes
OpenAPI schemas of the ``kubernetes-validate`` package (strict: unknown fields fail), the CRD schemas vendored in
tests/data -- KEDA ScaledObject (v2.20.2), PodMonitor (prometheus-operator v0.93.0), LeaderWorkerSet (lws v0.10.0,
its pod templates checked against the core PodTemplate schema) -- and, for the Kubeflow PyTorchJob, whose CRD is
not packaged on PyPI/npm, a hand-written structural schema plus the core PodTemplate schema for its templates."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import gpucast_exe
from golden.golden_files import INFERENCE, TRAINING, check, load, plan_path
from gpucast.errors import InputError
from gpucast.export.engine_args import LaunchOptions
from gpucast.export.k8s import K8sOptions, plan_manifests, serving_manifests
from gpucast.export.k8s_training import training_manifests

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate ([dev] extra)")
K8S_VERSION = "1.37.0"  # the current Kubernetes minor; the package bundles its OpenAPI schemas
DATA = Path(__file__).resolve().parent / "data"
CASES = [(name, {}) for name in INFERENCE + TRAINING] + [
    ("h100-llama-3.1-70b", {"keda": True, "namespace": "llm"}),
    ("h200-deepseek-v3-fp8", {"engine": "sglang", "keda": True}),
    ("h100-llama-3.1-70b", {"engine": "trtllm"}),
    ("lora-llama-3.1-8b", {"kubeflow": True}),
    ("full-llama-3.1-70b-32gpu", {"kubeflow": True}),
    ("h100-disagg-llama-3.1-8b", {"engine": "sglang", "keda": True}),
    ("h100-disagg-llama-3.1-8b", {"engine": "trtllm"}),
    ("h100-llama-3.1-405b-tp8pp2", {"engine": "sglang"}),
    ("h100-llama-3.1-405b-tp8pp2", {"launch": LaunchOptions(version="0.10.2")}),
    ("h100-agent-llama-3.1-8b", {"criticality": "tier1", "keda": True}),
    (
        "h100-size-70b",
        {"criticality": "tier3", "launch": LaunchOptions(served_model="meta-llama/Llama-3.3-70B-Instruct")},
    ),
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
    def word(key: str, value: Any) -> str:
        if isinstance(value, LaunchOptions):
            return "." + ".".join(f"{k}-{v}".replace("/", "_") for k, v in vars(value).items() if v)
        return f".{key}-{value}" if value is not True else f".{key}"

    return f"k8s/{name}{''.join(word(k, v) for k, v in sorted(options.items()))}.yaml"


def _crd_schema(filename: str, api_version: str) -> dict[str, Any]:
    crd = yaml.safe_load((DATA / filename).read_text(encoding="utf-8"))
    version = next(v for v in crd["spec"]["versions"] if v["name"] == api_version.split("/")[1])
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _validate_template(template: dict[str, Any]) -> None:
    wrapped = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": template}
    kubernetes_validate.validate(wrapped, K8S_VERSION, strict=True)


@pytest.mark.parametrize(("name", "options"), CASES)
def test_manifests_match_golden(name: str, options: dict[str, Any]) -> None:
    check(_golden_name(name, options), plan_manifests(load(name), K8sOptions(**options)))


def _validate(document: dict[str, Any]) -> None:
    kind = document["kind"]
    if kind == "ScaledObject":
        jsonschema.validate(document, _crd_schema("keda.sh_scaledobjects.yaml", document["apiVersion"]))
    elif kind == "PodMonitor":
        jsonschema.validate(document, _crd_schema("monitoring.coreos.com_podmonitors.yaml", document["apiVersion"]))
    elif kind == "LeaderWorkerSet":
        jsonschema.validate(document, _crd_schema("leaderworkerset.x-k8s.io_leaderworkersets.yaml",
                                                  document["apiVersion"]))  # fmt: skip
        for key in ("leaderTemplate", "workerTemplate"):
            _validate_template(document["spec"]["leaderWorkerTemplate"][key])
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
    scaled = next(d for d in _documents("h100-agent-llama-3.1-8b", {"keda": True}) if d["kind"] == "ScaledObject")
    scaled["spec"]["triggers"][0]["metadata"]["threshold"] = 179.2  # KEDA trigger metadata values are strings
    with pytest.raises(jsonschema.ValidationError):
        _validate(scaled)
    monitor = next(d for d in _documents("h100-llama-3.1-70b", {}) if d["kind"] == "PodMonitor")
    monitor["spec"]["podMetricsEndpoints"][0]["interval"] = "often"  # the CRD's duration pattern
    with pytest.raises(jsonschema.ValidationError):
        _validate(monitor)
    lws = next(d for d in _documents("h100-llama-3.1-405b-tp8pp2", {}) if d["kind"] == "LeaderWorkerSet")
    lws["spec"]["leaderWorkerTemplate"]["size"] = "2"
    with pytest.raises(jsonschema.ValidationError):
        _validate(lws)
    lws = next(d for d in _documents("h100-llama-3.1-405b-tp8pp2", {}) if d["kind"] == "LeaderWorkerSet")
    lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containerz"] = []  # the pod template is checked
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(lws)
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
    if plan.get("disaggregation", {}) and plan["disaggregation"]["winner"] == "disaggregated":
        pytest.skip("pools: test_disaggregated_plan_becomes_two_pools")
    docs = _by_kind(_documents(name, {}))
    gpus = res["tensor_parallel"] * res["pipeline_parallel"]
    low, high = max(scaling["recommended_min_replicas"], 2), max(scaling["recommended_max_replicas"], 2)  # tier2: 2
    autoscaled = {"HorizontalPodAutoscaler"} if low < high else set()
    workload = "LeaderWorkerSet" if gpus > 8 else "Deployment"
    assert set(docs) == {"PersistentVolumeClaim", workload, "Service", "PodMonitor", "PodDisruptionBudget"} | autoscaled
    if workload == "LeaderWorkerSet":
        return  # test_replica_over_two_nodes_is_a_leader_worker_set
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    resources = container["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == gpus
    assert int(resources["requests"]["cpu"]) == 4 * gpus  # issue 25 item 5: never BestEffort
    memory = int(resources["requests"]["memory"].removesuffix("Gi"))
    assert memory == int(resources["limits"]["memory"].removesuffix("Gi")) == 8 + 16 * gpus + 16  # incl. /dev/shm
    assert docs["Deployment"]["spec"]["replicas"] == low
    assert {p["httpGet"]["path"] for k, p in container.items() if k.endswith("Probe")} == {"/health"}
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    assert {"name": "model-cache", "mountPath": "/models"} in container["volumeMounts"]
    assert {"name": "HF_HOME", "value": "/models/huggingface"} in container["env"]
    assert "annotations" not in docs["Deployment"]["spec"]["template"]["metadata"]  # no prometheus.io/* (item 4)
    assert pod["nodeSelector"]["node.kubernetes.io/instance-type"] == cost["instance_type"]
    if autoscaled:
        hpa = docs["HorizontalPodAutoscaler"]["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (low, high)
        assert hpa["metrics"][0]["pods"]["metric"]["name"] == "vllm_requests_in_flight"  # running + waiting
        target = float(hpa["metrics"][0]["pods"]["target"]["averageValue"])
        assert target == pytest.approx(scaling["auto_scale_queue_depth_threshold"], rel=1e-3)
    assert docs["Service"]["spec"]["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]
    assert docs["PodMonitor"]["spec"]["selector"]["matchLabels"] == docs["Service"]["spec"]["selector"]
    assert docs["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1


def test_gke_accelerator_label_and_keda_triggers() -> None:
    l4 = _by_kind(_documents("l4-llama-3.1-8b-fp8", {"keda": True}))
    assert l4["Deployment"]["spec"]["template"]["spec"]["nodeSelector"] == {
        "node.kubernetes.io/instance-type": "g2-standard-4",
        "cloud.google.com/gke-accelerator": "nvidia-l4",
    }
    assert "HorizontalPodAutoscaler" not in l4 and "ScaledObject" not in l4  # min = max = 2: nothing to scale
    agent = _by_kind(_documents("h100-agent-llama-3.1-8b", {"keda": True}))
    assert "HorizontalPodAutoscaler" not in agent  # KEDA owns the HPA of a ScaledObject
    triggers = agent["ScaledObject"]["spec"]["triggers"]
    assert "vllm:num_requests_running" in triggers[0]["metadata"]["query"]
    assert "vllm:num_requests_waiting" in triggers[0]["metadata"]["query"]
    assert 'app_kubernetes_io_name="llama-3-1-8b-vllm"' in triggers[0]["metadata"]["query"]  # this workload's pods
    assert float(triggers[0]["metadata"]["threshold"]) == pytest.approx(
        load("h100-agent-llama-3.1-8b")["scaling"]["auto_scale_queue_depth_threshold"], rel=1e-3
    )
    assert triggers[1]["metadata"]["query"].startswith("avg(vllm:kv_cache_usage_perc{")  # item 2: current name
    sglang = _by_kind(_documents("h100-agent-llama-3.1-8b", {"keda": True, "engine": "sglang"}))["ScaledObject"]
    assert "sglang:num_queue_reqs" in sglang["spec"]["triggers"][0]["metadata"]["query"]


def test_trtllm_options_file_is_mounted_and_keda_refused() -> None:
    docs = _by_kind(_documents("h100-agent-llama-3.1-8b", {"engine": "trtllm"}))
    assert "llm-api-options.yaml" in docs["ConfigMap"]["data"]
    mounts = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "engine-options", "mountPath": "/etc/trtllm"} in mounts
    pods = docs["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["pods"]  # no request gauges: DCGM GPU utilization
    assert pods["metric"]["name"] == "DCGM_FI_DEV_GPU_UTIL"
    gpu_util = load("h100-agent-llama-3.1-8b")["scaling"]["auto_scale_gpu_util_threshold"]
    assert float(pods["target"]["averageValue"]) == pytest.approx(100 * gpu_util)
    with pytest.raises(InputError, match="--keda needs Prometheus gauges"):
        serving_manifests(load("h100-agent-llama-3.1-8b"), K8sOptions(engine="trtllm", keda=True))


def test_an_amd_plan_asks_for_amd_gpus_and_warns_about_the_cuda_image() -> None:
    """An MI300X plan's pods requested ``nvidia.com/gpu`` (never scheduled on an AMD node, whose device plugin
    exposes ``amd.com/gpu``) and ran the CUDA vLLM image without a word."""
    from gpucast.export.helm import plan_values
    from gpucast.export.k8s import manifests_and_warnings
    from gpucast.inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig
    from gpucast.planning.inference import plan_inference

    plan = plan_inference(
        LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200),
        ModelConfig(model_name="llama-3.1-8b"),
        GPUConfig(gpu_type="MI300X"),
    ).to_dict()
    text, warnings = manifests_and_warnings(plan)
    pod = _by_kind(list(yaml.safe_load_all(text)))["Deployment"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["amd.com/gpu"] == 1
    assert "nvidia.com/gpu" not in text and pod["tolerations"][0]["key"] == "amd.com/gpu"
    assert any("CUDA build" in w and "Instinct MI300X" in w for w in warnings)
    assert any("CUDA build" in w for w in plan_values(plan)[1])
    nvidia_text, nvidia_warnings = manifests_and_warnings(load("h100-llama-3.1-70b"))
    assert "amd.com/gpu" not in nvidia_text and not any("CUDA build" in w for w in nvidia_warnings)


def test_pod_needing_more_gpus_than_the_priced_instance_gets_a_bigger_node() -> None:
    plan = load("l4-llama-3.1-8b-fp8")
    plan["gpu_resources"]["tensor_parallel"] = 2  # 2 GPUs per pod; the plan priced g2-standard-4 (1 L4)
    documents, notes = serving_manifests(plan)
    selector = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]["nodeSelector"]
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
    scaling = json.loads(plan.read_text(encoding="utf-8"))["scaling"]
    scales = scaling["recommended_min_replicas"] != scaling["recommended_max_replicas"]  # 2-3 replicas: a ScaledObject
    assert [d["kind"] for d in documents] == ["PersistentVolumeClaim", "Deployment", "Service", "PodMonitor",
                                              "PodDisruptionBudget", *(["ScaledObject"] if scales else [])]  # fmt: skip
    assert all(d["metadata"]["namespace"] == "llm" for d in documents)
    for document in documents:
        _validate(document)
    printed = subprocess.run([*gpucast_exe(), "export", "k8s", str(plan_path("lora-llama-3.1-8b"))],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert printed.returncode == 0 and "kind: Job" in printed.stdout


def test_model_cache_and_startup_probe_are_sized_from_the_checkpoint() -> None:
    """Issue 25 item 3. DeepSeek-V3 is released in FP8: 671.03 B params x 1 B = 671.03 GB. Start-up: 671.03 / 0.25
    GB/s download + 671.03 / 1 GB/s load + 300 s init = 3655.1 s, x 1.5 = 5482.7 s = 549 probes of 10 s. Volume:
    671.03e9 B = 624.94 GiB x 1.15 headroom = 718.7 -> 719Gi. Llama-3.1-70B (BF16): 141.11 GB -> 1005.5 s x 1.5 ->
    151 probes; 131.42 GiB x 1.15 -> 152Gi."""
    for name, probes, storage in (("h200-deepseek-v3-fp8", 549, "719Gi"), ("h100-llama-3.1-70b", 151, "152Gi")):
        docs = _by_kind(_documents(name, {}))
        container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
        assert (
            container["startupProbe"]["failureThreshold"] == probes and container["startupProbe"]["periodSeconds"] == 10
        )
        claim = docs["PersistentVolumeClaim"]
        assert claim["spec"]["resources"]["requests"]["storage"] == storage
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
        volumes = docs["Deployment"]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "model-cache", "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}} in volumes
    classed = _by_kind(_documents("h100-llama-3.1-70b", {"storage_class": "filestore"}))
    assert classed["PersistentVolumeClaim"]["spec"]["storageClassName"] == "filestore"


def test_replica_over_two_nodes_is_a_leader_worker_set() -> None:
    """Issue 25 item 1: TP 8 x PP 2 = 16 GPUs on 8-GPU nodes is two pods of 8 GPUs per replica, not one 16-GPU pod."""
    docs = _by_kind(_documents("h100-llama-3.1-405b-tp8pp2", {}))
    assert "Deployment" not in docs
    group = docs["LeaderWorkerSet"]["spec"]["leaderWorkerTemplate"]
    assert group["size"] == 2
    leader, worker = (group[k]["spec"]["containers"][0] for k in ("leaderTemplate", "workerTemplate"))
    assert leader["resources"]["limits"]["nvidia.com/gpu"] == worker["resources"]["limits"]["nvidia.com/gpu"] == 8
    assert group["leaderTemplate"]["spec"]["nodeSelector"]["node.kubernetes.io/instance-type"] == "p5.48xlarge"
    assert leader["args"][-6:] == ["--nnodes", "2", "--node-rank", "0", "--master-addr", "$(LWS_LEADER_ADDRESS)"]
    assert worker["args"][-7:] == ["--nnodes", "2", "--node-rank", "$(LWS_WORKER_INDEX)", "--master-addr",
                                   "$(LWS_LEADER_ADDRESS)", "--headless"]  # fmt: skip
    assert "ports" in leader and "ports" not in worker and "startupProbe" not in worker
    assert docs["Service"]["spec"]["selector"]["gpucast.io/role"] == "leader"  # only the leader serves HTTP
    assert "HorizontalPodAutoscaler" not in docs  # 2-2 replicas
    sgl = _by_kind(_documents("h100-llama-3.1-405b-tp8pp2", {"engine": "sglang"}))["LeaderWorkerSet"]
    args = sgl["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]["args"]
    assert args[-6:] == ["--nnodes", "2", "--node-rank", "$(LWS_WORKER_INDEX)", "--dist-init-addr",
                         "$(LWS_LEADER_ADDRESS):20000"]  # fmt: skip
    ray = _by_kind(_documents("h100-llama-3.1-405b-tp8pp2", {"launch": LaunchOptions(version="0.10.2")}))
    script = ray["LeaderWorkerSet"]["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"][0]["args"][
        0
    ]
    assert script.startswith("ray start --head") and script.endswith("--distributed-executor-backend ray")
    with pytest.raises(InputError, match="no multi-node launch for TensorRT-LLM"):
        serving_manifests(load("h100-llama-3.1-405b-tp8pp2"), K8sOptions(engine="trtllm"))


def test_disaggregated_plan_becomes_two_pools() -> None:
    """Issue 25: separate prefill and decode workloads, each with its replicas, autoscaler and KV-transfer flags."""
    plan = load("h100-disagg-llama-3.1-8b")
    d = plan["disaggregation"]
    docs = _documents("h100-disagg-llama-3.1-8b", {"engine": "sglang", "keda": True})
    deployments = {x["metadata"]["name"]: x for x in docs if x["kind"] == "Deployment"}
    prefill, decode = deployments["llama-3-1-8b-sglang-prefill"], deployments["llama-3-1-8b-sglang-decode"]
    assert prefill["spec"]["template"]["metadata"]["labels"]["llm-d.ai/role"] == "prefill"
    args = prefill["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--disaggregation-mode") + 1] == "prefill"
    scaled = {x["metadata"]["name"]: x["spec"] for x in docs if x["kind"] == "ScaledObject"}
    assert scaled["llama-3-1-8b-sglang-prefill"]["maxReplicaCount"] == d["prefill_instances"]
    assert scaled["llama-3-1-8b-sglang-decode"]["maxReplicaCount"] == d["decode_instances"]
    peak, average = plan["scaling"]["peak_rps"], plan["scaling"]["average_rps"]
    expected = max(2, -(-d["decode_instances"] * average // peak))
    assert decode["spec"]["replicas"] == scaled["llama-3-1-8b-sglang-decode"]["minReplicaCount"] == expected
    router = deployments["llama-3-1-8b-sglang-router"]["spec"]["template"]["spec"]["containers"][0]
    assert (
        router["command"] == ["python3", "-m", "sglang_router.launch_router"]
        and "--pd-disaggregation" in router["args"]
    )
    vllm = _documents("h100-disagg-llama-3.1-8b", {})
    pool = next(x for x in vllm if x["kind"] == "Deployment" and x["metadata"]["name"].endswith("-decode"))
    assert "--kv-transfer-config" in pool["spec"]["template"]["spec"]["containers"][0]["args"]
