"""Faults of a running server and of the disk (issue 24, item 3), on real processes and real databases:

* ``gpucast serve`` killed with SIGKILL while clients create services (SQLite, and PostgreSQL when its binaries
  exist): every service the server acknowledged (201) is stored, whole, with its audit row; nothing half-written;
* PostgreSQL stopped under a running server: the API answers 503 with ``Retry-After`` and a message saying the
  database is unavailable, the health check stays up, and once PostgreSQL is back the same server answers again
  by itself (its connection pool reconnects);
* a full disk: SQLite on a 1 MiB tmpfs (when this machine lets the test mount one) and SQLite under a file-size
  limit (``RLIMIT_FSIZE``, any machine): writing until the disk refuses fails with a one-line error, the writes
  acknowledged before are all there and ``PRAGMA integrity_check`` is ``ok``.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import free_port, gpucast_exe
from gpucast.store import open_store
from gpucast.store.services import add_user
from gpucast.store.tokens import create_token
from test_store_db import new_database_url, pg_bin_dir

SERVICE = {"team": "ml", "environment": "prod", "criticality": "tier1", "cloud": "aws", "region": "us-east-1",
           "notes": "n" * 2000}  # fmt: skip


def admin_token(url: str) -> str:
    with open_store(url) as store, store.write() as session:
        add_user(session, "root", "admin", actor="root")
        return create_token(session, "root", "root")[0]


def start_server(url: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    command = [*gpucast_exe(), "serve", "--port", str(port), "--db", url, "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2):
                return process, base
        except OSError:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "gpucast serve did not start within 30 s"
            time.sleep(0.1)


def call(method: str, url: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict, dict]:
    """Status, JSON body and headers; a refused or cut connection raises OSError."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                json.loads(response.read() or b"null"),
                {k.lower(): v for k, v in response.headers.items()},
            )
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), {k.lower(): v for k, v in error.headers.items()}


def sqlite_or_postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql" and pg_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    return new_database_url(request.param, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    return sqlite_or_postgresql(request, tmp_path)


def test_sigkill_of_the_server_loses_no_acknowledged_write(db_url):
    token = admin_token(db_url)
    process, base = start_server(db_url)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        i = 0
        while not stop.is_set():
            name = f"svc-{n}-{i}"
            i += 1
            try:
                status, _, _ = call("POST", f"{base}/api/v1/services", token, {"name": name, **SERVICE})
            except (OSError, http.client.HTTPException):  # the server died under this request (before its status, or
                return  # in the body: IncompleteRead): not counted as acknowledged, which only makes the check stricter
            if status == 201:
                with lock:
                    acknowledged.append(name)

    clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in clients:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)  # while the clients are still sending
    process.wait(timeout=10)
    stop.set()
    for thread in clients:
        thread.join(timeout=15)
    process.stderr.close()  # type: ignore[union-attr]
    assert len(acknowledged) >= 40

    engine = create_engine(db_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, name, team, region, notes FROM services")).all()
        audited = {row[0] for row in connection.execute(
            text("SELECT entity_id FROM audit_log WHERE entity = 'service' AND action = 'create'"))}  # fmt: skip
    engine.dispose()
    stored = {row[1] for row in rows}
    assert set(acknowledged) <= stored  # every acknowledged write survived the kill
    assert len(stored) - len(acknowledged) <= 4  # at most one unacknowledged commit per client
    assert all(row[2:] == ("ml", "us-east-1", SERVICE["notes"]) for row in rows)  # no partial row
    assert {row[0] for row in rows} == audited  # each service with its audit row: transactions whole or absent
    if db_url.startswith("sqlite"):
        with closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


class Cluster:
    """A PostgreSQL server of this test alone (the session's shared one must not be stopped)."""

    def __init__(self) -> None:
        bin_dir = pg_bin_dir()
        if bin_dir is None:
            pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
        self.base = Path(tempfile.mkdtemp(prefix="gpucast-pg-fault-"))
        self.base.chmod(0o755)
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.base, "nobody")
            self.prefix = ["runuser", "-u", "nobody", "--"]
        self.pg_ctl, self.data, self.port = str(bin_dir / "pg_ctl"), self.base / "data", free_port()
        subprocess.run([*self.prefix, str(bin_dir / "initdb"), "-D", str(self.data), "-U", "gpucast", "-A", "trust",
                        "--no-sync"], check=True, capture_output=True)  # fmt: skip
        self.start()
        self.url = f"postgresql+psycopg://gpucast@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([*self.prefix, self.pg_ctl, "-D", str(self.data), "-l", str(self.base / "log"), "-w", "-o",
                        options, "start"], check=True, capture_output=True)  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self.prefix, self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"],
                       capture_output=True)  # fmt: skip

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def test_postgresql_going_away_is_503_and_the_server_recovers_by_itself():
    cluster = Cluster()
    process = None
    try:
        token = admin_token(cluster.url)
        process, base = start_server(cluster.url)
        assert call("POST", f"{base}/api/v1/services", token, {"name": "before", **SERVICE})[0] == 201
        cluster.stop()
        for method, path, body in (("GET", "/api/v1/services", None),
                                   ("POST", "/api/v1/services", {"name": "during", **SERVICE})):  # fmt: skip
            status, answer, headers = call(method, base + path, token, body)
            assert status == 503, (status, answer)
            assert set(answer) == {"error", "field"} and "is unavailable" in answer["error"], answer
            assert "nothing was saved" in answer["error"] and "\n" not in answer["error"]
            assert headers.get("retry-after") == "5"
        assert call("GET", f"{base}/api/v1/health")[0] == 200  # alive, so a load balancer does not kill it
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:  # counted for monitoring
            assert "gpucast_database_errors_total 2" in response.read().decode()
        cluster.start()
        deadline = time.monotonic() + 20
        while (status := call("GET", f"{base}/api/v1/services", token)[0]) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status == 200  # the same process, no restart
        assert call("POST", f"{base}/api/v1/services", token, {"name": "after", **SERVICE})[0] == 201
        names = [s["name"] for s in call("GET", f"{base}/api/v1/services", token)[1]["items"]]
        assert names == ["after", "before"]  # nothing of the refused write
    finally:
        if process is not None:
            process.terminate()
            process.communicate(timeout=15)
        cluster.remove()


WRITER = """
import sys
from gpucast.errors import GpucastError
from gpucast.store import open_store
from gpucast.store.services import ServiceFields, add_service, add_user
store = open_store(sys.argv[1])
with store.write() as session:
    add_user(session, "root", "admin", actor="root")
i = 0
try:
    while True:
        with store.write() as session:
            add_service(session, f"svc{i}", ServiceFields(team="ml", environment="prod", criticality="tier1",
                        cloud="aws", region="us-east-1", notes="n" * 5000), "root")
        print(f"svc{i}", flush=True)  # acknowledged: printed only after the commit returned
        i += 1
except GpucastError as error:
    print(f"gpucast: error: {error}", file=sys.stderr)
    sys.exit(2)
"""


def limited(size: int):  # a preexec_fn
    """Run the child with files limited to ``size`` bytes, and a write past it failing with EFBIG (ignoring
    SIGXFSZ, which would kill the process instead) — what a full disk looks like to SQLite."""

    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


@pytest.fixture(params=["tmpfs", "rlimit"])
def full_disk(request, tmp_path):
    """A folder whose files cannot grow past ~1 MiB, and the preexec_fn the writer runs under."""
    if request.param == "rlimit":
        yield tmp_path, limited(1024 * 1024)
        return
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.decode().strip() or 'not root'}); the rlimit case runs"
        )
    try:
        yield folder, None
    finally:  # lazily, so a file still open cannot leave the mount behind
        subprocess.run(["umount", "--lazy", str(folder)], capture_output=True)


def test_a_full_disk_fails_the_write_clearly_and_keeps_the_database_intact(full_disk):
    folder, preexec = full_disk
    db = folder / "full.db"
    writer = subprocess.run([sys.executable, "-c", WRITER, str(db)], capture_output=True, text=True, timeout=120,
                            preexec_fn=preexec)  # fmt: skip
    acknowledged = writer.stdout.split()
    assert writer.returncode == 2, writer.stderr
    message = writer.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message, message
    assert "cannot write to the database" in message and "disk is full" in message, message
    assert len(acknowledged) >= 10  # it wrote for a while before the disk refused
    with closing(sqlite3.connect(db)) as connection:  # checked in this process, without the limit
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = [row[0] for row in connection.execute("SELECT name FROM services ORDER BY id")]
    assert names == acknowledged  # every acknowledged write, nothing of the refused one


def test_sigkill_of_a_cli_writer_on_postgresql_loses_no_acknowledged_write(tmp_path):
    """The SQLite case is tests/test_reliability_faults.py; the same writer against PostgreSQL."""
    if pg_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    from test_reliability_faults import kill_writer_midway

    url = new_database_url("postgresql", tmp_path)
    acknowledged = kill_writer_midway(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        names = {row[0] for row in connection.execute(text("SELECT name FROM users"))}
        audited = connection.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'user'")).scalar()
    engine.dispose()
    assert len(acknowledged) >= 40 and set(acknowledged) <= names
    assert len(names) - len(acknowledged) in (0, 1) and audited == len(names)
