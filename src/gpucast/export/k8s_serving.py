"""One serving pod of a plan: the engine container, its model cache, probes and host resources.

* Model cache: a PersistentVolumeClaim sized from the checkpoint (parameters x bytes per parameter of the released
  checkpoint, plus headroom), mounted at ``/models`` with ``HF_HOME`` below it, so a restarted or rescheduled pod
  loads the weights instead of downloading them again (~ 690 GB for DeepSeek-R1). ReadWriteMany: every replica
  shares one copy (use a storage class that offers it, e.g. a network file system; state it with --storage-class).
* Start-up probe: the first start downloads and loads the checkpoint; the probe's budget is that time
  (catalog/k8s.toml [startup]) times a safety factor, so the kubelet never restarts a pod that is still loading
  and does not wait half an hour for one that is stuck on a small model.
* Resources: GPUs (request = limit), CPU and memory requests, and a memory limit that covers the /dev/shm volume.
"""

from __future__ import annotations

import math
from typing import Any

from .engine_args import EngineLaunch
from .k8s_pods import K8sOptions, gpu_resource, object_meta, serving_resources
from .plan_file import catalog_model, k8s_catalog

# gated models (Llama) need a Hugging Face token; the Secret is optional so open models start without one
HF_TOKEN_ENV = {
    "name": "HF_TOKEN",
    "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token", "optional": True}},
}
BYTES_PER_PARAM = {"FP32": 4.0, "FP16": 2.0, "BF16": 2.0, "FP8": 1.0, "INT8": 1.0, "INT4": 0.5, "FP4": 0.5,
                   "NVFP4": 0.5, "MXFP4": 0.5}  # fmt: skip


def checkpoint_gb(plan: dict[str, Any]) -> float:
    """Size of the checkpoint the pod downloads: parameters x bytes per parameter of the RELEASED weights (a
    16-bit checkpoint quantized on the fly to FP8 still downloads 2 bytes per parameter)."""
    spec = catalog_model(plan)
    released = str(getattr(spec, "checkpoint_precision", "") or "BF16").upper()
    planned = str(plan["inputs"].get("precision", "BF16")).upper()
    per_param = BYTES_PER_PARAM.get(released, 2.0)
    if planned not in ("FP16", "BF16", "FP32", "FP8") and planned != released:
        per_param = BYTES_PER_PARAM.get(planned, per_param)  # a pre-quantized INT4/FP4 checkpoint is downloaded
    return float(plan["model"].get("total_params_b", 0.0)) * per_param


def startup_seconds(plan: dict[str, Any]) -> float:
    """Download + load + engine start of the first boot, before the safety factor."""
    data = k8s_catalog()["startup"]
    size = checkpoint_gb(plan)
    return size / float(data["download_gb_per_s"]) + size / float(data["load_gb_per_s"]) + float(data["init_s"])


def _probe(path: str, **timing: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}} | timing


def probes(plan: dict[str, Any], health_path: str, health_wait_s: int = 0) -> dict[str, Any]:
    """Start-up, readiness and liveness probes on the engine's health endpoint. ``health_wait_s``: how long the
    endpoint itself may take to answer (SGLang's /health sends a one-token request and waits up to
    SGLANG_HEALTH_CHECK_TIMEOUT, 20 s, for the scheduler): the probes wait that long plus 5 s, so the kubelet does
    not fail a pod the engine still reports healthy."""
    data = k8s_catalog()["startup"]
    period = int(data["period_s"])
    failures = max(30, math.ceil(startup_seconds(plan) * float(data["safety_factor"]) / period))
    ready_s, live_s = max(5, health_wait_s + 5), max(10, health_wait_s + 5)
    return {
        "startupProbe": _probe(health_path, periodSeconds=period, failureThreshold=failures),
        "readinessProbe": _probe(health_path, periodSeconds=10, timeoutSeconds=ready_s, failureThreshold=3),
        "livenessProbe": _probe(health_path, periodSeconds=30, timeoutSeconds=live_s, failureThreshold=3),
    }


def cache_claim_name(name: str) -> str:
    return f"{name}-model-cache"


def model_cache_claim(name: str, plan: dict[str, Any], options: K8sOptions) -> dict[str, Any]:
    """The shared model-cache volume claim (ReadWriteMany)."""
    headroom = float(k8s_catalog()["serving"]["cache_headroom"])
    size = max(10, math.ceil(checkpoint_gb(plan) * 1e9 / 2**30 * (1 + headroom)))
    spec: dict[str, Any] = {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": f"{size}Gi"}}}
    if options.storage_class:
        spec["storageClassName"] = options.storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": object_meta(cache_claim_name(name), options, "inference"), "spec": spec}  # fmt: skip


def engine_container(plan: dict[str, Any], launch: EngineLaunch, gpus: int, options: K8sOptions,
                     args: list[str] | None = None, serve: bool = True) -> dict[str, Any]:  # fmt: skip
    """The engine container of a pod with ``gpus`` GPUs (``serve`` False: a multi-node worker, no HTTP port)."""
    flags = launch.engine
    mount = str(k8s_catalog()["serving"]["cache_mount"])
    container: dict[str, Any] = {
        "name": "engine",
        "image": flags.image,
        "command": list(flags.command),
        "args": list(launch.args if args is None else args),
        "env": [HF_TOKEN_ENV, {"name": "HF_HOME", "value": f"{mount}/huggingface"}],
        "resources": serving_resources(gpus, options.shm_size, gpu_resource(plan)),
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}, {"name": "model-cache", "mountPath": mount}],
    }
    if serve:
        container["ports"] = [{"name": "http", "containerPort": flags.port}]
        container |= probes(plan, flags.health_path, int(flags.limits.get("health_wait_s", 0)))
    if launch.config_file:
        container["volumeMounts"].append(
            {"name": "engine-options", "mountPath": flags.config_file_path.rsplit("/", 1)[0]}
        )
    return container


def pod_volumes(pod: dict[str, Any], claim: str, launch: EngineLaunch, options_map: str) -> None:
    """Add the model cache (claim ``claim``) and (TensorRT-LLM) the options-file ConfigMap to a pod spec's volumes."""
    pod["volumes"].append({"name": "model-cache", "persistentVolumeClaim": {"claimName": claim}})
    if launch.config_file:
        pod["volumes"].append({"name": "engine-options", "configMap": {"name": options_map}})


def options_config_map(name: str, launch: EngineLaunch, options: K8sOptions) -> dict[str, Any]:
    import yaml

    filename = launch.engine.config_file_path.rsplit("/", 1)[1]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": object_meta(name, options, "inference"),
            "data": {filename: yaml.safe_dump(launch.config_file, sort_keys=False)}}  # fmt: skip
