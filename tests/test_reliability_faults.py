"""Faults (issue 24, item 3), on real SQLite and real processes: a writer killed with SIGKILL in the middle of its
writes loses no acknowledged write and leaves no partial row, and ``db export`` -> ``db import`` -> ``db export``
gives the same bytes, as does a ``db backup`` copy."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import gpucast_exe

WRITER = """
import sys
from gpucast.store import open_store
from gpucast.store.services import add_user
store = open_store(sys.argv[1])
i = 0
while True:
    with store.write() as session:
        add_user(session, f"user{i}", "requester", f"user{i}")
    print(f"user{i}", flush=True)  # acknowledged: printed only after the commit returned
    i += 1
"""


def kill_writer_midway(target: str) -> list[str]:
    """Run WRITER against ``target`` (a SQLite path or a database URL), SIGKILL it after 40 acknowledged users (in
    the middle of the next transaction) and return every name it acknowledged."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, target], stdout=subprocess.PIPE, text=True)
    acknowledged: list[str] = []
    assert writer.stdout is not None
    deadline = time.monotonic() + 30
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        acknowledged.append(writer.stdout.readline().strip())
    os.kill(writer.pid, signal.SIGKILL)
    acknowledged += [line.strip() for line in writer.stdout if line.strip()]
    writer.wait(timeout=10)
    writer.stdout.close()
    return acknowledged


def test_sigkill_of_a_writer_loses_no_acknowledged_write(tmp_path):
    db = tmp_path / "faults.db"
    acknowledged = kill_writer_midway(str(db))
    assert len(acknowledged) >= 40
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = {row[0] for row in connection.execute("SELECT name FROM users")}
        audited = connection.execute("SELECT COUNT(*) FROM audit_log WHERE entity = 'user'").fetchone()[0]
    assert set(acknowledged) <= names  # every acknowledged write is there
    assert len(names) - len(acknowledged) in (0, 1)  # at most the commit that was not yet acknowledged
    assert audited == len(names)  # no user without its audit row: each transaction is whole or absent


def _gpucast(*argv: str, db: str) -> str:
    done = subprocess.run([*gpucast_exe(), *argv, "--db", db], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_export_import_and_backup_give_byte_for_byte_equal_data(tmp_path):
    db = str(tmp_path / "one.db")
    _gpucast("user", "add", "alice", "--role", "admin", db=db)
    _gpucast("service", "add", "chat", "--team", "ml", "--environment", "prod", "--criticality", "tier1",
             "--cloud", "aws", "--region", "us-east-1", "--as", "alice", db=db)  # fmt: skip
    first, second, copied = tmp_path / "one.json", tmp_path / "two.json", tmp_path / "copy.json"
    _gpucast("db", "export", str(first), db=db)
    _gpucast("db", "import", str(first), db=str(tmp_path / "two.db"))
    _gpucast("db", "export", str(second), db=str(tmp_path / "two.db"))
    _gpucast("db", "backup", str(tmp_path / "backup.db"), db=db)
    _gpucast("db", "export", str(copied), db=str(tmp_path / "backup.db"))
    assert first.read_bytes() == second.read_bytes() == copied.read_bytes()
    assert b'"chat"' in first.read_bytes()
