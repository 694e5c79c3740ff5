"""The ``chat`` command: the guided conversation (issue 9). Keep module-level imports light: the
parser is built on every ``gpucast`` start."""

from __future__ import annotations

import argparse
from typing import Any

COMMANDS: tuple[str, ...] = ()


def register(sub: Any) -> None:
    """Add the ``chat`` sub-command to the parser (``sub`` is argparse's sub-parsers action)."""


def dispatch(args: argparse.Namespace) -> int:
    raise NotImplementedError(args.command)
