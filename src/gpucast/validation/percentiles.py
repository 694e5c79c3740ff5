"""Percentile rows in measurement files (issue 21): p50/p90/p95/p99 of TTFT, per-request TPOT, per-token ITL and E2E.

A row's ``metric`` is ``ttft_p99_ms``, ``tpot_p90_ms``, ``itl_p99_ms``... (the names ``gpucast estimate --json``
prints), predicted by ``core.tails`` at the row's operating point. Benchmarks with variable request lengths say so in
``notes`` with ``length_profile=NAME`` (a built-in profile) or ``length_profile=FILE.csv`` (per-request lengths,
relative to the measurements file): the percentiles are then those of that distribution, as the benchmark's were.
A request-rate row whose notes state the run's request count is a finite run: ``finite_runs`` decides whether its
transient matters and, where it does, predicts the run as it ran; a concurrency row whose notes state it is a finite
closed loop, predicted as it ran where its start-up burst reaches the p99 (the same module).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core.percentiles import QUANTILES, LatencyTail, LengthProfile
from ..core.replica import ReplicaConfig
from ..core.serving import OperatingPoint, max_throughput
from ..core.tails import latency_tail
from ..errors import GpucastError
from ..inputs.length_profile import resolve_length_profile
from .finite_runs import closed_loop_tail, closed_loop_transient, finite_run_tail, is_transient

KINDS = ("ttft", "tpot", "itl", "e2e")
PERCENTILE_METRICS = tuple(f"{kind}_p{q}_ms" for kind in KINDS for q in QUANTILES)
_PROFILE = re.compile(r"length_profile=([\w./-]+)")
# A benchmark that sends the same prompts again to a server with prefix caching on (a rate sweep against one server,
# the source saying so) says ``prefix_cache=replay``: every full KV block of a prompt is then a cache hit and only
# the last, partial block is prefilled: 1-16 tokens with vLLM's default 16-token blocks, 8.5 on average.
REPLAY = "prefix_cache=replay"
REPLAY_UNCACHED_TOKENS = 8.5


def replayed_tokens(notes: str) -> float | None:
    """Prompt tokens a replayed prompt still prefills (``REPLAY`` in the notes), None for a cold cache."""
    return REPLAY_UNCACHED_TOKENS if REPLAY in notes else None


def is_percentile(metric: str) -> bool:
    return metric in PERCENTILE_METRICS


def row_profile(notes: str, base: Path | None) -> LengthProfile | None:
    """The length distribution a row's notes name (None: fixed lengths); ValueError saying why it cannot be read."""
    match = _PROFILE.search(notes)
    if match is None:
        return None
    name = match.group(1).rstrip(".;,")
    if name.endswith((".csv", ".tsv", ".json", ".jsonl")) and base is not None and not Path(name).is_absolute():
        name = str(base / name)
    try:
        return resolve_length_profile(name)
    except GpucastError as error:
        raise ValueError(str(error)) from None


def tail_at(
    cfg: ReplicaConfig,
    point: OperatingPoint,
    input_tokens: float,
    output_tokens: float,
    lengths: LengthProfile | None,
    uncached_tokens: float | None = None,
    *,
    run: tuple[float, int, bool] | None = None,
    closed: tuple[int, int] | None = None,
) -> LatencyTail:
    """The percentiles of ``point``, as ``gpucast estimate --json`` reports them (per-request TPOT included);
    ``uncached_tokens``: the prompts are replayed (``replayed_tokens``) and ``point`` was computed so.
    ``run``: (rate per replica, requests per replica, evenly paced) of a finite request-rate benchmark run: where
    its transient matters (``finite_runs.is_transient``) the tail is that of exactly those requests, simulated.
    ``closed``: (clients, requests) per replica of a closed-loop run: where its start-up burst reaches the p99
    (``finite_runs.closed_loop_transient``) the tail is that run's, simulated."""
    cached = max(input_tokens - uncached_tokens, 0.0) if uncached_tokens is not None else 0.0
    shape = {"input_tokens": input_tokens, "output_tokens": output_tokens, "cached_input_tokens": cached}
    if closed is not None and uncached_tokens is None and closed_loop_transient(*closed):
        clients, requests = closed
        return closed_loop_tail(
            cfg, clients=clients, requests=requests, input_tokens=input_tokens, output_tokens=output_tokens,
            lengths=lengths,
        )  # fmt: skip
    saturation = max_throughput(cfg, **shape).requests_per_s
    if run is not None and uncached_tokens is None and is_transient(run[0] / saturation, run[1]):
        rate, requests, paced = run
        return finite_run_tail(
            cfg, rate=rate, requests=requests, input_tokens=input_tokens, output_tokens=output_tokens,
            lengths=lengths, paced=paced,
        )  # fmt: skip
    return latency_tail(
        cfg, point, **shape, saturation_rate=saturation, lengths=lengths, uncached_tokens=uncached_tokens
    )


def percentile_value(tail: LatencyTail, metric: str) -> float:
    """``metric`` (e.g. ``ttft_p99_ms``) of ``tail``, in ms."""
    kind, level = metric.removesuffix("_ms").split("_p")
    values = {"ttft": tail.ttft_s, "tpot": tail.tpot, "itl": tail.itl_s, "e2e": tail.e2e_s}[kind]
    return values[1 + QUANTILES.index(int(level))] * 1e3
