"""Docs stay honest: every command is in the README, every example output is what the command prints today, and the
documentation site builds with MkDocs in strict mode (broken links, missing or unlisted pages fail)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpucast.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
sys.path.insert(0, str(ROOT / "scripts"))
import update_readme  # noqa: E402  (scripts/ is not a package)

EXAMPLES = [example for page in update_readme.pages() for example in update_readme.examples(page)]


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


def test_readme_fits_a_newcomer():
    """The README is a front page (about 200 lines with its examples); the rest lives in docs/."""
    assert len(README.splitlines()) <= 260
    for stale in ("exits 2 saying so", "training planner lands", "this machine", "2-core", "../shared"):
        assert stale not in README, stale


def test_readme_links_to_the_docs():
    """The README's links into docs/ point at pages that exist (GitHub renders them without the site)."""
    for target in ("docs/install.md", "docs/accuracy.md", "docs/plan-deployment.md", "docs/architecture.md"):
        assert f"]({target}" in README and (ROOT / target).is_file(), target


def test_no_marker_without_its_output():
    """A `<!-- run: ... -->` marker is followed by the block its output goes into."""
    orphans = {str(page.relative_to(ROOT)): update_readme.orphan_markers(page) for page in update_readme.pages()}
    assert not {page: found for page, found in orphans.items() if found}


def test_examples_cover_the_main_commands():
    commands = {example.command.split()[1] for example in EXAMPLES if example.command.startswith("gpucast ")}
    assert {"inference", "compare", "training", "estimate", "predict", "export", "chat", "validate"} <= commands


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if not e.note],
    ids=lambda e: f"{e.page.name}:{e.command[:60]}",
)
def test_example_output_is_current(example):
    """The page shows exactly what the command prints now (`python scripts/update_readme.py` regenerates it)."""
    diff = update_readme.stale(example)
    assert not diff, f"{example.page.name}: run `python scripts/update_readme.py` ({example.command}):\n{diff}"


def test_update_script_check_mode_fails_on_a_stale_page(tmp_path, monkeypatch):
    """--check exits 1 and names the page when an output was edited by hand, and leaves the page unchanged."""
    page = tmp_path / "page.md"
    page.write_text("<!-- run: gpucast models -->\n```\nnot the catalog\n```\n", encoding="utf-8")
    monkeypatch.setattr(update_readme, "ROOT", tmp_path)
    assert update_readme.check([page]) == 1
    assert "not the catalog" in page.read_text(encoding="utf-8")
    update_readme.update(page)
    assert "llama-3.1-70b" in page.read_text(encoding="utf-8") and update_readme.check([page]) == 0


def test_a_price_age_that_moved_with_the_calendar_is_not_stale():
    """A page written yesterday stays current when only "N days old" moved; any other change is still a difference."""
    yesterday = "Prices as of 2026-08 (126 days old); 12 GPUs"
    assert update_readme._dateless(yesterday) == update_readme._dateless(yesterday.replace("126", "127"))
    assert update_readme._dateless(yesterday) != update_readme._dateless(yesterday.replace("12 GPUs", "13 GPUs"))


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs is not installed (the [docs] extra)")
def test_documentation_site_builds_strict(tmp_path):
    """`mkdocs build --strict`, as `make lint` runs it: a warning (broken link, page missing from the nav) fails."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "accuracy" / "index.html").is_file()
