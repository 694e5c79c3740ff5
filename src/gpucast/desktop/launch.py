"""``gpucast desktop``: open the window, or say in one line why it cannot be opened (exit 2).

Kept free of module-level Tk imports: the CLI builds its parser on every start, and a machine without
``python3-tk`` must still run every other command.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    import tkinter

NO_TK = ("the desktop app needs Tk, which this Python lacks (tkinter: {error}); install it (Debian/Ubuntu: "
         "apt-get install python3-tk) or use `gpucast serve` (web) or the CLI")  # fmt: skip
NO_DISPLAY = ("the desktop app needs a display ({error}); run it in a desktop session (or set DISPLAY), or use "
              "`gpucast serve` (web) or the CLI")  # fmt: skip


def add_desktop_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="history database path or SQLAlchemy URL (default $GPUCAST_DATABASE_URL or "
                        "the user file, as `gpucast history`)")  # fmt: skip
    parser.add_argument("--settings", metavar="FILE", help="remembered inputs (default "
                        "$GPUCAST_DESKTOP_SETTINGS or desktop.json in the user's config directory)")  # fmt: skip


def open_root() -> tkinter.Tk:
    """A Tk root window, or InputError naming what is missing (Tk itself, or a display)."""
    try:
        import tkinter
    except ImportError as error:
        raise InputError(NO_TK.format(error=error)) from None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise InputError(NO_DISPLAY.format(error="no $DISPLAY environment variable"))
    try:
        return tkinter.Tk(className="gpucast")
    except tkinter.TclError as error:
        raise InputError(NO_DISPLAY.format(error=str(error).splitlines()[0] if str(error) else "Tk failed")) from None


def run_desktop(args: argparse.Namespace) -> int:
    root = open_root()
    from .app import App

    app = App(root, db=args.db, settings_file=Path(args.settings) if args.settings else None)
    app.root.mainloop()
    return 0
