"""The plan in plain language: what drives the GPU count, the cheaper alternative, the risk.

Written for someone who answered the questions, not for a GPU specialist: every sentence
comes from a number in the plan (or in a re-computed alternative plan), never a generic tip.
"""

from __future__ import annotations

import math
from typing import Any

from ..wording import duration

LIMITS = {
    "itl": "your per-token speed target of a new token every {itl:g} ms",
    "ttft": "your time-to-first-token target of {ttft:g} ms",
    "e2e": "your end-to-end latency target",
    "kv-cache": "GPU memory for conversations in flight (the KV cache)",
    "max-num-seqs": "the serving engine's cap on requests in flight",
    "batch-size": "the batch-size cap you set",
    "slo": "your latency targets",
}


def _money(value: float | None) -> str:
    """Whole dollars, or cents below $10: a one-minute run costs $0.39, not "$0"."""
    return "n/a" if value is None else f"${value:,.2f}" if abs(value) < 10 else f"${value:,.0f}"


def explain_inference(plan: Any, options: list[tuple[str, Any]], spot: Any = None) -> list[str]:
    """Three short paragraphs (and the warnings) for an ``LLMCapacityPlan``; four for an agent's plan, whose
    ``agent`` section says what its calls cost (calls/s, mean prompt per call, prefix-cache hit rate)."""
    res, thr, sc, cost, inputs = plan.gpu_resources, plan.throughput, plan.scaling, plan.cost, plan.inputs
    gpu = res.recommended_gpu_type
    weights_gb = res.weights_gb_per_gpu * res.tensor_parallel * res.pipeline_parallel
    per_replica = res.min_gpus_per_replica
    if per_replica == 1:
        name = plan.model["name"]
        copy = f"One copy of {name} ({inputs['precision']}, {weights_gb:.0f} GB of weights) fits on one {gpu}."
    else:
        copy = (f"One copy of {plan.model['name']} needs {weights_gb:.0f} GB for its weights at {inputs['precision']}, "
                f"plus room for conversations in flight, so it is split over {per_replica} x {gpu} "
                f"({res.gpu_memory_gb:.0f} GB each).")  # fmt: skip
    limit = LIMITS.get(thr.concurrency_limit, thr.concurrency_limit).format(
        itl=inputs.get("itl_slo_ms") or 0, ttft=inputs.get("ttft_slo_ms") or 0
    )
    if res.min_replicas < res.max_replicas:
        average = (f"at average load {res.min_replicas} copies are enough, so autoscale between them when a copy "
                   f"passes {sc.auto_scale_rps_threshold:.2f} requests/s.")  # fmt: skip
    else:  # nothing to scale: the same copies carry the average
        average = f"your average load needs the same {res.min_replicas} copies, so there is nothing to autoscale."
    load = (f"Each copy handles about {thr.rps_per_replica:.2f} requests/s ({thr.concurrency_per_replica:.0f} at once, "
            f"limited by {limit}). Your peak of {sc.peak_rps:,.1f} requests/s plus headroom needs {res.max_replicas} "
            f"copies: {res.total_gpus} GPUs in total; {average}")  # fmt: skip
    if not thr.meets_latency_sla:
        load = (f"No load meets your latency targets: even a request alone takes {thr.lowest_ttft_ms:,.0f} ms to its "
                f"first token and {thr.lowest_itl_ms:.1f} ms per token on this configuration. The {res.total_gpus} "
                f"GPUs below carry your peak of {sc.peak_rps:,.1f} requests/s at full throughput without meeting "
                "the targets.")  # fmt: skip
    if plan.agent is not None:
        load = load.replace("requests/s", "LLM calls/s")
    lines = ["What drives the GPU count: " + copy + " " + load]
    if plan.agent is not None:
        from .agent import explanation

        lines.append(explanation(plan))
    if cost is not None:
        lines.append(f"Cost: {_money(cost.monthly_gpu_cost)} a month at peak size on {cost.cloud} ({cost.instances} x "
                     f"{cost.instance_type}, {cost.pricing}), {_money(cost.monthly_cost_at_min_replicas)} at the "
                     f"minimum; ${cost.cost_per_million_tokens:.2f} per million tokens (input + output).")  # fmt: skip
    lines.append(cheaper_alternative(plan, options, spot))
    lines.append(risk(plan))
    return lines


def cheaper_alternative(plan: Any, options: list[tuple[str, Any]], spot: Any = None) -> str:
    """The cheapest re-computed option that still meets the latency targets, with its saving; and ``spot``, the
    planned fleet itself at the spot price (a ``FleetCost``), when that is cheaper."""
    current = plan.cost.monthly_gpu_cost if plan.cost else None
    if current is None:
        return "Cheaper alternative: no price is known for this GPU on this cloud, so I cannot compare costs."
    best: tuple[str, Any] | None = None
    for label, other in options:
        price = other.cost.monthly_gpu_cost if other.cost else None
        if price is None or not other.throughput.meets_latency_sla or price >= current * 0.97:
            continue
        if best is None or price < best[1].cost.monthly_gpu_cost:
            best = (label, other)
    spot_text = ""
    if spot is not None and spot.monthly_usd < current * 0.97:
        res = plan.gpu_resources
        spot_text = (f" On spot instances the same fleet ({res.total_gpus} x {res.recommended_gpu_type}, "
                     f"{spot.instances} x {spot.instance_type}) costs {_money(spot.monthly_usd)} a month "
                     f"(${spot.gpu_hourly_usd:.2f} per GPU-hour, {spot.region}, as of {spot.as_of}), but spot "
                     "instances can be reclaimed: keep an on-demand floor.")  # fmt: skip
    if best is None:
        pricing = getattr(plan.cost, "pricing", "on-demand")
        return f"Cheaper alternative: none with the same {pricing} pricing meets your latency target." + spot_text
    label, other = best
    res = other.gpu_resources
    price = other.cost.monthly_gpu_cost
    return (
        f"Cheaper alternative: {label} gives {res.max_replicas} copies of {res.min_gpus_per_replica} x "
        f"{res.recommended_gpu_type} ({res.total_gpus} GPUs), {_money(price)} a month, "
        f"{(1 - price / current) * 100:.0f}% less." + spot_text
    )


def risk(plan: Any) -> str:
    """The one thing most likely to go wrong with this plan."""
    thr, inputs = plan.throughput, plan.inputs
    if plan.warnings:
        return "Risk: " + str(plan.warnings[0])
    if not thr.meets_latency_sla:
        return ("Risk: the latency targets are NOT met even with this configuration; relax the target, shorten "
                "prompts, or choose a faster GPU.")  # fmt: skip
    ttft_slo = inputs.get("ttft_slo_ms") or 0
    # the statistic the target bounds: the p99 where the SLOs are percentiles, else the mean
    at_target = thr.ttft_at_slo_percentile_ms if thr.ttft_at_slo_percentile_ms is not None else thr.estimated_ttft_ms
    stated = f" (p{inputs.get('slo_percentile')})" if thr.ttft_at_slo_percentile_ms is not None else ""
    if ttft_slo and at_target > 0.7 * ttft_slo:
        return (
            f"Risk: the first token takes about {at_target:,.0f} ms{stated} at the planned load, close to your "
            f"{ttft_slo:g} ms target; a burst above the peak will breach it before autoscaling reacts."
        )
    if thr.concurrency_limit == "kv-cache":
        return (
            "Risk: GPU memory for conversations is the bottleneck: if prompts grow longer than "
            f"{inputs['avg_input_tokens']:,} tokens, each copy serves fewer requests and you need more copies."
        )
    agent = plan.agent
    if agent is not None and agent.prefix_caching and agent.prefix_cache_hit_rate > 0.2:
        return (f"Risk: the plan counts on {agent.prefix_cache_hit_rate * 100:.0f}% prefix-cache hits, which needs "
                "each task's calls routed to the copy that holds its context (sticky routing); without it every call "
                f"prefills its whole {agent.mean_input_tokens_per_call:,.0f}-token prompt and you need more copies.")  # fmt: skip
    if agent is not None:
        return (f"Risk: an agent that loops more than {agent.calls_per_task:g} times per task multiplies the load "
                "and lengthens every later prompt; watch the LLM calls per task in production.")  # fmt: skip
    peak = float(inputs["peak_load_multiplier"])
    return (
        f"Risk: the plan assumes peaks of {peak:g}x the average; a higher peak needs more copies (plan it with e.g. "
        f"'peak {math.floor(peak) + 1}x')."
    )


def explain_training(plan: Any) -> list[str]:
    """Two short paragraphs for a ``TrainingCapacityPlan``."""
    res, par, metrics, cost = plan.gpu_resources, plan.parallelism, plan.training_metrics, plan.cost
    method = plan.inputs.get("method", "full")
    lines = [f"What drives the GPU count: with {method} training each GPU holds {res.gpu_memory_per_gpu_gb:.0f} GB "
             f"(weights {res.model_weights_gb:.0f} GB, optimizer {res.optimizer_states_gb:.0f} GB, activations "
             f"{res.activations_gb:.0f} GB) of its {res.gpu_memory_gb:.0f} GB, so {res.required_gpus} x "
             f"{res.recommended_gpu_type} (TP={par.tensor_parallel}, PP={par.pipeline_parallel}, "
             f"DP={par.data_parallel}) finish in about {duration(metrics.estimated_duration_hours)}."]  # fmt: skip
    if cost is not None:
        lines.append(f"Cost: about {_money(cost.total_training_cost)} on {cost.cloud} ({cost.pricing}).")
    cheaper = [
        a for a in plan.alternatives if cost and a.get("total_cost") and a["total_cost"] < cost.total_training_cost
    ]
    if cheaper:
        alt = min(cheaper, key=lambda a: a["total_cost"])
        lines.append(f"Cheaper alternative: {alt['gpus']} x {alt['gpu_type']}, {duration(alt['hours'])}, "
                     f"{_money(alt['total_cost'])} (slower but cheaper).")  # fmt: skip
    risk_text = plan.warnings[0] if plan.warnings else (
        f"the estimate assumes {metrics.mfu * 100:.0f}% of peak FLOP/s (MFU); slower data loading or networking "
        "lengthens the run.")  # fmt: skip
    lines.append("Risk: " + risk_text)
    return lines
