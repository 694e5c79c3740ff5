"""Shared fixtures: catalog objects and a hand-checkable efficiency (all fractions 1, no overheads)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings

# Plans in tests use the packaged price catalog only, never a developer's local price file (`gpucast prices update`
# writes ~/.local/share/gpucast/prices.toml); a test that needs one points this at its own file.
os.environ["GPUCAST_PRICES_FILE"] = os.path.join(os.path.dirname(__file__), "data", "prices", "no-local-prices.toml")

from gpucast.catalog import loader
from gpucast.core.perf import Efficiency
from gpucast.core.replica import ReplicaConfig

# Property tests draw the same examples on every run (a fixed seed): CI then tests exactly what passed here; a gap
# found this way is recorded in the issue, not left to fail at random (one was: at p99 the ITL tail's step in the
# share of chunk-carrying steps made capacity non-monotone in prompt length; issue 21, since fixed).
# GPUCAST_HYPOTHESIS_RANDOM=1 draws fresh examples, to hunt for more.
settings.register_profile("fixed", derandomize=True)
settings.register_profile("random", derandomize=False)
settings.load_profile("random" if os.environ.get("GPUCAST_HYPOTHESIS_RANDOM") else "fixed")

IDEAL = Efficiency(
    bandwidth_fraction=1.0,
    kv_bandwidth_fraction=1.0,
    compute_fraction=1.0,
    prefill_fraction=1.0,
    step_overhead_s=0.0,
    allreduce_latency_s=0.0,
    interconnect_fraction=1.0,
)


def load_script(path: Path, name: str) -> ModuleType:
    """A script of scripts/ or benchmarks/ (not a package) imported as module ``name``: registered in sys.modules
    first, as dataclasses look their module up while the file executes."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ideal() -> Efficiency:
    return IDEAL


@pytest.fixture
def local_price_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private local price file (``$GPUCAST_PRICES_FILE``) for the test; the loader's caches are cleared before and
    after, so no other test sees its rows."""
    from gpucast.catalog.price_overrides import ENV_FILE

    path = tmp_path / "prices.toml"
    monkeypatch.setenv(ENV_FILE, str(path))
    loader.reload_prices()
    yield path
    monkeypatch.undo()
    loader.reload_prices()


@pytest.fixture
def h100():
    return loader.resolve_gpu("H100")


@pytest.fixture
def llama8b():
    return loader.resolve_model("llama-3.1-8b")


@pytest.fixture
def llama70b():
    return loader.resolve_model("llama-3-70b")


def gpucast_exe() -> list[str]:
    """The installed console script (end-to-end tests run the real command)."""
    exe = shutil.which("gpucast", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    return [exe] if exe else [sys.executable, "-m", "gpucast"]


def free_port() -> int:
    """A TCP port nobody listens on right now (for real servers started by the tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def app_in_thread(app: Any) -> Iterator[str]:
    """The ASGI ``app`` served by a real uvicorn on a free 127.0.0.1 port in a daemon thread, for tests that reach
    into the app's state while it serves; yields ``http://127.0.0.1:PORT`` once it accepts, stops it afterwards."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def gpucast_server(db: str, *args: str) -> Iterator[dict[str, str]]:
    """A real ``gpucast serve`` on a free 127.0.0.1 port over ``db``, ready when this yields
    ``{"base": "http://127.0.0.1:PORT", "port": ...}``; after the block it is stopped and ``stderr`` is filled in."""
    port = free_port()
    command = [*gpucast_exe(), "serve", "--port", str(port), "--db", db, "--log-level", "warning", *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server = {"base": f"http://127.0.0.1:{port}", "port": str(port), "stderr": "", "pid": str(process.pid)}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{server['base']}/api/v1/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "gpucast serve did not start within 30 s"
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        server["stderr"] = process.communicate(timeout=15)[1]


def page_csrf(html: str) -> str:
    """The CSRF token a page carries in its forms."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def page_login(client, token: str) -> str:
    """Log a TestClient in through the login form with an API token; the CSRF token of its session."""
    csrf = page_csrf(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": csrf, "token": token, "next": "/requests"},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303 and response.headers["location"] == "/requests"
    return page_csrf(client.get("/requests").text)


def llama8b_fp8_h100_replica(budget: int, front_s: float | None = None) -> ReplicaConfig:
    """Llama-3.1-8B FP8 on one H100 (vLLM's memory defaults, 4,096-token context) with a ``budget``-token prefill
    budget and room for every request of a simulated run; ``front_s``: the server front end, else the catalog's.
    The scheduler-simulation tests' replica (finite runs, closed loops): a prompt of ``budget`` tokens fills a step."""
    import dataclasses

    from gpucast.core.inference import estimate_replica
    from gpucast.core.memory import MemorySettings
    from gpucast.core.specs import Precision
    from gpucast.core.workload import SLO, PlanSettings, Workload

    gpu = loader.resolve_gpu("H100")
    settings = PlanSettings(memory=MemorySettings.for_engine(loader.resolve_engine("vllm"), None), context_window=4096)
    est = estimate_replica(
        loader.resolve_model("llama-3.1-8b"), gpu, loader.efficiency_for(gpu, "vllm"),
        precision=Precision.FP8, kv_precision=Precision.FP8, tp=1, pp=1,
        workload=Workload(1.0, budget, 1), slo=SLO(1e9, 1e9), settings=settings,
    )  # fmt: skip
    eff = est.config.efficiency if front_s is None else dataclasses.replace(est.config.efficiency, frontend_s=front_s)
    return dataclasses.replace(est.config, chunk_tokens=budget, max_sequences=4096, efficiency=eff)
