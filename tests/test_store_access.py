"""A SQLite database this user may not write says which path and why, in one line (not SQLite's bare "unable to
open database file" / "attempt to write a readonly database"). Permission bits do not bind root, so as root the
command runs without capabilities (``setpriv --bounding-set=-all``): still root, the files' owner, so it reads the
checkout wherever it lies (a clean clone under a private temporary folder that ``nobody`` cannot enter), but bound by
the owner's permission bits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
ADD = ["service", "add", "s", "--team", "t", "--environment", "dev", "--criticality", "tier3", "--cloud", "aws",
       "--region", "us-east-1"]  # fmt: skip


def _gpucast(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permission bits cannot be tested")
        prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
        if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
            pytest.skip("running as root and capabilities cannot be dropped: permission bits cannot be tested")
    env = {**os.environ, "PYTHONPATH": SRC, "HOME": str(home), "XDG_DATA_HOME": str(home)}
    env.pop("GPUCAST_DATABASE_URL", None)
    return subprocess.run([*prefix, sys.executable, "-m", "gpucast", *args], capture_output=True, text=True,
                          env=env, cwd=str(home), timeout=120)  # fmt: skip


@pytest.fixture
def dirs():
    root = Path(tempfile.mkdtemp(prefix="gpucast-access-"))  # not tmp_path: its parent is private to root
    home = root / "home"
    home.mkdir()
    locked = root / "locked"
    locked.mkdir()
    for path in (root, home, locked):
        path.chmod(0o777)
    yield home, locked
    locked.chmod(0o755)
    shutil.rmtree(root)


def test_a_new_database_in_a_read_only_folder_names_the_folder(dirs):
    home, locked = dirs
    locked.chmod(0o555)
    result = _gpucast([*ADD, "--db", str(locked / "new.db")], home)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"its folder {str(locked)!r} is not writable" in result.stderr and "new.db-wal" in result.stderr


def test_an_existing_database_in_a_read_only_folder_names_the_folder(dirs):
    home, locked = dirs
    made = _gpucast([*ADD, "--db", str(locked / "x.db")], home)
    assert made.returncode == 0, made.stderr
    for side in ("x.db-wal", "x.db-shm"):
        (locked / side).unlink(missing_ok=True)
    (locked / "x.db").chmod(0o666)  # the file is writable; only its folder is not
    locked.chmod(0o555)
    result = _gpucast(["service", "list", "--db", str(locked / "x.db")], home)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"its folder {str(locked)!r} is not writable" in result.stderr and "x.db-shm" in result.stderr


def test_a_read_only_database_file_is_named(dirs):
    home, locked = dirs
    made = _gpucast([*ADD, "--db", str(locked / "x.db")], home)
    assert made.returncode == 0, made.stderr
    locked.chmod(0o777)
    (locked / "x.db").chmod(0o444)
    result = _gpucast([*ADD[:2], "s2", *ADD[3:], "--db", str(locked / "x.db")], home)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"the file {str(locked / 'x.db')!r} is read-only" in result.stderr
