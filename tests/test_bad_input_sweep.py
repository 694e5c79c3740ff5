"""Regressions of the hostile-input sweep of 2026-12-07 (helper `badinput`): each input ran through the real
``gpucast`` command in a subprocess, or a real ``gpucast serve``, and was a traceback, a 500, invalid JSON or a run
without an answer before. Each must now be one ``gpucast: error:`` line and exit 2, a structured 4xx, or valid JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import gpucast_exe, gpucast_server

SRC = str(Path(__file__).resolve().parents[1] / "src")


def gpucast(*argv: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command, in a subprocess, over this checkout's sources."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = gpucast_exe() if os.environ.get("GPUCAST_TEST_INSTALLED") else [sys.executable, "-m", "gpucast"]
    return subprocess.run([*command, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("gpucast: error: "), result.stderr
    return lines[0]


def post_json(base: str, path: str, body: object) -> tuple[int, bytes]:
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


TINY_RATE = ["--model", "llama-3.1-8b", "--rps", "1e-320", "--input-tokens", "1000", "--output-tokens", "200"]


def test_compare_json_of_a_vanishing_rate_is_valid_json() -> None:
    """``compare --rps 1e-320 --json``: the cost per million tokens overflows to inf; it was written as ``Infinity``
    (not JSON). It is null now, as in ``inference --json``."""
    result = gpucast("compare", *TINY_RATE, "--top", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    rows = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in compare --json"))
    assert rows and all(row["cost_per_million_tokens"] is None for row in rows)
    assert all(row["total_gpus"] >= 1 for row in rows)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = tmp_path_factory.mktemp("badinput") / "web.db"
    with gpucast_server(f"sqlite:///{db}", "--plan-processes", "0") as running:
        yield running["base"]


def test_rest_compare_of_a_vanishing_rate_is_not_a_500(server: str) -> None:
    """``POST /api/v1/compare`` with 1e-320 req/s was a 500 ("Out of range float values are not JSON compliant")."""
    body = {"workload": {"requests_per_second": 1e-320, "avg_input_tokens": 1000, "avg_output_tokens": 200},
            "model": {"model_name": "llama-3.1-8b"}, "top": 2}  # fmt: skip
    status, raw = post_json(server, "/api/v1/compare", body)
    assert status == 200, raw[:500]
    rows = json.loads(raw)
    assert rows and all(row["cost_per_million_tokens"] is None for row in rows)
