"""Docs stay honest: every command has help and is in the README; README examples still run."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import gpucast_exe
from gpucast.cli.main import build_parser

README_DIR = Path(__file__).resolve().parents[1]
README = (README_DIR / "README.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"<!-- run: (gpucast .+?) -->", README)


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices, {a.dest: a.help for a in action._choices_actions}


def test_every_command_has_help_and_is_documented():
    choices, helps = _subcommands()
    for name in choices:
        assert helps.get(name), f"{name} has no help text"
        assert f"gpucast {name}" in README, f"gpucast {name} missing from README"


def test_readme_starts_with_the_two_setup_commands():
    setup = README.index("make run")
    assert setup < README.index("## Commands") and "make test" in README[setup : setup + 300]


@pytest.mark.parametrize("command", EXAMPLES)
def test_readme_examples_run(command):
    argv = shlex.split(command)[1:]
    result = subprocess.run([*gpucast_exe(), *argv], capture_output=True, text=True, timeout=120, cwd=README_DIR)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
