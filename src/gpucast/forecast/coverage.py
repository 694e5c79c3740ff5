"""Achieved coverage of the last backtest over the *whole* forecast horizon, beside every forecast (issue 26 item 1).

Why: the bands are calibrated on the first ``K`` steps ahead (``fast.calibrated_steps``: at most two seasons, so 48
of the 336 steps of a two-week hourly forecast) and carried further by ``rolling.extend``. A coverage checked only
on those ``K`` steps says nothing about the band a capacity plan reads at day 10. Here the forecast's own rule —
the prequential member choice, the per-step quantiles calibrated only on residuals observed before the origin, the
level-shift hedge, the replay recalibration, the extension past ``K`` and the nesting of the levels — is re-run at
past origins for the full horizon and scored on every step that has been observed since.

Origins: the latest backtest origins whose first ``K`` steps are observed, at least ``K`` apart (their first ``K``
steps do not overlap), ``CHECK_ORIGINS`` of them; more (up to ``MAX_CHECK_ORIGINS``) while the oldest picked has
not yet seen the whole horizon. Far steps are therefore scored on fewer, older origins than near ones; the spans
(``spans``: steps 1–K, then lead times doubling) report each part with its own counts, and steps that no past
origin has observed are reported as not checked rather than left out silently.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping

import numpy as np

from . import rolling
from .batched import members_at
from .leads import CappedWalk, naive_floored, reach_capped, record_rise
from .members import level_shift
from .result import CoverageSpan
from .rolling import Backtested, Replay
from .selection import choose, combine, running_errors, scores

CHECK_ORIGINS = 8  # origins checked on the calibrated steps (the last ones whose K steps are observed)
MAX_CHECK_ORIGINS = 16  # at most this many when older ones are needed to observe the far steps


def spans(calibrated: int, horizon: int) -> list[tuple[int, int]]:
    """Step ranges (1-based, inclusive) the coverage is reported on: 1–K, then K+1–2K, 2K+1–4K, … up to the
    horizon — lead times on a doubling scale, as band errors grow roughly with the square root of the lead."""
    out = [(1, min(calibrated, horizon))]
    while out[-1][1] < horizon:
        first = out[-1][1] + 1
        out.append((first, min(horizon, 2 * out[-1][1])))
    return out


def pick_origins(bt: Backtested, horizon: int) -> list[int]:
    """Backtest rows checked, latest first (module docstring)."""
    steps = bt.actual.shape[1]
    n = len(bt.repaired)
    picked: list[int] = []
    for i in np.flatnonzero(np.isfinite(bt.actual).all(axis=1))[::-1].tolist():
        if picked and bt.origins[picked[-1]] - bt.origins[i] < steps:
            continue
        if len(picked) >= CHECK_ORIGINS and n - int(bt.origins[picked[-1]]) >= horizon:
            break
        picked.append(i)
        if len(picked) == MAX_CHECK_ORIGINS:
            break
    return picked


def _forecasts(bt: Backtested, ensemble: np.ndarray, rows: list[int], horizon: int, y: np.ndarray) -> np.ndarray:
    """The prequential ensemble forecast at each row's origin, ``horizon`` steps long: the backtest's own when it
    is long enough, else the members re-run for the whole horizon and combined with the choice made at that
    origin (``selection.choose`` on the errors observed before it, as ``rolling.prequential`` does)."""
    steps = bt.actual.shape[1]
    if horizon <= steps:
        return ensemble[rows, :horizon]
    ends = bt.origins[rows]
    members = members_at(y, bt.repaired, bt.season, horizon, rolling.CAP_FACTOR * float(np.max(y)), ends)
    running = running_errors(bt.actual, bt.forecasts)
    out = np.empty((len(rows), horizon))
    for j, t in enumerate(ends.tolist()):
        chosen = choose(scores(bt.origins, running, t))
        out[j] = combine({name: members[name][j] for name in chosen}, chosen)
    return np.clip(out, 0.0, None)


def bands(
    mean: np.ndarray,
    band: dict[int, tuple[np.ndarray, np.ndarray]],
    shift: float,
    scale: dict[int, float],
    growth: float | Mapping[int, np.ndarray] | CappedWalk,
    outage_rate: float,
    history: np.ndarray,
    both_sides: bool = False,
    season: int = 1,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Interval bounds in level units around ``mean`` from calibrated log bands: extended to ``len(mean)`` steps,
    hedged for a level shift, recalibrated by ``scale``; the levels nested (a recalibrated inner band stays inside
    the outer one) and every band containing the mean. The rule of the forecast and of its coverage check.

    ``outage_rate``: the recency-weighted share of steps the loader interpolated as outages
    (``rolling.outage_rate``). The bands are calibrated on that repaired history, so they describe demand; traffic
    as it will be recorded also holds outages. Where outages were more frequent than a band's lower tail,
    ``(1 - level) / 2``, no band above 0 can hold its level, so its lower bound is 0 and its upper one the
    ``level`` quantile (``rolling.calibrate(one_sided=...)``): the interval [0, q_level] of the mixture of outage
    and demand.

    ``growth``: how the bands grow past their calibrated steps (``rolling.extend``): a local level model's weight
    (1.0: the random walk), or per level the squared spread the daily level adds (``leads.added_spread``). Either
    is a walk on the log scale past what was measured (an assumed one, or the measured level changes carried as a
    random walk past the longest measured lag); past the history's length, where no two observations are that
    far apart, the upper side is bounded by the local level walk on the original scale with the ``history``'s own
    one-step spread (``rolling.level_capped``, random walk for ``added``: no multiplicative compounding over
    hundreds of steps).

    ``season`` (> 1): every upper bound is then also held under the history's peak raised by the series' own record
    rise at that lead (``leads.reach_capped``): log bands pooled over a history's regimes carried the jumps out of
    its low regime onto a forecast at its top (a week of traffic that never passed 84 req/s, 808 req/s 14 days
    ahead)."""
    horizon = len(mean)
    levels = sorted(band)
    rise = record_rise(history, season, horizon, tuple(levels))
    at_zero = rolling.floored(tuple(levels), outage_rate)
    lows: dict[int, np.ndarray] = {}
    highs: dict[int, np.ndarray] = {}
    for lv in levels:
        ceiling = None
        if isinstance(growth, CappedWalk):
            alpha, added, ceiling = growth.alpha, None, growth.ceiling[lv]
        elif isinstance(growth, (int, float)):
            alpha, added = float(growth), None
        else:
            alpha, added = 1.0, growth[lv]
        low, high = rolling.hedge(
            -rolling.extend(-band[lv][0], horizon, alpha, added, ceiling),
            rolling.extend(band[lv][1], horizon, alpha, added, ceiling),
            shift,
            both_sides,
        )
        lows[lv], highs[lv] = rolling.interval(mean, low * scale[lv], high * scale[lv])
        # a log-scale walk past the history's length: capped on the original scale
        start = max(len(band[lv][1]), len(history))
        highs[lv] = rolling.level_capped(mean, highs[lv], start, alpha, rolling.step_spread(history, lv))
        if rise is not None:
            highs[lv] = reach_capped(mean, highs[lv], history, rise[lv])
    for inner, outer in itertools.pairwise(levels):
        lows[outer], highs[outer] = np.minimum(lows[outer], lows[inner]), np.maximum(highs[outer], highs[inner])
    for lv in levels:
        lows[lv], highs[lv] = np.minimum(lows[lv], mean), np.maximum(highs[lv], mean)
        if lv in at_zero:
            lows[lv] = np.zeros(horizon)
    return lows, highs


def check(
    bt: Backtested,
    ensemble: np.ndarray,
    levels: tuple[int, ...],
    y: np.ndarray,
    rep: Replay,
    horizon: int,
    growth_at: Callable[[int], float | Mapping[int, np.ndarray] | CappedWalk],
    outages: tuple[int, ...] = (),
    undetected: bool = False,
) -> tuple[dict[int, float | None], list[CoverageSpan], int, int]:
    """Coverage pooled over every observed step of the whole horizon, per span, the origins checked and the last
    step ahead that any of them observed (the steps after it are not checked).
    ``growth_at(t)``: the band's growth past K as the forecast at origin t would use it (``rolling.extend``: a
    local level weight, or per level the squared spread ``leads.added_spread`` adds)."""
    n = len(y)
    steps = bt.actual.shape[1]
    residual = rep.residual  # the replay's: the same backtest and ensemble
    observed = np.isfinite(bt.actual)
    rows: list[int] = []
    calibrated = []
    for i in pick_origins(bt, horizon):
        t = int(bt.origins[i])
        if i in rep.at:  # replayed already: same quantiles, same shift
            calibrated.append(rep.at[i])
        else:
            at_zero = rolling.floored(levels, rolling.outage_rate(outages, t, bt.season))
            quantiles = rolling.calibrate(residual, bt.origins, observed, t, bt.season, levels, rep.cells, at_zero)
            if quantiles is None:
                continue
            calibrated.append((quantiles, level_shift(y[:t], bt.season, bt.repaired[:t])))
        rows.append(i)
    ranges = spans(steps, horizon)
    inside = {lv: np.zeros(horizon) for lv in levels}
    count = np.zeros(horizon)  # origins that observed each step
    if rows:
        forecasts = _forecasts(bt, ensemble, rows, horizon, y)
        for j, (quantiles, shift) in zip(range(len(rows)), calibrated, strict=True):
            t = int(bt.origins[rows[j]])
            target = t + np.arange(horizon)
            known = target < n
            actual = np.where(known, y[np.minimum(target, n - 1)], np.nan)
            scale = rolling.recalibration(rep, levels, before=t)
            band = quantiles.bands
            if undetected and int(np.sum(rep.ends <= t)) < rolling.MIN_REPLAY_ORIGINS:  # as the forecast does
                band = naive_floored(band, bt.repaired[:t], bt.season)
            lows, highs = bands(
                forecasts[j],
                band,
                shift,
                scale,
                growth_at(t),
                rolling.outage_rate(outages, t, bt.season),
                bt.repaired[:t],
                bt.season <= 1,
                bt.season,
            )
            ok = known & np.isfinite(actual)
            count += ok
            for lv in levels:
                inside[lv] += ok & (actual >= lows[lv]) & (actual <= highs[lv])
    total = float(count.sum())
    pooled: dict[int, float | None] = {lv: (float(inside[lv].sum()) / total if total else None) for lv in levels}
    out = []
    for first, last in ranges:
        part = slice(first - 1, last)
        cells = int(count[part].sum())
        out.append(
            CoverageSpan(
                first=first,
                last=last,
                origins=int(count[part].max()),
                cells=cells,
                coverage={lv: (float(inside[lv][part].sum()) / cells if cells else None) for lv in levels},
            )
        )
    checked = int(np.flatnonzero(count)[-1]) + 1 if total else 0
    return pooled, out, len(rows) if total else 0, checked
