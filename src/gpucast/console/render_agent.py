"""Terminal sections for agent workloads, speculative decoding and disaggregated serving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from ..plans.inference import LLMCapacityPlan

Section = Callable[[str, list[tuple[str, str]]], Table]


def option_sections(p: LLMCapacityPlan, console: Console, section: Section) -> None:
    """Print the plan's agent / speculative / disaggregation sections, when present."""
    a = p.agent
    if a is not None:
        slo = ""
        if a.task_latency_slo_ms is not None:
            slo = f" (SLO {a.task_latency_slo_ms / 1e3:g} s: {'met' if a.meets_task_slo else 'MISSED'})"
        cache = (
            f"{a.prefix_cache_hit_rate:.0%} hit rate of a possible {a.reusable_fraction:.0%}; "
            f"{a.prefix_cache_tokens_per_replica:,.0f} tokens per replica free for prefixes, "
            f"contexts survive think time {a.task_context_survival:.0%}"
            if a.prefix_caching
            else f"off (would reuse up to {a.reusable_fraction:.0%} of prompt tokens)"
        )
        console.print(
            section(
                "Agent workload",
                [
                    (
                        "Tasks",
                        f"{a.tasks_per_second:g}/s x {a.calls_per_task:g} calls ({a.calls_distribution}) = "
                        f"{a.calls_per_second:g} LLM calls/s",
                    ),
                    (
                        "Context per call",
                        f"{a.first_call_input_tokens:,} -> {a.last_call_input_tokens:,} tokens "
                        f"(mean {a.mean_input_tokens_per_call:,.0f}), {a.output_tokens_per_call} out",
                    ),
                    ("Prefix cache", cache),
                    (
                        "Prefilled per call",
                        f"{a.prefilled_tokens_per_call:,.0f} of {a.mean_input_tokens_per_call:,.0f} tokens",
                    ),
                    (
                        "Task latency",
                        f"{a.task_latency_ms / 1e3:,.1f} s incl. {a.think_time_s:g} s think time between calls" + slo,
                    ),
                    ("Tasks/s per replica", f"{a.tasks_per_second_per_replica:.3f}"),
                ],
            )
        )
    s = p.speculative
    if s is not None:
        without = f", {s.total_gpus_without} GPUs without it" if s.total_gpus_without is not None else ""
        console.print(
            section(
                "Speculative decoding",
                [
                    (
                        "Proposer",
                        f"{s.proposer}: k={s.draft_tokens}, acceptance {s.acceptance_rate:g} -> "
                        f"{s.tokens_per_step:.2f} tokens per step, {s.draft_weights_gb_per_gpu:.2f} GB/GPU",
                    ),
                    (
                        "ITL per token",
                        f"{s.itl_ms_with:.1f} ms vs {s.itl_ms_without:.1f} ms without "
                        f"({s.itl_speedup_at_planned_batch:.2f}x; {s.itl_speedup_at_batch_1:.2f}x at batch 1)",
                    ),
                    (
                        "Max throughput",
                        f"{s.max_tps_per_replica_with:,.0f} vs {s.max_tps_per_replica_without:,.0f} "
                        f"output tok/s per replica{without}",
                    ),
                    ("Verdict", ("helps: " if s.helps else "hurts: ") + s.note),
                ],
            )
        )
    d = p.disaggregation
    if d is not None:
        rows = [("Verdict", f"{d.winner} wins: {d.reason}")]
        if d.feasible:
            rows = [
                ("Pools", f"{d.prefill_instances} prefill + {d.decode_instances} decode instances x "
                          f"{d.gpus_per_instance} GPUs = {d.total_gpus} GPUs (unified: {d.unified_total_gpus})"),
                ("Latency", f"TTFT {d.ttft_ms:,.0f} ms (prefill {d.prefill_latency_ms:,.0f} + KV transfer "
                            f"{d.kv_transfer_ms:.1f} ms + queue), ITL {d.itl_ms:.1f} ms at batch {d.decode_batch:.0f}"),
                *rows,
            ]  # fmt: skip
        console.print(section("Disaggregated prefill/decode", rows))


def comparison_summary(rows: list[Any], console: Console) -> None:
    """Which option wins and why (only when compare produced option rows)."""
    from ..planning.compare import winner_summary

    text = winner_summary(rows)
    if text:
        console.print(text)
