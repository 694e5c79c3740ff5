"""The HTML report: one file with inline CSS and inline SVG charts, no script, no external resource.

Links to sources are plain anchors (followed only on click); nothing is loaded when the page opens, so the file
can be mailed, attached to a ticket or opened offline. Every text from the plan passes through ``html.escape``.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from .content import Report, Table, build_report, marked

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#111827;background:#f9fafb}
main{max-width:1180px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 10px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px;color:#374151}.note{color:#6b7280;font-size:13px;margin:0 0 16px}
.summary{font-size:16px;background:#eff6ff;border-left:4px solid #2563eb;padding:12px 16px;margin:12px 0}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;margin:14px 0}
.figure{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px}
.figure b{display:block;font-size:12px;color:#6b7280;font-weight:500;text-transform:uppercase;letter-spacing:.03em}
.figure span{font-size:17px;font-weight:600}
.tables{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:8px 24px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f4f6}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts figure{margin:0;background:#fff;border:1px solid #e5e7eb;
border-radius:8px;padding:8px;max-width:100%;overflow-x:auto}
ul{padding-left:20px}li{margin:3px 0}.risks li{color:#92400e}a{color:#1d4ed8}
"""


def _table(table: Table, heading: bool = True) -> str:
    head = f"<h3>{escape(table.title)}</h3>" if heading else ""
    cols = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    return f"{head}<table><thead><tr>{cols}</tr></thead><tbody>{rows}</tbody></table>"


def _linked(text: str) -> str:
    """Escape, and turn http(s) URLs into anchors (navigation only; nothing loads)."""
    parts = re.split(r"(https?://[^\s()]+)", text)
    return "".join(f'<a href="{escape(p)}">{escape(p)}</a>' if i % 2 else escape(p) for i, p in enumerate(parts))


def report_html(report: Report, plan: dict[str, Any]) -> str:
    version = (plan.get("versions") or {}).get("gpucast", "")
    figures = "".join(f'<div class="figure"><b>{escape(k)}</b><span>{escape(v)}</span></div>'
                      for k, v in report.key_figures)  # fmt: skip
    charts = "".join(f'<figure data-title="{escape(t)}">{svg}</figure>' for t, svg in report.charts)
    mark = "<p class=note>➜ marks the plan's own GPU and cloud.</p>" if marked(report.alternatives) else ""
    alternatives = (_table(report.alternatives, heading=False) + mark if report.alternatives else f"<p>{escape(report.alternatives_note or 'Not computed.')}</p>")  # fmt: skip
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(report.title)}</title>',
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body><main>',
        f"<h1>{escape(report.title)}</h1><p class=note>gpucast {escape(version)} {escape(report.kind)} plan report. "
        "Estimates from the model architecture, the GPU catalog and fitted efficiencies: validate with a load test "
        "before committing.</p>",
        f'<section id="summary"><h2>Summary</h2><div class="summary">{escape(report.summary)}</div>'
        f'<div class="figures">{figures}</div></section>',
        f'<section id="inputs"><h2>Inputs</h2>{_table(report.tables[0], heading=False)}</section>',
        '<section id="plan"><h2>The plan</h2><div class="tables">'
        + "".join(f"<div>{_table(t)}</div>" for t in report.tables[1:]) + "</div></section>",
        f'<section id="charts"><h2>Charts</h2><div class="charts">{charts}</div></section>',
        '<section id="assumptions"><h2>Assumptions and sources</h2><ul>'
        + "".join(f"<li>{_linked(a)}</li>" for a in report.assumptions) + "</ul><h3>Sources</h3><ul>"
        + "".join(f"<li>{_linked(s)}</li>" for s in report.sources) + "</ul></section>",
        '<section id="risks"><h2>Risks</h2><ul class="risks">'
        + ("".join(f"<li>{escape(r)}</li>" for r in report.risks) or "<li>none found</li>") + "</ul></section>",
        f'<section id="alternatives"><h2>Alternatives</h2>{alternatives}</section>',
        "</main></body></html>\n",
    ]  # fmt: skip
    return "".join(parts)


def render_html(plan: dict[str, Any], *, alternatives: bool = True) -> str:
    """The HTML report of a plan dict."""
    return report_html(build_report(plan, alternatives=alternatives), plan)
