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
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import InputError

COMMANDS = ("user", "service", "metrics", "history", "request", "db", "token")
ACTIONS = ("submit", "approve", "reject", "provision")
SAVE_KEYS = {"save", "service", "save_service", "actor", "db", "json", "explain", "command", "output", "plot"}


def _db_flags() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="database: a SQLite file path or a SQLAlchemy URL (default $GPUCAST_DATABASE_URL "
                        "or ~/.local/share/gpucast/gpucast.db)")  # fmt: skip
    common.add_argument("--as", dest="actor", metavar="USER", help="act as this user (default: the OS user)")
    common.add_argument("--json", action="store_true", help="print JSON")
    return common


def add_save_flags(parser: argparse.ArgumentParser, *, service_flag: bool = True) -> None:
    """``--save [--service NAME] [--as USER] [--db URL]`` for a planning command."""
    group = parser.add_argument_group("plan history (database)")
    group.add_argument("--save", action="store_true", help="store the plan in the database (see `gpucast history`)")
    if service_flag:
        group.add_argument("--service", help="plan for this stored service: its settings and criticality are defaults")
    else:
        group.add_argument("--save-service", metavar="NAME", help="the stored service the saved plan belongs to")
    group.add_argument("--as", dest="actor", metavar="USER", help="who saves the plan (default: the OS user)")
    group.add_argument("--db", help="database path or SQLAlchemy URL (default $GPUCAST_DATABASE_URL or the user file)")


def _service_fields(parser: argparse.ArgumentParser, *, required: bool) -> None:
    def listed(value: str) -> list[str]:
        return [v.strip() for v in value.split(",") if v.strip()]

    for flag, choices in (("--team", None), ("--environment", ("prod", "staging", "dev")),
                          ("--criticality", ("tier1", "tier2", "tier3")), ("--cloud", None), ("--region", None)):  # fmt: skip
        parser.add_argument(flag, required=required, choices=choices, help=f"service {flag[2:]}")
    parser.add_argument("--owner", help="owning person or on-call alias")
    parser.add_argument("--allowed-instance-types", "--gpus", dest="allowed_instance_types", type=listed,
                        help="comma-separated GPU types the service may use")  # fmt: skip
    parser.add_argument("--model", help="catalog model the service serves")
    parser.add_argument("--precision", help="model precision (FP16, BF16, FP8, INT4, ...)")
    parser.add_argument("--input-tokens", type=int, help="average input tokens per request")
    parser.add_argument("--output-tokens", type=int, help="average output tokens per request")
    parser.add_argument("--ttft-slo-ms", type=float, help="time-to-first-token SLO, ms")
    parser.add_argument("--itl-slo-ms", type=float, help="inter-token latency SLO, ms")
    parser.add_argument("--tags", type=listed, help="comma-separated tags")
    parser.add_argument("--notes", help="free text")


def register(sub: Any) -> None:
    """Add the database commands to the top-level subparsers."""
    common = _db_flags()
    user = sub.add_parser("user", help="users and roles (viewer, requester, approver, admin)")
    users = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = users.add_parser("add", parents=[common], help="register a user with a role")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("viewer", "requester", "approver", "admin"))
    users.add_parser("list", parents=[common], help="list users")

    service = sub.add_parser("service", help="services: add, list, show, update, delete, plan from history")
    services = service.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = services.add_parser("add", parents=[common], help="add a service")
    add.add_argument("name")
    _service_fields(add, required=True)
    update = services.add_parser("update", parents=[common], help="change a service's settings")
    update.add_argument("name")
    _service_fields(update, required=False)
    listing = services.add_parser("list", parents=[common], help="list services")
    listing.add_argument("--team")
    listing.add_argument("--environment")
    for name, text in (("show", "show a service"), ("delete", "delete a service and its metrics")):
        services.add_parser(name, parents=[common], help=text).add_argument("name")
    plan = services.add_parser("plan", parents=[common], help="forecast the stored history and plan capacity")
    plan.add_argument("name")
    plan.add_argument("--horizon", default="14d", help="how far ahead (default 14d)")
    plan.add_argument("--scenario", default="baseline", help="baseline, optimistic, pessimistic or spike")
    plan.add_argument("--growth-rate", type=float, default=0.0, help="extra growth in %% per month")
    plan.add_argument("--period", default="day", choices=("day", "week"), help="capacity timeline period")
    plan.add_argument("--gpu", "--gpu-type", dest="gpu", help="GPU type (default: the service's allowed types)")
    plan.add_argument("--input-tokens", type=int, help="input tokens per request (default: service or metrics)")
    plan.add_argument("--output-tokens", type=int, help="output tokens per request (default: service or metrics)")
    plan.add_argument("--current-gpus", type=int, help="GPUs running today: report when they stop being enough")
    plan.add_argument("--save", action="store_true", help="store the plan in the history")

    metrics = sub.add_parser("metrics", help="import and list a service's usage history")
    metric_actions = metrics.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = metric_actions.add_parser("import", parents=[common], help="import CSV/JSON usage history (idempotent)")
    imp.add_argument("service")
    imp.add_argument("file", help="columns timestamp,rps[,input_tokens,output_tokens,latency_p50_ms,...]")
    imp.add_argument("--replace", action="store_true", help="overwrite stored samples whose values differ")
    shown = metric_actions.add_parser("list", parents=[common], help="list stored samples")
    shown.add_argument("service")
    shown.add_argument("--limit", type=int, help="at most N samples")

    history = sub.add_parser("history", parents=[common], help="saved plans: list, filter, sort, show, diff, CSV")
    history.add_argument("--service", help="only this service's plans")
    history.add_argument("--kind", help="inference, training or forecast")
    history.add_argument("--gpu", help="only plans on this GPU type")
    history.add_argument("--since", type=_when, help="from this date/time (ISO 8601)")
    history.add_argument("--until", type=_when, help="up to this date/time (ISO 8601)")
    history.add_argument("--sort", default="created_at", help="field to sort by (default created_at); "
                         "--sort=-FIELD or --desc for descending")  # fmt: skip
    history.add_argument("--desc", action="store_true", help="sort descending")
    history.add_argument("--limit", type=int, help="at most N plans")
    history.add_argument("--csv", metavar="FILE", help="write the list as CSV ('-' for stdout)")
    history_actions = history.add_subparsers(dest="action", metavar="ACTION")
    history_actions.add_parser("show", parents=[common], help="one plan in full").add_argument("id", type=int)
    diff = history_actions.add_parser("diff", parents=[common], help="fields that differ between two plans")
    diff.add_argument("a", type=int)
    diff.add_argument("b", type=int)

    request = sub.add_parser("request", help="capacity requests: create, submit, approve, reject, provision")
    requests = request.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = requests.add_parser("create", parents=[common], help="draft a capacity request")
    create.add_argument("--service", required=True)
    create.add_argument("--gpu-type", "--gpu", dest="gpu_type", required=True)
    create.add_argument("--count", type=int, required=True, help="number of GPUs")
    create.add_argument("--region", required=True)
    create.add_argument("--justification", required=True)
    create.add_argument("--plan", type=int, help="id of the saved plan behind the request")
    create.add_argument("--monthly-cost", type=float, help="USD per month (default: catalog price x count)")
    create.add_argument("--comment")
    for action in ACTIONS:
        step = requests.add_parser(action, parents=[common], help=f"{action} a request")
        step.add_argument("id", type=int)
        step.add_argument("--comment")
    listing = requests.add_parser("list", parents=[common], help="list requests")
    listing.add_argument("--service")
    listing.add_argument("--status")
    requests.add_parser("show", parents=[common], help="a request and its history").add_argument("id", type=int)

    token = sub.add_parser("token", help="API tokens for `gpucast serve`: create (shown once), list, revoke")
    tokens = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    made = tokens.add_parser("create", parents=[common], help="create a token for a user (printed once)")
    made.add_argument("--user", required=True, help="the registered user the token acts as")
    made.add_argument("--label", help="what the token is for (shown in `token list`)")
    tokens.add_parser("list", parents=[common], help="list tokens (prefix only)").add_argument("--user")
    tokens.add_parser("revoke", parents=[common], help="revoke a token by id").add_argument("id", type=int)

    db = sub.add_parser("db", help="database: info, backup, export and import (JSON)")
    db_actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_actions.add_parser("info", parents=[common], help="URL, schema revision and row counts")
    db_actions.add_parser("backup", parents=[common], help="consistent copy (SQLite file, else JSON)").add_argument(
        "file"
    )
    db_actions.add_parser("export", parents=[common], help="the whole database as JSON").add_argument("file", nargs="?")
    db_actions.add_parser("import", parents=[common], help="load a JSON export into an empty database").add_argument(
        "file"
    )


def _when(value: str) -> datetime:
    from ..store.metrics import parse_timestamp

    return parse_timestamp(value, 0)


def _require_store() -> None:
    """One line with the install command instead of an ImportError traceback when the extra is missing."""
    try:
        import alembic  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as error:
        raise InputError(f"the database commands need the [store] extra ({error.name} is missing); "
                         "pip install 'gpucast[store]'") from None  # fmt: skip


def dispatch(args: argparse.Namespace) -> int:
    _require_store()
    from ..store import open_store
    from ..store.services import acting_user

    actor = acting_user(args.actor)
    with open_store(args.db) as store:
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

    options = {k: getattr(args, k) for k in ("horizon", "scenario", "growth_rate", "period", "gpu", "input_tokens",
                                             "output_tokens", "current_gpus")}  # fmt: skip
    with store.read() as session:
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
          f"at least {data['defaults']['min_replicas']} replicas over {rec['zones']} zone(s)); "
          f"{data['history_points']} samples, {data['model']}, {data['input_tokens']} in / {data['output_tokens']} out")  # fmt: skip
    rows = [{k: p[k] for k in ("period_start", "peak_rps", "replicas", "gpus", "gpu_type", "monthly_cost")}
            for p in data["capacity"]["periods"]]  # fmt: skip
    _table("Capacity timeline", rows, tuple(rows[0]) if rows else ())
    cost = "n/a" if rec["monthly_cost"] is None else f"${rec['monthly_cost']:,.0f}/month"
    print(f"Recommendation: {rec['replicas']} replicas ({rec['replicas_per_zone']} per zone) = {rec['gpus']} x "
          f"{rec['gpu_type']}, {cost}" + (f"; saved as plan {data['plan_id']}" if "plan_id" in data else ""))  # fmt: skip
    return 0


def _metrics(store: Any, args: argparse.Namespace, actor: str) -> int:
    from ..store import metrics

    if args.action == "import":
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
        _write(args.csv, text)
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
        _write(args.file, text)
        return _emit(args, {"file": args.file}, f"database exported to {args.file}")
    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{args.file!r} cannot be read as JSON: {error}") from None
    counts = backup.import_data(store, data, actor)
    return _emit(args, counts, "imported " + ", ".join(f"{n} {t}" for t, n in counts.items()))


def _token(store: Any, args: argparse.Namespace, actor: str) -> int:
    from ..store import tokens

    if args.action == "create":
        with store.write() as session:
            secret, made = tokens.create_token(session, args.user, actor, args.label)
            record = tokens.token_record(made) | {"token": secret}
        if args.json:
            print(json.dumps(record, indent=2))
        else:
            print(secret)
            print(f"gpucast: token {record['id']} for {args.user}: shown once; only its hash is kept", file=sys.stderr)
        return 0
    if args.action == "revoke":
        with store.write() as session:
            record = tokens.token_record(tokens.revoke_token(session, args.id, actor))
        return _emit(args, record, f"token {record['id']} revoked")
    with store.read() as session:
        rows = [tokens.token_record(t) for t in tokens.list_tokens(session, args.user)]
    return _emit_rows(args, rows, ("id", "user", "prefix", "label", "created_at", "revoked_at"), "API tokens")


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

    from .render import console

    if not rows:
        console.print(f"{title}: none")
        return
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else f"{row[c]:,.2f}" if isinstance(row[c], float)
                        else str(row[c]) for c in columns))  # fmt: skip
    console.print(table)


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(f"{path!r} cannot be written: {error.strerror}") from None


def apply_service(args: argparse.Namespace, sections: dict[str, Any]) -> dict[str, Any]:
    """``inference --service NAME``: the stored service's settings and tier defaults under the user's flags."""
    if not getattr(args, "service", None):
        return sections
    _require_store()
    from ..store import open_store
    from ..store.planning import overlay_service
    from ..store.services import get_service

    with open_store(args.db) as store, store.read() as session:
        return overlay_service(sections, get_service(session, args.service))


def save_if_requested(args: argparse.Namespace, result: Any, sections: dict[str, Any] | None = None) -> None:
    """``--save``: store the command's result (its --json output) with inputs, versions, user and time."""
    if not getattr(args, "save", False):
        return
    _require_store()
    from ..store import open_store
    from ..store.plans import plan_kind, save_plan
    from ..store.services import acting_user

    given = {k: v for k, v in vars(args).items() if k not in SAVE_KEYS and v is not None and v is not False}
    inputs: dict[str, Any] = {"args": json.loads(json.dumps(given, default=str))}
    if sections is not None:
        inputs["sections"] = json.loads(json.dumps(sections, default=str))
    mode = getattr(args, "mode", None) or (sections or {}).get("mode")
    service = getattr(args, "save_service", None) if args.command == "predict" else getattr(args, "service", None)
    with open_store(args.db) as store, store.write() as session:
        plan = save_plan(session, command=args.command, kind=plan_kind(args.command, mode), inputs=inputs,
                         result=result, actor=acting_user(args.actor), service=service)  # fmt: skip
        print(f"gpucast: plan saved as {plan.id} in {store.url}", file=sys.stderr)
