"""Charts of a report: the web pages' own inline-SVG charts (:mod:`gpucast.charts`), reused as they are.

The SVG needs nothing at view time (no script, no font, no network), so the HTML report embeds it inline and
the Markdown report as ``data:image/svg+xml`` images. The charts are standard library only: a report needs no
extra.
"""

from __future__ import annotations

import base64
from typing import Any

COMPARE_BARS = 12  # bars in the cost comparison chart (as on the web page)


def plan_charts(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, SVG) for the plan: memory per GPU; for serving also throughput and latency against concurrency."""
    from ..charts.plans import result_charts, training_memory_chart

    if plan["kind"] == "training":
        return [("Memory per GPU", str(training_memory_chart(plan)))]
    from ..charts.curve import plan_curve
    from ..export.plan_file import inference_inputs_from_plan

    workload, model, gpu, options = inference_inputs_from_plan(plan)
    drawn = result_charts(plan, plan_curve(workload, model, gpu, options, plan), options)
    return [("Memory per GPU", str(drawn["memory"])), ("Throughput per replica", str(drawn["throughput"])),
            ("Latency", str(drawn["latency"]))]  # fmt: skip


def comparison_chart(rows: list[Any], plan: dict[str, Any]) -> tuple[str, str]:
    """Monthly cost of the compared GPU x cloud options, the plan's own outlined."""
    from ..charts.plans import compare_chart

    return "Monthly cost by GPU and cloud", str(compare_chart(rows[:COMPARE_BARS], plan))


def data_uri(svg: str) -> str:
    """An SVG as a data URI (Markdown images cannot hold inline SVG)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
