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
    """Write atomically (temp file + rename) so a failed write never leaves half a file."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as error:
        raise InputError(f"--output {path!r} cannot be written: {error.strerror}") from error
