"""A disaggregated prefill/decode plan as the deployments that run it (llm-d / NVIDIA Dynamo / SGLang PD style).

Two pools of the plan's instance size, each its own workload with its own replica range and autoscaler, and each
engine started in its role with the KV-transfer settings of [disaggregation] in engine_flags.toml (vLLM: the NIXL
KV connector; SGLang: ``--disaggregation-mode prefill|decode`` over NIXL; TensorRT-LLM: the cache transceiver).
Pods carry ``llm-d.ai/role: prefill|decode``, the label llm-d's P/D-aware inference scheduler selects on.

* Replica ranges: the plan sizes each pool for the planned peak; the minimum keeps the pool's share of the average
  load (``ceil(peak pool x average / peak rps)``), never fewer than the tier's minimum or one.
* Autoscaling: each pool on its own pods' requests in flight (and KV-cache usage with KEDA), with the plan's
  thresholds; the queries select the pool by its workload label, not by the model name both pools share.
* The request router in front of the pools: SGLang's router in PD mode is generated (a Deployment and a Service);
  for vLLM, llm-d's inference scheduler (installed with its Helm chart) routes by the role label, and for
  TensorRT-LLM ``trtllm-serve disaggregated`` -- notes say so.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from .engine_args import EngineLaunch, LaunchOptions, launch_for
from .k8s_pods import K8sOptions, dns_name, object_labels, object_meta
from .k8s_scaling import autoscaler, disruption_budget, pod_monitor
from .k8s_serving import cache_claim_name
from .k8s_workload import workload

ROLE_LABEL = "llm-d.ai/role"


def pool_range(plan: dict[str, Any], peak_count: int, tier_min: int) -> tuple[int, int]:
    scaling = plan["scaling"]
    peak, average = float(scaling.get("peak_rps") or 0), float(scaling.get("average_rps") or 0)
    share = math.ceil(peak_count * average / peak) if peak > 0 else peak_count
    low = min(peak_count, max(1, tier_min, share))
    return low, max(low, peak_count)


def service(name: str, selector: dict[str, str], port: int, options: K8sOptions) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": object_meta(name, options, "inference"),
            "spec": {"selector": dict(selector), "ports": [{"name": "http", "port": port, "targetPort": "http"}]}}  # fmt: skip


def disaggregated_manifests(plan: dict[str, Any], options: K8sOptions, base: str, tier_min: int, zones: int,
                            per_node: int) -> tuple[list[dict[str, Any]], list[str], EngineLaunch]:  # fmt: skip
    """Prefill and decode pools (+ the SGLang router), notes, and the prefill launch (for the header)."""
    d = plan["disaggregation"]
    documents: list[dict[str, Any]] = []
    notes: list[str] = [f"disaggregated prefill/decode: {d['prefill_instances']} prefill + {d['decode_instances']} "
                        f"decode instances of {d['gpus_per_instance']} GPUs at the planned peak ({d.get('reason', '')})"]  # fmt: skip
    urls: dict[str, str] = {}
    first: EngineLaunch | None = None
    for role, count in (("prefill", int(d["prefill_instances"])), ("decode", int(d["decode_instances"]))):
        launch_options: LaunchOptions = replace(options.launch, engine=options.engine, role=role)
        launch = launch_for(plan, options.engine, launch_options)
        first = first or launch
        name = dns_name(f"{base}-{role}")
        low, high = pool_range(plan, count, tier_min)
        docs, target, pool_notes = workload(plan, launch, name, (low, high), options, zones, {ROLE_LABEL: role},
                                            per_node, cache_claim_name(base))  # fmt: skip
        documents += docs
        documents.append(service(name, target.selector, launch.engine.port, options))
        documents += pod_monitor(name, launch, target.selector, options)
        documents += disruption_budget(name, low, {"app.kubernetes.io/name": name}, options)
        documents += autoscaler(plan, launch, target, options, pool_notes)
        notes += [n for n in [*launch.notes, *pool_notes] if n not in notes]
        urls[role] = f"http://{name}.{options.namespace}.svc:{launch.engine.port}"
    assert first is not None
    router = first.engine.disaggregation.get("router", "")
    if router == "sglang":
        documents += _sglang_router(base, first, urls, options)
        notes.append(f"requests go to Service {dns_name(base + '-router')} (SGLang router in PD mode)")
    elif router == "llm-d":
        notes.append("route requests with llm-d's P/D-aware inference scheduler (https://llm-d.ai, Helm chart "
                     f"llm-d-infra): it selects prefill and decode pods by the {ROLE_LABEL} label")  # fmt: skip
    else:
        notes.append("front the pools with `trtllm-serve disaggregated -c <config>` listing both Services "
                     f"({urls['prefill']}, {urls['decode']})")  # fmt: skip
    return documents, notes, first


def _sglang_router(base: str, launch: EngineLaunch, urls: dict[str, str], options: K8sOptions) -> list[dict[str, Any]]:
    names = launch.engine.disaggregation
    name = dns_name(f"{base}-router")
    selector = {"app.kubernetes.io/name": name}
    args = ["--pd-disaggregation", "--prefill", urls["prefill"], names["bootstrap_port"], "--decode", urls["decode"],
            "--host", "0.0.0.0", "--port", "8000"]  # fmt: skip
    container = {
        "name": "router", "image": names["router_image"], "command": ["python3", "-m", "sglang_router.launch_router"],
        "args": args, "ports": [{"name": "http", "containerPort": 8000}],
        "resources": {"requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
        "readinessProbe": {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10},
    }  # fmt: skip
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": object_meta(name, options, "router"),
        "spec": {"replicas": 2, "selector": {"matchLabels": selector},
                 "template": {"metadata": {"labels": object_labels(name, "router")},
                              "spec": {"containers": [container]}}},
    }  # fmt: skip
    return [deployment, service(name, selector, 8000, options)]
