"""The desktop's remembered inputs: one small JSON file in the user's config directory.

``$GPUCAST_DESKTOP_SETTINGS`` names the file outright (tests point it into a temporary directory); otherwise it is
``desktop.json`` under ``$XDG_CONFIG_HOME/gpucast`` (``~/.config/gpucast``), or ``%APPDATA%\\gpucast`` on Windows,
the XDG base directory convention the store's database file follows too. A missing or unreadable file is no
settings, never an error: remembering inputs is a convenience.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ENV_VAR = "GPUCAST_DESKTOP_SETTINGS"


def settings_path() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "gpucast" / "desktop.json"


def load_settings(path: Path | None = None) -> dict[str, Any]:
    """The remembered settings (form values by tab, the last files), or {} when there are none."""
    try:
        data = json.loads((path or settings_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_settings(settings: dict[str, Any], path: Path | None = None) -> bool:
    """Write the settings (False when the directory cannot be written: the app goes on without remembering)."""
    target = path or settings_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(target)
    except OSError:
        return False
    return True


def form_values(settings: dict[str, Any], tab: str) -> dict[str, str]:
    """A tab's remembered text values (only strings: a hand-edited file cannot put other types in a form)."""
    values = settings.get(tab)
    if not isinstance(values, dict):
        return {}
    return {str(k): v for k, v in values.items() if isinstance(v, str)}
