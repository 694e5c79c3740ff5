"""Plan processes (``gpucast serve --plan-processes N``, issue 24): against real servers over real HTTP, plans and
plan pages computed in child processes are byte-identical to those computed in the server's own threads; a
killed child is replaced and no request hangs (each is answered 200, or 503 with ``Retry-After``); stopping the
server stops its children."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import gpucast_server

pytest.importorskip("fastapi")

MODELS = [("llama-3.1-8b", "BF16"), ("llama-3.1-70b", "FP8"), ("mistral-7b", "BF16"), ("qwen2.5-32b", "FP8")]


def questions(count: int, offset: int = 0) -> list[bytes]:
    """``count`` different plan requests (models, pinned or free GPU, shapes, rates, SLOs)."""
    out = []
    for i in range(offset, offset + count):
        model, precision = MODELS[i % len(MODELS)]
        body = {"workload": {"requests_per_second": 1.5 + 3.7 * i, "avg_input_tokens": (300, 1000, 2000)[i % 3],
                             "avg_output_tokens": (64, 200, 500)[i % 3]},
                "model": {"model_name": model, "precision": precision},
                "serving": {"cloud": ("aws", "gcp", "azure")[i % 3], "itl_slo_ms": (50, 100, 150)[i % 3]}}  # fmt: skip
        if i % 2:
            body["gpu"] = {"gpu_type": ("H100", "A100-80GB", "L40S")[i % 3]}
        out.append(json.dumps(body).encode())
    return out


def ask(base: str, path: str, body: bytes | None = None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(base + path, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def metrics(base: str) -> dict[str, float]:
    _, text, _ = ask(base, "/metrics")
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.decode().splitlines()
            if line[:1] != "#"}  # fmt: skip


def children(pid: str) -> list[int]:
    """The server's plan processes: its children started by multiprocessing's spawn (Linux /proc)."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat") as stat:
                parent = stat.read().rsplit(")", 1)[1].split()[1]
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, ValueError):
            continue
        if parent == pid and b"multiprocessing.spawn" in command:
            found.append(int(name))
    return sorted(found)


def answers(base: str) -> list[tuple[int, bytes]]:
    """Every kind of question a lane computes: API plans, an estimate, a training plan, a comparison, an infeasible
    plan (its error), plan pages."""
    got = [ask(base, "/api/v1/inference", body)[:2] for body in questions(12)]
    estimate = {"model": "llama-3.1-8b", "gpu": "H100", "num_gpus": 1, "input_tokens": 500, "output_tokens": 200,
                "load": "concurrency", "load_value": 32}  # fmt: skip
    got.append(ask(base, "/api/v1/estimate", json.dumps(estimate).encode())[:2])
    training = {"training": {"dataset_size_tokens": 100_000_000, "sequence_length": 2048, "num_epochs": 1,
                             "global_batch_size": 32, "method": "lora"},
                "model": {"model_name": "llama-3.1-8b"}, "gpu": {"gpu_type": "H100"}}  # fmt: skip
    got.append(ask(base, "/api/v1/training", json.dumps(training).encode())[:2])
    compare = {"model": {"model_name": "llama-3.1-70b", "precision": "FP8"},
               "workload": {"requests_per_second": 12, "avg_input_tokens": 900, "avg_output_tokens": 250}}  # fmt: skip
    got.append(ask(base, "/api/v1/compare", json.dumps(compare).encode())[:2])
    infeasible = {"model": {"model_name": "llama-3.1-70b"}, "serving": {"ttft_slo_ms": 1, "itl_slo_ms": 1},
                  "workload": {"requests_per_second": 5, "avg_input_tokens": 2000, "avg_output_tokens": 500}}  # fmt: skip
    got.append(ask(base, "/api/v1/inference", json.dumps(infeasible).encode())[:2])  # SLOInfeasibleError: 422
    for rps in (3, 40):
        got.append(ask(base, f"/plan?model=llama-3.1-70b&precision=FP8&rps={rps}&input_tokens=700&output_tokens=300"
                             "&cloud=gcp")[:2])  # fmt: skip
    return got


def test_plans_in_processes_equal_plans_in_threads(tmp_path):
    with gpucast_server(str(tmp_path / "threads.db"), "--plan-processes", "0") as server:
        in_threads = answers(server["base"])
        assert metrics(server["base"])["gpucast_plan_processes"] == 0 and children(server["pid"]) == []
    with gpucast_server(str(tmp_path / "processes.db"), "--plan-processes", "2") as server:
        assert len(children(server["pid"])) == 2  # started (and warmed) with the server
        in_processes = answers(server["base"])
        counted = metrics(server["base"])
        assert counted["gpucast_plan_processes"] == 2
        assert counted["gpucast_plan_process_jobs_total"] == len(in_processes)  # every one computed in a child
        assert counted["gpucast_plan_process_restarts_total"] == 0  # errors travel back without breaking the pool
    assert [status for status, _ in in_threads] == [200] * 15 + [422] + [200] * 2
    assert in_processes == in_threads  # byte for byte
    assert "Traceback" not in server["stderr"]


def test_a_killed_plan_process_is_replaced_and_no_request_hangs(tmp_path):
    with gpucast_server(str(tmp_path / "kill.db"), "--plan-processes", "1") as server:
        base, pid = server["base"], server["pid"]
        (first,) = children(pid)
        os.kill(first, signal.SIGKILL)  # idle: the next job finds the pool broken
        status, body, _ = ask(base, "/api/v1/inference", questions(1)[0])
        assert status == 200 and json.loads(body)["gpu_resources"]
        assert metrics(base)["gpucast_plan_process_restarts_total"] == 1
        (second,) = children(pid)
        assert second != first

        results: list[tuple[int, dict[str, str]]] = []
        bodies = questions(8, offset=20)

        def client(body: bytes) -> None:
            status, _, headers = ask(base, "/api/v1/inference", body)
            results.append((status, headers))

        threads = [threading.Thread(target=client, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        os.kill(second, signal.SIGKILL)  # busy: its jobs are retried once in a new process, or answered 503
        for thread in threads:
            thread.join(timeout=60)
        assert len(results) == len(bodies)  # none hangs
        for status, headers in results:
            assert status == 200 or (status == 503 and headers.get("Retry-After"))
        assert ask(base, "/api/v1/inference", questions(1, offset=40)[0])[0] == 200
        assert metrics(base)["gpucast_plan_process_restarts_total"] >= 1
        alive = children(pid)
    assert "Traceback" not in server["stderr"]
    time.sleep(0.5)
    assert not [child for child in alive if os.path.exists(f"/proc/{child}")]  # stopped with the server


def test_plan_processes_end_when_the_server_is_killed(tmp_path):
    with gpucast_server(str(tmp_path / "orphans.db"), "--plan-processes", "2") as server:
        spawned = children(server["pid"])
        assert len(spawned) == 2
        os.kill(int(server["pid"]), signal.SIGKILL)  # no shutdown runs: each child notices its parent is gone
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{child}") for child in spawned):
            time.sleep(0.1)
    left = [child for child in spawned if os.path.exists(f"/proc/{child}")]
    assert not left, f"plan processes outlived the server: {left}"


def family_questions(model: str, precision: str, shape: tuple[int, int], count: int) -> list[bytes]:
    """``count`` different questions of one family: the same model, precision and request shape; other rates,
    SLOs, clouds and GPU choices."""
    gpus = (None, "H100", "A100-80GB", "L40S")
    out = []
    for i in range(count):
        body = {"workload": {"requests_per_second": 2.5 + 4.1 * i, "avg_input_tokens": shape[0],
                             "avg_output_tokens": shape[1]},
                "model": {"model_name": model, "precision": precision},
                "serving": {"cloud": ("aws", "gcp", "azure")[i % 3], "itl_slo_ms": (50, 100, 150)[i % 3]}}  # fmt: skip
        if gpus[i % 4]:
            body["gpu"] = {"gpu_type": gpus[i % 4]}
        out.append(json.dumps(body).encode())
    return out


def sent(base: str) -> list[float]:
    counted = metrics(base)
    return [counted[f'gpucast_plan_process_sent_total{{process="{i}"}}'] for i in range(2)]


def test_a_question_family_goes_to_one_plan_process_with_the_same_answers(tmp_path):
    families = [("llama-3.1-70b", "FP8", (1000, 200)), ("mistral-7b", "BF16", (500, 64)),
                ("qwen2.5-32b", "FP8", (2000, 500))]  # fmt: skip
    asked = [family_questions(*family, count=5) for family in families]
    with gpucast_server(str(tmp_path / "threads.db"), "--plan-processes", "0") as server:
        in_threads = [[ask(server["base"], "/api/v1/inference", body)[:2] for body in bodies] for bodies in asked]
    with gpucast_server(str(tmp_path / "routed.db"), "--plan-processes", "2") as server:
        in_processes, used = [], []
        for bodies in asked:
            before = sent(server["base"])
            in_processes.append([ask(server["base"], "/api/v1/inference", body)[:2] for body in bodies])
            after = sent(server["base"])
            used.append([after[i] - before[i] for i in range(2)])  # one at a time: never spilled
        assert metrics(server["base"])["gpucast_plan_process_spilled_total"] == 0
    for moved in used:
        assert sorted(moved) == [0, 5]  # every question of a family computed by the same process
    assert in_processes == in_threads  # byte for byte
    assert all(status == 200 for answers in in_threads for status, _ in answers)
    assert "Traceback" not in server["stderr"]
