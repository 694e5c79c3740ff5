"""The fast engine's members for a series without a detected season: levels and trends over the whole history.

Why a separate set: the seasonal members (``members.py``) size their windows in seasons — the recent level over
half a season, SES fitted on four, the drift over seven and damped after two. Without a season (``s`` ≤ 1: none
detected and the history, less its backtest folds, no longer than a day — a one-hour per-minute trace, say) every
such window shrinks to a handful of steps and every member collapses onto (nearly) the last value: the ensemble becomes naive with extra noise. On
the repository's one-hour per-minute traces (Azure LLM inference 2023, Mooncake; docs/forecast-accuracy.md) the
plain statsforecast median of Naive, Theta and AutoETS — whose Theta and ETS smooth over the whole history — beat
it by 7%. Here a season of unknown length is at most the history, so the windows are the whole history:

* ``SeasonalNaive`` — the last value (the naive baseline every figure is compared with);
* ``SES`` (*log*) and ``SES-additive`` — simple exponential smoothing from the first step, its weight picked from
  ``ALPHAS`` by one-step squared error over the whole history: ETS(A,N,N) fitted by least squares (Hyndman &
  Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., §8.1). ``ALPHAS`` reaches 1 (naive), so a
  random walk is smoothed no more than it should be;
* ``SES-slow`` (*log*) — the same with the weight limited to ``SLOW_ALPHAS`` (at most 0.2): a long-memory level
  for a series whose one-step errors are noise around a stable mean (one-step fitting over-weights recent
  bursts when the forecast is for many steps; the backtest's per-origin ranking, ``selection.py``, decides
  whether it is used);
* ``Drift`` (*log*) — the Theta method: the SES level plus half the least-squares slope of the whole history
  (Hyndman & Billah 2003, "Unmasking the Theta method", IJF 19(2)), the trend held constant after as many steps
  as the history has (a trend measured over n steps is not extrapolated further);
* ``FlatMedian`` and ``RecentLevel`` — the median of the whole history and of its last half: robust levels that
  one burst or one silent minute does not move;
* ``SeasonalMedian`` — the median of the last ``SHORT_MEDIAN`` values: a local level robust to one outlier.

SES is causal and starts at the first value, so its level at every prefix is one pass over the series
(``ses_paths``): the backtest's origins read it at their ends instead of refitting (``at_ends``). (Fitting the
initial level by least squares, as ETS does, was measured too: 0.913 instead of 0.887 × naive on the Azure code
trace, the same on the others; not kept. Nor was a least-squares trend member, ETS(A,A,N) with near-zero weights:
it helped the Mooncake trace's ramp, 0.814 → 0.796, and hurt 16–20 hour windows of the hourly ServeGen series,
whose unmodelled daily cycle it extrapolated, 1.002 → 1.013; docs/forecast-accuracy.md.)
"""

from __future__ import annotations

import numpy as np

ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
SLOW_ALPHAS = tuple(a for a in ALPHAS if a <= 0.2)
SHORT_MEDIAN = 3
NAMES = (
    "SeasonalNaive",
    "SeasonalMedian",
    "RecentLevel",
    "FlatMedian",
    "SES",
    "SES-additive",
    "SES-slow",
    "Drift",
)


def ses_paths(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every alpha of ALPHAS (rows): the SES level after each step, and the running sum of squared one-step
    errors up to each step (column t: errors of the forecasts of steps 1..t, made from the levels before them)."""
    alphas = np.array(ALPHAS)
    levels = np.empty((len(alphas), len(x)))
    level = np.full(len(alphas), float(x[0]) if len(x) else 0.0)
    for t, value in enumerate(x.tolist()):
        level = level + alphas * (value - level)
        levels[:, t] = level
    errors = np.zeros((len(alphas), len(x)))
    if len(x) > 1:
        errors[:, 1:] = (x[None, 1:] - levels[:, :-1]) ** 2
    return levels, np.cumsum(errors, axis=1)


def _best(levels: np.ndarray, sse: np.ndarray, t: int, rows: tuple[int, ...]) -> float:
    """The level after step ``t`` of the alpha (among ``rows``) with the least one-step SSE up to ``t``."""
    pick = rows[int(np.argmin(sse[list(rows), t]))]
    return float(levels[pick, t])


def _slope(x: np.ndarray) -> float:
    """Least-squares slope of x against 0..n-1; 0 for fewer than three points or a flat stretch."""
    if len(x) < 3 or float(np.ptp(x)) == 0.0:
        return 0.0
    t = np.arange(len(x), dtype=float)
    t -= t.mean()
    return float(np.dot(t, x - x.mean()) / np.dot(t, t))


def at_ends(y: np.ndarray, repaired: np.ndarray, h: int, cap: float, ends: np.ndarray) -> dict[str, np.ndarray]:
    """Every member at every prefix ``y[:end]`` (``ends`` ≥ 1), shape (len(ends), h) per member, clipped to
    [0, cap]. The SES paths are computed once over the whole series and read at each end."""
    ends = np.asarray(ends, dtype=np.intp)
    z = np.log1p(repaired)
    log_levels, log_sse = ses_paths(z)
    add_levels, add_sse = ses_paths(repaired)
    every = tuple(range(len(ALPHAS)))
    slow = tuple(i for i, a in enumerate(ALPHAS) if a in SLOW_ALPHAS)
    steps = np.arange(1, h + 1)
    out = {name: np.empty((len(ends), h)) for name in NAMES}
    with np.errstate(all="ignore"):
        for row, end in enumerate(ends.tolist()):
            t = end - 1
            level = _best(log_levels, log_sse, t, every)
            history = repaired[:end]
            slope = _slope(z[:end])
            held = np.minimum(steps, end)
            values = {
                "SeasonalNaive": np.full(h, float(y[t])),
                "SeasonalMedian": np.full(h, float(np.median(history[-SHORT_MEDIAN:]))),
                "RecentLevel": np.full(h, float(np.median(history[-max(1, end // 2) :]))),
                "FlatMedian": np.full(h, float(np.median(history))),
                "SES": np.full(h, np.expm1(level)),
                "SES-additive": np.full(h, _best(add_levels, add_sse, t, every)),
                "SES-slow": np.full(h, np.expm1(_best(log_levels, log_sse, t, slow))),
                "Drift": np.expm1(level + slope / 2 * held),
            }
            naive = values["SeasonalNaive"]
            for name, v in values.items():
                out[name][row] = np.clip(np.where(np.isfinite(v), v, naive), 0.0, cap)
    return out


def level_weight(repaired: np.ndarray) -> float:
    """The SES member's smoothing weight on the whole history (log scale, picked from ALPHAS by one-step squared
    error): how fast the series' level moves, which sets how its bands grow past the measured steps
    (``rolling.extend``). 1.0 (a random walk) for fewer than two points."""
    if len(repaired) < 2:
        return 1.0
    _, sse = ses_paths(np.log1p(repaired))
    return float(ALPHAS[int(np.argmin(sse[:, -1]))])


def forecast(y: np.ndarray, repaired: np.ndarray, h: int, cap: float) -> dict[str, np.ndarray]:
    """Every member's forecast from the whole history (``at_ends`` at its end)."""
    return {name: values[0] for name, values in at_ends(y, repaired, h, cap, np.array([len(y)])).items()}
