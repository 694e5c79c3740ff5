"""``gpucast serve``: the web app under uvicorn. Imported only when the command runs (FastAPI is heavy)."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError

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


def run_serve(args: argparse.Namespace) -> int:
    """Open the store (migrating it), build the app and serve it until interrupted."""
    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port} must be between 1 and 65535")
    try:
        import uvicorn
    except ImportError as error:
        raise InputError(f"`gpucast serve` needs the [server] extra ({error.name} is missing); "
                         "pip install 'gpucast[server]'") from None  # fmt: skip
    from .app import WebSettings, create_app

    settings = WebSettings(host=args.host, read_token_required=args.read_token_required)
    app = create_app(args.db, settings)
    reads = "need a token" if settings.reads_need_token() else "are open"
    print(f"gpucast: serving {app.state.store.url} on http://{args.host}:{args.port} (API docs at /docs); "
          f"reads {reads}, writes need a token", file=sys.stderr, flush=True)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
