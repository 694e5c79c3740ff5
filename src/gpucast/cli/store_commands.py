"""The database commands (``user``, ``service``, ``metrics``, ``history``, ``request``, ``db``) and the
``--save``/``--service`` hooks of the planning commands.

Nothing here imports SQLAlchemy at module level: ``gpucast --help`` and the planning commands without
``--save``/``--service`` never load the database layer.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..console.saving import require_store
from ..errors import InputError
from ..wording import counted
from .store_args import ACTIONS, register

__all__ = ["COMMANDS", "dispatch", "register"]

COMMANDS = ("user", "service", "metrics", "history", "request", "db", "token")
# The actions that may create the database: those that add the first records. Every other action reads, or
# changes records that must already be there (a service to update, a request to approve, a user to give a token):
# on a database that does not exist it says so and creates nothing, where it left an empty database file behind
# and then said "service 'chat' does not exist" (sweep 2026-12-08). `--save` on a planning command creates it too.
CREATES = frozenset({("user", "add"), ("service", "add"), ("db", "import")})


def dispatch(args: argparse.Namespace) -> int:
    require_store()
    from ..store import open_store
    from ..store.services import acting_user

    actor = acting_user(args.actor)
    creates = (args.command, args.action) in CREATES
    with open_store(args.db, must_exist=not creates) as store:
        handler = {"user": _user, "service": _service, "metrics": _metrics, "history": _history,
                   "request": _request, "db": _db, "token": _token}[args.command]  # fmt: skip
        return handler(store, args, actor)


def _user(store: Any, args: argparse.Namespace, actor: str) -> int:
    from ..store import services

    if args.action == "add":
        with store.write() as session:
            record = services.user_record(services.add_user(session, args.name, args.role, actor))
        return _emit(args, record, f"user {record['name']} added as {record['role']}")
    with store.read() as session:
        rows = [services.user_record(u) for u in services.list_users(session)]
    return _emit_rows(args, rows, ("id", "name", "role", "created_at"), "Users")


def _service(store: Any, args: argparse.Namespace, actor: str) -> int:
    from ..store import services

    if args.action in ("add", "update"):
        fields = services.ServiceFields(**{k: getattr(args, k) for k in services.EDITABLE})
        with store.write() as session:
            change = services.add_service if args.action == "add" else services.update_service
            record = services.service_record(change(session, args.name, fields, actor))
        return _emit(
            args,
            record,
            f"service {record['name']} {'added' if args.action == 'add' else 'updated'} (id {record['id']})",
        )
    if args.action == "delete":
        with store.write() as session:
            services.delete_service(session, args.name, actor)
        return _emit(args, {"deleted": args.name}, f"service {args.name} deleted")
    if args.action == "plan":
        return _service_plan(store, args, actor)
    with store.read() as session:
        if args.action == "show":
            from ..store.planning import tier_defaults

            service = services.get_service(session, args.name)
            record = services.service_record(service) | {"defaults": tier_defaults(service.criticality),
                                                         "metrics": len(service.metrics)}  # fmt: skip
            return _emit(args, record, "\n".join(f"{k:24} {v}" for k, v in record.items()))
        rows = [services.service_record(s) for s in services.list_services(session, team=args.team,
                                                                            environment=args.environment)]  # fmt: skip
    return _emit_rows(args, rows, ("id", "name", "team", "environment", "criticality", "cloud", "region", "model"),
                      "Services")  # fmt: skip


def _service_plan(store: Any, args: argparse.Namespace, actor: str) -> int:
    from ..store.planning import plan_service
    from ..store.plans import save_plan
    from ..store.services import check_may_write

    options = {k: getattr(args, k) for k in ("horizon", "scenario", "growth_rate", "period", "gpu", "input_tokens",
                                             "output_tokens", "current_gpus")}  # fmt: skip
    with store.read() as session:
        if args.save:  # who may save, before the plan is computed
            check_may_write(session, actor)
        data = plan_service(session, args.name, **options)
    if args.save:
        with store.write() as session:
            plan = save_plan(session, command="service plan", kind="forecast", inputs={"service": args.name, **options},
                             result=data, actor=actor, service=args.name)  # fmt: skip
            data["plan_id"] = plan.id
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    rec = data["recommendation"]
    print(f"{data['service']} ({data['criticality']}: safety margin {data['defaults']['safety_margin']:.0%}, "
          f"at least {counted(data['defaults']['min_replicas'], 'replica')} over {counted(rec['zones'], 'zone')}); "
          f"{data['history_points']} samples, {data['model']}, {data['input_tokens']} in / {data['output_tokens']} out")  # fmt: skip
    rows = [{k: p[k] for k in ("period_start", "peak_rps", "replicas", "gpus", "gpu_type", "monthly_cost")}
            for p in data["capacity"]["periods"]]  # fmt: skip
    _table("Capacity timeline", rows, tuple(rows[0]) if rows else ())
    cost = "n/a" if rec["monthly_cost"] is None else f"${rec['monthly_cost']:,.0f}/month"
    print(f"Recommendation: {counted(rec['replicas'], 'replica')} ({rec['replicas_per_zone']} per zone) = {rec['gpus']} x "
          f"{rec['gpu_type']}, {cost}" + (f"; saved as plan {data['plan_id']}" if "plan_id" in data else ""))  # fmt: skip
    return 0


def _metrics(store: Any, args: argparse.Namespace, actor: str) -> int:
    from ..store import metrics
    from ..store.services import check_may_write

    if args.action == "import":
        with store.read() as session:  # who may import, before the file is read (a viewer learns nothing from it)
            check_may_write(session, actor)
        rows, ignored = metrics.read_rows(args.file)
        with store.write() as session:
            report = metrics.import_rows(session, args.service, rows, actor, replace=args.replace)
        report.ignored_columns = ignored
        r = report.to_dict()
        text = (f"{args.service}: {r['added']} samples added, {r['unchanged']} already stored, {r['conflicts']} "
                f"differing ({r['replaced']} replaced), {r['duplicates_in_file']} duplicate rows in the file"
                + (f"; ignored columns: {', '.join(ignored)}" if ignored else ""))  # fmt: skip
        return _emit(args, r, text)
    with store.read() as session:
        rows = [metrics.metric_record(m) for m in metrics.list_metrics(session, args.service, limit=args.limit)]
    return _emit_rows(args, rows, ("timestamp", *metrics.VALUE_COLUMNS), f"Usage history of {args.service}")


def _history(store: Any, args: argparse.Namespace, _actor: str) -> int:
    from ..store import plans

    with store.read() as session:
        if args.action == "show":
            return _emit(args, plans.plan_record(plans.get_plan(session, args.id), None, full=True) | {
                "service": _service_name(session, plans.get_plan(session, args.id).service_id)}, None)  # fmt: skip
        if args.action == "diff":
            rows = plans.diff_plans(plans.get_plan(session, args.a), plans.get_plan(session, args.b))
            return _emit_rows(args, rows, ("field", "a", "b"), f"Plan {args.a} vs plan {args.b}")
        found = plans.list_plans(session, service=args.service, kind=args.kind, gpu=args.gpu, since=args.since,
                                 until=args.until, sort=("-" if args.desc else "") + args.sort, limit=args.limit)  # fmt: skip
        rows = [plans.plan_record(plan, name) for plan, name in found]
    if args.csv:
        text = plans.plans_csv(rows)
        if args.csv == "-":
            sys.stdout.write(text)
            return 0
        _write(args.csv, text, store)
        print(f"{len(rows)} plans written to {args.csv}")
        return 0
    return _emit_rows(args, rows, plans.CSV_COLUMNS[:-1], "Plan history")


def _service_name(session: Any, service_id: int | None) -> str | None:
    from ..store.models import Service

    service = session.get(Service, service_id) if service_id is not None else None
    return service.name if service is not None else None


def _request(store: Any, args: argparse.Namespace, actor: str) -> int:
    from ..store import workflow

    if args.action == "create":
        with store.write() as session:
            request = workflow.create_request(
                session, service=args.service, gpu_type=args.gpu_type, count=args.count, region=args.region,
                justification=args.justification, actor=actor, plan_id=args.plan, monthly_cost=args.monthly_cost,
                comment=args.comment,
            )  # fmt: skip
            record = workflow.request_record(request)
        return _emit(args, record, f"request {record['id']} created (draft): {record['count']} x {record['gpu_type']} "
                     f"in {record['region']} for {record['service']}; submit it with `gpucast request submit "
                     f"{record['id']}`")  # fmt: skip
    if args.action in ACTIONS:
        with store.write() as session:
            record = workflow.request_record(workflow.transition(session, args.id, args.action, actor, args.comment))
        return _emit(args, record, f"request {record['id']} is now {record['status']}")
    with store.read() as session:
        if args.action == "show":
            record = workflow.request_record(workflow.get_request(session, args.id), full=True)
            return _emit(args, record, "\n".join(f"{k:16} {v}" for k, v in record.items() if k != "history") + "\n"
                         + "\n".join(f"  {h['at']} {h['author']}: {h['from'] or '-'} -> {h['to']}"
                                     + (f" ({h['comment']})" if h["comment"] else "") for h in record["history"]))  # fmt: skip
        rows = [workflow.request_record(r) for r in workflow.list_requests(session, service=args.service,
                                                                           status=args.status)]  # fmt: skip
    return _emit_rows(args, rows, ("id", "service", "gpu_type", "count", "region", "monthly_cost", "status",
                                   "requester", "approver"), "Capacity requests")  # fmt: skip


def _db(store: Any, args: argparse.Namespace, actor: str) -> int:
    from ..store import backup
    from ..store.db import current_revision

    if args.action == "info":
        counts = {name: len(rows) for name, rows in backup.export_data(store)["tables"].items()}
        record = {"url": store.url, "schema_revision": current_revision(store.engine), "rows": counts}
        return _emit(args, record, "\n".join(f"{k:16} {v}" for k, v in record.items()))
    if args.action == "backup":
        how = backup.backup(store, args.file)
        return _emit(args, {"file": args.file, "format": how}, f"backup ({how}) written to {args.file}")
    if args.action == "export":
        text = backup.export_json(store)
        if not args.file or args.file == "-":
            sys.stdout.write(text)
            return 0
        _write(args.file, text, store)
        return _emit(args, {"file": args.file}, f"database exported to {args.file}")
    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{args.file!r} cannot be read as JSON: {error}") from None
    counts = backup.import_data(store, data, actor)
    return _emit(args, counts, "imported " + ", ".join(f"{n} {t}" for t, n in counts.items()))


def _token(store: Any, args: argparse.Namespace, actor: str) -> int:
    from ..store import tokens

    if args.action in ("create", "rotate"):
        with store.write() as session:
            if args.action == "create":
                secret, made = tokens.create_token(session, args.user, actor, args.label, scopes=None if args.scope is None else ",".join(args.scope),
                                                   expires_in_days=args.expires_days)  # fmt: skip
            else:
                secret, made = tokens.rotate_token(session, args.id, actor)
            record = tokens.token_record(made) | {"token": secret}
        if args.json:
            print(json.dumps(record, indent=2))
        else:
            print(secret)
            until = f", expires {record['expires_at']}" if record["expires_at"] else ""
            replaced = f" (replaces token {args.id}, now revoked)" if args.action == "rotate" else ""
            print(f"gpucast: token {record['id']} for {record['user']}{replaced}, scopes {' '.join(record['scopes'])}"
                  f"{until}: shown once; only its hash is kept", file=sys.stderr)  # fmt: skip
        return 0
    if args.action == "revoke":
        with store.write() as session:
            record = tokens.token_record(tokens.revoke_token(session, args.id, actor))
        return _emit(args, record, f"token {record['id']} revoked")
    with store.read() as session:
        rows = [tokens.token_record(t) for t in tokens.list_tokens(session, args.user)]
    if not args.json:
        rows = [row | {"scopes": " ".join(row["scopes"])} for row in rows]
    return _emit_rows(args, rows, ("id", "user", "prefix", "label", "scopes", "created_at", "expires_at", "revoked_at"),
                      "API tokens")  # fmt: skip


def _emit(args: argparse.Namespace, record: Any, text: str | None) -> int:
    if args.json or text is None:
        print(json.dumps(record, indent=2, default=str))
    else:
        print(text)
    return 0


def _emit_rows(args: argparse.Namespace, rows: list[dict[str, Any]], columns: Iterable[str], title: str) -> int:
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        _table(title, rows, tuple(columns))
    return 0


def _table(title: str, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    from rich import box
    from rich.table import Table

    from ..console.render import console

    if not rows:
        console.print(f"{title}: none")
        return
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(c, row.get(c)) for c in columns))
    console.print(table)


def _cell(column: str, value: Any) -> str:
    """A table cell: money columns ("monthly_cost") in dollars, other numbers with separators."""
    if value is None:
        return ""
    if "cost" in column and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"${value:,.0f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _write(path: str, text: str, store: Any) -> None:
    """Write an export or a CSV, never over the database itself: `db export gpucast.db --db gpucast.db` replaced
    the SQLite file with its JSON export, every record lost."""
    database = store.engine.url.database if store.engine.dialect.name == "sqlite" else None
    if database and database != ":memory:":
        files = [Path(database).resolve().with_name(Path(database).name + tail) for tail in ("", "-wal", "-shm",
                                                                                            "-journal")]  # fmt: skip
        if Path(path).resolve() in files:
            raise InputError(f"{path!r} is the database file {database} (or its journal): writing there would destroy "
                             "the database; choose another file name")  # fmt: skip
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(f"{path!r} cannot be written: {error.strerror}") from None
