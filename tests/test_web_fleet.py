"""``POST /api/v1/fleet`` (issue 26): the fleet forecast and capacity timeline over HTTP is exactly what
``gpucast fleet --json`` prints, for uploaded files and for the stored services; bad input is one JSON error line.
TestClient on a real SQLite file; four synthetic services of two weeks, one-day horizons."""

from __future__ import annotations

import json
import re

import pytest

pd = pytest.importorskip("pandas")

from fastapi.testclient import TestClient  # noqa: E402

from gpucast.cli.main import main  # noqa: E402
from gpucast.store import open_store  # noqa: E402
from gpucast.store.metrics import import_rows, read_rows  # noqa: E402
from gpucast.store.services import ServiceFields, add_service  # noqa: E402
from gpucast.web import WebSettings, create_app  # noqa: E402
from test_forecast_hierarchy import GROUPS, fleet_frame  # noqa: E402

SERVICES = ["service,team,environment,model,input_tokens,output_tokens,gpu"] + [
    f"{s},{team},{env},llama-3.1-8b,500,200,L4" for s, (team, env) in GROUPS.items()
]


@pytest.fixture
def site(tmp_path):
    history, services = tmp_path / "fleet.csv", tmp_path / "services.csv"
    frame = fleet_frame(days=14)
    frame.to_csv(history, index=False)
    services.write_text("\n".join(SERVICES) + "\n")
    store = open_store(f"sqlite:///{tmp_path / 'fleet.db'}")
    with store.write() as session:
        for service, (team, env) in GROUPS.items():
            fields = ServiceFields(team=team, environment=env, criticality="tier2", cloud="aws", region="us-east-1",
                                   model="llama-3.1-8b", input_tokens=500, output_tokens=200)  # fmt: skip
            add_service(session, service, fields, actor="alice")
            path = tmp_path / f"{service}.csv"
            frame[frame["service"] == service][["timestamp", "rps"]].to_csv(path, index=False)
            import_rows(session, service, read_rows(path)[0], "alice")
    yield TestClient(create_app(store=store, settings=WebSettings())), history, services
    store.close()


def _post(client: TestClient, history, services, **fields: str):
    files = {"file": ("h.csv", history.read_bytes(), "text/csv"), "services": ("s.csv", services.read_bytes())}
    return client.post("/api/v1/fleet", data=fields, files=files)


def test_upload_is_what_fleet_json_prints(site, capsys):
    client, history, services = site
    response = _post(client, history, services, horizon="1d", current_gpus="4", reconcile="wls")
    assert response.status_code == 200, response.text
    data = response.json()
    argv = ["fleet", "--history", str(history), "--services", str(services), "--horizon", "1d", "--current-gpus",
            "4", "--reconcile", "wls", "--json"]  # fmt: skip
    assert main(argv) == 0
    assert data == json.loads(capsys.readouterr().out)
    assert data["forecast"]["method"] == "wls" and len(data["forecast"]["nodes"]) == 10
    teams = {(t["environment"], t["team"]) for t in data["capacity"]["teams"]}
    assert teams == {("prod", "search"), ("prod", "chat"), ("staging", "chat")}
    assert set(data["capacity"]["runs_out"]) == {"earliest", "expected", "latest"}
    # the total is the sum of the services at every step (bottom-up coherence survives the JSON)
    nodes = {n["id"]: n for n in data["forecast"]["nodes"]}
    total = [p["mean"] for p in nodes["all"]["forecast"]]
    summed = [sum(nodes[f"service:{s}"]["forecast"][k]["mean"] for s in GROUPS) for k in range(24)]
    assert total == pytest.approx(summed, rel=1e-5, abs=1e-5)


def test_forecast_only_and_from_the_store(site):
    client, history, services = site
    bare = _post(client, history, services, horizon="1d", capacity="false")
    assert bare.status_code == 200 and "capacity" not in bare.json()
    stored = client.post("/api/v1/fleet", data={"from_store": "true", "team": "search", "horizon": "1d"})
    assert stored.status_code == 200, stored.text
    data = stored.json()
    assert {n["name"] for n in data["forecast"]["nodes"] if n["level"] == "service"} == {"a", "b"}
    assert {t["team"] for t in data["capacity"]["teams"]} == {"search"}


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({}, 422, "services' file"),
        ({"from_store": "true", "team": "nobody"}, 422, "no stored service"),
        ({"from_store": "true", "horizon": "soon"}, 422, "horizon"),
        ({"from_store": "true", "reconcile": "magic"}, 422, "magic"),
        ({"from_store": "true", "period": "year"}, 422, "year"),
        ({"from_store": "true", "current_gpus": "-1"}, 422, "current_gpus"),
    ],
)
def test_errors_are_one_json_line(site, fields, status, words):
    client, _, _ = site
    response = client.post("/api/v1/fleet", data=fields)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]


def test_bad_uploads(site, tmp_path):
    client, history, services = site
    assert _post(client, history, services, from_store="true").status_code == 422
    assert "use them with from_store" in _post(client, history, services, team="x").json()["error"]
    lacking = tmp_path / "lacking.csv"
    lacking.write_text("service,team,environment\na,s,prod\nb,s,prod\nc,c,prod\nd,c,staging\n")
    error = _post(client, history, lacking, horizon="1d").json()["error"]
    assert "4 services lack model" in error and "capacity=false" in error
    assert _post(client, history, lacking, horizon="1d", capacity="false").status_code == 200
    columns = tmp_path / "columns.csv"
    columns.write_text("service,team\na,search\n")
    assert "needs the columns service, team, environment" in _post(client, history, columns).json()["error"]
    binary = tmp_path / "services.xlsx"
    binary.write_bytes(b"PK\x03\x04rest")
    assert "ZIP archive" in _post(client, history, binary).json()["error"]


def test_in_the_openapi_schema(site):
    client, _, _ = site
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/fleet"]["post"]
    assert operation["tags"] == ["forecast"]


def test_fleet_page_form_result_and_error(site):
    client, _, _ = site
    form = client.get("/fleet")
    assert form.status_code == 200 and 'id="fleet-form"' in form.text and 'id="result"' not in form.text
    page = client.get("/fleet", params={"run": "1", "horizon": "1d", "current_gpus": "4", "team": "search"})
    assert page.status_code == 200, page.text
    api = client.post("/api/v1/fleet", data={"from_store": "true", "horizon": "1d", "current_gpus": "4",
                                            "team": "search"}).json()  # fmt: skip
    teams = re.findall(r"<tr><td>[^<]*</td><td>(\w+)</td><td>(\w+)</td><td class=\"num\">(\d+)</td>", page.text)
    assert teams == [(t["environment"], t["team"], str(t["gpus"])) for t in api["capacity"]["teams"]]
    assert 'id="runs-out"' in page.text and 'id="spend"' in page.text and ">search<" in page.text
    assert "80% / 95% held" in page.text and "(steps 1–24 of 24)" in page.text  # each node's achieved coverage
    bad = client.get("/fleet", params={"run": "1", "current_gpus": "many"})
    assert bad.status_code == 422 and "current_gpus" in bad.text and 'id="result"' not in bad.text


def test_fleet_page_current_gpus_int_refuses_is_a_form_error(site):
    """'²' passed str.isdigit() and int() refused it: a 500 (web and conversation sweep, 2026-12-06)."""
    client = TestClient(site[0].app, raise_server_exceptions=False)
    bad = client.get("/fleet", params={"run": "1", "horizon": "1d", "current_gpus": "²"})
    assert bad.status_code == 422 and "current_gpus" in bad.text
    many = client.get("/fleet", params={"run": "1", "horizon": "1d", "current_gpus": "1" * 5000})
    assert many.status_code == 200
