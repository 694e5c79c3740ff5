"""``gpucast serve``: the web app under uvicorn. Imported only when the command runs (FastAPI is heavy)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from typing import Any

from ..errors import InputError
from ..extras import install_hint

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_serve_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of ``gpucast serve`` (argparse only: no FastAPI import at parse time)."""
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}: this machine only)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument("--db", help="database path or SQLAlchemy URL (default $GPUCAST_DATABASE_URL or the user file)")
    parser.add_argument(
        "--read-token-required",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="GET endpoints need a token too (default: open on 127.0.0.1/localhost, required on other addresses)",
    )
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    parser.add_argument(
        "--log-format",
        default="json",
        choices=("json", "text"),
        help="json (default): one JSON object per line with a request id per request; text: uvicorn's own lines",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1); planning is CPU-bound, so use about one per core under load",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=100,
        help="requests handled at once per process (default 100); more queue up to 10 s, then get 503 + Retry-After",
    )
    parser.add_argument(
        "--plan-cache-size",
        type=int,
        default=512,
        help="plans and plan pages remembered per process (default 512; 0: none); a repeated question is answered "
        "from memory until the catalogs change",
    )
    parser.add_argument(
        "--plan-processes",
        type=int,
        default=None,
        help="child processes of each server process that compute new plans and plan pages, on other cores than "
        "the server's (default: one per core; 0: in the server's own threads)",
    )


def run_serve(args: argparse.Namespace) -> int:
    """Open the store (migrating it), build the app and serve it until interrupted."""
    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port} must be between 1 and 65535")
    try:
        import uvicorn
    except ImportError as error:
        raise InputError(f"`gpucast serve` needs the [server] extra ({error.name} is missing); "
                         f"{install_hint('server')}") from None  # fmt: skip
    from .app import WebSettings, create_app
    from .offload import tune_interpreter
    from .processes import MAX_PROCESSES, default_count

    if not 1 <= args.workers <= 64:
        raise InputError(f"--workers {args.workers} must be between 1 and 64")
    if not 1 <= args.max_in_flight <= 100_000:
        raise InputError(f"--max-in-flight {args.max_in_flight} must be between 1 and 100000")
    if not 0 <= args.plan_cache_size <= 1_000_000:
        raise InputError(f"--plan-cache-size {args.plan_cache_size} must be between 0 and 1000000")
    plan_processes = default_count() if args.plan_processes is None else args.plan_processes
    if not 0 <= plan_processes <= MAX_PROCESSES:
        raise InputError(f"--plan-processes {plan_processes} must be between 0 and {MAX_PROCESSES}")
    _check_listen(args.host, args.port)
    settings = WebSettings(
        host=args.host,
        read_token_required=args.read_token_required,
        max_in_flight=args.max_in_flight,
        plan_cache_size=args.plan_cache_size,
        plan_processes=plan_processes,
    )
    app = create_app(args.db, settings)  # opens and migrates the store once, before any worker starts
    tune_interpreter()
    reads = "need a token" if settings.reads_need_token() else "are open"
    print(f"gpucast: serving {app.state.store.url} on http://{args.host}:{args.port} (API docs at /docs) with "
          f"{args.workers} worker(s), {plan_processes} plan process(es) each; reads {reads}, writes need a token", file=sys.stderr, flush=True)  # fmt: skip
    logs = _log_options(args)
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, **logs)
        return 0
    # several processes: uvicorn imports the app factory in each; the settings travel in the environment, and all
    # workers share one session secret so a page login made on one worker is valid on the others
    os.environ.update(
        {
            WORKER_ENV["db"]: args.db or "",  # unset: the workers resolve $GPUCAST_DATABASE_URL or the default
            WORKER_ENV["host"]: args.host,
            WORKER_ENV["read_token_required"]: ""
            if args.read_token_required is None
            else str(args.read_token_required),
            "GPUCAST_SESSION_SECRET": os.environ.get("GPUCAST_SESSION_SECRET") or secrets.token_hex(32),
            WORKER_ENV["max_in_flight"]: str(args.max_in_flight),
            WORKER_ENV["plan_cache_size"]: str(args.plan_cache_size),
            WORKER_ENV["plan_processes"]: str(plan_processes),
        }
    )
    uvicorn.run(
        "gpucast.web.serve:worker_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        **logs,
    )
    return 0


def _check_listen(host: str, port: int) -> None:
    """A port in use or a host that is no address of this machine was uvicorn's JSON log line and exit 3 (QA
    2026-12-07), after the store was opened and migrated: one error line and exit 2 instead. The probe binds as
    uvicorn will (IPv6 for a host with ':', SO_REUSEADDR) and closes at once."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:  # gaierror (no such host) is an OSError too
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error} (another server on the port? "
                         "choose --port; --host must be an address of this machine)") from None  # fmt: skip


def _log_options(args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's logging: JSON lines from gpucast's request log (uvicorn's access log off: it would say the same
    in another format), or uvicorn's own text lines."""
    if getattr(args, "log_format", "json") == "text":
        return {"log_level": args.log_level}
    from .observe import json_logging

    return {"log_level": args.log_level, "log_config": json_logging(args.log_level), "access_log": False}


WORKER_ENV = {
    "db": "GPUCAST_SERVE_DB",
    "host": "GPUCAST_SERVE_HOST",
    "read_token_required": "GPUCAST_SERVE_READ_TOKEN_REQUIRED",
    "max_in_flight": "GPUCAST_SERVE_MAX_IN_FLIGHT",
    "plan_cache_size": "GPUCAST_SERVE_PLAN_CACHE_SIZE",
    "plan_processes": "GPUCAST_SERVE_PLAN_PROCESSES",
}


def worker_app() -> Any:
    """The app of one ``--workers`` process, built from the settings ``run_serve`` put in the environment."""
    from .app import WebSettings, create_app
    from .offload import tune_interpreter

    tune_interpreter()
    flag = os.environ.get(WORKER_ENV["read_token_required"], "")
    settings = WebSettings(
        host=os.environ.get(WORKER_ENV["host"], DEFAULT_HOST),
        read_token_required=None if not flag else flag == "True",
        max_in_flight=int(os.environ.get(WORKER_ENV["max_in_flight"]) or 100),
        plan_cache_size=int(os.environ.get(WORKER_ENV["plan_cache_size"]) or 512),
        plan_processes=int(os.environ.get(WORKER_ENV["plan_processes"]) or 0),
    )
    return create_app(os.environ.get(WORKER_ENV["db"]) or None, settings)
