"""What serving and training manifests share: the options the plan does not decide, DNS names, labels, the GPU
resource, and the node selector and pod basics for the planned GPU (``k8s.py`` builds serving, ``k8s_training.py``
training)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..catalog import loader
from ..errors import InputError
from .engine_args import LaunchOptions
from .plan_file import k8s_catalog


@dataclass(frozen=True)
class K8sOptions:
    """Choices the plan does not make: where, under which name, and how to scale."""

    namespace: str = "default"
    name: str | None = None  # default: from the model id and engine
    engine: str | None = None  # default: the plan's engine
    keda: bool = False
    kubeflow: bool = False
    prometheus_url: str = "http://prometheus-operated.monitoring.svc:9090"
    shm_size: str = "16Gi"  # memory-backed /dev/shm per pod
    image: str | None = None  # training image (serving uses the engine's release image)
    train_command: str = "train.py"  # the training script torchrun starts
    launch: LaunchOptions = LaunchOptions()  # engine release, served checkpoint, EAGLE head
    criticality: str = "tier2"  # catalog/criticality.toml: replica minimum, zones, PodDisruptionBudget
    storage_class: str | None = None  # model-cache PersistentVolumeClaim (None: the cluster's default class)

    def __post_init__(self) -> None:
        """The namespace and StorageClass are written verbatim into every object and into the KEDA triggers' PromQL
        (``namespace="..."``), so a name Kubernetes refuses was a manifest ``kubectl apply`` rejects and a quote
        broke the query; both are refused here, naming the rule (RFC 1123 label / subdomain)."""
        if not _LABEL.fullmatch(str(self.namespace)):
            raise InputError(f"--namespace {self.namespace!r} is not a Kubernetes namespace: 1-63 lower-case "
                             "letters, digits or '-', starting and ending with a letter or digit")  # fmt: skip
        if self.storage_class is not None and not (
            len(self.storage_class) <= 253 and all(_LABEL.fullmatch(p) for p in self.storage_class.split("."))
        ):
            raise InputError(f"--storage-class {self.storage_class!r} is not a Kubernetes object name: lower-case "
                             "letters, digits, '-' and '.', at most 253 characters")  # fmt: skip


_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")  # RFC 1123 label, as Kubernetes validates a namespace


def dns_name(text: str) -> str:
    """A DNS-1035 label (lower case, digits, '-', starts with a letter, <= 63 chars): valid for every object."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if not name or not name[0].isalpha():
        name = "m-" + name
    return name[:63].rstrip("-")


def object_meta(name: str, options: K8sOptions, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": options.namespace, "labels": object_labels(name, component)}


def object_labels(name: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": "gpucast"}  # fmt: skip


def largest_node(plan: dict[str, Any]) -> int:
    """GPUs of the largest priced instance of the planned GPU on the plan's cloud (8 when none is priced): a
    replica with more GPUs than this spans nodes."""
    cost = plan.get("cost") or {}
    cloud = str(cost.get("cloud") or plan["inputs"].get("cloud") or "aws")
    gpu = loader.resolve_gpu(str(plan["gpu_resources"]["recommended_gpu_type"]))
    return max((p.gpus for p in loader.prices_for(cloud, gpu.id)), default=8)


def node_selector(plan: dict[str, Any], gpus_per_pod: int) -> tuple[dict[str, str], list[str]]:
    """Node labels for the planned GPU on the plan's cloud, and notes when the priced instance cannot hold a pod.

    The cost model may price a replica as several small instances (e.g. 2 x g2-standard-4 with one L4 each for
    TP=2); a pod's GPUs must be on one node, so the smallest instance type of that GPU with enough GPUs is chosen.
    """
    data, notes = k8s_catalog(), []
    cost = plan.get("cost") or {}
    cloud = str(cost.get("cloud") or plan["inputs"].get("cloud") or "aws")
    gpu = loader.resolve_gpu(str(plan["gpu_resources"]["recommended_gpu_type"]))
    offers = sorted(loader.prices_for(cloud, gpu.id), key=lambda p: (p.gpus, p.on_demand_usd_h or 0.0))
    chosen = next((p for p in offers if p.instance_type == cost.get("instance_type") and p.gpus >= gpus_per_pod), None)
    if chosen is None:
        chosen = next((p for p in offers if p.gpus >= gpus_per_pod), None)
        if chosen is not None and cost.get("instance_type"):
            notes.append(f"{cost['instance_type']} has fewer than the {gpus_per_pod} GPUs one pod needs; "
                         f"node pool instance type {chosen.instance_type} ({chosen.gpus} GPUs) instead")  # fmt: skip
    selector: dict[str, str] = {}
    if chosen is not None:
        selector[data["labels"]["instance_type"]] = chosen.instance_type
    else:
        notes.append(f"no {cloud} instance type in the price catalog has {gpus_per_pod} x {gpu.name}; "
                     "add a node selector for your GPU node pool")  # fmt: skip
    accelerator = data["gke_accelerator"]
    if cloud == "gcp" and gpu.id in accelerator["values"]:
        selector[accelerator["label"]] = accelerator["values"][gpu.id]
    return selector, notes


def gpu_resource(plan: dict[str, Any]) -> str:
    """The extended resource the planned GPU's device plugin exposes: ``nvidia.com/gpu``, ``amd.com/gpu`` for AMD
    Instinct (a pod asking an AMD node for ``nvidia.com/gpu`` is never scheduled)."""
    vendor = loader.resolve_gpu(str(plan["gpu_resources"]["recommended_gpu_type"])).vendor
    names = k8s_catalog()["gpu_resource"]
    return str(names.get(vendor, names["name"]))


def cuda_image_warning(plan: dict[str, Any], image: str) -> list[str]:
    """A warning when the planned GPU is not NVIDIA's: the engine images in engine_flags.toml are CUDA builds."""
    gpu = loader.resolve_gpu(str(plan["gpu_resources"]["recommended_gpu_type"]))
    if gpu.vendor == "nvidia":
        return []
    return [f"{image} is a CUDA build and the plan's {gpu.name} is not an NVIDIA GPU: use the engine's ROCm image"]


def gpu_resources(count: int, resource: str | None = None) -> dict[str, Any]:
    resource = resource or str(k8s_catalog()["gpu_resource"]["name"])
    return {"requests": {resource: count}, "limits": {resource: count}}


def _gib(text: str) -> float:
    """A Kubernetes memory quantity in GiB (Gi, Mi and plain G only: what the options produce)."""
    units = {"Gi": 1.0, "Mi": 1 / 1024, "Ti": 1024.0, "G": 1e9 / 2**30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text) / 2**30


def serving_resources(gpus: int, shm_size: str, resource: str | None = None) -> dict[str, Any]:
    """GPUs (request = limit), CPU and memory requests, and a memory limit that includes the /dev/shm emptyDir
    (memory-backed volumes are charged to the pod's memory) -- catalog/k8s.toml [serving]."""
    data = k8s_catalog()["serving"]
    memory = int(data["memory_gib_base"] + data["memory_gib_per_gpu"] * gpus + _gib(shm_size))
    resources = gpu_resources(gpus, resource)
    resources["requests"] |= {"cpu": str(int(data["cpu_per_gpu"] * gpus)), "memory": f"{memory}Gi"}
    resources["limits"] |= {"memory": f"{memory}Gi"}
    return resources


def pod_basics(plan: dict[str, Any], gpus: int, options: K8sOptions) -> tuple[dict[str, Any], list[str]]:
    selector, notes = node_selector(plan, gpus)
    spec = {
        "nodeSelector": selector,
        "tolerations": [{"key": gpu_resource(plan), "operator": "Exists", "effect": "NoSchedule"}],
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": options.shm_size}}],
    }
    return spec, notes
