"""Argument parsers of the database commands and the ``--save``/``--service`` flags of the planning commands
(handlers: ``store_commands.py``)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from ..console.flags import token_count

__all__ = ["ACTIONS", "register"]

ACTIONS = ("submit", "approve", "reject", "provision")


def _when(value: str) -> datetime:
    """A --since/--until moment; argparse named a refused one "invalid _when value" (this function's name)."""
    from ..errors import InputError
    from ..store.metrics import parse_timestamp

    try:
        return parse_timestamp(value, 0)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("row 0: ") + " (e.g. 2026-12-01T13:00:00Z)") from None


def _db_flags(nested: bool = False) -> argparse.ArgumentParser:
    """--db, --as and --json. ``nested``: for a sub-action of a command that has them too (``history show``), whose
    own defaults must not overwrite what was given before the action (``history --db FILE show 1`` read the
    default database), so they are set only when given there."""
    common = argparse.ArgumentParser(add_help=False)
    unset = argparse.SUPPRESS if nested else None
    common.add_argument("--db", default=unset, help="database: a SQLite file path or a SQLAlchemy URL (default "
                        "$GPUCAST_DATABASE_URL or ~/.local/share/gpucast/gpucast.db)")  # fmt: skip
    common.add_argument("--as", dest="actor", metavar="USER", default=unset,
                        help="act as this user (default: the OS user)")  # fmt: skip
    common.add_argument("--json", action="store_true", default=unset or False, help="print JSON")
    return common


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
    parser.add_argument("--input-tokens", type=token_count, help="average input tokens per request")
    parser.add_argument("--output-tokens", type=token_count, help="average output tokens per request")
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
    plan.add_argument("--input-tokens", type=token_count, help="input tokens per request (default: service or metrics)")
    plan.add_argument(
        "--output-tokens", type=token_count, help="output tokens per request (default: service or metrics)"
    )
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
    nested = _db_flags(nested=True)
    history_actions.add_parser("show", parents=[nested], help="one plan in full").add_argument("id", type=int)
    diff = history_actions.add_parser("diff", parents=[nested], help="fields that differ between two plans")
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
    made.add_argument("--scope", action="append", metavar="SCOPE",
                      help="what the token may do: read, plan, write, approve, admin (repeat or comma-separate; "
                           "default: all the user's role allows)")  # fmt: skip
    made.add_argument("--expires-days", type=float, metavar="DAYS", help="the token stops working after DAYS days "
                      "(default: never)")  # fmt: skip
    tokens.add_parser("list", parents=[common], help="list tokens (prefix only)").add_argument("--user")
    tokens.add_parser("revoke", parents=[common], help="revoke a token by id").add_argument("id", type=int)
    tokens.add_parser("rotate", parents=[common], help="revoke a token and print its successor (same user, "
                      "scopes and lifetime; shown once)").add_argument("id", type=int)  # fmt: skip

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
