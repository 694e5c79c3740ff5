"""Edge inputs of the store (the 2026-12-06 store and training sweep), on real SQLite: each test is an input that
once gave a traceback, was silently misread, or stored something that later broke the service."""

from __future__ import annotations

import json
import math

import pytest

from gpucast.errors import InputError
from gpucast.store import open_store
from gpucast.store.backup import export_data, import_data
from gpucast.store.metrics import import_rows, list_metrics, read_rows
from gpucast.store.plans import list_plans
from gpucast.store.services import ServiceFields, add_service, add_user
from gpucast.store.workflow import create_request, list_requests
from test_store_db import db_url  # noqa: F401  (a SQLite and a PostgreSQL database)

FIELDS = ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="aws", region="us-east-1")


def _alice_with_chat(session) -> None:
    """A requester, alice, and her service chat: every store test's first write."""
    add_user(session, "alice", "requester", actor="alice")
    add_service(session, "chat", FIELDS, actor="alice")


@pytest.fixture
def store(tmp_path):
    """A SQLite store with a requester (alice), an approver (bob) and the service chat."""
    with open_store(f"sqlite:///{tmp_path / 'edges.db'}") as opened:
        with opened.write() as session:
            _alice_with_chat(session)
            add_user(session, "bob", "approver", actor="alice")
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


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1600-01-01"])
def test_a_timestamp_the_forecaster_cannot_read_is_refused_at_import(tmp_path, moment):
    """Year 1 was stored, and every later `service plan` of the service failed on it ("cannot parse timestamp
    '0001-01-01 00:00:00' in column 'ds'"), naming a format the user had not written."""
    path = tmp_path / "m.csv"
    path.write_text(f"timestamp,rps\n2026-01-01T00:00:00Z,5\n{moment},5\n")
    with pytest.raises(InputError, match=r"row 3: timestamp .* is outside 1677-09-22 \.\. 2262-04-10"):
        read_rows(path)


def test_timestamps_inside_the_span_still_import(store, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("timestamp,rps\n1970-01-01T00:00:00Z,1\n2262-04-09T23:00:00+00:00,2\n1767225600,3\n")
    with store.write() as session:
        assert import_rows(session, "chat", read_rows(path)[0], actor="alice").added == 3
    with store.read() as session:
        assert [m.rps for m in list_metrics(session, "chat")] == [1.0, 3.0, 2.0]


def test_an_upload_error_names_the_upload_not_the_servers_temporary_file(tmp_path):
    """`POST /api/v1/services/{name}/metrics` answered "metrics file '/tmp/gpucast-upload-…/metrics.csv' has no rows"."""
    from fastapi.testclient import TestClient

    from gpucast.store.tokens import create_token
    from gpucast.web import create_app

    url = f"sqlite:///{tmp_path / 'web.db'}"
    with open_store(url) as opened, opened.write() as session:
        _alice_with_chat(session)
        token = create_token(session, "alice", "alice")[0]
    with TestClient(create_app(url)) as client:
        answer = client.post("/api/v1/services/chat/metrics", headers={"Authorization": f"Bearer {token}"},
                             files={"file": ("traffic.csv", b"timestamp,rps\n")})  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["error"] == "the uploaded metrics file has no rows"


@pytest.mark.parametrize(
    ("count", "cost", "match"),
    [
        (10**20, None, r"--count 100000000000000000000 must be a whole number of GPUs > 0 and at most 1,000,000"),
        (1, math.nan, r"--monthly-cost nan must be a number from 0 to 1e\+12"),  # was stored as NULL
        (1, math.inf, r"--monthly-cost inf must be"),  # was exported as the non-JSON "Infinity"
        (1, "5", r"--monthly-cost '5' must be"),
    ],
)
def test_request_count_and_cost_have_the_rest_apis_bounds(store, count, cost, match):
    """A 20-digit --count was an OverflowError traceback from the SQLite driver (exit 1)."""
    with pytest.raises(InputError, match=match), store.write() as session:
        create_request(session, service="chat", gpu_type="H100", count=count, region="us-east-1",
                       justification="launch", actor="alice", monthly_cost=cost)  # fmt: skip
    with store.read() as session:
        assert list_requests(session) == []


def test_list_limits_past_any_row_count_list_everything_and_zero_or_less_is_refused(store, tmp_path):
    """`history --limit` / `metrics list --limit` of 20 digits was an OverflowError traceback (and the /history
    page's ?offset= a 500); 0 and -1 listed every row."""
    path = tmp_path / "m.csv"
    path.write_text("timestamp,rps\n2026-01-01T00:00:00Z,1\n2026-01-01T01:00:00Z,2\n")
    with store.write() as session:
        import_rows(session, "chat", read_rows(path)[0], actor="alice")
    with store.read() as session:
        assert len(list_metrics(session, "chat", limit=10**20)) == 2
        assert len(list_metrics(session, "chat", limit=1)) == 1
        assert list_plans(session, limit=10**20) == []
        for limit in (0, -1):
            with pytest.raises(InputError, match=rf"--limit {limit} must be a whole number > 0"):
                list_metrics(session, "chat", limit=limit)
            with pytest.raises(InputError, match=rf"--limit {limit} must be a whole number > 0"):
                list_plans(session, limit=limit)


def test_the_history_page_survives_an_offset_past_any_row(tmp_path):
    from fastapi.testclient import TestClient

    from gpucast.web import create_app

    url = f"sqlite:///{tmp_path / 'web.db'}"
    open_store(url).close()
    with TestClient(create_app(url)) as client:
        assert client.get("/history?offset=99999999999999999999").status_code == 200


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t.update(users=5), r"export table users must be a list of rows, not int"),
        (lambda t: t["services"][0].update(created_at=12345), r"services: created_at 12345 is not an ISO 8601 time"),
        (lambda t: t["usage_metrics"][0].update(rps="abc"), r"usage_metrics: rps 'abc' is not a number"),
        (lambda t: t["capacity_requests"][0].update(gpu_count=10**20), r"gpu_count 1(0){20} is not a whole number"),
        (lambda t: t["users"][0].update(id="abc"), r"users: id 'abc' is not a whole number within 64 bits"),
        (lambda t: t["services"][0].update(team="m\x00l"), r"services: team 'm\\x00l' is not text without NUL"),
    ],
)
def test_db_import_of_a_damaged_export_is_one_line_and_writes_nothing(store, tmp_path, change, match):
    """Each of these was a traceback (TypeError, StatementError, OverflowError); the target stays empty."""
    with store.write() as session:
        create_request(session, service="chat", gpu_type="H100", count=2, region="us-east-1", justification="x",
                       actor="alice")  # fmt: skip
    path = tmp_path / "m.csv"
    path.write_text("timestamp,rps\n2026-01-01T00:00:00Z,1\n")
    with store.write() as session:
        import_rows(session, "chat", read_rows(path)[0], actor="alice")
    data = export_data(store)
    change(data["tables"])
    with open_store(f"sqlite:///{tmp_path / 'target.db'}") as target:
        with pytest.raises(InputError, match=match):
            import_data(target, json.loads(json.dumps(data)), actor="alice")
        assert all(not rows for rows in export_data(target)["tables"].values())


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Content-Type": "text/plain"}, b'{"service": "chat"}'),  # JSON sent as text: not parsed
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"service=chat&count=1"),
        ({"Content-Type": "application/json"}, b"[]"),
    ],
)
def test_a_body_that_is_not_a_json_object_says_what_to_send(tmp_path, headers, body):
    """Was 422 "Input should be a valid dictionary or object to extract fields from" with no field."""
    from fastapi.testclient import TestClient

    from gpucast.store.tokens import create_token
    from gpucast.web import create_app

    url = f"sqlite:///{tmp_path / 'web.db'}"
    with open_store(url) as opened, opened.write() as session:
        add_user(session, "alice", "requester", actor="alice")
        token = create_token(session, "alice", "alice")[0]
    with TestClient(create_app(url)) as client:
        answer = client.post("/api/v1/requests", content=body, headers=headers | {"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422
    error = "the request body must be one JSON object, sent with Content-Type: application/json"
    assert answer.json() == {"error": error, "field": "body"}


def test_a_bad_json_line_is_named_by_its_line_in_the_file(tmp_path):
    """Each JSON line is decoded alone, so the decoder always said "line 1"."""
    path = tmp_path / "m.jsonl"
    path.write_text('{"timestamp": "2026-01-01T00:00:00Z", "rps": 1}\n\nnot json\n')
    with pytest.raises(InputError, match=r"is not valid JSON: Expecting value at line 3$"):
        read_rows(path)


def test_a_revoked_token_cannot_be_rotated_back_to_life(store):
    """Rotating a revoked token (or the same token twice) issued a live successor each time."""
    from fastapi.testclient import TestClient

    from gpucast.errors import StoreConflictError
    from gpucast.store.tokens import create_token, list_tokens, revoke_token, rotate_token
    from gpucast.web import create_app

    with store.write() as session:
        record = create_token(session, "alice", "alice")[1]
        rotate_token(session, record.id, "alice")  # the first rotation is fine
    with store.write() as session, pytest.raises(StoreConflictError, match=rf"token {record.id} was revoked at"):
        rotate_token(session, record.id, "alice")
    with store.write() as session:
        revoked = create_token(session, "alice", "alice")[1]
        revoke_token(session, revoked.id, "alice")
        acting = create_token(session, "alice", "alice")[0]
    with TestClient(create_app(str(store.engine.url))) as client:
        answer = client.post(f"/api/v1/tokens/{revoked.id}/rotate", headers={"Authorization": f"Bearer {acting}"})
    assert answer.status_code == 409, answer.text
    with store.read() as session:  # the first token's successor and the acting token: no resurrected one
        assert len([t for t in list_tokens(session) if t.revoked_at is None]) == 2


@pytest.mark.parametrize("scopes", ["", " , ", []])
def test_scopes_given_but_naming_none_are_refused_not_widened(store, scopes, capsys):
    """``--scope "$SCOPE"`` with SCOPE unset (and ``"scopes": []``) made a token with every scope the role allows
    (QA 2026-12-07); leaving the scopes out still means all of them."""
    from fastapi.testclient import TestClient

    from gpucast.cli.main import main
    from gpucast.store.tokens import create_token
    from gpucast.web import create_app

    with store.write() as session, pytest.raises(InputError, match="names no scope"):
        create_token(session, "alice", "alice", scopes=scopes)
    with store.write() as session:
        acting, record = create_token(session, "alice", "alice")
    assert set(record.scopes.split()) == {"read", "plan", "write"}  # a requester's all
    url = str(store.engine.url)
    if isinstance(scopes, str):
        assert main(["token", "create", "--user", "alice", "--as", "alice", "--scope", scopes, "--db", url]) == 2
        assert "names no scope" in capsys.readouterr().err
        assert main(["token", "create", "--user", "alice", "--as", "alice", "--db", url]) == 0
        assert "scopes read plan write" in capsys.readouterr().err
    else:
        with TestClient(create_app(url)) as client:
            answer = client.post("/api/v1/tokens", json={"user": "alice", "scopes": scopes},
                                 headers={"Authorization": f"Bearer {acting}"})  # fmt: skip
        assert answer.status_code == 422 and "names no scope" in answer.json()["error"], answer.text


def test_text_with_a_nul_byte_is_a_bad_value_on_every_backend(db_url):  # noqa: F811
    """PostgreSQL refused it as a "database error" (HTTP 503, as if the database were down) and SQLite stored it."""
    with open_store(db_url) as opened:
        with opened.write() as session:
            _alice_with_chat(session)
        nul = r"capacity_requests.justification .* holds a NUL \(0x00\) byte"
        with pytest.raises(InputError, match=nul), opened.write() as session:
            create_request(session, service="chat", gpu_type="H100", count=1, region="us-east-1",
                           justification="Q3\x00launch", actor="alice")  # fmt: skip
        with opened.read() as session:
            assert list_requests(session) == []


def test_text_longer_than_its_column_is_a_bad_value_on_every_backend(db_url):  # noqa: F811
    """PostgreSQL refused a 300-character --owner as a "database error" (503); SQLite stored it, and its export
    would not load into PostgreSQL. A record stored before keeps its long value when another field changes."""
    from sqlalchemy import text

    from gpucast.store.services import update_service

    with open_store(db_url) as opened:
        with opened.write() as session:
            _alice_with_chat(session)
        too_long = r"services.owner .* is 300 characters, more than the 200 it holds"
        with pytest.raises(InputError, match=too_long), opened.write() as session:
            update_service(session, "chat", ServiceFields(owner="o" * 300), actor="alice")
        if opened.engine.dialect.name == "sqlite":  # a value stored before the check, as SQLite allowed
            with opened.write() as session:
                session.execute(text("UPDATE services SET team = :team"), {"team": "t" * 300})
            with opened.write() as session:
                update_service(session, "chat", ServiceFields(notes="still editable"), actor="alice")


def test_history_gpu_filter_is_a_name_in_any_case_not_a_like_pattern(store):
    """`history --gpu` was ILIKE: '_' and '%' in the name were wildcards, so H100_SXM listed H100-SXM's plans."""
    from gpucast.store.plans import save_plan

    with store.write() as session:
        for gpu in ("H100-SXM", "H100_SXM", "A100-80GB"):
            save_plan(session, command="inference", kind="inference", inputs={}, actor="alice",
                      result={"gpu_type": gpu, "total_gpus": 8, "monthly_cost": 1.0})  # fmt: skip
    with store.read() as session:
        assert [p.gpu_type for p, _ in list_plans(session, gpu="h100_sxm")] == ["H100_SXM"]
        assert [p.gpu_type for p, _ in list_plans(session, gpu="H100-SXM")] == ["H100-SXM"]
        assert list_plans(session, gpu="%") == []
