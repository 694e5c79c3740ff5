"""``gpucast serve`` and ``gpucast token`` end to end: a real uvicorn on 127.0.0.1 in a subprocess, real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from conftest import gpucast_server
from gpucast.cli.main import main

PLAN = {"workload": {"requests_per_second": 2, "avg_input_tokens": 300, "avg_output_tokens": 100},
        "model": {"model_name": "llama-3.1-8b"}}  # fmt: skip


def _call(url: str, body: object = None, token: str | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_token_create_prints_it_once_and_stores_only_its_hash(tmp_path, capsys):
    db = str(tmp_path / "t.db")
    assert main(["user", "add", "alice", "--role", "requester", "--db", db]) == 0
    capsys.readouterr()
    assert main(["token", "create", "--user", "alice", "--db", db, "--as", "alice"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("gpc_") and len(token) > 40
    assert main(["token", "list", "--db", db, "--json"]) == 0
    listed = capsys.readouterr().out
    assert token not in listed and json.loads(listed)[0]["prefix"] == token[:10]
    assert token[10:] not in (tmp_path / "t.db").read_bytes().decode("latin-1")
    assert main(["token", "create", "--user", "nobody", "--db", db]) == 2


def test_cli_start_up_does_not_import_fastapi():
    code = "import sys, gpucast, gpucast.cli.main as m; m.build_parser(); print(sorted(k for k in sys.modules " \
           "if k.split('.')[0] in ('fastapi', 'starlette', 'uvicorn', 'pydantic')))"  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("workers", [1, 2])
def test_gpucast_serve_answers_real_http_requests(tmp_path, capsys, workers):
    db = str(tmp_path / "serve.db")
    main(["user", "add", "alice", "--role", "requester", "--db", db])
    main(["token", "create", "--user", "alice", "--db", db, "--as", "alice"])
    token = capsys.readouterr().out.strip().splitlines()[-1]
    # --workers 2: two uvicorn processes built by the env-configured factory; a plan saved through one is listed
    # by whichever answers next
    with gpucast_server(db, "--workers", str(workers)) as server:
        base = f"{server['base']}/api/v1"
        status, plan = _call(f"{base}/inference", PLAN)
        assert status == 200 and isinstance(plan, dict) and plan["gpu_resources"]["total_gpus"] >= 1
        assert _call(f"{base}/inference?save=true", PLAN)[0] == 401
        assert _call(f"{base}/inference?save=true", PLAN, token)[0] == 201
        status, listed = _call(f"{base}/plans")
        assert status == 200 and isinstance(listed, dict) and listed["items"][0]["created_by"] == "alice"
    assert f"on http://127.0.0.1:{server['port']}" in server["stderr"]


@pytest.mark.parametrize("host", ["127.0.0.1", "nosuch.invalid"])
def test_a_port_in_use_or_an_unknown_host_is_one_error_line_before_the_store_opens(tmp_path, capsys, host):
    """It was uvicorn's JSON log line and exit 3, after the store was created and migrated (QA 2026-12-07)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--host", host, "--port", str(port), "--db", str(tmp_path / "s.db")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"gpucast: error: cannot listen on {host}:{port}: "), err
    assert not (tmp_path / "s.db").exists()
