"""Disaggregated prefill/decode serving: separate prefill and decode pools, KV shipped between them.

DistServe (Zhong et al., OSDI'24) and Splitwise (Patel et al., ISCA'24) split the two phases so
prefill no longer stretches the decode steps (in a unified replica ITL = step / (1 - prefill
share), ``serving.py``) and each pool is sized for its own SLO:

- prefill pool: an instance prefills one prompt at a time at replica cost P (batched compute) and
  latency P_lat; prompts queue (M/D/1, as in ``serving.py``): TTFT = P_lat + rho/(2(1-rho)) P_lat
  + KV transfer. The largest utilization meeting the TTFT SLO is rho_max = 2x/(1+2x) with
  x = (SLO - P_lat - transfer)/P_lat; instances = ceil(peak calls/s x (1+margin) x P / rho_max).
- decode pool: no prefill interference, ITL = decode step at batch B; the largest B (within the
  KV slots) with step(B) <= ITL SLO; a slot serves a call for (O-1) steps, so an instance serves
  B / ((O-1) x step) calls/s; instances = ceil(peak calls/s x (1+margin) / that).
- KV transfer per call = prompt tokens x KV bytes per token / link bandwidth (the prompt's KV
  goes from the prefill GPUs to the decode GPUs; Mooncake/NVIDIA Dynamo move it with RDMA, one
  NIC per GPU, so the replica's GPUs transfer in parallel).

Both pools use the unified plan's GPU type and TP x PP (a simplification: DistServe searches each
pool's parallelism). Disaggregation wins when the total is smaller than the unified pool's GPUs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .memory import kv_bytes_per_token
from .replica import ReplicaConfig, decode_step_time, prefill_seconds

DEFAULT_LINK_GB_S = 50.0  # per GPU: one 400 Gb/s NIC (ConnectX-7 / InfiniBand NDR) per GPU, as on DGX H100


@dataclass(frozen=True)
class DisaggregatedPlan:
    """Pools sized for peak load, and the unified plan they are compared with."""

    feasible: bool
    prefill_instances: int
    decode_instances: int
    gpus_per_instance: int
    total_gpus: int
    unified_total_gpus: int
    kv_transfer_ms: float
    prefill_latency_ms: float
    ttft_ms: float
    itl_ms: float  # decode pool
    decode_batch: float
    prefill_utilization: float  # rho_max the TTFT SLO allows
    unified_itl_ms: float
    unified_prefill_share: float
    winner: str  # "disaggregated" | "unified"
    reason: str


def kv_transfer_s(cfg: ReplicaConfig, prompt_tokens: float, link_gb_s: float) -> float:
    """Seconds to move one prompt's KV cache over ``link_gb_s`` per GPU, all GPUs of the instance at once."""
    size = prompt_tokens * kv_bytes_per_token(cfg.model, cfg.kv_precision, int(prompt_tokens))
    return size / (link_gb_s * 1e9 * cfg.gpus)


def plan_disaggregated(
    cfg: ReplicaConfig,
    *,
    input_tokens: float,
    output_tokens: float,
    cached_input_tokens: float,
    peak_calls_per_s: float,
    safety_margin: float,
    ttft_slo_ms: float,
    itl_slo_ms: float,
    unified_total_gpus: int,
    unified_itl_ms: float,
    unified_prefill_share: float,
    link_gb_s: float = DEFAULT_LINK_GB_S,
) -> DisaggregatedPlan:
    """Size both pools for the workload at peak and say whether they beat the unified pool."""
    new = input_tokens - cached_input_tokens
    latency = prefill_seconds(cfg, new, cached_tokens=cached_input_tokens)
    cost = prefill_seconds(cfg, new, batched=True, cached_tokens=cached_input_tokens) / cfg.pp
    transfer = kv_transfer_s(cfg, input_tokens, link_gb_s)
    budget = ttft_slo_ms / 1e3 - latency - transfer
    demand = peak_calls_per_s * (1.0 + safety_margin)
    context = input_tokens + output_tokens / 2.0
    batch = _largest_batch(cfg, context, itl_slo_ms)
    step = decode_step_time(cfg, max(batch, 1.0), context).total_s
    if budget <= 0.0 or batch < 1.0:
        if latency * 1e3 >= ttft_slo_ms:
            why = f"prefill alone ({latency * 1e3:,.0f} ms) exceeds the TTFT SLO"
        elif budget <= 0.0:
            why = (
                f"prefill ({latency * 1e3:,.0f} ms) plus the KV transfer ({transfer * 1e3:,.0f} ms at {link_gb_s:g} GB/s "
                "per GPU) exceed the TTFT SLO"
            )
        else:
            why = "one decode step exceeds the ITL SLO"
        return DisaggregatedPlan(
            False, 0, 0, cfg.gpus, 0, unified_total_gpus, transfer * 1e3, latency * 1e3, math.inf, step * 1e3,
            batch, 0.0, unified_itl_ms, unified_prefill_share, "unified", f"disaggregation infeasible: {why}",
        )  # fmt: skip
    x = budget / latency
    rho = min(2.0 * x / (1.0 + 2.0 * x), 0.95)
    prefill_n = max(1, math.ceil(demand * cost / rho - 1e-9))
    per_decode = batch / (max(output_tokens - 1.0, 1.0) * step)
    decode_n = max(1, math.ceil(demand / per_decode - 1e-9))
    total = (prefill_n + decode_n) * cfg.gpus
    waiting = rho / (2.0 * (1.0 - rho)) * latency
    ttft = latency + waiting + transfer
    if total < unified_total_gpus:
        winner = "disaggregated"
        reason = (
            f"{total} vs {unified_total_gpus} GPUs: prefill takes {unified_prefill_share:.0%} of a unified replica's "
            f"time and stretches ITL to {unified_itl_ms:.0f} ms; a decode pool without prefill runs {batch:.0f} "
            f"sequences at {step * 1e3:.0f} ms ITL"
        )
    else:
        winner = "unified"
        reason = (
            f"{unified_total_gpus} vs {total} GPUs: unified replicas absorb prefill ({unified_prefill_share:.0%} of "
            f"their time) within the SLOs, while two pools each round up to whole instances"
            + (f" and ship {transfer * 1e3:.0f} ms of KV per call" if transfer > 0.05 else "")
        )
    return DisaggregatedPlan(
        True, prefill_n, decode_n, cfg.gpus, total, unified_total_gpus, transfer * 1e3, latency * 1e3, ttft * 1e3,
        step * 1e3, batch, rho, unified_itl_ms, unified_prefill_share, winner, reason,
    )  # fmt: skip


def _largest_batch(cfg: ReplicaConfig, context: float, itl_slo_ms: float) -> float:
    """Largest batch (<= KV slots) whose decode step meets the ITL SLO; 0 if even one sequence misses."""
    top = cfg.max_sequences
    if decode_step_time(cfg, float(top), context).total_s * 1e3 <= itl_slo_ms:
        return float(top)
    if decode_step_time(cfg, 1.0, context).total_s * 1e3 > itl_slo_ms:
        return 0.0
    lo, hi = 1, top
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if decode_step_time(cfg, float(mid), context).total_s * 1e3 <= itl_slo_ms:
            lo = mid
        else:
            hi = mid
    return float(lo)
