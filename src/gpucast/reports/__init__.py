"""Reports of a plan for people who don't read JSON (issue 10): Markdown and a single self-contained HTML file.

``markdown_report(plan)`` and ``html_report(plan)`` take the dict a planning command writes with ``--output``
(``kind`` "inference" or "training") and return the whole document as a string: summary, inputs, the plan,
charts (inline SVG, offline), assumptions and sources, risks, and alternatives from ``gpucast compare``.
``alternatives=False`` skips the comparison (it re-plans every GPU x cloud, ~1 s).
"""

from __future__ import annotations

from typing import Any

__all__ = ["html_report", "markdown_report"]


def markdown_report(plan: dict[str, Any], *, alternatives: bool = True) -> str:
    """The plan as Markdown (GitHub-flavoured tables; charts as ``data:image/svg+xml`` images)."""
    from .markdown import render_markdown

    return render_markdown(plan, alternatives=alternatives)


def html_report(plan: dict[str, Any], *, alternatives: bool = True) -> str:
    """The plan as one self-contained HTML page (inline CSS and SVG; nothing is fetched when it is opened)."""
    from .html import render_html

    return render_html(plan, alternatives=alternatives)
