"""Analytic latency percentiles of an operating point: the tail the planner sizes at (``--slo-percentile``).

The mean model (``serving``) gives one operating point: decode step, prefill share, mean TTFT/ITL/E2E. The tail
adds what varies from request to request:

* TTFT = own prefill (its prompt length, chunk by chunk) + half a running step + the wait for the prefill server
  (+ the HTTP server's front end, ``Efficiency.frontend_s``, a constant).
  The wait is M/G/1 (Pollaczek-Khinchine: E[W] = rho / (2 (1 - rho)) x E[S^2] / E[S], S the prefill time per
  pipeline stage (latency / pp: a queued prompt enters the first stage once the one ahead has left it), which is
  M/D/1 for one prompt length) with the exponential tail approximation P(W > t) = rho exp(-t rho / E[W]) (Kingman);
  a prompt's TTFT is its own offset plus that wait, and the percentile is read off the mixture over the profile.
* ITL: most steps decode only; a step that also carries a prefill chunk (continuous batching with chunked prefill,
  Sarathi-Serve) is longer by that chunk: the engine's stall that ITL percentiles in vLLM benchmarks show. A prompt
  of n new tokens is n // budget full chunks and a remainder; chunks arrive as Poisson streams, so a step carries
  none with probability exp(-g) (g chunks per step on average) and the percentile is read off the mixture CDF of
  decode-only and carrying steps (``StepDistribution``), never off a threshold on the carrying share: it grows
  continuously and monotonically with the load and the prompt lengths.
* E2E = TTFT + (output - 1) x mean ITL for each profile point (a request's many tokens average its step times).
* TPOT (per request) = (E2E - TTFT) / (output - 1): the mean ITL with the step variance and third moment over
  output - 1 (a shifted gamma of that skewness: a request's stalls are a few whole prefills, skewed to the right).
  This is what a percentile SLO's token target bounds (``LatencyTail.at``; MLPerf's TPOT constraint), so the
  capacity search needs it at every load: in closed form for one request shape, by bisection for a profile.

``simulate`` checks these against a discrete-event run of the scheduler (tests/test_tails.py; docs/tail-latency.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

from .percentiles import QUANTILES, LatencyTail, LengthProfile, mixture_quantiles, skewed_cdf_terms, skewed_quantile
from .replica import ReplicaConfig, prefill_costs
from .serving import OperatingPoint

RHO_CAP = 0.99  # the prefill server's utilization is capped as in serving._prefill_wait
LEVELS = tuple(q / 100.0 for q in QUANTILES)
EXACT_SIZES = 2  # chunk tables this short (one request shape) take the exact compound Poisson
POISSON_TERMS = 64  # terms of a Poisson distribution at most (the rest of its mass goes to the last)
_LOG_TAILS = tuple(-math.log(1.0 - p) for p in LEVELS)  # log(1 / (1 - p))
_Z = tuple(NormalDist().inv_cdf(p) for p in LEVELS)  # standard normal quantiles of LEVELS (z_99 = 2.326)
TPOT_TOLERANCE = 1e-10  # relative width at which a profile's TPOT quantile bisection stops


def _points(
    lengths: LengthProfile | None, input_tokens: float, output_tokens: float
) -> tuple[tuple[float, float, float], ...]:
    if lengths is None:
        return ((1.0, float(input_tokens), float(output_tokens)),)
    return tuple((w, float(i), float(o)) for w, i, o in lengths.points)


@dataclass(frozen=True)
class _Shape:
    """What a request mix costs a replica whatever the load: per profile point (weight, output tokens, prefill
    latency, prefill cost, chunks), the moments of the prefill latency and the chunk table (chunk seconds, chunks
    per request). Memoized: the capacity search asks for a tail at every load it tries, with the same mix."""

    points: tuple[tuple[float, float, float, float, int], ...]
    mean_cost: float
    mean_latency: float
    mean_square: float
    chunk_table: tuple[tuple[float, float], ...]  # ascending chunk seconds


@lru_cache(maxsize=4096)
def _shape(
    cfg: ReplicaConfig,
    lengths: LengthProfile | None,
    input_tokens: float,
    output_tokens: float,
    cached_tokens: float,
    uncached_tokens: float | None = None,
) -> _Shape:
    """A prompt of n new tokens is prefilled in chunks of the engine's token budget: n // budget full chunks (each
    the mean of its full chunks' replica time) and the remainder (its marginal time after them). ``uncached_tokens``:
    each prompt prefills only its last that many tokens (a replayed prompt; ``latency_tail``). The budget is the
    prompt's chunk (``ReplicaConfig.prompt_chunk``: one attention-DP rank's share where SGLang divides it)."""
    budget = cfg.prompt_chunk
    points: list[tuple[float, float, float, float, int]] = []
    chunks: dict[float, float] = {}  # chunk seconds -> chunks per request
    for weight, tin, tout in _points(lengths, input_tokens, output_tokens):
        cached = min(cached_tokens, tin) if uncached_tokens is None else max(tin - uncached_tokens, 0.0)
        new = max(tin - cached, 0.0)
        latency, cost = prefill_costs(cfg, new, cached)
        points.append((weight, tout, latency, cost, math.ceil(new / budget)))
        if new <= 0.0:
            continue
        full = int(new // budget)
        rest = new - full * budget
        full_cost = prefill_costs(cfg, full * budget, cached)[1] if full and rest > 1e-9 else cost
        if full:
            chunks[full_cost / full] = chunks.get(full_cost / full, 0.0) + weight * full
        if rest > 1e-9:
            size = max(cost - (full_cost if full else 0.0), 0.0)
            chunks[size] = chunks.get(size, 0.0) + weight
    return _Shape(
        tuple(points),
        sum(w * c for w, _, _, c, _ in points),
        sum(w * lat for w, _, lat, _, _ in points),
        sum(w * lat * lat for w, _, lat, _, _ in points),
        tuple(sorted(chunks.items())),
    )


def latency_tail(
    cfg: ReplicaConfig,
    point: OperatingPoint,
    *,
    input_tokens: float,
    output_tokens: float,
    saturation_rate: float,
    lengths: LengthProfile | None = None,
    cached_input_tokens: float = 0.0,
    uncached_tokens: float | None = None,
) -> LatencyTail:
    """Mean and percentiles of TTFT, ITL and E2E at ``point`` (an open-loop point of ``serving``).

    ``cached_input_tokens`` of every prompt hit the prefix cache; ``uncached_tokens`` instead: every prompt but its
    last that many tokens does (a benchmark that replays its prompts to a server with prefix caching on: all full KV
    blocks hit, the last partial block is prefilled), so each profile point keeps its own length's attention.

    Without ``lengths`` every request has the point's shape and the means are the point's own, so
    ``--slo-percentile mean`` reproduces the mean model exactly; with a profile the means are the profile's.
    The per-request TPOT's percentiles are what a percentile SLO bounds (``LatencyTail.at``); the per-gap ITL's
    are reported beside them."""
    rate, step = point.requests_per_s, point.step
    shape = _shape(cfg, lengths, input_tokens, output_tokens, cached_input_tokens, uncached_tokens)
    itl = point.itl_s
    steps = _steps(shape, point)
    tpot = _tpot_tail([(w, tout) for w, tout, _, _, _ in shape.points], step.total_s, itl, steps)
    if not math.isfinite(point.ttft_s):  # overloaded: the queue grows without bound, the steps go on
        inf = (math.inf,) * 5
        return LatencyTail(inf, (itl, *steps.quantiles(step.total_s)), inf, tpot)  # type: ignore[arg-type]
    offsets = _offsets(shape, point, cfg.efficiency.frontend_s)
    rho, mean_wait = _queue(cfg, shape, rate, saturation_rate)
    if lengths is None:  # one request shape: the wait's quantiles in closed form, shared by TTFT and E2E
        a, queued, e2e_offset = _one_shape(offsets[0], point, mean_wait)
        waits = _wait_quantiles(rho, mean_wait)
        return LatencyTail(
            (point.ttft_s, *(a + queued + w for w in waits)),  # type: ignore[arg-type]
            (itl, *steps.quantiles(step.total_s)),  # type: ignore[arg-type]
            (point.e2e_s, *(e2e_offset + w for w in waits)),  # type: ignore[arg-type]
            tpot,
        )
    ttft_points = [(w, a) for w, a, _ in offsets]
    e2e_points = [(w, a + max(tout - 1.0, 0.0) * itl) for w, a, tout in offsets]
    ttft_mean = sum(w * a for w, a in ttft_points) + mean_wait
    e2e_mean = sum(w * a for w, a in e2e_points) + mean_wait
    ttft = (ttft_mean, *mixture_quantiles(LEVELS, ttft_points, rho, mean_wait))
    e2e = (e2e_mean, *mixture_quantiles(LEVELS, e2e_points, rho, mean_wait))
    return LatencyTail(ttft, (itl, *steps.quantiles(step.total_s)), e2e, tpot)  # type: ignore[arg-type]


def latencies_at(
    cfg: ReplicaConfig,
    point: OperatingPoint,
    percentile: str,
    *,
    input_tokens: float,
    output_tokens: float,
    saturation_rate: float,
    lengths: LengthProfile | None = None,
    cached_input_tokens: float = 0.0,
) -> tuple[float, float, float]:
    """``latency_tail(...).at(percentile)``, the same three floats, computing that percentile alone where it can.

    The capacity search decides at each load it tries from these three numbers only (``capacity.slo_capacity``):
    for one request shape at a percentile they take one level of the closed forms, not the tail's four levels of
    TTFT, TPOT and E2E and the per-gap ITL's quantiles (the step distribution's pass over its atoms, a quarter of
    a tail's cost), built by the same expressions in the same order; anything else (a profile, the mean, an
    overloaded point) takes the whole tail. tests/test_tails.py checks them equal, bit for bit."""
    if lengths is not None or percentile == "mean" or not math.isfinite(point.ttft_s):
        return latency_tail(cfg, point, input_tokens=input_tokens, output_tokens=output_tokens,
                            saturation_rate=saturation_rate, lengths=lengths,
                            cached_input_tokens=cached_input_tokens).at(percentile)  # fmt: skip
    level = QUANTILES.index(int(percentile))
    rate, step, itl = point.requests_per_s, point.step, point.itl_s
    shape = _shape(cfg, None, input_tokens, output_tokens, cached_input_tokens)
    # _tpot_tail's closed form for one output length, at this level only
    steps = _steps(shape, point)
    tpot = _tpot_one_length(itl, step.total_s, steps.variance, steps.third, shape.points[0][1], _Z[level])
    rho, mean_wait = _queue(cfg, shape, rate, saturation_rate)
    a, queued, e2e_offset = _one_shape(_offsets(shape, point, cfg.efficiency.frontend_s)[0], point, mean_wait)
    wait = _wait_quantile(rho, mean_wait, level)
    return a + queued + wait, tpot, e2e_offset + wait


def _steps(shape: _Shape, point: OperatingPoint) -> StepDistribution:
    """The time between two tokens at ``point`` (``step_distribution``: the prefill chunks its steps carry at the
    point's rate, the attention's spread over its batch)."""
    spread = point.step.attention_s / math.sqrt(max(point.batch, 1.0))
    return step_distribution(shape.chunk_table, point.requests_per_s * point.itl_s, spread)


def _offsets(shape: _Shape, point: OperatingPoint, frontend: float) -> list[tuple[float, float, float]]:
    """(weight, TTFT before any wait, output tokens) per profile point: own prefill, half a running step, in
    every chunk of the prompt the running batch's attention and step overhead, and the server's ``frontend``."""
    step = point.step
    per_chunk_step = step.attention_s + step.overhead_s
    half_step = step.total_s / 2.0 + frontend
    return [(w, lat + half_step + n * per_chunk_step, tout) for w, tout, lat, _, n in shape.points]


def _queue(cfg: ReplicaConfig, shape: _Shape, rate: float, saturation_rate: float) -> tuple[float, float]:
    """(utilization, mean wait) of the prefill server at ``rate`` (M/G/1, Pollaczek-Khinchine)."""
    mean_latency, mean_square = shape.mean_latency, shape.mean_square
    rho = min(max(rate / max(saturation_rate, 1e-12), rate * shape.mean_cost, 0.0), RHO_CAP)
    # a queued prompt waits for the one ahead to leave the first pipeline stage, not the whole pipeline: the
    # prefill server's service time is a prompt's latency / pp (its occupancy of one stage)
    mean_wait = rho / (2.0 * (1.0 - rho)) * (mean_square / mean_latency / cfg.pp if mean_latency > 0 else 0.0)
    return rho, mean_wait


def _one_shape(
    offset: tuple[float, float, float], point: OperatingPoint, mean_wait: float
) -> tuple[float, float, float]:
    """One request shape: (TTFT offset, the mean model's queueing beyond the mean wait, E2E offset before a wait)."""
    _, a, tout = offset
    queued = max(point.ttft_s - (a + mean_wait), 0.0)
    return a, queued, a + max(tout - 1.0, 0.0) * point.itl_s + queued


def _wait_quantile(busy: float, mean_wait: float, level: int) -> float:
    """The prefill wait's quantile at ``LEVELS[level]`` (see :func:`_wait_quantiles`)."""
    if busy <= 0.0 or mean_wait <= 0.0:
        return 0.0
    p = LEVELS[level]
    return mean_wait / busy * (math.log(busy) + _LOG_TAILS[level]) if busy > 1.0 - p else 0.0


def _wait_quantiles(busy: float, mean_wait: float) -> tuple[float, ...]:
    """``LEVELS`` quantiles of the prefill wait: 0 with probability 1 - ``busy``, else exponential of mean
    ``mean_wait`` / ``busy`` (``percentiles.mixture_quantile`` for one request shape)."""
    return tuple(_wait_quantile(busy, mean_wait, level) for level in range(len(LEVELS)))


@dataclass(frozen=True)
class StepDistribution:
    """The time between two tokens: a decode step + X + noise.

    X is the prefill work the step carries: each chunk of the chunk table arrives as a Poisson stream (its chunks per
    request x requests per step), so a step carries none with probability exp(-g) (g = the streams' sum), and a step
    that carries a chunk of size s also carries, on average, the rest of the streams' work m = sum of rate x size:
    P(X <= x) = exp(-sum of the rates of the chunks with s + m > x). This keeps every percentile non-decreasing in
    the load and in the prompt lengths (more or larger chunks only add mass above any x: Poisson superposition),
    which a threshold on the share of carrying steps did not. The noise is the running batch's fluctuation (Poisson
    in an open loop: sd = the step's attention / sqrt(batch)), its upper half taken as an exponential of that mean,
    which makes each quantile continuous in the load and never lowers it."""

    values: tuple[float, ...]  # X's atoms, ascending, the first 0
    probs: tuple[float, ...]
    spread: float

    @property
    def mean_extra(self) -> float:
        return sum(v * p for v, p in zip(self.values, self.probs, strict=True))

    @property
    def variance(self) -> float:
        mean = self.mean_extra
        return sum(p * (v - mean) ** 2 for v, p in zip(self.values, self.probs, strict=True)) + self.spread**2

    @property
    def third(self) -> float:
        """Third central moment of X (its atoms; the batch's fluctuation adds variance, taken as symmetric)."""
        mean = self.mean_extra
        return sum(p * (v - mean) ** 3 for v, p in zip(self.values, self.probs, strict=True))

    def quantiles(self, step_s: float) -> tuple[float, ...]:
        """``QUANTILES`` of step + X + noise, in one pass over the atoms: on each stretch between atoms the CDF is
        mass - weight x exp(-u / spread), inverted in closed form (no bisection)."""
        values, probs, spread = self.values, self.probs, self.spread
        levels = LEVELS  # ascending
        out: list[float] = []
        mass, weight, last = 0.0, 0.0, len(values) - 1
        for k, value in enumerate(values):
            prob = probs[k]
            if spread <= 0.0:  # atoms only: the first value whose cumulative probability reaches the level
                mass += prob
                while len(out) < len(levels) and (mass >= levels[len(out)] - 1e-12 or k == last):
                    out.append(step_s + value)
                continue
            if k > 0:
                weight *= math.exp(-(value - values[k - 1]) / spread)
            mass += prob
            weight += prob  # sum of prob x exp(-(value - atom) / spread) over the atoms so far
            while len(out) < len(levels) and mass > levels[len(out)]:
                u = spread * math.log(weight / (mass - levels[len(out)]))
                if k < last and value + u > values[k + 1]:
                    break  # this level lies beyond the next atom
                out.append(step_s + value + max(u, 0.0))
        return tuple(out)


def step_distribution(chunk_table: Sequence[tuple[float, float]], per_step: float, spread: float) -> StepDistribution:
    """The per-token gap's distribution (``StepDistribution``) when ``per_step`` requests arrive per step (rate x
    mean gap) with the chunks of ``chunk_table`` (ascending chunk seconds, chunks per request) each."""
    total = sum(n for _, n in chunk_table) * per_step
    if total <= 0.0:
        return StepDistribution((0.0,), (1.0,), spread)
    if len(chunk_table) <= EXACT_SIZES:
        return _compound(chunk_table, per_step, spread)
    rest_of_stream = sum(size * n for size, n in chunk_table) * per_step
    values, probs = [0.0], [math.exp(-total)]
    above, below = total, probs[0]  # rates of the chunks whose step is longer; P(X <= the last value)
    for size, n in chunk_table:
        above -= n * per_step
        cumulative = math.exp(-max(above, 0.0))
        values.append(size + rest_of_stream)
        probs.append(cumulative - below)
        below = cumulative
    return StepDistribution(tuple(values), tuple(probs), spread)


def _poisson(mean: float) -> list[float]:
    """Poisson probabilities 0, 1, 2... up to a cumulative 1 - 1e-7 (at most ``POISSON_TERMS``; the rest of the
    mass is added to the last term: conservative, and never enough to move a percentile up to p99)."""
    terms, pmf, cumulative = [], math.exp(-mean), 0.0
    for k in range(POISSON_TERMS):
        terms.append(pmf)
        cumulative += pmf
        if cumulative >= 1.0 - 1e-7:
            break
        pmf *= mean / (k + 1)
    terms[-1] += max(1.0 - cumulative, 0.0)
    return terms


def _compound(chunk_table: Sequence[tuple[float, float]], per_step: float, spread: float) -> StepDistribution:
    """The exact compound Poisson distribution of a step's prefill work for one or two chunk sizes (one request
    shape: its full chunks and its remainder): i chunks of one size and j of the other with probability
    Poisson(i) x Poisson(j). Non-decreasing in the load and the chunk sizes as the general form is, and without its
    conservative mean of the other chunks: a fixed-length p99 ITL is one chunk's step until two chunks in one step
    pass 1% of the steps, as the simulator shows."""
    if len(chunk_table) == 1 and chunk_table[0][0] > 0.0:  # one size (a prompt within the budget): i chunks
        size, n = chunk_table[0]
        pmf = _poisson(n * per_step)
        return StepDistribution(tuple(i * size for i in range(len(pmf))), tuple(pmf), spread)
    atoms: dict[float, float] = {}
    grids = [(size, _poisson(n * per_step)) for size, n in chunk_table]
    (size_a, pmf_a), (size_b, pmf_b) = grids if len(grids) == 2 else (grids[0], (0.0, [1.0]))
    for i, p in enumerate(pmf_a):
        for j, q in enumerate(pmf_b):
            value = i * size_a + j * size_b
            atoms[value] = atoms.get(value, 0.0) + p * q
    ordered = sorted(atoms.items())
    return StepDistribution(tuple(v for v, _ in ordered), tuple(p for _, p in ordered), spread)


def _skewness(variance: float, third: float, gaps: float) -> float:
    """Skewness of the mean of ``gaps`` independent step extras (cumulants add): third / variance^1.5 / sqrt(gaps)."""
    return third / (variance**1.5 * math.sqrt(gaps)) if third > 0.0 else 0.0


def _tpot_one_length(itl: float, step_s: float, variance: float, third: float, output_tokens: float, z: float) -> float:
    """Per-request TPOT at the standard normal quantile ``z`` when every request has ``output_tokens``: the mean
    ITL plus the skewed quantile of the step extras' mean over output - 1 steps, at least one decode step
    (:func:`_tpot_tail`)."""
    if variance <= 0.0:
        return itl
    gaps = max(output_tokens - 1.0, 1.0)
    return max(step_s, itl + skewed_quantile(z, _skewness(variance, third, gaps)) * math.sqrt(variance / gaps))


def _tpot_tail(
    outputs: Sequence[tuple[float, float]], step_s: float, itl: float, steps: StepDistribution
) -> tuple[float, float, float, float, float]:
    """Mean and percentiles of per-request TPOT: the mean ITL plus the mean of a request's o - 1 step extras, a
    shifted gamma of their variance / (o - 1) and skewness (``percentiles.skewed_quantile``: whole unchunked prompts
    in a few steps skew it right; the central limit's normal once they even out), at least one decode step. One
    output length: closed form. A profile: read off the mixture over its output lengths (requests counted) by
    bisection within the points' own quantiles (the mixture's lies between them), to ``TPOT_TOLERANCE``."""
    variance, third = steps.variance, steps.third
    if variance <= 0.0:
        return (itl,) * (1 + len(QUANTILES))  # type: ignore[return-value]
    if len(outputs) == 1:
        return (itl, *(_tpot_one_length(itl, step_s, variance, third, outputs[0][1], z) for z in _Z))  # type: ignore[return-value]
    spreads = [(w, math.sqrt(variance / g), _skewness(variance, third, g))
               for w, g in ((w, max(tout - 1.0, 1.0)) for w, tout in outputs)]  # fmt: skip
    terms = [(w / 2.0, *skewed_cdf_terms(sd, skew)) for w, sd, skew in spreads]

    def cdf(t: float) -> float:  # skewed_cdf of every point, inlined: the bisection's inner loop
        x, total = t - itl, 0.0
        for half, a, shift, b in terms:
            base = 1.0 + a * x
            if base > 0.0:
                total += half * (1.0 + math.erf((base ** (1.0 / 3.0) - shift) * b if a else x * b))
        return total

    quantiles = []
    for p, z in zip(LEVELS, _Z, strict=True):  # z >= 0: LEVELS are p50 and above
        own = [sd * skewed_quantile(z, skew) for _, sd, skew in spreads]
        lo, hi = itl + min(own), itl + max(own)
        while hi - lo > TPOT_TOLERANCE * hi:
            mid = (lo + hi) / 2.0
            lo, hi = (lo, mid) if cdf(mid) >= p else (mid, hi)
        quantiles.append(max(hi, step_s))
    return (itl, *quantiles)  # type: ignore[return-value]
