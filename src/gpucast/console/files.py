"""Files the terminal front-ends write (``--output``, the conversation's ``json``/``markdown``): atomic writes.

Shared by the CLI and the conversation, so neither reaches into the other for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError


def write_json(path: str, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def write_text(path: str, text: str) -> None:
    """Write atomically (temp file + rename) so a failed write never leaves half a file.

    The rename replaces what is at the path, so it goes to the file a symbolic link names (renaming over the link
    cut it from its file), and a path that is not a regular file (``/dev/stdout``, a FIFO) is written in place: a
    rename over ``/dev/full`` by root had replaced the device with a regular file."""
    target = Path(path)
    try:
        if target.exists() and not target.is_file():  # a device or a FIFO: nothing to keep whole, write through
            with target.open("w", encoding="utf-8") as handle:
                handle.write(text)
            return
        target = target.resolve() if target.is_symlink() else target
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
        except OSError:  # a full disk: the partial temporary file must not stay beside the output
            tmp.unlink(missing_ok=True)
            raise
    except OSError as error:
        raise InputError(f"--output {path!r} cannot be written: {error.strerror}") from error
    except ValueError:  # a NUL byte in the path: a ValueError traceback from export and report before
        raise InputError(f"--output {path!r} cannot be written: a path cannot hold a NUL byte") from None
