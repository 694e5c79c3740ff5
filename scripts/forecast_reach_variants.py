"""Caps on the upper bands scored on the rolling-origin protocol of ``scripts/evaluate_forecasts.py``: the kept rule
(``leads.record_rise`` + ``leads.reach_capped``) and the variants tried beside it (docs/forecast-accuracy.md,
"Upper bands above anything the history supports").

Each seasonal series is forecast at the table's origins with the cap switched off (``coverage.record_rise``
returning None: the bands before the change, bit for bit), then every variant caps those bounds after the fact as
the rule does (``min(hi, cap)``, never below the mean; the forecast's own coverage check is not re-run) and is
scored on the held-out hours: 80% / 95% cover per series, the series outside 70-90% / 88-98%, and the median over
origins of the highest upper bound against the history's peak. Origins forecast without a season are left out
(the cap does not apply to them). Variants, per level L (two-sided upper quantile q = 1 - (1 - L) / 2), x = log1p
of the outage-repaired history, cap = expm1(max(max x, log1p mean) + D):

* ``none``: no cap (main);  ``peak``: D = 0;  ``naive``: D = the L quantile of |x[s] - x[s - season]|;
* ``step``: D = the L quantile of |x[s] - x[s - 1]|;
* ``day-peaks``: the q quantile of each season's peak over the highest earlier season's peak, j seasons back;
* ``record``: the kept rule without the regime floor; ``record-top``: only records within a factor of 2 of the
  peak count; ``floor:F``: the records floored at the peak / F (``floor:2`` is the kept rule, F = REGIME_FACTOR).

    python scripts/forecast_reach_variants.py [--horizon 48] [--origins 16] [--variants none,peak,floor:2]
    python scripts/forecast_reach_variants.py --week-ahead   # first weeks 14 days ahead, without / with the cap
    python scripts/forecast_reach_variants.py --non-seasonal --variants none,record,floor:2   # left alone
    python scripts/forecast_reach_variants.py --engine statsforecast --variants none,floor:2   # the other engine

``--engine statsforecast`` forecasts with the statsforecast ensemble (``ensemble.py``, what ``--backend dask``
always uses) instead of the default engine; its bands are the default engine's rule (``fast.BandRule``, since
2026-12-08), cap included, switched off the same way. About 30 s for the 48-hour protocol on 2 cores with the default engine (the forecasts), about 4 minutes
with statsforecast's, a second per variant.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evaluate_forecasts as ev

from gpucast.forecast import coverage, forecast_load, load_history
from gpucast.forecast.members import repair_outages

LEVELS = (80, 95)
TARGETS = {80: (0.70, 0.90), 95: (0.88, 0.98)}
DEFAULT = "none,peak,naive,step,day-peaks,record-top,record,floor:4,floor:3,floor:2"


@contextlib.contextmanager
def uncapped(off: bool = True) -> Iterator[None]:
    """The bands before the cap (``off``): ``record_rise`` returning None where both engines read it
    (``coverage.bands``: the statsforecast ensemble's bands and fold check are the default engine's rule since
    2026-12-08, ``fast.BandRule``), restored on exit."""
    modules = (coverage,)
    kept = [m.record_rise for m in modules]
    if off:
        for m in modules:
            m.record_rise = lambda *args, **kwargs: None
    try:
        yield
    finally:
        for m, rule in zip(modules, kept, strict=True):
            m.record_rise = rule


def collect(horizon: int, origins: int, seasonal: bool = True, engine: str = "fast") -> list[dict]:
    """The uncapped forecasts of every seasonal series at the protocol's origins (hourly families at ``horizon``,
    the one-week traces on their own protocol, as ``evaluate_forecasts`` scores them); ``seasonal=False``: those
    of the one-hour and one-day traces instead (season 1: the record is the running maximum), which the rule
    leaves alone. ``engine``: ``forecast_load``'s."""
    rows = []
    with uncapped():
        for s in ev.traces():
            p = s.protocol or ev.Protocol(horizon, origins, 12, ev.DAY, 3 * ev.DAY)
            if (p.season > 1) != seasonal:
                continue
            y = s.frame["rps"].to_numpy(dtype=float)
            for end in ev.cuts(len(y), p.horizon, p.origins, p.spacing, p.min_history):
                result = forecast_load(load_history(s.frame.iloc[:end]), p.horizon, engine=engine)
                if (result.backtest.baseline_season > 1) != seasonal:
                    continue

                def column(pick: Callable) -> np.ndarray:
                    return np.array([pick(point) for point in result.forecast])  # noqa: B023

                season = result.backtest.baseline_season
                row = {"name": s.name, "season": season, "actual": y[end : end + p.horizon], "peak": y[:end].max()}
                row["x"] = np.log1p(np.maximum(repair_outages(y[:end], season), 0.0))
                row["mean"] = column(lambda q: q.mean)
                for lv in LEVELS:
                    row[f"lo{lv}"] = column(lambda q, lv=lv: q.lo[lv])
                    row[f"hi{lv}"] = column(lambda q, lv=lv: q.hi[lv])
                rows.append(row)
    return rows


def _by_lag(values: Callable[[int], np.ndarray], longest: int, steps: int, season: int, q: float) -> np.ndarray:
    """D per step: the q quantile of ``values(j)`` at j = ceil(k / season) seasons, at least 0, held past
    ``longest`` and non-decreasing."""
    if longest < 1:
        return np.zeros(steps)
    lags = min(longest, -(-steps // season))
    per_lag = [max(0.0, float(np.nanquantile(values(j), q))) for j in range(1, lags + 1)]
    j = np.minimum(-(-np.arange(1, steps + 1) // season), lags) - 1
    return np.maximum.accumulate(per_lag)[j]


def rise(variant: str, x: np.ndarray, season: int, steps: int, level: int) -> np.ndarray | float:
    """The variant's D (module docstring) on history ``x`` (log1p) for ``steps`` steps at ``level``."""
    q = 1 - (1 - level / 100) / 2
    if variant == "peak":
        return 0.0
    if variant == "naive":
        return float(np.quantile(np.abs(x[season:] - x[:-season]), level / 100))
    if variant == "step":
        return float(np.quantile(np.abs(np.diff(x)), level / 100))
    if len(x) < 3 * season:
        return 0.0
    phases = np.concatenate([np.full(-len(x) % season, np.nan), x]).reshape(-1, season)
    longest = len(phases) - 2
    if variant == "day-peaks":
        peaks = np.nanmax(phases, axis=1)
        best = np.maximum.accumulate(peaks)
        return _by_lag(lambda j: peaks[j:] - best[:-j], longest, steps, season, q)
    record = np.fmax.accumulate(phases, axis=0)
    if variant.startswith("floor:"):
        record = np.maximum(record, float(np.max(x)) - np.log(float(variant.split(":")[1])))
    if variant == "record-top":
        top = record >= float(np.max(x)) - np.log(2.0)

        def values(j: int) -> np.ndarray:
            rises, near = phases[j:] - record[:-j], top[:-j]
            return rises[near] if near.any() else rises.ravel()

        return _by_lag(values, longest, steps, season, q)
    return _by_lag(lambda j: (phases[j:] - record[:-j]).ravel(), longest, steps, season, q)


def score(rows: list[dict], variant: str) -> dict[str, dict]:
    """Per series: cover per level and the median over origins of max(hi) / the history's peak."""
    out: dict[str, dict] = {}
    for row in rows:
        entry = out.setdefault(row["name"], {lv: [] for lv in LEVELS} | {f"r{lv}": [] for lv in LEVELS})
        for lv in LEVELS:
            hi = row[f"hi{lv}"]
            if variant != "none":
                d = rise(variant, row["x"], row["season"], len(hi), lv)
                cap = np.expm1(np.maximum(float(np.max(row["x"])), np.log1p(row["mean"])) + d)
                hi = np.maximum(np.minimum(hi, cap), row["mean"])
            a = row["actual"]
            entry[lv].append(float(np.mean((a >= row[f"lo{lv}"]) & (a <= hi))))
            entry[f"r{lv}"].append(float(hi.max() / row["peak"]))
    return out


def week_ahead(engine: str = "fast") -> None:
    """Each hourly series' first week forecast 14 days ahead, without the cap and with it: the highest 80% and 95%
    upper bound and the capacity timeline's highest daily peak (``peaks``: p95 of the 80% bound) against the week's
    peak — the case of the report (Azure 2024 coding: 808 req/s from a week that never passed 84)."""
    from gpucast.forecast import peaks

    print("| series | week's peak (req/s) | 80% upper / peak | 95% upper / peak | timeline peak / peak |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for s in ev.traces():
        if s.protocol is not None and s.protocol is not ev.WEEK:
            continue
        frame = s.frame.iloc[: 7 * ev.DAY]
        top = float(frame["rps"].max())
        cells = []
        for capped in (False, True):
            with uncapped(not capped):
                result = forecast_load(load_history(frame), "14d", engine=engine)
            hi = {lv: max(p.hi[lv] for p in result.forecast) / top for lv in LEVELS}
            cells.append((hi[80], hi[95], max(p.peak for p in peaks(result, "day")) / top))
        (a80, a95, ap), (b80, b95, bp) = cells
        print(f"| {s.name} | {top:,.1f} | {a80:.2f} → {b80:.2f} | {a95:.2f} → {b95:.2f} | {ap:.2f} → {bp:.2f} |")
    flag = "" if engine == "fast" else f" --engine {engine}"
    print(f"\nWithout → with the cap; `python scripts/forecast_reach_variants.py --week-ahead{flag}`.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--horizon", type=int, default=48)
    parser.add_argument("--origins", type=int, default=16)
    parser.add_argument("--variants", default=DEFAULT)
    parser.add_argument("--week-ahead", action="store_true", help="first weeks forecast 14 days ahead, without/with")
    parser.add_argument("--non-seasonal", action="store_true", help="the one-hour and one-day traces instead")
    parser.add_argument("--engine", choices=("fast", "statsforecast"), default="fast", help="forecast_load's engine")
    args = parser.parse_args(argv)
    if args.week_ahead:
        week_ahead(args.engine)
        return 0
    rows = collect(args.horizon, args.origins, not args.non_seasonal, args.engine)
    variants = args.variants.split(",")
    scores = {v: score(rows, v) for v in variants}
    names = list(scores[variants[0]])
    print("| series | " + " | ".join(variants) + " |")
    print("| --- |" + " ---: |" * len(variants))
    outside = {v: [0, 0] for v in variants}
    for name in names:
        cells = []
        for v in variants:
            e = scores[v][name]
            cover = {lv: float(np.mean(e[lv])) for lv in LEVELS}
            for i, lv in enumerate(LEVELS):
                low, high = TARGETS[lv]
                outside[v][i] += not low <= cover[lv] <= high  # as evaluate_forecasts.summary counts
            cells.append(f"{cover[80]:.2f} / {cover[95]:.2f}, {np.median(e['r80']):.1f}x / {np.median(e['r95']):.1f}x")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| **outside 80% / 95%** | " + " | ".join(f"{a} / {b}" for a, b in outside.values()) + " |")
    print(
        f"\nCover 80% / 95%, median over origins of the highest upper bound / the history's peak; "
        f"`python scripts/forecast_reach_variants.py --horizon {args.horizon} --origins {args.origins}"
        f"{' --non-seasonal' if args.non_seasonal else ''}{'' if args.engine == 'fast' else ' --engine ' + args.engine}`."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
