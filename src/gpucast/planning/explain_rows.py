"""The ``explain`` table of a plan: each intermediate quantity of the chosen configuration beside the formula that
gives it, so that every number of a plan can be checked by hand (``--explain``; the web and report show it too).

Split from ``planning.build`` (which assembles the plan) because the table is a document of the model's formulas,
not part of the plan's arithmetic: every value here is read from the estimate the planner already made.
"""

from __future__ import annotations

from typing import Any

from ..core.cost import HOURS_PER_MONTH
from ..core.cuda_graphs import EXTENSIBLE_MARGIN_FLOOR_DEFAULT_GIB, EXTENSIBLE_MARGIN_FLOOR_GIB
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
    cfg, point, step = est.config, est.capacity, est.capacity.step
    gpu, eff, w = cfg.gpu, cfg.efficiency, request.workload
    params = count_parameters(cfg.model)
    prefill = prefill_time(  # in the plan's MoE layout, as its TTFT has it
        cfg.model, gpu, eff, precision=cfg.precision, tp=cfg.tp, pp=cfg.pp, tokens=w.input_tokens, ep=cfg.ep,
        attention_dp=cfg.attention_dp,
    )  # fmt: skip
    rows = [
        (
            "parameters (total / active)",
            f"{params.total / 1e9:.2f}B / {params.active / 1e9:.2f}B",
            "counted from the architecture",
        ),
        ("bytes per parameter", f"{cfg.precision.bytes_per_param:.3f}", f"{cfg.precision.name} incl. scale overhead"),
        *_memory_rows(request, best),
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
            _communication(cfg.ep, cfg.attention_dp),
        ),
        ("decode step", f"{step.total_s * 1e3:.2f} ms", "max(memory, compute) + communication + step overhead"),
        (
            "prefill of one request",
            f"{prefill * 1e3:.1f} ms",
            f"(2 x {'active ' if cfg.model.is_moe else ''}params x {w.input_tokens} + attention) / (peak x "
            f"{eff.prefill_fraction:.2f}) + {eff.prefill_serial_fraction:.2f} x weight read"
            + (" + communication + MoE layer overheads" if cfg.model.is_moe else "")
            + (f"; attention on one DP group's {cfg.tp // cfg.attention_dp} GPU(s)" if cfg.attention_dp > 1 else ""),
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


def _communication(ep: int, attention_dp: int) -> str:
    """The communication row's formula for the layout (``core.perf._stage_comm``): plain TP all-reduces; attention
    DP reduces inside each group; EP dispatches and combines each MoE layer's tokens with two all-to-alls."""
    allreduce = "latency + 2(TP-1)/TP x msg / link"
    if ep == 1 and attention_dp == 1:
        return f"2 all-reduces per layer: {allreduce}"
    attention = "1 all-reduce per layer in each attention-DP group" if attention_dp > 1 else "1 all-reduce per layer"
    if ep == 1:
        return f"{attention} + 1 per MLP over TP: {allreduce}"
    return f"{attention} + 2 all-to-alls per MoE layer (dispatch, combine over EP={ep})"


def _memory_rows(request: ResolvedRequest, best: Candidate) -> list[tuple[str, str, str]]:
    """The memory rows, each formula the one ``core.memory`` applies to this engine's memory policy and this layout
    (a fixed text gave vLLM's arithmetic for SGLang and TensorRT-LLM plans, the GQA cache for MLA models, and
    neither the 16-bit embeddings, the attention weights attention-DP groups copy, nor the groups' pools)."""
    cfg, mem = best.estimate.config, best.estimate.memory
    gpu, model, dp, memory = cfg.gpu, cfg.model, cfg.attention_dp, request.settings.memory
    weights = "params x bytes/param / (TP x PP), embeddings in 16-bit"
    if dp > 1:
        weights += f"; attention weights copied in each of the {dp} attention-DP groups"
    usable, kv_cache = {
        "static": (f"{gpu.memory_gib:g} GiB x mem_fraction_static", "usable - weights - runtime overhead (SGLang: "
                   "activations live outside the fraction)"),
        "free": (f"{gpu.memory_gib:g} GiB (the fraction applies to the free memory)",
                 "kv_cache_free_gpu_mem_fraction x (usable - weights - activations - runtime overhead)"),
    }.get(memory.memory_mode, (f"{gpu.memory_gib:g} GiB x gpu_memory_utilization",
                               "usable - weights - activations - runtime overhead"))  # fmt: skip
    graphs: list[tuple[str, str, str]] = []
    if memory.memory_mode == "total" and memory.graphs_in_budget:  # vLLM 0.20+: the graphs inside the fraction
        kv_cache += " - CUDA graphs"
        graphs = [
            (
                "CUDA graphs per GPU",
                f"{mem.cuda_graph_gib:.2f} GiB",
                f"graphs of vLLM's default capture sizes x {memory.graph_cost_mib:g} MiB (logged; core.cuda_graphs)",
            )
        ]
    if memory.memory_mode == "total" and memory.extensible_kv:  # vLLM 0.34+: sized after warmup
        floor = EXTENSIBLE_MARGIN_FLOOR_GIB.get(gpu.vendor, EXTENSIBLE_MARGIN_FLOOR_DEFAULT_GIB)
        usable = (f"min({usable}, {gpu.memory_gib:g} GiB - {memory.startup_in_use_gib:g} GiB in use at start - "
                  f"max({floor:g} GiB, 0.75 x activation peak))")  # fmt: skip
    mlp = "max(3 ffn/TP, experts/token x (3 moe_ffn/TP + hidden))" if model.is_moe else "3 ffn/TP"
    per_token = "layers x (kv_lora_rank + rope dims) x kv_bytes / PP (MLA: one latent, on every GPU of a group)" if model.is_mla \
        else "2 x layers x kv_heads x head_dim x kv_bytes / shards"  # fmt: skip
    capacity = "KV cache per GPU / KV bytes per token per GPU"
    if dp > 1:
        capacity += f" x {dp} attention-DP groups (each caches its own sequences)"
    held = "input + output" if memory.kv_reservation == "full" else "input + output/2"
    engine_cap = "engine max_num_seqs"
    if dp > 1 and request.settings.max_sequences_per_dp_rank:  # a scheduler per DP rank, each with the limit
        engine_cap += f" x {dp} DP ranks"
    return [
        ("weights per GPU", f"{mem.weights_gib:.2f} GiB", weights),
        ("usable memory per GPU", f"{mem.usable_gib:.2f} GiB", usable),
        ("activation peak per GPU", f"{mem.activations_gib:.2f} GiB",
         f"max_batched_tokens x (3 hidden + {mlp}) x 2 B + logits"),
        *graphs,
        ("KV cache per GPU", f"{mem.kv_cache_gib:.2f} GiB", kv_cache),
        ("KV bytes per token per GPU", f"{mem.kv_bytes_per_token_per_gpu:,.0f} B", per_token),
        ("KV capacity per replica", f"{mem.kv_capacity_tokens:,} tokens", capacity),
        ("max concurrent sequences", f"{cfg.max_sequences}",
         f"min(KV tokens / ({held}), {engine_cap}, --batch-size)"),
    ]  # fmt: skip


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
