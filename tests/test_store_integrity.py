"""Integrity under stress: concurrent writer processes, a writer killed mid-transaction, and lossless
backup/export/import — on real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from gpucast.errors import StoreConflictError
from gpucast.store import open_store
from gpucast.store.backup import backup, export_data, export_json, import_data
from gpucast.store.metrics import import_rows
from gpucast.store.models import AuditLog, Plan, UsageMetric
from gpucast.store.plans import save_plan
from gpucast.store.services import ServiceFields, add_service, add_user
from gpucast.store.workflow import create_request, transition
from test_store_db import db_url, new_database_url, store  # noqa: F401  (fixtures)

WRITER = """
import sys
from datetime import datetime, timedelta
from gpucast.store import open_store
from gpucast.store.metrics import import_rows
from gpucast.store.plans import save_plan
url, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open_store(url) as store:
    for i in range(n):
        with store.write() as s:
            save_plan(s, command="inference", kind="inference", inputs={"w": worker, "i": i},
                      result={"total_gpus": i}, actor=f"w{worker}", service="chat")
            import_rows(s, "chat", [{"timestamp": datetime(2025, 1, 1) + timedelta(minutes=worker * 1000 + i),
                                     "rps": float(i)}], actor=f"w{worker}")
"""

KILLED = """
import sys, time
from datetime import datetime, timedelta
from gpucast.store import open_store
from gpucast.store.metrics import import_rows
with open_store(sys.argv[1]) as store, store.write() as s:
    rows = [{"timestamp": datetime(2030, 1, 1) + timedelta(seconds=k), "rps": 1.0} for k in range(20000)]
    import_rows(s, "chat", rows, actor="doomed")
    s.flush()
    print("in-transaction", flush=True)
    time.sleep(60)
"""

FIELDS = ServiceFields(team="ml", environment="prod", criticality="tier1", cloud="aws", region="us-east-1")


def _service(store):  # noqa: F811
    with store.write() as s:
        add_service(s, "chat", FIELDS, actor="ops")


def test_concurrent_writer_processes_lose_nothing(store, db_url):  # noqa: F811
    _service(store)
    workers, each = 6, 15
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(w), str(each)], stderr=subprocess.PIPE,
                              text=True) for w in range(workers)]  # fmt: skip
    errors = [p.communicate(timeout=180)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Plan)) == workers * each
        assert s.scalar(select(func.count()).select_from(UsageMetric)) == workers * each
        assert s.scalar(select(func.count(func.distinct(Plan.id)))) == workers * each
        inputs = {(p.inputs["w"], p.inputs["i"]) for p in s.scalars(select(Plan))}
        assert inputs == {(w, i) for w in range(workers) for i in range(each)}
        # every change was audited in its own transaction: one plan + one import row per write
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor.like("w%"))) == 2 * workers * each
        )


def test_a_writer_killed_mid_transaction_leaves_the_database_consistent(store, db_url):  # noqa: F811
    _service(store)
    with store.write() as s:
        import_rows(s, "chat", [{"timestamp": datetime(2025, 1, 1), "rps": 2.0}], actor="ops")
    with subprocess.Popen([sys.executable, "-c", KILLED, db_url], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "in-transaction"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    with store.write() as s:  # the lock is free again and nothing of the killed transaction is visible
        assert s.scalar(select(func.count()).select_from(UsageMetric)) == 1
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor == "doomed")) == 0
        import_rows(s, "chat", [{"timestamp": datetime(2025, 1, 2), "rps": 3.0}], actor="ops")
        if s.get_bind().dialect.name == "sqlite":
            assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert s.execute(text("PRAGMA foreign_key_check")).all() == []
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(UsageMetric)) == 2


def _populate(store):  # noqa: F811
    _service(store)
    with store.write() as s:
        add_user(s, "rita", "requester", actor="ops")
        add_user(s, "alex", "approver", actor="ops")
        rows = [{"timestamp": datetime(2025, 1, 1, 0, 0, 0, 123456) + timedelta(hours=h), "rps": 0.1 * h + 1 / 3,
                 "input_tokens": 512.5 if h % 2 else None} for h in range(50)]  # fmt: skip
        import_rows(s, "chat", rows, actor="ops")
        plan = save_plan(s, command="inference", kind="inference", inputs={"rps": 5, "nested": {"a": [1, 2.5, None]}},
                         result={"gpu_resources": {"total_gpus": 8}, "x": 1e-12, "ü": "ünïcode"}, actor="rita",
                         service="chat")  # fmt: skip
        rid = create_request(s, service="chat", gpu_type="H100", count=8, region="us-east-1", justification="why",
                             actor="rita", plan_id=plan.id).id  # fmt: skip
    for action, who in (("submit", "rita"), ("approve", "alex")):
        with store.write() as s:
            transition(s, rid, action, who, comment="fine")


def test_export_import_round_trips_losslessly(store, tmp_path, request):  # noqa: F811
    _populate(store)
    exported = export_data(store)
    target_backend = "postgresql" if "postgresql" in str(store.url) else "sqlite"
    other = new_database_url("sqlite" if target_backend == "postgresql" else target_backend, tmp_path / "x")
    (tmp_path / "x").mkdir(exist_ok=True)
    with open_store(other) as copy:
        counts = import_data(copy, json.loads(json.dumps(exported)), actor="ops")
        assert counts["usage_metrics"] == 50 and counts["request_comments"] == 3
        assert export_data(copy) == exported  # byte-for-byte the same document, ids and microseconds included
        with copy.write() as s:  # ids continue after the imported ones (PostgreSQL sequences reset)
            assert add_user(s, "new", "viewer", actor="ops").id == 3
        with pytest.raises(StoreConflictError, match="not empty"):
            import_data(copy, exported, actor="ops")


def test_backup_is_a_consistent_copy(store, tmp_path):  # noqa: F811
    _populate(store)
    how = backup(store, tmp_path / "backup.db")
    if how == "sqlite":
        with open_store(str(tmp_path / "backup.db")) as copy:
            assert export_data(copy) == export_data(store)
    else:
        assert json.loads((tmp_path / "backup.db").read_text()) == json.loads(export_json(store))
