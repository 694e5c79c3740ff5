"""Every member of ``members.py`` at every backtest origin at once: the rolling backtest's hot loop as array code.

Why: the backtest runs the members at up to 72 origins a series, and one origin's members are a few dozen small
numpy calls (~0.45 ms, mostly call overhead): half of a fleet's fitting time. Here the origins are stacked —
profiles and medians of all origins with the same number of seasons in one call, the de-seasonalised tails of all
origins in one right-aligned array (a step's phase depends only on its distance from the origin, so one phase
index serves every row), the slopes in closed form over masked rows, SES batched by window length. The forecasts
are those of ``members.forecast_members`` at each prefix (tests/test_forecast_batched.py checks it to 1e-9).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from . import nonseasonal
from .members import (
    DRIFT_DAMP_SEASONS,
    DRIFT_SEASONS,
    MEDIAN_SEASONS,
    PROFILE_SEASONS,
    RECENT_FRACTION,
    REGIME_FACTOR,
    SES_FIT_SEASONS,
    SHIFT_STEPS_FRACTION,
    SHIFT_THRESHOLD,
    ses_kernel,
)

SES_CHUNK = 16  # rows per batched SES: 48 rows of a 672-step window at once took 3x longer (arrays out of cache)


def _by(keys: np.ndarray) -> dict[int, np.ndarray]:
    """Row indices grouped by key."""
    groups: dict[int, list[int]] = defaultdict(list)
    for row, key in enumerate(keys.tolist()):
        groups[key].append(row)
    return {key: np.array(rows) for key, rows in groups.items()}


def _season_rows(x: np.ndarray, ends: np.ndarray, s: int, k: int) -> np.ndarray:
    """The last ``k`` whole seasons before each end: shape (len(ends), k, s) (``members._seasons`` per origin)."""
    offsets = np.arange(-k * s, 0).reshape(k, s)
    return x[ends[:, None, None] + offsets[None, :, :]]


def _profiles(z: np.ndarray, ends: np.ndarray, s: int, same_regime: bool = False) -> np.ndarray:
    """``members._profile(z[:end], s, same_regime)`` of every prefix z[:end]: shape (len(ends), max(s, 1))."""
    out = np.zeros((len(ends), max(s, 1)))
    if s <= 1:
        return out
    counts = np.where(ends >= s, np.clip(ends // s, 1, PROFILE_SEASONS), 0)
    for k, rows in _by(counts).items():
        if k == 0:
            continue
        seasons = _season_rows(z, ends[rows], s, k)
        means = seasons.mean(axis=2, keepdims=True)
        shape = np.median(seasons - means, axis=1)
        if same_regime:  # rows with a season of another regime: the median over the kept seasons only
            kept = np.abs(means - means[:, -1:]) <= np.log(REGIME_FACTOR)
            split = np.flatnonzero(~kept.all(axis=(1, 2)))
            if len(split):
                centred = np.where(kept[split], seasons[split] - means[split], np.nan)
                shape[split] = np.nanmedian(centred, axis=1)
        out[rows] = shape - shape.mean(axis=1, keepdims=True)
    return out


def _best_ses_rows(windows: np.ndarray) -> np.ndarray:
    """``members._best_ses`` of every row (one window length): one batched FFT product for all rows and alphas."""
    g, m = windows.shape
    if m < 2:
        return np.asarray(windows[:, -1], dtype=float)
    size, spectra, start = ses_kernel(m)
    spectrum = np.fft.rfft(windows, size)[:, None, :] * spectra[None, :, :]
    levels = np.fft.irfft(spectrum, size)[:, :, :m] + start[None, :, :] * windows[:, None, :1]
    errors = windows[:, None, 1:] - levels[:, :, :-1]
    best = np.argmin(np.einsum("gij,gij->gi", errors, errors), axis=1)
    return np.asarray(levels[np.arange(g), best, -1])


def _tails(z: np.ndarray, ends: np.ndarray, profile: np.ndarray, tail: int) -> tuple[np.ndarray, np.ndarray]:
    """The de-seasonalised last ``tail`` steps of every prefix z[:end] (right-aligned, NaN before the history's
    start; ``members._deseasonalised``) and how many of them exist."""
    lengths = np.minimum(ends, tail)
    steps = np.arange(-tail, 0)
    valid = steps[None, :] >= -lengths[:, None]
    values = z[np.maximum(ends[:, None] + steps[None, :], 0)]
    phase = steps % profile.shape[1]  # the same for every origin: (i - end) mod s
    return np.where(valid, values - profile[:, phase], np.nan), lengths


def _median_of_last(values: np.ndarray, counts: np.ndarray, skip: int = 0) -> np.ndarray:
    """Per row, the median of its last ``counts`` values before the last ``skip`` ones (rows right-aligned)."""
    out = np.empty(len(values))
    end = values.shape[1] - skip
    for n, rows in _by(counts).items():
        out[rows] = np.median(values[rows, end - n : end], axis=1) if n > 0 else np.nan
    return out


def level_shifts(repaired: np.ndarray, s: int, ends: np.ndarray) -> np.ndarray:
    """``members.level_shift(y[:end], s, repaired[:end])`` for every ``end`` of ``ends``."""
    ends = np.asarray(ends, dtype=np.intp)
    steps = max(2, round(SHIFT_STEPS_FRACTION * s))
    span = max(s, steps)
    tail = max(SES_FIT_SEASONS * span, steps + span)
    z = np.log1p(repaired)
    with np.errstate(all="ignore"):
        adjusted, lengths = _tails(z, ends, _profiles(z, ends, s), tail)
        recent = _median_of_last(adjusted, np.minimum(lengths, steps))
        before = _median_of_last(adjusted, np.clip(lengths - steps, 0, span), skip=steps)
        changes = np.abs(np.diff(adjusted, axis=1))  # change j: from step j to j + 1 of the tail
        noise = 1.4826 * _median_of_last(changes, np.minimum(lengths, SES_FIT_SEASONS * span) - 1)
    shift = recent - before
    counts = np.abs(shift) > SHIFT_THRESHOLD * np.maximum(noise, 1e-9)
    return np.where((ends >= max(s, 1) + steps + 2) & counts, shift, 0.0)


def _smoothed(
    z: np.ndarray, ends: np.ndarray, s: int, tail: int, same_regime: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per origin: SES level, profile, the de-seasonalised last ``tail`` steps (right-aligned, NaN before the
    history's start) and how many of them exist (``members._smoothed`` at every prefix)."""
    profile = _profiles(z, ends, s, same_regime)
    adjusted, lengths = _tails(z, ends, profile, tail)
    window = np.minimum(ends, max(SES_FIT_SEASONS * s, 8))
    level = np.empty(len(ends))
    for m, rows in _by(window).items():
        for chunk in range(0, len(rows), SES_CHUNK):  # a few rows at a time: the FFT arrays stay in cache
            part = rows[chunk : chunk + SES_CHUNK]
            level[part] = _best_ses_rows(adjusted[part, tail - m :])
    return level, profile, adjusted, lengths


def _slopes(adjusted: np.ndarray, lengths: np.ndarray, span: int) -> np.ndarray:
    """Half the least-squares slope of each row's last min(length, span) values; 0 where it is undefined
    (fewer than three points, a non-finite value, or a flat stretch), as ``members.drift`` has it."""
    n = np.minimum(lengths, span)
    x = adjusted[:, adjusted.shape[1] - span :]
    used = np.arange(span)[None, :] >= (span - n)[:, None]
    t = np.arange(span, dtype=float)[None, :] - (span - n)[:, None]
    t = np.where(used, t - (n[:, None] - 1) / 2, 0.0)
    xs = np.where(used, x, 0.0)
    mean = xs.sum(axis=1) / np.maximum(n, 1)
    with np.errstate(all="ignore"):
        slope = np.sum(t * np.where(used, x - mean[:, None], 0.0), axis=1) / np.sum(t * t, axis=1)
        finite = np.all(np.where(used, np.isfinite(x), True), axis=1)
        spread = np.max(np.where(used, x, -np.inf), axis=1) - np.min(np.where(used, x, np.inf), axis=1)
    ok = (n >= 3) & finite & (spread > 0)
    return np.where(ok, slope / 2, 0.0)


def _medians_of_seasons(x: np.ndarray, ends: np.ndarray, s: int, h: int) -> np.ndarray:
    """``members.seasonal_median`` at every prefix."""
    out = np.empty((len(ends), h))
    counts = np.where(s < ends, np.clip(ends // max(s, 1), 1, MEDIAN_SEASONS), 0)
    for k, rows in _by(counts).items():
        if k == 0:  # the season is not shorter than the history: seasonal-naive on the (repaired) history
            for row in rows:
                out[row] = x[: ends[row]][np.arange(h) % ends[row]]
            continue
        median = np.median(_season_rows(x, ends[rows], s, k), axis=1)
        out[rows] = median[:, np.arange(h) % s]
    return out


def members_at(
    y: np.ndarray, repaired: np.ndarray, s: int, h: int, cap: float, ends: np.ndarray
) -> dict[str, np.ndarray]:
    """``members.forecast_members(y[:end], s, h, cap, repaired[:end])`` for every ``end`` of ``ends``, as arrays of
    shape (len(ends), h) per member."""
    ends = np.asarray(ends, dtype=np.intp)
    if s <= 1:  # no season: the whole-history members, one SES pass read at every end
        return nonseasonal.at_ends(y, repaired, h, cap, ends)
    count = len(ends)
    steps = np.arange(h)
    season = np.minimum(s, ends)
    naive = np.clip(y[(ends - season)[:, None] + steps[None, :] % season[:, None]], 0.0, cap)
    out: dict[str, np.ndarray] = {"SeasonalNaive": naive}
    period = max(s, 1)
    tile = steps % period
    with np.errstate(all="ignore"):
        z = np.log1p(repaired)
        tail = max(DRIFT_SEASONS * s, 8, SES_FIT_SEASONS * s, period)
        level, profile, adjusted, lengths = _smoothed(z, ends, s, tail, same_regime=True)
        recent = max(1, round(RECENT_FRACTION * s))
        recent_level = np.empty(count)
        for n, rows in _by(np.minimum(lengths, recent)).items():
            recent_level[rows] = np.median(adjusted[rows, tail - n :], axis=1)
        slope = _slopes(adjusted, lengths, max(DRIFT_SEASONS * s, 8))
        damp = np.minimum(np.arange(1, h + 1), max(1, DRIFT_DAMP_SEASONS * s))
        level_add, profile_add, _, _ = _smoothed(repaired, ends, s, max(SES_FIT_SEASONS * s, 8))
        flat = np.empty(count)
        for n, rows in _by(np.minimum(ends, period)).items():
            flat[rows] = np.median(repaired[ends[rows, None] + np.arange(-n, 0)[None, :]], axis=1)
        raw = {
            "SeasonalMedian": _medians_of_seasons(repaired, ends, s, h),
            "RecentLevel": np.expm1(recent_level[:, None] + profile[:, tile]),
            "FlatMedian": np.repeat(flat[:, None], h, axis=1),
            "SES": np.expm1(level[:, None] + profile[:, tile]),
            "SES-additive": level_add[:, None] + profile_add[:, tile],
            "Drift": np.expm1(level[:, None] + slope[:, None] * damp[None, :] + profile[:, tile]),
        }
        for name, values in raw.items():
            out[name] = np.clip(np.where(np.isfinite(values), values, naive), 0.0, cap)
    return out
