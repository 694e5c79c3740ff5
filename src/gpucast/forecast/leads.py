"""How a seasonal series' band grows past the steps the backtest measured, from its own history's level changes.

Why (issue 26 item 1): the bands are calibrated on the first ``K`` steps ahead (``fast.calibrated_steps``: at most
two seasons, 48 hourly steps) and used to grow like a random walk's after that, by sqrt(k / K) — as if the whole
step-``K`` error were level noise that keeps accumulating at its own rate. On the bursty ServeGen traffic the
day-to-day level moves more than that: at a one-week horizon the 80% bands covered 0.66 of the hours at steps
49–96 and 7 of 16 hourly series fell outside 70–90% (docs/forecast-accuracy.md).

The rule: the error ``k`` steps ahead is the error at step ``K`` plus the further change of the series' level from
lead ``K`` to lead ``k``. The spread of that change is measured on the whole history, without refitting anything,
from the errors of a seasonal-naive forecast (the last season repeated): ``L`` steps ahead, for ``L`` a whole number
of seasons, its log error is ``log1p y[s] − log1p y[s − L]``, observable at every position ``s`` — the empirical
naive-error interval of Hyndman & Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.), §5.5, per lag.
``Q(L)`` is that error's ``level`` quantile in absolute value (the series' variogram), measured at whole-season lags
with at least ``MIN_PAIRS_SEASONS`` seasons of pairs; ``Q²`` is interpolated linearly in the lag between them (0 at
lag 0) and grows as a random walk (``∝ L``) beyond the longest. The band at step ``k`` is
``sqrt(b_K² + Q²(k) − Q²(K))`` on each side: the variances of independent parts add (the hourly noise, in both
``Q²(k)`` and ``Q²(K)``, cancels; it is already in ``b_K``), and a quantile scales with the standard deviation. A
series whose level wanders gets a band that grows faster than the random walk's, one whose daily level
mean-reverts (most ServeGen series: lag-1 autocorrelation of day-to-day changes −0.09 to −0.72) one that levels
off. The added spread never decreases with the lead (the band never narrows). Where the history cannot measure
``Q`` at ``K`` (shorter than ``K`` + two seasons) or ``K`` is shorter than a season, ``added_spread`` is None and
the band grows as the random walk (``rolling.extend``), as before. Either way, past the history's length (beyond
the longest measured lag, which a lag's two seasons of pairs keep shorter than it) the upper side is capped by the
local level walk on the original scale (``rolling.level_capped``, applied in ``coverage.bands``): a log-scale walk
compounds multiplicatively, and no two observations are that far apart to support it.

Both the calibrated band and its growth are log-scale errors pooled over the history's origins and lags, so a jump
out of a low regime (a weekend at a third of the weekday rate, then Monday) is carried, as a ratio, onto a forecast
already at the top of the range. ``record_rise`` measures how far the series has actually risen above its own
earlier records, lead by lead, and ``reach_capped`` holds every upper bound under the history's peak raised by it
(applied in ``coverage.bands`` on seasonal series, in the forecast and its coverage check alike).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .members import REGIME_FACTOR

MIN_PAIRS_SEASONS = 2  # a lag is measured on at least two seasons of (s, s - L) pairs: every phase twice


def variogram(x: np.ndarray, season: int, qs: list[float]) -> np.ndarray:
    """``Q_q(d * season)`` for d = 1, 2, … (rows) while at least ``MIN_PAIRS_SEASONS`` seasons of pairs exist, for
    each ``q`` of ``qs`` (columns): the ``q`` quantile of the absolute change of ``x`` over d seasons (the
    seasonal-naive forecast's error d seasons ahead)."""
    out = []
    lag = season
    while len(x) - lag >= MIN_PAIRS_SEASONS * season:
        out.append(np.quantile(np.abs(x[lag:] - x[:-lag]), qs))
        lag += season
    return np.array(out).reshape(len(out), len(qs))


def squared_spread(lags: np.ndarray, measured: np.ndarray, season: int) -> np.ndarray:
    """``Q²`` at ``lags``: linear in the lag between the measured whole-season lags (0 at lag 0), proportional to the
    lag (a random walk) from the longest measured lag on."""
    at = season * np.arange(len(measured) + 1)
    squared = np.concatenate([[0.0], measured**2])
    walk = squared[-1] * lags / at[-1]
    return np.asarray(np.where(lags > at[-1], walk, np.interp(lags, at, squared)))


def added_spread(
    repaired: np.ndarray, season: int, known: int, steps: int, levels: tuple[int, ...]
) -> dict[int, np.ndarray] | None:
    """Per level, the squared log spread added to the band of step ``known`` at steps ``known + 1 .. steps`` (from
    the outage-repaired history, on which the bands are calibrated):
    ``Q²(k) − Q²(known)`` of the ``level`` quantile, non-decreasing and at least 0 (module docstring). None where
    the history cannot measure it (the caller falls back to the random walk)."""
    if season <= 1 or known < season or steps <= known:
        return None
    measured_all = variogram(np.log1p(np.maximum(repaired, 0.0)), season, [lv / 100 for lv in levels])
    if len(measured_all) * season < known:
        return None
    k = np.arange(known + 1, steps + 1, dtype=float)
    out = {}
    for j, lv in enumerate(levels):
        measured = measured_all[:, j]
        base = squared_spread(np.array([float(known)]), measured, season)[0]
        out[lv] = np.maximum.accumulate(np.maximum(squared_spread(k, measured, season) - base, 0.0))
    return out


class CappedWalk(NamedTuple):
    """A series without a season: its band grows as the local level walk (``alpha``, ``rolling.extend``) but, per
    level, never past ``ceiling`` — the squared log spread its history's level changes reach (``flat_ceiling``)."""

    alpha: float
    ceiling: dict[int, np.ndarray]


def flat_ceiling(repaired: np.ndarray, known: int, steps: int, levels: tuple[int, ...]) -> dict[int, np.ndarray] | None:
    """The most the band of a series without a season may add past step ``known`` (squared, log scale), the same at
    every level: ``R² · max(1, k / n)``, where ``R`` is the whole range of the log history — the largest level change
    between any two of its ``n`` points — which past ``n`` steps grows as a random walk. Why: the local level walk
    compounds on the log scale, so a series whose level stays in its range (a cycle no season describes, bursts
    around a stable mean) got an 80% upper bound of 4,035 req/s for an 8–32 req/s series 16 hours ahead
    (docs/reliability.md, "Forecast and history sweep"). The ceiling binds only where the walk has gone past
    anything the history shows: on the one-hour traces and the 16–20 hour ServeGen windows of
    docs/forecast-accuracy.md no band changes. None for fewer than two points (nothing to measure)."""
    x = np.log1p(np.maximum(repaired, 0.0))
    if steps <= known or len(x) < 2:
        return None
    k = np.arange(known + 1, steps + 1, dtype=float)
    reach = float(np.max(x) - np.min(x)) ** 2 * np.maximum(1.0, k / len(x))
    return {lv: reach for lv in levels}


def naive_floored(
    band: dict[int, tuple[np.ndarray, np.ndarray]], repaired: np.ndarray, season: int
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """A seasonal log band whose rule could not be replayed on the series (``rolling.recalibration`` had fewer than
    ``rolling.MIN_REPLAY_ORIGINS`` replays: three to four days of hourly history) made no narrower, per level,
    than the seasonal-naive forecast's own error interval one season ahead, ``±Q(season)`` of ``variogram`` on the
    outage-repaired history (Hyndman & Athanasopoulos, *FPP* 3rd ed., §5.5). Why: such a band rests on one season
    of backtest residuals and no check; on the Azure 2024 week traces the seasonal bands of 3-day histories held
    0.00 and 0.04 of the next day at 80% (docs/forecast-accuracy.md). The members are ranked against
    seasonal-naive, so its error spread, observed on the history's every pair of days, is what the forecast is not
    trusted to beat unchecked. Unchanged where the history holds fewer than ``MIN_PAIRS_SEASONS`` seasons of
    pairs (shorter than three seasons) or no season."""
    if season <= 1:
        return band
    levels = sorted(band)
    measured = variogram(np.log1p(np.maximum(repaired, 0.0)), season, [lv / 100 for lv in levels])
    if len(measured) == 0:
        return band
    floor = dict(zip(levels, measured[0].tolist(), strict=True))
    return {lv: (np.minimum(lo, -floor[lv]), np.maximum(hi, floor[lv])) for lv, (lo, hi) in band.items()}


def cycle_evident(repaired: np.ndarray, cycle: int) -> bool:
    """Whether the series is closer to itself one ``cycle`` back than half a cycle back: the median absolute change
    of ``log1p`` over ``cycle`` steps (seasonal-naive's error, the variogram at one season) below the median over
    ``cycle // 2`` steps (the opposite phase of a daily cycle: day against night). Parameter-free evidence for a
    cycle the autocorrelation test missed (``fast.engine_season``): a weekend in three days of history damps the
    lag-``cycle`` autocorrelation, but a weekday is still closer to the day before than to the night before it;
    a series with no cycle (noise: the two medians equal in expectation; a random walk: the longer lag wider)
    passes about half the time or less."""
    x = np.log1p(np.maximum(repaired, 0.0))
    half = max(1, cycle // 2)
    if cycle <= 1 or len(x) <= cycle:
        return False
    return bool(np.median(np.abs(x[cycle:] - x[:-cycle])) < np.median(np.abs(x[half:] - x[:-half])))


def record_rise(repaired: np.ndarray, season: int, steps: int, levels: tuple[int, ...]) -> dict[int, np.ndarray] | None:
    """Per level, how far above its own earlier peak the series has risen, on the log1p scale, at steps ``1 ..
    steps`` ahead: the upper-tail quantile (``1 − (1 − level) / 2``, the two-sided band's) of the *record rise*
    ``log1p y[s] − max log1p y[s − i·season], i ≥ j`` — each value against the highest of the same phase at least
    ``j`` seasons before it, ``j = ceil(k / season)`` for step ``k`` — floored at 0, measured at every ``j`` with at
    least ``MIN_PAIRS_SEASONS`` seasons of positions, held (not extrapolated) past the longest measured ``j`` and
    non-decreasing in the lead. A record below the peak's regime (under the peak / ``members.REGIME_FACTOR``: a
    weekend, a launch day, an off phase) counts as that regime's floor: a jump out of another regime measures how far
    apart the regimes are, not how far the top can rise (on/off ServeGen clients' hours rose 100x from ~0, and their
    bands 14 days ahead reached 48-150x their peak with the raw record). None without a season or where no ``j`` can
    be measured (under three seasons).

    Why (``reach_capped``): the bands are log residual quantiles pooled over origins, so a jump the history made
    from a low regime (a weekend at a third of the weekday rate, then Monday) is carried as a multiplicative error
    onto a forecast already at the top of the history's range; a week of Azure coding traffic that never passed 84
    req/s got an 80% upper bound of 808 req/s 14 days ahead (docs/forecast-accuracy.md, "Upper bands above
    anything the history supports"). A growing series breaks its records by its growth, and this measures it; a
    stationary one does not, and its band stays near its peak."""
    if season <= 1 or steps < 1:
        return None
    x = np.log1p(np.maximum(repaired, 0.0))
    if len(x) < (MIN_PAIRS_SEASONS + 1) * season:
        return None
    # rows: seasons ending at the last step (the oldest one partial, padded with NaN), columns: phases
    phases = np.concatenate([np.full(-len(x) % season, np.nan), x]).reshape(-1, season)
    # the highest of each phase so far (NaN: none yet), counted from no lower than the peak's regime
    record = np.maximum(np.fmax.accumulate(phases, axis=0), float(np.max(x)) - math.log(REGIME_FACTOR))
    qs = [1 - (1 - lv / 100) / 2 for lv in levels]
    longest = min(len(phases) - MIN_PAIRS_SEASONS, -(-steps // season))
    rises = np.array([np.nanquantile(phases[j:] - record[:-j], qs) for j in range(1, longest + 1)])
    rises = np.maximum.accumulate(np.maximum(rises, 0.0), axis=0)  # (j, levels)
    j = np.minimum(-(-np.arange(1, steps + 1) // season), longest) - 1
    return {lv: rises[j, i] for i, lv in enumerate(levels)}


def reach_capped(mean: np.ndarray, high: np.ndarray, repaired: np.ndarray, rise: np.ndarray) -> np.ndarray:
    """Upper bounds (level units) no higher than the history's peak, or the mean where the forecast is above it,
    raised by the series' own ``record_rise`` at that lead: ``expm1(max(log1p max y, log1p mean[k]) + rise[k])``
    (``record_rise`` says why). Never below the mean."""
    peak = float(np.log1p(max(float(np.max(repaired)), 0.0)))
    cap = np.expm1(np.maximum(peak, np.log1p(np.maximum(mean, 0.0))) + rise[: len(mean)])
    return np.asarray(np.maximum(np.minimum(high, cap), mean))
