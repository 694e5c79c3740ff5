"""Regenerate the example outputs in README.md and every docs/ page by running each documented command.

A block is a marker and the fenced code block right after it::

    <!-- run: gpucast models -->
    ```
    ...the command's output, written here...
    ```

`gpucast ...` runs ``python -m gpucast`` of this checkout and `python ...` runs a script with the same interpreter,
from the repository root with 140 columns and no ``GPUCAST_*`` variables, so the text is what a user of this
checkout sees. A marker with a note, ``<!-- run (timings vary): ... -->``, is regenerated but not compared by
``--check``, which does not run it: the note says why (timings that differ from run to run, minutes of fitting).

    python scripts/update_readme.py                  # rewrite every block of README.md and docs/*.md
    python scripts/update_readme.py docs/fine-tune.md
    python scripts/update_readme.py --check          # exit 1 naming each block whose output is stale

Run it after changing the model, catalogs or calibration; tests/test_docs.py runs the check.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(
    r"^(?P<head><!-- run(?: \((?P<note>[^)\n]+)\))?: (?P<cmd>[^\n]+?) -->\n```[a-z]*\n)(?P<body>.*?)(?P<tail>```)",
    re.S | re.M,
)
MARKER = re.compile(r"^<!-- run(?: \([^)\n]+\))?: [^\n]+? -->", re.M)  # at a line's start: indented = quoted


@dataclass(frozen=True)
class Example:
    page: Path
    command: str
    note: str  # why --check skips it ('' when it is checked)
    body: str


def pages() -> list[Path]:
    """README.md and the documentation site's pages."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def examples(page: Path) -> list[Example]:
    text = page.read_text(encoding="utf-8")
    return [Example(page, m.group("cmd"), m.group("note") or "", m.group("body")) for m in BLOCK.finditer(text)]


def orphan_markers(page: Path) -> list[str]:
    """Markers not followed by a code block: their output would never be shown nor checked."""
    text = page.read_text(encoding="utf-8")
    blocks = {m.start() for m in BLOCK.finditer(text)}
    return [m.group(0) for m in MARKER.finditer(text) if m.start() not in blocks]


def argv_of(command: str) -> list[str]:
    argv = shlex.split(command)
    if argv[0] == "gpucast":
        return [sys.executable, "-m", "gpucast", *argv[1:]]
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    raise SystemExit(f"update_readme: {command!r}: a documented command starts with 'gpucast' or 'python'")


def run(command: str) -> str:
    """The command's output as the page shows it: stdout then stderr, trailing blanks stripped."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GPUCAST_")}
    env["COLUMNS"] = "140"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    result = subprocess.run(argv_of(command), capture_output=True, text=True, env=env, check=False, cwd=ROOT)
    text = (result.stdout + result.stderr).rstrip() + "\n"
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def update(page: Path) -> int:
    text = page.read_text(encoding="utf-8")
    new = BLOCK.sub(lambda m: m.group("head") + run(m.group("cmd")) + m.group("tail"), text)
    page.write_text(new, encoding="utf-8")
    return len(BLOCK.findall(text))


AGE = re.compile(r"\b\d+ days old\b")


def _dateless(text: str) -> str:
    """The text with a price's age ("127 days old") blanked: the age grows by one every day, so a page written
    yesterday is still current when only the age moved (the rest of the output is compared exactly)."""
    return AGE.sub("N days old", text)


def stale(example: Example) -> str:
    """A short diff when the page's text is not the command's output now ('' when it is, up to a price's age)."""
    now = run(example.command)
    if _dateless(now) == _dateless(example.body):
        return ""
    diff = difflib.unified_diff(example.body.splitlines(), now.splitlines(), "page", "now", lineterm="", n=1)
    return "\n".join(list(diff)[:40])


def check(selected: list[Path]) -> int:
    problems = 0
    for page in selected:
        name = page.relative_to(ROOT)
        for marker in orphan_markers(page):
            problems += 1
            print(f"{name}: {marker} has no code block after it")
        for example in examples(page):
            if example.note:
                continue
            diff = stale(example)
            if diff:
                problems += 1
                print(f"{name}: `{example.command}` prints something else now:\n{diff}\n")
    if problems:
        print(f"{problems} stale example(s); run `python scripts/update_readme.py` and review the diff")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pages", nargs="*", type=Path, help="pages to update (default: README.md and docs/*.md)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when an example is stale")
    args = parser.parse_args()
    selected = [page.resolve() for page in args.pages] or pages()
    if args.check:
        return check(selected)
    for page in selected:
        count = update(page)
        if count:
            print(f"updated {count} example outputs in {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
