"""Autoscaling, scraping and disruption objects of a serving workload.

* HPA (``autoscaling/v2``): a Pods metric of requests in flight = running + WAITING requests per pod, served by a
  prometheus-adapter rule that gpucast writes into the YAML header (the engine exports two gauges; an HPA on the
  running ones alone never sees a queue build up). Engines without Prometheus request gauges (trtllm-serve)
  scale on DCGM GPU utilization.
* KEDA ScaledObject (``--keda``): Prometheus triggers on the same sum, and on KV-cache usage (vLLM >= 0.10:
  ``vllm:kv_cache_usage_perc``; the old ``vllm:gpu_cache_usage_perc`` is gone from current releases). KEDA owns
  the HPA of a ScaledObject, so the two are alternatives.
* No autoscaler when the plan's minimum equals its maximum: there is nothing to scale, and an HPA pinned at
  min = max only adds a moving part.
* PodMonitor (Prometheus Operator): the operator ignores ``prometheus.io/*`` annotations. It copies the pods'
  ``app.kubernetes.io/name`` onto every series, so a KEDA query counts the requests of its own workload only
  (the prefill and decode pools of one model share the engine's ``model_name`` label).
* PodDisruptionBudget: at most one replica voluntarily disrupted at a time (node drains, upgrades) when the tier
  keeps two or more; none for a single-replica tier (a PDB would block every drain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .engine_args import EngineLaunch
from .k8s_pods import K8sOptions, object_meta
from .plan_file import k8s_catalog

WORKLOAD_LABEL = "app_kubernetes_io_name"  # app.kubernetes.io/name as a Prometheus label (podTargetLabels)
SCALE_DOWN_WINDOW_S = 300  # wait 5 minutes of low load before removing a replica (a reload takes minutes)


@dataclass(frozen=True)
class Target:
    """What an autoscaler scales: a Deployment or a LeaderWorkerSet, between ``low`` and ``high`` replicas."""

    api_version: str
    kind: str
    name: str
    low: int
    high: int
    selector: dict[str, str]  # labels of the pods that serve (LWS: the leaders)


def _quantity(value: float) -> str:
    return f"{round(value, 3):g}"


def in_flight_metric(launch: EngineLaunch) -> str:
    """The adapter's metric name for running + waiting requests per pod."""
    return f"{launch.engine.id}_requests_in_flight"


def hpa_metric(plan: dict[str, Any], launch: EngineLaunch) -> tuple[str, float]:
    """(Pods metric, per-pod target): requests in flight vs the plan's queue-depth threshold, or -- for an engine
    without Prometheus request gauges -- DCGM GPU utilization (percent) vs the plan's GPU-utilization threshold."""
    scaling = plan["scaling"]
    if launch.engine.metrics_running and launch.engine.metrics_waiting:
        return in_flight_metric(launch), float(scaling["auto_scale_queue_depth_threshold"])
    return k8s_catalog()["gpu_metrics"]["utilization"], 100.0 * float(scaling["auto_scale_gpu_util_threshold"])


def adapter_rule(launch: EngineLaunch) -> list[str]:
    """The prometheus-adapter chart values (``rules.custom``) that serve :func:`in_flight_metric` to the HPA."""
    flags = launch.engine
    if not (flags.metrics_running and flags.metrics_waiting):
        return []
    match = "<<.LabelMatchers>>"
    return [
        "prometheus-adapter values (helm upgrade prometheus-adapter prometheus-community/prometheus-adapter -f -):",
        "rules:",
        "  custom:",
        f'  - seriesQuery: \'{flags.metrics_running}{{namespace!="",pod!=""}}\'',
        "    resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}",
        f"    name: {{as: {in_flight_metric(launch)}}}",
        f"    metricsQuery: 'sum({flags.metrics_running}{{{match}}}) by (<<.GroupBy>>) + "
        f"sum({flags.metrics_waiting}{{{match}}}) by (<<.GroupBy>>)'",
    ]


def autoscaler(plan: dict[str, Any], launch: EngineLaunch, target: Target, options: K8sOptions,
               notes: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    """The HPA or ScaledObject for ``target``, or nothing (with a note) when min = max."""
    if target.low >= target.high:
        notes.append(f"{target.name}: {target.low} replicas at every load (min = max): no autoscaler")
        return []
    return [_keda(plan, launch, target, options) if options.keda else _hpa(plan, launch, target, options)]


def _hpa(plan: dict[str, Any], launch: EngineLaunch, target: Target, options: K8sOptions) -> dict[str, Any]:
    metric, value = hpa_metric(plan, launch)
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": object_meta(target.name, options, "inference"),
        "spec": {
            "scaleTargetRef": {"apiVersion": target.api_version, "kind": target.kind, "name": target.name},
            "minReplicas": target.low,
            "maxReplicas": target.high,
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": metric},
                "target": {"type": "AverageValue", "averageValue": _quantity(value)}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": SCALE_DOWN_WINDOW_S}},
        },
    }  # fmt: skip


def _keda(plan: dict[str, Any], launch: EngineLaunch, target: Target, options: K8sOptions) -> dict[str, Any]:
    """Prometheus triggers on the engine's gauges: (running + waiting) per replica, and KV-cache usage."""
    flags, scaling = launch.engine, plan["scaling"]
    if not (flags.metrics_running and flags.metrics_waiting):
        raise InputError(f"--keda needs Prometheus gauges of queued and running requests; {flags.name} "
                         f"{flags.version} exports none at {flags.metrics_path or 'any Prometheus endpoint'} (use the HPA, or "
                         "--engine vllm|sglang)")  # fmt: skip
    # the workload's own pods: the PodMonitor copies app.kubernetes.io/name onto every series (podTargetLabels)
    where = f'{{namespace="{options.namespace}",{WORKLOAD_LABEL}="{target.name}"}}'
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
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": object_meta(target.name, options, "inference"),
        "spec": {
            "scaleTargetRef": {"apiVersion": target.api_version, "kind": target.kind, "name": target.name},
            "minReplicaCount": target.low,
            "maxReplicaCount": target.high,
            "pollingInterval": 15,
            "cooldownPeriod": SCALE_DOWN_WINDOW_S,
            "triggers": triggers,
        },
    }  # fmt: skip


def pod_monitor(name: str, launch: EngineLaunch, selector: dict[str, str],
                options: K8sOptions) -> list[dict[str, Any]]:  # fmt: skip
    """Scrape the engine's Prometheus endpoint on the pods' http port (Prometheus Operator); none for a release
    with no Prometheus text endpoint in the table (a scrape of JSON fails and marks every target down)."""
    if not launch.engine.metrics_path:
        return []
    data = k8s_catalog()["monitoring"]
    meta = object_meta(name, options, "inference")
    meta["labels"] = meta["labels"] | {"release": data["release_label"]}
    return [{
        "apiVersion": data["api_version"], "kind": "PodMonitor", "metadata": meta,
        "spec": {"selector": {"matchLabels": dict(selector)}, "podTargetLabels": ["app.kubernetes.io/name"],
                 "podMetricsEndpoints": [{"port": "http", "path": launch.engine.metrics_path,
                                          "interval": data["interval"]}]},
    }]  # fmt: skip


def disruption_budget(name: str, low: int, selector: dict[str, str], options: K8sOptions) -> list[dict[str, Any]]:
    """At most one serving replica down by choice at a time; none when the tier runs a single replica."""
    if low < 2:
        return []
    return [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": object_meta(name, options, "inference"),
             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(selector)}}}]  # fmt: skip
