"""Terminal rendering of `gpucast estimate`: one deployment's operating point, and for --slo-capacity the targets it
was sized against (split from ``render``, as the training and validation views are)."""

from __future__ import annotations

from typing import Any

from ..core.layout import Layout
from ..core.percentiles import slo_statistic, token_target
from ..wording import counted
from .render import _section, console


def _gpus(count: int, gpu: str) -> str:
    """ "1 H100-SXM", "4 x H100-SXM": a count of GPUs without "1 x 1 H100-SXM" (issue 23)."""
    return f"{count} x {gpu}" if count > 1 else f"1 {gpu}"


def _capacity_words(r: Any) -> str:
    """ ": the most within the SLOs (p99 TTFT <= 2,000 ms, TPOT <= 100.0 ms; limited by ttft)" for --slo-capacity,
    from the targets the estimate resolved (``EstimateResult.slo``): the request's raw "p90" printed "pp90"."""
    slo = getattr(r, "slo", None) or {}
    if not slo:
        return ""
    stat, token = _slo_words(slo)
    return (f": the most within the SLOs ({stat} TTFT <= {slo['ttft_ms']:,.0f} ms, {token} <= {slo['itl_ms']:,.1f} "
            f"ms; limited by {r.slo_limit})")  # fmt: skip


def _slo_words(slo: dict[str, Any]) -> tuple[str, str]:
    """("p99", "TPOT") or ("mean", "ITL"): the statistic the targets bound and the token latency it bounds."""
    return slo_statistic(slo["percentile"]), token_target(slo["percentile"])


def _at_slo_row(r: Any) -> list[tuple[str, str]]:
    """The row "At the SLO statistic" for --slo-capacity: what the capacity point reaches at the statistic the targets
    bound. The TTFT/ITL row shows means: at a p99 TTFT limit it read 505 ms against a 2,000 ms target "limited by
    ttft", which looked like slack."""
    slo = getattr(r, "slo", None) or {}
    if not slo or slo["percentile"] == "mean":
        return []
    stat, token = _slo_words(slo)
    return [(f"{stat} TTFT / {token}", f"{slo['ttft_at_ms']:,.0f} ms / {slo['itl_at_ms']:,.1f} ms (targets "
                                       f"{slo['ttft_ms']:,.0f} / {slo['itl_ms']:,.1f})")]  # fmt: skip


def estimate(r: Any) -> None:
    shard = Layout(r.tp, r.pp, r.ep, r.attention_dp).label()
    console.print(
        f"[bold]{r.model}[/bold] on {counted(r.replicas, 'replica')} of {_gpus(r.tp * r.pp, r.gpu)} ({shard}), "
        f"{r.precision} "
        f"(KV {r.kv_precision}), {r.engine}"
    )
    console.print(
        _section(
            "Operating point (all replicas)",
            [
                ("Concurrency", f"{r.concurrency:,.1f} requests in flight"),
                ("Output tokens/s", f"{r.output_tokens_per_s:,.0f} ({r.output_tokens_per_s_per_gpu:,.0f} per GPU)"),
                ("Total tokens/s", f"{r.total_tokens_per_s:,.0f} (input + output)"),
                ("Requests/s", f"{r.requests_per_s:,.3f}" + _capacity_words(r)),
                ("TTFT / ITL / E2E", f"{r.ttft_ms:,.0f} ms / {r.itl_ms:.1f} ms / {r.e2e_ms:,.0f} ms"),
                *_at_slo_row(r),
                ("Bound", r.bound),
                ("KV cache", f"{r.kv_cache_tokens:,} tokens per replica, up to {r.max_concurrent_sequences} sequences"),
                ("Weights per GPU", f"{r.weights_gib_per_gpu:.1f} GiB"),
            ],
        )
    )
    for warning in r.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
