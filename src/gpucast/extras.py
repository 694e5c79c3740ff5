"""The install command for an optional extra, in the form that works where gpucast runs.

A command whose optional packages are missing stops with one line naming what to install. ``pip install
'gpucast[server]'`` is right for an installed package but not for a checkout: there the command runs from the
source tree (``make run`` installs it editable into ``.venv``, or ``PYTHONPATH=src``), and the extra belongs in
that environment, which ``make install`` fills (``pip install -e '.[all]'``). Every such message takes its hint
from :func:`install_hint`, so the two forms are decided in one place.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The repository root when gpucast is imported from a checkout's ``src/gpucast`` (an editable install or
    ``PYTHONPATH=src``); None for an installed package (site-packages, a wheel in a container)."""
    root = PACKAGE.parents[1]
    if PACKAGE.parent.name == "src" and (root / "pyproject.toml").is_file() and (root / "Makefile").is_file():
        return root
    return None


def install_hint(extra: str) -> str:
    """What to run to get ``extra`` ("forecast", "store", "server", ...): ``make install`` in a checkout (with the
    checkout's path when the user is elsewhere), ``pip install 'gpucast[extra]'`` for an installed package."""
    root = checkout_root()
    if root is None:
        return f"pip install 'gpucast[{extra}]'"
    try:
        here = Path.cwd().resolve() == root
    except OSError:  # the working directory was removed
        here = False
    if here:
        return f"run `make install` (or `.venv/bin/pip install -e '.[{extra}]'`)"
    return f"run `make install` in {root} (or `pip install -e '{root}[{extra}]'`)"
