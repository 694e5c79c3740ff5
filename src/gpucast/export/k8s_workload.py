"""The workload that runs a plan's replicas: a Deployment when one replica fits on a node, a LeaderWorkerSet when it
spans nodes (TP 8 x PP 2 = 16 GPUs on 8-GPU nodes: a 16-GPU pod can never be scheduled).

LeaderWorkerSet (https://lws.sigs.k8s.io/docs/overview/) schedules a group of ``size`` pods per replica -- a leader
(rank 0, the API server) and ``size - 1`` workers, one per node -- creates and restarts them together, and gives
every pod the leader's address (``LWS_LEADER_ADDRESS``) and its rank (``LWS_WORKER_INDEX``). The engines join the
ranks with their own multi-node flags ([multinode] in engine_flags.toml: vLLM >= 0.11 ``--nnodes/--node-rank/
--master-addr`` with ``--headless`` workers, SGLang ``--nnodes/--node-rank/--dist-init-addr``; vLLM 0.10 through a
Ray cluster). TensorRT-LLM runs multi-node under MPI, which is not generated.
"""

from __future__ import annotations

import math
import shlex
from typing import Any

from ..catalog import loader
from ..errors import InputError
from .engine_args import EngineLaunch
from .k8s_pods import K8sOptions, object_labels, object_meta, pod_basics
from .k8s_scaling import Target
from .k8s_serving import engine_container, pod_volumes
from .plan_file import k8s_catalog

ZONE_KEY = "topology.kubernetes.io/zone"


def spread(selector: dict[str, str], zones: int) -> list[dict[str, Any]]:
    """Spread replicas over the tier's zones (ScheduleAnyway: a missing zone delays nothing)."""
    if zones < 2:
        return []
    return [{"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": dict(selector)}}]  # fmt: skip


def workload(plan: dict[str, Any], launch: EngineLaunch, name: str, replicas: tuple[int, int], options: K8sOptions,
             zones: int, extra_labels: dict[str, str], per_node: int,
             cache: str) -> tuple[list[dict[str, Any]], Target, list[str]]:  # fmt: skip
    """(documents, autoscaling target, notes) for ``replicas`` = (min, max) replicas of ``launch``; ``cache`` is the
    model-cache claim the pods mount."""
    res = plan["gpu_resources"]
    gpus = int(res["tensor_parallel"]) * int(res["pipeline_parallel"])
    selector = {"app.kubernetes.io/name": name}
    labels = object_labels(name, "inference") | extra_labels
    if gpus > per_node:
        return _leader_worker_set(plan, launch, name, replicas, options, zones, labels, per_node, cache)
    pod, notes = pod_basics(plan, gpus, options)
    pod_volumes(pod, cache, launch, f"{name}-options")
    pod["containers"] = [engine_container(plan, launch, gpus, options)]
    if constraints := spread(selector, zones):
        pod["topologySpreadConstraints"] = constraints
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": object_meta(name, options, "inference"),
        "spec": {"replicas": replicas[0], "selector": {"matchLabels": selector},
                 "template": {"metadata": {"labels": labels}, "spec": pod}},
    }  # fmt: skip
    return [deployment], Target("apps/v1", "Deployment", name, replicas[0], replicas[1], selector), notes


def _rank_args(launch: EngineLaunch, nodes: int, leader: bool) -> tuple[list[str], list[str]]:
    """(command, args) of the leader or a worker pod: the engine's multi-node flags with LWS's rank variables."""
    flags, multi = launch.engine, launch.engine.multinode
    if multi.get("ray"):
        # Ray: every pod joins the leader's Ray cluster; the leader starts the engine once the workers are in
        serve = shlex.join([*flags.command, *launch.args, multi["ray_flag"], "ray"])
        if leader:
            script = f"ray start --head --port=6379 && {serve}"
        else:
            script = "ray start --address=$(LWS_LEADER_ADDRESS):6379 --block"
        return ["/bin/sh", "-c"], [script]
    if multi.get("nnodes_flag"):
        rank = "0" if leader else "$(LWS_WORKER_INDEX)"
        args = [*launch.args, multi["nnodes_flag"], str(nodes), multi["node_rank_flag"], rank]
        if multi.get("master_addr_flag"):
            args += [multi["master_addr_flag"], "$(LWS_LEADER_ADDRESS)"]
        if multi.get("dist_init_flag"):
            args += [multi["dist_init_flag"], f"$(LWS_LEADER_ADDRESS):{multi['dist_init_port']}"]
        if not leader and multi.get("worker_flag"):
            args.append(multi["worker_flag"])
        return list(flags.command), args
    raise InputError(f"one replica needs {nodes} nodes, and gpucast has no multi-node launch for {flags.name} "
                     f"{flags.version} (it runs multi-node under MPI); use --engine vllm|sglang or a larger node")  # fmt: skip


def _leader_worker_set(plan: dict[str, Any], launch: EngineLaunch, name: str, replicas: tuple[int, int],
                       options: K8sOptions, zones: int, labels: dict[str, str], per_node: int,
                       cache: str) -> tuple[list[dict[str, Any]], Target, list[str]]:  # fmt: skip
    res = plan["gpu_resources"]
    gpus = int(res["tensor_parallel"]) * int(res["pipeline_parallel"])
    nodes = math.ceil(gpus / per_node)
    if gpus % nodes:
        raise InputError(f"one replica of {gpus} GPUs does not split evenly over {nodes} nodes of {per_node} GPUs")
    per_pod = gpus // nodes
    templates, notes = [], []
    for leader in (True, False):
        pod, pod_notes = pod_basics(plan, per_pod, options)
        notes += pod_notes if leader else []
        pod_volumes(pod, cache, launch, f"{name}-options")
        command, args = _rank_args(launch, nodes, leader)
        container = engine_container(plan, launch, per_pod, options, args=args, serve=leader)
        container["command"] = command
        pod["containers"] = [container]
        if constraints := spread({"app.kubernetes.io/name": name}, zones) if leader else []:
            pod["topologySpreadConstraints"] = constraints
        templates.append({"metadata": {"labels": labels | {"gpucast.io/role": "leader" if leader else "worker"}},
                          "spec": pod})  # fmt: skip
    api = str(k8s_catalog()["leaderworkerset"]["api_version"])
    lws = {
        "apiVersion": api, "kind": "LeaderWorkerSet", "metadata": object_meta(name, options, "inference"),
        "spec": {
            "replicas": replicas[0],
            "leaderWorkerTemplate": {"size": nodes, "restartPolicy": "RecreateGroupOnPodRestart",
                                     "leaderTemplate": templates[0], "workerTemplate": templates[1]},
            "startupPolicy": "LeaderCreated",
        },
    }  # fmt: skip
    notes.append(f"one replica = {gpus} GPUs > {per_node} per node: a LeaderWorkerSet of {nodes} pods x {per_pod} "
                 "GPUs per replica (install the LeaderWorkerSet controller: https://lws.sigs.k8s.io/docs/installation/)")  # fmt: skip
    tp = int(res["tensor_parallel"])
    if tp > per_pod and loader.resolve_gpu(str(res["recommended_gpu_type"])).gpus_per_node >= tp:
        # a rack-scale NVLink domain (GB200 NVL72's 4-GPU trays): the plan priced the TP group on NVLink, which holds
        # only inside one NVLink partition ("clique"); a LeaderWorkerSet alone may place the pods in different ones
        notes.append(f"each replica's TP={tp} group spans its {nodes} pods over NVLink: schedule the pods of a replica "
                     "within one NVLink partition (the GPU Operator's node label nvidia.com/gpu.clique) with a "
                     "topology-aware scheduler (Kueue TAS, KAI Scheduler), or their all-reduces leave NVLink")  # fmt: skip
    leaders = {"app.kubernetes.io/name": name, "gpucast.io/role": "leader"}
    return [lws], Target(api, "LeaderWorkerSet", name, replicas[0], replicas[1], leaders), notes
