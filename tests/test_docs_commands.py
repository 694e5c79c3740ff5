"""Docs stay honest, beyond the marked examples: every `gpucast ...` line that README.md and docs/*.md show — in a
code block or in inline code — still parses with today's parser, so renaming a flag without the docs fails here.

Usage lines (``[--freq 1h]``, ``NAME|--model-config PATH``) cannot be parsed as they stand: each flag they name must
be a flag of that command. Inline spans without a flag (``gpucast service add``) must name existing commands.
``python scripts/doc_commands.py --run`` runs the offline ones too (minutes, so not here).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import re
import sys
from pathlib import Path

import pytest

from gpucast.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import doc_commands  # noqa: E402  (scripts/ is not a package)

PARSER = build_parser()
COMMANDS = doc_commands.all_commands(doc_commands.subcommand_names())


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    return dict(action.choices) if action else {}


def _command_parser(words: list[str]) -> tuple[argparse.ArgumentParser, list[str]]:
    """The (sub-)parser the leading command words select, and those words (``\\|`` alternatives: the first)."""
    parser, path = PARSER, []
    for word in words:
        choices = _subcommands(parser)
        name = word.replace("\\|", "|").split("|")[0]
        if name not in choices:
            break
        parser, path = choices[name], [*path, name]
    return parser, path


def _parse_error(words: list[str]) -> str:
    """'' when ``gpucast WORDS`` parses; argparse's message when it exits 2."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            PARSER.parse_args(words)
    except SystemExit as stop:
        return (stderr.getvalue().strip() or f"exit {stop.code}") if stop.code else ""
    return ""


INVALID = re.compile(r"invalid (?:[\w.]+ value|choice): '([^']*)'(?: \(choose from '([^']+)')?")


def _parse_with_placeholders(words: list[str]) -> str:
    """:func:`_parse_error` after each placeholder argparse refuses (``--tp T``, ``COMMAND``) is replaced by a valid
    value: its first choice, else 1. A real value it refuses (``--engine vlm``) is still the error."""
    for _ in range(len(words)):
        error = _parse_error(words)
        found = INVALID.search(error)
        if not (found and doc_commands.placeholder(found.group(1))):
            return error
        words = [(found.group(2) or "1") if w == found.group(1) else w for w in words]
    return _parse_error(words)


def _flags(command: doc_commands.Command) -> set[str]:
    """The flags a line names (``--sort=-x``: ``--sort``), shell pipes and comments after it left out."""
    words = command.text.split() if command.synopsis else ["gpucast", *doc_commands.argv(command)]
    if command.synopsis:
        words = doc_commands.SHELL.split(" ".join(words).split(" | ...")[0])[0].split()
    names = {w.split("=")[0].strip("[]()|").replace("\\", "") for w in words[1:]}
    return {name for name in names if re.fullmatch(r"--?[A-Za-z][\w-]*", name)}


def _ids(command: doc_commands.Command) -> str:
    return f"{command.where}:{command.text[:50]}"


def test_the_docs_show_commands_of_every_kind():
    """The extractor finds what the pages hold (a regex that silently matches nothing would pass everything)."""
    kinds = {c.kind for c in COMMANDS}
    assert kinds == {"block", "inline", "name"} and len(COMMANDS) > 150
    assert sum(c.synopsis for c in COMMANDS) >= 5 and any(c.page.name == "README.md" for c in COMMANDS)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.kind != "name" and not c.synopsis], ids=_ids)
def test_documented_command_parses(command):
    """Prose's fragments (``gpucast predict --json``) may leave out a required flag or a flag's value; nothing else."""
    error = _parse_with_placeholders(doc_commands.concrete(doc_commands.argv(command)))
    fragment = re.search(r"arguments are required|expected one argument", error)
    assert not error or (command.partial and fragment), f"{command.where}: `{command.text}` does not parse: {error}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.kind != "name"], ids=_ids)
def test_documented_flags_exist(command):
    """Every flag a line names is one of its command's, spelled out (a usage line or a fragment included)."""
    words = command.text.split()[1:]
    parser, path = _command_parser(words)
    assert path or doc_commands.placeholder(words[0]), f"{command.where}: `{command.text}` names no gpucast command"
    known = {option for action in parser._actions for option in action.option_strings}
    unknown = sorted(_flags(command) - known)
    assert not unknown, f"{command.where}: `{command.text}`: {unknown} are not flags of `gpucast {' '.join(path)}`"
    choices = {option: action.choices for action in parser._actions for option in action.option_strings}
    words = [w.strip("[]()") for w in command.text.replace("\\|", "|").split()]
    for flag, value in itertools.pairwise(words):
        if choices.get(flag) and "|" in value and not value.startswith("-"):  # --period day|week: each a choice
            wrong = [v for v in value.split("|") if v not in choices[flag]]
            assert not wrong, f"{command.where}: `{command.text}`: {flag} takes none of {wrong}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.kind == "name"], ids=_ids)
def test_documented_command_name_exists(command):
    """``gpucast export helm PLAN.json``: every word that could name a (sub-)command does."""
    words = command.text.split()[1:]
    parser, path = _command_parser(words)
    rest = words[len(path) :]
    if rest and _subcommands(parser) and re.fullmatch(r"[a-z][a-z0-9-]*", rest[0]):
        pytest.fail(f"{command.where}: `{command.text}`: {rest[0]!r} is not a command of {path or ['gpucast']}")
    assert path, f"{command.where}: `{command.text}` names no gpucast command"
    for word in words[: len(path)]:  # vllm\|sglang\|trtllm: every alternative
        parent = _command_parser(path[: words.index(word)])[0]
        for alternative in word.replace("\\|", "|").split("|"):
            assert alternative in _subcommands(parent), f"{command.where}: {alternative!r} is not a command"


def test_a_renamed_flag_is_caught():
    """The check can fail: a flag the parser does not know exits 2 and is reported."""
    assert "--rps-typo" in _parse_error(["inference", "--model", "llama-3.1-8b", "--rps-typo", "3"])
    assert _parse_error(["inference", "--model", "llama-3.1-8b", "--rps", "3"]) == ""


def test_the_extractor_reads_blocks_spans_and_skips_generated_output(tmp_path, monkeypatch):
    """Code-block lines (prompt dropped, continuations joined), indented code, inline spans; not a run marker's output."""
    monkeypatch.setattr(doc_commands, "ROOT", tmp_path)
    page = tmp_path / "page.md"
    page.write_text(
        "Run `gpucast models --json` or `estimate --json`, see `gpucast history`.\n\n"
        "```console\n$ gpucast inference --model llama-3.1-8b \\\n    --rps 3   # a comment\n"
        "$ gpucast export k8s slow.json\ngpucast: error: the plan does not meet its latency SLOs\n```\n\n"
        "<!-- run: gpucast gpus -->\n```\ngpucast estimate --not-a-command-line\n```\n\n"
        "    gpucast predict --history FILE [--freq 1h]\n",
        encoding="utf-8",
    )
    found = doc_commands.commands(page, ["estimate", "models"])
    assert [(c.line, c.kind, c.text) for c in found] == [
        (1, "inline", "gpucast models --json"),
        (1, "name", "gpucast history"),
        (1, "inline", "gpucast estimate --json"),
        (4, "block", "gpucast inference --model llama-3.1-8b --rps 3   # a comment"),
        (6, "block", "gpucast export k8s slow.json"),
        (15, "block", "gpucast predict --history FILE [--freq 1h]"),
    ]
    assert found[4].shows_error and found[5].synopsis and not found[3].synopsis
    assert doc_commands.argv(found[3]) == ["inference", "--model", "llama-3.1-8b", "--rps", "3"]
    assert [doc_commands.runnable(c) for c in found] == [True, False, True, True, False, False]
