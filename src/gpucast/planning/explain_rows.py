"""The ``explain`` table of a plan: each intermediate quantity of the chosen configuration beside the formula that
gives it, so that every number of a plan can be checked by hand (``--explain``; the web and report show it too).

Split from ``planning.build`` (which assembles the plan) because the table is a document of the model's formulas,
not part of the plan's arithmetic: every value here is read from the estimate the planner already made.
"""

from __future__ import annotations

from typing import Any

from ..core.cost import HOURS_PER_MONTH
from ..core.params import count_parameters
from ..core.perf import prefill_time
from ..core.search import Candidate
from ..core.serving import OperatingPoint
from ..core.workload import SLO
from .request import ResolvedRequest


def explain(
    request: ResolvedRequest, best: Candidate, planned: OperatingPoint, trigger: OperatingPoint
) -> list[dict[str, Any]]:
    """Each intermediate quantity of the chosen configuration with the formula that gives it (``planned``: the
    planned peak's operating point, ``trigger`` the autoscaling triggers' one, as ``build_plan`` computed them)."""
    est, fleet = best.estimate, best.fleet
    cfg, mem, point, step = est.config, est.memory, est.capacity, est.capacity.step
    gpu, eff, w = cfg.gpu, cfg.efficiency, request.workload
    params = count_parameters(cfg.model)
    prefill = prefill_time(cfg.model, gpu, eff, precision=cfg.precision, tp=cfg.tp, pp=cfg.pp, tokens=w.input_tokens)
    rows = [
        (
            "parameters (total / active)",
            f"{params.total / 1e9:.2f}B / {params.active / 1e9:.2f}B",
            "counted from the architecture",
        ),
        ("bytes per parameter", f"{cfg.precision.bytes_per_param:.3f}", f"{cfg.precision.name} incl. scale overhead"),
        ("weights per GPU", f"{mem.weights_gib:.2f} GiB", "params x bytes/param / (TP x PP)"),
        ("usable memory per GPU", f"{mem.usable_gib:.2f} GiB", f"{gpu.memory_gib:g} GiB x gpu_memory_utilization"),
        (
            "activation peak per GPU",
            f"{mem.activations_gib:.2f} GiB",
            "max_batched_tokens x (4 hidden + 2 ffn/TP) x 2 B + logits",
        ),
        ("KV cache per GPU", f"{mem.kv_cache_gib:.2f} GiB", "usable - weights - activations - runtime overhead"),
        (
            "KV bytes per token per GPU",
            f"{mem.kv_bytes_per_token_per_gpu:,.0f} B",
            "2 x layers x kv_heads x head_dim x kv_bytes / shards",
        ),
        (
            "KV capacity per replica",
            f"{mem.kv_capacity_tokens:,} tokens",
            "KV cache per GPU / KV bytes per token per GPU",
        ),
        (
            "max concurrent sequences",
            f"{cfg.max_sequences}",
            "min(KV tokens / (input + output/2), engine max_num_seqs, --batch-size)",
        ),
        (
            "decode step: memory time",
            f"{step.memory_s * 1e3:.2f} ms",
            f"bytes/GPU / ({gpu.memory_bandwidth_tb_s:g} TB/s x {eff.bandwidth_fraction:.2f})",
        ),
        (
            "decode step: compute time",
            f"{step.compute_s * 1e3:.2f} ms",
            f"FLOPs/GPU / (peak x {eff.compute_fraction:.2f})",
        ),
        (
            "decode step: TP communication",
            f"{step.comm_s * 1e3:.2f} ms",
            "2 all-reduces per layer: latency + 2(TP-1)/TP x msg / link",
        ),
        ("decode step", f"{step.total_s * 1e3:.2f} ms", "max(memory, compute) + communication + step overhead"),
        (
            "prefill of one request",
            f"{prefill * 1e3:.1f} ms",
            f"(2 x params x {w.input_tokens} + attention) / (peak x {eff.prefill_fraction:.2f}) "
            f"+ {eff.prefill_serial_fraction:.2f} x weight read",
        ),
        (
            "capacity per replica (requests/s)",
            f"{point.requests_per_s:.3f}",
            f"largest open-loop rate whose TTFT and ITL (per-request TPOT at a percentile) meet the SLOs, by bisection (limit: {est.limit})"
            if est.meets_slo
            else f"no load meets the SLOs ({est.limit}): saturation throughput, every KV slot busy",
        ),
        (
            "concurrency at capacity",
            f"{point.concurrency:.1f}",
            "rate x (TTFT + (output-1) x ITL)  (Little's law)",
        ),
        ("ITL at capacity", f"{point.itl_s * 1e3:.1f} ms", "decode step / (1 - prefill share)"),
        (
            "TTFT at capacity",
            f"{point.ttft_s * 1e3:.0f} ms",
            "prefill + step/2 + M/D/1 prefill queueing at rate / saturation rate",
        ),
        *_percentile_explain(request.slo, point),
        (
            "planned peak load per replica",
            f"{planned.requests_per_s:.3f} req/s: TTFT {planned.ttft_s * 1e3:.0f} ms, ITL {planned.itl_s * 1e3:.1f} ms",
            "peak RPS / max replicas, re-estimated as gpucast estimate --request-rate does",
        ),
        (  # core.fleet.scale_out_point
            "scale-out triggers",
            f"{trigger.requests_per_s:.3f} req/s, {trigger.concurrency:.1f} in flight per replica",
            "the operating point at capacity / (1 + safety margin), the load the fleet is sized on",
        ),
        (  # core.fleet.size_fleet: the target utilization is a share of the saturation rate, not of the SLO capacity
            "min replicas",
            f"{fleet.min_replicas}",
            "max(HA minimum, ceil(avg RPS / (saturation RPS per replica "
            f"{max(est.saturation.requests_per_s, point.requests_per_s):.3f} x target utilization)), "
            "ceil(avg RPS x (1 + safety margin) / RPS per replica))",
        ),
        (
            "max replicas",
            f"{fleet.max_replicas}",
            "max(min replicas, ceil(avg RPS x peak x (1 + growth) x (1 + safety margin) / RPS per replica))",
        ),
    ]
    if best.cost_at_peak:
        c = best.cost_at_peak
        rows.append(
            (
                "monthly cost",
                f"${c.monthly_usd:,.0f}",
                f"{c.instances} x {c.instance_type} x {c.hourly_usd / c.instances:.2f} $/h x {HOURS_PER_MONTH:g} h",
            )
        )
    return [{"quantity": q, "value": v, "formula": f} for q, v, f in rows]


def _percentile_explain(slo: SLO, capacity: OperatingPoint) -> list[tuple[str, str, str]]:
    """The explain rows of the statistic the SLOs bound at the capacity (none for SLOs on the means)."""
    if slo.percentile == "mean":
        return []
    ttft, tpot, _ = slo.latencies(capacity)
    how = "core.tails: the open loop's prefill queue and the step mix (an analytic tail, or a simulation of the scheduler)"
    return [
        (f"TTFT p{slo.percentile} at capacity", f"{ttft * 1e3:.0f} ms", how),
        (
            f"TPOT p{slo.percentile} at capacity",
            f"{tpot * 1e3:.1f} ms",
            "per-request (E2E - TTFT) / (output - 1), " + how,
        ),
    ]
