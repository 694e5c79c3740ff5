"""Kubernetes manifests from a plan: ``gpucast export k8s``.

Serving plans become a Deployment (one pod = one replica = TP x PP GPUs of the planned type), a Service and
autoscaling on the plan's thresholds: an ``autoscaling/v2`` HorizontalPodAutoscaler on requests in flight per pod
(read through a Prometheus custom-metrics adapter), or with ``keda=True`` a KEDA ScaledObject whose Prometheus
triggers query the engine's own gauges (https://keda.sh/docs/2.17/scalers/prometheus/). KEDA creates and owns
the HPA of a ScaledObject, so the two are alternatives, never emitted together. Training plans become a
``batch/v1`` Job (Indexed, one pod per node, with a headless Service for torchrun's rendezvous) or a Kubeflow
PyTorchJob (``kubeflow.org/v1``, https://www.kubeflow.org/docs/components/trainer/legacy-v1/user-guides/pytorch/).

GPU pods request and limit ``nvidia.com/gpu`` (the NVIDIA device plugin's resource; requests must equal limits,
https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/), mount a memory-backed ``/dev/shm`` (NCCL and the
engines' worker processes exchange tensors through it; Docker's 64 MB default breaks TP > 1), and select nodes of
the planned instance type by the well-known label ``node.kubernetes.io/instance-type``.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .engine_args import EngineLaunch, launch_for
from .k8s_pods import K8sOptions, dns_name, gpu_resources, object_labels, object_meta, pod_basics
from .k8s_training import training_manifests
from .plan_file import check_plan, k8s_catalog, require_kind

STARTUP_PERIOD_S = 10
STARTUP_FAILURES = 180  # 30 minutes to download and load the weights before the liveness probe takes over
# gated models (Llama) need a Hugging Face token; the Secret is optional so open models start without one
HF_TOKEN_ENV = {
    "name": "HF_TOKEN",
    "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token", "optional": True}},
}
SCALE_DOWN_WINDOW_S = 300  # wait 5 minutes of low load before removing a replica (a reload takes minutes)


def _probe(path: str, **timing: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}} | timing


def serving_manifests(
    plan: dict[str, Any], options: K8sOptions = K8sOptions()
) -> tuple[list[dict[str, Any]], list[str]]:
    """Deployment, Service and HPA (or KEDA ScaledObject) for a serving plan, and notes for the operator."""
    check_plan(plan)
    require_kind(plan, "inference", "gpucast export k8s for serving")
    launch = launch_for(plan, options.engine)
    flags, res, scaling = launch.engine, plan["gpu_resources"], plan["scaling"]
    name = dns_name(options.name or f"{plan['model'].get('id') or plan['model']['name']}-{flags.id}")
    gpus = int(res["tensor_parallel"]) * int(res["pipeline_parallel"])
    pod, notes = pod_basics(plan, gpus, options)
    container: dict[str, Any] = {
        "name": "engine",
        "image": flags.image,
        "command": list(flags.command),
        "args": launch.args,
        "ports": [{"name": "http", "containerPort": flags.port}],
        "env": [HF_TOKEN_ENV],
        "resources": gpu_resources(gpus),
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
        "startupProbe": _probe(flags.health_path, periodSeconds=STARTUP_PERIOD_S, failureThreshold=STARTUP_FAILURES),
        "readinessProbe": _probe(flags.health_path, periodSeconds=10, timeoutSeconds=5, failureThreshold=3),
        "livenessProbe": _probe(flags.health_path, periodSeconds=30, timeoutSeconds=10, failureThreshold=3),
    }
    documents: list[dict[str, Any]] = []
    if launch.config_file:
        documents.append(_options_config_map(name, launch, options))
        container["volumeMounts"].append(
            {"name": "engine-options", "mountPath": flags.config_file_path.rsplit("/", 1)[0]}
        )
        pod["volumes"].append({"name": "engine-options", "configMap": {"name": f"{name}-options"}})
    selector = {"app.kubernetes.io/name": name}
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(flags.port),
                   "prometheus.io/path": flags.metrics_path}  # fmt: skip
    documents.append({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": object_meta(name, options, "inference"),
        "spec": {
            "replicas": int(scaling["recommended_min_replicas"]),
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": object_labels(name, "inference"), "annotations": annotations},
                         "spec": pod | {"containers": [container]}},
        },
    })  # fmt: skip
    documents.append({
        "apiVersion": "v1", "kind": "Service", "metadata": object_meta(name, options, "inference"),
        "spec": {"selector": selector, "ports": [{"name": "http", "port": flags.port, "targetPort": "http"}]},
    })  # fmt: skip
    documents.append(_keda(name, plan, launch, options) if options.keda else _hpa(name, plan, launch, options))
    return documents, launch.notes + notes


def _options_config_map(name: str, launch: EngineLaunch, options: K8sOptions) -> dict[str, Any]:
    import yaml

    filename = launch.engine.config_file_path.rsplit("/", 1)[1]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": object_meta(f"{name}-options", options, "inference"),
            "data": {filename: yaml.safe_dump(launch.config_file, sort_keys=False)}}  # fmt: skip


def _quantity(value: float) -> str:
    return f"{round(value, 3):g}"


def hpa_metric(plan: dict[str, Any], launch: EngineLaunch) -> tuple[str, float]:
    """(Pods metric, per-pod target): requests in flight vs the plan's queue-depth threshold, or — for an engine
    without Prometheus request gauges — DCGM GPU utilization (percent) vs the plan's GPU-utilization threshold."""
    scaling = plan["scaling"]
    if launch.engine.metrics_running:
        return launch.engine.metrics_running.replace(":", "_"), float(scaling["auto_scale_queue_depth_threshold"])
    return k8s_catalog()["gpu_metrics"]["utilization"], 100.0 * float(scaling["auto_scale_gpu_util_threshold"])


def _hpa(name: str, plan: dict[str, Any], launch: EngineLaunch, options: K8sOptions) -> dict[str, Any]:
    """Scale on requests in flight per pod; the metric comes from a Prometheus adapter rule (named in the notes)."""
    scaling = plan["scaling"]
    metric, target = hpa_metric(plan, launch)
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": object_meta(name, options, "inference"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": int(scaling["recommended_min_replicas"]),
            "maxReplicas": int(scaling["recommended_max_replicas"]),
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": metric},
                "target": {"type": "AverageValue", "averageValue": _quantity(target)}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": SCALE_DOWN_WINDOW_S}},
        },
    }  # fmt: skip


def _keda(name: str, plan: dict[str, Any], launch: EngineLaunch, options: K8sOptions) -> dict[str, Any]:
    """Prometheus triggers on the engine's gauges: (running + waiting) per replica, and KV-cache usage."""
    flags, scaling = launch.engine, plan["scaling"]
    if not (flags.metrics_running and flags.metrics_waiting):
        raise InputError(f"--keda needs Prometheus gauges of queued and running requests; {flags.name} "
                         f"{flags.version} exports none at {flags.metrics_path} (use the HPA, or --engine vllm|sglang)")  # fmt: skip
    where = f'{{namespace="{options.namespace}",model_name="{launch.model}"}}'
    triggers: list[dict[str, Any]] = [{
        "type": "prometheus", "name": "requests-in-flight", "metricType": "AverageValue",
        "metadata": {"serverAddress": options.prometheus_url,
                     "query": f"sum({flags.metrics_running}{where}) + sum({flags.metrics_waiting}{where})",
                     "threshold": _quantity(float(scaling["auto_scale_queue_depth_threshold"]))},
    }]  # fmt: skip
    if flags.metrics_kv_usage and scaling.get("auto_scale_kv_cache_usage_threshold"):
        triggers.append({
            "type": "prometheus", "name": "kv-cache-usage", "metricType": "Value",
            "metadata": {"serverAddress": options.prometheus_url, "query": f"avg({flags.metrics_kv_usage}{where})",
                         "threshold": _quantity(float(scaling["auto_scale_kv_cache_usage_threshold"]))},
        })  # fmt: skip
    return {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": object_meta(name, options, "inference"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": int(scaling["recommended_min_replicas"]),
            "maxReplicaCount": int(scaling["recommended_max_replicas"]),
            "pollingInterval": 15,
            "cooldownPeriod": SCALE_DOWN_WINDOW_S,
            "triggers": triggers,
        },
    }  # fmt: skip


def manifests_yaml(documents: list[dict[str, Any]], header: list[str]) -> str:
    """Multi-document YAML with a comment header (the plan, versions, sources, notes)."""
    import yaml

    class Dumper(yaml.SafeDumper):  # multi-line strings (ConfigMap files) as literal blocks
        pass

    def text(dumper: Any, value: str) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    head = "".join(f"# {line}\n" for line in header)
    body: str = yaml.dump_all(documents, Dumper=Dumper, sort_keys=False, explicit_start=True, width=120)
    return head + body


def plan_manifests(plan: dict[str, Any], options: K8sOptions = K8sOptions()) -> str:
    """The manifests of any plan as YAML text (serving or training), with a header saying what they came from."""
    kind = check_plan(plan)
    if kind == "inference":
        documents, notes = serving_manifests(plan, options)
        flags = launch_for(plan, options.engine).engine
        about = [f"engine: {flags.name} {flags.version} ({flags.image}); flags: {flags.source}"]
        if options.keda:
            about.append(f"autoscaling: KEDA ScaledObject on {flags.metrics_source}")
        else:
            metric, _ = hpa_metric(plan, launch_for(plan, options.engine))
            about.append(f"autoscaling: HPA on the Pods metric {metric} (Prometheus through a custom-metrics adapter, "
                         "e.g. prometheus-adapter; ':' in metric names becomes '_')")  # fmt: skip
    else:
        documents, notes = training_manifests(plan, options)
        about = []
    header = [f"gpucast {plan.get('versions', {}).get('gpucast', '')} plan: {plan.get('recommendation', '')}", *about]
    return manifests_yaml(documents, header + [f"note: {n}" for n in notes])
