"""Terminal rendering of ``gpucast validate``: estimate errors per metric, and planned vs needed GPUs per point.

Kept apart from ``render`` (plans, comparisons, catalogs) so that each renderer module stays one job.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from .render import console


def validation(report: Any, *, rows: bool = False) -> None:
    if rows:
        table = Table(box=box.SIMPLE_HEAD)
        for column in ("id", "source", "metric", "measured", "predicted", "error %", "naive"):
            table.add_column(column, justify="left" if column in ("id", "source", "metric") else "right")
        for r in report.rows:
            naive = "-" if r.naive is None else f"{r.naive:,.4g}"
            table.add_row(
                r.id, r.source, r.metric, f"{r.measured:,.4g}", f"{r.predicted:,.4g}", f"{r.error_pct:.1f}", naive
            )
        console.print(table)
    table = Table(title="Absolute error per metric", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("metric", "n", "median %", "p90 %", "naive median %"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for s in report.summary:
        naive = "-" if s.naive_median_error_pct is None else f"{s.naive_median_error_pct:.1f}"
        table.add_row(s.metric, str(s.n), f"{s.median_error_pct:.1f}", f"{s.p90_error_pct:.1f}", naive)
    console.print(table)
    if report.skipped:
        console.print(f"{len(report.skipped)} rows not evaluated:")
        for row_id, reason in report.skipped:
            console.print(f"  {row_id}: {reason}")


def _pct(value: float | None, *, signed: bool = False) -> str:
    """An error in %, or "infeasible" where a plan could not meet the SLOs (error +inf, null in JSON)."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return "infeasible"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _estimate_ms(value: float, digits: int) -> str:
    """``estimate --request-rate R``'s latency at the measured rate, or "saturated" where R is past the modelled
    capacity (the open loop's queue grows without bound: inf in the model, null in JSON; the table printed "inf")."""
    return "saturated" if value != value or value == float("inf") else f"{value:,.{digits}f}"


def _loop(value: float) -> str:
    """A closed-loop point's ``estimate --concurrency`` token latency; "-" for an open-loop point (NaN)."""
    return "-" if value != value else f"{value:.1f}"


def plan_validation(report: Any, *, rows: bool = False) -> None:
    """``gpucast validate --plans``: planned vs needed GPUs per loaded serving point, per source and overall."""

    def points_table(title: str, results: list[Any]) -> Table:
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("id", "source", "model", "GPU", "TPxPP", "in/out", "R req/s", "TTFT ms", "ITL ms",
                       "est TTFT", "est ITL", "loop ITL", "slope", "cap/R", "planned", "needed", "error %"):  # fmt: skip
            table.add_column(column, justify="left" if column in ("id", "source", "model", "GPU") else "right")
        for r in results:
            planned = "-" if r.planned_gpus is None else str(r.planned_gpus)
            ident = r.ids[0] + (f" +{len(r.ids) - 1}" if len(r.ids) > 1 else "")
            table.add_row(
                ident, r.source[:12], r.model, r.gpu, f"{r.tp}x{r.pp}", f"{r.input_tokens:g}/{r.output_tokens:g}",
                f"{r.rate_rps:,.3g}", f"{r.ttft_ms:,.0f}", f"{r.itl_ms:.1f}",
                _estimate_ms(r.estimate_ttft_ms, 0), _estimate_ms(r.estimate_itl_ms, 1), _loop(r.closed_loop_itl_ms),
                "-" if r.curve_elasticity is None else f"{r.curve_elasticity:.2f}", f"{r.capacity_ratio:.2f}",
                planned, str(r.needed_gpus), _pct(r.error_pct, signed=True),
            )  # fmt: skip
        return table

    if rows:
        console.print(points_table("Loaded serving points: planned vs needed GPUs", report.results))
    elif report.results:
        console.print(points_table("Worst points", report.worst(5)))
    table = Table(
        title="Plans vs measured deployments (10 x R req/s at 1.1 x TTFT and ITL; needed = ceil(10 x 1.25) x GPUs)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("source", "n", "within ±20%", "infeasible", "median error %", "median |error| %",
                   "exact estimate within"):  # fmt: skip
        table.add_column(column, justify="left" if column == "source" else "right")
    for s in report.summary:
        table.add_row(
            s.source, str(s.n), f"{s.within} ({s.share_within:.0%})", str(s.infeasible),
            _pct(s.median_error_pct, signed=True), _pct(s.median_abs_error_pct), f"{s.exact_within} of {s.curve_known}",
        )  # fmt: skip
    console.print(table if report.summary else "No loaded serving point to plan.")
    if report.left_out:
        console.print(f"{len(report.left_out)} points not planned:")
        for ids, source, reason in report.left_out:
            console.print(f"  {ids} ({source}): {reason}" if source else f"  {ids}: {reason}")
    if report.other_rows:
        other = ", ".join(f"{n} {load}" for load, n in sorted(report.other_rows.items()))
        console.print(f"[dim]Rows that are not serving measurements (not points): {other}[/dim]")
