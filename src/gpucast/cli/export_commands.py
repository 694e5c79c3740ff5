"""The ``export`` and ``report`` commands (issue 10). Keep module-level imports light: the parser is
built on every ``gpucast`` start."""

from __future__ import annotations

import argparse
from typing import Any

COMMANDS: tuple[str, ...] = ()


def register(sub: Any) -> None:
    """Add the ``export`` and ``report`` sub-commands to the parser."""


def dispatch(args: argparse.Namespace) -> int:
    raise NotImplementedError(args.command)
