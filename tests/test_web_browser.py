"""Browser end to end: Playwright for Python drives Debian's Chromium against a real ``gpucast serve`` (uvicorn
on a free 127.0.0.1 port, a SQLite file in a tmp dir). No browser is downloaded: the tests use
/usr/bin/chromium and are skipped, saying why, when it or Playwright is missing.

Each page is saved to docs/screenshots/*.png (shown in the README).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import gpucast_server

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); the browser tests need it", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed ([dev] extra)")

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SAMPLE_PLANS = [("llama-3.1-8b", "BF16", 4.0), ("llama-3.1-70b", "FP8", 10.0), ("mistral-7b", "BF16", 20.0),
                ("llama-3.1-70b", "BF16", 3.0)]  # fmt: skip


def _seed(db: str) -> dict[str, str]:
    """Users (alice requester, bob approver), their tokens, a service and a few saved plans."""
    from gpucast.inputs.types import LLMWorkloadInput, ModelConfig
    from gpucast.planning.inference import plan_inference
    from gpucast.store import open_store
    from gpucast.store.plans import save_plan
    from gpucast.store.services import ServiceFields, add_service, add_user
    from gpucast.store.tokens import create_token

    with open_store(db) as store, store.write() as session:
        add_user(session, "alice", "requester", actor="alice")
        add_user(session, "bob", "approver", actor="alice")
        tokens = {name: create_token(session, name, name)[0] for name in ("alice", "bob")}
        add_service(session, "chat", ServiceFields(team="ml", environment="prod", criticality="tier1", cloud="aws",
                                                   region="us-east-1", model="llama-3.1-70b"), actor="alice")  # fmt: skip
        for model, precision, rps in SAMPLE_PLANS:
            workload = LLMWorkloadInput(requests_per_second=rps, avg_input_tokens=500, avg_output_tokens=200)
            result = plan_inference(workload, ModelConfig(model_name=model, precision=precision)).to_dict()
            save_plan(session, command="inference", kind="inference", inputs={"model": model}, result=result,
                      actor="alice", service="chat")  # fmt: skip
    return tokens


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    db = str(tmp_path_factory.mktemp("browser") / "web.db")
    tokens = _seed(db)
    with gpucast_server(db) as server:
        yield {"base": server["base"], "tokens": tokens}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(page: Any, server: dict[str, Any], user: str, next_url: str) -> None:
    page.goto(f"{server['base']}/login?next={next_url}")
    page.fill("#token", server["tokens"][user])
    page.click("#login-submit")
    page.wait_for_url(re.compile(re.escape(next_url) + "$"))
    assert user in page.inner_text("header")


def test_plan_form_renders_the_charts_with_the_operating_point(page, server):
    page.goto(server["base"] + "/")
    page.select_option("#model", "llama-3.1-70b")
    page.select_option("#precision", "FP8")
    page.fill("#rps", "12")
    page.fill("#input_tokens", "800")
    page.fill("#output_tokens", "250")
    page.select_option("#cloud", "aws")
    page.click("#plan-submit")
    page.wait_for_selector("#result")
    lines = page.locator('svg.chart[data-chart="line"]')
    assert lines.count() == 2
    assert int(lines.first.get_attribute("data-points")) >= 10
    assert page.locator("svg.chart circle.operating-point").count() == 2
    assert page.locator('svg.chart[data-chart="stacked-bar"] rect.part').count() == 4
    assert page.locator('svg.chart[data-chart="bars"] rect.bar').count() >= 2
    assert "replicas" in page.inner_text("#result")
    _shot(page, "plan")


def test_a_bad_value_is_shown_next_to_the_form(page, server):
    page.goto(server["base"] + "/plan?model=llama-3.1-70b&rps=0&input_tokens=500&output_tokens=200")
    assert page.inner_text("#form-error") == "Requests/s: must be greater than 0"  # the form's label, not a field path
    assert page.locator("#plan-form").count() == 1 and page.locator("#result").count() == 0


def _costs(page: Any) -> list[float]:
    cells = page.locator("#history-table tbody td.num").all()
    return [float(c.get_attribute("data-value")) for c in cells]


def test_history_table_sorts_and_plots_selected_plans(page, server):
    page.goto(server["base"] + "/history")
    assert page.locator("#history-table tbody tr").count() == len(SAMPLE_PLANS)
    page.click('a.sort[data-column="monthly_cost"]')
    page.wait_for_url(re.compile(r"sort=monthly_cost$"))
    ascending = _costs(page)
    assert ascending == sorted(ascending) and len(ascending) == len(SAMPLE_PLANS)
    page.click('a.sort[data-column="monthly_cost"]')
    page.wait_for_url(re.compile(r"sort=-monthly_cost$"))
    assert _costs(page) == sorted(ascending, reverse=True)
    _shot(page, "history")
    boxes = page.locator('#history-table input[type="checkbox"]')
    for i in range(3):
        boxes.nth(i).check()
    page.click("#compare-submit")
    page.wait_for_url(re.compile(r"/history/compare\?"))
    charts = page.locator('svg.chart[data-chart="bars"]')
    assert charts.count() == 3 and all(int(c.get_attribute("data-points")) == 3 for c in charts.all())
    _shot(page, "history-compare")


def test_requester_is_refused_and_approver_approves(page, server):
    _login(page, server, "alice", "/requests")
    page.select_option('#request-form select[name="service"]', "chat")
    page.select_option('#request-form select[name="gpu_type"]', "h100-sxm")
    page.fill('#request-form input[name="count"]', "16")
    page.fill('#request-form textarea[name="justification"]', "Q3 launch")
    page.click("#request-form button[type=submit]")
    page.wait_for_url(re.compile(r"/requests/\d+$"))
    page.click("#action-submit")
    page.wait_for_url(re.compile(r"done=submit$"))
    assert page.inner_text("#status") == "submitted"
    page.fill("#comment", "approving my own request")
    page.click("#action-approve")
    assert "approve needs the role approver or admin" in page.inner_text("#form-error")
    assert page.inner_text("#status") == "submitted"
    _shot(page, "request-refused")
    page.click("header button.link")  # log out (a POST with the CSRF token)
    page.wait_for_url(server["base"] + "/")
    request_url = page.url
    _login(page, server, "bob", "/requests")
    page.click("#requests-table tbody a")
    request_url = page.url
    page.fill("#comment", "budget ok")
    page.click("#action-approve")
    page.wait_for_url(re.compile(r"done=approve$"))
    assert page.inner_text("#status") == "approved"
    trail = page.inner_text("#history")
    assert "bob" in trail and "budget ok" in trail and "submitted → approved" in trail
    _shot(page, "request")
    page.goto(server["base"] + "/requests")
    _shot(page, "requests")
    page.goto(server["base"] + "/services")
    _shot(page, "services")
    assert request_url.startswith(server["base"])


def test_posts_without_the_csrf_token_are_refused(page, server):
    _login(page, server, "bob", "/services")
    forged = page.request.post(server["base"] + "/services", form={"name": "evil", "team": "x", "environment": "dev",
                                                                   "criticality": "tier3", "cloud": "aws", "region": "r"})  # fmt: skip
    assert forged.status == 403 and "did not come from this site" in forged.text()
    assert "evil" not in page.goto(server["base"] + "/services").text()
    page.goto(server["base"] + "/login")
    _shot(page, "login")


def _offline(page: Any, server: dict[str, Any]) -> list[str]:
    """Refuse every request that does not go to the server (as without internet); the refused addresses."""
    refused: list[str] = []

    def handle(route: Any) -> None:
        if route.request.url.startswith(server["base"] + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return refused


def test_api_docs_render_without_internet(page, server):
    """/docs (Swagger UI) lists the operations with every request outside the server refused."""
    refused = _offline(page, server)
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    page.goto(server["base"] + "/docs")
    page.wait_for_selector(".opblock-summary")
    assert page.locator(".opblock").count() >= 20
    assert page.locator(".opblock-summary-path", has_text="/api/v1/inference").count() >= 1
    assert "gpucast" in page.inner_text(".information-container")
    assert refused == [] and failed == []


def test_pages_load_nothing_missing_and_an_unknown_page_is_a_page(page, server):
    """Every page's requests succeed (stylesheet, icons); a mistyped address shows the site's 404 page."""
    refused = _offline(page, server)
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    for path in ("/", "/history", "/services"):
        page.goto(server["base"] + path)
        for href in page.eval_on_selector_all('link[rel="icon"]', "links => links.map(l => l.href)"):
            assert page.request.get(href).status == 200, href
    icon = page.request.get(server["base"] + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    assert refused == [] and failed == []
    response = page.goto(server["base"] + "/no-such-page")
    assert response is not None and response.status == 404
    assert page.inner_text("h1") == "Page not found" and "/no-such-page" in page.inner_text("#page-error")
    assert page.locator("header.top nav a").count() >= 6  # the site's layout, with its navigation
