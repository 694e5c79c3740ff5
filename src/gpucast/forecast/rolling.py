"""Many-origin rolling backtest of the fast members: error-ranked median combination and per-step conformal intervals.

Why: three backtest folds sample a bursty series' level shifts two or three times, so intervals calibrated on them
covered 40–48% of held-out hours at the 80% level on ServeGen (issue 26). Here every member is re-run at up to
``MAX_ORIGINS`` origins spread over the fit window, ``H`` steps ahead each (``members.py`` makes that cheap), and

* **members combined**: the median of the ``selection.TOP_K`` members with the lowest mean MAE relative to
  seasonal-naive over the origins (``selection.py`` says why). The backtest figures reported are *prequential*:
  the forecast at an origin combines members chosen only from errors already observable at that origin, so the
  choice is never scored on the data that made it;
* **intervals**: conformal quantiles of the log residual ``log1p(y) − log1p(ŷ)`` per horizon step (bursty traffic
  errs multiplicatively; a log band is asymmetric in level, wider above), pooled over neighbouring steps in
  ``STEP_BLOCKS``, recency-weighted (half-life ``HALF_LIFE_SEASONS`` seasons) so that a regime change counts more
  than old calm, and scaled by the **recent volatility** ratio: the residuals that landed in the last season,
  each divided by its step's typical size, against all residuals (between ``MIN_WIDEN`` and ``MAX_WIDEN``). A
  level shift shows up there as large recent errors and widens the next forecast's band; a series that has calmed
  down (bursty first week, quiet second) narrows it — until 2026-12-06 the ratio was only allowed to widen, and
  the bands of such a series covered every hour of its calm stretch (ServeGen m-large/client-104: 80% band 0.94
  of the hours over 16 origins, 0.87 with the two-sided ratio; docs/forecast-accuracy.md);
* **level shifts**: a shift in the last hours that no level estimate has followed yet (``members.level_shift``)
  stretches the band on its side by its size, so the band spans the old and the new level; on both sides for a
  series without a season, whose members follow a shift within steps (``hedge``; since 2026-12-07, when
  ServeGen DeepSeek-R1 client-66's 95% band covered 0.85 of its windows: docs/forecast-accuracy.md);
* **outages**: the loader interpolates outage steps before fitting (``dropouts.py``), so the bands describe demand;
  traffic as recorded also holds outages. Where their recency-weighted share (``outage_rate``, the residuals'
  half-life) exceeds a level's lower tail, ``(1 - level) / 2``, no band above 0 holds that level: it becomes the
  one-sided [0, q_level] (``floored``; ``calibrate(one_sided=...)``), in the replay and the coverage check too.
  Why (2026-12-06): ServeGen client-73's 95% band covered 0.87 of the hold-out hours, 35 of its 99 misses at
  outage hours (docs/forecast-accuracy.md);
* **recalibration**: the whole rule (quantiles, widening, hedge) replayed at up to ``REPLAY_ORIGINS`` past origins,
  each scored on what followed; every held-out cell gives the factor its band needed to contain it, and the band
  is scaled by that factor's ``level`` quantile (clipped to ``SCALE_RANGE``). Why: the per-step quantiles come from
  residuals of forecasts made at *other* origins and are then widened by heuristics; the replay measures whether
  the result holds, on the series itself, and corrects it (a split-conformal step on top of the bands);
* **coverage of the last backtest**: the same rule replayed at the last origins for the whole forecast horizon,
  each with quantiles from residuals observable before it, and scored on what followed (``coverage.py``).

Steps beyond the calibrated ``H`` widen by the spread of the series' own level changes over whole seasons
(``leads.added_spread``; the random walk, sqrt(step / H), where the history cannot measure it); without a season,
as a local level model with the series' own smoothing weight (``extend``). Such an assumed walk is capped past the
history's length by the same walk on the original scale (``level_capped``: no multiplicative compounding). On a
seasonal series every upper bound is then held under the history's peak raised by its own record rise
(``leads.reach_capped``, in ``coverage.bands``): log bands pooled over regimes carry a jump out of a low one onto a
forecast at the top.

Cost: the calibration's array code (cells sorted once per series, all step blocks at once) is in ``cells.py``, the
backtest's batched members in ``batched.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .batched import level_shifts, members_at
from .cells import Cells, block_index, block_medians, block_quantiles, sort_cells
from .members import repair_outages
from .selection import choose, prequential_median, running_errors, scores
from .selection import combine as median_of

MAX_ORIGINS = 72
HALF_LIFE_SEASONS = 1.5
MAX_WIDEN = 2.0
MIN_WIDEN = 1 / MAX_WIDEN  # calm recent errors narrow a band as much as turbulent ones may widen it
MIN_ORIGINS = 12
CAP_FACTOR = 2.0  # no member forecasts above 2x the window's peak
REPLAY_ORIGINS = 24  # past origins the band rule is replayed at to recalibrate it
MIN_REPLAY_ORIGINS = 4  # fewer replays than this: no recalibration
SCALE_RANGE = (0.8, 2.5)  # the recalibration may narrow a band by 20% at most, widen it 2.5x at most


@dataclass(frozen=True)
class Backtested:
    """A series' rolling-origin backtest: member forecasts and actuals per origin and step (NaN: not observed)."""

    origins: np.ndarray  # index of the first forecast step of each origin
    actual: np.ndarray  # (origins, H)
    forecasts: dict[str, np.ndarray]  # member -> (origins, H)
    season: int
    repaired: np.ndarray  # the series with outages repaired (causal: its prefix is each origin's repair)


def first_origin(n: int, season: int) -> int:
    """The earliest origin: two seasons of history (profiles need one, the median three when available)."""
    return min(max(2 * season, 8), max(n - MIN_ORIGINS, 1))


def backtest_origins(n: int, season: int) -> np.ndarray:
    """The backtest's origins: every step from ``first_origin`` on, at most MAX_ORIGINS evenly spaced (the most
    recent kept)."""
    candidates = np.arange(first_origin(n, season), n)
    if len(candidates) > MAX_ORIGINS:
        candidates = candidates[np.unique(np.linspace(0, len(candidates) - 1, MAX_ORIGINS).round().astype(int))]
    return candidates


def replay_count(n: int, season: int, steps: int) -> int:
    """How many origins ``replay`` can replay the band rule at on a history of ``n`` steps: fully observed origins
    (of the last REPLAY_ORIGINS) with at least MIN_ORIGINS origins before them for ``calibrate``."""
    full = np.flatnonzero(backtest_origins(n, season) + steps <= n)[-REPLAY_ORIGINS:]
    return int(np.sum(full >= MIN_ORIGINS))


def backtest(y: np.ndarray, season: int, steps: int) -> Backtested:
    n = len(y)
    candidates = backtest_origins(n, season)
    cap = CAP_FACTOR * float(np.max(y))
    repaired = repair_outages(y, season)
    forecasts = members_at(y, repaired, season, steps, cap, candidates)  # forecast_members at every origin, batched
    target = candidates[:, None] + np.arange(steps)[None, :]
    actual = np.where(target < n, y[np.minimum(target, n - 1)], np.nan)
    return Backtested(candidates, actual, forecasts, season, repaired)


def member_weights(bt: Backtested, now: int | None = None) -> dict[str, float]:
    """The members combined and their shares (``selection.choose``), scored on the cells landed before ``now``
    (default: every observed cell)."""
    now = len(bt.repaired) if now is None else now
    return choose(scores(bt.origins, running_errors(bt.actual, bt.forecasts), now))


def combine(forecasts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """The chosen members' step-by-step median (``selection.combine``)."""
    return median_of(forecasts, weights)


def prequential(bt: Backtested) -> np.ndarray:
    """The ensemble's backtest forecast at every origin, its members chosen from errors observed before it."""
    return prequential_median(bt.origins, running_errors(bt.actual, bt.forecasts), bt.forecasts)


@dataclass(frozen=True)
class Quantiles:
    """Per-step log-residual quantiles per level: level -> (low, high) arrays over the calibrated steps."""

    bands: dict[int, tuple[np.ndarray, np.ndarray]]
    widen: float


def calibrate(
    residual: np.ndarray,
    origins: np.ndarray,
    observed: np.ndarray,
    now: int,
    season: int,
    levels: tuple[int, ...],
    cells: Cells | None = None,
    one_sided: frozenset[int] = frozenset(),
) -> Quantiles | None:
    """Quantiles from the ``observed`` residual cells that landed before ``now``, recency-weighted, widened for
    recent volatility (or narrowed for recent calm). None when fewer than MIN_ORIGINS origins have an observed first step by then. Per block of
    steps (``STEP_BLOCK_EDGES``) with at least MIN_ORIGINS such cells; a block with fewer carries the last one's.
    ``cells``: ``sort_cells(residual, origins, observed)`` when the caller has it (sorted here otherwise).
    ``one_sided``: levels whose lower bound will be 0 (``floored``): their upper quantile is the ``level`` one,
    the interval [0, q_level] — all of the level's miss budget is above it, as no observation lies below 0."""
    steps = residual.shape[1]
    cells = sort_cells(residual, origins, observed) if cells is None else cells
    per_step_count, per_step_size = cells.landed_before(origins, now)
    if int(per_step_count[0]) < MIN_ORIGINS:
        return None
    half_life = HALF_LIFE_SEASONS * season  # weights 0.5^(age / half-life), computed only on the cells used
    tails = [(1 - lv / 100) if lv in one_sided else (1 - lv / 100) / 2 for lv in levels]
    qs = np.array([q for tail in tails for q in (tail, 1 - tail)])
    step_block, blocks = block_index(steps)
    in_block = np.add.reduceat(per_step_count, [a for a, _ in blocks])
    usable = in_block[cells.ids] >= MIN_ORIGINS  # per block present among the observed cells
    ids = cells.ids[usable]
    value, landed, counts = cells.chosen(cells.by_value, now, usable)
    w = np.exp2((landed - (now - 1)) / half_life)
    recent_q, flat_q = block_quantiles(value, w, counts, qs)
    size, _, size_counts = cells.chosen(cells.by_size, now, usable)
    median = block_medians(size, size_counts)
    lower, upper = np.minimum(recent_q, flat_q), np.maximum(recent_q, flat_q)
    values = np.where(np.arange(len(qs)) % 2 == 0, lower, upper)  # (usable blocks, qs)
    # a block with too few cells carries the last usable block's values (block 0 is usable: checked above)
    usable_block = np.zeros(len(blocks), dtype=bool)
    usable_block[ids] = True
    carried = np.maximum.accumulate(np.where(usable_block, np.arange(len(blocks)), 0))
    per_block = np.empty((len(blocks), len(qs)))
    per_block[ids] = values
    per_step = per_block[carried][step_block]
    typical = np.full(len(blocks), np.nan)
    typical[ids] = np.maximum(median, 1e-9)
    typical_step = typical[step_block]
    typical_step = np.where(np.isfinite(typical_step), typical_step, np.nanmax(typical_step))
    # recent volatility: the cells that landed in the last season (only the last origins' rows hold any)
    near = np.flatnonzero(origins + steps - 1 >= now - season)
    lands = origins[near, None] + np.arange(steps)[None, :]
    recent = observed[near] & (lands < now) & (lands >= now - season)
    widen = 1.0
    if recent.sum() >= max(4, season // 4):
        recent_sizes = (np.abs(residual[near]) * recent).sum(axis=0)
        recent_mean = float(np.sum(recent_sizes / typical_step)) / int(recent.sum())
        overall_mean = float(np.sum(per_step_size / typical_step)) / int(per_step_count.sum())
        if overall_mean > 0.0:
            widen = float(np.clip(recent_mean / overall_mean, MIN_WIDEN, MAX_WIDEN))
        elif recent_mean > 0.0:  # no backtest error before the last season, some in it: as wide as allowed
            widen = MAX_WIDEN
    bands = {
        lv: (np.minimum(per_step[:, 2 * j], 0.0) * widen, np.maximum(per_step[:, 2 * j + 1], 0.0) * widen)
        for j, lv in enumerate(levels)
    }
    return Quantiles(bands, widen)


def hedge(low: np.ndarray, high: np.ndarray, shift: float, both_sides: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Log-residual band stretched by a level shift (``members.level_shift``) on the shift's side: a seasonal
    forecast's levels lag a recent shift, so it sits near the old level and the new one lies on the shift's side.
    ``both_sides`` (a series without a season): stretched on both sides, because its members (the last value,
    SES with a weight up to 1, the median of the last three) follow a shift within steps, so the forecast may sit
    at the new level with the old one, which may come back, on the other side (``nonseasonal.py``)."""
    if both_sides:
        return low - abs(shift), high + abs(shift)
    if shift > 0:
        return low, high + shift
    if shift < 0:
        return low + shift, high
    return low, high


def extend(
    band: np.ndarray, steps: int, alpha: float = 1.0, added: np.ndarray | None = None, ceiling: np.ndarray | None = None
) -> np.ndarray:
    """A band calibrated for len(band) = K steps carried to ``steps``: past its end it grows as the k-step forecast
    error of a local level model, ETS(A,N,N), whose variance is sigma^2 (1 + alpha^2 (k - 1)) (Hyndman &
    Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., §8.7): by sqrt((1 + alpha^2 (k - 1)) /
    (1 + alpha^2 (K - 1))). ``alpha`` = 1 (the default) is the random walk, sqrt(k / K); a series whose level the
    smoothing weight says hardly moves (alpha 0.1-0.2 on the Mooncake trace) barely widens
    (docs/forecast-accuracy.md). ``added`` (a seasonal series', ``leads.added_spread``): the squared spread its
    level changes add at steps K+1.., measured on its history; the band is then sqrt(band[K]^2 + added). ``band``
    is one side's magnitude (>= 0)."""
    known = len(band)
    if steps <= known:
        return band[:steps]
    if added is not None:
        return np.concatenate([band, np.hypot(band[-1], np.sqrt(added[: steps - known]))])  # no underflow
    grown = band[-1] * walk_growth(known, steps, alpha)
    if ceiling is not None:  # a series without a season: no wider than its history's level changes (leads.flat_ceiling)
        grown = np.minimum(grown, np.hypot(band[-1], np.sqrt(ceiling[: steps - known])))
    return np.concatenate([band, grown])


def walk_growth(known: int, steps: int, alpha: float = 1.0) -> np.ndarray:
    """The local level model's standard-deviation ratio at steps ``known + 1 .. steps`` to step ``known``:
    sqrt((1 + alpha^2 (k - 1)) / (1 + alpha^2 (known - 1))) (``extend``)."""
    k = np.arange(known + 1, steps + 1)
    return np.asarray(np.sqrt((1 + alpha**2 * (k - 1)) / (1 + alpha**2 * (known - 1))))


def step_spread(history: np.ndarray, level: int) -> float:
    """The ``level`` quantile of the history's one-step changes on the original scale (the naive forecast's one-step
    error; the flat fallback band measures the same on log1p values): the per-step spread of ``level_capped``."""
    return float(np.quantile(np.abs(np.diff(history)), level / 100)) if len(history) > 1 else 0.0


def level_capped(mean: np.ndarray, high: np.ndarray, start: int, alpha: float, spread: float) -> np.ndarray:
    """Upper bounds (level units) past step ``start`` (the later of the calibrated steps K and the history's length
    n) where the band grows by an *assumed* log-scale random walk (``extend`` with ``alpha``, no measured
    ``added``): the smaller of that walk and the same local level model on the original scale,
    ``mean[k] + max(high[start] - mean[start], spread * sqrt(1 + alpha^2 (k - 1)))`` — ETS(A,N,N)'s k-step spread,
    variance linear in the lead (Hyndman & Athanasopoulos, *FPP* 3rd ed., §8.7), with the one-step spread
    measured on the original scale (``step_spread``), never below the band's width at ``start``.
    Why: a log-scale walk compounds multiplicatively, exp(b sqrt(k)): 8 hourly values 0–120 (step-1 log band 4.1)
    forecast 672 steps ahead got a 95% upper bound of 2e10 req/s. Why from n on: up to the history's length the
    log walk extrapolates moves over spans the history holds (and the coverage check scores, ``coverage.py``);
    past it no two observations are that far apart, so nothing measured supports compounding. The cap never
    widens a band, never crosses the mean, and on a flat mean never narrows it (both widths only grow); with
    a <= 1 and values in [0, M], hi[k] <= mean[k] + max(W_start, M sqrt(k))."""
    if len(mean) <= start:
        return high
    k = np.arange(start + 1, len(mean) + 1)
    width = np.maximum(max(float(high[start - 1] - mean[start - 1]), 0.0), spread * np.sqrt(1 + alpha**2 * (k - 1)))
    return np.concatenate([high[:start], np.minimum(high[start:], mean[start:] + width)])


def interval(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-residual quantiles around ``mean`` back in level units (low <= mean <= high, low >= 0). The residuals are
    of ``log1p`` values, which are >= 0 for any rate >= 0: a lower quantile deeper than the mean's own log level
    (a wide band, a level shift down, a far step) means 0 requests, not expm1 of a negative number (down to -1)."""
    centre = np.log1p(np.maximum(mean, 0.0))
    return np.expm1(np.maximum(centre + np.minimum(low, 0.0), 0.0)), np.expm1(centre + np.maximum(high, 0.0))


@dataclass(frozen=True)
class Replay:
    """Per replayed origin (oldest first): index of the first step after its horizon, and per level the factor
    each held-out cell's band needed to contain it (<= 1: inside)."""

    ends: np.ndarray
    needed: dict[int, list[np.ndarray]]
    at: dict[int, tuple[Quantiles, float]] = field(default_factory=dict)  # origin row -> (quantiles, shift)
    cells: Cells | None = None  # the backtest residuals' observed cells, sorted once for every calibration
    # the backtest's log residuals (``log_residuals``), computed once for the calibration and the coverage check
    residual: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))


def _needed(r: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """How much a log band [low, high] around 0 must be scaled to contain the residuals ``r``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(r > 0, r / np.maximum(high, 1e-9), 0.0)
        down = np.where(r < 0, r / np.minimum(low, -1e-9), 0.0)
    return np.asarray(np.maximum(up, down))


def outage_rate(outages: tuple[int, ...], now: int, season: int) -> float:
    """The share of the steps before ``now`` that the loader interpolated as outages, weighted by recency as the
    band's residuals are (half-life ``HALF_LIFE_SEASONS`` seasons): how likely the next step is an outage."""
    if not outages:
        return 0.0
    half_life = HALF_LIFE_SEASONS * max(season, 1)
    at = np.asarray(outages)
    at = at[at < now]
    total = (1 - 0.5 ** (now / half_life)) / (1 - 0.5 ** (1 / half_life))  # sum of 0.5^(age / h), ages 0..now-1
    return float(np.sum(0.5 ** ((now - 1 - at) / half_life)) / total)


def floored(levels: tuple[int, ...], outage_rate: float) -> frozenset[int]:
    """Levels whose lower bound is 0: outages (interpolated by the loader) were more frequent than their lower tail
    (``coverage.bands``)."""
    return frozenset(lv for lv in levels if outage_rate > (1 - lv / 100) / 2)


def log_residuals(bt: Backtested, ensemble: np.ndarray) -> np.ndarray:
    """log1p(actual) - log1p(forecast) per backtest cell, 0 for the actual where it is not observed (the cells the
    calibration uses are those ``np.isfinite(bt.actual)`` marks): the scale every band is calibrated on."""
    return np.asarray(np.log1p(np.where(np.isfinite(bt.actual), bt.actual, 0.0)) - np.log1p(ensemble))


def replay(
    bt: Backtested, ensemble: np.ndarray, levels: tuple[int, ...], y: np.ndarray, outages: tuple[int, ...] = ()
) -> Replay:
    """The band rule replayed at the last REPLAY_ORIGINS fully observed origins, each calibrated only on residuals
    observed before it. A level whose lower bound is 0 at that origin (``floored``, the ``outages`` before it)
    holds every cell below the forecast, so only its upper side needs a factor."""
    residual = log_residuals(bt, ensemble)
    full = np.flatnonzero(np.isfinite(bt.actual).all(axis=1))[-REPLAY_ORIGINS:]
    steps = bt.actual.shape[1]
    ends: list[int] = []
    needed: dict[int, list[np.ndarray]] = {lv: [] for lv in levels}
    at: dict[int, tuple[Quantiles, float]] = {}
    observed = np.isfinite(bt.actual)
    cells = sort_cells(residual, bt.origins, observed)
    shifts = level_shifts(bt.repaired, bt.season, bt.origins[full])  # level_shift at each replayed origin
    for i, shift in zip(full, shifts.tolist(), strict=True):
        t = int(bt.origins[i])
        at_zero = floored(levels, outage_rate(outages, t, bt.season))
        quantiles = calibrate(residual, bt.origins, observed, t, bt.season, levels, cells, at_zero)
        if quantiles is None:
            continue
        at[int(i)] = (quantiles, shift)
        ends.append(t + steps)
        for lv in levels:
            factor = _needed(residual[i], *hedge(*quantiles.bands[lv], shift, bt.season <= 1))
            needed[lv].append(np.where(residual[i] < 0, 0.0, factor) if lv in at_zero else factor)
    return Replay(np.array(ends, dtype=int), needed, at, cells, residual)


def recalibration(rep: Replay, levels: tuple[int, ...], before: int | None = None) -> dict[int, float]:
    """Per level, the factor that makes the replayed bands (those whose horizon ended by ``before``) contain
    ``level`` % of their cells: the conformal quantile of the needed factors, clipped to SCALE_RANGE (1.0 when
    fewer than MIN_REPLAY_ORIGINS replays qualify)."""
    use = np.ones(len(rep.ends), dtype=bool) if before is None else rep.ends <= before
    out = {}
    for lv in levels:
        if int(use.sum()) < MIN_REPLAY_ORIGINS:
            out[lv] = 1.0
            continue
        scores = np.concatenate([rep.needed[lv][j] for j in np.flatnonzero(use)])
        q = min(1.0, lv / 100 * (1 + 1 / len(scores)))
        out[lv] = float(np.clip(np.quantile(scores, q), *SCALE_RANGE))
    return out
