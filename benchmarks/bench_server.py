"""Load test of ``gpucast serve``: a real uvicorn on 127.0.0.1, N concurrent clients, a bounded number of plan
requests (``POST /api/v1/inference`` with varied inputs); prints throughput, p50/p99 latency and errors.

    python benchmarks/bench_server.py                       # 50 clients, 5,000 requests
    python benchmarks/bench_server.py --clients 20 --requests 1000
    python benchmarks/bench_server.py --mix pages            # pages and API calls mixed, figures per kind
    python benchmarks/bench_server.py --mix pages --distinct 200 --warm   # every question asked once before
    python benchmarks/bench_server.py --mix site --distinct 200 --requests 2000   # issue 24's mix: plans, home, catalog

Cold (the default) measures a fresh server: the first time each question is asked it is planned, later times
answered from the plan cache. ``--warm`` first asks every distinct request of the measured run once (not
measured): the steady state of a server whose questions repeat (dashboards, shared links). Besides wall-clock
figures it prints the server's CPU seconds per request (from /proc), which the other jobs on a shared machine
disturb far less than throughput and latency, and the load average before the run.

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

MODELS = [("llama-3.1-8b", "BF16"), ("llama-3.1-70b", "FP8"), ("mistral-7b", "BF16"), ("llama-3.1-70b", "BF16"),
          ("qwen2.5-32b", "FP8"), ("llama-3.1-8b", "FP8")]  # fmt: skip
GPUS = [None, "H100", "A100-80GB", "L40S", "H200"]


def bodies(count: int, seed: int = 0, distinct: int = 0) -> list[bytes]:
    """Varied plan requests: models, precisions, pinned or free GPU choice, request shapes, rates, SLOs; with
    ``distinct``, ``count`` draws from that many different questions."""
    if distinct:
        pool = bodies(distinct, seed=10_000 + seed)
        rng = random.Random(seed)
        return [rng.choice(pool) for _ in range(count)]
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


def requests_for(mix: str, count: int, seed: int = 0, distinct: int = 0) -> list[Request]:
    """``api``: plan requests only. ``pages``: what browsers and scripts send together: the plan page, the empty
    form, the history, the catalog and plan requests (in turn, with varied questions). ``site``: the mix issue 24
    measured its load with (plans, the home page, the model catalog, in turn)."""
    payloads = bodies(count, seed, distinct)
    if mix == "api":
        return [("POST", "/api/v1/inference", body) for body in payloads]
    if mix == "site":
        site: tuple[Request, Request] = (("GET", "/", None), ("GET", "/api/v1/models", None))
        return [
            ("POST", "/api/v1/inference", body) if i % 3 == 0 else site[i % 3 - 1] for i, body in enumerate(payloads)
        ]
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


def start_server(
    port: int, db: str, workers: int = 1, extra: tuple[str, ...] = (), log_level: str = "warning"
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "gpucast"]  # this interpreter's gpucast (a checkout's src/ on PYTHONPATH too)
    command += ["serve", "--port", str(port), "--db", db, "--log-level", log_level, "--workers", str(workers), *extra]
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


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU seconds of process ``pid`` and (unless ``children`` is false) of its live children
    (``--workers`` processes, plan processes), from /proc (Linux); 0.0 where /proc is missing."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        entries = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return 0.0
    for name in entries:
        try:
            with open(f"/proc/{name}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(name) == pid or (children and int(fields[1]) == pid):  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def rss_mib(pid: int) -> tuple[float, int]:
    """Resident memory (MiB) of process ``pid`` and its live children (workers, plan processes) and how many
    processes that is, from /proc/*/status (Linux); (0.0, 0) where /proc is missing."""
    total, count = 0.0, 0
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{name}/status") as file:
                fields = dict(line.split(":", 1) for line in file.read().splitlines() if ":" in line)
        except (OSError, ValueError):
            continue
        if name == str(pid) or fields.get("PPid", "").strip() == str(pid):
            total += int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
            count += 1
    return total, count


class Result:
    """One measured run: (kind, seconds) of each answer, the errors, the 503s with Retry-After, the wall time,
    and the CPU seconds the server and the clients used during it."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, float]] = []
        self.errors: list[str] = []
        self.shed = 0
        self.wall = 0.0
        self.server_cpu = 0.0  # the server process and its children
        self.own_cpu = 0.0  # the server process alone (with --workers 1: the event loop, the lanes, the caches)
        self.client_cpu = 0.0
        self.load_average = 0.0
        self.rss = (0.0, 0)  # MiB and processes at the end of the run

    @property
    def throughput(self) -> float:
        return len(self.answers) / self.wall

    def p(self, fraction: float) -> float:
        return percentile([seconds for _, seconds in self.answers], fraction)


def run(port: int, requests: list[Request], clients: int, server_pid: int | None = None) -> Result:
    """Send ``requests`` from ``clients`` threads and time each answer (and the server's CPU, given its pid)."""
    result = Result()
    result.load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    server_before = cpu_seconds(server_pid) if server_pid else 0.0
    own_before = cpu_seconds(server_pid, children=False) if server_pid else 0.0
    client_before = time.process_time()
    latencies, errors = result.answers, result.errors
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
                if response.status == 503 and response.getheader("Retry-After") and answered:
                    with lock:
                        result.shed += 1
                    continue
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
    result.wall = time.perf_counter() - began
    result.server_cpu = cpu_seconds(server_pid) - server_before if server_pid else 0.0
    result.own_cpu = cpu_seconds(server_pid, children=False) - own_before if server_pid else 0.0
    result.client_cpu = time.process_time() - client_before
    result.rss = rss_mib(server_pid) if server_pid else (0.0, 0)
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=200, help="requests sent first and not measured")
    parser.add_argument("--workers", type=int, default=1, help="gpucast serve --workers (server processes)")
    parser.add_argument("--mix", choices=("api", "pages", "site"), default="api",
                        help="api: POST /api/v1/inference only; pages: the plan page, form, history, catalog and "
                             "plan requests in turn; site: plans, the home page and the catalog in turn (issue 24's mix)")  # fmt: skip
    parser.add_argument("--distinct", type=int, default=0,
                        help="draw the questions from this many different ones (0: every question new)")  # fmt: skip
    parser.add_argument("--warm", action="store_true",
                        help="first ask every distinct request of the measured run once (not measured): the steady "
                             "state of repeated questions; default: cold, a fresh server")  # fmt: skip
    parser.add_argument(
        "--plan-processes",
        type=int,
        default=None,
        help="gpucast serve --plan-processes (default: the server's default, one per core)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="measure this many times (a fresh server each)")
    parser.add_argument("--baseline", action="store_true",
                        help="first measure a server without the plan cache (--plan-cache-size 0); print ratios")  # fmt: skip
    parser.add_argument("--server-log-level", default="warning", choices=("warning", "info"),
                        help="info: the server writes its JSON request log (one line per request) to measure its "
                             "cost; warning (default): errors only")  # fmt: skip
    args = parser.parse_args()
    what = "POST /api/v1/inference" if args.mix == "api" else "requests (pages and API mixed)"
    print(f"gpucast serve --workers {args.workers} on {os.cpu_count()} CPUs: {args.requests} {what} from "
          f"{args.clients} concurrent clients, " + (f"{args.distinct} distinct questions" if args.distinct
                                                    else "every question new")
          + (", warm (each asked once before)" if args.warm else ", cold (a fresh server)"))  # fmt: skip
    failed = False
    runs: list[Result] = []
    for _ in range(max(1, args.repeat)):
        baseline = measure(args, ("--plan-cache-size", "0")) if args.baseline else None
        if baseline is not None:
            report("baseline: --plan-cache-size 0", baseline, args.mix)
        measured = measure(args, ())
        runs.append(measured)
        report("gpucast serve (plan cache on)" if baseline else "gpucast serve", measured, args.mix)
        if baseline is not None:
            print(f"  ratio       throughput x{measured.throughput / baseline.throughput:.2f}, "
                  f"p50 x{measured.p(0.5) / baseline.p(0.5):.2f}, p99 x{measured.p(0.99) / baseline.p(0.99):.2f} "
                  "against the baseline of this run")  # fmt: skip
        failed = failed or bool(measured.errors or (baseline and baseline.errors))
    if len(runs) > 1:
        print(f"{len(runs)} runs: throughput " + " ".join(f"{r.throughput:.0f}" for r in runs) + " requests/s; p99 "
              + " ".join(f"{r.p(0.99) * 1e3:.0f}" for r in runs) + " ms; server CPU "
              + " ".join(f"{r.server_cpu / len(r.answers) * 1e3:.2f}" for r in runs) + " ms/request (its own process "
              + " ".join(f"{r.own_cpu / len(r.answers) * 1e3:.2f}" for r in runs) + ")")  # fmt: skip
    return 1 if failed else 0


def measure(args: argparse.Namespace, extra: tuple[str, ...]) -> Result:
    """A fresh server (its own database), a warm-up that is not measured, then the measured requests."""
    with tempfile.TemporaryDirectory(prefix="gpucast-bench-") as folder:
        port = free_port()
        if args.plan_processes is not None:
            extra = (*extra, "--plan-processes", str(args.plan_processes))
        server = start_server(port, os.path.join(folder, "bench.db"), args.workers, extra, args.server_log_level)
        try:
            measured = requests_for(args.mix, args.requests, distinct=args.distinct)
            # cold: other questions than the measured ones (imports, first compilations); warm: the measured ones
            warmup = list(dict.fromkeys(measured)) if args.warm else requests_for(args.mix, args.warmup, seed=1,
                                                                                  distinct=args.distinct)  # fmt: skip
            run(port, warmup, min(args.clients, 10))
            return run(port, measured, args.clients, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=15)


def report(title: str, result: Result, mix: str) -> None:
    print(title)
    latencies = [seconds for _, seconds in result.answers]
    print(f"  throughput  {result.throughput:8.1f} requests/s  ({result.wall:.1f} s; load average "
          f"{result.load_average:.1f} before)")  # fmt: skip
    if result.server_cpu:
        print(f"  CPU         server {result.server_cpu / len(result.answers) * 1e3:.2f} ms/request "
              f"({result.server_cpu:.1f} s; its own process {result.own_cpu / len(result.answers) * 1e3:.2f} ms/request, "
              f"plan processes and workers the rest), clients {result.client_cpu:.1f} s")  # fmt: skip
    if result.rss[1]:
        print(f"  memory      RSS {result.rss[0]:.0f} MiB in {result.rss[1]} processes (server and its children)")
    print(f"  latency     {_figures(latencies)}")
    if mix != "api":
        for kind in sorted({k for k, _ in result.answers}):
            print(f"  {kind:<22}  {_figures([seconds for k, seconds in result.answers if k == kind])}")
    if result.shed:
        print(f"  shed        {result.shed} answered 503 with Retry-After (the server's overload limit)")
    print(f"  errors      {len(result.errors)}" + (f"  (first: {result.errors[0]})" if result.errors else ""))


def _figures(latencies: list[float]) -> str:
    return (f"p50 {percentile(latencies, 0.5) * 1e3:6.1f} ms   p99 {percentile(latencies, 0.99) * 1e3:6.1f} ms"
            f"   mean {statistics.fmean(latencies) * 1e3:6.1f} ms   max {max(latencies) * 1e3:6.1f} ms")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
