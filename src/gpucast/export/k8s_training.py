"""Kubernetes objects for a training plan: an Indexed ``batch/v1`` Job, or a Kubeflow PyTorchJob.

One pod per planned node, each requesting the plan's GPUs per node. The plan's parallelism (TP, PP, DP, ZeRO
stage, micro batch, gradient accumulation, recomputation) reaches the training script as ``GPUCAST_*``
environment variables; gpucast does not write the script.

* Job: Indexed completion mode gives each pod ``JOB_COMPLETION_INDEX`` (its node rank) and a stable hostname
  ``<job>-<index>.<subdomain>`` behind a headless Service, which is what torchrun's static rendezvous needs
  (https://kubernetes.io/docs/concepts/workloads/controllers/job/#completion-mode).
* PyTorchJob (``kubeflow.org/v1``): one Master and nodes - 1 Workers; the training operator sets the ``PET_*``
  variables torchrun reads (nnodes, node rank, master address), and ``nprocPerNode`` starts one process per GPU
  (https://www.kubeflow.org/docs/components/trainer/legacy-v1/user-guides/pytorch/).
* ``activeDeadlineSeconds`` stops a run that takes twice the planned duration (a hung NCCL job bills GPUs).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import InputError
from .k8s_pods import K8sOptions, dns_name, gpu_resource, gpu_resources, object_labels, object_meta, pod_basics
from .plan_file import check_plan, k8s_catalog, require_kind

DEADLINE_FACTOR = 2.0  # give up after twice the planned duration
BACKOFF_LIMIT = 3  # pod failures tolerated before the Job fails (resume from the last checkpoint)


def _env(plan: dict[str, Any]) -> list[dict[str, str]]:
    par, inputs = plan["parallelism"], plan["inputs"]
    values = {
        "GPUCAST_MODEL": str(plan["model"].get("name", "")),
        "GPUCAST_METHOD": str(inputs.get("method", "full")),
        "GPUCAST_PRECISION": str(inputs.get("precision", "BF16")),
        "GPUCAST_TENSOR_PARALLEL": str(par["tensor_parallel"]),
        "GPUCAST_PIPELINE_PARALLEL": str(par["pipeline_parallel"]),
        "GPUCAST_DATA_PARALLEL": str(par["data_parallel"]),
        "GPUCAST_ZERO_STAGE": str(par["zero_stage"]),
        "GPUCAST_MICRO_BATCH_SIZE": str(par["micro_batch_size"]),
        "GPUCAST_GRADIENT_ACCUMULATION_STEPS": str(par["gradient_accumulation_steps"]),
        "GPUCAST_RECOMPUTE": str(par.get("recompute", "none")),
        "GPUCAST_SEQUENCE_LENGTH": str(inputs.get("sequence_length", "")),
        "GPUCAST_GLOBAL_BATCH_SIZE": str(inputs.get("global_batch_size", "")),
        "GPUCAST_EPOCHS": str(inputs.get("num_epochs", "")),
    }
    return [{"name": k, "value": v} for k, v in values.items()]


def training_manifests(
    plan: dict[str, Any], options: K8sOptions = K8sOptions()
) -> tuple[list[dict[str, Any]], list[str]]:
    """The Job (+ headless Service) or PyTorchJob for a training plan, and notes for the operator."""
    check_plan(plan)
    require_kind(plan, "training", "a training Job")
    res = plan["gpu_resources"]
    nodes, per_node = int(res["nodes"]), int(res["gpus_per_node"])
    catalog = k8s_catalog()["training"]
    name = dns_name(
        options.name or f"train-{plan['model'].get('name', 'model')}-{plan['inputs'].get('method', 'full')}"
    )
    pod, notes = pod_basics(plan, per_node, options)
    if nodes > 1:
        notes.append(f"{nodes} nodes: request your cluster's RDMA devices (EFA, InfiniBand) in the pod resources; "
                     "the plan's communication times assume them")  # fmt: skip
    hours = float(plan["training_metrics"]["estimated_duration_hours"])
    if not hours * 3600 * DEADLINE_FACTOR < 2**63:  # 1e308 h was an OverflowError traceback (math.ceil of inf)
        raise InputError(f"training_metrics.estimated_duration_hours {hours!r} is past what a Job's "
                         "activeDeadlineSeconds holds (int64 seconds); re-run the planning command")  # fmt: skip
    deadline = math.ceil(hours * 3600 * DEADLINE_FACTOR)
    container: dict[str, Any] = {
        "name": "pytorch",  # the PyTorchJob operator finds the training container by this name
        "image": options.image or catalog["image"],
        "env": _env(plan),
        "resources": gpu_resources(per_node, gpu_resource(plan)),
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
    }
    if options.kubeflow:
        container["command"] = ["torchrun", options.train_command]
        container["ports"] = [{"name": "rendezvous", "containerPort": catalog["rendezvous_port"]}]

        def replica(count: int) -> dict[str, Any]:
            return {"replicas": count, "restartPolicy": "OnFailure",
                    "template": {"metadata": {"labels": object_labels(name, "training")},
                                 "spec": pod | {"containers": [container]}}}  # fmt: skip

        specs = {"Master": replica(1)} | ({"Worker": replica(nodes - 1)} if nodes > 1 else {})
        job = {
            "apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": object_meta(name, options, "training"),
            "spec": {"nprocPerNode": str(per_node),
                     "runPolicy": {"backoffLimit": BACKOFF_LIMIT, "activeDeadlineSeconds": deadline,
                                   "cleanPodPolicy": "None"},
                     "pytorchReplicaSpecs": specs},
        }  # fmt: skip
        return [job], notes
    port = catalog["rendezvous_port"]
    if nodes > 1:
        rendezvous = [f"--nnodes={nodes}", "--node-rank=$(JOB_COMPLETION_INDEX)",
                      f"--master-addr={name}-0.{name}", f"--master-port={port}"]  # fmt: skip
    else:
        rendezvous = ["--standalone", "--nnodes=1"]
    container["command"] = ["torchrun", *rendezvous, f"--nproc-per-node={per_node}", options.train_command]
    container["ports"] = [{"name": "rendezvous", "containerPort": port}]
    pod_spec = pod | {"containers": [container], "restartPolicy": "Never", "subdomain": name}
    job = {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": object_meta(name, options, "training"),
        "spec": {"completions": nodes, "parallelism": nodes, "completionMode": "Indexed",
                 "backoffLimit": BACKOFF_LIMIT, "activeDeadlineSeconds": deadline,
                 "template": {"metadata": {"labels": object_labels(name, "training")}, "spec": pod_spec}},
    }  # fmt: skip
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": object_meta(name, options, "training"),
        "spec": {"clusterIP": "None", "selector": {"app.kubernetes.io/name": name},
                 "ports": [{"name": "rendezvous", "port": port}]},
    }  # fmt: skip
    return [job, service], notes
