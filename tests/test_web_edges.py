"""Edge cases of the web pages found by the web and conversation sweep of 2026-12-06 (docs/reliability.md):
each test failed before its fix. Pages through FastAPI's TestClient on a real SQLite file."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gpucast.store import open_store
from gpucast.store.services import ServiceFields, add_service, add_user
from gpucast.store.tokens import create_token
from gpucast.web import WebSettings, create_app

HTML = {"Accept": "text/html"}
HISTORY = "timestamp,rps\n" + "".join(
    f"2026-01-{1 + i // 24:02d}T{i % 24:02d}:00,{5 + i % 24}\n" for i in range(24 * 10)
)


@pytest.fixture
def site(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'edges.db'}")
    with store.write() as session:
        add_user(session, "alice", "requester", actor="alice")
        tokens = {"alice": create_token(session, "alice", "alice")[0]}
        add_service(session, "chat", ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="aws",
                                                   region="us-east-1"), actor="alice")  # fmt: skip
    yield TestClient(create_app(store=store, settings=WebSettings()), raise_server_exceptions=False), tokens
    store.close()


@pytest.mark.parametrize("number", ["²", "1" * 5000])
def test_numbers_int_refuses_are_not_a_500(site, number):
    """'²' passes str.isdigit() and 5,000 digits pass it too, but int() refuses both: /history?offset=,
    /history/compare?id= and the forecast horizon were a 500 (ValueError)."""
    client, _ = site
    history = client.get("/history", params={"offset": number}, headers=HTML)
    assert history.status_code == 200
    compared = client.get("/history/compare", params={"id": number}, headers=HTML)
    assert compared.status_code == 422 and ("does not exist" in compared.text or "select at least one" in compared.text)
    page = client.get("/forecast", headers=HTML).text
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    forecast = client.post("/forecast", data={"csrf_token": csrf, "horizon": number},
                           files={"file": ("h.csv", HISTORY.encode(), "text/csv")}, headers=HTML)  # fmt: skip
    assert forecast.status_code == 422 and "horizon" in forecast.text
    long_unit = client.post("/forecast", data={"csrf_token": csrf, "horizon": "1" * 400 + "h"},
                            files={"file": ("h.csv", HISTORY.encode(), "text/csv")}, headers=HTML)  # fmt: skip
    assert long_unit.status_code == 422 and "366 days" in long_unit.text


def test_ascii_count():
    from gpucast.wording import TOO_MANY, ascii_count

    assert [ascii_count(t) for t in ("12", " 7 ", "", "-1", "1.5", "²", "١٢", "x")] == [12, 7] + [None] * 6
    assert ascii_count("9" * 19) == 10**19 - 1 and ascii_count("1" * 5000) == TOO_MANY


def test_login_after_a_post_without_a_session_returns_to_the_form_not_to_a_405(site):
    """A visitor whose session expired presses "Save to history": the login sent them back to GET /plan/save,
    a "405 Method Not Allowed" page; now to the page the form was on (its Referer), else the home page."""
    from urllib.parse import parse_qs, urlsplit

    client, tokens = site
    plan = "/plan?model=llama-3.1-8b&rps=4&input_tokens=500&output_tokens=200"
    cases = [("/plan/save", {"Referer": f"http://testserver{plan}"}, plan),
             ("/requests/1/transition", {"Referer": "http://testserver/requests/1"}, "/requests/1"),
             ("/training/save", {}, "/"), ("/plan/save", {"Referer": "http://evil.example/plan?x=1"}, "/")]  # fmt: skip
    for path, headers, expected in cases:
        response = client.post(path, data={"model": "llama-3.1-8b"}, headers=HTML | headers, follow_redirects=False)
        assert response.status_code == 303, path
        location = urlsplit(response.headers["location"])
        assert location.path == "/login" and parse_qs(location.query)["next"] == [expected], (path, location)
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
    back = client.post("/login", data={"csrf_token": csrf, "token": tokens["alice"], "next": plan}, headers=HTML)
    assert back.status_code == 200 and "Save to history" in back.text


def test_a_page_address_with_a_bad_id_is_the_404_page_for_a_browser(site):
    """/requests/abc and a 5,000-digit request id answered a browser with the API's raw JSON error."""
    client, _ = site
    for path in ("/requests/abc", "/requests/1.5", "/requests/" + "9" * 5000):
        page = client.get(path, headers=HTML)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), path
        assert "There is no page at" in page.text and '{"error"' not in page.text
    assert client.get("/requests/abc").json()["field"] == "request_id"  # a client that does not ask for HTML: JSON
    api = client.get("/api/v1/requests/abc", headers=HTML)
    assert api.status_code == 422 and api.json()["field"] == "request_id"  # the API keeps its JSON errors


def test_an_upload_over_the_body_limit_is_a_page_for_a_browser(site):
    """A 6 MiB history posted from the forecast page answered the browser with the API's raw JSON 413."""
    client, _ = site
    big = HISTORY.encode() * (6 * 2**20 // len(HISTORY) + 1)
    page = client.post("/forecast", files={"file": ("h.csv", big, "text/csv")}, headers=HTML)
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert "larger than 5 MiB" in page.text and '{"error"' not in page.text
    api = client.post("/api/v1/forecast", files={"file": ("h.csv", big, "text/csv")}, headers=HTML)
    assert api.status_code == 413 and api.json()["error"].startswith("request body larger than")
