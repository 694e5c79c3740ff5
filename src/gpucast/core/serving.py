"""Continuous batching: throughput and latency of one replica at a given load.

A replica (TP x PP GPUs running vLLM/SGLang/TensorRT-LLM) keeps up to B_max sequences in
flight (KV capacity / tokens per sequence, capped by the engine's max_num_seqs). With C
requests in flight, each decode step advances min(C, B_max) sequences by one token, and
prompts are prefilled in chunks between (chunked prefill). Per second, a fraction
lambda x P of the replica's time goes to prefill (P = prefill cost of one request), so the
decode step stretches to ITL = T_step / (1 - lambda x P), and Little's law closes the loop:
C = lambda x E2E, with E2E = TTFT + (O - 1) x ITL. The quadratic below solves it exactly.

TTFT = prefill latency + half a decode step (waiting for the running step) + queueing for
the prefill server, taken as M/D/1: W = rho / (2 (1 - rho)) x P_latency at utilization rho; a served load adds
the OpenAI server's per-request front end (Efficiency.frontend_s), outside the engine.
References: Orca (Yu et al., OSDI'22) iteration-level scheduling; vLLM (Kwon et al., SOSP'23);
Sarathi-Serve (Agrawal et al., OSDI'24) chunked prefill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

from .percentiles import LatencyTail
from .perf import StepTime
from .replica import ReplicaConfig, decode_step_time, prefill_costs, prefill_seconds


@dataclass(frozen=True)
class OperatingPoint:
    """Steady-state behaviour of one replica at a given concurrency."""

    concurrency: float
    batch: float
    requests_per_s: float
    output_tokens_per_s: float
    total_tokens_per_s: float
    ttft_s: float
    itl_s: float
    e2e_s: float
    prefill_share: float  # fraction of replica time spent on prefill
    step: StepTime
    saturated: bool = False
    tail: LatencyTail | None = None  # percentiles (core.tails), attached where an SLO percentile or profile asks


@dataclass(frozen=True)
class _RequestCosts:
    """What one request costs a replica running ``batch`` sequences: shared by the closed and the open loop."""

    batch: float
    step: StepTime
    prefill_latency: float  # the prompt's own prefill, alone
    prefill_cost: float  # replica time per prompt under load (prompts share one weight read per pass)
    ttft_alone: float  # TTFT without queueing for the prefill server
    decode_time: float  # (O - 1) decode steps


def _request_costs(
    cfg: ReplicaConfig, *, input_tokens: float, output_tokens: float, concurrency: float, cached_input_tokens: float
) -> _RequestCosts:
    batch = min(concurrency, cfg.max_sequences)
    step = decode_step_time(cfg, batch, input_tokens + output_tokens / 2.0)
    new_tokens = input_tokens - cached_input_tokens
    prefill_latency, prefill_cost = prefill_costs(cfg, new_tokens, cached_input_tokens)
    # TTFT: the prompt's own prefill, half a running step, and in every chunk of the prompt the
    # running batch's attention (its KV reads are not hidden by the chunk's GEMMs) and step overhead.
    # (a prompt's chunks: its attention-DP rank's share of the budget where the engine divides it, SGLang)
    chunks = math.ceil(new_tokens / cfg.prompt_chunk)
    ttft_alone = prefill_latency + step.total_s / 2.0 + chunks * (step.attention_s + step.overhead_s)
    decode_time = max(output_tokens - 1.0, 0.0) * step.total_s
    return _RequestCosts(batch, step, prefill_latency, prefill_cost, ttft_alone, decode_time)


def _prefill_wait(utilization: float, prefill_latency: float) -> float:
    """M/D/1 queueing for the prefill server at ``utilization`` (capped at 0.99): rho / (2 (1 - rho)) x service."""
    rho = min(max(utilization, 0.0), 0.99)
    return rho / (2.0 * (1.0 - rho)) * prefill_latency


def _wave_wait(cfg: ReplicaConfig, costs: _RequestCosts, new_tokens: float) -> float:
    """Extra TTFT of a closed-loop benchmark client's prompts that arrive together.

    With (near-)fixed lengths, prompts prefilled in the same pass start decoding together, finish together and
    are replaced together, so a client's B requests keep arriving in waves and a prompt waits, on average, for
    the prefill of half its wave, (B - 1) / 2 prompts. That holds when the engine prefills several prompts per
    pass (chunk budget >= 2 prompts); longer prompts prefill one per pass, their completions stagger by a
    prefill each and the waves dissolve (no wait beyond the M/D/1 queue). The pass is the replica's: with SGLang's
    attention-DP ranks each prefilling its own share of the budget in one forward, their prompts start together."""
    if math.floor(cfg.step_prefill_tokens / max(new_tokens, 1.0)) < 2:
        return 0.0
    return max(costs.batch - 1.0, 0.0) / 2.0 * costs.prefill_cost


def operating_point(
    cfg: ReplicaConfig,
    *,
    input_tokens: float,
    output_tokens: float,
    concurrency: float,
    cached_input_tokens: float = 0.0,
    waves: bool = False,
) -> OperatingPoint:
    """Closed-loop steady state with ``concurrency`` requests in flight on one replica.

    ``cached_input_tokens`` of each prompt are served from the prefix cache: only the rest is prefilled
    (attending to the whole prompt). Open-loop arrivals are ``open_loop_point``. ``waves``: the load is a
    closed-loop benchmark client (fixed lengths), whose prompts arrive partly in synchronized waves
    (``Efficiency.closed_loop_wave_fraction``); without it prompts queue as independent arrivals (M/D/1), the
    model the open loop and the planner share. A client also waits for the server's front end
    (``Efficiency.frontend_s``, in its TTFT and its cycle); the max-throughput point (no ``waves``) does not.
    """
    costs = _request_costs(
        cfg, input_tokens=input_tokens, output_tokens=output_tokens, concurrency=concurrency,
        cached_input_tokens=cached_input_tokens,
    )  # fmt: skip
    # a client's cycle includes the server's front end; past the engine's slots it replaces queueing (point unchanged)
    if waves and cfg.efficiency.frontend_s > 0.0 and concurrency < cfg.max_sequences:
        costs = replace(costs, ttft_alone=costs.ttft_alone + cfg.efficiency.frontend_s)
    # a full engine admits queued requests one by one as slots free: the client's waves no longer reach it
    waves = waves and concurrency < cfg.max_sequences
    wave = _wave_wait(cfg, costs, input_tokens - cached_input_tokens) if waves else 0.0
    return _closed_loop(
        cfg, costs, input_tokens=input_tokens, output_tokens=output_tokens, concurrency=concurrency, wave_wait=wave
    )


def _closed_loop(
    cfg: ReplicaConfig,
    costs: _RequestCosts,
    *,
    input_tokens: float,
    output_tokens: float,
    concurrency: float,
    wave_wait: float = 0.0,
) -> OperatingPoint:
    batch, step, prefill_cost = costs.batch, costs.step, costs.prefill_cost
    # Prefills queue behind each other (M/D/1) at the prefill share of replica time; solved twice, as the
    # wait feeds back into the rate. A benchmark client's synchronized share waits for half its wave instead.
    share = cfg.efficiency.closed_loop_wave_fraction if wave_wait > 0.0 else 0.0
    # A wave's prefills are spent half before a prompt's first token (the wave wait, in TTFT) and half after it
    # (the wave's later prompts, before the wave decodes together): only that half stretches the decode of the
    # synchronized share, so each second of prefill is counted once, in TTFT or in ITL (``wave_itl_prefill``).
    itl_prefill = wave_itl_prefill(prefill_cost, share)
    rate, ttft = _closed_loop_rate(costs, share, wave_wait, itl_prefill)
    itl = step.total_s / max(1.0 - rate * itl_prefill, 1e-9)
    e2e = ttft + max(output_tokens - 1.0, 0.0) * itl
    if concurrency > cfg.max_sequences:  # the rest wait in the queue for a free slot
        ttft += (concurrency - cfg.max_sequences) / rate
        e2e = concurrency / rate
    return OperatingPoint(
        concurrency=concurrency,
        batch=batch,
        requests_per_s=rate,
        output_tokens_per_s=rate * output_tokens,
        total_tokens_per_s=rate * (input_tokens + output_tokens),
        ttft_s=ttft,
        itl_s=itl,
        e2e_s=e2e,
        prefill_share=rate * prefill_cost,
        step=step,
        saturated=concurrency >= cfg.max_sequences,
    )


def _closed_loop_rate(costs: _RequestCosts, share: float, wave_wait: float, itl_prefill: float) -> tuple[float, float]:
    """(rate, TTFT) of the closed loop: prefills queue behind each other (M/D/1) at the prefill share of replica
    time, solved twice as the wait feeds back into the rate; a benchmark client's synchronized share waits for half
    its wave instead. Apart from ``_closed_loop`` so that ``at_request_rate``'s bisection reads the rate alone."""
    batch, prefill_cost = costs.batch, costs.prefill_cost
    rate = _solve_rate(batch, costs.ttft_alone, costs.decode_time, itl_prefill)
    ttft = costs.ttft_alone
    for _ in range(2):
        queued = _prefill_wait(rate * prefill_cost, costs.prefill_latency)
        ttft = costs.ttft_alone + share * wave_wait + (1.0 - share) * queued
        rate = _solve_rate(batch, ttft, costs.decode_time, itl_prefill)
    return rate, ttft


def _steady_rate(costs: _RequestCosts) -> float:
    """The rate the requests ``costs`` was computed for sustain in flight, without synchronized waves:
    ``_closed_loop(...).requests_per_s`` without building the point (``at_request_rate`` and ``open_loop_point``
    need the rate alone)."""
    return _closed_loop_rate(costs, 0.0, 0.0, wave_itl_prefill(costs.prefill_cost, 0.0))[0]


def wave_itl_prefill(prefill_cost: float, wave_share: float) -> float:
    """Prefill seconds per request that stretch the decode steps of a closed loop whose ``wave_share`` of prompts
    arrive in synchronized waves: P x (1 - share / 2).

    Independent arrivals (share 0) interleave their whole prefill with the running decodes (ITL = step / (1 -
    lambda P)). A synchronized wave of C prompts is prefilled in C x P before it decodes together: a prompt waits
    (k - 1) P for the prompts before it (its TTFT: on average half the wave, ``_wave_wait``) and (C - k) P for those
    after it, between its first and second token (the other half, in its ITL). Counting the whole P in ITL as well
    would charge the wave's first half twice."""
    return prefill_cost * (1.0 - min(max(wave_share, 0.0), 1.0) / 2.0)


def _solve_rate(concurrency: float, ttft: float, decode_time: float, prefill_cost: float) -> float:
    """Solve C = lambda x (a + b / (1 - lambda P)) for lambda (the root with lambda P < 1).

    a = TTFT, b = (O-1) x step time. Rearranged: aP lambda^2 - (a + b + CP) lambda + C = 0.
    """
    a, b, p, c = ttft, decode_time, prefill_cost, concurrency
    if a * p <= 0.0:
        return c / max(a + b + c * p, 1e-12)
    s = a + b + c * p
    disc = max(s * s - 4.0 * a * p * c, 0.0)
    return (s - math.sqrt(disc)) / (2.0 * a * p)


def max_throughput(
    cfg: ReplicaConfig, *, input_tokens: float, output_tokens: float, cached_input_tokens: float = 0.0
) -> OperatingPoint:
    """The replica with every KV slot busy: the offline max-throughput benchmark setting.

    Memoized (a pure function of frozen inputs): a layout's cost floor (``search_floor.capacity_ceiling``) and its
    capacity search (``capacity.slo_capacity``) both start from it."""
    return _max_throughput(cfg, input_tokens, output_tokens, cached_input_tokens)


@lru_cache(maxsize=16384)
def _max_throughput(
    cfg: ReplicaConfig, input_tokens: float, output_tokens: float, cached_input_tokens: float
) -> OperatingPoint:
    return operating_point(
        cfg,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        concurrency=float(cfg.max_sequences),
        cached_input_tokens=cached_input_tokens,
    )


def static_batch(cfg: ReplicaConfig, *, input_tokens: float, output_tokens: float, batch: float) -> OperatingPoint:
    """A fixed batch started together and run to completion (static batching, or a batch of
    simultaneous identical requests): all prompts are prefilled first, then every step decodes
    the whole batch with no prefill interleaved, so ITL is the plain decode step."""
    requested = max(1.0, batch)
    batch = min(requested, float(cfg.max_sequences))
    step = decode_step_time(cfg, batch, input_tokens + output_tokens / 2.0)
    ttft = prefill_seconds(cfg, input_tokens * batch, sequences=batch)  # each prompt attends only to itself
    e2e = ttft + max(output_tokens - 1.0, 0.0) * step.total_s
    rate = batch / e2e
    # More requests than KV slots run in waves; a request of wave k waits k earlier waves.
    waves = math.ceil(requested / batch)
    if waves > 1:
        wait = (waves - 1) / 2.0 * e2e  # mean over the waves
        ttft += wait
        e2e += wait
    return OperatingPoint(
        concurrency=requested,
        batch=batch,
        requests_per_s=rate,
        output_tokens_per_s=rate * output_tokens,
        total_tokens_per_s=rate * (input_tokens + output_tokens),
        ttft_s=ttft,
        itl_s=step.total_s,
        e2e_s=e2e,
        prefill_share=ttft / e2e,
        step=step,
        saturated=batch >= cfg.max_sequences,
    )


def at_request_rate(
    cfg: ReplicaConfig,
    *,
    input_tokens: float,
    output_tokens: float,
    rate: float,
    num_requests: int | None = None,
    cached_input_tokens: float = 0.0,
) -> OperatingPoint:
    """Open-loop Poisson arrivals at ``rate`` req/s: the concurrency Little's law implies.

    Finds C with lambda(C) = rate by bisection (lambda grows with C), then adds M/D/1
    prefill queueing at utilization rate / capacity (``open_loop_point``). Past capacity the replica
    saturates and the queue grows without bound; for a finite run of ``num_requests`` requests (a benchmark)
    the engine's sequence slots absorb the excess first and the mean extra wait is
    ``finite_run_wait`` (the backlog's mean N/2 x (1/capacity - 1/rate) when there are no slots).
    The planner's capacity search (``capacity.slo_capacity``) walks the same function, so a plan's
    operating point re-estimated at its request rate gives the plan's latencies.

    Memoized (a pure function of frozen inputs; its 60 bisection steps cost ~1.5 ms): a plan page asks for the
    plan's own point twice, once for the plan and once for its concurrency chart.
    """
    return _at_request_rate(cfg, input_tokens, output_tokens, rate, num_requests, cached_input_tokens)


@lru_cache(maxsize=4096)
def _at_request_rate(
    cfg: ReplicaConfig,
    input_tokens: float,
    output_tokens: float,
    rate: float,
    num_requests: int | None,
    cached_input_tokens: float,
) -> OperatingPoint:
    shape: dict[str, float] = {
        "input_tokens": input_tokens, "output_tokens": output_tokens, "cached_input_tokens": cached_input_tokens,
    }  # fmt: skip
    top = max_throughput(cfg, **shape)
    if rate >= top.requests_per_s:
        if num_requests is None:
            return replace(top, ttft_s=math.inf, e2e_s=math.inf)
        backlog = finite_run_wait(rate, top.requests_per_s, num_requests, cfg.max_sequences) + cfg.efficiency.frontend_s
        return replace(top, ttft_s=top.ttft_s + backlog, e2e_s=top.e2e_s + backlog)
    lo, hi = 0.0, float(cfg.max_sequences)
    for _ in range(60):
        mid = (lo + hi) / 2.0
        # operating_point(mid).requests_per_s (no waves), without building the point
        costs = _request_costs(cfg, input_tokens=input_tokens, output_tokens=output_tokens, concurrency=mid,
                               cached_input_tokens=cached_input_tokens)  # fmt: skip
        if _steady_rate(costs) < rate:
            lo = mid
        else:
            hi = mid
    return open_loop_point(cfg, concurrency=hi, saturation_rate=top.requests_per_s, **shape)


def open_loop_point(
    cfg: ReplicaConfig,
    *,
    input_tokens: float,
    output_tokens: float,
    concurrency: float,
    saturation_rate: float,
    cached_input_tokens: float = 0.0,
) -> OperatingPoint:
    """The open-loop operating point whose arrival rate keeps ``concurrency`` sequences running.

    The arrival rate is the closed loop's at that concurrency (Little's law). An open loop below saturation
    serves exactly what arrives, so throughput is that rate and every decode step shares the replica with the
    prefills of that rate (ITL = step / (1 - rate x prefill cost)); prompts additionally queue for the prefill
    server (M/D/1) at the replica's utilization rate / ``saturation_rate``, which adds to TTFT and end-to-end
    but not to the running batch: ``concurrency`` stays the sequences admitted (the engine's running requests).
    ``at_request_rate`` inverts this in the concurrency; the planner bisects it for the largest rate that
    meets the SLOs.
    """
    costs = _request_costs(
        cfg, input_tokens=input_tokens, output_tokens=output_tokens, concurrency=concurrency,
        cached_input_tokens=cached_input_tokens,
    )  # fmt: skip
    # the closed loop's rate, not its whole point: only the rate carries over
    rate = _steady_rate(costs)
    utilization = max(rate / max(saturation_rate, 1e-12), rate * costs.prefill_cost)
    # the front end (``Efficiency.frontend_s``) is outside the engine: in TTFT, not in the running requests
    ttft = costs.ttft_alone + _prefill_wait(utilization, costs.prefill_latency) + cfg.efficiency.frontend_s
    itl = costs.step.total_s / max(1.0 - rate * costs.prefill_cost, 1e-9)
    e2e = ttft + max(output_tokens - 1.0, 0.0) * itl
    # the constructor, not dataclasses.replace (~5x its cost): the capacity search builds one at every load it tries
    return OperatingPoint(concurrency, costs.batch, rate, rate * output_tokens, rate * (input_tokens + output_tokens),
                          ttft, itl, e2e, rate * costs.prefill_cost, costs.step, concurrency >= cfg.max_sequences)  # fmt: skip


def finite_run_wait(rate: float, capacity: float, num_requests: int, slots: float) -> float:
    """Mean wait for a batch slot in a finite open-loop run of ``num_requests`` arriving at ``rate`` > ``capacity``.

    Fluid model: requests arrive for T = N / rate; in flight they grow at (rate - capacity) per second, and the
    first ``slots`` (the engine's sequence limit) are admitted at once, so a queue forms only after
    t0 = slots / (rate - capacity). A request arriving at t > t0 waits ((rate - capacity) t - slots) / capacity;
    averaged over the arrivals: (rate - capacity) (T - t0)^2 / (2 capacity T). With no slots this is the
    backlog's mean N/2 x (1/capacity - 1/rate).
    """
    excess = rate - capacity
    if excess <= 0.0:
        return 0.0
    duration = num_requests / rate
    start = slots / excess
    if start >= duration:
        return 0.0
    return excess * (duration - start) ** 2 / (2.0 * capacity * duration)


def under_load(
    cfg: ReplicaConfig,
    *,
    load: str,
    value: float,
    replicas: int,
    input_tokens: float,
    output_tokens: float,
    num_requests: int | None = None,
    cached_input_tokens: float = 0.0,
) -> OperatingPoint:
    """One replica's operating point under a deployment-wide load, as benchmarks state it.

    ``load``: "max-throughput" (every KV slot busy; also "startup"), "concurrency" (``value``
    requests in flight over all replicas, closed loop), "request-rate" (``value`` req/s over all
    replicas, open loop; ``num_requests`` per replica bounds a finite run's backlog) or
    "static-batch" (a batch of ``value`` sequences per replica). ``cached_input_tokens`` of each prompt
    hit the prefix cache (not in a static batch: a fresh batch).
    """
    tin, tout, cached = input_tokens, output_tokens, cached_input_tokens
    if load in ("max-throughput", "startup"):
        return max_throughput(cfg, input_tokens=tin, output_tokens=tout, cached_input_tokens=cached)
    if load == "request-rate":
        return at_request_rate(
            cfg, rate=value / replicas, num_requests=num_requests, input_tokens=tin, output_tokens=tout,
            cached_input_tokens=cached,
        )  # fmt: skip
    if load == "concurrency":
        return operating_point(
            cfg, concurrency=value / replicas, waves=True, input_tokens=tin, output_tokens=tout,
            cached_input_tokens=cached,
        )  # fmt: skip
    return static_batch(cfg, batch=value, input_tokens=tin, output_tokens=tout)
