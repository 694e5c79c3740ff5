"""Identical new questions in flight are computed once (issue 24): against a real ``gpucast serve``, many clients
asking the same new plan page, or posting the same new plan, at the same moment cost one job in the plan lane,
and every client gets the same answer. ``/metrics`` shows the lane's jobs and the requests that joined one."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from conftest import gpucast_server

pytest.importorskip("fastapi")

CLIENTS = 16
PAGE = "/plan?model=llama-3.1-70b&precision=FP16&rps=13&input_tokens=700&output_tokens=300&cloud=aws"
PLAN = {"model": {"model_name": "llama-3.1-8b"}, "workload": {"requests_per_second": 17, "avg_input_tokens": 900,
                                                              "avg_output_tokens": 250}}  # fmt: skip


def metrics(base: str) -> dict[str, float]:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"}


def at_once(count: int, ask) -> list[tuple[int, bytes]]:
    """``ask()`` from ``count`` threads released together; their (status, body)."""
    gate = threading.Barrier(count)
    answers: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def client() -> None:
        gate.wait()
        with ask() as response:
            answer = (response.status, response.read())
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=client) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == count
    return answers


def test_identical_new_questions_at_once_are_computed_once(tmp_path):
    with gpucast_server(str(tmp_path / "coalesce.db")) as server:
        base = server["base"]
        before = metrics(base)
        assert before['gpucast_plan_lane_jobs_total{lane="page"}'] == 0

        pages = at_once(CLIENTS, lambda: urllib.request.urlopen(base + PAGE, timeout=120))
        assert {status for status, _ in pages} == {200} and len({body for _, body in pages}) == 1
        assert b"llama" in pages[0][1].lower()
        after_pages = metrics(base)
        assert after_pages['gpucast_plan_lane_jobs_total{lane="page"}'] == 1  # one computation for 16 clients
        assert after_pages["gpucast_page_cache_misses_total"] == 1
        joined = after_pages["gpucast_plan_coalesced_total"]
        hits = after_pages["gpucast_page_cache_hits_total"]
        assert joined >= 1 and joined + hits == CLIENTS - 1  # the rest waited for it or came after it was kept

        body = json.dumps(PLAN).encode()

        def post():
            request = urllib.request.Request(base + "/api/v1/inference", data=body,
                                             headers={"Content-Type": "application/json"})  # fmt: skip
            return urllib.request.urlopen(request, timeout=120)

        plans = at_once(CLIENTS, post)
        assert {status for status, _ in plans} == {200} and len({body for _, body in plans}) == 1
        assert json.loads(plans[0][1])["gpu_resources"]
        after = metrics(base)
        assert after['gpucast_plan_lane_jobs_total{lane="plan"}'] == 1
        assert after["gpucast_plan_cache_misses_total"] == after_pages["gpucast_plan_cache_misses_total"] + 1
        assert after["gpucast_plan_coalesced_total"] > joined
    assert "Traceback" not in server["stderr"]
