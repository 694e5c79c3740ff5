"""Security of the API and pages (issue 24, item 4) on a real SQLite store: token scopes and expiry, rotation, rate
limits on login and the token API, role escalation and self-approval attempts, uploads judged by their bytes, and
no secret in the logs (in-process logging at DEBUG and a real ``gpucast serve``'s output)."""

from __future__ import annotations

import logging
import urllib.request
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from conftest import gpucast_server, page_csrf, page_login
from gpucast.store import open_store
from gpucast.store.models import ApiToken, utcnow
from gpucast.store.services import add_user
from gpucast.store.tokens import create_token, hash_token
from gpucast.web import WebSettings, create_app

SERVICE = {"name": "chat", "team": "ml", "environment": "prod", "criticality": "tier1", "cloud": "aws",
           "region": "us-east-1"}  # fmt: skip
PLAN = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 200},
        "model": {"model_name": "llama-3.1-8b", "precision": "BF16"}}  # fmt: skip
REQUEST = {"service": "chat", "gpu_type": "H100", "count": 8, "region": "us-east-1", "justification": "launch"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'security.db'}"


@pytest.fixture
def tokens(db_url):
    """root (admin), alice (requester), bob and dora (approvers); one full token each, plus narrower ones."""
    made = {}
    with open_store(db_url) as store, store.write() as session:
        for name, role in (("root", "admin"), ("alice", "requester"), ("bob", "approver"), ("dora", "approver")):
            add_user(session, name, role, actor="root")
            made[name] = create_token(session, name, "root")[0]
        made["alice-read"] = create_token(session, "alice", "root", scopes="read")[0]
        made["bob-write"] = create_token(session, "bob", "root", scopes="read,write")[0]
        made["root-write"] = create_token(session, "root", "root", scopes="read plan write")[0]
    return made


@pytest.fixture
def client(db_url, tokens):
    with TestClient(create_app(db_url, WebSettings(auth_attempts_per_minute=1000))) as test_client:
        yield test_client


def test_scopes_limit_a_token_below_its_role(client, tokens):
    read_only = auth(tokens["alice-read"])
    assert client.get("/api/v1/services", headers=read_only).status_code == 200
    refused = client.post("/api/v1/services", json=SERVICE, headers=read_only)
    assert refused.status_code == 403 and "lacks the scope 'write'" in refused.json()["error"]
    planned = client.post("/api/v1/inference", json=PLAN, headers=read_only)
    assert planned.status_code == 403 and "'plan'" in planned.json()["error"]
    assert client.post("/api/v1/services", json=SERVICE, headers=auth(tokens["alice"])).status_code == 201
    assert client.get("/api/v1/me", headers=auth(tokens["alice"])).json() == {"user": "alice"}


def test_approving_needs_the_approve_scope_and_nobody_approves_their_own_request(client, tokens):
    client.post("/api/v1/services", json=SERVICE, headers=auth(tokens["alice"]))
    rid = client.post("/api/v1/requests", json=REQUEST, headers=auth(tokens["alice"])).json()["id"]
    assert client.post(f"/api/v1/requests/{rid}/submit", headers=auth(tokens["alice"])).status_code == 200
    own = client.post(f"/api/v1/requests/{rid}/approve", headers=auth(tokens["alice"]))
    assert own.status_code == 403 and "approve needs the role" in own.json()["error"]  # a requester never approves
    narrow = client.post(f"/api/v1/requests/{rid}/approve", headers=auth(tokens["bob-write"]))
    assert narrow.status_code == 403 and "lacks the scope 'approve'" in narrow.json()["error"]
    mine = client.post("/api/v1/requests", json=REQUEST, headers=auth(tokens["bob"])).json()["id"]
    client.post(f"/api/v1/requests/{mine}/submit", headers=auth(tokens["bob"]))
    self_approval = client.post(f"/api/v1/requests/{mine}/approve", headers=auth(tokens["bob"]))
    assert self_approval.status_code == 403 and "own request" in self_approval.json()["error"]
    assert client.post(f"/api/v1/requests/{rid}/approve", headers=auth(tokens["bob"])).json()["status"] == "approved"


def test_role_escalation_through_the_token_api_is_refused(client, tokens):
    alice = auth(tokens["alice"])
    for body, text in (({"user": "root"}, "lacks the scope 'admin'"),  # a token for someone else
                       ({"scopes": ["admin"]}, "cannot hold the scope admin"),  # a scope the role never has
                       ({"scopes": ["approve"]}, "cannot hold the scope approve")):  # fmt: skip
        refused = client.post("/api/v1/tokens", json=body, headers=alice)
        assert refused.status_code == 403 and text in refused.json()["error"], refused.json()
    stronger = client.post("/api/v1/tokens", json={"scopes": ["admin"]}, headers=auth(tokens["root-write"]))
    assert stronger.status_code == 403 and "more than it has" in stronger.json()["error"]
    weaker = client.post("/api/v1/tokens", json={"scopes": ["read"], "label": "ci"}, headers=alice)
    assert weaker.status_code == 201 and weaker.json()["scopes"] == ["read"]
    assert weaker.json()["token"].startswith("gpc_") and weaker.json()["user"] == "alice"
    others = client.get("/api/v1/tokens", params={"user": "bob"}, headers=alice)
    assert others.status_code == 403
    listed = client.get("/api/v1/tokens", params={"user": "alice"}, headers=alice).json()
    assert all("token" not in row and "token_hash" not in row for row in listed) and len(listed) == 3
    viewerless = client.post("/api/v1/tokens", json={"user": "alice"}, headers=auth(tokens["root"]))
    assert viewerless.status_code == 201  # an admin token may make one for another user


def test_rotation_revokes_the_old_token_and_keeps_scopes_and_lifetime(client, tokens, db_url):
    alice = auth(tokens["alice"])
    made = client.post("/api/v1/tokens", json={"scopes": ["read", "plan"], "expires_in_days": 2}, headers=alice).json()
    rotated = client.post(f"/api/v1/tokens/{made['id']}/rotate", headers=alice)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["scopes"] == ["read", "plan"] and new["replaces"] == made["id"] and new["expires_at"]
    assert client.get("/api/v1/me", headers=auth(made["token"])).status_code == 401
    assert client.get("/api/v1/me", headers=auth(new["token"])).json() == {"user": "alice"}
    foreign = client.post(f"/api/v1/tokens/{new['id']}/rotate", headers=auth(tokens["bob"]))
    assert foreign.status_code == 403
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=auth(tokens["bob"])).status_code == 403
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=alice).json()["revoked_at"]
    with open_store(db_url) as store, store.read() as session:  # stored hashed, never in clear
        stored = [t.token_hash for t in session.query(ApiToken)]
    assert hash_token(new["token"]) in stored and new["token"] not in stored


def test_an_expired_token_is_refused(client, tokens, db_url):
    with open_store(db_url) as store, store.write() as session:
        token, record = create_token(session, "alice", "alice", expires_in_days=1)
        record.expires_at = utcnow() - timedelta(seconds=1)
    answer = client.get("/api/v1/me", headers=auth(token))
    assert answer.status_code == 401 and "expired" in answer.json()["error"]


def test_login_and_the_token_api_are_rate_limited(db_url, tokens):
    with TestClient(create_app(db_url, WebSettings(auth_attempts_per_minute=3))) as client:
        csrf = page_csrf(client.get("/login").text)
        statuses = [client.post("/login", data={"csrf_token": csrf, "token": f"gpc_guess{i}"}).status_code
                    for i in range(4)]  # fmt: skip
        assert statuses == [401, 401, 401, 429]
        limited = client.post("/login", data={"csrf_token": csrf, "token": tokens["alice"]})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        api = client.get("/api/v1/tokens", headers=auth(tokens["alice"]))  # the same address's budget is spent
        assert api.status_code == 429 and set(api.json()) == {"error", "field"} and "retry after" in api.json()["error"]
        assert client.get("/api/v1/services", headers=auth(tokens["alice"])).status_code == 200  # other routes free


def test_a_page_session_has_no_more_rights_than_its_token(db_url, tokens):
    with TestClient(create_app(db_url)) as client:
        csrf = page_login(client, tokens["alice-read"])
        form = {"csrf_token": csrf} | SERVICE
        refused = client.post("/services", data=form)
        assert refused.status_code == 403 and "lacks the scope" in refused.text


def test_uploads_are_judged_by_their_bytes_not_their_name(client, tokens):
    alice = auth(tokens["alice"])
    client.post("/api/v1/services", json=SERVICE, headers=alice)
    url = "/api/v1/services/chat/metrics"
    png = {"file": ("traffic.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "text/csv")}
    refused = client.post(url, files=png, headers=alice)
    assert refused.status_code == 422 and "is a PNG image, whatever its name" in refused.json()["error"]
    binary = client.post(url, files={"file": ("t.csv", b"timestamp,rps\n\x00\x01", "text/csv")}, headers=alice)
    assert binary.status_code == 422 and "binary" in binary.json()["error"]
    csv_named_json = {"file": ("traffic.json", "timestamp,rps\n2025-01-01T00:00:00Z,3\n", "application/json")}
    assert client.post(url, files=csv_named_json, headers=alice).json()["added"] == 1
    json_named_csv = {"file": ("traffic.csv", '[{"timestamp": "2025-01-01T01:00:00Z", "rps": 4}]', "text/csv")}
    assert client.post(url, files=json_named_csv, headers=alice).json()["added"] == 1
    lines = '{"timestamp": "2025-01-01T02:00:00Z", "rps": 5}\n{"timestamp": "2025-01-01T03:00:00Z", "rps": 6}\n'
    assert client.post(url, files={"file": ("x.txt", lines, "text/plain")}, headers=alice).json()["added"] == 2
    zip_history = {"file": ("history.csv", b"PK\x03\x04rest", "text/csv")}
    refused = client.post("/api/v1/forecast", files=zip_history, data={"horizon": "7"})
    assert refused.status_code == 422 and "ZIP archive" in refused.json()["error"]


def secrets_of(tokens: dict[str, str]) -> list[str]:
    """Every token and its stored hash: none may appear in a log line."""
    return [*tokens.values(), *(hash_token(t) for t in tokens.values())]


def test_tokens_never_appear_in_logs(db_url, tokens, caplog):
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(db_url)) as client:
        minted = client.post("/api/v1/tokens", json={"label": "ci"}, headers=auth(tokens["alice"])).json()["token"]
        rotated = client.post("/api/v1/tokens/1/rotate", headers=auth(tokens["root"])).json()["token"]
        client.post("/api/v1/services", json=SERVICE, headers=auth(tokens["alice"]))
        client.get("/api/v1/me", headers=auth("gpc_wrong-guess"))
        csrf = page_csrf(client.get("/login").text)
        client.post("/login", data={"csrf_token": csrf, "token": tokens["bob"]})
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert "request" in logged.lower()  # the request log is on (a test of nothing would pass too easily)
    for secret in [*secrets_of(tokens), minted, rotated, hash_token(minted), "gpc_wrong-guess"]:
        assert secret not in logged


def test_a_real_servers_output_carries_no_token(db_url, tokens):
    with gpucast_server(db_url, "--log-level", "debug") as server:
        for token in tokens.values():
            request = urllib.request.Request(f"{server['base']}/api/v1/me", headers=auth(token))
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
    assert "/api/v1/me" in server["stderr"]  # the access log was written
    for secret in secrets_of(tokens):
        assert secret not in server["stderr"]


def test_an_export_from_before_scopes_loads_with_full_tokens(tmp_path, db_url, tokens):
    """Exports of schema 0002 (no scopes, no expiry) still import: their tokens get every scope, no expiry."""
    from gpucast.store.backup import export_data, import_data

    with open_store(db_url) as store:
        data = export_data(store)
    data["schema_revision"] = "0002"
    for row in data["tables"]["api_tokens"]:
        del row["scopes"], row["expires_at"]
    with open_store(f"sqlite:///{tmp_path / 'old.db'}") as store:
        assert import_data(store, data, "root")["api_tokens"] == len(tokens)
        with store.read() as session:
            assert {t.scopes for t in session.query(ApiToken)} == {"read plan write approve admin"}
            assert all(t.expires_at is None for t in session.query(ApiToken))
