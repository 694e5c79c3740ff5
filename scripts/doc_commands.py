"""Every `gpucast ...` command line that README.md and docs/*.md show, and a check that each still works.

Only the commands behind ``<!-- run: ... -->`` markers are re-run by ``scripts/update_readme.py``; the others (in
fenced or indented code blocks, and inline code with a flag) could go stale unnoticed when a flag is renamed.
``tests/test_docs_commands.py`` parses every one with the current parser (fast); this script also runs them::

    python scripts/doc_commands.py          # list what the docs show: page:line  kind  command
    python scripts/doc_commands.py --run    # run the offline ones in a temporary directory; exit 1 naming failures

``--run`` works in one temporary directory (with ``data``, ``docs``, ``src`` and ``tests`` of this checkout linked
in), page after page in order, so a file one command writes (``--output plan.json``) or a user it adds is there
for the next; the database, the price file and the user's directories all point into it. The docs' stand-in files
(``traffic.csv``) become the checkout's samples (:data:`FILES`). It skips usage lines, elided (``...``) and
placeholder (``N``, ``PLAN.json``) commands, what is shown failing on purpose, and what needs a network, a window,
a terminal or minutes (``serve``, ``desktop``, ``chat`` without ``--script``, ``prices update``, dask).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from update_readme import MARKER  # the block after a marker is update_readme's generated output (scripts/ on sys.path)

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE = re.compile(r"(?<!`)`(gpucast [^`]+?)`(?!`)")
CONTINUED = re.compile(r"^\s+[-\[(]")  # a usage line's next line: indented, starting with a flag or [--flag]
FLAG = re.compile(r"(?:^|[\s\[(|])--?[A-Za-z]")
SYNOPSIS = re.compile(r"[\[(]|<[A-Za-z.]|\S\|\S")  # [optional], (a | b), <placeholder>, a|b: a usage line
SHELL = re.compile(r"\s(?:\|\|?|&&|>>?|;|#)\s")  # where the gpucast part of a shell line ends
OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&"}
# Names the docs use for the user's own files, and the checkout's file that stands in for each.
FILES = {
    "traffic.csv": "docs/sample-traffic.csv",
    "answers.txt": "docs/chat-answers.txt",
    "SERVICES.csv": "docs/sample-fleet-services.csv",
    "requests.csv": "data/benchmarks/percentiles/lengths/accelmark_sharegpt_standard_v1_first150.csv",
}
OFFLINE_SKIP = ("serve", "desktop", "prices update", "--backend dask", "--scheduler")


@dataclass(frozen=True)
class Command:
    page: Path
    line: int
    kind: str  # "block" (a code block's line), "inline" (a code span with a flag) or "name" (a span without one)
    text: str  # as the page shows it, continuation lines joined
    shows_error: bool = False  # the block shows it failing (``gpucast: error: ...`` on the next line)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def synopsis(self) -> bool:
        """A usage line (``[--freq 1h]``, ``NAME|--model-config PATH``): its flags are checked, not parsed."""
        return bool(SYNOPSIS.search(SHELL.split(self.text)[0]))

    @property
    def partial(self) -> bool:
        """Prose's ``gpucast predict --json`` or an elided ``gpucast inference ... --pricing spot``: not the whole
        command (a required flag may be left out)."""
        return self.kind != "block" or "..." in self.text.split()


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def commands(page: Path, names: Iterable[str] = ()) -> list[Command]:
    """The page's gpucast command lines in order: code-block lines (``$ `` prompt dropped, ``\\`` lines joined) and
    inline code spans that start with ``gpucast `` — or with one of ``names`` (the sub-commands) and name a flag:
    prose's ``estimate --json`` reads as ``gpucast estimate --json``. Generated output blocks (after a run marker)
    are not read."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Command] = []
    prose: list[tuple[int, str]] = []  # (line number, text) outside code blocks, for the inline spans
    fenced = generated = False
    i = 0
    while i < len(lines):
        line, number = lines[i], i + 1
        i += 1
        if FENCE.match(line):
            generated = not fenced and i >= 2 and bool(MARKER.match(lines[i - 2]))
            fenced = not fenced
            continue
        code = line.strip().removeprefix("$ ")
        if (fenced and not generated) or (not fenced and line.startswith("    ")):
            if code.startswith("gpucast "):
                while i < len(lines) and (code.endswith("\\") or CONTINUED.match(lines[i])):
                    code = code.removesuffix("\\").rstrip() + " " + lines[i].strip()
                    i += 1
                error = i < len(lines) and lines[i].strip().startswith("gpucast: error")
                found.append(Command(page, number, "block", code, error))
        elif not fenced:
            prose.append((number, line))
    text = "\n".join(line for _, line in prose)
    starts = [0]
    for _, line in prose:
        starts.append(starts[-1] + len(line) + 1)
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    bare = re.compile(rf"(?<!`)`((?:{alternatives}) [^`]*?--[^`]*)`(?!`)")
    spans = [(m.start(), " ".join(m.group(1).split())) for m in INLINE.finditer(text)]
    spans += [(m.start(), "gpucast " + " ".join(m.group(1).split())) for m in bare.finditer(text)] if names else []
    for start, span in spans:
        row = next(k for k in range(len(prose)) if starts[k + 1] > start)
        found.append(Command(page, prose[row][0], "inline" if FLAG.search(span) else "name", span))
    return sorted(found, key=lambda c: c.line)


def all_commands(names: Iterable[str] = ()) -> list[Command]:
    return [command for page in pages() for command in commands(page, names)]


def subcommand_names() -> list[str]:
    """``gpucast``'s sub-commands, from this checkout's parser."""
    sys.path.insert(0, str(ROOT / "src"))
    from gpucast.cli.main import build_parser

    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def argv(command: Command) -> list[str]:
    """The words after ``gpucast``, up to the first shell operator (a pipe, a redirection), ``...`` dropped."""
    lexer = shlex.shlex(command.text, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    words: list[str] = []
    for word in lexer:
        if word in OPERATORS:
            break
        if word != "...":
            words.append(word)
    assert words[0] == "gpucast", command
    return words[1:]


def concrete(words: list[str]) -> list[str]:
    """``words`` with the docs' stand-in file names replaced by files of this checkout."""
    return [FILES.get(word, word) for word in words]


def placeholder(word: str) -> bool:
    """A stand-in the reader replaces (``N``, ``NAME``, ``PLAN.json``, ``<peak RPS>``): nothing to run as is."""
    return word not in FILES and bool(re.fullmatch(r"[A-Z]+(\.[a-z]+)?|<.*>", word.split("=")[-1]))


def runnable(command: Command) -> bool:
    """Offline, quick, complete (no ``...``, no placeholder) and not shown failing on purpose."""
    words = argv(command)
    if command.kind == "name" or command.synopsis or command.shows_error or "..." in command.text.split():
        return False
    text = f" {' '.join(words)} "
    if any(placeholder(w) for w in words) or any(f" {skip} " in text for skip in OFFLINE_SKIP):
        return False
    return not (words[0] == "chat" and "--script" not in words)


def _environment(work: Path) -> dict[str, str]:
    """No ``GPUCAST_*`` of the caller; database, price file and the user's directories inside ``work``."""
    home = work / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPUCAST_")}
    return env | {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
                  "XDG_CACHE_HOME": str(home / "cache"), "GPUCAST_DATABASE_URL": str(work / "gpucast.db"),
                  "GPUCAST_PRICES_FILE": str(home / "prices.toml"), "COLUMNS": "140",
                  "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))}  # fmt: skip


def run_all(selected: list[Command], timeout: float) -> int:
    """Run each runnable command in page order in one directory (database.md adds the users server.md's tokens
    belong to); print and count the ones that exit non-zero or print a traceback. A fragment of prose
    (``gpucast inference --json``) that stops for a missing input (exit 2) is listed, not counted."""
    failures = 0
    with tempfile.TemporaryDirectory(prefix="doc-commands-") as tmp:
        work = Path(tmp)
        for name in ("data", "docs", "tests", "src"):
            (work / name).symlink_to(ROOT / name)
        env = _environment(work)
        for command in selected:
            if not runnable(command):
                print(f"skip  {command.where}  {command.text}")
                continue
            words = concrete(argv(command))
            try:
                result = subprocess.run([sys.executable, "-m", "gpucast", *words], capture_output=True, text=True,
                                        env=env, cwd=work, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip
            except subprocess.TimeoutExpired:
                failures += 1
                print(f"SLOW  {command.where}  {shlex.join(words)}  (over {timeout:.0f} s)")
                continue
            output = result.stdout + result.stderr
            status = "ok   " if result.returncode == 0 else "FAIL "
            if "Traceback" in output:
                status = "FAIL "
            elif result.returncode == 2 and command.partial:
                status = "frag "
            print(f"{status} {command.where}  {shlex.join(words)}  (exit {result.returncode})")
            if status == "FAIL ":
                failures += 1
            if status != "ok   ":
                print("      " + "\n      ".join(output.strip().splitlines()[-6:]))
    print(f"{failures} failing documented command(s)")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", action="store_true", help="run the offline commands; exit 1 when one fails")
    parser.add_argument("--timeout", type=float, default=180, help="seconds a command may take (default 180)")
    parser.add_argument("pages", nargs="*", type=Path, help="pages to read (default: README.md and docs/*.md)")
    args = parser.parse_args()
    names = subcommand_names()
    selected = [c for page in ([p.resolve() for p in args.pages] or pages()) for c in commands(page, names)]
    if args.run:
        return run_all(selected, args.timeout)
    for command in selected:
        print(f"{command.where:32} {command.kind:6} {command.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
