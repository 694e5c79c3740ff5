"""The ``chat`` command: the guided conversation (issue 9). Keep module-level imports light: the
parser is built on every ``gpucast`` start; the conversation itself is imported on dispatch."""

from __future__ import annotations

import argparse
from typing import Any

COMMANDS: tuple[str, ...] = ("chat",)


def register(sub: Any) -> None:
    """Add the ``chat`` sub-command to the parser (``sub`` is argparse's sub-parsers action)."""
    chat = sub.add_parser(
        "chat",
        help="guided conversation: answer plain questions, get an explained plan (default on a terminal)",
        description="Plan capacity by answering questions in plain language. Several answers may be given in one "
        "message; commands: back, help, why, skip, summary, quit. Piped stdin or --script FILE replays answers, "
        "one per line; when they end, remaining questions take their defaults and the plan is printed.",
    )
    chat.add_argument(
        "--script",
        metavar="FILE",
        help="replay answers from FILE, one per line ('-' = stdin; '#' starts a comment; a blank line = default)",
    )
    from ..console.flags import add_save_flags

    add_save_flags(chat, service_flag=False)


def dispatch(args: argparse.Namespace) -> int:
    from ..chat.run import run_chat

    return run_chat(args)
