"""Kubernetes manifests from a plan: ``gpucast export k8s``.

A serving plan becomes what a platform team applies as it is:

* the workload: a Deployment (one pod = one replica = TP x PP GPUs of the planned type), or a LeaderWorkerSet when a
  replica spans nodes (``k8s_workload.py``); a disaggregated plan becomes separate prefill and decode pools
  (``k8s_disagg.py``);
* a Service, a PodMonitor for the Prometheus Operator, a PodDisruptionBudget and the replica minimum and zone
  spread of the criticality tier (``catalog/criticality.toml``), autoscaling on the plan's thresholds -- an HPA
  (with the prometheus-adapter rule in the header) or a KEDA ScaledObject, and none when min = max
  (``k8s_scaling.py``);
* a model-cache PersistentVolumeClaim with ``HF_HOME`` on it, a start-up probe sized from the download and load
  time, CPU and memory requests and limits that cover ``/dev/shm`` (``k8s_serving.py``).

Training plans become a ``batch/v1`` Job or a Kubeflow PyTorchJob (``k8s_training.py``). Plans that miss their
SLOs are refused. GPU pods request and limit ``nvidia.com/gpu`` (requests must equal limits,
https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/) and select nodes of the planned instance type by the
well-known label ``node.kubernetes.io/instance-type``.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from importlib import resources
from typing import Any

from ..errors import InputError
from .engine_args import EngineLaunch, launch_for, release_words
from .k8s_disagg import disaggregated_manifests
from .k8s_pods import K8sOptions, cuda_image_warning, dns_name, largest_node
from .k8s_scaling import adapter_rule, autoscaler, disruption_budget, hpa_metric, pod_monitor
from .k8s_serving import cache_claim_name, model_cache_claim, options_config_map
from .k8s_training import training_manifests
from .k8s_workload import workload
from .plan_file import check_plan, require_kind


def tier(name: str) -> dict[str, Any]:
    """A criticality tier's defaults (catalog/criticality.toml: min_replicas, zones, safety_margin)."""
    data = tomllib.loads(resources.files("gpucast.catalog").joinpath("criticality.toml").read_text("utf-8"))
    if name not in data:
        raise InputError(f"--criticality {name!r} is not one of {', '.join(data)}")
    return dict(data[name])


def replica_range(plan: dict[str, Any], tier_min: int) -> tuple[int, int]:
    """(min, max) replicas: the plan's, with the minimum raised to the tier's."""
    scaling = plan["scaling"]
    low = max(int(scaling["recommended_min_replicas"]), tier_min)
    return low, max(low, int(scaling["recommended_max_replicas"]))


def _launch(plan: dict[str, Any], options: K8sOptions) -> EngineLaunch:
    return launch_for(plan, options.engine, replace(options.launch, engine=options.engine))


def serving_manifests(
    plan: dict[str, Any], options: K8sOptions = K8sOptions()
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every object a serving plan needs, and notes for the operator (warnings first, marked WARNING)."""
    check_plan(plan)
    require_kind(plan, "inference", "gpucast export k8s for serving")
    launch = _launch(plan, options)
    levels = tier(options.criticality)
    base = dns_name(options.name or f"{launch.served_name.split('/')[-1]}-{launch.engine.id}")
    per_node = largest_node(plan)
    documents: list[dict[str, Any]] = [model_cache_claim(base, plan, options)]
    warnings = [f"WARNING: {w}" for w in launch.warnings]
    disagg = plan.get("disaggregation") or {}
    if disagg.get("winner") == "disaggregated":
        pools, notes, launch = disaggregated_manifests(plan, options, base, int(levels["min_replicas"]),
                                                       int(levels["zones"]), per_node)  # fmt: skip
        if launch.config_file:
            documents.append(options_config_map(f"{base}-prefill-options", launch, options))
            decode = launch_for(plan, options.engine, replace(options.launch, engine=options.engine, role="decode"))
            documents.append(options_config_map(f"{base}-decode-options", decode, options))
        return documents + pools, warnings + notes

    low, high = replica_range(plan, int(levels["min_replicas"]))
    if launch.config_file:
        documents.append(options_config_map(f"{base}-options", launch, options))
    work, target, notes = workload(plan, launch, base, (low, high), options, int(levels["zones"]), {}, per_node,
                                   cache_claim_name(base))  # fmt: skip
    documents += work
    documents.append({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": base, "namespace": options.namespace,
                                                            "labels": work[0]["metadata"]["labels"]},
        "spec": {"selector": dict(target.selector),
                 "ports": [{"name": "http", "port": launch.engine.port, "targetPort": "http"}]},
    })  # fmt: skip
    documents += pod_monitor(base, launch, target.selector, options)
    documents += disruption_budget(base, low, {"app.kubernetes.io/name": base}, options)
    documents += autoscaler(plan, launch, target, options, notes)
    if low > int(plan["scaling"]["recommended_min_replicas"]):
        notes.append(f"criticality {options.criticality}: at least {low} replicas (the plan's minimum was "
                     f"{plan['scaling']['recommended_min_replicas']})")  # fmt: skip
    agent = plan.get("agent") or {}
    if agent and agent.get("prefix_caching", True):
        notes.append("the plan counts on prefix-cache hits: route each session to the replica that holds its "
                     "prefix (`gpucast export helm` sets the vLLM production-stack router to prefixaware; or llm-d's "
                     "inference scheduler); round-robin Service routing loses most hits")  # fmt: skip
    return documents, warnings + launch.notes + notes


def manifests_yaml(documents: list[dict[str, Any]], header: list[str]) -> str:
    """Multi-document YAML with a comment header (the plan, versions, sources, notes)."""
    import yaml

    class Dumper(yaml.SafeDumper):  # multi-line strings (ConfigMap files) as literal blocks
        pass

    def text(dumper: Any, value: str) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    Dumper.ignore_aliases = lambda self, data: True  # type: ignore[method-assign]  # plain YAML, no &anchors
    head = "".join(f"# {line}\n" for line in header)
    body: str = yaml.dump_all(documents, Dumper=Dumper, sort_keys=False, explicit_start=True, width=120)
    return head + body


def plan_manifests(plan: dict[str, Any], options: K8sOptions = K8sOptions()) -> str:
    """The manifests of any plan as YAML text (serving or training), with a header saying what they came from."""
    return manifests_and_warnings(plan, options)[0]


def manifests_and_warnings(plan: dict[str, Any], options: K8sOptions = K8sOptions()) -> tuple[str, list[str]]:
    """:func:`plan_manifests`, and the warnings to show on stderr (a ``--model-size`` stand-in)."""
    kind = check_plan(plan)
    warnings: list[str] = []
    if kind == "inference":
        documents, notes = serving_manifests(plan, options)
        launch = _launch(plan, options)
        flags = launch.engine
        warnings = [*launch.warnings, *cuda_image_warning(plan, flags.image)]
        about = [
            f"engine: {flags.name} {flags.version} ({flags.image}; {release_words(flags)}); flags: {flags.source}",
            "private registry or mirror: add `imagePullSecrets: [{name: <secret>}]` to each pod spec",
        ]
        if any(d["kind"] in ("HorizontalPodAutoscaler", "ScaledObject") for d in documents):
            if options.keda:
                about.append(f"autoscaling: KEDA ScaledObject on {flags.metrics_source}")
            else:
                metric, _ = hpa_metric(plan, launch)
                about.append(f"autoscaling: HPA on the Pods metric {metric}")
                about += adapter_rule(launch)
    else:
        documents, notes = training_manifests(plan, options)
        about = []
    header = [f"gpucast {plan.get('versions', {}).get('gpucast') or ''} plan: {plan.get('recommendation', '')}", *about]
    return manifests_yaml(documents, header + [f"note: {n}" for n in notes]), warnings
