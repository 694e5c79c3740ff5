"""Discrete-event simulation of one replica's scheduler: the check on the analytic tail (``core.tails``).

Iteration-level scheduling as vLLM's V1 scheduler and SGLang run it (Orca, OSDI'22; Sarathi-Serve, OSDI'24;
the approach of the Vidur simulator, MLSys'24): every step first gives each running sequence in its decode phase one
token of the step's token budget (``chunk_tokens``, vLLM ``max_num_batched_tokens``), then continues the partial
prefill, then admits waiting requests first come first served while fewer than ``max_sequences`` run (vLLM
``max_num_seqs``, or the KV cache), each prefilled in chunks of what the budget leaves (and of at most its
attention-DP rank's share of the budget where SGLang divides it: ``ReplicaConfig.prompt_chunk``, every rank's share
prefilled in one step, ``step_prefill_tokens``). A step lasts the decode step of
its decoding sequences (``serving.decode_step_time`` at their mean context) plus the replica time of its prefill
chunks (``serving.prefill_seconds``, batched); a step with only prefill costs the prompt's own prefill latency.
A request's first token comes at the end of the step that finishes its prompt; each later token one step later.

Arrivals are Poisson at a rate (seeded ``random.Random``: deterministic), evenly paced, or a trace of (arrival time,
input, output) rows; or a closed loop (``simulate_closed_loop``): C clients, each sending its next request when its
previous one has completed, the first C at t = 0, as ``vllm bench serve --max-concurrency C`` runs. Pure: standard
library only, no I/O. The first and last 10% of requests are warm-up and drain, not measured, unless the caller
measures a finite benchmark run whole (``measured=(0, 1)``; ``validation.finite_runs``).
"""

from __future__ import annotations

import bisect
import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .percentiles import QUANTILES, LatencyTail, LengthProfile
from .replica import ReplicaConfig, decode_step_time, prefill_seconds

CONTEXT_BUCKET = 64  # decode steps are evaluated at the running context rounded to this many tokens (memoized)
MEASURED = (0.1, 0.9)  # the share of requests (by arrival) whose latencies count: warm-up and drain excluded


@dataclass(frozen=True)
class SimulationResult:
    """Latency distribution and throughput of a simulated run."""

    requests: int  # requests measured
    tail: LatencyTail
    requests_per_s: float  # completed over the measured window
    mean_batch: float  # sequences decoding per step, averaged over steps
    steps: int


@dataclass
class _Request:
    arrival: float
    prompt: int
    output: int
    prefilled: int = 0
    generated: int = 0
    first_token: float = math.nan
    finish: float = math.nan
    context: int = 0
    index: int = 0  # position in the run (arrival order): which requests are measured


@lru_cache(maxsize=16384)
def _decode(cfg: ReplicaConfig, batch: int, context: int) -> float:
    return decode_step_time(cfg, float(batch), float(context)).total_s


@lru_cache(maxsize=16384)
def _chunk(cfg: ReplicaConfig, tokens: int, done: int, alone: bool) -> float:
    if alone:
        return prefill_seconds(cfg, float(tokens), cached_tokens=float(done))
    return prefill_seconds(cfg, float(tokens), batched=True, cached_tokens=float(done)) / cfg.pp


def draw_shapes(lengths: LengthProfile, requests: int, rng: random.Random) -> list[tuple[int, int]]:
    """``requests`` (input, output) shapes drawn from ``lengths`` by their weights: every simulated run's lengths
    (the traces below, and ``validation.finite_runs``' closed loops)."""
    weights = [w for w, _, _ in lengths.points]
    return rng.choices([(i, o) for _, i, o in lengths.points], weights=weights, k=requests)


def poisson_trace(
    rate: float, requests: int, lengths: LengthProfile, seed: int = 0
) -> tuple[tuple[float, int, int], ...]:
    """``requests`` Poisson arrivals at ``rate`` per second with lengths drawn from ``lengths`` (seeded)."""
    if rate <= 0 or requests < 1:
        raise ValueError("a simulation needs a positive rate and at least one request")
    rng = random.Random(seed)
    shapes = draw_shapes(lengths, requests, rng)
    t, rows = 0.0, []
    for tin, tout in shapes:
        t += rng.expovariate(rate)
        rows.append((t, tin, tout))
    return tuple(rows)


def fixed_rate_trace(
    rate: float, requests: int, lengths: LengthProfile, seed: int = 0
) -> tuple[tuple[float, int, int], ...]:
    """``requests`` arrivals one every 1 / ``rate`` seconds (the first at 1 / ``rate``), lengths drawn as in
    ``poisson_trace``: a benchmark client that paces its requests evenly instead of at random."""
    if rate <= 0 or requests < 1:
        raise ValueError("a simulation needs a positive rate and at least one request")
    shapes = draw_shapes(lengths, requests, random.Random(seed))
    return tuple(((k + 1) / rate, tin, tout) for k, (tin, tout) in enumerate(shapes))


def simulate(
    cfg: ReplicaConfig, trace: Sequence[tuple[float, int, int]], measured: tuple[float, float] = MEASURED
) -> SimulationResult:
    """Run the scheduler over ``trace`` (arrival seconds, input tokens, output tokens; sorted by arrival).

    ``measured``: the share of requests (by arrival) whose latencies count; (0, 1) counts every request, as a
    finite benchmark run of exactly these requests reports them."""
    requests = [_Request(t, max(int(i), 1), max(int(o), 1)) for t, i, o in sorted(trace)]
    return _run(cfg, requests, measured, closed=False)


def simulate_closed_loop(
    cfg: ReplicaConfig, clients: int, shapes: Sequence[tuple[int, int]], measured: tuple[float, float] = (0.0, 1.0)
) -> SimulationResult:
    """A closed-loop benchmark client: ``clients`` workers send the (input, output) ``shapes`` in order, each its
    next request as soon as its previous one has completed (``vllm bench serve --max-concurrency C`` holds a
    semaphore of C over its N requests; SGLang's ``bench_serving --max-concurrency`` and genai-perf's concurrency
    mode likewise), so the first ``clients`` are all sent at t = 0 to an empty engine. The server's front end
    (``Efficiency.frontend_s``) lies in every client's round trip: a request reaches the engine that long after it
    is sent, and the next is sent when the previous one's last token has come back (the cycle is E2E + front end,
    as ``serving.operating_point`` counts it). Every request is measured by default, as the benchmark reports a run.
    """
    if clients < 1 or not shapes:
        raise ValueError("a closed-loop simulation needs at least one client and one request")
    requests = [_Request(math.nan, max(int(i), 1), max(int(o), 1)) for i, o in shapes]
    for r in requests[:clients]:
        r.arrival = cfg.efficiency.frontend_s  # sent at t = 0, at the engine after the front end
    return _run(cfg, requests, measured, closed=True)


def _run(cfg: ReplicaConfig, every: list[_Request], measured: tuple[float, float], closed: bool) -> SimulationResult:
    """The scheduler's steps over ``every`` request (in arrival order; a closed loop's unsent ones have a NaN
    arrival, set when a client's previous request completes). Requests ``first`` to ``last`` (by that order) count."""
    for k, r in enumerate(every):
        r.index = k
    pending = deque(r for r in every if not math.isnan(r.arrival))
    unsent = deque(r for r in every if math.isnan(r.arrival)) if closed else deque()
    front = cfg.efficiency.frontend_s
    waiting: deque[_Request] = deque()
    running: list[_Request] = []
    now, steps, decoded_total = 0.0, 0, 0
    itl: list[tuple[float, int]] = []  # (step seconds, measured sequences that got a token in it)
    first, last = int(measured[0] * len(every)), max(int(measured[1] * len(every)), 1)  # [first, last)
    # the replica's prompt tokens a step, and one prompt's share (SGLang's attention-DP ranks: each rank's chunk)
    budget, per_prompt = cfg.step_prefill_tokens, cfg.prompt_chunk
    returning: list[_Request] = []  # sent when a request completed at the end of the last step (closed loop)
    while pending or waiting or running or returning:
        while pending and pending[0].arrival <= now:
            waiting.append(pending.popleft())
        if not running and not waiting:
            pending.extend(returning)  # an idle engine takes them as they come
            returning.clear()
            now = pending[0].arrival
            continue
        decoders = [r for r in running if r.prefilled >= r.prompt]
        left = budget - len(decoders)
        chunks: list[tuple[_Request, int]] = []
        for r in running:
            if r.prefilled < r.prompt and left > 0:
                take = min(r.prompt - r.prefilled, left, per_prompt)
                chunks.append((r, take))
                left -= take
        while waiting and left > 0 and len(running) < cfg.max_sequences:
            r = waiting.popleft()
            running.append(r)
            take = min(r.prompt, left, per_prompt)
            chunks.append((r, take))
            left -= take
        # the engine scheduled this step as the last one ended, before that step's outputs reached their clients:
        # the requests those clients send next can join the step after this one at the earliest
        pending.extend(returning)
        returning.clear()
        duration = 0.0
        if decoders:
            context = sum(r.context for r in decoders) / len(decoders)
            duration += _decode(cfg, len(decoders), round(context / CONTEXT_BUCKET) * CONTEXT_BUCKET)
        alone = not decoders and len(chunks) == 1
        duration += sum(_chunk(cfg, take, r.prefilled, alone) for r, take in chunks)
        now += duration
        steps += 1
        decoded_total += len(decoders)
        if decoders and every[first].arrival <= now:  # NaN (not yet sent): False
            itl.append((duration, sum(1 for r in decoders if first <= r.index < last)))
        for r in decoders:
            r.generated += 1
            r.context += 1
        for r, take in chunks:
            r.prefilled += take
            if r.prefilled >= r.prompt:  # the prompt's last chunk samples the first token
                r.first_token, r.generated, r.context = now, 1, r.prompt + 1
        for r in running:
            if r.generated >= r.output and math.isnan(r.finish):
                r.finish = now
                if unsent:  # its client sends the next request, which reaches the engine after the front end
                    unsent[0].arrival = now + front
                    returning.append(unsent.popleft())
        running = [r for r in running if math.isnan(r.finish)]
    counted = every[first:last]
    # the server's front end (Efficiency.frontend_s) lies between the client and the engine: an open loop's arrivals
    # reach the engine shifted alike (the same Poisson process, so the engine's run is unchanged), a closed loop's
    # are sent that long before they arrive; either way the client's TTFT and E2E are the engine's plus the constant
    ttft = sorted(r.first_token - r.arrival + front for r in counted)
    e2e = sorted(r.finish - r.arrival + front for r in counted)
    tpot = sorted((r.finish - r.first_token) / (r.output - 1) for r in counted if r.output > 1)
    window = max(r.finish for r in counted) - min(r.arrival for r in counted) if counted else 0.0
    return SimulationResult(
        requests=len(counted),
        tail=LatencyTail(_summary(ttft), _weighted_summary(itl), _summary(e2e), _summary(tpot)),
        requests_per_s=len(counted) / window if window > 0 else 0.0,
        mean_batch=decoded_total / max(steps, 1),
        steps=steps,
    )


def _summary(values: list[float]) -> tuple[float, float, float, float, float]:
    """Mean and ``QUANTILES`` of sorted ``values`` (nearest rank)."""
    if not values:
        return (math.nan,) * 5
    n = len(values)
    picks = tuple(values[min(n - 1, max(0, math.ceil(q / 100.0 * n) - 1))] for q in QUANTILES)
    return (sum(values) / n, *picks)  # type: ignore[return-value]


def _weighted_summary(samples: list[tuple[float, int]]) -> tuple[float, float, float, float, float]:
    """Token-weighted mean and quantiles of step durations: each decoding sequence's gap is its step's length."""
    kept = sorted((d, n) for d, n in samples if n > 0)
    total = sum(n for _, n in kept)
    if total == 0:
        return (math.nan,) * 5
    cumulative, running = [], 0
    for _, n in kept:
        running += n
        cumulative.append(running)
    picks = tuple(kept[min(bisect.bisect_left(cumulative, q / 100.0 * total), len(kept) - 1)][0] for q in QUANTILES)
    return (sum(d * n for d, n in kept) / total, *picks)  # type: ignore[return-value]
