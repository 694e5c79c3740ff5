"""The charts of a plan, shared by the web pages and the reports: memory per GPU, throughput and latency against
concurrency (the plan's operating point marked), the GPU x cloud cost comparison, and a training plan's memory.

Standard library only (:mod:`.svg`), so ``gpucast report`` draws the same charts as ``gpucast serve`` without
the server's packages.
"""

from __future__ import annotations

from typing import Any

from ..wording import token_slo_label
from . import svg as charts
from .svg import Svg


def result_charts(plan: dict[str, Any], curve: Any, options: Any) -> dict[str, Svg]:
    """Memory per GPU, and throughput and latency against concurrency with the plan's operating point marked."""
    res = plan["gpu_resources"]
    memory = charts.stacked_bar(
        [("weights", res["weights_gb_per_gpu"]), ("KV cache", res["kv_cache_gb_per_gpu"]),
         ("activations", res["activations_gb_per_gpu"]), ("runtime", res["overhead_gb_per_gpu"])],
        title=f"Memory per GPU ({res['recommended_gpu_type']}, TP={res['tensor_parallel']})",
        capacity=res["gpu_memory_gb"],
        width=1140,
    )  # fmt: skip
    chosen = curve.chosen
    throughput = charts.line_chart(
        [charts.Series("output tokens/s", [(p.concurrency, p.output_tokens_per_s) for p in curve.points])],
        title="Throughput per replica vs concurrency",
        x_label="requests in flight per replica",
        y_label="output tokens/s",
        marker=charts.Marker(chosen.concurrency, chosen.output_tokens_per_s,
                             f"plan: {chosen.concurrency:.0f} → {chosen.output_tokens_per_s:,.0f} tok/s"),
    )  # fmt: skip
    latency = charts.line_chart(
        [charts.Series("ITL ms", [(p.concurrency, p.itl_s * 1e3) for p in curve.points], charts.PALETTE[0]),
         charts.Series("TTFT ms", [(p.concurrency, p.ttft_s * 1e3) for p in curve.points], charts.PALETTE[1])],
        title="Latency vs concurrency (means)",
        x_label="requests in flight per replica",
        y_label="milliseconds",
        marker=charts.Marker(chosen.concurrency, chosen.itl_s * 1e3, f"plan: ITL {chosen.itl_s * 1e3:.0f} ms"),
        thresholds=[charts.Threshold(options.itl_slo_ms, token_slo_label(options.slo_percentile, options.itl_slo_ms))],
    )  # fmt: skip
    return {"memory": memory, "throughput": throughput, "latency": latency}


def compare_chart(rows: list[Any], plan: dict[str, Any]) -> Svg:
    """Monthly cost of GPU x cloud options (cheapest first), the plan's own outlined."""
    bars = [charts.Bar(f"{r.gpu_type} ×{r.total_gpus} {r.cloud}", r.monthly_cost, r.cloud) for r in rows]
    chosen = plan["gpu_resources"]["recommended_gpu_type"], (plan["cost"] or {}).get("cloud")  # None: no price
    mark = next((i for i, r in enumerate(rows) if (r.gpu_type, r.cloud) == chosen), None)
    return charts.bar_chart(
        bars, title="Monthly cost by GPU and cloud (cheapest first)", unit="$/mo", highlight=mark, width=640
    )


def training_memory_chart(plan: dict[str, Any]) -> Svg:
    """Memory per GPU of a training plan: weights, gradients, optimizer states, activations, buffers."""
    res = plan["gpu_resources"]
    return charts.stacked_bar(
        [("weights", res["model_weights_gb"]), ("gradients", res["gradients_gb"]),
         ("optimizer", res["optimizer_states_gb"]), ("activations", res["activations_gb"]),
         ("buffers", res["buffers_gb"])],
        title=f"Memory per GPU ({res['recommended_gpu_type']})",
        capacity=res["gpu_memory_gb"],
        width=1140,
    )  # fmt: skip
