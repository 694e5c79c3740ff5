"""The site as a whole (issue 18, items 4, 7 and 8), through FastAPI's TestClient on a real SQLite file:

* ``/docs`` works without internet: Swagger UI's script and stylesheet are served by gpucast itself;
* pages are cheap: templates are compiled once when the app starts, and the plan page's GPU x cloud comparison
  reuses the replica estimates its plan already made (one estimate per configuration, whatever the cloud);
* browsers get an HTML 404 page in the site's layout (the API keeps its JSON errors), a favicon, and wording
  without "steps of h", "1 more replicas" or "40.2k $" beside "5,434 $".
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
import tomllib
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gpucast.charts.svg import Bar, bar_chart
from gpucast.store import open_store
from gpucast.store.plans import save_plan
from gpucast.store.services import ServiceFields, add_service, add_user
from gpucast.web import WebSettings, create_app

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "gpucast"
SWAGGER = PACKAGE / "web" / "static" / "swagger-ui"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}
PLAN_QUERY = "/plan?model=llama-3.1-70b&precision=FP8&rps=10&input_tokens=500&output_tokens=200&cloud=aws"


@pytest.fixture
def store(tmp_path):
    opened = open_store(f"sqlite:///{tmp_path / 'site.db'}")
    with opened.write() as session:
        add_user(session, "alice", "requester", actor="alice")
    yield opened
    opened.close()


@pytest.fixture
def client(store):
    return TestClient(create_app(store=store, settings=WebSettings()))


# --- item 4: the API docs page loads nothing from outside -------------------------------------------------------


def test_docs_page_loads_swagger_ui_from_this_server(client):
    html = client.get("/docs").text
    assert re.findall(r"https?://[^\s'\"]+", html) == []  # no CDN, no external favicon
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/swagger-ui/swagger-ui-bundle.js" in assets and "/static/swagger-ui/swagger-ui.css" in assets
    for asset in assets:
        assert asset.startswith("/"), asset
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 0, asset
    assert (
        client.get("/static/swagger-ui/swagger-ui-bundle.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )
    assert re.search(r"\"validatorUrl\":\s*null", html)  # Swagger UI's online validator badge stays off
    assert "url: '/openapi.json'" in html and client.get("/openapi.json").status_code == 200
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert client.get("/redoc").status_code == 404  # ReDoc would load its script from a CDN: not served


def test_vendored_swagger_ui_is_the_recorded_release():
    """The README beside the files names the release, where it came from, its licence and each file's SHA-256."""
    readme = (SWAGGER / "README.md").read_text()
    assert "swagger-ui-dist" in readme and "Apache-2.0" in readme and re.search(r"\b5\.\d+\.\d+\b", readme)
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        digest = hashlib.sha256((SWAGGER / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in readme, name
    assert "Apache License" in (SWAGGER / "LICENSE").read_text()


def test_every_static_file_ships_in_the_wheel():
    """pyproject's package-data globs cover every file the pages serve (Swagger UI's folder included)."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["gpucast"]
    static = PACKAGE / "web" / "static"
    files = [p.relative_to(PACKAGE).as_posix() for p in static.rglob("*") if p.is_file()]
    assert "web/static/swagger-ui/swagger-ui-bundle.js" in files
    assert [f for f in files if not any(_glob_matches(f, g) for g in globs)] == []


def _glob_matches(path: str, pattern: str) -> bool:
    """setuptools' glob: ``*`` stays inside one folder."""
    parts, wanted = path.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(fnmatch.fnmatchcase(p, w) for p, w in zip(parts, wanted, strict=True))


# --- item 7: no per-request template compilation, no repeated estimates -----------------------------------------


def test_templates_are_compiled_once_when_the_app_starts(client):
    from gpucast.web.pages.render import environment

    env = environment()
    assert env.auto_reload is False and env.cache is not None  # no stat() of every template file on every request
    compiled = {key[1]: id(template) for key, template in env.cache.items()}
    assert set(env.list_templates()) <= set(compiled)  # all of them before the first request
    for path in ("/", "/training", "/forecast", "/fleet", "/history", "/services", "/requests", "/login", PLAN_QUERY):
        assert client.get(path).status_code == 200, path
    again = {key[1]: id(template) for key, template in env.cache.items()}
    assert again == compiled  # the same compiled templates served every page
    assert create_app(store=client.app.state.store) is not None and environment() is env


def test_the_plan_pages_comparison_reuses_the_plans_estimates(client):
    """The plan (one cloud) and its GPU x cloud comparison (every cloud) estimate each configuration once: the
    replica estimate depends on the request's shape, not on the cloud's prices or the request rate."""
    from gpucast.core.inference import replica_estimates

    replica_estimates.cache_clear()
    assert client.get(PLAN_QUERY).status_code == 200
    first = replica_estimates.cache_info()
    assert first.misses == first.currsize > 0  # each (GPU, layout) estimated once (a layout that cannot run too)
    # the comparison asks again for the layouts its cost floors do not skip (core.search_floor), never anew
    assert first.hits > 0
    assert client.get(PLAN_QUERY.replace("rps=10", "rps=25")).status_code == 200  # another rate, the same shape
    again = replica_estimates.cache_info()
    # the rate moves the cost floors, so another rate may search layouts the first skipped (core.search_floor);
    # what it searched before is reused, and nothing is estimated twice
    assert again.misses - first.misses < first.misses // 2 and again.hits > first.hits
    assert again.misses == again.currsize


def test_a_cached_estimate_is_the_computed_one(llama8b, h100):
    from gpucast.catalog import loader
    from gpucast.core.inference import estimate_replica, replica_estimates
    from gpucast.core.specs import Precision
    from gpucast.core.workload import SLO, PlanSettings, Workload

    args = {"precision": Precision.BF16, "kv_precision": Precision.BF16, "tp": 1, "pp": 1, "slo": SLO(),
            "settings": PlanSettings()}  # fmt: skip
    eff = loader.efficiency_for(h100)
    replica_estimates.cache_clear()
    slow = estimate_replica(llama8b, h100, eff, workload=Workload(3.0, 700, 150), **args)
    fast = estimate_replica(llama8b, h100, eff, workload=Workload(40.0, 700, 150, peak_multiplier=3.0), **args)
    assert fast is slow and replica_estimates.cache_info().hits == 1
    fresh = replica_estimates.__wrapped__(llama8b, h100, eff, input_tokens=700, output_tokens=150, **args)
    assert fresh == slow


# --- item 8: HTML 404, favicon, wording -------------------------------------------------------------------------


def test_an_unknown_page_is_an_html_page_for_browsers_and_json_for_the_api(client):
    page = client.get("/no-such-page", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<link rel="stylesheet" href="/static/style.css">' in page.text and '<a href="/history"' in page.text
    assert "Page not found" in page.text and "/no-such-page" in page.text
    hostile = client.get("/%3Cscript%3Ealert(1)%3C%2Fscript%3E", headers=BROWSER)
    assert hostile.status_code == 404 and "<script>" not in hostile.text
    # the API keeps its JSON shape, whatever the client accepts
    api = client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert api.status_code == 404 and api.json() == {"error": "Not Found", "field": None}
    assert client.get("/api/v1/plans/99", headers=BROWSER).json()["field"] is None
    # a client that does not ask for HTML (curl, scripts) keeps the JSON error too
    assert client.get("/no-such-page", headers={"Accept": "application/json"}).json() == {
        "error": "Not Found",
        "field": None,
    }
    assert client.get("/no-such-page", headers={"Accept": "*/*"}).headers["content-type"] == "application/json"
    # another HTTP error on a page: HTML as well, with its headers
    wrong_method = client.get("/logout", headers=BROWSER)
    assert wrong_method.status_code == 405 and wrong_method.headers["content-type"].startswith("text/html")
    assert wrong_method.headers["allow"] == "POST" and "Method Not Allowed" in wrong_method.text


def test_favicon_is_served_and_linked_from_every_page(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert icon.content[:4] == b"\x00\x00\x01\x00" and "max-age" in icon.headers.get("cache-control", "")
    html = client.get("/").text
    links = re.findall(r'<link rel="icon"[^>]*href="([^"]+)"', html)
    assert links and all(client.get(href).status_code == 200 for href in links)
    svg = client.get("/static/favicon.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert ET.fromstring(svg.content).tag == "{http://www.w3.org/2000/svg}svg"
    assert '<link rel="shortcut icon" href="/favicon.ico">' in client.get("/docs").text


@pytest.mark.parametrize(
    ("freq", "words"),
    [("h", "1 hour"), ("2h", "2 hours"), ("D", "1 day"), ("5min", "5 minutes"), ("1min", "1 minute"),
     ("90s", "90 seconds"), ("W", "W")],
)  # fmt: skip
def test_forecast_steps_in_words(freq, words):
    from gpucast.web.pages.forecast import duration_words, step_words

    assert step_words(freq) == words
    assert duration_words(336 * 3600) == "14 days" and duration_words(36 * 3600) == "36 hours"
    assert duration_words(3600) == "1 hour" and duration_words(90) == "90 seconds"


def test_forecast_heading_names_the_step_and_the_span(store, tmp_path):
    pytest.importorskip("statsforecast")
    from gpucast.store.metrics import import_rows, read_rows

    path = tmp_path / "traffic.csv"
    lines = ["timestamp,rps"] + [
        f"{(datetime(2026, 3, 1) + timedelta(hours=h)).isoformat()}Z,{20 + 8 * math.sin(2 * math.pi * h / 24):.3f}"
        for h in range(21 * 24)
    ]
    path.write_text("\n".join(lines) + "\n")
    with store.write() as session:
        add_service(session, "chat", ServiceFields(team="ml", environment="prod", criticality="tier2", cloud="aws",
                                                   region="us-east-1"), actor="alice")  # fmt: skip
        import_rows(session, "chat", read_rows(path)[0], "alice")
    html = TestClient(create_app(store=store)).get("/forecast?service=chat&horizon=2d").text
    assert "Forecast for chat: 48 steps of 1 hour (2 days), scenario baseline" in html
    assert "steps of h" not in html


def _idle_notes() -> list[str]:
    from gpucast import GPUConfig, LLMWorkloadInput, ModelConfig, plan_inference

    notes = []
    for rps in (10, 15, 20):  # 15 req/s at FP8: 2 idle GPUs, "1 more replica"
        for precision in ("FP8", "BF16"):
            plan = plan_inference(LLMWorkloadInput(requests_per_second=rps, avg_input_tokens=500, avg_output_tokens=200),
                                  ModelConfig(model_name="llama-3.1-70b", precision=precision),
                                  GPUConfig(gpu_type="H100"))  # fmt: skip
            notes += [w for w in plan.warnings if "idle" in w]
    return notes


def test_idle_gpu_notes_agree_in_number():
    notes = _idle_notes()
    assert any(re.search(r"\b1 more replica at\b", n) for n in notes)  # the singular case is exercised
    assert any(re.search(r"\b1 x \S+ \(8 GPUs each\) is paid for\b", n) for n in notes)
    for note in notes:
        assert not re.search(r"\b1 (more replicas|idle GPUs)\b", note), note
        assert not re.search(r"\b1 x \S+ \([^)]*\) are\b", note), note
        assert not re.search(r"\b([2-9]|\d\d+) more replica at\b", note), note


def test_cli_service_plan_says_one_replica_and_one_zone(tmp_path, monkeypatch, capsys):
    pytest.importorskip("statsforecast")
    from gpucast.cli.main import main

    monkeypatch.setenv("GPUCAST_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    path = tmp_path / "m.csv"
    rows = ["timestamp,rps,input_tokens,output_tokens"] + [
        f"{(datetime(2025, 1, 1) + timedelta(hours=h)).isoformat()},{0.2 + 0.1 * math.sin(h / 24 * 2 * math.pi):.3f},500,200"
        for h in range(21 * 24)
    ]
    path.write_text("\n".join(rows) + "\n")
    assert main(["service", "add", "batch", "--team", "ml", "--environment", "dev", "--criticality", "tier3",
                 "--cloud", "aws", "--region", "us-east-1", "--model", "llama-3.1-8b", "--gpus", "L40S"]) == 0  # fmt: skip
    assert main(["metrics", "import", "batch", str(path)]) == 0
    capsys.readouterr()
    assert main(["service", "plan", "batch", "--horizon", "2d"]) == 0
    out = capsys.readouterr().out
    assert "at least 1 replica over 1 zone)" in out and "zone(s)" not in out
    assert "Recommendation: 1 replica (1 per zone) = 1 x L40S" in out


def test_money_on_bar_charts_is_written_like_everywhere_else():
    chart = bar_chart([Bar("a", 40_200.0), Bar("b", 5_434.4)], title="cost", unit="$")
    assert "$40,200</text>" in chart and "$5,434</text>" in chart and "k $" not in chart and " $<" not in chart
    monthly = bar_chart([Bar("a", 1_234_567.0)], title="cost", unit="$/mo")
    assert "$1,234,567/mo</text>" in monthly
    assert "12.3k tok/s</text>" in bar_chart([Bar("a", 12_345.0)], title="t", unit="tok/s")  # other units unchanged


def test_history_comparison_writes_costs_one_way(store):
    with store.write() as session:
        ids = [save_plan(session, command="inference", kind="inference", inputs={}, actor="alice",
                         result={"cost": {"monthly_total_cost": cost}}).id for cost in (40_200.0, 5_434.0)]  # fmt: skip
    html = TestClient(create_app(store=store)).get(f"/history/compare?id={ids[0]}&id={ids[1]}").text
    for cost in ("$40,200", "$5,434"):  # the chart's bar label and the table agree
        assert f">{cost}</text>" in html and f">{cost}</td>" in html
    assert not re.search(r"\d(k|M)? \$", html)


def test_plan_page_for_a_gpu_without_a_price_on_the_cloud(client):
    """Found by the mixed-load benchmark: a pinned GPU the cloud does not price (L40S on GCP) made the plan
    page's comparison chart fail (500); the page shows the plan, its note and the other clouds' prices."""
    response = client.get("/plan?model=llama-3.1-8b&precision=BF16&rps=5&input_tokens=128&output_tokens=500"
                          "&cloud=gcp&gpu=L40S")  # fmt: skip
    assert response.status_code == 200 and 'id="result"' in response.text
    assert "no on-demand price for L40S on gcp" in response.text and 'data-chart="bars"' in response.text
