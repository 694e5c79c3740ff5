"""The store's database layer on real SQLite (tmp dir) and a real PostgreSQL server started here.

PostgreSQL: the session starts a throwaway cluster (initdb + pg_ctl) in a temp dir on a free port; as root it
runs the server as ``nobody`` (PostgreSQL refuses root). Tests skip PostgreSQL — saying why — only when the
server binaries are absent (CI installs Debian's ``postgresql`` package, see .ci/run).
Other store test modules import ``db_url``/``store`` from here.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import free_port
from gpucast.errors import StoreConflictError, StoreError
from gpucast.store import open_store, resolve_url
from gpucast.store.db import HEAD, current_revision, default_path

BACKENDS = ["sqlite", "postgresql"]
_PG: dict[str, object] = {}


def pg_bin_dir() -> Path | None:
    candidates = [shutil.which("pg_ctl"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)]
    for candidate in candidates:
        if candidate and Path(candidate).resolve().with_name("initdb").exists():
            return Path(candidate).resolve().parent
    return None


def pg_server_url() -> str:
    """Base URL of this session's PostgreSQL server (started on first use, stopped at exit)."""
    if "url" in _PG:
        return str(_PG["url"])
    if "skip" in _PG:
        pytest.skip(str(_PG["skip"]))
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        _PG["skip"] = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        pytest.skip(str(_PG["skip"]))
    base = Path(tempfile.mkdtemp(prefix="gpucast-pg-"))
    base.chmod(0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(base, "nobody")
        prefix = ["runuser", "-u", "nobody", "--"]
    data, port = base / "data", free_port()
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "gpucast", "-A", "trust", "--no-sync",
                    "-E", "UTF8"], check=True, capture_output=True)  # fmt: skip
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o", options,
                    "start"], check=True, capture_output=True)  # fmt: skip

    def stop() -> None:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)

    atexit.register(stop)
    _PG["url"] = f"postgresql+psycopg://gpucast@127.0.0.1:{port}"
    _PG["n"] = 0
    return str(_PG["url"])


def new_database_url(backend: str, tmp_path: Path) -> str:
    """A fresh, empty database of the backend: a file in tmp_path or a new PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'gpucast.db'}"
    base = pg_server_url()
    _PG["n"] = int(str(_PG["n"])) + 1
    name = f"t{os.getpid()}_{_PG['n']}_{int(time.time() * 1000) % 100000}"
    from sqlalchemy import create_engine

    engine = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{base}/{name}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_database_url(request.param, tmp_path)


@pytest.fixture
def store(db_url: str):
    with open_store(db_url) as opened:
        yield opened


def test_url_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("GPUCAST_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_path() == tmp_path / "xdg" / "gpucast" / "gpucast.db"
    assert resolve_url() == f"sqlite:///{tmp_path / 'xdg' / 'gpucast' / 'gpucast.db'}"
    monkeypatch.setenv("GPUCAST_DATABASE_URL", "postgresql://u@h/db")
    assert resolve_url() == "postgresql://u@h/db"
    assert resolve_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"  # --db wins over the variable


def test_sqlite_is_wal_with_foreign_keys_and_busy_timeout(tmp_path):
    with open_store(str(tmp_path / "a.db")) as store, store.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_migrations_head_matches_the_shipped_scripts(tmp_path):
    from alembic.script import ScriptDirectory

    import gpucast.store.db as db

    scripts = ScriptDirectory(str(Path(db.__file__).with_name("migrations")))
    assert scripts.get_current_head() == HEAD
    with open_store(str(tmp_path / "b.db")) as store:
        assert current_revision(store.engine) == HEAD


def test_schema_matches_models_after_migration(db_url):
    """Alembic's autogenerate compare finds nothing: the migration builds exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gpucast.store.models import Base

    with open_store(db_url) as store, store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("INSERT INTO users (name, role, created_at) VALUES ('x', 'boss', CURRENT_TIMESTAMP)", "role"),
        ("INSERT INTO usage_metrics (service_id, timestamp, rps) VALUES (999, CURRENT_TIMESTAMP, 1)", "foreign key"),
    ],
)
def test_schema_constraints_refuse_bad_rows(store, statement, what):
    with pytest.raises(StoreConflictError, match="constraint"), store.write() as session:
        session.execute(text(statement))


def test_unique_user_names_in_the_schema(store):
    sql = "INSERT INTO users (name, role, created_at) VALUES ('dup', 'viewer', CURRENT_TIMESTAMP)"
    with store.write() as session:
        session.execute(text(sql))
    with pytest.raises(StoreConflictError), store.write() as session:
        session.execute(text(sql))


def test_bad_url_is_one_line_store_error():
    with pytest.raises(StoreError, match="--db"):
        open_store("notadriver://x")


def test_import_gpucast_does_not_load_sqlalchemy():
    code = "import sys, gpucast, gpucast.cli.main; gpucast.cli.main.build_parser(); print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_database_from_a_newer_gpucast_is_refused_in_one_line_and_left_unchanged(tmp_path, capsys):
    """A schema revision no shipped migration names (a newer gpucast wrote it) was Alembic's CommandError
    traceback from every command that opens the store; now one line, exit 2, and the database untouched."""
    from gpucast.cli.main import main

    path = tmp_path / "newer.db"
    with open_store(str(path)) as store, store.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    assert main(["service", "list", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "'0099'" in err and "newer gpucast" in err
    with pytest.raises(StoreError, match="newer gpucast"):
        open_store(str(path))
    with open_store(str(path), migrate=False) as store:
        assert current_revision(store.engine) == "0099"


def test_another_programs_sqlite_file_is_refused_and_left_unchanged(tmp_path, capsys):
    """`gpucast db info --db app.db` on another program's SQLite file created gpucast's eight tables in it (a read
    command writing into a foreign database), and a same-named table ('services') failed half way."""
    import sqlite3

    from gpucast.cli.main import main

    for table in ("stuff", "services"):
        path = tmp_path / f"{table}.db"
        with sqlite3.connect(path) as connection:
            connection.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, foo TEXT)")
        connection.close()
        assert main(["db", "info", "--db", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"is not a gpucast database (it holds other tables: {table})" in err
        with sqlite3.connect(path) as connection:
            assert [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")] == [table]
        connection.close()
