"""The layers of pyproject.toml's [tool.importlinter] hold: adapters -> application -> catalog/core, adapters use
each other only where the contract says so, and no package or module imports one that imports it back."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    from importlinter.cli import lint_imports

    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out


def test_the_old_documented_timeline_path_is_the_planning_one() -> None:
    import gpucast.capacity_timeline as old
    from gpucast.planning import timeline

    for name in old.__all__:
        assert getattr(old, name) is getattr(timeline, name)


def test_the_architecture_picture_is_the_scripts_output() -> None:
    """docs/architecture.md is generated from the contract and the real imports, never edited by hand."""
    import subprocess
    import sys

    script = ROOT / "scripts" / "draw_layers.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
