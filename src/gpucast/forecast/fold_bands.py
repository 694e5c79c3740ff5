"""The statsforecast ensemble's bands from the default engine's rule: checked and scaled on the ensemble's own folds.

The ensemble (``ensemble.py``) takes its intervals from ``fast.band_rule`` — per-step conformal log quantiles of the
fast members' many-origin backtest, recency-weighted and volatility-scaled, the level-shift hedge, the replay
recalibration, the growth past the calibrated steps, the outage floor and the record-rise cap — centred on its own
mean (``fast.BandRule.centred``). That rule is calibrated on the *fast* ensemble's residuals; the statsforecast
ensemble errs differently (on ServeGen it is further off than the fast one on most series: MAE 0.96 × seasonal-naive's
on the clients against 0.85, docs/forecast-accuracy.md), so bands sized for the fast ensemble's errors held too
little around its mean. Its backtest folds show by how much: at each fold's cutoff the rule is calibrated on the
history before it only and centred on that fold's forecast, and every held-out step gives the factor the band's
log width needed to contain it (``needed``), as the rule's own replay recalibration measures (``rolling.replay``:
on the bands before the record-rise cap, so the cap only ever lowers an upper bound).
The forecast's band is scaled by the ``level`` quantile of those factors (conformal, with the finite-sample
correction), at least 1 — the rule's band is the floor: three folds sample a bursty series' level shifts two or
three times, too few to narrow a band calibrated on dozens of origins — and at most ``rolling.SCALE_RANGE``'s top.
The coverage reported beside the forecast (``Backtest.coverage``) scores each fold with the factor measured on the
*other* folds (cross-conformal; 1 with a single fold), so no fold is scored on its own errors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .fast import band_rule
from .rolling import SCALE_RANGE
from .seasonality import SeriesPlan

MIN_CHECK_HISTORY = 8  # a backtest fold is checked only with at least this many steps of history before it


@dataclass(frozen=True)
class FoldCheck:
    """The folds' verdict: per level the share of held-out steps inside (None: no fold checked), the steps scored,
    and the factor the forecast's band is scaled by (``scale``)."""

    coverage: dict[int, float | None]
    cells: int
    scale: dict[int, float]


def needed(truth: np.ndarray, mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per step, the factor a band [low, high] around ``mean`` must scale its log1p width by to contain ``truth``
    (<= 1: inside). The rule's bands are log1p offsets scaled by their recalibration factor, so this is the factor
    that recalibration would have needed (where no cap binds)."""
    x, m = np.log1p(np.maximum(truth, 0.0)), np.log1p(np.maximum(mean, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(x > m, (x - m) / np.maximum(np.log1p(high) - m, 1e-9), 0.0)
        down = np.where(x < m, (m - x) / np.maximum(m - np.log1p(np.maximum(low, 0.0)), 1e-9), 0.0)
    return np.asarray(np.maximum(up, down))


def scale_for(factors: list[np.ndarray], level: int) -> float:
    """The ``level`` conformal quantile of the needed ``factors`` (finite-sample corrected), within [1, the top of
    ``rolling.SCALE_RANGE``]; 1 without any."""
    if not factors:
        return 1.0
    scores = np.concatenate(factors)
    q = min(1.0, level / 100 * (1 + 1 / len(scores)))
    return float(np.clip(np.quantile(scores, q), 1.0, SCALE_RANGE[1]))


def check(y: np.ndarray, plan: SeriesPlan, folds: np.ndarray, truth: np.ndarray, levels: tuple[int, ...]) -> FoldCheck:
    """The folds ``folds[i]`` (the ensemble's forecast of ``truth[i]``, cut ``plan.fold_h`` steps apart at the end of
    ``y``) with the bands the rule gives on the history before each cutoff (and the outages recorded in it): the
    coverage, each fold scaled by the other folds' factors, and the forecast's scale from every fold's (module
    docstring). A fold with under ``MIN_CHECK_HISTORY`` steps before it is left out."""
    n = len(y)
    checked = []
    for i in range(plan.folds):
        cut = n - (plan.folds - i) * plan.fold_h
        if cut < MIN_CHECK_HISTORY:
            continue
        rule = band_rule(y[:cut], replace(plan, outages=tuple(t for t in plan.outages if t < cut)), plan.fold_h, levels)
        lows, highs = rule.centred(folds[i], capped=False)  # the factor as the rule's replay measures it
        checked.append((i, rule, {lv: needed(truth[i], folds[i], lows[lv], highs[lv]) for lv in levels}))
    inside = dict.fromkeys(levels, 0)
    for i, rule, _ in checked:
        others = [factors for j, _, factors in checked if j != i]
        scale = {lv: rule.recalibrated[lv] * scale_for([f[lv] for f in others], lv) for lv in levels}
        lows, highs = replace(rule, recalibrated=scale).centred(folds[i])
        for lv in levels:
            inside[lv] += int(np.sum((truth[i] >= lows[lv]) & (truth[i] <= highs[lv])))
    cells = len(checked) * plan.fold_h
    return FoldCheck(
        {lv: (inside[lv] / cells if cells else None) for lv in levels},
        cells,
        {lv: scale_for([factors[lv] for _, _, factors in checked], lv) for lv in levels},
    )
