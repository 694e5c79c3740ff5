"""The fast ensemble's members: seasonal forecasts in plain numpy, cheap enough to backtest at every origin.

Why numpy and not statsforecast: importing statsforecast pulls statsmodels and dask (~2 s, most of ``predict``'s
time), and fitting its MSTL at dozens of rolling origins per series costs seconds more. These members need no
fitting beyond medians and one exponential smoothing pass, so each is a few hundred microseconds at one origin —
which is what lets the intervals be calibrated on many rolling origins (``rolling.py``) instead of three folds.

Every member maps a history ``y`` (non-negative, oldest first), a season ``s`` in steps and a horizon ``h`` to
``h`` forecasts. The ones marked *log* work on ``log1p(y)``: bursty LLM traffic varies multiplicatively (a busy
hour is "twice the usual", not "usual + 50 req/s"), and a median in log space is the median in level space.

* ``SeasonalNaive`` — the last season repeated (the baseline, always reported);
* ``SeasonalMedian`` — per phase, the median of the last ``MEDIAN_SEASONS`` seasons: one burst or outage in the
  last season is not repeated;
* ``RecentLevel`` (*log*) — a robust seasonal profile (per-phase median of the last ``PROFILE_SEASONS`` seasons,
  each season's own mean removed, over the seasons in the last one's *regime*: see ``_profile``) on top of the *recent level* (mean of the de-seasonalised log series over the last
  ``RECENT_FRACTION`` of a season): follows level shifts within hours, the "recent level" member of issue 26;
* ``SES`` (*log*) — simple exponential smoothing of the de-seasonalised log series, its smoothing weight picked
  from ``ALPHAS`` by one-step squared error over the last ``SES_FIT_SEASONS`` seasons (Hyndman & Athanasopoulos,
  *Forecasting: Principles and Practice*, 3rd ed., §8.1, applied to seasonally adjusted data, §3.7);
* ``Drift`` (*log*) — the SES level plus half the de-seasonalised least-squares slope over the last
  ``DRIFT_SEASONS`` seasons: the Theta method's drift (Hyndman & Billah 2003: Theta = SES with drift of half the
  linear trend), damped to zero after ``DRIFT_DAMP_SEASONS`` seasons so growth is not extrapolated without end.

A series without a season (``s`` ≤ 1) gets the whole-history members of ``nonseasonal.py`` instead: windows
counted in 1-step "seasons" would make every member above the last value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import nonseasonal

MEDIAN_SEASONS = 3
PROFILE_SEASONS = 7
RECENT_FRACTION = 0.5  # the recent level is the last half season (12 h of a daily season)
SES_FIT_SEASONS = 4
ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.4)
DRIFT_SEASONS = 7
DRIFT_DAMP_SEASONS = 2
SHIFT_STEPS_FRACTION = 0.125  # a level shift is judged on the last eighth of a season (3 h of a daily season)
SHIFT_THRESHOLD = 3.0  # ... and counts when it exceeds 3 robust standard deviations of the one-step changes
OUTAGE_FRACTION = 0.1  # a step below 10% of its phase's recent median is an outage, not demand
REGIME_FACTOR = 2.0  # a season whose geometric-mean level is over 2x or under 1/2 the last one's: another regime

Member = Callable[[np.ndarray, int, int], np.ndarray]


def _tile(pattern: np.ndarray, start_phase: int, h: int) -> np.ndarray:
    """``pattern`` (one season, indexed by phase) read from ``start_phase`` onwards for ``h`` steps."""
    return pattern[(start_phase + np.arange(h)) % len(pattern)]


def _seasons(y: np.ndarray, s: int, count: int) -> np.ndarray:
    """The last ``count`` (at most as many as the history holds, at least one) whole seasons, shape (k, s), each
    row aligned on phase: row[j] is the value ``j`` steps after the start of a season that ends at len(y)."""
    k = max(1, min(count, len(y) // s))
    return y[len(y) - k * s :].reshape(k, s)


def seasonal_naive(y: np.ndarray, s: int, h: int) -> np.ndarray:
    s = min(s, len(y))
    return _tile(y[-s:], 0, h)


def seasonal_median(y: np.ndarray, s: int, h: int) -> np.ndarray:
    if s >= len(y):
        return seasonal_naive(y, s, h)
    return _tile(np.median(_seasons(y, s, MEDIAN_SEASONS), axis=0), 0, h)


def flat_median(y: np.ndarray, s: int, h: int) -> np.ndarray:
    return np.full(h, float(np.median(y[-max(s, 1) :])))


def _profile(z: np.ndarray, s: int, same_regime: bool = False) -> np.ndarray:
    """Per-phase median of the last seasons of ``z``, each season's mean removed first (so a level shift between
    seasons does not leak into the shape); zero-mean.

    ``same_regime`` (``z`` is log1p of the series): only the seasons whose mean is within log(``REGIME_FACTOR``)
    of the last season's — those at the last one's level, up to a factor of two. Why: a day at a third of the
    others' rate (a weekend, an outage day, the days before a launch) also has its own shape, typically a shallower
    cycle, and a median over both regimes is a profile neither has; through it the members read the current
    level from the last hours wrongly (the night's trough of a weekday read through a weekend-flattened profile
    looks like a low level). On the Azure 2024 coding trace with Friday to Tuesday 12:00 behind it the median
    profile's peak-to-trough was 1.85 in log1p against the last day's 2.26 and the forecast 19% low; over its
    week the engine's MAE went from 1.35 to 1.03 x seasonal-naive's (docs/forecast-accuracy.md, the one-week
    traces), while ServeGen's families stayed as they were. Days within a factor of two of each other, as ServeGen's
    are on most days, are all kept: where no level changed, the profile is the median of every season as before.
    Seasons are compared by their mean log1p, the log of their geometric-mean level."""
    if s <= 1 or len(z) < s:
        return np.zeros(max(s, 1))
    rows = _seasons(z, s, PROFILE_SEASONS)
    if same_regime:
        means = rows.mean(axis=1)
        rows = rows[np.abs(means - means[-1]) <= np.log(REGIME_FACTOR)]  # the last season always stays
    shape = np.median(rows - rows.mean(axis=1, keepdims=True), axis=0)
    return np.asarray(shape - shape.mean())


def _deseasonalised(z: np.ndarray, s: int, same_regime: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(z minus its profile, the profile): the profile's phase 0 is aligned with the last whole season's start."""
    profile = _profile(z, s, same_regime)
    phase = (np.arange(len(z)) - len(z)) % len(profile)
    return z - profile[phase], profile


def recent_level(y: np.ndarray, s: int, h: int) -> np.ndarray:
    _, adjusted, profile = _smoothed(y, s)
    recent = max(1, round(RECENT_FRACTION * s))
    level = float(np.median(adjusted[-recent:]))
    return np.expm1(level + _tile(profile, 0, h))


def _ses(x: np.ndarray, alpha: float) -> tuple[float, float]:
    """(final level, sum of squared one-step errors) of simple exponential smoothing started at x[0], as one
    convolution (level_t = sum_j alpha (1-alpha)^j x_(t-j) + (1-alpha)^(t+1) x_0) instead of a Python loop."""
    m = len(x)
    decay = (1 - alpha) ** np.arange(m + 1)
    levels = np.convolve(x, alpha * decay[:m])[:m] + decay[1:] * x[0]
    errors = x[1:] - levels[:-1]
    return float(levels[-1]), float(np.dot(errors, errors))


_ses_kernels: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}


def ses_kernel(m: int) -> tuple[int, np.ndarray, np.ndarray]:
    """The FFT size, the kernel spectra of every alpha of ALPHAS and the start-value decays for a window of ``m``
    steps (cached per length; shared with the batched members of ``forecast.batched``)."""
    if m not in _ses_kernels:
        size = 1 << (2 * m - 1).bit_length()
        alpha = np.array(ALPHAS)[:, None]
        decay = (1 - alpha) ** np.arange(m + 1)[None, :]
        _ses_kernels[m] = (size, np.fft.rfft(alpha * decay[:, :m], size), decay[:, 1:])
    return _ses_kernels[m]


def _best_ses(x: np.ndarray) -> float:
    """The final SES level for the alpha of ALPHAS with the least one-step squared error: ``_ses`` for every alpha
    at once, its convolutions done as one batched FFT product (kernel spectra cached per window length). Why: the
    five direct O(n²) convolutions per origin were the members' hottest spot (a weekly season's 672-step window)."""
    m = len(x)
    if m < 2:
        return float(x[-1])
    size, spectra, start = ses_kernel(m)
    levels = np.fft.irfft(np.fft.rfft(x, size)[None, :] * spectra, size)[:, :m] + start * x[0]
    errors = x[None, 1:] - levels[:, :-1]
    return float(levels[int(np.argmin(np.einsum("ij,ij->i", errors, errors))), -1])


_shared: dict[tuple[int, int, int, bool], tuple[float, np.ndarray, np.ndarray]] | None = None


def _smoothed(y: np.ndarray, s: int, log: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    """(SES level, de-seasonalised series, profile). Inside ``forecast_members`` the answer is kept for the call:
    RecentLevel, SES and Drift start from the same log profile and level, computed once instead of three times."""
    key = (id(y), len(y), s, log)
    if _shared is not None and key in _shared:
        return _shared[key]
    z = np.log1p(y) if log else y
    adjusted, profile = _deseasonalised(z, s, same_regime=log)
    window = adjusted[-max(SES_FIT_SEASONS * s, 8) :]
    level = _best_ses(window)
    if _shared is not None:
        _shared[key] = (level, adjusted, profile)
    return level, adjusted, profile


def ses(y: np.ndarray, s: int, h: int) -> np.ndarray:
    level, _, profile = _smoothed(y, s)
    return np.expm1(level + _tile(profile, 0, h))


def ses_additive(y: np.ndarray, s: int, h: int) -> np.ndarray:
    level, _, profile = _smoothed(y, s, log=False)
    return np.asarray(level + _tile(profile, 0, h))


def _slope(x: np.ndarray) -> float:
    """Least-squares slope of x against 0..n-1 (closed form; np.polyfit's SVD costs ~10x more per origin)."""
    t = np.arange(len(x), dtype=float)
    t -= t.mean()
    return float(np.dot(t, x - x.mean()) / np.dot(t, t))


def drift(y: np.ndarray, s: int, h: int) -> np.ndarray:
    level, adjusted, profile = _smoothed(y, s)
    recent = adjusted[-max(DRIFT_SEASONS * s, 8) :]
    ok = len(recent) >= 3 and bool(np.isfinite(recent).all()) and float(np.ptp(recent)) > 0
    slope = _slope(recent) / 2 if ok else 0.0
    damp = max(1, DRIFT_DAMP_SEASONS * s)
    steps = np.minimum(np.arange(1, h + 1), damp)
    return np.asarray(np.expm1(level + slope * steps + _tile(profile, 0, h)))


MEMBERS: dict[str, Member] = {
    "SeasonalNaive": seasonal_naive,
    "SeasonalMedian": seasonal_median,
    "RecentLevel": recent_level,
    "FlatMedian": flat_median,
    "SES": ses,
    "SES-additive": ses_additive,
    "Drift": drift,
}


def repair_outages(y: np.ndarray, s: int) -> np.ndarray:
    """``y`` with outage steps replaced by their reference: a step below ``OUTAGE_FRACTION`` of the median of the
    same phase over the ``MEDIAN_SEASONS`` seasons before it. Why: ServeGen's series hold hours at exactly 0 (all
    clients silent: collection gaps or outages, not demand); in log space one such hour is a -5 "shift" that
    would drag every smoothed level down. Causal: each step is judged only on the seasons before it."""
    if s <= 1 or len(y) <= s:
        return y
    n = len(y)
    lags = [min(j * s, n) for j in range(1, MEDIAN_SEASONS + 1)]
    lagged = np.stack([np.concatenate([np.full(lag, np.nan), y[: n - lag]]) for lag in lags])
    valid = np.isfinite(lagged).any(axis=0)
    reference = np.full(len(y), np.nan)
    reference[valid] = np.nanmedian(lagged[:, valid], axis=0)
    outage = valid & (y < OUTAGE_FRACTION * reference)
    return np.where(outage, reference, y) if outage.any() else y


def forecast_members(
    y: np.ndarray, s: int, h: int, cap: float, repaired: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Every member's forecast from the outage-repaired history, clipped to [0, cap] (``cap``: a multiple of the
    history's peak, so exp() of a drift cannot explode). SeasonalNaive sees the history as it is: it is the
    baseline every figure is compared with. ``repaired``: ``repair_outages(y, s)`` when the caller has it (the
    repair is causal, so one pass over the whole series serves every backtest origin's prefix)."""
    global _shared
    repaired = repair_outages(y, s) if repaired is None else repaired
    if s <= 1:  # no season: the windows span the whole history (nonseasonal.py says why)
        return nonseasonal.forecast(y, repaired, h, cap)
    out = {"SeasonalNaive": np.clip(seasonal_naive(y, s, h), 0.0, cap)}
    _shared = {}
    try:
        with np.errstate(all="ignore"):  # tiny histories: a slope of one point is NaN; the member falls back below
            for name, member in MEMBERS.items():
                if name != "SeasonalNaive":
                    values = member(repaired, s, h)
                    out[name] = np.clip(np.where(np.isfinite(values), values, out["SeasonalNaive"]), 0.0, cap)
    finally:
        _shared = None
    return out


def level_shift(y: np.ndarray, s: int, repaired: np.ndarray | None = None) -> float:
    """An unresolved level shift at the end of ``y``, in log units (0.0 when there is none).

    The de-seasonalised log series' median over the last ``SHIFT_STEPS_FRACTION`` of a season against its median
    over the season before them; it counts when larger than ``SHIFT_THRESHOLD`` robust standard deviations (1.4826
    × the median absolute one-step change) — a changepoint too recent for any level estimate to have followed.
    The intervals then span both levels (``rolling.hedge``): the old one may come back, or the new one may hold.
    """
    steps = max(2, round(SHIFT_STEPS_FRACTION * s))
    if len(y) < max(s, 1) + steps + 2:
        return 0.0
    adjusted, _ = _deseasonalised(np.log1p(repair_outages(y, s) if repaired is None else repaired), s)
    recent = float(np.median(adjusted[-steps:]))
    before = float(np.median(adjusted[-steps - max(s, steps) : -steps]))
    noise = 1.4826 * float(np.median(np.abs(np.diff(adjusted[-SES_FIT_SEASONS * max(s, steps) :]))))
    shift = recent - before
    return shift if abs(shift) > SHIFT_THRESHOLD * max(noise, 1e-9) else 0.0
