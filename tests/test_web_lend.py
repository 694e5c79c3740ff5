"""A request waiting for a new plan in a plan lane lends its admission slot (``limits.InFlightLimit.lent``): with
every slot taken by plan pages waiting their turn, a catalog read is still answered at once, not queued behind
them and refused; the slots add up again once the pages are done."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import app_in_thread

pytest.importorskip("fastapi")


def test_plan_pages_waiting_in_their_lane_do_not_block_cheap_requests(monkeypatch):
    from gpucast.web import WebSettings, create_app, offload
    from gpucast.web.pages import planning

    release = threading.Event()
    real = planning._compute

    def held(*args):  # a plan page that takes as long as the test says (the real computation, then a wait)
        result = real(*args)
        release.wait(30)
        return result

    monkeypatch.setattr(planning, "_compute", held)
    settings = WebSettings(max_in_flight=2, max_queued=5, queue_seconds=0.3, plan_cache_size=0)
    app = create_app("sqlite://", settings)
    try:
        with app_in_thread(app) as base:
            deadline = time.monotonic()
            statuses: list[int] = []

            def page(rps: int) -> None:
                query = f"model=llama-3.1-8b&rps={rps}&input_tokens=500&output_tokens=200&gpu=L40S"
                with urllib.request.urlopen(f"{base}/plan?{query}", timeout=60) as response:
                    statuses.append(response.status)

            pages = [threading.Thread(target=page, args=(rps,)) for rps in (3, 4)]  # two new questions: both slots
            for t in pages:
                t.start()
            limit, book = app.state.in_flight_limit, offload.flights(app.state)
            while len(book.running) < 2:  # both pages admitted and waiting on the page lane
                assert time.monotonic() < deadline + 10, "the pages never reached their lane"
                time.sleep(0.02)
            assert limit.lending == 2
            began = time.monotonic()  # both slots are the pages: without the lending this one queues, then gets 503
            with urllib.request.urlopen(f"{base}/api/v1/models", timeout=5) as response:  # 503 if the slots were held
                assert response.status == 200
            assert time.monotonic() - began < 0.3  # answered, not queued until the queue's time ran out
            release.set()
            for t in pages:
                t.join(timeout=60)
            assert statuses == [200, 200]
            assert limit.lending == 0 and limit.in_flight == 0  # every slot given back, none counted twice
    finally:
        release.set()
