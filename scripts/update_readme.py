"""Regenerate the example outputs in README.md by running each documented command.

Blocks look like::

    <!-- run: gpucast models -->
    ```
    ...output written here...
    ```

Run after changing the model, catalogs or calibration: `.venv/bin/python scripts/update_readme.py`.
tests/test_docs.py checks that every such command still runs.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- run: (?P<cmd>[^\n]+?) -->\n```[a-z]*\n)(?P<body>.*?)(```)", re.S)


def run(command: str) -> str:
    argv = shlex.split(command)
    exe = Path(sys.executable).parent / argv[0]
    env = {**os.environ, "COLUMNS": "140"}
    result = subprocess.run(
        [str(exe), *argv[1:]], capture_output=True, text=True, env=env, check=False, cwd=README.parent
    )
    text = (result.stdout + result.stderr).rstrip() + "\n"
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def main() -> None:
    text = README.read_text(encoding="utf-8")
    new = BLOCK.sub(lambda m: m.group(1) + run(m.group("cmd")) + m.group(4), text)
    README.write_text(new, encoding="utf-8")
    print(f"updated {len(BLOCK.findall(text))} example outputs in {README.name}")


if __name__ == "__main__":
    main()
