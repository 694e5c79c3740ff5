"""Who may write is checked before what they wrote (issue 18, item 5), and form posts must come from this site
(item 6). TestClient on a real SQLite file; tokens and users made through the store.

* A caller without the right to a write gets 403 before any lookup or validation: a viewer learns neither a
  request's state (409), nor whether a request or service exists (404), nor what is wrong with a body (422).
* Every HTML form POST checks ``Origin`` (else ``Referer``) against the request's own origin beside the CSRF
  token; a request with neither header is allowed (non-browser clients), the CSRF token still required.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from conftest import page_login
from gpucast.store import open_store
from gpucast.store.models import Plan, UsageMetric
from gpucast.store.services import ServiceFields, add_service, add_user
from gpucast.store.tokens import create_token
from gpucast.store.workflow import TRANSITIONS, create_request, get_request
from gpucast.web import create_app

PLAN = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 200},
        "model": {"model_name": "llama-3.1-8b", "precision": "BF16"}}  # fmt: skip
SERVICE_FORM = {"team": "ml", "environment": "dev", "criticality": "tier3", "cloud": "aws", "region": "r"}
PLAN_FORM = {"model": "llama-3.1-8b", "rps": "3", "input_tokens": "400", "output_tokens": "100"}
BAD_FILE = {"file": ("t.csv", "timestamp,rps\nyesterday,1\n", "text/csv")}


@pytest.fixture
def site(tmp_path):
    """alice requests, bob approves, vic views; service 'chat'; request 1 is alice's draft."""
    store = open_store(f"sqlite:///{tmp_path / 'guards.db'}")
    with store.write() as session:
        tokens = {}
        for name, role in (("alice", "requester"), ("bob", "approver"), ("vic", "viewer")):
            add_user(session, name, role, actor="alice")
            tokens[name] = create_token(session, name, name)[0]
        add_service(session, "chat", ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="aws",
                                                   region="us-east-1"), actor="alice")  # fmt: skip
        create_request(session, service="chat", gpu_type="H100", count=8, region="us-east-1", justification="launch",
                       actor="alice")  # fmt: skip
    yield store, tokens
    store.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _error(html: str) -> str:
    match = re.search(r'id="form-error">([^<]*)<', html)
    return match.group(1).replace("&#39;", "'") if match else ""


def _unchanged(store) -> None:
    """Request 1 is still a draft with only its creation in its history; no metric, plan or new service."""
    from gpucast.store.services import list_services

    with store.read() as session:
        request = get_request(session, 1)
        assert request.status == "draft" and len(request.comments) == 1
        assert session.query(UsageMetric).count() == 0 and session.query(Plan).count() == 0
        assert [s.name for s in list_services(session)] == ["chat"]


# --- item 5: authorization before validation (REST) -----------------------------------------------------------


def _api_refusals(client: TestClient, vic: dict[str, str]) -> dict[str, object]:
    """Every write endpoint, called by a viewer with something else also wrong."""
    return {
        **{
            f"{action} a draft": client.post(f"/api/v1/requests/1/{action}", headers=vic, json={"comment": "x"})
            for action in TRANSITIONS
        },
        "provision a missing request": client.post("/api/v1/requests/999/provision", headers=vic),
        "upload a bad file": client.post("/api/v1/services/chat/metrics", files=BAD_FILE, headers=vic),
        "upload to a missing service": client.post("/api/v1/services/nope/metrics", files=BAD_FILE, headers=vic),
        "add a bad service": client.post("/api/v1/services", json={"name": "x/y", "environment": "qa"}, headers=vic),
        "add a duplicate service": client.post("/api/v1/services", json=SERVICE_FORM | {"name": "chat"}, headers=vic),
        "create a bad request": client.post("/api/v1/requests", json={"service": "nope", "count": 0}, headers=vic),
        "save a bad plan": client.post("/api/v1/inference?save=true", json={"workload": {}}, headers=vic),
        "save a plan": client.post("/api/v1/inference?save=true", json=PLAN, headers=vic),
        "save an estimate": client.post("/api/v1/estimate?save=true", json={"model": "nope"}, headers=vic),
        "save a comparison": client.post("/api/v1/compare?save=true", json=PLAN, headers=vic),
        "save a training plan": client.post("/api/v1/training?save=true", json={}, headers=vic),
        "save a forecast": client.post("/api/v1/forecast?save=true", data={"horizon": "1d"}, headers=vic),
    }


def test_a_viewer_gets_403_from_every_write_endpoint_before_any_lookup_or_validation(site):
    store, tokens = site
    with TestClient(create_app(store=store)) as client:
        for what, response in _api_refusals(client, _auth(tokens["vic"])).items():
            assert response.status_code == 403, (what, response.status_code, response.text)  # type: ignore[attr-defined]
            body = response.json()  # type: ignore[attr-defined]
            assert "'vic'" in body["error"] and "viewer" in body["error"], (what, body)
            assert "draft" not in body["error"] and "row " not in body["error"], (what, body)
    _unchanged(store)


def test_a_role_without_the_right_is_refused_before_the_state_is_checked(site):
    store, tokens = site
    alice, bob = _auth(tokens["alice"]), _auth(tokens["bob"])
    with TestClient(create_app(store=store)) as client:
        refused = client.post("/api/v1/requests/1/provision", headers=alice)  # a requester may never provision
        assert refused.status_code == 403 and refused.json()["error"] == (
            "provision needs the role approver or admin; 'alice' has the role requester"
        )
        assert client.post("/api/v1/requests/999/approve", headers=alice).status_code == 403  # not even a lookup
        own = client.post("/api/v1/requests/1/approve", headers=alice)
        assert own.status_code == 403 and "is a draft" not in own.json()["error"]
        wrong_state = client.post("/api/v1/requests/1/provision", headers=bob)  # bob has the right: now the state
        assert wrong_state.status_code == 409 and "cannot provision a request that is draft" in wrong_state.text
        assert client.post("/api/v1/requests/999/provision", headers=bob).status_code == 404
        bad = client.post("/api/v1/services/chat/metrics", files=BAD_FILE, headers=alice)  # alice may: the file's error
        assert bad.status_code == 422 and "yesterday" in bad.json()["error"]
    _unchanged(store)


# --- item 5: authorization before validation (pages) ----------------------------------------------------------


def test_a_viewer_is_refused_by_the_pages_before_their_form_is_checked(site):
    store, tokens = site
    client = TestClient(create_app(store=store))
    csrf = page_login(client, tokens["vic"])
    posts = {
        "/requests/1/transition": {"action": "provision"},
        "/services": {"name": "x/y", "environment": "qa"},
        "/requests": {"service": "nope", "count": "0"},
        "/plan/save": {"model": "nope", "rps": "abc"},
        "/training/save": {"model": "nope"},
        "/forecast/save": {"horizon": "1d"},
    }
    for path, form in posts.items():
        response = client.post(path, data=form | {"csrf_token": csrf}, follow_redirects=False)
        assert response.status_code == 403, (path, response.status_code, _error(response.text))
        message = _error(response.text)
        assert "'vic'" in message and "viewer" in message and "draft" not in message, (path, message)
    _unchanged(store)


# --- item 6: Origin / Referer on form posts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),  # neither header: a non-browser client, the CSRF token still decides
        ({"Origin": "http://testserver"}, True),
        ({"Origin": "HTTP://TestServer:80"}, True),  # scheme and host compare case-insensitively; default port
        ({"Origin": "http://testserver", "Referer": "http://evil.example/"}, True),  # Origin wins when present
        ({"Referer": "http://testserver/services?x=1"}, True),
        ({"Host": "gpucast.internal:8000", "Origin": "http://gpucast.internal:8000"}, True),  # the Host header
        ({"Origin": "http://evil.example"}, False),
        ({"Origin": "https://testserver"}, False),  # another scheme is another origin
        ({"Origin": "http://testserver:8080"}, False),
        ({"Origin": "http://testserver.evil.example"}, False),
        ({"Origin": "null"}, False),  # a sandboxed or privacy-stripped origin is not this site
        ({"Origin": "http://testserver", "Host": "other.example"}, False),
        ({"Referer": "http://evil.example/services"}, False),
        ({"Referer": "not a url"}, False),
    ],
)
def test_form_posts_check_origin_then_referer(site, headers, allowed):
    store, tokens = site
    client = TestClient(create_app(store=store))
    csrf = page_login(client, tokens["alice"])
    form = SERVICE_FORM | {"name": "svc-origin", "csrf_token": csrf}
    response = client.post("/services", data=form, headers=headers, follow_redirects=False)
    if allowed:
        assert response.status_code == 303, _error(response.text)
    else:
        assert response.status_code == 403, response.status_code
        message = _error(response.text)
        assert message.startswith("the form was posted from ") and "not from this site" in message, message
        assert "\n" not in message
        with store.read() as session:
            from gpucast.store.services import find_service

            assert find_service(session, "svc-origin") is None


def test_every_form_post_refuses_a_foreign_origin(site):
    """Each POST form of the site, with a valid CSRF token but posted from another origin: 403 and its page."""
    store, tokens = site
    client = TestClient(create_app(store=store))
    csrf = page_login(client, tokens["bob"])
    foreign = {"Origin": "http://evil.example"}
    posts = {
        "/services": SERVICE_FORM | {"name": "svc-evil"},
        "/requests": {"service": "chat", "gpu_type": "H100", "count": "8", "region": "r", "justification": "j"},
        "/requests/1/transition": {"action": "submit"},
        "/plan/save": PLAN_FORM,
        "/training/save": {"model": "llama-3.1-8b"},
        "/forecast": {"horizon": "1d"},
        "/forecast/save": {"horizon": "1d"},
        "/logout": {},
        "/login": {"token": tokens["alice"]},
    }
    for path, form in posts.items():
        response = client.post(path, data=form | {"csrf_token": csrf}, headers=foreign, follow_redirects=False)
        assert response.status_code == 403, (path, response.status_code)
        assert "text/html" in response.headers["content-type"], path
        assert "the form was posted from 'http://evil.example'" in _error(response.text), (path, response.text[:300])
    assert "set-cookie" not in response.headers  # the refused login did not log anyone in
    assert 'name="csrf_token"' in client.get("/requests").text and "bob" in client.get("/requests").text  # still bob
    _unchanged(store)


# --- item 5: the CLI asks the same question first ---------------------------------------------------------------


def test_the_cli_refuses_a_viewer_before_reading_their_file_or_planning(tmp_path, monkeypatch, capsys):
    from gpucast.cli.main import main

    db = tmp_path / "cli.db"
    monkeypatch.setenv("GPUCAST_DATABASE_URL", f"sqlite:///{db}")
    with open_store(f"sqlite:///{db}") as store, store.write() as session:
        add_user(session, "vic", "viewer", actor="vic")
        add_service(session, "chat", ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="aws",
                                                   region="us-east-1"), actor="ops")  # fmt: skip
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,rps\nyesterday,1\n")
    for argv in (["metrics", "import", "chat", str(bad)], ["metrics", "import", "chat", str(tmp_path / "missing.csv")],
                 ["service", "plan", "chat", "--save"]):  # fmt: skip
        assert main([*argv, "--as", "vic"]) == 2, argv
        err = capsys.readouterr().err
        assert "'vic' has the viewer role" in err and "yesterday" not in err and "missing" not in err, err
