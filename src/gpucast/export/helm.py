"""``gpucast export helm PLAN.json``: a values file for the vLLM production-stack chart (``vllm/vllm-stack``,
https://github.com/vllm-project/production-stack, values schema of chart 0.1.12).

What maps cleanly: one ``servingEngineSpec.modelSpec`` entry per plan -- image and tag of the vLLM release, the
checkpoint (``modelURL``), replicas (the plan's minimum raised to the criticality tier's), GPUs, CPU and memory
requests, ``/dev/shm``, the model-cache volume (``pvcStorage``, ReadWriteMany so replicas share it; the chart
points ``HF_HOME`` at it), node selection by instance type, the engine flags (``vllmConfig`` for those the chart
names, ``extraArgs`` for the rest), the start-up probe sized from the download and load time, a ServiceMonitor,
and the router's routing logic (``prefixaware`` for agent plans that count on prefix caching).

What does not, and is refused or left to ``gpucast export k8s``: other engines (the chart runs vLLM only),
replicas that span nodes (the chart's Ray path is not a LeaderWorkerSet), disaggregated prefill/decode pools, and
autoscaling (the chart's KEDA block scales on its own metric names; the HPA/KEDA objects of ``export k8s`` target
the chart's Deployment once named) and engine PodDisruptionBudgets (the chart has one for its router only).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import InputError
from .engine_args import launch_for
from .k8s import replica_range, tier
from .k8s_pods import (
    K8sOptions,
    cuda_image_warning,
    dns_name,
    gpu_resource,
    largest_node,
    node_selector,
    serving_resources,
)
from .k8s_serving import checkpoint_gb, probes
from .plan_file import check_plan, k8s_catalog, require_kind

CHART = "vllm-stack 0.1.12 (https://github.com/vllm-project/production-stack/tree/vllm-stack-0.1.12/helm)"
VLLM_CONFIG = {  # engine flag -> vllmConfig key the chart turns back into that flag
    "--tensor-parallel-size": "tensorParallelSize",
    "--max-num-seqs": "maxNumSeqs",
    "--max-model-len": "maxModelLen",
    "--dtype": "dtype",
    "--gpu-memory-utilization": "gpuMemoryUtilization",
}
DROPPED = {"--host", "--port"}  # the chart sets them


def _vllm_config(args: list[str]) -> dict[str, Any]:
    """Split the launch flags into the chart's vllmConfig keys and extraArgs (the model is modelURL)."""
    config: dict[str, Any] = {"enablePrefixCaching": True}  # the chart always states one of the two switches
    extra: list[str] = []
    i = 1  # args[0] is the model
    while i < len(args):
        flag = args[i]
        value = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else None
        i += 1 if value is None else 2
        if flag in DROPPED:
            continue
        if flag in VLLM_CONFIG and value is not None:
            key = VLLM_CONFIG[flag]
            config[key] = value if key == "dtype" else (float(value) if "." in value else int(value))
        elif flag == "--enable-chunked-prefill":
            config["enableChunkedPrefill"] = True
        elif flag in ("--enable-prefix-caching", "--no-enable-prefix-caching"):
            config["enablePrefixCaching"] = flag == "--enable-prefix-caching"
        else:
            extra += [flag] if value is None else [flag, value]
    if extra:
        config["extraArgs"] = extra
    return config


def helm_values(plan: dict[str, Any], options: K8sOptions = K8sOptions()) -> tuple[dict[str, Any], list[str]]:
    """The chart values for a serving plan, and notes."""
    check_plan(plan)
    require_kind(plan, "inference", "gpucast export helm")
    engine = options.engine or options.launch.engine or "vllm"
    if engine.lower() != "vllm":
        raise InputError(f"gpucast export helm writes values for the vLLM production-stack chart, which runs vLLM "
                         f"only (not {engine}); use gpucast export k8s --engine {engine}")  # fmt: skip
    launch = launch_for(plan, "vllm", replace(options.launch, engine="vllm"))
    res = plan["gpu_resources"]
    gpus = int(res["tensor_parallel"]) * int(res["pipeline_parallel"])
    if gpus > largest_node(plan):
        raise InputError(f"one replica needs {gpus} GPUs, more than a node has; the production-stack chart has no "
                         "LeaderWorkerSet path: use gpucast export k8s")  # fmt: skip
    if (plan.get("disaggregation") or {}).get("winner") == "disaggregated":
        raise InputError("disaggregated prefill/decode pools do not map onto one production-stack modelSpec; "
                         "use gpucast export k8s")  # fmt: skip
    low, high = replica_range(plan, int(tier(options.criticality)["min_replicas"]))
    resources = serving_resources(gpus, options.shm_size, gpu_resource(plan))
    selector, notes = node_selector(plan, gpus)
    headroom = float(k8s_catalog()["serving"]["cache_headroom"])
    storage = max(10, int(checkpoint_gb(plan) * 1e9 / 2**30 * (1 + headroom)) + 1)
    repository, tag = launch.engine.image.rsplit(":", 1)
    spec: dict[str, Any] = {
        "name": dns_name(launch.served_name.split("/")[-1]),
        "repository": repository,
        "tag": tag,
        "modelURL": launch.model,
        "replicaCount": low,
        "requestCPU": int(resources["requests"]["cpu"]),
        "requestMemory": resources["requests"]["memory"],
        "limitMemory": resources["limits"]["memory"],
        "requestGPU": gpus,
        "shmSize": options.shm_size,
        "pvcStorage": f"{storage}Gi",
        "pvcAccessMode": ["ReadWriteMany"],
        "hf_token": {"secretName": "hf-token", "secretKey": "token"},
        "vllmConfig": _vllm_config(launch.args),
    }
    if options.storage_class:
        spec["storageClass"] = options.storage_class
    if selector:
        spec["nodeSelectorTerms"] = [{"matchExpressions": [
            {"key": key, "operator": "In", "values": [value]} for key, value in selector.items()]}]  # fmt: skip
    startup = probes(plan, launch.engine.health_path)["startupProbe"]
    agent = plan.get("agent") or {}
    routing = "prefixaware" if agent and agent.get("prefix_caching", True) else "roundrobin"
    values = {
        "servingEngineSpec": {
            "modelSpec": [spec],
            "startupProbe": {"periodSeconds": startup["periodSeconds"], "failureThreshold": startup["failureThreshold"],
                             "httpGet": {"path": launch.engine.health_path, "port": launch.engine.port}},
            "serviceMonitor": {"enabled": True, "interval": str(k8s_catalog()["monitoring"]["interval"])},
        },
        "routerSpec": {"routingLogic": routing},
    }  # fmt: skip
    if low < high:
        notes.append(f"the plan scales {low}-{high} replicas: the chart runs replicaCount={low}; add the HPA or KEDA "
                     "object of `gpucast export k8s` (scaleTargetRef: the chart's Deployment)")  # fmt: skip
    if low >= 2:
        notes.append("the chart has no PodDisruptionBudget for engine pods: apply the one of `gpucast export k8s`")
    return values, [*launch.notes, *notes]


def plan_values(plan: dict[str, Any], options: K8sOptions = K8sOptions()) -> tuple[str, list[str]]:
    """The values file as YAML with a header (chart, engine release, notes), and warnings for stderr."""
    import yaml

    values, notes = helm_values(plan, options)
    launch = launch_for(plan, "vllm", replace(options.launch, engine="vllm"))
    warnings = [*launch.warnings, *cuda_image_warning(plan, launch.engine.image)]
    header = [
        f"gpucast {plan.get('versions', {}).get('gpucast') or ''} plan: {plan.get('recommendation', '')}",
        f"chart: {CHART}; helm install vllm vllm/vllm-stack -f THIS_FILE",
        f"engine: {launch.engine.name} {launch.engine.version} ({launch.engine.image}); flags: {launch.engine.source}",
        "private registry or mirror: set servingEngineSpec.modelSpec[0].imagePullSecret: <secret name>",
        *[f"WARNING: {w}" for w in warnings],
        *[f"note: {n}" for n in notes],
    ]
    body = yaml.safe_dump(values, sort_keys=False, width=120)
    return "".join(f"# {line}\n" for line in header) + body, warnings
