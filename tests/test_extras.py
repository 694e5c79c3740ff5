"""The "install gpucast[...]" hints name a command that works where gpucast runs: `make install` in a checkout,
pip's extras syntax for an installed package (issue 23: from a checkout the pip form installed nothing usable)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gpucast import extras

ROOT = Path(__file__).resolve().parents[1]


def test_this_checkout_is_recognised():
    assert extras.checkout_root() == ROOT


def test_checkout_hint_in_the_checkout_and_elsewhere(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert extras.install_hint("server") == "run `make install` (or `.venv/bin/pip install -e '.[server]'`)"
    monkeypatch.chdir(tmp_path)
    hint = extras.install_hint("store")
    assert hint == f"run `make install` in {ROOT} (or `pip install -e '{ROOT}[store]'`)"


def test_installed_package_hint(tmp_path, monkeypatch):
    """A package in site-packages (no src/ folder, no pyproject.toml and Makefile beside it) gets pip's form."""
    site = tmp_path / "lib" / "python3.11" / "site-packages" / "gpucast"
    site.mkdir(parents=True)
    monkeypatch.setattr(extras, "PACKAGE", site)
    assert extras.checkout_root() is None
    assert extras.install_hint("forecast") == "pip install 'gpucast[forecast]'"


def test_a_src_folder_without_the_project_files_is_not_a_checkout(tmp_path, monkeypatch):
    package = tmp_path / "src" / "gpucast"
    package.mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    monkeypatch.setattr(extras, "PACKAGE", package)
    assert extras.checkout_root() is None


def test_serve_without_its_extra_names_make_install_from_a_checkout():
    """The real CLI in a child interpreter where uvicorn cannot be imported: one line, exit 2, the checkout's hint."""
    script = "import sys; sys.modules['uvicorn'] = None; from gpucast.cli.main import main; sys.exit(main(['serve']))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "needs the [server] extra (uvicorn is missing); run `make install`" in result.stderr


def test_database_command_without_its_extra_names_make_install(tmp_path):
    script = (
        "import sys; sys.modules['sqlalchemy'] = None; from gpucast.cli.main import main; "
        "sys.exit(main(['service', 'list', '--db', sys.argv[1]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "x.db")], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "run `make install` (or `.venv/bin/pip install -e '.[store]'`)" in result.stderr
