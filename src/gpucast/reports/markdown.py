"""The Markdown report: GitHub-flavoured tables, charts as ``data:`` SVG images, nothing linked for rendering."""

from __future__ import annotations

from typing import Any

from .charts import data_uri
from .content import Report, Table, build_report, marked


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(table: Table, level: str = "###") -> list[str]:
    lines = [f"{level} {table.title}", "", "| " + " | ".join(table.headers) + " |",
             "|" + "|".join("---" for _ in table.headers) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return [*lines, ""]


def report_markdown(report: Report, plan: dict[str, Any]) -> str:
    versions = plan.get("versions") or {}
    lines = [f"# {report.title}", "",
             f"_gpucast {versions.get('gpucast', '')} {report.kind} plan report. Estimates from the model "
             "architecture, the GPU catalog and fitted efficiencies: validate with a load test before committing._",
             "", "## Summary", "", report.summary, ""]  # fmt: skip
    lines += [f"- **{name}**: {value}" for name, value in report.key_figures]
    lines += ["", "## Inputs", "", *_table(report.tables[0], "###")[2:], "## The plan", ""]
    for table in report.tables[1:]:
        lines += _table(table)
    if report.charts:
        lines += ["## Charts", ""]
        lines += [f"![{title}]({data_uri(svg)})\n" for title, svg in report.charts]
    lines += ["## Assumptions and sources", ""]
    lines += [f"- {a}" for a in report.assumptions]
    lines += ["", "Sources:", ""] + [f"- {s}" for s in report.sources]
    lines += ["", "## Risks", ""] + ([f"- {r}" for r in report.risks] or ["- none found"])
    lines += ["", "## Alternatives", ""]
    if report.alternatives is not None:
        lines += _table(report.alternatives)[2:]
        lines += ["➜ marks the plan's own GPU and cloud.", ""] if marked(report.alternatives) else [""]
    else:
        lines += [report.alternatives_note or "Not computed (--no-alternatives).", ""]
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(plan: dict[str, Any], *, alternatives: bool = True) -> str:
    """The Markdown report of a plan dict."""
    return report_markdown(build_report(plan, alternatives=alternatives), plan)
