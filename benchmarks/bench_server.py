"""Load test of ``gpucast serve``: a real uvicorn on 127.0.0.1, N concurrent clients, a bounded number of plan
requests (``POST /api/v1/inference`` with varied inputs); prints throughput, p50/p99 latency and errors.

    python benchmarks/bench_server.py                       # 50 clients, 5,000 requests
    python benchmarks/bench_server.py --clients 20 --requests 1000
    python benchmarks/bench_server.py --mix pages            # pages and API calls mixed, figures per kind

Each client is a thread with one keep-alive HTTP/1.1 connection (``http.client``), so the figures measure the
server, not TCP set-up. The clients share the machine with the server: on a 2-core machine they take part of
the CPU the server would otherwise have (the figures are a lower bound for a separate client machine).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

MODELS = [("llama-3.1-8b", "BF16"), ("llama-3.1-70b", "FP8"), ("mistral-7b", "BF16"), ("llama-3.1-70b", "BF16"),
          ("qwen2.5-32b", "FP8"), ("llama-3.1-8b", "FP8")]  # fmt: skip
GPUS = [None, "H100", "A100-80GB", "L40S", "H200"]


def bodies(count: int, seed: int = 0) -> list[bytes]:
    """Varied plan requests: models, precisions, pinned or free GPU choice, request shapes, rates, SLOs."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        model, precision = rng.choice(MODELS)
        gpu = rng.choice(GPUS)
        body = {
            "workload": {"requests_per_second": round(rng.uniform(0.5, 50), 2),
                         "avg_input_tokens": rng.choice([128, 500, 1000, 2000]),
                         "avg_output_tokens": rng.choice([64, 200, 500])},
            "model": {"model_name": model, "precision": precision},
            "serving": {"cloud": rng.choice(["aws", "gcp", "azure"]), "itl_slo_ms": rng.choice([50, 100, 150])},
        }  # fmt: skip
        if gpu:
            body["gpu"] = {"gpu_type": gpu}
        out.append(json.dumps(body).encode())
    return out


Request = tuple[str, str, bytes | None]  # method, path, JSON body


def plan_page(body: bytes) -> str:
    """The plan page's address for the same question as a POST /api/v1/inference body."""
    data = json.loads(body)
    fields = {"model": data["model"]["model_name"], "precision": data["model"]["precision"],
              "rps": data["workload"]["requests_per_second"], "input_tokens": data["workload"]["avg_input_tokens"],
              "output_tokens": data["workload"]["avg_output_tokens"], "cloud": data["serving"]["cloud"],
              "itl_slo_ms": data["serving"]["itl_slo_ms"], "gpu": data.get("gpu", {}).get("gpu_type", "")}  # fmt: skip
    return "/plan?" + urllib.parse.urlencode(fields)


def requests_for(mix: str, count: int, seed: int = 0) -> list[Request]:
    """``api``: plan requests only. ``pages``: what browsers and scripts send together: the plan page, the empty
    form, the history, the catalog and plan requests (in turn, with varied questions)."""
    payloads = bodies(count, seed)
    if mix == "api":
        return [("POST", "/api/v1/inference", body) for body in payloads]
    kinds: list[Request] = []
    for i, body in enumerate(payloads):
        kind = i % 5
        kinds.append(
            ("POST", "/api/v1/inference", body) if kind == 0 else ("GET", plan_page(body), None) if kind == 1
            else ("GET", "/", None) if kind == 2 else ("GET", "/history", None) if kind == 3
            else ("GET", "/api/v1/models", None)
        )  # fmt: skip
    return kinds


def kind_of(request: Request) -> str:
    return f"{request[0]} {request[1].split('?')[0]}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(port: int, db: str, workers: int = 1) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("gpucast")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "gpucast"]
    command += ["serve", "--port", str(port), "--db", db, "--log-level", "warning", "--workers", str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gpucast serve did not start within 30 s")


def run(port: int, requests: list[Request], clients: int) -> tuple[list[tuple[str, float]], list[str], float]:
    """Send ``requests`` from ``clients`` threads; (kind, seconds) of each answer, the errors, the wall time."""
    latencies: list[tuple[str, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    cursor = iter(range(len(requests)))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[tuple[str, float]] = []
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            method, path, body = requests[index]
            start = time.perf_counter()
            try:
                conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
                response = conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - start
                # 422 "nothing fits / no plan meets the SLOs" is a correct answer (the API's JSON error, the plan
                # page's message next to the form), not a server error
                answered = b'"error"' in data or b'id="form-error"' in data
                if response.status not in (200, 422) or (response.status == 422 and not answered):
                    with lock:
                        errors.append(f"HTTP {response.status} for {method} {path}: {data[:120]!r}")
                mine.append((kind_of(requests[index]), elapsed))
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - began


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=200, help="requests sent first and not measured")
    parser.add_argument("--workers", type=int, default=1, help="gpucast serve --workers (server processes)")
    parser.add_argument("--mix", choices=("api", "pages"), default="api",
                        help="api: POST /api/v1/inference only; pages: the plan page, form, history, catalog and "
                             "plan requests in turn")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gpucast-bench-") as folder:
        port = free_port()
        server = start_server(port, os.path.join(folder, "bench.db"), args.workers)
        try:
            run(port, requests_for(args.mix, args.warmup, seed=1), min(args.clients, 10))
            answers, errors, wall = run(port, requests_for(args.mix, args.requests), args.clients)
        finally:
            server.terminate()
            server.wait(timeout=15)
    what = "POST /api/v1/inference" if args.mix == "api" else "requests (pages and API mixed)"
    print(f"gpucast serve --workers {args.workers} on {os.cpu_count()} CPUs: "
          f"{args.requests} {what} from {args.clients} concurrent clients")  # fmt: skip
    latencies = [seconds for _, seconds in answers]
    print(f"  throughput  {len(latencies) / wall:8.1f} requests/s  ({wall:.1f} s)")
    print(f"  latency     {_figures(latencies)}")
    if args.mix != "api":
        for kind in sorted({k for k, _ in answers}):
            print(f"  {kind:<22}  {_figures([seconds for k, seconds in answers if k == kind])}")
    print(f"  errors      {len(errors)}" + (f"  (first: {errors[0]})" if errors else ""))
    return 1 if errors else 0


def _figures(latencies: list[float]) -> str:
    return (f"p50 {percentile(latencies, 0.5) * 1e3:6.1f} ms   p99 {percentile(latencies, 0.99) * 1e3:6.1f} ms"
            f"   mean {statistics.fmean(latencies) * 1e3:6.1f} ms   max {max(latencies) * 1e3:6.1f} ms")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
