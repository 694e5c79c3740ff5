"""Load and overload against a real ``gpucast serve`` (issue 24, item 1), reduced to fit CI.

The full benchmark (``benchmarks/bench_server.py``, figures in docs/reliability.md) measures latency and
throughput; these tests check what must hold on any machine, however slow: 50 concurrent clients sending mixed
plans, pages and catalog reads get no error and no 5xx; 200 clients are queued, never dropped nor hung; past the
overload limits the server answers ``503`` with ``Retry-After`` in the API's one error shape and keeps serving.
The load generator is the benchmark's own (one keep-alive connection per client thread).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import app_in_thread, gpucast_server, load_script

pytest.importorskip("fastapi")

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_server.py"


def bench():
    return load_script(BENCH, "bench_server")


def test_50_clients_mixed_requests_get_no_errors(tmp_path):
    """~3 s of the benchmark's page mix (plan pages, form, history, catalog, plan API) from 50 clients."""
    load = bench()
    with gpucast_server(str(tmp_path / "load.db")) as server:
        result = load.run(int(server["port"]), load.requests_for("pages", 500, distinct=60), clients=50)
        assert result.errors == [] and result.shed == 0
        assert len(result.answers) == 500
        with urllib.request.urlopen(server["base"] + "/api/v1/health", timeout=5) as response:
            assert response.status == 200
    assert "Traceback" not in server["stderr"]


def test_200_clients_are_queued_not_dropped(tmp_path):
    """Four times the target load: every request is answered (the server queues them), nothing hangs."""
    load = bench()
    with gpucast_server(str(tmp_path / "load.db")) as server:
        began = time.monotonic()
        result = load.run(int(server["port"]), load.requests_for("api", 400, distinct=40), clients=200)
        assert result.errors == []
        assert len(result.answers) + result.shed == 400
        assert time.monotonic() - began < 60
    assert "Traceback" not in server["stderr"]


def test_past_the_limits_the_server_sheds_load_with_503_and_retry_after():
    """A server allowed 2 requests at once and 3 queued for 0.2 s, under 60 clients of plan pages: the rest get
    503 + Retry-After (the one JSON error shape), never another error; the health check stays open throughout and
    the server answers normally afterwards."""
    from gpucast.web import WebSettings, create_app

    settings = WebSettings(max_in_flight=2, max_queued=3, queue_seconds=0.2, plan_cache_size=0)
    app = create_app("sqlite://", settings)
    with app_in_thread(app) as base:
        load = bench()
        statuses: list[tuple[int, str | None, bytes]] = []
        lock = threading.Lock()
        health: list[int] = []

        def client(index: int) -> None:
            body = load.bodies(1, seed=index)[0]
            request = urllib.request.Request(f"{base}/plan?" + load.plan_page(body).split("?", 1)[1], method="GET")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    got = (response.status, response.headers.get("Retry-After"), b"")
            except urllib.error.HTTPError as error:
                got = (error.code, error.headers.get("Retry-After"), error.read())
            with lock:
                statuses.append(got)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(60)]
        for t in threads:
            t.start()
        with urllib.request.urlopen(f"{base}/api/v1/health", timeout=5) as response:
            health.append(response.status)
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a client hung"
        codes = {status for status, _, _ in statuses}
        assert codes <= {200, 422, 503}, statuses
        assert 503 in codes and 200 in codes
        for status, retry_after, body in statuses:
            if status == 503:
                assert retry_after == "1"
                error = json.loads(body)
                assert set(error) == {"error", "field"} and "busy" in error["error"]
        assert health == [200]
        with urllib.request.urlopen(f"{base}/api/v1/models", timeout=5) as response:
            assert response.status == 200
