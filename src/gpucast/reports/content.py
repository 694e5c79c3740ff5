"""What a report says, independent of its format: both renderers (Markdown, HTML) read one :class:`Report`.

A plan JSON already carries its numbers, assumptions and sources; this module picks the ones a reader needs,
formats them with units, derives the risks a reviewer would raise (SLO missed, no autoscaling headroom, a
single replica, spot capacity, a deadline-driven training run...), and lists alternatives from the same
comparison as ``gpucast compare`` (:func:`gpucast.planning.compare.compare_gpus` or
:func:`gpucast.training.estimate.compare_training`) run on the plan's own inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import GpucastError
from ..export.plan_file import (
    check_plan,
    inference_inputs_from_plan,
    latencies_against_slos,
    percentile_latencies,
    training_inputs_from_plan,
)
from ..export.recheck import stated_cap_note
from ..wording import rate

ALTERNATIVES = 8  # rows of the comparison shown: enough to see the cheaper and the faster options
CHEAPER_FRACTION = 0.8  # an alternative 20% cheaper than the plan is worth a reviewer's attention


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]


MARK = "➜ "  # the plan's own GPU and cloud among the alternatives


def marked(table: Table | None) -> bool:
    """Whether a row of ``table`` is the plan's own (a plan with no price on its cloud has none to mark)."""
    return table is not None and any(str(row[0]).startswith(MARK) for row in table.rows)


@dataclass
class Report:
    title: str
    kind: str
    summary: str
    key_figures: list[tuple[str, str]]
    tables: list[Table]
    assumptions: list[str]
    sources: list[str]
    risks: list[str]
    alternatives: Table | None
    alternatives_note: str = ""
    charts: list[tuple[str, str]] = field(default_factory=list)  # (title, SVG markup)


def _num(value: Any, digits: int = 2, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        text = f"{value:,.{digits}f}" if abs(value) < 1e6 else f"{value:,.0f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def _money(value: Any) -> str:
    return "—" if value is None else f"${value:,.0f}" if value >= 100 else f"${value:,.2f}"


def build_report(plan: dict[str, Any], *, alternatives: bool = True) -> Report:
    """Everything a report shows, from a plan dict (raises InputError for something that is not a plan)."""
    kind = check_plan(plan)
    report = _inference(plan) if kind == "inference" else _training(plan)
    from .charts import plan_charts

    report.charts = plan_charts(plan)
    if alternatives:
        _add_alternatives(report, plan)
    return report


def _inputs_table(plan: dict[str, Any]) -> Table:
    rows: list[tuple[str, ...]] = []
    for key, value in plan.get("inputs", {}).items():
        if isinstance(value, dict):  # a section of inputs (the agent workload): one row per key, not a dict's repr
            rows += [(f"{key}.{k}", _num(v)) for k, v in value.items() if v is not None]
        elif value is not None:
            rows.append((str(key), _num(value)))
    return Table("Inputs", ("input", "value"), rows)


def _variant_tables(plan: dict[str, Any]) -> list[Table]:
    """The agent, speculative-decoding and disaggregation sections of a plan that has them, as the console shows
    them (console/render_agent.py): what the option changed and whether it pays."""
    tables = []
    if agent := plan.get("agent"):
        slo = agent.get("task_latency_slo_ms")
        tables.append(Table("Agent workload", ("quantity", "value"), [
            ("tasks/s × calls per task", f"{rate(agent['tasks_per_second'])} × {_num(agent['calls_per_task'])} "
                                         f"({agent['calls_distribution']}) = {rate(agent['calls_per_second'])} calls/s"),
            ("prompt per call (first / mean / last)", f"{_num(agent['first_call_input_tokens'])} / "
             f"{_num(agent['mean_input_tokens_per_call'], 0)} / {_num(agent['last_call_input_tokens'])} tokens"),
            ("output per call", _num(agent["output_tokens_per_call"], unit="tokens")),
            ("think time between calls", _num(agent["think_time_s"], 1, "s")),
            ("prefix-cache hit rate", f"{agent['prefix_cache_hit_rate']:.0%}" if agent["prefix_caching"] else "off"),
            ("prefilled tokens per call", _num(agent["prefilled_tokens_per_call"], 0)),
            ("task latency", _num(agent["task_latency_ms"] / 1e3, 1, "s")
             + (f" (SLO {slo / 1e3:g} s: {'met' if agent['meets_task_slo'] else 'missed'})" if slo else "")),
            ("tasks/s per replica", _num(agent["tasks_per_second_per_replica"], 3)),
        ]))  # fmt: skip
    if spec := plan.get("speculative"):
        tables.append(Table("Speculative decoding", ("quantity", "value"), [
            ("proposer", f"{spec['proposer']}, {spec['draft_tokens']} tokens per round "
                         f"({_num(spec['draft_weights_gb_per_gpu'], 2, 'GB')} per GPU)"),
            ("acceptance rate / tokens per verification step",
             f"{spec['acceptance_rate']:g} / {_num(spec['tokens_per_step'])}"),
            ("ITL at the planned batch, without / with", f"{_num(spec['itl_ms_without'], 1)} / "
                                                          f"{_num(spec['itl_ms_with'], 1)} ms"),
            ("speed-up at batch 1 / at the planned batch", f"{_num(spec['itl_speedup_at_batch_1'])}× / "
                                                            f"{_num(spec['itl_speedup_at_planned_batch'])}×"),
            ("GPUs without speculation", _num(spec["total_gpus_without"])),
            ("verdict", ("helps: " if spec["helps"] else "does not help: ") + str(spec["note"])),
        ]))  # fmt: skip
    if dis := plan.get("disaggregation"):
        rows: list[tuple[str, ...]] = [("verdict", f"{dis['winner']} wins: {dis['reason']}")]
        if dis["feasible"]:
            rows += [
                ("prefill / decode instances", f"{dis['prefill_instances']} / {dis['decode_instances']} of "
                                               f"{dis['gpus_per_instance']} GPUs"),
                ("GPUs, disaggregated vs unified", f"{dis['total_gpus']} vs {dis['unified_total_gpus']}"),
                ("TTFT (prefill + queue + KV transfer)", f"{_num(dis['ttft_ms'], 0)} ms (KV transfer "
                                                         f"{_num(dis['kv_transfer_ms'], 1)} ms)"),
                ("decode ITL vs unified", f"{_num(dis['itl_ms'], 1)} vs {_num(dis['unified_itl_ms'], 1)} ms"),
            ]  # fmt: skip
        tables.append(Table("Disaggregated prefill/decode", ("quantity", "value"), rows))
    return tables


def _sources(plan: dict[str, Any]) -> list[str]:
    cost = plan.get("cost") or {}
    sources = [f"Model architecture: {plan['model'].get('source', '—')}"]
    if cost.get("price_source"):
        sources.append(f"Prices: {cost['price_source']} (as of {cost.get('price_as_of', '—')})")
    versions = plan.get("versions") or {}
    if versions:
        sources.append("Catalog versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return sources


def _inference(plan: dict[str, Any]) -> Report:
    inputs, res, thr = plan["inputs"], plan["gpu_resources"], plan["throughput"]
    scaling, cost = plan["scaling"], plan.get("cost") or {}
    per_replica = res["tensor_parallel"] * res["pipeline_parallel"]
    figures = [
        ("GPUs", f"{res['total_gpus']} × {res['recommended_gpu_type']}"),
        ("replicas", f"{scaling['recommended_min_replicas']}–{scaling['recommended_max_replicas']}"
                     f" of {per_replica} GPU(s), TP={res['tensor_parallel']} PP={res['pipeline_parallel']}"
                     + (f" EP={res['expert_parallel']}" if res.get("expert_parallel", 1) > 1 else "")
                     + (f" DP-attention={res['attention_data_parallel']}"
                        if res.get("attention_data_parallel", 1) > 1 else "")),
        ("monthly cost (max replicas)", _money(cost.get("monthly_total_cost"))),
        ("cost per million tokens (input + output)", _money(cost.get("cost_per_million_tokens"))),
        ("TTFT / ITL", f"{thr['estimated_ttft_ms']:,.0f} ms / {thr['estimated_itl_ms']:,.1f} ms"),
        ("capacity", f"{thr['max_rps_capacity']:,.1f} req/s ({rate(inputs['requests_per_second'])} req/s average)"),
    ]  # fmt: skip
    tables = [
        _inputs_table(plan),
        Table("GPUs and memory per GPU", ("quantity", "value"), [
            ("GPU", res["recommended_gpu_type"]), ("tensor × pipeline parallel", f"{res['tensor_parallel']} × "
                                                   f"{res['pipeline_parallel']}"),
            ("GPU memory", _num(res["gpu_memory_gb"], 1, "GB")), ("weights", _num(res["weights_gb_per_gpu"], 1, "GB")),
            ("KV cache", _num(res["kv_cache_gb_per_gpu"], 1, "GB")),
            ("activations", _num(res["activations_gb_per_gpu"], 2, "GB")),
            ("runtime overhead", _num(res["overhead_gb_per_gpu"], 2, "GB")),
            ("KV cache capacity per replica", _num(res["kv_cache_tokens"], unit="tokens")),
            ("max concurrent sequences", _num(res["max_concurrent_sequences"])),
        ]),
        Table("Throughput and latency per replica", ("quantity", "value"), [
            ("requests/s per replica", _num(thr["rps_per_replica"])),
            ("output tokens/s per replica", _num(thr["tps_per_replica"], 0)),
            ("concurrent requests", f"{_num(thr['concurrency_per_replica'])} (limited by {thr['concurrency_limit']})"),
            ("TTFT", _num(thr["estimated_ttft_ms"], 0, "ms")), ("ITL", _num(thr["estimated_itl_ms"], 1, "ms")),
            *_percentile_rows(plan),
            ("end-to-end latency", _num(thr["estimated_e2e_latency_ms"], 0, "ms")),
            ("meets the SLOs", _num(thr["meets_latency_sla"])), ("bound", str(thr.get("bound", "—"))),
        ]),
        Table("Autoscaling", ("setting", "value"), [
            ("replicas (min–max)", f"{scaling['recommended_min_replicas']}–{scaling['recommended_max_replicas']}"),
            ("scale out above, req/s per replica", _num(scaling["auto_scale_rps_threshold"])),
            ("scale out above, queued + running requests per replica",
             _num(scaling["auto_scale_queue_depth_threshold"], 1)),
            ("KV-cache usage threshold", f"{scaling['auto_scale_kv_cache_usage_threshold']:.0%}"),
            ("average / peak req/s", f"{rate(scaling['average_rps'])} / {rate(scaling['peak_rps'])}"),
        ]),
        Table("Cost", ("item", "value"), [
            ("cloud / region / pricing", f"{cost.get('cloud', '—')} / {cost.get('region', '—')} / "
                                         f"{cost.get('pricing', '—')}"),
            ("instances", f"{cost.get('instances', '—')} × {cost.get('instance_type', '—')}"),
            ("per GPU-hour", _money(cost.get("gpu_hourly_cost"))),
            ("monthly (max replicas)", _money(cost.get("monthly_total_cost"))),
            ("monthly (min replicas)", _money(cost.get("monthly_cost_at_min_replicas"))),
            ("per million tokens (input + output)", _money(cost.get("cost_per_million_tokens"))),
        ] if cost else [  # no price found: say where it was looked for and why, not a column of dashes
            ("cloud / pricing", f"{inputs.get('cloud', '—')} / {inputs.get('pricing', '—')}"),
            ("price", next((w for w in plan.get("warnings", []) if "price" in w and "cost omitted" in w),
                           "none found: cost omitted")),
        ]),
        *_variant_tables(plan),
    ]  # fmt: skip
    return Report(
        title=f"Serving plan: {plan['model']['name']} on {res['recommended_gpu_type']}",
        kind="inference",
        summary=plan.get("recommendation", ""),
        key_figures=figures,
        tables=tables,
        assumptions=list(plan.get("assumptions", [])),
        sources=_sources(plan),
        risks=list(plan.get("warnings", [])) + inference_risks(plan),
        alternatives=None,
    )


def _percentile_rows(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """The statistic the SLOs bound (p99 TTFT and TPOT) at the planned peak, where they bound a percentile."""
    at = percentile_latencies(plan)
    if at is None:
        return []
    q, ttft, tpot = at
    return [(f"TTFT p{q}", _num(ttft, 0, "ms")), (f"TPOT p{q}", _num(tpot, 1, "ms"))]


def inference_risks(plan: dict[str, Any]) -> list[str]:
    """Risks a reviewer raises on reading a serving plan, each from the plan's own numbers."""
    inputs, res, thr, scaling = plan["inputs"], plan["gpu_resources"], plan["throughput"], plan["scaling"]
    cost = plan.get("cost") or {}
    risks = []
    if not thr["meets_latency_sla"]:
        risks.append(f"The SLOs are not met: {latencies_against_slos(plan)} at the planned peak.")
    if scaling["recommended_max_replicas"] <= scaling["recommended_min_replicas"]:
        risks.append(f"No autoscaling headroom: min and max replicas are both {scaling['recommended_max_replicas']}; "
                     "a traffic spike beyond the planned peak queues requests (raise max replicas to absorb it).")  # fmt: skip
    if scaling["recommended_min_replicas"] < 2:
        risks.append("A single replica: a pod restart or a node failure stops the service.")
    if cost.get("pricing") == "spot":
        risks.append("Spot capacity can be reclaimed at short notice; keep the minimum replicas on demand.")
    if cost.get("pricing") == "marketplace":
        risks.append("Marketplace hosts are third-party machines without a provider availability commitment; the "
                     "price is the low end of the listed offers.")  # fmt: skip
    if cost.get("price_stale"):
        risks.append(f"Prices are as of {cost.get('price_as_of')} ({cost.get('price_age_days')} days old): run "
                     "`gpucast prices update` before committing to this budget.")  # fmt: skip
    if thr.get("concurrency_limit") == "max-num-seqs":
        risks.append(f"Concurrency is capped by the engine's max-num-seqs ({res['max_concurrent_sequences']} "
                     "sequences per replica), not by "
                     "memory: the KV cache has room for more; raising it trades latency for throughput.")  # fmt: skip
        stated = stated_cap_note(inputs, str(res.get("recommended_gpu_type")))
        if stated:  # an older plan file's 256 on a GPU whose engine default is now 1024
            risks.append(f"{stated[0].upper()}{stated[1:]}.")
    if res["max_concurrent_sequences"] and inputs["context_window"] > res["kv_cache_tokens"]:
        risks.append("The KV cache holds less than one full context window: long requests will be preempted.")
    risks += idle_gpu_risk(plan, int(res["total_gpus"]))
    if inputs.get("growth_rate", 0) == 0:
        risks.append("Traffic growth is planned at 0%: re-plan (or `gpucast predict`) before traffic grows.")
    return risks


def _training(plan: dict[str, Any]) -> Report:
    res, par, met = plan["gpu_resources"], plan["parallelism"], plan["training_metrics"]
    cost = plan.get("cost") or {}
    figures = [
        ("GPUs", f"{res['required_gpus']} × {res['recommended_gpu_type']} on {res['nodes']} node(s)"),
        ("parallelism", f"TP={par['tensor_parallel']} PP={par['pipeline_parallel']} DP={par['data_parallel']} "
                        f"ZeRO-{par['zero_stage']}"),
        ("duration", f"{met['estimated_duration_hours']:,.1f} h"),
        ("total cost", _money(cost.get("total_training_cost"))),
        ("throughput", f"{met['total_tokens_per_second']:,.0f} tokens/s (MFU {met['mfu']:.0%})"),
    ]  # fmt: skip
    tables = [
        _inputs_table(plan),
        Table("Memory per GPU", ("part", "GB"), [
            (name, _num(res[key], 2)) for name, key in (
                ("weights", "model_weights_gb"), ("gradients", "gradients_gb"),
                ("optimizer states", "optimizer_states_gb"), ("activations", "activations_gb"),
                ("buffers", "buffers_gb"), ("total", "gpu_memory_per_gpu_gb"), ("GPU memory", "gpu_memory_gb"),
                ("headroom", "headroom_gb"))
        ]),
        Table("Parallelism", ("setting", "value"), [(k.replace("_", " "), _num(v)) for k, v in par.items()]),
        Table("Speed", ("quantity", "value"), [
            ("tokens/s per GPU", _num(met["tokens_per_second_per_gpu"], 0)), ("MFU", f"{met['mfu']:.1%}"),
            ("TFLOP/s per GPU", _num(met["tflops_per_gpu"], 1)), ("step time", _num(met["step_time_s"], 2, "s")),
            ("steps", f"{met['steps_per_epoch']:,} per epoch, {met['total_steps']:,} in total"),
            ("duration", f"{met['estimated_duration_hours']:,.1f} h ({met['estimated_duration_days']:.2f} days)"),
        ]),
        Table("Cost", ("item", "value"), [
            ("cloud / region / pricing", f"{cost.get('cloud', '—')} / {cost.get('region', '—')} / "
                                         f"{cost.get('pricing', '—')}"),
            ("instances", f"{cost.get('instances', '—')} × {cost.get('instance_type', '—')}"),
            ("per GPU-hour", _money(cost.get("gpu_hourly_cost"))),
            ("per hour (all instances)", _money(cost.get("gpu_cost_per_hour"))),
            ("per epoch", _money(cost.get("cost_per_epoch"))), ("total", _money(cost.get("total_training_cost"))),
        ]),
    ]  # fmt: skip
    risks = list(plan.get("warnings", []))
    if res.get("headroom_gb", 0) < 0.1 * res["gpu_memory_gb"]:
        risks.append(f"Little memory headroom ({res['headroom_gb']:.1f} GB per GPU): a longer sequence or a larger "
                     "micro batch runs out of memory.")  # fmt: skip
    if cost.get("pricing") == "spot":
        risks.append("Spot instances can be reclaimed: checkpoint often enough to lose at most an hour.")
    if res["nodes"] > 1:
        risks.append(f"{res['nodes']} nodes: inter-node bandwidth (InfiniBand/EFA) sets the DP/PP communication time.")
    risks += idle_gpu_risk(plan, int(res["required_gpus"]))
    risks.append("MFU is a fitted estimate; measure the first hundred steps and re-plan if it differs by >20%.")
    return Report(
        title=f"Training plan: {plan['model']['name']} ({plan['inputs'].get('method', 'full')}) on "
        f"{res['recommended_gpu_type']}",
        kind="training",
        summary=plan.get("recommendation", ""),
        key_figures=figures,
        tables=tables,
        assumptions=list(plan.get("assumptions", [])),
        sources=_sources(plan),
        risks=risks,
        alternatives=None,
    )


def _add_alternatives(report: Report, plan: dict[str, Any]) -> None:
    """The cheapest options from ``gpucast compare`` on the plan's inputs; the plan's own GPU is marked."""
    try:
        if report.kind == "inference":
            from ..planning.compare import compare_gpus

            workload, model, gpu, options = inference_inputs_from_plan(plan)
            rows: list[Any] = compare_gpus(workload, model, options, target_gpu_utilization=gpu.target_gpu_utilization)
            from .charts import comparison_chart

            if rows:
                report.charts.append(comparison_chart(rows, plan))
            chosen = (plan["gpu_resources"]["recommended_gpu_type"], (plan.get("cost") or {}).get("cloud"))
            shown = rows[:ALTERNATIVES]  # with many providers the plan's own row may rank lower: keep it, marked
            shown += [r for r in rows[ALTERNATIVES:] if (r.gpu_type, r.cloud) == chosen][:1]
            report.alternatives = Table("Alternatives (gpucast compare, cheapest first)",
                                        ("GPU", "cloud", "GPUs", "TP", "replicas", "$/month", "$/M tokens", "SLOs"), [
                ((MARK if (r.gpu_type, r.cloud) == chosen else "") + r.gpu_type, r.cloud, str(r.total_gpus),
                 str(r.tensor_parallel), f"{r.min_replicas}–{r.max_replicas}", _money(r.monthly_cost),
                 _money(r.cost_per_million_tokens), "met" if r.meets_latency_sla else "missed")
                for r in shown])  # fmt: skip
        else:
            from ..training.estimate import compare_training

            training, model, train_options = training_inputs_from_plan(plan)
            trows = compare_training(training, model, train_options)
            chosen = (plan["gpu_resources"]["recommended_gpu_type"], (plan.get("cost") or {}).get("cloud"))
            report.alternatives = Table("Alternatives (gpucast compare --mode training, cheapest first)",
                                        ("GPU", "cloud", "GPUs", "TP×PP×DP", "hours", "total cost", "instance"), [
                ((MARK if (r.gpu_type, r.cloud) == chosen else "") + r.gpu_type, r.cloud, str(r.gpus),
                 f"{r.tensor_parallel}×{r.pipeline_parallel}×{r.data_parallel}", rate(r.hours),
                 _money(r.total_cost), r.instance_type or "—") for r in trows[:ALTERNATIVES]])  # fmt: skip
            rows = trows
    except GpucastError as error:  # the plan itself stands; say why there is no comparison
        report.alternatives_note = f"No comparison: {error}"
        return
    _cheaper_risk(report, plan, rows)


def _cheaper_risk(report: Report, plan: dict[str, Any], rows: list[Any]) -> None:
    """A reviewer's first question: is there a much cheaper option for the same job?"""
    cost = plan.get("cost") or {}
    own = cost.get("monthly_total_cost") if report.kind == "inference" else cost.get("total_training_cost")
    attr = "monthly_cost" if report.kind == "inference" else "total_cost"
    priced = [r for r in rows if getattr(r, attr) is not None and getattr(r, "meets_latency_sla", True)]
    if own and priced and getattr(priced[0], attr) < CHEAPER_FRACTION * own:
        best = priced[0]
        report.risks.append(f"A cheaper option meets the same inputs: {best.gpu_type} on {best.cloud} at "
                            f"{_money(getattr(best, attr))} vs {_money(own)} (see Alternatives).")  # fmt: skip


def idle_gpu_risk(plan: dict[str, Any], used: int) -> list[str]:
    """GPUs paid for but not used: the priced instance type holds more GPUs than the plan places on it."""
    from ..catalog import loader

    cost = plan.get("cost") or {}
    instances = int(cost.get("instances") or 0)
    offer = next((p for p in loader.load_prices() if p.instance_type == cost.get("instance_type")), None)
    if offer is None or instances * offer.gpus <= used:
        return []
    idle = instances * offer.gpus - used
    return [f"{instances} x {offer.instance_type} hold {instances * offer.gpus} GPUs and the plan uses {used}: "
            f"{idle} paid GPU(s) idle (use them for another workload, or pick a smaller instance type)."]  # fmt: skip
