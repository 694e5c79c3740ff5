"""Edge inputs of the store (the 2026-12-06 store and training sweep), on real SQLite: each test is an input that
once gave a traceback, was silently misread, or stored something that later broke the service."""

from __future__ import annotations

import pytest

from gpucast.errors import InputError
from gpucast.store import open_store
from gpucast.store.metrics import read_rows
from gpucast.store.services import ServiceFields, add_service, add_user

FIELDS = ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="aws", region="us-east-1")


@pytest.fixture
def store(tmp_path):
    """A SQLite store with a requester (alice), an approver (bob) and the service chat."""
    with open_store(f"sqlite:///{tmp_path / 'edges.db'}") as opened:
        with opened.write() as session:
            add_user(session, "alice", "requester", actor="alice")
            add_user(session, "bob", "approver", actor="alice")
            add_service(session, "chat", FIELDS, actor="alice")
        yield opened


def test_a_csv_row_with_more_fields_than_the_header_is_refused(tmp_path):
    """csv.DictReader files the extra fields under the key None: the row was stored without them and the report
    said 'ignored columns: None'."""
    path = tmp_path / "m.csv"
    path.write_text("timestamp,rps\n2026-01-01T00:00:00Z,5\n2026-01-01T01:00:00Z,5,9\n")
    with pytest.raises(InputError, match=r"row 3: 3 fields, more than the header's 2 columns \(timestamp, rps\)"):
        read_rows(path)


def test_a_json_boolean_is_not_a_number_of_requests(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('[{"timestamp": "2026-01-01T00:00:00Z", "rps": true}]')  # was stored as 1.0
    with pytest.raises(InputError, match=r"row 1: rps True is not a number"):
        read_rows(path)
