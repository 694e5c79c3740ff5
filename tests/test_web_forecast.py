"""Traffic forecasts over HTTP (issue 8): ``POST /api/v1/forecast`` returns exactly ``gpucast predict --json``
for an uploaded history or a stored service's metrics, and the ``/forecast`` page draws the fan chart, the
backtest and the capacity timeline, with a scenario switcher. TestClient on a real SQLite file; a synthetic
three-week hourly history; short horizons keep each forecast well under a second."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import asdict

import pytest
from fastapi.testclient import TestClient

from conftest import page_csrf
from gpucast.extras import install_hint
from gpucast.forecast import forecast_load, load_history
from gpucast.inputs.types import GPUConfig, ModelConfig, ServingOptions
from gpucast.planning.timeline import capacity_timeline
from gpucast.store import open_store
from gpucast.store.metrics import import_rows, read_rows
from gpucast.store.services import ServiceFields, add_service, add_user
from gpucast.web import WebSettings, create_app

HOURS = 21 * 24
TIMELINE = {"model": "llama-3.1-8b", "precision": "BF16", "input_tokens": "500", "output_tokens": "200"}


def history_csv() -> str:
    """Three weeks of hourly traffic: a daily cycle, quieter weekends, a slow trend, deterministic wiggle."""
    lines = ["timestamp,rps"]
    for i in range(HOURS):
        day, hour = divmod(i, 24)
        rps = 20 + 8 * math.sin(2 * math.pi * (hour - 6) / 24) - (5 if day % 7 in (5, 6) else 0) + 0.02 * i
        rps += 0.7 * math.sin(i * 1.7)
        lines.append(f"2026-03-{1 + day:02d}T{hour:02d}:00:00Z,{rps:.3f}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "traffic.csv"
    path.write_text(history_csv())
    store = open_store(f"sqlite:///{tmp_path / 'forecast.db'}")
    with store.write() as session:
        add_user(session, "alice", "requester", actor="alice")
        add_service(session, "chat", ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="aws",
                                                   region="us-east-1"), actor="alice")  # fmt: skip
        import_rows(session, "chat", read_rows(path)[0], "alice")
    yield TestClient(create_app(store=store, settings=WebSettings())), path
    store.close()


def _post(client: TestClient, path, **fields: str):
    with path.open("rb") as handle:
        return client.post("/api/v1/forecast", data=fields, files={"file": ("traffic.csv", handle, "text/csv")})


def test_upload_returns_what_predict_json_prints(site):
    client, path = site
    response = _post(client, path, horizon="2d", scenario="pessimistic", growth_rate="5", **TIMELINE)
    assert response.status_code == 200, response.text
    data = response.json()
    result = forecast_load(load_history(path), "2d", scenario="pessimistic", growth_rate=5.0)
    timeline = capacity_timeline(
        result, model=ModelConfig(model_name="llama-3.1-8b", precision="BF16"), input_tokens=500, output_tokens=200,
        gpu=GPUConfig(), options=ServingOptions(cloud="aws"),
    )  # fmt: skip
    expected = result.to_dict() | {
        "capacity": [asdict(p) for p in timeline.periods],
        "exceeds_capacity_at": None,
        "current_capacity_rps": None,
        "tokens_source": "given",
    }
    assert data == json.loads(json.dumps(expected))
    assert len(data["forecast"]) == 48 and data["scenario"] == "pessimistic"
    assert {"mase", "baseline_mase", "coverage80"} <= set(data["backtest"])
    # the achieved coverage of the last backtest, over the whole 48-step horizon (forecast/coverage.py)
    assert data["backtest"]["coverage_horizon"] == 48 and data["backtest"]["coverage_by_steps"][-1]["last"] == 48
    assert [p["period_start"][:10] for p in data["capacity"]] == ["2026-03-22", "2026-03-23"]


def test_stored_service_history_and_current_gpus(site):
    client, _ = site
    response = client.post("/api/v1/forecast", data={"service": "chat", "horizon": "1d", "current_gpus": "1",
                                                     "period": "week", **TIMELINE})  # fmt: skip
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["unique_id"] == "chat" and len(data["forecast"]) == 24
    assert data["current_capacity_rps"] > 0 and len(data["capacity"]) >= 1


def test_saved_forecast_needs_a_token_and_lands_in_the_history(site):
    from gpucast.store.tokens import create_token

    client, _ = site
    fields = {"service": "chat", "horizon": "1d"}
    assert client.post("/api/v1/forecast?save=true", data=fields).status_code == 401
    with client.app.state.store.write() as session:
        token, _ = create_token(session, "alice", "alice")
    saved = client.post("/api/v1/forecast?save=true", data=fields, headers={"Authorization": f"Bearer {token}"})
    assert saved.status_code == 201, saved.text
    plan = client.get(saved.headers["Location"]).json()
    assert plan["kind"] == "forecast" and plan["service"] == "chat" and plan["created_by"] == "alice"
    assert plan["result"]["forecast"] == saved.json()["forecast"]


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({}, 422, "either a history file"),
        ({"service": "nope"}, 404, "nope"),
        ({"service": "chat", "horizon": "soon"}, 422, "horizon"),
        ({"service": "chat", "scenario": "boom"}, 422, "boom"),
        ({"service": "chat", "model": "llama-3.1-8b"}, 422, "input_tokens"),
        ({"service": "chat", "growth_rate": "lots"}, 422, "growth_rate"),
        ({"service": "chat", "horizn": "1d"}, 422, "unknown form field 'horizn'"),  # was a 200 for 14 days
    ],
)
def test_errors_are_one_json_line(site, fields, status, words):
    client, _ = site
    response = client.post("/api/v1/forecast", data=fields)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]


def test_bad_upload_and_file_with_service(site, tmp_path):
    client, path = site
    assert _post(client, path, service="chat").status_code == 422
    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\nyesterday,many\n")
    response = _post(client, bad)
    assert response.status_code == 422 and response.json()["error"]


def test_missing_forecast_extra_names_the_install_command(tmp_path):
    """Without pandas (the fast engine needs no statsforecast) (made unimportable in a child interpreter) the answer is a 422 naming the extra."""
    script = f"""
import sys
sys.modules["pandas"] = None
from fastapi.testclient import TestClient
from gpucast.web import create_app
client = TestClient(create_app("sqlite:///{tmp_path / "x.db"}"))
response = client.post("/api/v1/forecast", files={{"file": ("h.csv", b"timestamp,rps\\n2026-01-01,1\\n")}})
print(response.status_code, response.json()["error"])
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.startswith("422 ") and install_hint("forecast") in out


def test_forecast_page_upload_chart_timeline_and_scenario_switch(site):
    client, path = site
    form = client.get("/forecast")
    assert form.status_code == 200 and 'href="/forecast" class="on"' in form.text and 'id="forecast-form"' in form.text
    csrf = page_csrf(form.text)
    fields = {"csrf_token": csrf, "horizon": "2d", "scenario": "baseline", **TIMELINE}
    with path.open("rb") as handle:
        page = client.post("/forecast", data=fields, files={"file": ("traffic.csv", handle, "text/csv")})
    assert page.status_code == 200, re.findall(r'id="form-error">([^<]*)', page.text)
    html = page.text
    fan = re.search(r'<svg class="chart" id="fan-chart".*?</svg>', html, re.DOTALL)
    assert fan and fan.group(0).count("<polygon") == 2 and fan.group(0).count("<polyline") == 2
    assert "scenario baseline" in html and "backtest MASE" in html
    assert "interval in the last backtest, steps 1–" in html and "of the 48 ahead" in html
    assert 'id="coverage-by-steps">steps 1–48:' in html
    assert len(re.findall(r"<tr><td>2026-03-2", html)) == 2  # two days in the capacity timeline
    # the switcher carries the upload: another scenario without choosing the file again
    switcher = re.search(r'id="scenario-switcher".*?</nav>', html, re.DOTALL)
    assert switcher and 'name="history_data"' in switcher.group(0)
    carried = re.search(r'name="history_data" value="([^"]+)"', switcher.group(0))
    assert carried
    spike = client.post("/forecast", data=fields | {"scenario": "spike", "history_data": carried.group(1),
                                                    "history_name": "traffic.csv"})  # fmt: skip
    assert spike.status_code == 200 and "scenario spike" in spike.text


def test_forecast_page_for_a_service_and_its_errors(site):
    client, _ = site
    page = client.get("/forecast?service=chat&horizon=1d&scenario=optimistic")
    assert page.status_code == 200 and "Forecast for chat" in page.text and "scenario optimistic" in page.text
    assert "/forecast?service=chat&amp;horizon=1d&amp;scenario=spike" in page.text
    assert 'id="capacity"' not in page.text  # no model: no capacity timeline
    missing = client.get("/forecast?service=nope")
    assert missing.status_code == 404 and 'id="form-error"' in missing.text
    csrf = page_csrf(client.get("/forecast").text)
    no_file = client.post("/forecast", data={"csrf_token": csrf, "horizon": "1d"})
    assert no_file.status_code == 422 and "choose a history file" in no_file.text
    forged = client.post("/forecast", data={"csrf_token": "x", "horizon": "1d"})
    assert forged.status_code == 403


TRAINING_QUERY = ("/training?model=llama-3.1-8b&precision=BF16&gpu=H100&dataset_size_tokens=100000000"
                  "&sequence_length=2048&num_epochs=1&global_batch_size=32&method=lora&cloud=aws&pricing=on-demand")  # fmt: skip


def test_training_page_shows_the_api_plan(site):
    """Same plan as POST /api/v1/training: memory chart and table, parallelism, duration, cost; errors inline."""
    client, _ = site
    form = client.get("/training")
    assert form.status_code == 200 and 'href="/training" class="on"' in form.text and 'id="training-form"' in form.text
    body = {"training": {"dataset_size_tokens": 100_000_000, "sequence_length": 2048, "num_epochs": 1,
                         "global_batch_size": 32, "method": "lora"},
            "model": {"model_name": "llama-3.1-8b", "precision": "BF16"}, "gpu": {"gpu_type": "H100"}}  # fmt: skip
    plan = client.post("/api/v1/training", json=body).json()
    page = client.get(TRAINING_QUERY)
    assert page.status_code == 200, re.findall(r'id="form-error">([^<]*)', page.text)
    assert plan["recommendation"] in page.text
    duration = re.search(r'id="duration">([^<]*)<', page.text)
    assert duration and duration.group(1) == f"{plan['training_metrics']['estimated_duration_hours']:,.1f} h"
    cost = re.search(r'id="total-cost">([^<]*)<', page.text)
    assert cost and cost.group(1) == f"${plan['cost']['total_training_cost']:,.0f}"
    assert page.text.count("<svg") == 1 and 'id="memory"' in page.text
    bad = client.get(TRAINING_QUERY.replace("num_epochs=1", "num_epochs=0"))
    assert bad.status_code == 422 and "Epochs: must be greater than 0" in bad.text  # the form's label, no field path


@pytest.mark.parametrize("rows", [20, 100])  # too short for a backtest origin; constant (no backtest at all)
def test_forecast_page_says_not_checked_instead_of_zero_coverage(site, tmp_path, rows):
    """A history with no backtest origin has no coverage (None): the page showed "0% / 0% held-out points inside
    the 80% / 95% interval" — a failed check that never ran; a constant one claimed 100%."""
    client, _ = site
    path = tmp_path / "short.csv"
    values = [10 + (i % 5) for i in range(rows)] if rows == 20 else [7.0] * rows
    path.write_text(
        "timestamp,rps\n"
        + "".join(
            f"2026-03-01T00:00:00Z,{v}\n".replace("00:00", f"{i // 60:02d}:{i % 60:02d}", 1)
            for i, v in enumerate(values)
        )
    )
    fields = {"csrf_token": page_csrf(client.get("/forecast").text), "horizon": "1d", "freq": "1min"}
    with path.open("rb") as handle:
        page = client.post("/forecast", data=fields, files={"file": ("short.csv", handle, "text/csv")})
    assert page.status_code == 200, re.findall(r'id="form-error">([^<]*)', page.text)
    assert '<b id="coverage">not checked</b>' in page.text
    assert "0% / 0%" not in page.text and "100% / 100%" not in page.text


def test_unknown_form_fields_are_refused_by_fleet_and_metrics_too(site):
    """As a JSON body's unknown key is a 422, so is a multipart field no endpoint takes (QA 2026-12-07: a misspelt
    field was ignored with a 200); who may write is still checked before it (401 without a token)."""
    client, path = site
    fleet = client.post("/api/v1/fleet", data={"from_store": "true", "horizon": "1d", "reconcille": "ols"})
    assert fleet.status_code == 422 and fleet.json()["field"] == "reconcille", fleet.text
    with path.open("rb") as handle:
        files = {"file": ("traffic.csv", handle, "text/csv")}
        anonymous = client.post("/api/v1/services/chat/metrics", data={"replace": "true"}, files=files)
    assert anonymous.status_code == 401  # before the field check: a refusal reveals nothing else
    from gpucast.store.tokens import create_token

    with client.app.state.store.write() as session:
        token, _ = create_token(session, "alice", "alice")
    with path.open("rb") as handle:
        signed = client.post("/api/v1/services/chat/metrics", data={"replace": "true"},
                             files={"file": ("traffic.csv", handle, "text/csv")},
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert signed.status_code == 422 and signed.json()["field"] == "replace"  # replace is a query parameter
