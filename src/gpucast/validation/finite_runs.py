"""Finite benchmark runs: the percentiles of exactly the N requests a request-rate benchmark sent, starting empty.

A published percentile at a request rate comes from a finite run: ``vllm bench serve --num-prompts 200``, AccelMark's
"200 requests per run (Poisson arrivals) at 25 req/s" (an 8-second run), TensorRT-LLM's "500 requests; online
serving". ``core.tails`` predicts the steady state of an endless open loop, which past the replica's capacity is a
queue growing without bound (and near it one that takes long to build); the run of N requests starts with an empty
engine and stops arriving after N, so its backlog stays short. Where that transient matters the row is predicted by
the scheduler simulation (``core.simulate``) over exactly N arrivals at the row's rate per replica, every request
measured (no warm-up or drain excluded, as the benchmark's own percentiles count them), averaged over ``SEEDS`` seeded
arrival sequences: Poisson (gpucast's request-rate load, vLLM's default ``--burstiness 1``) or evenly paced where the
notes say so (``FIXED_RATE``).

When the transient matters: a queue started empty approaches its stationary distribution with the relaxation time
tau = 1 / (mu (1 - sqrt(rho))^2) (M/M/1, rho = lambda / mu < 1: Cohen, *The Single Server Queue*, 1982, ch. III.7;
Morse, *Operations Research* 3, 1955), i.e. lambda tau = rho / (1 - sqrt(rho))^2 arrivals. A run of N arrivals
measures the steady state when that start-up is a small share of it: N >= ``RELAXATIONS`` x lambda tau (at most
a tenth of the requests in the transient). rho is the tail model's own utilization, the rate over the replica's
saturation (``serving.max_throughput``); at rho >= 1 there is no steady state and every finite run is simulated.
With ``RELAXATIONS`` = 10, a run of 200 requests is steady below rho = 0.67, 300 below 0.72, 1,000 below 0.83.

A closed loop (``--max-concurrency C`` over N requests: vLLM's ``bench serve`` holds a semaphore of C, so its C
clients' first requests all leave at t = 0 and each sends its next when its previous one completes) has a transient
of its own: the start-up burst, C prompts meeting an empty engine at once, of which all but the first wait behind
others (prefilled together within the step's token budget, or in turn beyond it). That burst sets the p99 of the
run when more of its requests wait than lie above the p99: C - 1 > N (1 - 0.99) (``closed_loop_transient``; with
N = 100 from C = 3 on); then the run is predicted as it ran, ``core.simulate.simulate_closed_loop`` over exactly N
requests from an empty engine (lengths drawn as above, ``SEEDS`` seeds; fixed lengths once), every request measured,
for every percentile of the run (one model per run, as for the request rates). Below that share the burst cannot
reach the p99 (one client sends nothing together), and the analytic tail at the closed loop's operating point stays.

Only the percentile rows take this path: the means (``ttft_ms``, ``itl_ms``...) are the mean model's, whose finite
run is the fluid ``serving.finite_run_wait``, and they are what ``scripts/calibrate.py`` fits; plans are sized for
steady production traffic and never use it. A replayed prompt set (``prefix_cache=replay``) keeps the analytic
tail: the simulator does not model the prefix cache.
"""

from __future__ import annotations

import math
import random
import re

from ..core.percentiles import QUANTILES, LatencyTail, LengthProfile
from ..core.replica import ReplicaConfig
from ..core.simulate import (
    SimulationResult,
    draw_shapes,
    fixed_rate_trace,
    poisson_trace,
    simulate,
    simulate_closed_loop,
)

RELAXATIONS = 10  # a run of N requests is steady when N >= this many relaxation times' arrivals
# arrival sequences averaged (seeds 0..19): the p99 of 200 requests is their second longest and varies by 20-27% (one
# standard deviation) from seed to seed on AccelMark's 70B runs past capacity; 20 seeds put the mean within ~5%
SEEDS = 20
FIXED_RATE = re.compile(r"fixed[- ]rate|constant[- ]rate|fixed[- ]interval|evenly[- ]paced|burstiness[ =]+inf", re.I)


def relaxation_arrivals(rho: float) -> float:
    """Arrivals in one relaxation time of a queue at utilization ``rho`` (infinite at rho >= 1, and for a NaN
    utilization: no steady state can be assumed, so the run is simulated rather than read as steady)."""
    if not rho < 1.0:
        return math.inf
    return max(rho, 0.0) / (1.0 - math.sqrt(max(rho, 0.0))) ** 2


def is_transient(rho: float, requests: int | None) -> bool:
    """True where a run of ``requests`` arrivals at utilization ``rho`` is too short for the steady state."""
    return requests is not None and requests < RELAXATIONS * relaxation_arrivals(rho)


def fixed_rate(notes: str) -> bool:
    """The notes say the benchmark paced its requests evenly instead of as a Poisson process."""
    return FIXED_RATE.search(notes) is not None


def finite_run_tail(
    cfg: ReplicaConfig,
    *,
    rate: float,
    requests: int,
    input_tokens: float,
    output_tokens: float,
    lengths: LengthProfile | None = None,
    paced: bool = False,
) -> LatencyTail:
    """Mean and percentiles over all ``requests`` of a run at ``rate`` per second to one replica starting empty:
    the simulation's, averaged over ``SEEDS`` arrival sequences (each value the mean of the seeds')."""
    profile = lengths or LengthProfile("fixed", ((1.0, round(input_tokens), round(output_tokens)),))
    trace = fixed_rate_trace if paced else poisson_trace
    return _average(
        [simulate(cfg, trace(rate, requests, profile, seed=seed), measured=(0.0, 1.0)) for seed in range(SEEDS)]
    )


def closed_loop_transient(clients: int, requests: int | None) -> bool:
    """True where a closed-loop run's start-up burst reaches its p99: of the ``clients`` requests sent together at
    t = 0 to an empty engine, all but the first wait behind others, and those ``clients`` - 1 are more than the
    requests above the p99 (1% of the run; ``QUANTILES``' highest level), so the p99 (and any lower level once they
    outnumber its tail) can be a burst request's. One client sends nothing together: never."""
    return requests is not None and clients - 1 > (1.0 - max(QUANTILES) / 100.0) * requests


def closed_loop_tail(
    cfg: ReplicaConfig,
    *,
    clients: int,
    requests: int,
    input_tokens: float,
    output_tokens: float,
    lengths: LengthProfile | None = None,
) -> LatencyTail:
    """Mean and percentiles over all ``requests`` of a closed-loop run of ``clients`` (``core.simulate``'s
    ``simulate_closed_loop``) starting empty: lengths drawn from ``lengths`` in ``SEEDS`` seeded orders and the
    seeds' values averaged; fixed lengths make every seed alike, so they run once."""
    if lengths is None or len(lengths.points) == 1:
        shape = (round(input_tokens), round(output_tokens)) if lengths is None else lengths.points[0][1:]
        return _average([simulate_closed_loop(cfg, clients, [shape] * requests)])
    runs = [simulate_closed_loop(cfg, clients, draw_shapes(lengths, requests, random.Random(s))) for s in range(SEEDS)]
    return _average(runs)


def _average(runs: list[SimulationResult]) -> LatencyTail:
    """Each mean and percentile the mean of the runs' (seeds')."""

    def average(pick: int) -> tuple[float, float, float, float, float]:
        rows = [(r.tail.ttft_s, r.tail.itl_s, r.tail.e2e_s, r.tail.tpot)[pick] for r in runs]
        return tuple(sum(values) / len(values) for values in zip(*rows, strict=True))

    return LatencyTail(average(0), average(1), average(2), average(3))
