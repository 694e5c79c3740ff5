"""What makes a repeated request cheap (issue 24, item 1): anonymous pages kept whole with an ETag, 304 for an
unchanged page, the catalog encoded once, a cached plan sent as its first bytes, and plan misses computed in
one-thread lanes off the event loop. Through FastAPI's TestClient on a real SQLite store."""

from __future__ import annotations

import json
import threading
import time

import anyio
import pytest
from fastapi.testclient import TestClient

from conftest import page_login
from gpucast.catalog.summary import model_rows
from gpucast.store import open_store
from gpucast.store.services import add_user
from gpucast.store.tokens import create_token
from gpucast.web import WebSettings, create_app, offload
from gpucast.web.pages.session import COOKIE, decode

PLAN_QUERY = "/plan?model=llama-3.1-8b&precision=BF16&rps=5&input_tokens=500&output_tokens=200&cloud=aws"
PLAN = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 200},
        "model": {"model_name": "llama-3.1-8b", "precision": "BF16"}}  # fmt: skip


@pytest.fixture
def store(tmp_path):
    opened = open_store(f"sqlite:///{tmp_path / 'cache.db'}")
    with opened.write() as session:
        add_user(session, "alice", "requester", actor="alice")
    yield opened
    opened.close()


def _client(store, **settings) -> TestClient:
    return TestClient(create_app(store=store, settings=WebSettings(**settings)))


def test_an_anonymous_plan_page_is_kept_whole_and_revalidated_with_its_etag(store):
    app_client = _client(store)
    first = app_client.get(PLAN_QUERY)
    assert first.status_code == 200 and 'id="result"' in first.text
    etag = first.headers["etag"]
    assert etag.startswith('"') and first.headers["cache-control"] == "private, no-cache"
    other = TestClient(app_client.app)  # another visitor: a session (and CSRF token) of its own
    second = other.get(PLAN_QUERY)
    assert second.content == first.content and second.headers["etag"] == etag
    assert app_client.app.state.page_cache.stats().hits == 1
    for client in (app_client, other):  # the page names no session: no CSRF token of either visitor in it
        session = decode(client.cookies[COOKIE].strip('"'), app_client.app.state.session_secret)
        assert session is not None and session.csrf not in first.text
    unchanged = other.get(PLAN_QUERY, headers={"If-None-Match": f'"nope", W/{etag}'})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag
    assert unchanged.headers["x-frame-options"] == "DENY"  # the security headers on a 304 too
    assert other.get(PLAN_QUERY, headers={"If-None-Match": '"stale"'}).content == first.content
    form = app_client.get("/")
    assert (
        form.status_code == 200 and other.get("/", headers={"If-None-Match": form.headers["etag"]}).status_code == 304
    )


def test_a_logged_in_visitor_gets_a_page_of_their_own_never_the_kept_one(store):
    with store.write() as session:
        token = create_token(session, "alice", "alice")[0]
    client = _client(store)
    anonymous = client.get(PLAN_QUERY)
    csrf = page_login(client, token)
    mine = client.get(PLAN_QUERY, headers={"If-None-Match": anonymous.headers["etag"]})
    assert mine.status_code == 200 and "etag" not in mine.headers
    assert "alice" in mine.text and csrf in mine.text and 'id="save-form"' in mine.text
    assert "alice" not in anonymous.text and 'id="save-form"' not in anonymous.text


def test_an_error_page_is_not_kept_and_reads_that_need_a_token_still_ask_for_a_login(store):
    client = _client(store)
    bad = PLAN_QUERY.replace("rps=5", "rps=-1")
    assert client.get(bad).status_code == 422 and client.get(bad).status_code == 422
    assert client.app.state.page_cache.stats().entries == 0 and "etag" not in client.get(bad).headers
    closed = _client(store, read_token_required=True)
    answer = closed.get(PLAN_QUERY, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


def test_the_catalog_is_sent_with_an_etag_and_answered_304_when_unchanged(store):
    client = _client(store)
    models = client.get("/api/v1/models")
    assert models.json() == json.loads(json.dumps(model_rows())) and models.headers["cache-control"] == "no-cache"
    assert client.get("/api/v1/models", headers={"If-None-Match": models.headers["etag"]}).status_code == 304
    gpus = client.get("/api/v1/gpus")
    assert gpus.status_code == 200 and gpus.headers["etag"] != models.headers["etag"]


def test_a_cached_plan_is_sent_as_the_bytes_it_was_first_sent_as(store):
    client = _client(store)
    first = client.post("/api/v1/inference", json=PLAN)
    reordered = {"model": PLAN["model"], "workload": dict(reversed(PLAN["workload"].items()))}
    second = client.post("/api/v1/inference", json=reordered)  # the same question, keys in another order
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert first.headers["content-type"] == "application/json"
    assert client.app.state.plan_cache.stats().hits == 1


def test_each_lane_computes_one_at_a_time_and_the_lanes_side_by_side():
    """Five plans and five pages at once: never two of a lane together, one of each together (sleep releases
    the GIL as a database wait would; a capacity search holds it, which is why a lane has one thread)."""

    class State:
        pass

    state = State()
    running = {"plan": 0, "page": 0}
    most = {"plan": 0, "page": 0, "both": 0}
    lock = threading.Lock()

    def work(lane: str) -> str:
        with lock:
            running[lane] += 1
            most[lane] = max(most[lane], running[lane])
            most["both"] = max(most["both"], running["plan"] + running["page"])
        time.sleep(0.02)
        with lock:
            running[lane] -= 1
        return lane

    async def main() -> list[str]:
        results: list[str] = []

        async def one(lane: offload.Lane) -> None:
            results.append(await offload.compute(state, lane, work, lane))

        async with anyio.create_task_group() as group:
            for lane in ("plan", "page") * 5:
                group.start_soon(one, lane)
        return results

    assert sorted(anyio.run(main)) == ["page"] * 5 + ["plan"] * 5
    offload.shut_down(state)  # the app stopped; started again, it makes new lanes
    assert anyio.run(offload.compute, state, "plan", work, "plan") == "plan"
    offload.shut_down(state)
    assert most == {"plan": offload.LANE_THREADS, "page": offload.LANE_THREADS, "both": 2 * offload.LANE_THREADS}
