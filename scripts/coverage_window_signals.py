"""Does anything known at a forecast's origin tell which one-day windows its band will miss? (issue 26, item 1)

``scripts/coverage_window_noise.py`` shows gpucast's single windows leaving the coverage targets more often than an
oracle's (69% / 81% of one-day windows outside at 80% / 95%, against 45% / 64%): the bands are too wide in some
windows and too narrow in others. A band could only follow the windows if some quantity known at the origin told
them apart. This script scores, on the same windows (the protocol of ``scripts/evaluate_forecasts.py``: origins
``--spacing`` hours apart, each forecast seeing only the rows before it), each window's **needed factor** — the
80% quantile over its hours of the factor the 80% band needed to contain the hour (the log residual over the band's
half-width on its side; below 1: the window is covered at 80% or more) — against three origin-time signals:

* the **recent-volatility ratio** the band was scaled by (``rolling.calibrate``'s ``widen``, read from the
  forecast's note; 1 without a note). If the ratio foresaw the window's volatility, the log factor needed *without*
  it (the needed factor times the ratio) would rise with the log ratio with slope 1; a slope near 0 says the ratio
  is noise the next window undoes (the ratio shrunk by that fitted slope is ``docs/forecast-accuracy.md``'s
  2026-12-07 variant);
* the **level-shift hedge** (``members.level_shift``, read from its note): whether it fired at the origin;
* a **changepoint probability**: Bayesian online changepoint detection (Adams & MacKay, "Bayesian Online
  Changepoint Detection", arXiv:0710.3742, 2007) on the log series minus the median of the same hour in up to
  three earlier days (causal), Gaussian runs of known variance (the robust variance of that series) with a normal
  prior on each run's mean (four times that variance) and a constant hazard of one change per ``--hazard-days``
  days; the signal is the posterior probability that the current run began within the last eighth of a day (3 h,
  the hedge's own window).

Printed: the within-series correlations of the log needed factor with each signal, the pooled within-series slope
of the log factor needed without the ratio on the log ratio, and how the windows' 80% cover splits by the hedge and
by the changepoint probability.

    python scripts/coverage_window_signals.py [--horizon 24] [--origins 16] [--spacing 12] [--hazard-days 2]
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from evaluate_forecasts import DAY, cuts, traces  # noqa: E402

from gpucast.forecast import forecast_load, load_history  # noqa: E402
from gpucast.forecast.members import repair_outages  # noqa: E402

RECENT_STEPS = 3  # a change "at the origin": within the last eighth of a day (members.SHIFT_STEPS_FRACTION)
MAX_RUN = 400  # run lengths tracked (longer runs are merged into the longest kept)


def seasonal_deviation(z: np.ndarray, season: int = DAY, seasons: int = 3) -> np.ndarray:
    """z[t] minus the median of z at the same phase in up to ``seasons`` earlier seasons (NaN in the first season):
    a de-seasonalised series in which each value uses only earlier ones."""
    out = np.full(len(z), np.nan)
    for t in range(season, len(z)):
        out[t] = z[t] - float(np.median(z[t - season * np.arange(1, seasons + 1)[: t // season]]))
    return out


def change_probability(x: np.ndarray, hazard: float, recent: int = RECENT_STEPS) -> float:
    """Adams & MacKay's run-length filter over the finite values of ``x``: P(the current run is shorter than
    ``recent`` steps) after the last one. Observations N(run mean, s2), s2 the robust variance of ``x``; each run's
    mean N(0, 4 s2); a change before each step with probability ``hazard``."""
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return 0.0
    s2 = max(1.4826 * float(np.median(np.abs(x - np.median(x)))), 1e-3) ** 2
    v0 = 4 * s2
    log_r, mean, var = np.zeros(1), np.zeros(1), np.full(1, v0)
    for value in x:
        predictive = var + s2
        log_pred = -0.5 * (np.log(2 * np.pi * predictive) + (value - mean) ** 2 / predictive)
        change = np.logaddexp.reduce(log_r + log_pred) + np.log(hazard)
        log_r = np.concatenate([[change], log_r + log_pred + np.log1p(-hazard)])[:MAX_RUN]
        log_r -= np.logaddexp.reduce(log_r)
        gain = var / predictive
        mean = np.concatenate([[v0 / (v0 + s2) * value], mean + gain * (value - mean)])[:MAX_RUN]
        var = np.concatenate([[v0 * s2 / (v0 + s2)], var * s2 / predictive])[:MAX_RUN]
    return float(np.exp(log_r[:recent]).sum())


def needed_factor(actual: np.ndarray, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float) -> float:
    """The ``level`` quantile over a window's hours of the factor its band needed to contain each (log1p scale)."""
    r = np.log1p(actual) - np.log1p(mean)
    up, down = np.log1p(hi) - np.log1p(mean), np.log1p(mean) - np.log1p(lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(r > 0, r / np.maximum(up, 1e-9), np.where(r < 0, -r / np.maximum(down, 1e-9), 0.0))
    return float(np.quantile(factor, level))


def ratio_from(warnings: list[str]) -> float:
    """The recent-volatility ratio the bands were scaled by, from the forecast's note (1 without one)."""
    for note in warnings:
        found = re.match(r"intervals (?:widened|narrowed) ([0-9.]+)x", note)
        if found:
            return float(found.group(1))
    return 1.0


def windows(horizon: int, origins: int, spacing: int, hazard_days: float) -> dict[str, list[tuple[float, ...]]]:
    """Per series: (log needed factor, 80% cover, log ratio, hedge fired, changepoint probability) per window."""
    out: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for series in traces():
        if not series.hourly:
            continue
        y = series.frame["rps"].to_numpy(dtype=float)
        for end in cuts(len(y), horizon, origins, spacing):
            result = forecast_load(load_history(series.frame.iloc[:end]), horizon)
            actual = y[end : end + horizon]
            mean = np.array([p.mean for p in result.forecast])
            lo, hi = (np.array([getattr(p, side)[80] for p in result.forecast]) for side in ("lo", "hi"))
            factor = needed_factor(actual, mean, lo, hi, 0.8)
            cover = float(np.mean((actual >= lo) & (actual <= hi)))
            hedged = float(any(note.startswith("level shift of") for note in result.warnings))
            x = seasonal_deviation(np.log1p(repair_outages(y[:end], DAY)))
            p = change_probability(x, 1 / (hazard_days * DAY))
            out[series.name].append((np.log(max(factor, 1e-3)), cover, np.log(ratio_from(result.warnings)), hedged, p))
    return out


def within(rows: dict[str, list[tuple[float, ...]]], column: int, target: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Column ``column`` and ``target`` of every window, each centred on its series' mean."""
    xs, ys = [], []
    for values in rows.values():
        a = np.array(values)
        xs.append(a[:, column] - a[:, column].mean())
        ys.append(a[:, target] - a[:, target].mean())
    return np.concatenate(xs), np.concatenate(ys)


def split(rows: dict[str, list[tuple[float, ...]]], column: int, edges: tuple[float, ...]) -> list[str]:
    """The windows' 80% cover per bin of ``column`` (bins between consecutive ``edges``)."""
    every = np.array([v for values in rows.values() for v in values])
    out = []
    for low, high in itertools.pairwise(edges):
        part = every[(every[:, column] >= low) & (every[:, column] < high)]
        if len(part):
            cover = part[:, 1]
            out.append(
                f"[{low:g}, {high:g}): {len(part)} windows, mean cover {cover.mean():.3f}, below 70% "
                f"{np.mean(cover < 0.7 - 1e-9):.0%}, above 90% {np.mean(cover > 0.9 + 1e-9):.0%}"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=int, default=24, help="hours in each window (default 24)")
    parser.add_argument("--origins", type=int, default=16, help="origins per series (default 16)")
    parser.add_argument("--spacing", type=int, default=12, help="hours between origins (default 12)")
    parser.add_argument("--hazard-days", type=float, default=2.0, help="one change per this many days (default 2)")
    args = parser.parse_args(argv)
    rows = windows(args.horizon, args.origins, args.spacing, args.hazard_days)
    print(f"{sum(map(len, rows.values()))} windows of {args.horizon} h, {len(rows)} hourly series")
    for name, column in (("log volatility ratio", 2), ("hedge fired", 3), ("changepoint probability", 4)):
        x, y = within(rows, column)
        print(f"within-series correlation of the log needed factor with the {name}: {np.corrcoef(x, y)[0, 1]:+.2f}")
    x, y = within(rows, 2)
    print(
        f"pooled within-series slope of the log factor needed, on the log ratio: {np.sum(x * y) / np.sum(x * x):+.2f}; "
        f"without the ratio (factor x ratio): {np.sum(x * (y + x)) / np.sum(x * x):+.2f}"
    )
    print("80% cover by hedge fired (0 / 1):", "; ".join(split(rows, 3, (0.0, 0.5, 1.5))))
    print("80% cover by changepoint probability:", "; ".join(split(rows, 4, (0.0, 0.1, 0.5, 1.01))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
