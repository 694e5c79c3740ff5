"""``gpucast fleet``: a fleet's traffic forecast reconciled over service → team → environment → all, the GPUs
each team needs per week with a range, when the current fleet runs out, and the monthly GPU spend."""

from __future__ import annotations

import argparse
import csv
import json
from typing import Any

from ..errors import InputError
from .flags import gpu_count, keywords_as_flags


def add_fleet_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", help="CSV/JSON/Parquet with one row per service and time (see --id-col)")
    parser.add_argument("--id-col", default="service", help="service id column of --history (default: service)")
    parser.add_argument("--services", help="CSV of service,team,environment[,model,input_tokens,output_tokens,gpu,"
                        "precision,cloud]: the hierarchy, and what each service serves for the capacity plan")  # fmt: skip
    parser.add_argument("--from-store", action="store_true",
                        help="read services (team, environment, model, tokens, cloud) and usage history from the "
                        "database instead of --history/--services")  # fmt: skip
    parser.add_argument("--db", help="database for --from-store (default $GPUCAST_DATABASE_URL or the local file)")
    parser.add_argument("--team", help="with --from-store: only this team's services")
    parser.add_argument("--environment", help="with --from-store: only this environment's services")
    parser.add_argument("--horizon", default="4w", help="how far ahead: 4w, 28d, 672h (default 4w)")
    parser.add_argument("--freq", help="aggregate to this frequency (default: inferred)")
    parser.add_argument("--reconcile", default="bottom_up", choices=["bottom_up", "mint_shrink", "wls", "ols"],
                        help="how totals and services are made coherent (default bottom_up; see docs)")  # fmt: skip
    parser.add_argument("--period", default="week", choices=["day", "week"], help="capacity period (default week)")
    parser.add_argument("--current-gpus", type=gpu_count, help="GPUs in the fleet today: report when they run out")
    parser.add_argument("--no-capacity", action="store_true", help="forecast only: no GPUs, dates or spend")
    parser.add_argument("--json", action="store_true", help="print JSON")


def read_services(path: str) -> tuple[dict[str, tuple[str, str]], dict[str, dict[str, str]]]:
    """(service -> (team, environment), service -> its other non-empty columns) from a services CSV."""
    from ..planning.fleet_run import services_from_rows

    try:  # utf-8-sig: a spreadsheet's byte-order mark is not part of the first column's name
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise InputError(f"cannot read --services {path!r}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"--services {path!r} is not UTF-8 text; save it as UTF-8 CSV") from None
    return services_from_rows(rows, f"--services {path!r}")


def run_fleet(args: argparse.Namespace) -> int:
    with keywords_as_flags():
        return _run_fleet(args)


def _run_fleet(args: argparse.Namespace) -> int:
    from ..forecast import load_history
    from ..planning.fleet_run import configs_from
    from ..planning.fleet_run import run_fleet as fleet_run

    configs: dict[str, Any] | None

    if args.from_store:
        if args.history or args.services:
            raise InputError("--from-store reads services and history from the database; drop --history/--services")
        from ..store import open_store
        from ..store.planning import fleet_inputs

        with open_store(args.db, must_exist=True) as store, store.read() as session:
            frame, groups, configs, notes = fleet_inputs(session, team=args.team, environment=args.environment)
        history = load_history(frame, skip_unforecastable=True, **({"freq": args.freq} if args.freq else {}))
    else:
        if not args.history or not args.services:
            raise InputError("give --history and --services (or --from-store)")
        if args.team or args.environment:
            raise InputError("--team and --environment filter the store's services; use them with --from-store")
        groups, extra = read_services(args.services)
        options = {"id_col": args.id_col, **({"freq": args.freq} if args.freq else {})}
        history = load_history(args.history, skip_unforecastable=True, **options)
        configs = None if args.no_capacity else configs_from(extra, history.ids)
        notes = []
    run = fleet_run(history, groups, configs, horizon=args.horizon, reconcile=args.reconcile, period=args.period,
                    current_gpus=args.current_gpus, capacity=not args.no_capacity, notes=notes)  # fmt: skip
    if args.json:
        print(json.dumps(run.to_dict(), indent=2))
        return 0
    _render(run.forecast, run.plan, args, run.notes, run.skipped)
    return 0


def _render(hf: Any, plan: Any, args: argparse.Namespace, notes: list[str], skipped: dict[str, str]) -> None:
    from rich import box
    from rich.table import Table

    from .predict import coverage_cell, coverage_header, metric, sparkline
    from .render import console

    table = Table(title=f"Fleet forecast ({args.horizon}, reconciled {hf.method})", title_justify="left",
                  box=box.SIMPLE_HEAD)  # fmt: skip
    held = coverage_header(hf.results[hf.nodes[0].id].levels if hf.nodes else ())
    for column in ("level", "node", "mean req/s", "peak (hi80)", "MASE", "naive MASE", held, "shape"):
        table.add_column(column, justify="left" if column in ("level", "node", "shape") else "right")
    for node in hf.nodes:
        r = hf.results[node.id]
        means = [p.mean for p in r.forecast]
        step = max(1, -(-len(means) // 24))
        bt = r.backtest
        table.add_row(
            node.level, node.id.split(":", 1)[1] if node.level == "team" else node.name, f"{sum(means) / len(means):,.2f}", f"{max(p.hi80 for p in r.forecast):,.2f}",
            metric(bt.mase, ".3f"), metric(bt.baseline_mase, ".3f"), coverage_cell(bt),
            sparkline(means[::step]),
        )  # fmt: skip
    for service, reason in skipped.items():
        table.add_row("service", service, "not forecast", "-", "-", "-", "-", reason)
    console.print(table)
    console.print(f"{held}: achieved coverage of each node's own (base) band in its last backtest, pooled over "
                  "steps 1-checked of the horizon; reconciliation recentres a band on the coherent mean, keeping its "
                  "width")  # fmt: skip
    if plan is not None:
        gpus = Table(title=f"GPUs per team and {plan.period} (range: 80% band)",
                     title_justify="left", box=box.SIMPLE_HEAD)  # fmt: skip
        for column in ("period", "environment", "team", "GPUs", "range", "$/month"):
            gpus.add_column(column, justify="left" if column in ("period", "environment", "team") else "right")
        for t in plan.teams:
            cost = "n/a" if t.monthly_cost is None else f"${t.monthly_cost:,.0f}"
            gpus.add_row(t.period_start, t.environment, t.team, str(t.gpus), f"{t.gpus_low}-{t.gpus_high}", cost)
        for t in plan.totals:
            gpus.add_row(t["period_start"], "all", "fleet", str(t["gpus"]), f"{t['gpus_low']}-{t['gpus_high']}", "")
        console.print(gpus)
        if plan.current_gpus is not None:
            when = plan.runs_out
            console.print(
                f"{plan.current_gpus} GPUs run out: expected {when['expected'] or 'not within the horizon'} "
                f"(earliest {when['earliest'] or 'not within the horizon'}, "
                f"latest {when['latest'] or 'not within the horizon'})"
            )
        spend = Table(title="Monthly GPU spend (traffic-sized fleet at the plans' prices)", title_justify="left",
                      box=box.SIMPLE_HEAD)  # fmt: skip
        for column in ("month", "from", "hours", "spend", "80% range"):
            spend.add_column(column, justify="left" if column in ("month", "from") else "right")
        for m in plan.spend:
            spend.add_row(m.month, m.source, f"{m.hours:,.0f}", f"${m.spend:,.0f}",
                          f"${m.spend_low:,.0f}-${m.spend_high:,.0f}")  # fmt: skip
        console.print(spend)
        if plan.unpriced:
            console.print(f"[yellow]warning:[/yellow] no price for {', '.join(plan.unpriced)}: spend leaves them out")
    from ..planning.fleet_run import skipped_notes

    warned = set(skipped_notes(skipped))
    for note in notes:
        console.print(f"[yellow]{'warning' if note in warned else 'note'}:[/yellow] {note}")
