"""Terminal rendering of training plans, estimates and comparisons (rich)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from ..wording import counted, duration, rate
from .render import _money, _section, console


def training_plan(p: Any, *, explain: bool = False) -> None:
    res, par, m = p.gpu_resources, p.parallelism, p.training_metrics
    console.print("[bold]LLM TRAINING CAPACITY PLAN[/bold]  (gpucast)")
    inputs = p.inputs
    console.print(
        _section(
            "Inputs",
            [
                (
                    "Run",
                    f"{inputs['dataset_size_tokens']:,} tokens x {counted(inputs['num_epochs'], 'epoch')}, sequence length "
                    f"{inputs['sequence_length']}, global batch {inputs['global_batch_size']} sequences",
                ),
                (
                    "Model",
                    f"{p.model['name']} ({p.model['total_params_b']:.1f}B params), {inputs['method']}, "
                    f"{inputs['precision']}, {inputs['optimizer_type']}",
                ),
            ],
        )
    )
    console.print(
        _section(
            "GPU resources",
            [
                (
                    "GPUs",
                    f"{res.required_gpus} x {res.recommended_gpu_type} ({res.nodes} node(s) of up to {res.gpus_per_node})",
                ),
                (
                    "Parallelism",
                    f"TP={par.tensor_parallel} PP={par.pipeline_parallel} {_large_run_parallelism(par)}"
                    f"DP={par.data_parallel} "
                    f"ZeRO-{par.zero_stage}, micro batch {par.micro_batch_size} x {par.gradient_accumulation_steps} "
                    f"accumulation, recompute {par.recompute}",
                ),
                (
                    "Memory per GPU",
                    f"{res.gpu_memory_per_gpu_gb:.1f} GB of {res.gpu_memory_gb:.0f} GB: weights "
                    f"{res.model_weights_gb:.1f} + gradients {res.gradients_gb:.1f} + optimizer {res.optimizer_states_gb:.1f} "
                    f"+ activations {res.activations_gb:.1f} + buffers {res.buffers_gb:.1f}",
                ),
            ],
        )
    )
    console.print(
        _section(
            "Training metrics",
            [
                (
                    "Throughput",
                    f"{m.tokens_per_second_per_gpu:,.0f} tokens/s per GPU, {m.total_tokens_per_second:,.0f} total",
                ),
                (
                    "MFU",
                    f"{m.mfu:.1%} ({m.tflops_per_gpu:.0f} TFLOP/s per GPU, {m.flops_per_token / 1e9:.1f} GFLOP/token)",
                ),
                ("Steps", f"{m.steps_per_epoch:,} per epoch, {m.total_steps:,} in total ({m.step_time_s:.2f} s each)"),
                ("Duration", _duration(m.estimated_duration_hours, m.estimated_duration_days)),
            ],
        )
    )
    if p.cost:
        c = p.cost
        console.print(
            _section(
                f"Cost ({c.cloud} {c.region}, {c.pricing}{_price_date(c.price_as_of)})",
                [
                    (
                        "Instances",
                        f"{c.instances} x {c.instance_type}: ${c.gpu_cost_per_hour:,.2f}/hour in all "
                        f"(${c.gpu_hourly_cost:,.2f} per GPU-hour)",
                    ),
                    ("Per epoch / total", f"{_money(c.cost_per_epoch)} / {_money(c.total_training_cost)}"),
                ],
            )
        )
    console.print(f"[bold]Recommendation:[/bold] {p.recommendation}")
    for warning in p.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if explain:
        for line in p.assumptions:
            console.print(f"[dim]- {line}[/dim]")


def _price_date(as_of: str) -> str:
    """``, prices as of 2026-08, 129 days old``: when the run's price was read, as a serving plan says it (in the
    section's title: the README's training example keeps its length)."""
    from ..planning.price_age import age_days

    return f", prices as of {as_of}, {counted(age_days(as_of), 'day')} old" if as_of else ""


def training_estimate(r: Any) -> None:
    console.print(f"[bold]{r.model}[/bold] ({r.method}) on {r.tp * r.pp * r.cp * r.dp} x {r.gpu}")
    extra = "".join(f" {name}={value}" for name, value in (("CP", r.cp), ("VPP", r.vpp), ("EP", r.ep)) if value > 1)
    rows = [
        (
            "Parallelism",
            f"TP={r.tp} PP={r.pp}{extra} DP={r.dp} ZeRO-{r.zero}, micro batch {r.micro_batch} x {r.grad_accum}, "
            f"recompute {r.recompute}",
        ),
        ("Throughput", f"{r.tokens_per_s_per_gpu:,.0f} tokens/s per GPU, {r.tokens_per_s:,.0f} total"),
        ("MFU", f"{r.mfu:.1%} ({r.tflops_per_gpu:.0f} TFLOP/s per GPU)"),
        ("Step time", f"{r.step_time_s:.3f} s"),
        (
            "Peak memory per GPU",
            f"{r.memory_per_gpu_gb:.1f} GB ({'fits' if r.fits else 'does NOT fit'}): "
            + ", ".join(f"{k} {v:.1f}" for k, v in r.memory_breakdown_gb.items()),
        ),
    ]
    console.print(_section("Training step", rows))


def training_comparison(rows: list[Any]) -> None:
    if not rows:
        console.print("No GPU and cloud combination can run this training job.")
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("GPU", "cloud", "GPUs", "TP/PP/DP", "ZeRO", "tok/s/GPU", "MFU", "hours", "total $", "instance"):
        table.add_column(column, justify="left" if column in ("GPU", "cloud", "instance") else "right")
    for r in rows:
        table.add_row(
            r.gpu_type, r.cloud, str(r.gpus), f"{r.tensor_parallel}/{r.pipeline_parallel}/{r.data_parallel}",
            str(r.zero_stage), f"{r.tokens_per_s_per_gpu:,.0f}", f"{r.mfu:.0%}", rate(r.hours),
            _money(r.total_cost), r.instance_type or "-",
        )  # fmt: skip
    console.print(table)


def _duration(hours: float, days: float) -> str:
    """ "18 minutes" for a short run (not "0.0 hours"), else hours and days."""
    return duration(hours) if hours < 1 else f"{hours:,.1f} hours ({days:,.2f} days)"


def _large_run_parallelism(par: Any) -> str:
    """ "CP=2 VPP=4 EP=8 " for the context, virtual-pipeline and expert parallelism a plan uses ("" when none)."""
    degrees = (("CP", "context_parallel"), ("VPP", "virtual_pipeline_stages"), ("EP", "expert_parallel"))
    return "".join(f"{name}={getattr(par, field, 1)} " for name, field in degrees if getattr(par, field, 1) > 1)
