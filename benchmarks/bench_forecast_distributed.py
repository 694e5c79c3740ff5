"""Fleet forecast: the local backend against the Dask backend on a local cluster, and the cost of progress chunks.

Not a test: prints numbers for the README, judged by people. On one machine the Dask backend cannot be faster than
the local one (both use every core; Dask adds worker start-up, a shuffle by series and one task per series); it is
measured to say how much it costs, so that the multi-machine case is judged honestly.

- ``--services N`` (default 200): one synthetic fleet (8 weeks hourly, 14-day horizon, fast fleet mode from 100
  services) forecast three ways: local; ``backend="dask"`` with its temporary local cluster (start-up included); and
  on an already running ``LocalCluster`` (one single-thread worker process per core), start-up timed apart. The
  answers are compared (float32 tolerance: statsforecast's distributed backend returns float32).
- ``--chunking``: ``forecast_frame`` on the same fleet in progress chunks (the default, ~total/20 series per
  statsforecast call, at least 50) against one chunk per plan group (no progress), alternating, ``--repeats`` times.
  The issue's check is 1,000 services: ``--services 1000 --chunking --skip-dask``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np
from bench_forecast import synthetic  # the script's folder is on sys.path: same fleet as bench_forecast.py


def max_relative_difference(a: dict, b: dict) -> float:
    worst = 0.0
    for uid, result in a.items():
        x = np.array([p.mean for p in result.forecast])
        y = np.array([p.mean for p in b[uid].forecast])
        worst = max(worst, float(np.max(np.abs(x - y) / np.maximum(np.abs(x), 1e-9))))
    return worst


def bench_backends(history, services: int, workers: int) -> None:
    from distributed import Client, LocalCluster

    from gpucast.forecast import forecast_fleet

    start = time.perf_counter()
    local = forecast_fleet(history, "14d", n_jobs=-1)
    t_local = time.perf_counter() - start
    print(f"{services} services, local backend on {os.cpu_count()} cores: {t_local:.1f} s")

    start = time.perf_counter()
    temporary = forecast_fleet(history, "14d", n_jobs=workers, backend="dask")
    t_temporary = time.perf_counter() - start
    print(
        f"  dask, temporary LocalCluster ({workers} worker processes, start-up included): {t_temporary:.1f} s "
        f"= {t_temporary / t_local:.2f}x local"
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster, set_as_default=False)
        t_start = time.perf_counter() - start
    try:
        start = time.perf_counter()
        running = forecast_fleet(history, "14d", backend="dask", scheduler=client)
        t_running = time.perf_counter() - start
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.close()
            cluster.close()
    print(
        f"  dask, running LocalCluster: {t_running:.1f} s = {t_running / t_local:.2f}x local "
        f"(cluster start-up {t_start:.1f} s not included)"
    )
    worst = max(max_relative_difference(local, temporary), max_relative_difference(local, running))
    print(f"  largest relative difference of a forecast mean, dask vs local: {worst:.1e}")


def bench_chunking(history, services: int, repeats: int) -> None:
    from gpucast.forecast.ensemble import forecast_frame

    fast = services >= 100
    times: dict[str, list[float]] = {"one chunk": [], "progress chunks": []}
    cpu: dict[str, list[float]] = {"one chunk": [], "progress chunks": []}
    for _ in range(repeats):
        for label, size in (("one chunk", services), ("progress chunks", None)):
            calls: list[tuple[int, int]] = []
            start, before = time.perf_counter(), os.times()
            forecast_frame(
                history.frame, history.freq, 14 * 24, n_jobs=-1, fast=fast, chunk_size=size,
                progress=lambda done, total, calls=calls: calls.append((done, total)),
            )  # fmt: skip
            after = os.times()
            times[label].append(time.perf_counter() - start)
            # CPU seconds of this process and its statsforecast worker processes: steadier than wall time when
            # the machine is shared, and what chunking adds (process pools, pickling) shows up there
            cpu[label].append(sum(after[:4]) - sum(before[:4]))
            print(f"  {label}: {times[label][-1]:.1f} s wall, {cpu[label][-1]:.1f} s CPU ({len(calls) - 1} steps)")
    one, chunked = statistics.median(times["one chunk"]), statistics.median(times["progress chunks"])
    one_cpu, chunked_cpu = statistics.median(cpu["one chunk"]), statistics.median(cpu["progress chunks"])
    print(
        f"{services} services, chunked for progress vs one chunk (median of {repeats}): wall {chunked:.1f} s vs "
        f"{one:.1f} s ({100 * (chunked / one - 1):+.1f}%), CPU {chunked_cpu:.1f} s vs {one_cpu:.1f} s "
        f"({100 * (chunked_cpu / one_cpu - 1):+.1f}%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=200, help="fleet size (default 200)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Dask worker processes")
    parser.add_argument("--chunking", action="store_true", help="also time progress chunks against one chunk")
    parser.add_argument("--skip-dask", action="store_true", help="only the chunking comparison")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each chunking variant (default 2)")
    args = parser.parse_args()

    from gpucast.forecast import load_history

    history = load_history(synthetic(args.services), id_col="service")
    if not args.skip_dask:
        bench_backends(history, args.services, args.workers)
    if args.chunking:
        bench_chunking(history, args.services, args.repeats)


if __name__ == "__main__":
    main()
