"""Analytic latency percentiles of an operating point: the tail the planner sizes at (``--slo-percentile``).

The mean model (``serving``) gives one operating point: decode step, prefill share, mean TTFT/ITL/E2E. The tail
adds what varies from request to request:

* TTFT = own prefill (its prompt length, chunk by chunk) + half a running step + the wait for the prefill server.
  The wait is M/G/1 (Pollaczek-Khinchine: E[W] = rho / (2 (1 - rho)) x E[S^2] / E[S], S the prefill time, which is
  M/D/1 for one prompt length) with the exponential tail approximation P(W > t) = rho exp(-t rho / E[W]) (Kingman);
  a prompt's TTFT is its own offset plus that wait, and the percentile is read off the mixture over the profile.
* ITL: most steps decode only; a step that also carries a prefill chunk (continuous batching with chunked prefill,
  Sarathi-Serve) is longer by that chunk. Chunks arrive as a Poisson stream (rate x chunks per prompt), so a share
  1 - exp(-g) of steps carries one (g chunks per step on average), and their extra time is scaled so the mean
  ITL stays the mean model's step / (1 - prefill share). The p99 ITL is a chunk-carrying step once more than 1% of
  steps carry one: the engine's stall that TPOT percentiles in vLLM benchmarks show.
* E2E = TTFT + (output - 1) x mean ITL for each profile point (a request's many tokens average its step times).

``simulate`` checks these against a discrete-event run of the scheduler (tests/test_tails.py; docs/tail-latency.md).
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

from .percentiles import QUANTILES, LatencyTail, LengthProfile, mixture_quantile
from .serving import OperatingPoint, ReplicaConfig, prefill_seconds

RHO_CAP = 0.99  # the prefill server's utilization is capped as in serving._prefill_wait


@lru_cache(maxsize=65536)
def _prefill(cfg: ReplicaConfig, tokens: float, cached: float) -> tuple[float, float]:
    """(latency alone, replica time under load) of prefilling ``tokens`` new prompt tokens: memoized, as the
    capacity search evaluates the same prompt lengths at every load it tries."""
    latency = prefill_seconds(cfg, tokens, cached_tokens=cached)
    cost = prefill_seconds(cfg, tokens, batched=True, cached_tokens=cached) / cfg.pp
    return latency, cost


def _points(
    lengths: LengthProfile | None, input_tokens: float, output_tokens: float
) -> tuple[tuple[float, float, float], ...]:
    if lengths is None:
        return ((1.0, float(input_tokens), float(output_tokens)),)
    return tuple((w, float(i), float(o)) for w, i, o in lengths.points)


def latency_tail(
    cfg: ReplicaConfig,
    point: OperatingPoint,
    *,
    input_tokens: float,
    output_tokens: float,
    saturation_rate: float,
    lengths: LengthProfile | None = None,
    cached_input_tokens: float = 0.0,
    tpot: bool = False,
) -> LatencyTail:
    """Mean and percentiles of TTFT, ITL and E2E at ``point`` (an open-loop point of ``serving``).

    Without ``lengths`` every request has the point's shape and the means are the point's own, so
    ``--slo-percentile mean`` reproduces the mean model exactly; with a profile the means are the profile's.
    ``tpot``: also the per-request TPOT distribution (reported, never an SLO input: the capacity search skips it)."""
    if not math.isfinite(point.ttft_s):
        inf = (math.inf,) * 5
        return LatencyTail(inf, (point.itl_s,) * 5, inf)
    rate, step = point.requests_per_s, point.step
    per_chunk_step = step.attention_s + step.overhead_s
    rows = []  # (weight, ttft offset, e2e offset, prefill latency, prefill cost, chunks)
    for weight, tin, tout in _points(lengths, input_tokens, output_tokens):
        cached = min(cached_input_tokens, tin)
        new = max(tin - cached, 0.0)
        latency, cost = _prefill(cfg, new, cached)
        chunks = math.ceil(new / max(cfg.chunk_tokens, 1))
        offset = latency + step.total_s / 2.0 + chunks * per_chunk_step
        rows.append((weight, offset, tout, latency, cost, chunks))
    mean_cost = sum(r[0] * r[4] for r in rows)
    mean_latency = sum(r[0] * r[3] for r in rows)
    mean_square = sum(r[0] * r[3] ** 2 for r in rows)
    rho = min(max(rate / max(saturation_rate, 1e-12), rate * mean_cost, 0.0), RHO_CAP)
    mean_wait = rho / (2.0 * (1.0 - rho)) * (mean_square / mean_latency if mean_latency > 0 else 0.0)
    itl = point.itl_s
    ttft_points = [(r[0], r[1]) for r in rows]
    e2e_points = [(r[0], r[1] + max(r[2] - 1.0, 0.0) * itl) for r in rows]
    ttft_mean = sum(w * a for w, a in ttft_points) + mean_wait
    e2e_mean = sum(w * a for w, a in e2e_points) + mean_wait
    if lengths is None:  # the mean model's own numbers, bit for bit
        ttft_mean, e2e_mean = point.ttft_s, point.e2e_s
    queued = max(point.ttft_s - (sum(w * a for w, a in ttft_points) + mean_wait), 0.0) if lengths is None else 0.0
    ttft = (ttft_mean, *tuple(queued + mixture_quantile(q / 100.0, ttft_points, rho, mean_wait) for q in QUANTILES))
    e2e = (e2e_mean, *tuple(queued + mixture_quantile(q / 100.0, e2e_points, rho, mean_wait) for q in QUANTILES))
    extras = _step_extras(rows, rate, step.total_s, itl)
    tpot_tail = _tpot_tail(rows, step.total_s, itl, extras) if tpot else None
    return LatencyTail(ttft, _itl_tail(step.total_s, itl, extras), e2e, tpot_tail)  # type: ignore[arg-type]


def _step_extras(
    rows: list[tuple[float, float, float, float, float, int]], rate: float, step_s: float, itl: float
) -> tuple[list[tuple[float, float]], float]:
    """(extra seconds, probability) of the steps that carry a prefill chunk, sorted, and the share of such steps;
    ([], 0) when none do. A carrying step's extra time is one prompt's chunk (cost / chunks), chunk-weighted, scaled
    so the mean step is the mean model's ITL."""
    extra_mean = max(itl - step_s, 0.0)
    chunks_per_prompt = sum(r[0] * r[5] for r in rows)
    carrying = 1.0 - math.exp(-rate * itl * chunks_per_prompt) if chunks_per_prompt > 0 else 0.0
    if extra_mean <= 0.0 or carrying <= 0.0:
        return [], 0.0
    chunk_rows = [(r[0] * r[5] / chunks_per_prompt, r[4] / r[5]) for r in rows if r[5] > 0]
    mean_chunk = sum(w * c for w, c in chunk_rows)
    scale = extra_mean / (carrying * mean_chunk) if mean_chunk > 0 else 0.0
    return sorted((c * scale, w * carrying) for w, c in chunk_rows), carrying


def _tpot_tail(
    rows: list[tuple[float, float, float, float, float, int]],
    step_s: float,
    itl: float,
    extras: tuple[list[tuple[float, float]], float],
) -> tuple[float, ...]:
    """Mean and percentiles of per-request TPOT: a request of o output tokens averages o - 1 steps, so its TPOT is
    the mean ITL with the step variance divided by o - 1 (central limit), at least one decode step; the
    percentiles are read off the mixture over the profile's output lengths (requests, not tokens, counted)."""
    values, _ = extras
    extra_mean = max(itl - step_s, 0.0)
    variance = max(sum(p * v * v for v, p in values) - extra_mean**2, 0.0)
    spreads = [(r[0], math.sqrt(variance / max(r[2] - 1.0, 1.0))) for r in rows]
    if variance <= 0.0:
        return (itl,) * (1 + len(QUANTILES))
    normal = NormalDist()

    def cdf(t: float) -> float:
        return sum(w * normal.cdf((t - itl) / sd) if sd > 0 else w * (t >= itl) for w, sd in spreads)

    quantiles = []
    for q in QUANTILES:
        lo, hi = step_s, itl + 10.0 * max(sd for _, sd in spreads)
        for _ in range(50):
            mid = (lo + hi) / 2.0
            lo, hi = (lo, mid) if cdf(mid) >= q / 100.0 else (mid, hi)
        quantiles.append(max(hi, step_s))
    return (itl, *quantiles)


def _itl_tail(step_s: float, itl: float, extras: tuple[list[tuple[float, float]], float]) -> tuple[float, ...]:
    """Mean and percentiles of the time between tokens: decode-only steps and steps that carry a prefill chunk."""
    values, carrying = extras
    if not values:
        return (itl,) + (itl,) * len(QUANTILES)
    quantiles = []
    for q in QUANTILES:
        p, cumulative, extra = q / 100.0, 1.0 - carrying, 0.0
        for value, weight in values:
            if cumulative >= p - 1e-12:
                break
            cumulative += weight
            extra = value
        quantiles.append(step_s + extra)
    return (itl, *tuple(quantiles))
