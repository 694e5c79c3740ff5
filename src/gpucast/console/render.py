"""Terminal rendering with rich: a plan scannable in 30 seconds, comparison and catalog tables."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from ..core.layout import Layout
from ..core.percentiles import slo_statistic, token_target
from ..plans.inference import LLMCapacityPlan, ThroughputMetrics
from ..wording import rate
from .render_prices import comparison_footer, price_age

# Piped output (files, CI logs) gets 140 columns so tables and formulas are not wrapped.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 140)


def _section(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE, show_header=False, pad_edge=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    for name, value in rows:
        table.add_row(name, value)
    return table


def _money(value: float | None) -> str:
    """Whole dollars, or cents below $10: a one-minute run costs $0.39, not "$0"."""
    return "n/a" if value is None else f"${value:,.2f}" if abs(value) < 10 else f"${value:,.0f}"


def _percentile_rows(thr: ThroughputMetrics, percentile: str) -> list[tuple[str, str]]:
    """The statistic the SLOs bound (p99 TTFT and TPOT) at the planned peak and at the capacity, beside the means
    (none for SLOs on the means, or a plan written before these fields)."""
    if percentile == "mean" or thr.ttft_at_slo_percentile_ms is None or thr.tpot_at_slo_percentile_ms is None:
        return []
    edge_ttft, edge_tpot = thr.capacity_ttft_at_slo_percentile_ms or 0.0, thr.capacity_tpot_at_slo_percentile_ms or 0.0
    return [
        (
            f"TTFT (p{percentile})",
            f"{thr.ttft_at_slo_percentile_ms:,.0f} ms at planned peak ({edge_ttft:,.0f} at capacity)",
        ),
        (
            f"TPOT (p{percentile})",
            f"{thr.tpot_at_slo_percentile_ms:.1f} ms at planned peak ({edge_tpot:.1f} at capacity)",
        ),
    ]


def plan(p: LLMCapacityPlan, *, explain: bool = False) -> None:
    inputs, res, thr, sc = p.inputs, p.gpu_resources, p.throughput, p.scaling
    percentile = str(inputs.get("slo_percentile", "mean"))  # plans before issue 21 bound the means
    statistic = slo_statistic(percentile)
    engine = " ".join(str(inputs[key]) for key in ("engine", "engine_version") if inputs.get(key))
    console.print("[bold]LLM INFRASTRUCTURE CAPACITY PLAN[/bold]  (gpucast)")
    console.print(
        _section(
            "Inputs",
            [
                (
                    "Workload",
                    f"{rate(inputs['requests_per_second'])} req/s avg, peak x{inputs['peak_load_multiplier']:g}, "
                    + (f"growth +{inputs['growth_rate']:g}%, " if inputs.get("growth_rate") else "")
                    + f"{inputs['avg_input_tokens']} in / {inputs['avg_output_tokens']} out tokens"
                    + (
                        f" (means of length profile {inputs['length_profile']})" if inputs.get("length_profile") else ""
                    ),
                ),
                (
                    "Model",
                    f"{p.model['name']} ({p.model['total_params_b']:.1f}B params, "
                    f"{p.model['active_params_b']:.1f}B active), {inputs['precision']}, KV {inputs['kv_precision']}",
                ),
                (
                    f"SLOs ({statistic})",
                    f"TTFT <= {inputs['ttft_slo_ms']:g} ms, {token_target(percentile)} "
                    f"<= {inputs['itl_slo_ms']:g} ms"
                    + (f", E2E <= {inputs['target_latency_ms']:g} ms" if inputs.get("target_latency_ms") else ""),
                ),
                ("Context window", f"{inputs['context_window']} tokens"),
                # the engine decides the memory it reserves and its fitted speed: a plan says which it assumed
                *([("Engine", engine)] if engine else []),
            ],
        )
    )
    shard = Layout(res.tensor_parallel, res.pipeline_parallel, res.expert_parallel, res.attention_data_parallel).label()
    console.print(
        _section(
            "GPU resources",
            [
                ("GPU type", f"{res.recommended_gpu_type} ({res.gpu_memory_gb / 1.073741824:.0f} GiB)"),
                ("GPUs per replica", f"{res.min_gpus_per_replica} ({shard})"),
                ("Replicas", f"{res.min_replicas} - {res.max_replicas}"),
                ("Total GPUs", f"{res.total_gpus} (at max replicas)"),
                (
                    "Memory per GPU",
                    f"weights {res.weights_gb_per_gpu:.1f} GB + KV cache {res.kv_cache_gb_per_gpu:.1f} GB + "
                    f"activations {res.activations_gb_per_gpu:.1f} GB + overhead {res.overhead_gb_per_gpu:.1f} GB",
                ),
                (
                    "KV cache",
                    f"{res.kv_cache_tokens:,} tokens per replica ({res.kv_bytes_per_token / 1024:,.0f} KiB/token), "
                    f"up to {res.max_concurrent_sequences} concurrent sequences",
                ),
            ],
        )
    )
    sla = "[green]yes[/green]" if thr.meets_latency_sla else "[red]NO[/red]"
    console.print(
        _section(
            "Throughput and latency (per replica)",
            [
                (
                    "Capacity at the SLOs",
                    f"{thr.rps_per_replica:.2f} req/s per replica, {thr.max_rps_capacity:.1f} at max replicas "
                    f"({thr.concurrency_per_replica:.0f} in flight; limited by {thr.concurrency_limit})"
                    if thr.meets_latency_sla
                    else f"none: no load meets the SLOs ({thr.concurrency_limit}); saturation "
                    f"{thr.rps_per_replica:.2f} req/s per replica",
                ),
                (
                    "Output tokens/s",
                    f"{thr.tps_per_replica:,.0f} per replica at capacity, {thr.total_tps_capacity:,.0f} total "
                    f"(saturation {thr.max_tps_per_replica:,.0f}/replica)",
                ),
                (
                    "At planned peak",
                    f"{thr.planned_rps_per_replica:.2f} req/s per replica, "
                    f"{thr.planned_concurrency_per_replica:.1f} in flight",
                ),
                (
                    "TTFT (mean)",
                    f"{thr.estimated_ttft_ms:,.0f} ms at planned peak ({thr.capacity_ttft_ms:,.0f} at capacity)",
                ),
                (
                    "ITL (mean)",
                    f"{thr.estimated_itl_ms:.1f} ms at planned peak ({thr.capacity_itl_ms:.1f} at capacity; "
                    f"{thr.bound}-bound decode)",
                ),
                *_percentile_rows(thr, percentile),
                ("End-to-end", f"{thr.estimated_e2e_latency_ms:,.0f} ms at planned peak"),
                (
                    "Request alone",
                    f"TTFT {thr.lowest_ttft_ms:,.0f} ms, ITL {thr.lowest_itl_ms:.1f} ms (the lowest reachable)",
                ),
                ("Meets latency SLA", sla),
            ],
        )
    )
    console.print(
        _section(
            "Scaling",
            [
                (
                    "Min / max replicas",
                    f"{sc.recommended_min_replicas} / {sc.recommended_max_replicas} "
                    f"(avg {rate(sc.average_rps)} req/s, planned peak {rate(sc.peak_rps)} req/s)",
                ),
                (
                    "Scale out above",
                    f"{sc.auto_scale_rps_threshold:.2f} req/s per replica, GPU util "
                    f"{sc.auto_scale_gpu_util_threshold:.0%}, TTFT {sc.auto_scale_latency_threshold_ms:,.0f} ms",
                ),
                (
                    "Queue / KV triggers",
                    f"{sc.auto_scale_queue_depth_threshold:.0f} running requests per replica, "
                    f"KV cache {sc.auto_scale_kv_cache_usage_threshold:.0%} used",
                ),
            ],
        )
    )
    if p.cost:
        c = p.cost
        console.print(
            _section(
                f"Cost ({c.cloud} {c.region}, {c.pricing}"
                + (f": {c.reliability}" if c.reliability and c.reliability != c.pricing else "")
                + ")",
                [
                    ("Instances", f"{c.instances} x {c.instance_type} (${c.gpu_hourly_cost:.2f} per GPU-hour)"),
                    (
                        "Monthly GPU cost",
                        f"{_money(c.monthly_gpu_cost)} at max replicas, "
                        f"{_money(c.monthly_cost_at_min_replicas)} at min replicas"
                        + (
                            f" (marketplace offers up to {_money(c.monthly_gpu_cost_high)} at max replicas)"
                            if c.monthly_gpu_cost_high is not None
                            and round(c.monthly_gpu_cost_high) > round(c.monthly_gpu_cost)  # a range, not one offer
                            else ""
                        ),
                    ),
                    ("Cost per million tokens", _per_million(c)),
                    ("Prices as of", price_age(c)),
                ],
            )
        )
    from .render_agent import option_sections

    option_sections(p, console, _section)
    console.print(f"[bold]Recommendation:[/bold] {p.recommendation}")
    for warning in p.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if p.alternatives:
        alts = ", ".join(
            f"{a.gpu_type} TP={a.tensor_parallel}: {a.total_gpus} GPUs {_money(a.monthly_gpu_cost)}"
            + ("" if a.meets_latency_sla else " (misses the SLOs)")
            for a in p.alternatives[:3]
        )
        console.print(f"[dim]Alternatives: {alts}[/dim]")
    if explain:
        table = Table(title="How the numbers were computed", title_justify="left", box=box.SIMPLE)
        for column in ("quantity", "value", "formula"):
            table.add_column(column)
        for row in p.explain:
            table.add_row(row["quantity"], row["value"], row["formula"])
        console.print(table)
        for line in p.assumptions:
            console.print(f"[dim]- {line}[/dim]")


def recheck(argv: list[str], notes: list[str]) -> None:
    """``--explain``'s last lines: the command that re-checks the plan (the CLI states it with ``export.recheck``)."""
    import shlex

    console.print(f"[dim]Re-check ({notes[0]}):[/dim]", highlight=False, soft_wrap=True)
    console.print(shlex.join(argv), markup=False, highlight=False, soft_wrap=True)


def _judged_latencies(row: Any, percentile: bool) -> tuple[str, str]:
    """A compare row's TTFT and token latency cells: at the SLOs' percentile where the table is, else the means (a
    row without a tail in a percentile table is marked *)."""
    ttft, tpot = getattr(row, "ttft_at_slo_percentile_ms", None), getattr(row, "tpot_at_slo_percentile_ms", None)
    if percentile and ttft is not None and tpot is not None:
        return f"{ttft:,.0f}", f"{tpot:.1f}"
    mark = "*" if percentile else ""
    return f"{row.ttft_ms:,.0f}{mark}", f"{row.itl_ms:.1f}{mark}"


def comparison(rows: list[Any]) -> None:
    if not rows:
        console.print("No GPU and cloud combination can serve this workload.")
        return
    table = Table(box=box.SIMPLE_HEAD)
    # the latencies at the capacity as the SLOs judged them: p99 TTFT and TPOT at a percentile, else the means
    percentile = next((r.slo_percentile for r in rows if getattr(r, "ttft_at_slo_percentile_ms", None) is not None), "")
    latency = (f"p{percentile} TTFT", f"p{percentile} TPOT") if percentile else ("TTFT ms", "ITL ms")
    for column in (
        "GPU",
        "cloud",
        "region",
        "capacity",
        "prec",
        "TP x PP",
        "replicas",
        "GPUs",
        "$/month",
        "$/M tok",
        *latency,
        "SLO",
    ):
        table.add_column(
            column, justify="left" if column in ("GPU", "cloud", "region", "capacity", "prec") else "right"
        )
    options = any(getattr(r, "variant", "base") != "base" for r in rows)
    if options:
        table.add_column("option", justify="left")
    for r in rows:
        extra = [r.variant + (f" (KV {r.kv_precision})" if r.variant == "base" else "")] if options else []
        table.add_row(
            r.gpu_type,
            r.cloud,
            getattr(r, "region", None) or "-",
            getattr(r, "reliability", None) or "-",
            r.precision,
            f"{r.tensor_parallel}x{r.pipeline_parallel}",
            f"{r.min_replicas}-{r.max_replicas}",
            str(r.total_gpus),
            _money(r.monthly_cost),
            "n/a" if r.cost_per_million_tokens is None else f"{r.cost_per_million_tokens:.3f}",
            *_judged_latencies(r, bool(percentile)),
            "yes" if r.meets_latency_sla else "no",
            *extra,
        )
    console.print(table)
    if percentile and any(getattr(r, "ttft_at_slo_percentile_ms", None) is None for r in rows):
        console.print(f"Rows marked * show mean latencies (a disaggregated row has no p{percentile})")
    footer = comparison_footer(rows)
    if footer:
        console.print(footer)
    # a base row's note is a warning about it (a precision without tensor cores, a GPU no cloud prices), once each
    for note in dict.fromkeys(r.note for r in rows if getattr(r, "variant", "base") == "base" and r.note):
        console.print(f"[yellow]warning:[/yellow] {note}", highlight=False)
    if options:
        from .render_agent import comparison_summary

        comparison_summary(rows, console)


def models(*, as_json: bool) -> int:
    from ..catalog.summary import model_rows

    entries = model_rows()
    if as_json:
        print(json.dumps(entries, indent=2))
        return 0
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("id", "params (B)", "active (B)", "layers", "hidden", "heads/kv", "attn", "experts", "context"):
        table.add_column(column, justify="left" if column in ("id", "attn") else "right")
    for e in entries:
        table.add_row(
            e["id"],
            f"{e['params_b']:g}",
            f"{e['active_params_b']:g}",
            str(e["layers"]),
            str(e["hidden"]),
            f"{e['heads']}/{e['kv_heads']}",
            e["attention"],
            e["experts"],
            f"{e['max_context']:,}",
        )
    console.print(table)
    return 0


def gpus(*, as_json: bool) -> int:
    from ..catalog.summary import gpu_rows

    entries = gpu_rows()
    if as_json:
        print(json.dumps(entries, indent=2))
        return 0
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("id", "GiB", "TB/s", "BF16 TF", "FP8 TF", "FP4 TF", "link", "GB/s", "/node", "clouds"):
        table.add_column(column, justify="left" if column in ("id", "link", "clouds") else "right")
    for e in entries:
        tf = e["dense_tflops"]
        table.add_row(
            e["id"],
            f"{e['memory_gib']:g}",
            f"{e['bandwidth_tb_s']:g}",
            f"{tf.get('bf16', tf.get('fp16', 0)):g}",
            f"{tf.get('fp8', 0):g}" if "fp8" in tf else "-",
            f"{tf.get('fp4', 0):g}" if "fp4" in tf else "-",
            e["interconnect"],
            f"{e['interconnect_gb_s']:g}",
            str(e["gpus_per_node"]),
            ",".join(e["clouds"]) or "-",
        )
    console.print(table)
    return 0


def _per_million(c: Any) -> str:
    """ "$0.290 (input+output), $1.26 per million output tokens"; at a load too small to price per token (the JSON's
    null) "n/a" with why, instead of "$inf"."""
    values = (c.cost_per_million_tokens, c.cost_per_million_output_tokens)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        return "n/a: the load serves too few tokens to price per token"
    return f"${values[0]:.3f} (input+output), ${values[1]:.3f} per million output tokens"
