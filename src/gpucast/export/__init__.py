"""Deployment exports of a plan (issue 10): engine launch arguments and Kubernetes manifests.

* :func:`launch_for` — ``vllm serve`` / ``sglang.launch_server`` / ``trtllm-serve`` arguments for one replica
* :func:`serving_manifests`, :func:`training_manifests` — model cache, Deployment or LeaderWorkerSet (or prefill and
  decode pools), Service, PodMonitor, PodDisruptionBudget, HPA or KEDA ScaledObject; Job or Kubeflow PyTorchJob
* :func:`gpucast.export.helm.plan_values` — values for the vLLM production-stack Helm chart
* :func:`load_plan` — read and check a plan JSON written by ``--output``

Flag names, images, health endpoints, metric names and node labels are data (``catalog/engine_flags.toml``,
``catalog/k8s.toml``). PyYAML is imported only when YAML is written.
"""

from __future__ import annotations

from .engine_args import EngineLaunch, launch_for
from .k8s import manifests_yaml, serving_manifests
from .k8s_pods import K8sOptions
from .k8s_training import training_manifests
from .plan_file import load_plan

__all__ = ["EngineLaunch", "K8sOptions", "launch_for", "load_plan", "manifests_yaml", "serving_manifests",
           "training_manifests"]  # fmt: skip
