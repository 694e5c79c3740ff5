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
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1); planning is CPU-bound, so use about one per core under load",
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

    if not 1 <= args.workers <= 64:
        raise InputError(f"--workers {args.workers} must be between 1 and 64")
    settings = WebSettings(host=args.host, read_token_required=args.read_token_required)
    app = create_app(args.db, settings)  # opens and migrates the store once, before any worker starts
    reads = "need a token" if settings.reads_need_token() else "are open"
    print(f"gpucast: serving {app.state.store.url} on http://{args.host}:{args.port} (API docs at /docs) with "
          f"{args.workers} worker(s); reads {reads}, writes need a token", file=sys.stderr, flush=True)  # fmt: skip
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
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
        }
    )
    uvicorn.run(
        "gpucast.web.serve:worker_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        workers=args.workers,
    )
    return 0


WORKER_ENV = {
    "db": "GPUCAST_SERVE_DB",
    "host": "GPUCAST_SERVE_HOST",
    "read_token_required": "GPUCAST_SERVE_READ_TOKEN_REQUIRED",
}


def worker_app() -> Any:
    """The app of one ``--workers`` process, built from the settings ``run_serve`` put in the environment."""
    from .app import WebSettings, create_app

    flag = os.environ.get(WORKER_ENV["read_token_required"], "")
    settings = WebSettings(
        host=os.environ.get(WORKER_ENV["host"], DEFAULT_HOST), read_token_required=None if not flag else flag == "True"
    )
    return create_app(os.environ.get(WORKER_ENV["db"]) or None, settings)
