"""The web pages through FastAPI's TestClient on a real SQLite file: rendering, form errors, login with a
token, CSRF on every POST form, the read policy, and the workflow rules (the browser tests cover the same
ground in Chromium, these run everywhere)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from conftest import page_csrf, page_login
from gpucast.charts.svg import Bar, Marker, Series, bar_chart, line_chart, nice_ticks
from gpucast.store import open_store
from gpucast.store.services import ServiceFields, add_service, add_user
from gpucast.store.tokens import create_token
from gpucast.web import WebSettings, create_app
from gpucast.web.pages.session import PageSession, decode, encode

PLAN_QUERY = "/plan?model=llama-3.1-8b&precision=BF16&rps=5&input_tokens=500&output_tokens=200&cloud=aws"


@pytest.fixture
def site(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'pages.db'}")
    with store.write() as session:
        add_user(session, "alice", "requester", actor="alice")
        add_user(session, "bob", "approver", actor="alice")
        tokens = {name: create_token(session, name, name)[0] for name in ("alice", "bob")}
        add_service(session, "chat", ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="aws",
                                                   region="us-east-1"), actor="alice")  # fmt: skip
    yield store, tokens
    store.close()


def _client(store, **settings) -> TestClient:
    return TestClient(create_app(store=store, settings=WebSettings(**settings)))


def _error(html: str) -> str:
    match = re.search(r'id="form-error">([^<]*)<', html)
    return match.group(1) if match else ""


def test_every_page_renders_and_the_plan_has_its_charts(site):
    client = _client(site[0])
    for path in ("/", "/history", "/services", "/requests", "/login", "/static/style.css"):
        assert client.get(path).status_code == 200, path
    html = client.get(PLAN_QUERY).text
    assert 'data-chart="line"' in html and 'class="operating-point"' in html and 'data-chart="stacked-bar"' in html
    assert (
        'data-chart="bars"' in html
        and "http"
        not in re.sub(r'(href|action)="[^"]*"|xmlns="[^"]*"', "", html)
        .split("<main>")[1]
        .split("How it was computed")[0]
    )  # no external resource in the page body


def test_form_errors_are_a_message_next_to_the_form_not_a_traceback(site):
    client = _client(site[0])
    response = client.get("/plan?model=llama-3.1-8b&rps=abc&input_tokens=500&output_tokens=200")
    assert response.status_code == 422 and _error(response.text) == "Requests/s: must be a number"
    response = client.get("/plan?model=no-such-model&rps=1&input_tokens=500&output_tokens=200")
    assert response.status_code == 422 and "no-such-model" in _error(response.text)
    assert _error(response.text).startswith("Model &#39;no-such-model&#39; is not in the catalog")  # a field, no flag
    assert "--" not in _error(response.text) and "gpucast models" not in _error(response.text)
    assert 'id="plan-form"' in response.text and "Traceback" not in response.text


def test_posts_need_the_sessions_csrf_token(site):
    store, tokens = site
    client = _client(store)
    assert client.post("/login", data={"token": tokens["alice"]}).status_code == 403
    csrf = page_login(client, tokens["alice"])
    fields = {"name": "svc2", "team": "ml", "environment": "dev", "criticality": "tier3", "cloud": "aws", "region": "r"}
    refused = client.post("/services", data=fields | {"csrf_token": "forged"})
    assert refused.status_code == 403 and "did not come from this site" in _error(refused.text)
    other = _client(store)  # another browser's token is not this session's
    other_csrf = page_login(other, tokens["bob"])
    assert client.post("/services", data=fields | {"csrf_token": other_csrf}).status_code == 403
    assert client.post("/services", data=fields | {"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert "svc2" in client.get("/services").text


def test_login_refuses_bad_tokens_and_foreign_redirects(site):
    store, tokens = site
    client = _client(store)
    csrf = page_csrf(client.get("/login").text)
    bad = client.post("/login", data={"csrf_token": csrf, "token": "gpc_nope"})
    assert bad.status_code == 401 and "unknown, revoked or expired" in _error(bad.text)
    csrf = page_csrf(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": csrf, "token": tokens["bob"], "next": "//evil.example/"},
                           follow_redirects=False)  # fmt: skip
    assert response.headers["location"] == "/"


def test_writes_need_a_login_and_reads_follow_the_read_policy(site):
    store, _ = site
    response = _client(store).post("/services", data={"name": "x"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    closed = _client(store, read_token_required=True)
    response = closed.get("/history?kind=inference", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/history%3Fkind%3Dinference"
    assert closed.get("/login").status_code == 200


def test_workflow_rules_come_from_the_store(site):
    store, tokens = site
    alice = _client(store)
    csrf = page_login(alice, tokens["alice"])
    created = alice.post("/requests", data={"csrf_token": csrf, "service": "chat", "gpu_type": "h100-sxm", "count": "8",
                                            "region": "us-east-1", "justification": "launch"}, follow_redirects=False)  # fmt: skip
    url = created.headers["location"]
    alice.post(f"{url}/transition", data={"csrf_token": csrf, "action": "submit"})
    own = alice.post(f"{url}/transition", data={"csrf_token": csrf, "action": "approve"})
    assert own.status_code == 403 and "approver or admin" in _error(own.text).replace("&#39;", "'")
    bob = _client(store)
    bob_csrf = page_login(bob, tokens["bob"])
    done = bob.post(f"{url}/transition", data={"csrf_token": bob_csrf, "action": "approve", "comment": "ok <b>"})
    assert done.status_code == 200 and 'id="status">approved' in done.text and "ok &lt;b&gt;" in done.text
    again = bob.post(f"{url}/transition", data={"csrf_token": bob_csrf, "action": "reject"})
    assert again.status_code == 409 and "cannot reject" in _error(again.text)
    saved = bob.post("/plan/save", data={"csrf_token": bob_csrf, "model": "llama-3.1-8b", "rps": "3",
                                         "input_tokens": "400", "output_tokens": "100"}, follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"] == "/history?saved=1"
    compared = bob.get("/history/compare?id=1")
    assert compared.status_code == 200 and compared.text.count('data-chart="bars"') == 3


def test_session_cookie_is_signed_and_expires():
    secret = b"s" * 32
    value = encode(PageSession("c", "bob", "approver", 1, issued=1000), secret)
    assert decode(value, secret, now=1001) is not None and decode(value, secret, now=1000 + 13 * 3600) is None
    assert decode(value, b"other" * 8, now=1001) is None
    assert decode(value.replace(value[3], "A" if value[3] != "A" else "B", 1), secret, now=1001) is None


def test_charts_escape_labels_and_count_their_marks():
    svg = line_chart(
        [Series("a<b>", [(1, 2), (2, 3)])], title="t&", x_label="x", y_label="y", marker=Marker(1, 2, "<p>")
    )
    assert "<b>" not in svg and "&lt;p&gt;" in svg and 'data-points="2"' in svg
    assert 'data-points="2"' in bar_chart([Bar("x", 1.0), Bar("y", float("nan"))], title="b", unit="$")
    assert nice_ticks(0, 2900) == [0, 1000, 2000, 3000] and nice_ticks(0, 250) == [0, 50, 100, 150, 200, 250]


def test_import_gpucast_and_the_cli_do_not_load_jinja2():
    code = "import sys, gpucast, gpucast.cli.main as m; m.build_parser(); print('jinja2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_history_pages_on_with_offset(site):
    from gpucast.store.plans import save_plan
    from gpucast.web.pages.history import PAGE

    store, _ = site
    with store.write() as session:
        for i in range(PAGE + 5):  # one full page and five rows on the next
            save_plan(session, command="inference", kind="inference", inputs={"i": i},
                      result={"cost": {"monthly_total_cost": float(i)}}, actor="alice", service="chat")  # fmt: skip
    client = _client(store)
    first = client.get("/history?sort=id").text
    assert first.count('<tr data-id="') == PAGE and 'id="page-next"' in first and 'id="page-previous"' not in first
    second = client.get(f"/history?sort=id&offset={PAGE}").text
    assert second.count('<tr data-id="') == 5 and 'id="page-previous"' in second and 'id="page-next"' not in second
    assert f'data-id="{PAGE + 1}"' in second and f"rows {PAGE + 1}&ndash;{PAGE + 5}" in second
