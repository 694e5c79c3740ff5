"""``gpucast predict``: traffic forecast from history -> summary, sparkline, capacity timeline, fan chart."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from .flags import gpu_count, keywords_as_flags, token_count
from .saving import save_if_requested

BLOCKS = "▁▂▃▄▅▆▇█"
TIMELINE_COLUMNS = ("period", "peak req/s", "tokens in/out", "req/s per replica", "replicas", "GPUs", "GPU", "$/month")


def add_predict_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", required=True, help="CSV/JSON/Parquet of timestamp,value (or a request log)")
    parser.add_argument("--freq", help="aggregate to this frequency: 5min, 1h, 1d (default: inferred)")
    parser.add_argument("--horizon", default="14d", help="how far ahead: 14d, 168h, 2w (default 14d)")
    parser.add_argument("--scenario", default="baseline", help="baseline, optimistic, pessimistic or spike")
    parser.add_argument("--growth-rate", type=float, default=0.0, help="extra growth in %% per month")
    parser.add_argument("--service", help="the service id when the file holds several")
    parser.add_argument("--all-services", action="store_true", help="forecast every service of the file (fleet mode)")
    fleet_backend = "fleet fitting: local cores (default) or a Dask cluster (needs gpucast[distributed])"
    parser.add_argument("--backend", default="local", choices=["local", "dask"], help=fleet_backend)
    scheduler = "with --backend dask: a running Dask scheduler, tcp://host:8786 (default: a temporary local cluster)"
    parser.add_argument("--scheduler", metavar="ADDRESS", help=scheduler)
    parser.add_argument("--value-col", help="value column (default: rps/requests/value/y or the only one)")
    parser.add_argument("--timestamp-col", help="timestamp column")
    parser.add_argument("--id-col", help="service id column")
    parser.add_argument("--model", help="plan capacity for this model (catalog name)")
    parser.add_argument("--gpu", "--gpu-type", dest="gpu", help="GPU type for the capacity timeline")
    parser.add_argument(
        "--precision", help="model precision for the capacity timeline (default: the published checkpoint's, else FP16)"
    )
    parser.add_argument("--input-tokens", type=token_count, help="input tokens per request (capacity timeline)")
    parser.add_argument("--output-tokens", type=token_count, help="output tokens per request (capacity timeline)")
    parser.add_argument("--cloud", default="aws", help="cloud for costs (default aws)")
    parser.add_argument("--current-gpus", type=gpu_count, help="GPUs running today: report when they stop being enough")
    parser.add_argument("--period", default="day", choices=["day", "week"], help="capacity timeline period")
    parser.add_argument("--spend", action="store_true", help="with --model: monthly GPU spend, past and forecast")
    parser.add_argument("--plot", help="write a fan chart to FILE.html (offline page) or FILE.png")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run_predict(args: argparse.Namespace) -> int:
    with keywords_as_flags({"unique_id": "--service"}):
        return _run_predict(args)


def _run_predict(args: argparse.Namespace) -> int:
    from ..forecast import forecast_load, load_history

    options = {k: v for k, v in (("value_col", args.value_col), ("timestamp_col", args.timestamp_col),
                                 ("id_col", args.id_col), ("freq", args.freq)) if v}  # fmt: skip
    if args.service and args.all_services:  # --all-services forecast every service, ignoring --service silently
        raise InputError(f"--service {args.service!r} picks one service and --all-services forecasts every one; "
                         "pass one of them")  # fmt: skip
    if args.service:
        options["unique_id"] = args.service  # only that service is checked and repaired
    # a fleet forecasts every service it can and reports the others; one service stays one error
    history = load_history(args.history, skip_unforecastable=bool(args.all_services), **options)
    if args.all_services:
        return _run_fleet(history, args)
    if args.backend != "local" or args.scheduler:
        raise InputError("--backend and --scheduler apply to --all-services; a single service is fitted locally")
    if len(history.ids) > 1 and not args.service:
        shown = ", ".join(history.ids[:5]) + ("…" if len(history.ids) > 5 else "")
        raise InputError(
            f"--history holds {len(history.ids)} services ({shown}): pick one with --service ID or use --all-services"
        )
    result = forecast_load(
        history, args.horizon, scenario=args.scenario, growth_rate=args.growth_rate, unique_id=args.service
    )
    if not args.model:  # the capacity timeline's inputs do nothing without it: say so (the chat passes --gpu)
        from ..planning.timeline import unused_without_model

        note = unused_without_model({"--gpu": args.gpu, "--precision": args.precision, "--input-tokens": args.input_tokens,
                                     "--output-tokens": args.output_tokens, "--current-gpus": args.current_gpus},
                                    "--model")  # fmt: skip
        if note:
            result.warnings.append(note)
    data: dict[str, Any] = result.to_dict()
    timeline = None
    if args.model:
        from ..planning.timeline import capacity_timeline, require_tokens

        require_tokens(result, args.input_tokens, args.output_tokens)
        from ..inputs.types import GPUConfig, ModelConfig, ServingOptions

        timeline = capacity_timeline(
            result,
            model=ModelConfig(model_name=args.model, precision=args.precision),
            input_tokens=args.input_tokens or None,
            output_tokens=args.output_tokens or None,
            gpu=GPUConfig(gpu_type=args.gpu),
            options=ServingOptions(cloud=args.cloud),
            period=args.period,
            current_gpus=args.current_gpus,
        )
        data.update(timeline.forecast_fields())
    spend = None
    if args.spend:
        if not args.model:
            raise InputError("--spend needs --model (and tokens): spend is the planned GPUs at the plan's price")
        spend = _spend(result, history, args)
        data["spend"] = [asdict(m) for m in spend]
    if args.plot:
        from ..forecast.plot import write_fan_chart

        write_fan_chart(Path(args.plot), history, result)
    save_if_requested(args, data)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    _render(result, timeline, args)
    if spend is not None:
        _render_spend(spend)
    return 0


def _spend(result: Any, history: Any, args: argparse.Namespace) -> list[Any]:
    """Monthly spend of this one service: traffic-sized GPUs per hour (history, then forecast) × the plan's price."""
    from ..inputs.types import GPUConfig, ModelConfig, ServingOptions
    from ..planning.fleet import ServiceConfig, service_spend
    from ..planning.timeline import period_tokens

    tokens = (args.input_tokens, args.output_tokens)
    if not all(tokens):
        mix = list(period_tokens(result, "day").values())
        tokens = (round(sum(m[0] for m in mix) / len(mix)), round(sum(m[1] for m in mix) / len(mix)))
    config = ServiceConfig(ModelConfig(model_name=args.model, precision=args.precision), int(tokens[0]),
                           int(tokens[1]), GPUConfig(gpu_type=args.gpu), ServingOptions(cloud=args.cloud))  # fmt: skip
    own = (
        history
        if args.service is None
        else replace(history, frame=history.frame[history.frame["unique_id"] == args.service])
    )
    return service_spend(result, config, history=own)[1]


def _render_spend(spend: list[Any]) -> None:
    from rich import box
    from rich.table import Table

    from .render import console

    table = Table(title="Monthly GPU spend (traffic-sized GPUs at the plan's price)", title_justify="left",
                  box=box.SIMPLE_HEAD)  # fmt: skip
    for column in ("month", "from", "hours", "spend", "80% range"):
        table.add_column(column, justify="left" if column in ("month", "from") else "right")
    for m in spend:
        table.add_row(
            m.month, m.source, f"{m.hours:,.0f}", f"${m.spend:,.0f}", f"${m.spend_low:,.0f}-${m.spend_high:,.0f}"
        )
    console.print(table)


def _run_fleet(history: Any, args: argparse.Namespace) -> int:
    """Every service of the file at once (statsforecast over all cores or a Dask cluster), with a progress bar."""
    from ..forecast import forecast_fleet
    from .render import console

    if args.model:
        raise InputError("--all-services forecasts load only; plan capacity per service with --service and --model")
    # each was dropped without a word: no plan saved, no fan chart written, no spend
    ignored = {"--save": args.save, "--save-service": args.save_service, "--spend": args.spend, "--plot": args.plot,
               "--gpu": args.gpu, "--precision": args.precision, "--input-tokens": args.input_tokens,
               "--output-tokens": args.output_tokens, "--current-gpus": args.current_gpus}  # fmt: skip
    given = [flag for flag, value in ignored.items() if value not in (None, False)]
    if given:
        raise InputError(f"--all-services forecasts load only, and {', '.join(given)} "
                         f"{'is' if len(given) == 1 else 'are'} for one service: pass "
                         "--service ID instead (or `gpucast fleet` for a fleet's GPUs and spend)")  # fmt: skip
    if args.scheduler and args.backend != "dask":
        raise InputError(f"--scheduler {args.scheduler!r} needs --backend dask")
    where = "over all cores" if args.backend == "local" else f"on Dask ({args.scheduler or 'a local cluster'})"
    with _fleet_progress(where) as progress:
        results = forecast_fleet(
            history, args.horizon, scenario=args.scenario, growth_rate=args.growth_rate, progress=progress,
            backend=args.backend, scheduler=args.scheduler,
        )  # fmt: skip
    skipped = dict(history.skipped)
    for uid, reason in skipped.items():
        print(f"warning: service {uid!r} not forecast: {reason}", file=sys.stderr)
    if args.json:
        data: dict[str, Any] = {uid: r.to_dict() for uid, r in results.items()}
        data |= {uid: {"status": "not forecast", "reason": reason} for uid, reason in skipped.items()}
        print(json.dumps(data, indent=2))
        return 0
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"Forecast of {len(results)} services ({args.horizon})"
        + (f", {len(skipped)} not forecast" if skipped else ""),
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    held = coverage_header(next(iter(results.values())).levels if results else ())
    for column in ("service", "mean req/s", "peak (hi80)", "MASE", "seasonal-naive MASE", held, "shape"):
        table.add_column(column, justify="left" if column in ("service", "shape") else "right")
    for uid, reason in skipped.items():
        table.add_row(uid, "not forecast", "-", "-", "-", "-", reason)
    for uid, r in results.items():
        means = [p.mean for p in r.forecast]
        step = max(1, -(-len(means) // 24))
        bt = r.backtest
        table.add_row(
            uid, f"{sum(means) / len(means):,.2f}", f"{max(p.hi80 for p in r.forecast):,.2f}",
            metric(bt.mase, ".3f"), metric(bt.baseline_mase, ".3f"),
            coverage_cell(bt), sparkline(means[::step]),
        )  # fmt: skip
    console.print(table)
    console.print(f"{held}: achieved coverage of each service's last backtest, pooled over steps 1-checked of the "
                  "horizon (past origins, bands calibrated only on what was known then)")  # fmt: skip
    return 0


@contextmanager
def _fleet_progress(where: str) -> Iterator[Callable[[int, int], None]]:
    """``progress(done, total)`` for ``forecast_fleet``: a rich bar on stderr when it is a terminal, else one plain
    line per chunk (logs, CI, pipes: a bar's redraws would be noise there). stdout stays for the table or JSON."""
    if not sys.stderr.isatty():
        yield lambda done, total: print(f"forecast: {done}/{total} services {where}", file=sys.stderr, flush=True)
        return
    from rich import progress as rp
    from rich.console import Console

    columns = [rp.TextColumn(f"forecasting {where}"), rp.BarColumn(), rp.MofNCompleteColumn()]
    columns += [rp.TextColumn("services"), rp.TimeElapsedColumn(), rp.TimeRemainingColumn()]
    with rp.Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("fleet", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def metric(value: float | None, spec: str) -> str:
    """A backtest figure for a table: "n/a" where it is undefined (MASE of a constant history has no scale: the
    result holds NaN/None), never "nan"; 0.0 is a figure (a perfect backtest), not a missing one."""
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def _pct(values: dict[int, float | None]) -> str:
    return "/".join("-" if v is None else f"{v:.0%}" for _, v in sorted(values.items()))


def coverage_header(levels: Iterable[int]) -> str:
    """The column title over ``coverage_cell``: "80%/95% held (steps)"."""
    return "/".join(f"{lv}%" for lv in levels) + " held (steps)"


def coverage_cell(bt: Any) -> str:
    """A table cell: the last backtest's achieved coverage per level and the steps ahead it was checked on."""
    if bt.coverage_horizon is None:
        return f"{_pct(bt.coverage)} (1-{bt.fold_horizon})"
    return f"{_pct(bt.coverage)} (1-{bt.coverage_checked_steps}/{bt.coverage_horizon})"


def coverage_line(bt: Any) -> str:
    """The last backtest's achieved coverage per interval level, beside the forecast whose bands it checks: over
    the whole horizon (the steps some past origin has observed), then by lead time (``forecast/coverage.py``)."""
    shown = [f"{level}% band held {value:.0%}" for level, value in sorted(bt.coverage.items()) if value is not None]
    if not shown:
        return "not checked (no backtest origin: the history is too short, or constant)"
    if bt.coverage_horizon is None:  # a result without the horizon check (constant history)
        where = f"{bt.coverage_origins or bt.folds} last backtest origins, {bt.fold_horizon} steps each"
        return ", ".join(shown) + f" of the held-out points ({where})"
    spans = bt.coverage_by_steps
    cells = sum(span.cells for span in spans)
    origins = bt.coverage_origins if bt.coverage_origins is not None else bt.folds
    text = ", ".join(shown) + (
        f" of {cells:,} held-out points, steps 1-{bt.coverage_checked_steps} of the {bt.coverage_horizon} ahead "
        f"({origins} past origins, each band calibrated only on what was known then)"
    )
    if len(spans) > 1:
        levels = "/".join(f"{level}%" for level in sorted(bt.coverage))
        parts = [f"{s.first}-{s.last} {_pct(s.coverage)} ({s.cells} points)" for s in spans if s.cells]
        text += f"; {levels} by steps ahead: " + ", ".join(parts)
    if bt.coverage_checked_steps < bt.coverage_horizon:
        text += (
            f"; steps {bt.coverage_checked_steps + 1}-{bt.coverage_horizon} not checked: no past origin has seen "
            "that far ahead (history too short)"
        )
    return text


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(BLOCKS[min(len(BLOCKS) - 1, int((v - low) / span * len(BLOCKS)))] for v in values)


def _render(result: Any, timeline: Any, args: argparse.Namespace) -> None:
    from .render import _section, console

    bt = result.backtest
    means = [p.mean for p in result.forecast]
    step = max(1, -(-len(means) // 60))  # at most 60 characters
    members = ", ".join(f"{m.name} {m.weight:.2f}" for m in result.members if m.weight)
    console.print(
        _section(
            f"Forecast for {result.unique_id} ({args.horizon}, scenario {result.scenario})",
            [
                ("Mean load", f"{min(means):,.2f} - {max(means):,.2f} req/s"),
                ("Peak (upper 80%)", f"{max(p.hi80 for p in result.forecast):,.2f} req/s"),
                ("Shape", sparkline(means[::step])),
                (
                    "Backtest",
                    f"MASE {metric(bt.mase, '.3f')} vs seasonal-naive {metric(bt.baseline_mase, '.3f')}; "
                    f"sMAPE {metric(bt.smape, '.1f')}% vs {metric(bt.baseline_smape, '.1f')}%",
                ),
                ("Interval coverage", coverage_line(bt)),
                ("Members", members),
            ],
        )
    )
    if timeline is not None:
        from rich import box
        from rich.table import Table

        table = Table(title="Capacity timeline", title_justify="left", box=box.SIMPLE_HEAD)
        for column in TIMELINE_COLUMNS:
            table.add_column(column, justify="left" if column in ("period", "GPU") else "right")
        for p in timeline.periods:
            cost = "n/a" if p.monthly_cost is None else f"${p.monthly_cost:,.0f}"
            tokens = f"{p.input_tokens:,.0f}/{p.output_tokens:,.0f}"
            table.add_row(
                p.period_start, f"{p.peak_rps:,.2f}", tokens, f"{p.rps_per_replica:,.2f}", str(p.replicas),
                str(p.gpus), p.gpu_type, cost,
            )  # fmt: skip
        console.print(table)
        source = {"forecast": "forecast from the history's token columns", "given": "as given", "default": "defaults"}
        console.print(f"tokens per request: {source[timeline.tokens_source]}")
        if timeline.current_gpus is not None:
            when = f"exceeded at {timeline.exceeds_capacity_at}" if timeline.exceeds_capacity_at else "not exceeded"
            floor = timeline.min_replicas * timeline.gpus_per_replica  # no period is planned below it
            short = f" (below the {floor} GPUs of the minimum replicas)" if timeline.current_gpus < floor else ""
            carry = "GPU carries" if timeline.current_gpus == 1 else "GPUs carry"
            console.print(
                f"{timeline.current_gpus} {carry} {timeline.current_capacity_rps:,.2f} req/s: {when}{short}"
                + ("" if timeline.exceeds_capacity_at else " within the horizon")
            )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
