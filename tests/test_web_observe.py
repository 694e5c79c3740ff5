"""Observability (issue 24, item 5): ``X-Request-ID`` in and out, ``/metrics`` in the Prometheus text format, and
the JSON request log of a real ``gpucast serve``."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.request

import pytest
from fastapi.testclient import TestClient

from conftest import gpucast_server
from gpucast.web import create_app

PLAN = {"workload": {"requests_per_second": 5, "avg_input_tokens": 500, "avg_output_tokens": 200},
        "model": {"model_name": "llama-3.1-8b", "precision": "BF16"}}  # fmt: skip
SAMPLE = re.compile(r"^([a-z_]+)(\{.*\})? (-?[0-9.e+]+|\+Inf)$")


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "observe.db"


@pytest.fixture
def client(db_path):
    with TestClient(create_app(f"sqlite:///{db_path}")) as test_client:
        yield test_client


def metrics(client) -> dict[str, float]:
    """``name{labels}`` -> value, after checking every line is a comment or a well-formed sample."""
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in answer.text.splitlines():
        if line.startswith("# "):
            assert line.split()[1] in ("HELP", "TYPE"), line
            continue
        match = SAMPLE.match(line)
        assert match, line
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def test_request_ids_are_kept_when_sane_and_made_otherwise(client):
    assert client.get("/api/v1/health", headers={"X-Request-ID": "lb-42.a:b"}).headers["x-request-id"] == "lb-42.a:b"
    made = client.get("/api/v1/models").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    hostile = client.get("/api/v1/models", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", hostile)
    assert client.get("/no/such/page").headers["x-request-id"]  # errors carry one too


def test_metrics_count_requests_latency_plan_cache_and_database_errors(client, db_path):
    for _ in range(3):
        assert client.post("/api/v1/inference", json=PLAN).status_code == 200
    assert client.get("/api/v1/services/nope").status_code == 404
    with sqlite3.connect(db_path) as connection:  # the store's table is gone: the next read is a database error
        connection.execute("PRAGMA foreign_keys=OFF")
        connection.execute("DROP TABLE services")
    broken = client.get("/api/v1/services")
    assert broken.status_code == 503 and broken.headers["retry-after"] == "5"
    seen = metrics(client)
    route = 'route="/api/v1/inference"'
    assert seen[f'gpucast_http_requests_total{{{route},method="POST",status="200"}}'] == 3
    assert seen['gpucast_http_requests_total{route="/api/v1/services/{name}",method="GET",status="404"}'] == 1
    assert seen['gpucast_http_requests_total{route="/api/v1/services",method="GET",status="503"}'] == 1
    assert seen["gpucast_plan_cache_misses_total"] == 1 and seen["gpucast_plan_cache_hits_total"] == 2
    assert seen["gpucast_database_errors_total"] == 1
    buckets = [v for k, v in seen.items() if k.startswith(f"gpucast_http_request_duration_seconds_bucket{{{route}")]
    assert buckets == sorted(buckets) and buckets[-1] == 3  # cumulative, +Inf holds every request
    assert seen[f"gpucast_http_request_duration_seconds_count{{{route}}}"] == 3
    assert seen["gpucast_http_in_flight"] == 0  # nothing else in progress (/metrics itself passes the limit)
    assert client.get("/nothing/here/123").status_code == 404
    assert 'route="unmatched"' in client.get("/metrics").text  # raw paths never become series


def test_metrics_count_page_cache_hits_misses_and_plan_lane_jobs(client):
    """Anonymous plan pages: the first visit of an address is a page-cache miss computed in the page lane, the
    next ones hits; the page's plan is one plan-cache miss; a logged-out visitor's form is kept too."""
    page = "/plan?model=llama-3.1-8b&precision=BF16&rps=5&input_tokens=500&output_tokens=200"
    start = metrics(client)
    assert start["gpucast_page_cache_hits_total"] == 0 and start["gpucast_page_cache_misses_total"] == 0
    bodies = {client.get(page).content for _ in range(3)}
    assert len(bodies) == 1
    assert client.get("/").status_code == client.get("/").status_code == 200
    seen = metrics(client)
    assert seen["gpucast_page_cache_misses_total"] == 2 and seen["gpucast_page_cache_hits_total"] == 3
    assert seen["gpucast_page_cache_entries"] == 2
    assert (
        seen['gpucast_plan_lane_jobs_total{lane="page"}'] == 1
        and seen['gpucast_plan_lane_jobs_total{lane="plan"}'] == 0
    )
    assert seen["gpucast_plan_cache_misses_total"] == 1 and seen["gpucast_plan_cache_entries"] == 1
    assert seen["gpucast_plan_coalesced_total"] == 0  # one request at a time: nothing to join


def test_the_server_logs_one_json_line_per_request_with_its_id(tmp_path):
    with gpucast_server(f"sqlite:///{tmp_path / 'log.db'}", "--log-level", "info") as server:
        request = urllib.request.Request(f"{server['base']}/api/v1/models", headers={"X-Request-ID": "trace-7"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["X-Request-ID"] == "trace-7"
    lines = [json.loads(line) for line in server["stderr"].splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("request_id") == "trace-7"]
    assert len(ours) == 1, server["stderr"]
    assert ours[0]["route"] == "/api/v1/models" and ours[0]["status"] == 200 and ours[0]["method"] == "GET"
    assert ours[0]["duration_ms"] >= 0 and ours[0]["level"] == "info" and ours[0]["logger"] == "gpucast.access"
    assert all(not line.startswith("INFO:") for line in server["stderr"].splitlines())  # uvicorn's text is off
