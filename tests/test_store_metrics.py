"""Usage-history import: formats, validation, and idempotency (a property test on real SQLite)."""

from __future__ import annotations

import itertools
import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpucast.errors import InputError, WorkflowError
from gpucast.store import open_store
from gpucast.store.metrics import import_rows, list_metrics, metric_record, read_rows
from gpucast.store.services import ServiceFields, add_service, add_user
from test_store_db import db_url, store  # noqa: F401  (fixtures)

FIELDS = ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="aws", region="us-east-1")
T0 = datetime(2025, 3, 1)


def _service(store, name="chat"):  # noqa: F811
    with store.write() as s:
        add_service(s, name, FIELDS, actor="ops")


def test_csv_import_twice_adds_nothing_the_second_time(store, tmp_path):  # noqa: F811
    _service(store)
    path = tmp_path / "m.csv"
    path.write_text("timestamp,rps,input_tokens,output_tokens,latency_p95_ms,gpu_utilization,extra\n"
                    "2025-03-01T00:00:00Z,4.5,500,200,900,0.61,x\n2025-03-01T01:00:00+01:00,3.0,,,,,y\n"
                    "1740790800,2.25,510,190,950,0.5,z\n")  # fmt: skip
    rows, ignored = read_rows(path)
    assert ignored == ["extra"]
    with store.write() as s:
        first = import_rows(s, "chat", rows, actor="ops")
    assert (first.added, first.duplicates_in_file) == (2, 1)  # 01:00+01:00 == 00:00Z: a duplicate of row 1
    with store.write() as s:
        second = import_rows(s, "chat", read_rows(path)[0], actor="ops")
    assert (second.added, second.unchanged, second.conflicts) == (0, 2, 0)
    with store.read() as s:
        stored = [metric_record(m) for m in list_metrics(s, "chat")]
    assert stored[0] == {"timestamp": "2025-03-01T00:00:00", "rps": 4.5, "input_tokens": 500.0,
                         "output_tokens": 200.0, "latency_p50_ms": None, "latency_p95_ms": 900.0,
                         "latency_p99_ms": None, "gpu_utilization": 0.61}  # fmt: skip
    assert stored[1]["timestamp"] == "2025-03-01T01:00:00" and stored[1]["rps"] == 2.25  # epoch seconds, UTC


def test_json_import_and_conflicts_are_kept_unless_replaced(store, tmp_path):  # noqa: F811
    _service(store)
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"metrics": [{"ts": "2025-03-01T00:00:00", "requests": 1}]}))
    with store.write() as s:
        assert import_rows(s, "chat", read_rows(path)[0], actor="ops").added == 1
    path.write_text(json.dumps([{"timestamp": "2025-03-01T00:00:00", "rps": 9}]))
    with store.write() as s:
        report = import_rows(s, "chat", read_rows(path)[0], actor="ops")
    assert (report.added, report.conflicts, report.replaced) == (0, 1, 0)
    with store.write() as s:
        assert import_rows(s, "chat", read_rows(path)[0], actor="ops", replace=True).replaced == 1
    with store.read() as s:
        assert [m.rps for m in list_metrics(s, "chat")] == [9.0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,foo\n2025-01-01,1\n", "no rps column"),
        ("timestamp,rps\nyesterday,1\n", "row 2: timestamp 'yesterday'"),
        ("timestamp,rps\n2025-01-01,-3\n", "row 2: rps '-3' must be a finite number >= 0"),
        ("timestamp,rps\n2025-01-01,\n", "row 2: rps is empty"),
        ("timestamp,rps\n", "has no rows"),
    ],
)
def test_bad_files_are_refused_with_the_row_and_value(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_rows(path)


def test_viewers_cannot_import(store):  # noqa: F811
    _service(store)
    with store.write() as s:
        add_user(s, "vic", "viewer", actor="x")
    with pytest.raises(WorkflowError, match="viewer"), store.write() as s:
        import_rows(s, "chat", [{"timestamp": T0, "rps": 1.0}], actor="vic")


_counter = itertools.count()
_rows = st.lists(
    st.fixed_dictionaries(
        {
            "timestamp": st.integers(0, 40).map(lambda h: T0 + timedelta(hours=h)),
            "rps": st.floats(0, 1e6, allow_nan=False),
            "input_tokens": st.none() | st.floats(0, 1e5),
        }
    ),
    max_size=30,
)


@pytest.fixture(scope="module")
def shared_store():
    with tempfile.TemporaryDirectory() as tmp, open_store(str(Path(tmp) / "p.db")) as opened:
        yield opened


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=_rows, again=st.randoms())
def test_import_is_idempotent(shared_store, first, again):
    """Importing a set of rows, then any re-ordering of the same rows (or a subset), adds nothing."""
    name = f"svc{next(_counter)}"
    _service(shared_store, name)
    with shared_store.write() as s:
        report = import_rows(s, name, first, actor="ops")
    with shared_store.read() as s:
        before = [metric_record(m) for m in list_metrics(s, name)]
    assert report.added == len({r["timestamp"] for r in first}) == len(before)
    shuffled = list(first)
    again.shuffle(shuffled)
    first_seen = {}
    for r in first:
        first_seen.setdefault(r["timestamp"], r)
    subset = [first_seen[r["timestamp"]] for r in shuffled[: len(shuffled) // 2 + 1]] if first else []
    for rows in (first, subset):
        with shared_store.write() as s:
            repeat = import_rows(s, name, rows, actor="ops")
        assert repeat.added == 0 and repeat.replaced == 0
    with shared_store.read() as s:
        assert [metric_record(m) for m in list_metrics(s, name)] == before
