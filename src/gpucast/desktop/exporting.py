"""Exports of the plan on screen, through the exporters ``gpucast export`` and ``gpucast report`` use.

Each format is the text the CLI writes for the same plan file: the plan JSON (``--output``), the Markdown or HTML
report (``gpucast report --format md|html``), an engine's launch command (``gpucast export vllm|sglang|trtllm``)
and Kubernetes YAML (``gpucast export k8s``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    suffix: str
    kinds: tuple[str, ...]  # plan kinds it applies to


FORMATS = (
    ExportFormat("json", "Plan JSON", ".json", ("inference", "training")),
    ExportFormat("md", "Markdown report", ".md", ("inference", "training")),
    ExportFormat("html", "HTML report", ".html", ("inference", "training")),
    ExportFormat("vllm", "vLLM launch command", ".sh", ("inference",)),
    ExportFormat("sglang", "SGLang launch command", ".sh", ("inference",)),
    ExportFormat("trtllm", "TensorRT-LLM launch command", ".sh", ("inference",)),
    ExportFormat("k8s", "Kubernetes YAML", ".yaml", ("inference", "training")),
)


def formats_for(kind: str) -> tuple[ExportFormat, ...]:
    return tuple(f for f in FORMATS if kind in f.kinds)


def export_text(plan: dict[str, Any], key: str) -> str:
    """The export ``key`` of ``plan``, as the CLI writes it (raises InputError for a format the plan has not)."""
    from ..export.plan_file import check_plan

    kind = check_plan(plan)
    chosen = next((f for f in FORMATS if f.key == key), None)
    if chosen is None or kind not in chosen.kinds:
        accepted = ", ".join(f.key for f in formats_for(kind))
        article = "an" if kind[0] in "aeiou" else "a"
        raise InputError(f"export {key!r} is not available for {article} {kind} plan (accepted: {accepted})")
    if key == "json":
        return json.dumps(plan, indent=2) + "\n"
    if key in ("md", "html"):
        from ..reports.html import render_html
        from ..reports.markdown import render_markdown

        return (render_html if key == "html" else render_markdown)(plan, alternatives=True)
    if key == "k8s":
        from ..export.k8s import plan_manifests

        return plan_manifests(plan)
    from ..export.engine_args import launch_for

    return launch_for(plan, key).shell()


def write_export(plan: dict[str, Any], key: str, path: str | Path) -> Path:
    """Write the export to ``path`` (one-line InputError when it cannot be written)."""
    text = export_text(plan, key)
    target = Path(path)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(f"{str(target)!r} cannot be written: {error.strerror}") from error
    return target
