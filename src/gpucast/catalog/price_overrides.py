"""The local price override file that ``gpucast prices update`` writes and the loader merges over the packaged
catalog. The packaged ``prices.toml`` is never written: it is part of the installed package (and reviewed data).

Where: ``$GPUCAST_PRICES_FILE`` when set, else ``$XDG_DATA_HOME/gpucast/prices.toml`` (``~/.local/share/...``
when XDG_DATA_HOME is unset), the XDG base-directory convention for user data. Same ``[[instances]]`` layout as
the packaged file, plus ``updated_at`` and per-provider ``[sources.<cloud>]`` (which URL, when).
"""

from __future__ import annotations

import errno
import math
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from ..errors import CatalogError

ENV_FILE = "GPUCAST_PRICES_FILE"


def override_path() -> Path:
    """Where the local override file lives (it need not exist)."""
    given = os.environ.get(ENV_FILE)
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "gpucast" / "prices.toml"


def read_override(path: Path | None = None) -> dict[str, Any]:
    """The override file's table, ``{}`` when there is none."""
    path = path or override_path()
    try:
        if path.is_dir():  # `--file DIR` showed the packaged prices alone, without a word
            raise IsADirectoryError(errno.EISDIR, "it is a directory; name a .toml file (it need not exist)")
        if not path.is_file():
            return {}
        text = path.read_text(encoding="utf-8-sig")  # -sig: an editor's byte-order mark ("Invalid statement")
    except (OSError, UnicodeDecodeError) as error:  # OSError: also a name past the system's length (--file)
        reason = getattr(error, "strerror", None) or error  # "File name too long", not "[Errno 36] ...: '<path>'"
        raise CatalogError(f"local price file {str(path)!r} cannot be read: {reason}") from error
    except ValueError:  # a NUL byte in the path
        raise CatalogError(f"local price file {str(path)!r} cannot be read: a path cannot hold a NUL byte") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"local price file {str(path)!r} is not valid TOML: {error}") from error


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise CatalogError(f"cannot write the non-finite price {value!r}")
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def dumps(table: dict[str, Any]) -> str:
    """TOML text for the override file: top-level scalars, ``[sources.<cloud>]`` tables, ``[[instances]]``."""
    lines = ["# gpucast local price overrides, written by `gpucast prices update`; merged over the packaged catalog."]
    for key, value in table.items():
        if key not in ("sources", "instances"):
            lines.append(f"{key} = {_value(value)}")
    for cloud, source in sorted(table.get("sources", {}).items()):
        lines += ["", f'[sources."{cloud}"]']
        lines += [f"{k} = {_value(v)}" for k, v in source.items()]
    for entry in table.get("instances", []):
        lines += ["", "[[instances]]"]
        lines += [f"{k} = {_value(v)}" for k, v in entry.items() if v is not None]
    return "\n".join(lines) + "\n"


def write_override(table: dict[str, Any], path: Path | None = None) -> Path:
    """Write the table atomically (a temporary file renamed into place) and return the path.

    The path is the user's (``--file``, ``$GPUCAST_PRICES_FILE``): a symbolic link is written through to its file
    (the rename replaced the link and left its file stale), and only a regular file or a new name is written. A
    directory was an IsADirectoryError traceback that left the temporary file behind, and a device (``--file
    /dev/null`` as root) would have been replaced by a regular file."""
    path = path or override_path()
    target = path.resolve() if path.is_symlink() else path
    if target.exists() and not target.is_file():
        raise CatalogError(f"local price file {str(path)!r} is not a regular file; name a .toml file to write")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(table)
    tomllib.loads(text)  # what is written must read back
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".prices-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise CatalogError(f"local price file {str(path)!r} cannot be written: {error.strerror}") from None
    return path
