"""Every ``gpucast`` command's flags fuzzed with Hypothesis (issue 24, item 2), in-process for speed.

The commands and their flags are read from the real parser (:func:`gpucast.cli.main.build_parser`), so a new
command or flag is fuzzed without touching this file. Each example is a command path plus random flags, each
flag with a value drawn from its choices, from numbers at and past the edges (negative, zero, huge, nan, inf), or
from arbitrary text; sometimes an unknown flag or a stray positional. ``main(argv)`` must then return or exit with
a status, print no traceback, and a non-zero status must come with a one-line ``gpucast: error: ...`` message
(status 2 and no message at all is how argparse's ``--help`` would end, which is drawn away).

The commands that start something long-lived (``serve``, ``desktop``, ``chat``) and the one that downloads
(``prices update``) are only parsed; everything else runs, against a database and a working folder in a temp
directory.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gpucast.cli.main import build_parser, main

PARSE_ONLY = {("serve",), ("desktop",), ("chat",), ("prices", "update")}
NUMBERS = ["0", "-1", "1", "3", "1e308", "-1e308", "nan", "inf", "-inf", "1.5", "99999999999999999999", "0x10", "",
           " ", "1_000"]  # fmt: skip
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


def commands() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every leaf command of the parser, by its path (``("service", "add")``)."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs and path:
            found[path] = parser
        for action in subs:
            for name, child in action.choices.items():
                walk(child, (*path, name))

    walk(build_parser(), ())
    return found


COMMANDS = commands()


def value_for(action: argparse.Action) -> st.SearchStrategy[str]:
    if action.choices:
        return st.sampled_from([str(c) for c in action.choices]) | TEXT
    return st.sampled_from(NUMBERS) | TEXT | st.sampled_from(["llama-3.1-8b", "H100", "aws", "FP8", "prod", "x.json"])


@st.composite
def argv_for(draw: st.DrawFn, path: tuple[str, ...]) -> list[str]:
    parser = COMMANDS[path]
    flags = [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
    flags = [a for a in flags if not isinstance(a, argparse._VersionAction)]
    positionals = [a for a in parser._actions if not a.option_strings]
    argv = list(path)
    for action in positionals:
        argv.append(draw(value_for(action)))
    for action in draw(st.lists(st.sampled_from(flags), max_size=6, unique_by=id)) if flags else []:
        argv.append(draw(st.sampled_from(action.option_strings)))
        if action.nargs != 0:
            count = {None: 1, "?": draw(st.integers(0, 1)), "*": draw(st.integers(0, 2)), "+": draw(st.integers(1, 2))}
            for _ in range(count.get(action.nargs, action.nargs if isinstance(action.nargs, int) else 1)):
                argv.append(draw(value_for(action)))
    if draw(st.integers(0, 9)) == 0:
        argv.append(draw(st.sampled_from(["--no-such-flag", "stray", "--", "-x"])))
    return argv


def run(argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` in-process: its status (an exit's or the return value) and what it wrote to stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    return int(status or 0), err.getvalue()


def parse_only(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(argv)
            status = 0
        except SystemExit as exit_:
            status = int(exit_.code or 0)
    return status, err.getvalue()


@pytest.fixture(autouse=True)
def sandbox(tmp_path, monkeypatch):
    """A database, user data folder and working folder of this test's own; stdin is empty (no prompt waits)."""
    monkeypatch.setenv("GPUCAST_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    (tmp_path / "x.json").write_text('{"workload": {"requests_per_second": 1}}')
    yield tmp_path


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_random_flags_never_give_a_traceback(path, sandbox):
    @settings(max_examples=int(os.environ.get("GPUCAST_FUZZ_EXAMPLES", "12")), deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(argv=argv_for(path))
    def fuzz(argv: list[str]) -> None:
        if "--help" in argv or "-h" in argv:
            return
        status, err = (parse_only if path in PARSE_ONLY else run)(argv)
        assert "Traceback" not in err, (argv, err)
        if status != 0:
            lines = [line for line in err.splitlines() if line.strip()]
            assert lines, (argv, status, "a failure without a message")
            errors = [line for line in lines if "error:" in line]
            assert len(errors) == 1 and "\n" not in errors[0], (argv, err)
            assert status in (1, 2), (argv, status)  # 2: bad input; 1: the documented "no plan" / failed check

    fuzz()


def test_every_command_is_fuzzed():
    assert len(COMMANDS) >= 40 and ("service", "add") in COMMANDS and ("export", "k8s") in COMMANDS
