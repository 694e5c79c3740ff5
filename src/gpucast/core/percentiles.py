"""Latency percentiles and request-length distributions: the data the tail model and the simulator share.

SLOs are stated as percentiles ("TTFT p99 under 2 s": MLPerf Inference's server constraints, and the seed
specification's "P50 < 500 ms, P99 < 2 s"), so a latency is a distribution, not one number. ``LatencyTail`` holds
the mean and the p50/p90/p95/p99 of TTFT, per-gap ITL, per-request TPOT and end-to-end latency of one operating point;
``LengthProfile`` is a request-length distribution as weighted (input, output) points: a dataset's published
statistics (``lognormal_profile``) or a request log (``empirical_profile``), reduced to a few points whose
weights resolve the upper tail (the last points stand for the top 10%, 5%, 2%, 1% of prompts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

PERCENTILES = ("mean", "50", "90", "95", "99")  # what --slo-percentile accepts
QUANTILES = (50, 90, 95, 99)  # the percentiles every tail reports

# quantile levels (bin centres) and bin weights of a profile's points: ten deciles up to p90, then the tail finer
LEVELS = (0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.925, 0.965, 0.985, 0.995)
WEIGHTS = (0.1,) * 9 + (0.05, 0.03, 0.01, 0.01)
# the i-th input decile is paired with output decile (4 i mod 9), a fixed permutation standing for independence;
# the four tail points (top 10% of prompts) keep the matching output tail (equal weights needed; conservative)
OUTPUT_PAIRING = 4


def check_percentile(value: str | float) -> str:
    """The canonical spelling of a percentile ("p99", "99", 99 and 99.0 all give "99"; "median" gives "50"), or
    ValueError naming the choices. A JSON config's 99.0 and "median" were refused while 99 and "avg" were taken."""
    text = str(value).strip().lower().removeprefix("p")
    if text in ("mean", "avg", "average"):
        return "mean"
    if text == "median":
        return "50"
    try:
        number = float(text) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if number.is_integer() and str(int(number)) in PERCENTILES:
        return str(int(number))
    raise ValueError(f"{value!r} is not one of mean, 50, 90, 95, 99")


def slo_statistic(percentile: str) -> str:
    """How a plan, an estimate and their messages name the statistic SLOs bound: "mean" or "p99"."""
    return "mean" if percentile == "mean" else f"p{percentile}"


def token_target(percentile: str) -> str:
    """What the token SLO (``--itl-slo-ms``) bounds: the mean ITL, or at a percentile the per-request TPOT
    (MLPerf's TPOT; ``SLO.latencies``)."""
    return "ITL" if percentile == "mean" else "TPOT"


@dataclass(frozen=True)
class LatencyTail:
    """Mean, p50, p90, p95 and p99 of TTFT, ITL and end-to-end latency (seconds), in ``PERCENTILES`` order."""

    ttft_s: tuple[float, float, float, float, float]
    itl_s: tuple[float, float, float, float, float]
    e2e_s: tuple[float, float, float, float, float]
    # per-request TPOT: a request's (E2E - TTFT) / (output - 1), distributed across requests (MLPerf's and vLLM's
    # "TPOT", what a percentile SLO's token target bounds: ``at``); tighter than the per-token ITL, as a request
    # averages its steps. None: not computed (the ITL's stand in)
    tpot_s: tuple[float, float, float, float, float] | None = None

    @property
    def tpot(self) -> tuple[float, float, float, float, float]:
        return self.tpot_s if self.tpot_s is not None else self.itl_s

    def at(self, percentile: str) -> tuple[float, float, float]:
        """(TTFT, TPOT, E2E) at ``percentile`` ("mean", "50", "90", "95" or "99"): what an SLO at that percentile
        bounds. The token latency is the per-request TPOT (MLPerf Inference's server/interactive TPOT constraint,
        vLLM's "P99 TPOT"), not the per-gap ITL, whose rare steps that carry a prompt chunk a request averages
        away; at the mean the two are one number (mean TPOT = mean ITL)."""
        i = PERCENTILES.index(percentile)
        return self.ttft_s[i], self.tpot[i], self.e2e_s[i]

    def shifted(self, seconds: float) -> LatencyTail:
        """Every TTFT and end-to-end value later by ``seconds`` (a queue ahead of the engine)."""
        return LatencyTail(
            tuple(t + seconds for t in self.ttft_s),  # type: ignore[arg-type]
            self.itl_s,
            tuple(t + seconds for t in self.e2e_s),  # type: ignore[arg-type]
            self.tpot_s,
        )


@dataclass(frozen=True)
class LengthProfile:
    """A request-length distribution: (weight, input tokens, output tokens) points, weights summing to 1."""

    name: str
    points: tuple[tuple[float, int, int], ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError(f"length profile {self.name!r} has no requests")
        total = sum(w for w, _, _ in self.points)
        if not math.isclose(total, 1.0, rel_tol=1e-6) or any(w <= 0 or i < 1 or o < 1 for w, i, o in self.points):
            raise ValueError(f"length profile {self.name!r}: weights must be positive and sum to 1, lengths >= 1")

    @property
    def mean_input(self) -> float:
        return sum(w * i for w, i, _ in self.points)

    @property
    def mean_output(self) -> float:
        return sum(w * o for w, _, o in self.points)

    @property
    def longest(self) -> int:
        """The longest request (prompt + output) the profile holds: the context window must fit it."""
        return max(i + o for _, i, o in self.points)

    def kv_tokens_per_sequence(self, full: bool = False) -> float:
        """KV tokens a running sequence occupies on average: each request's occupancy weighted by the time it runs
        (its output length), so long generations count more than their share of requests (length-biased)."""
        occupied = sum(w * o * (i + (o if full else o / 2.0)) for w, i, o in self.points)
        return occupied / max(self.mean_output, 1e-12)


_NORMAL = NormalDist()


def _truncated_median_mu(sigma: float, median: float, maximum: float) -> float:
    """The mu at which a lognormal(mu, sigma) cut at ``maximum`` has ``median`` as its median:
    Phi((ln median - mu) / sigma) = Phi((ln maximum - mu) / sigma) / 2, solved by bisection. The cut removes upper
    mass, so the uncut median lies above: the share below ``median`` among the kept falls from over 1/2 at mu = ln
    median towards 0 as mu grows (one root, below ln maximum + 10 sigma)."""
    low, high = math.log(median), math.log(maximum) + 10.0 * sigma
    for _ in range(48):
        mu = (low + high) / 2.0
        below = _NORMAL.cdf((math.log(median) - mu) / sigma)
        kept = _NORMAL.cdf((math.log(maximum) - mu) / sigma)
        low, high = (mu, high) if below > kept / 2.0 else (low, mu)
    return (low + high) / 2.0


def _truncated_mean(mu: float, sigma: float, maximum: float) -> float:
    """E[X | X <= maximum] of a lognormal: exp(mu + sigma^2 / 2) Phi((ln max - mu - sigma^2) / sigma) / Phi((ln max
    - mu) / sigma) (the partial expectation of the lognormal, e.g. Johnson, Kotz & Balakrishnan, ch. 14)."""
    z = (math.log(maximum) - mu) / sigma
    return math.exp(mu + sigma * sigma / 2.0) * _NORMAL.cdf(z - sigma) / max(_NORMAL.cdf(z), 1e-300)


def _lognormal_quantiles(mean: float, median: float, maximum: float) -> list[float]:
    """``LEVELS`` quantiles of a lognormal cut at ``maximum`` whose mean and median, after the cut, are the given
    ones: the shape published length histograms of chat and document sets take. The published statistics describe
    the requests that were kept (vLLM's ShareGPT sampler drops prompts over 1,024 tokens; a window drops what does not
    fit), so the distribution is truncated there, not clipped: a lognormal through mean 219.2 and median 88 clipped
    at 1,024 put 5% of ShareGPT's prompts at the cap and had a mean of 184. Without a cut below the tail this is
    the plain lognormal, sigma^2 = 2 ln(mean / median)."""
    if mean <= median or maximum <= median:
        return [min(max(median, 1.0), maximum) for _ in LEVELS]
    plain = math.sqrt(2.0 * math.log(mean / median))

    def cut_mean(sigma: float) -> float:
        return _truncated_mean(_truncated_median_mu(sigma, median, maximum), sigma, maximum)

    # The cut mean first grows with sigma (mass moves towards the cap), then falls (the lower half spreads towards
    # zero while the upper half cannot pass the cap): scan up from near zero for the first sigma reaching the mean,
    # then bisect. A cap too close to the mean for any lognormal (the agent profile: mean 100k, median 90k, cap
    # 131k) takes the sigma whose cut mean comes nearest.
    grid = [plain * 2.0 ** (k / 4.0) for k in range(-12, 13)]
    means = [cut_mean(sigma) for sigma in grid]
    first = next((k for k, value in enumerate(means) if value >= mean), None)
    if first is None or first == 0:
        sigma = grid[max(range(len(grid)), key=means.__getitem__)] if first is None else grid[0]
    else:
        low, high = grid[first - 1], grid[first]
        for _ in range(30):
            sigma = (low + high) / 2.0
            low, high = (sigma, high) if cut_mean(sigma) < mean else (low, sigma)
        sigma = (low + high) / 2.0
    mu = _truncated_median_mu(sigma, median, maximum)
    kept = _NORMAL.cdf((math.log(maximum) - mu) / sigma)
    return [min(max(math.exp(mu + sigma * _NORMAL.inv_cdf(q * kept)), 1.0), maximum) for q in LEVELS]


def lognormal_profile(
    name: str,
    *,
    input_mean: float,
    input_median: float,
    input_max: float,
    output_mean: float,
    output_median: float,
    output_max: float,
) -> LengthProfile:
    """A profile from published statistics: input and output lengths each lognormal (mean, median, cap), paired
    as independent in the body (the fixed ``OUTPUT_PAIRING`` permutation of deciles)."""
    if min(input_mean, input_median, output_mean, output_median) <= 0:
        raise ValueError(f"length profile {name!r}: means and medians must be positive")
    ins = _lognormal_quantiles(input_mean, input_median, input_max)
    outs = _lognormal_quantiles(output_mean, output_median, output_max)
    pairs = [(OUTPUT_PAIRING * k) % 9 if k < 9 else k for k in range(len(LEVELS))]
    points = tuple((WEIGHTS[k], max(1, round(ins[k])), max(1, round(outs[pairs[k]]))) for k in range(len(LEVELS)))
    return LengthProfile(name, points)


def empirical_profile(name: str, requests: Sequence[tuple[int, int]]) -> LengthProfile:
    """A profile from per-request (input, output) lengths: ``weighted_profile`` with every request weighing one
    (requests sorted by prompt length and grouped into the ``LEVELS`` bins, so input-output correlation is kept)."""
    return weighted_profile(name, [(1.0, i, o) for i, o in requests])


def weighted_profile(name: str, requests: Sequence[tuple[float, float, float]]) -> LengthProfile:
    """A profile from (weight, input, output) rows, e.g. a usage history whose rows are intervals with a request
    rate and mean lengths (weight = the rate): rows sorted by prompt length fall into the ``LEVELS`` bins by the
    midpoint of their cumulative weight; each point is its bin's weighted mean, an empty bin is left out."""
    rows = sorted((i, o, w) for w, i, o in requests if w > 0)
    total = sum(w for _, _, w in rows)
    if not rows or total <= 0:
        raise ValueError(f"length profile {name!r} has no requests")
    bins: list[list[tuple[float, float, float]]] = [[] for _ in WEIGHTS]
    edges = [sum(WEIGHTS[: k + 1]) for k in range(len(WEIGHTS))]
    seen = 0.0
    for i, o, w in rows:
        middle = (seen + w / 2.0) / total
        seen += w
        k = next((k for k, edge in enumerate(edges) if middle <= edge + 1e-12), len(WEIGHTS) - 1)
        bins[k].append((i, o, w))
    points = []
    for members in bins:
        weight = sum(w for _, _, w in members)
        if weight > 0:
            points.append((weight / total, max(1, round(sum(i * w for i, _, w in members) / weight)),
                           max(1, round(sum(o * w for _, o, w in members) / weight))))  # fmt: skip
    merged: dict[tuple[int, int], float] = {}  # bins that came out alike are one point
    for weight, i, o in points:
        merged[(i, o)] = merged.get((i, o), 0.0) + weight
    norm = sum(merged.values())
    return LengthProfile(name, tuple((w / norm, i, o) for (i, o), w in merged.items()))


def mixture_quantiles(
    levels: Sequence[float], offsets: Sequence[tuple[float, float]], busy: float, mean_wait: float
) -> tuple[float, ...]:
    """``mixture_quantile`` at each of ``levels``; one request shape in closed form without the per-call setup (the
    capacity search asks for a tail at every load it tries)."""
    if len(offsets) != 1:
        return tuple(mixture_quantile(p, offsets, busy, mean_wait) for p in levels)
    a = offsets[0][1]
    if busy <= 0.0 or mean_wait <= 0.0:
        return (a,) * len(levels)
    scale = mean_wait / busy
    return tuple(a + scale * math.log(busy / max(1.0 - p, 1e-12)) if busy > 1.0 - p else a for p in levels)


def mixture_quantile(p: float, offsets: Sequence[tuple[float, float]], busy: float, mean_wait: float) -> float:
    """The p-quantile of a + W: ``offsets`` are (weight, a) points and W an independent queueing wait that is 0
    with probability 1 - ``busy`` and otherwise exponential with mean ``mean_wait`` / ``busy`` (the M/G/1 wait's
    exponential tail approximation; exact for M/M/1). Solved by bisection on the mixture's CDF."""
    scale = mean_wait / busy if busy > 0 and mean_wait > 0 else 0.0
    if len(offsets) == 1:  # one request shape: the CDF 1 - busy exp(-(t - a) / scale) inverts in closed form
        a = offsets[0][1]
        if scale <= 0.0 or busy <= 1.0 - p:
            return a
        return a + scale * math.log(busy / max(1.0 - p, 1e-12))

    def cdf(t: float) -> float:
        total = 0.0
        for weight, a in offsets:
            if t >= a:
                total += weight * (1.0 - (busy * math.exp(-(t - a) / scale) if scale > 0 else 0.0))
        return total

    lo = min(a for _, a in offsets)
    hi = max(a for _, a in offsets)
    if scale > 0:
        hi += scale * max(math.log(max(busy, 1e-12) / max(1.0 - p, 1e-12)), 0.0) + 1e-12
    if cdf(lo) >= p:
        return lo
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if cdf(mid) >= p:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-9 * max(hi, 1e-9):
            break
    return hi


SKEW_NEGLIGIBLE = 1e-6  # a skewness this small is normal (the gamma's shape 4 / skew^2 would overflow)


def skewed_quantile(z: float, skew: float) -> float:
    """The standardized (mean 0, sd 1) quantile of a variable of skewness ``skew`` >= 0 at the standard normal
    quantile ``z``: a gamma of that skewness (shape k = 4 / skew^2), shifted and scaled, whose quantile comes from
    Wilson and Hilferty's cube-root normal approximation (PNAS 17, 684, 1931): (G / k)^(1/3) is close to normal with
    mean 1 - 1/(9k) and variance 1/(9k). Why a gamma: a request's summed prefill stalls are compound Poisson (a
    few whole prompts' prefills over its decode), right-skewed and never below 0, which a normal misreads at p99.
    No skew: ``z``. Increasing in ``z``; never below -sqrt(k) (the gamma's zero)."""
    if skew <= SKEW_NEGLIGIBLE:
        return z
    k = 4.0 / (skew * skew)
    c = 1.0 / (9.0 * k)
    g = k * max(1.0 - c + z * math.sqrt(c), 0.0) ** 3
    return (g - k) / math.sqrt(k)


def skewed_cdf_terms(sd: float, skew: float) -> tuple[float, float, float]:
    """(a, shift, b) with which ``skewed_quantile``'s distribution, scaled by ``sd`` > 0, has the CDF
    Phi(sqrt 2 x ((1 + a x)^(1/3) - shift) b) at x above its mean (a = 0: the normal Phi(sqrt 2 x x b)); precomputed
    once per profile point, as a bisection evaluates the mixture's CDF many times."""
    if skew <= SKEW_NEGLIGIBLE:
        return 0.0, 0.0, 1.0 / (sd * math.sqrt(2.0))
    k = 4.0 / (skew * skew)
    c = 1.0 / (9.0 * k)
    return 1.0 / (sd * math.sqrt(k)), 1.0 - c, 1.0 / math.sqrt(2.0 * c)


def skewed_cdf(x: float, terms: tuple[float, float, float]) -> float:
    """The CDF at ``x`` (above the mean) of the distribution ``skewed_cdf_terms`` describes."""
    a, shift, b = terms
    if a == 0.0:
        return 0.5 * (1.0 + math.erf(x * b))
    base = 1.0 + a * x
    if base <= 0.0:  # below the gamma's zero
        return 0.0
    return 0.5 * (1.0 + math.erf((base ** (1.0 / 3.0) - shift) * b))
