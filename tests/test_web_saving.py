"""Saving from the pages, and a stored service's settings in forecasts (issue 8): the plan, training and forecast
pages each offer "Save to history" to a logged-in user; the POST recomputes the result from the posted fields
(with the CSRF token) and stores it as that user. A forecast of a stored service plans its capacity timeline with
the model, precision, tokens and cloud stored with the service unless the form gives others. TestClient on a real
SQLite file."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from conftest import page_login
from gpucast.store import open_store
from gpucast.store.metrics import import_rows, read_rows
from gpucast.store.services import ServiceFields, add_service, add_user
from gpucast.store.tokens import create_token
from gpucast.web import WebSettings, create_app
from test_web_forecast import TRAINING_QUERY, history_csv

PLAN_QUERY = "/plan?model=llama-3.1-8b&precision=BF16&rps=5&input_tokens=500&output_tokens=200&cloud=aws"


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "traffic.csv"
    path.write_text(history_csv())
    store = open_store(f"sqlite:///{tmp_path / 'saving.db'}")
    with store.write() as session:
        add_user(session, "alice", "requester", actor="alice")
        token = create_token(session, "alice", "alice")[0]
        fields = ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="gcp", region="us-central1",
                               model="llama-3.1-8b", precision="BF16", input_tokens=800, output_tokens=300)  # fmt: skip
        add_service(session, "chat", fields, actor="alice")
        import_rows(session, "chat", read_rows(path)[0], "alice")
    yield store, token, path
    store.close()


def _saved(client: TestClient, response) -> dict:
    """The plan a save stored, read back through the API."""
    assert response.status_code == 303, re.findall(r'id="form-error">([^<]*)', response.text)
    location = response.headers["location"]
    assert location.startswith("/history?saved=")
    return client.get(f"/api/v1/plans/{location.split('=')[1]}").json()


def _hidden_form(html: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="([^"]+)" class="inline" id="save-form">(.*?)</form>', html, re.S)
    assert form, "no save form on the page"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)))
    return {"action": form.group(1), **fields}


def test_forecast_of_a_service_uses_its_stored_model_tokens_and_cloud(site):
    store, _, _ = site
    client = TestClient(create_app(store=store, settings=WebSettings()))
    data = client.post("/api/v1/forecast", data={"service": "chat", "horizon": "1d"}).json()
    assert data["capacity"], data.get("error")
    assert {p["input_tokens"] for p in data["capacity"]} == {800} and {
        p["output_tokens"] for p in data["capacity"]
    } == {300}
    explicit = {
        "model": "llama-3.1-8b",
        "precision": "BF16",
        "input_tokens": "800",
        "output_tokens": "300",
        "cloud": "gcp",
    }
    same = client.post("/api/v1/forecast", data={"service": "chat", "horizon": "1d", **explicit}).json()
    assert same["capacity"] == data["capacity"]  # the stored settings, gcp prices included
    override = client.post("/api/v1/forecast", data={"service": "chat", "horizon": "1d", "input_tokens": "100"}).json()
    assert {p["input_tokens"] for p in override["capacity"]} == {100}  # the form's own value wins
    page = client.get("/forecast?service=chat&horizon=1d")
    assert page.status_code == 200 and 'id="capacity"' in page.text and "800/300" in page.text


def test_training_page_saves_to_the_history_as_the_logged_in_user(site):
    store, token, _ = site
    client = TestClient(create_app(store=store, settings=WebSettings()))
    anonymous = client.get(TRAINING_QUERY)
    assert 'id="save-form"' not in anonymous.text and "Log in</a> to save" in anonymous.text
    csrf = page_login(client, token)
    fields = _hidden_form(client.get(TRAINING_QUERY).text)
    assert fields.pop("action") == "/training/save" and fields["method"] == "lora"
    plan = _saved(client, client.post("/training/save", data=fields | {"service": "chat"}, follow_redirects=False))
    api = client.post("/api/v1/training", json=plan["inputs"]["body"]).json()
    assert plan["kind"] == "training" and plan["created_by"] == "alice" and plan["service"] == "chat"
    assert plan["result"]["recommendation"] == api["recommendation"]
    forged = client.post("/training/save", data=fields | {"csrf_token": "forged"})
    assert forged.status_code == 403
    bad = client.post("/training/save", data=fields | {"num_epochs": "0"})
    assert bad.status_code == 422 and "Epochs: must be greater than 0" in bad.text  # the form's label, no field path
    assert csrf


def test_plan_page_save_goes_through_the_same_handler(site):
    store, token, _ = site
    client = TestClient(create_app(store=store, settings=WebSettings()))
    page_login(client, token)
    fields = _hidden_form(client.get(PLAN_QUERY).text)
    assert fields.pop("action") == "/plan/save"
    plan = _saved(client, client.post("/plan/save", data=fields, follow_redirects=False))
    assert (
        plan["kind"] == "inference"
        and plan["service"] is None
        and plan["inputs"]["body"]["model"]["model_name"] == "llama-3.1-8b"
    )


def test_forecast_page_saves_a_service_forecast_and_an_upload(site):
    store, token, path = site
    client = TestClient(create_app(store=store, settings=WebSettings()))
    csrf = page_login(client, token)
    fields = _hidden_form(client.get("/forecast?service=chat&horizon=1d&scenario=spike").text)
    assert fields.pop("action") == "/forecast/save" and fields["history_service"] == "chat"
    plan = _saved(client, client.post("/forecast/save", data=fields | {"service": "chat"}, follow_redirects=False))
    assert plan["kind"] == "forecast" and plan["service"] == "chat" and plan["inputs"]["history"] == "service:chat"
    assert plan["result"]["scenario"] == "spike" and plan["result"]["capacity"]  # the service's model: a timeline
    with path.open("rb") as handle:
        page = client.post("/forecast", data={"csrf_token": csrf, "horizon": "1d"},
                           files={"file": ("traffic.csv", handle, "text/csv")})  # fmt: skip
    upload_fields = _hidden_form(page.text)
    assert upload_fields.pop("action") == "/forecast/save" and upload_fields["history_data"]
    saved = _saved(client, client.post("/forecast/save", data=upload_fields, follow_redirects=False))
    assert (
        saved["service"] is None and saved["inputs"]["history"] == "traffic.csv" and "capacity" not in saved["result"]
    )
    damaged = client.post("/forecast/save", data=upload_fields | {"history_data": "%%%"})
    assert damaged.status_code == 422 and "damaged" in damaged.text


def test_saving_needs_a_login(site):
    store, _, _ = site
    client = TestClient(create_app(store=store, settings=WebSettings()))
    for action in ("/plan/save", "/training/save", "/forecast/save"):
        response = client.post(action, data={"csrf_token": "x"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
