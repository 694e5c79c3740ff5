"""Bounds, diagnostics and band variants for series without a season: the one-hour per-minute traces (issue 26).

Not shipped: the measurements behind docs/forecast-accuracy.md's "one-hour traces" notes of 2026-12-06 (branch
wt-fc). Three parts, all on the protocol of ``scripts/evaluate_forecasts.py`` (``SHORT``: 10 minutes ahead, 16
origins 2 minutes apart, at least 20 minutes of history; each history through ``load_history``):

* ``--bounds``: how much room the statsforecast median (Naive, Theta, AutoETS) leaves. Per trace, the geometric
  mean over origins of MAE / the sf median's MAE for each non-seasonal member alone (``nonseasonal.py``), for a
  robust trend (the SES level plus the Theil-Sen slope of the log history, Sen 1968, JASA 63(324)), and for two
  *oracles* that see the hold-out: its own median repeated, and its own least-squares line;
* ``--growth``: how the backtest's errors grow with the step ahead. The engine's rolling backtest at the end of
  each trace, measured at every step of the horizon, and the 80% quantile of |log1p(actual) - log1p(ensemble)|
  per step; ``growth_exponent`` is the least-squares slope of its log against log step (0.5: a random walk, whose
  error grows as sqrt(step); 0: errors that do not grow);
* ``--variants``: the table's one-hour rows (and 270 windows of 16-20 hours of the hourly ServeGen series, 8 hours
  ahead, where the engine also takes the non-seasonal path) as shipped, with either change of 2026-12-06 undone —
  the band past the measured steps grown as a random walk instead of as ETS(A,N,N)'s forecast variance
  (``rolling.extend``), recurring silences repaired as outages (``dropouts.DROPOUT_RECUR_STEPS``) — or with more
  steps measured (as many as leave ``rolling.MIN_REPLAY_ORIGINS`` replays; or the whole horizon). ``--scale-cap X``
  scores the ServeGen series' coverage with the recalibration's upper clip (``rolling.SCALE_RANGE``) at X.

    python scripts/forecast_nonseasonal_bounds.py [--bounds] [--growth] [--variants] [--scale-cap 3.5]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

import evaluate_forecasts as ef  # noqa: E402

from gpucast.forecast import dropouts, fast, load_history, nonseasonal, rolling  # noqa: E402
from gpucast.forecast.fast import forecast_series  # noqa: E402
from gpucast.forecast.seasonality import plan_series  # noqa: E402

WINDOW_LENGTHS, WINDOW_STRIDE, WINDOW_HORIZON = (16, 18, 20), 53, 8


def theil_sen(z: np.ndarray) -> float:
    """Median of the pairwise slopes (z_j - z_i) / (j - i), i < j; 0 for fewer than two points."""
    if len(z) < 2:
        return 0.0
    i, j = np.triu_indices(len(z), 1)
    return float(np.median((z[j] - z[i]) / (j - i)))


def growth_exponent(q: np.ndarray) -> float:
    """Least-squares slope of log q_k against log k (k = 1..len(q)): how an error quantile grows with the step."""
    k = np.log(np.arange(1, len(q) + 1))
    v = np.log(np.maximum(q, 1e-12))
    return float(np.dot(k - k.mean(), v - v.mean()) / np.dot(k - k.mean(), k - k.mean()))


def step_quantiles(y: np.ndarray, steps: int, q: float = 0.8) -> np.ndarray:
    """Per step ahead, the q-quantile of |log residual| of the engine's prequential backtest measured ``steps`` ahead
    (without a season)."""
    bt = rolling.backtest(y, 1, steps)
    residual = np.log1p(bt.actual) - np.log1p(rolling.prequential(bt))
    return np.array([np.nanquantile(np.abs(residual[:, k]), q) for k in range(steps)])


def _geo(values: list[float]) -> float:
    return math.exp(float(np.mean(np.log(np.maximum(values, 1e-9)))))


def bounds() -> None:
    p = ef.SHORT
    for s in (t for t in ef.traces() if t.short):
        y = s.frame["rps"].to_numpy(dtype=float)
        ends = ef.cuts(len(y), p.horizon, p.origins, p.spacing, p.min_history)
        sf = ef.sf_median([y[:e] for e in ends], p.horizon, 1)
        ratios: dict[str, list[float]] = {}
        for end, median in zip(ends, sf, strict=True):
            actual, history = y[end : end + p.horizon], load_history(s.frame.iloc[:end]).frame["y"].to_numpy(float)
            candidates = nonseasonal.forecast(history, history, p.horizon, np.inf)
            z, steps = np.log1p(history), np.arange(1, p.horizon + 1)
            levels, sse = nonseasonal.ses_paths(z)
            candidates["Theil-Sen trend"] = np.expm1(levels[int(np.argmin(sse[:, -1])), -1] + theil_sen(z) * steps)
            candidates["oracle: hold-out median"] = np.full(p.horizon, float(np.median(actual)))
            t = np.arange(p.horizon)
            candidates["oracle: hold-out line"] = np.polyval(np.polyfit(t, actual, 1), t)
            base = float(np.mean(np.abs(median - actual)))
            for name, f in candidates.items():
                ratios.setdefault(name, []).append(float(np.mean(np.abs(f - actual))) / max(base, 1e-9))
        print(f"{s.name}: " + ", ".join(f"{n} {_geo(v):.3f}" for n, v in ratios.items()))


def growth() -> None:
    for s in (t for t in ef.traces() if t.short):
        q = step_quantiles(load_history(s.frame).frame["y"].to_numpy(float), ef.SHORT.horizon)
        print(f"{s.name}: 80% |log residual| by step {' '.join(f'{v:.2f}' for v in q)}; exponent "
              f"{growth_exponent(q):.2f}")  # fmt: skip


@contextmanager
def patched(obj: object, name: str, value: object) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def _random_walk() -> Callable[..., np.ndarray]:
    """``rolling.extend`` as it was before 2026-12-06: random-walk growth past the measured steps, whatever alpha."""
    original = rolling.extend

    def extend(
        band: np.ndarray, steps: int, alpha: float = 1.0, added: object = None, ceiling: object = None
    ) -> np.ndarray:
        return original(band, steps)  # alpha 1, nothing added, no ceiling

    return extend


def _steps(rule: str) -> Callable[[int, int, int], int]:
    original = fast.calibrated_steps

    def steps(n: int, season: int, horizon: int) -> int:
        if season > 1:
            return original(n, season, horizon)
        room = n - rolling.first_origin(n, season) - rolling.MIN_ORIGINS + 1
        span = horizon if rule == "all" else max(2, room - rolling.MIN_REPLAY_ORIGINS)
        return max(1, min(horizon, span, fast.MAX_CALIBRATED_STEPS, room))

    return steps


def hourly_windows() -> str:
    ratios, inside = [], {80: [], 95: []}  # type: ignore[var-annotated]
    for s in (t for t in ef.traces() if t.hourly and t.name.startswith("ServeGen")):
        y = s.frame["rps"].to_numpy(dtype=float)
        for length in WINDOW_LENGTHS:
            for start in range(0, len(y) - length - WINDOW_HORIZON, WINDOW_STRIDE):
                history = y[start : start + length]
                actual = y[start + length : start + length + WINDOW_HORIZON]
                plan = plan_series(history, 3600.0, WINDOW_HORIZON)
                if plan.baseline_season != 1:
                    continue
                r = forecast_series("x", history, [str(k) for k in range(WINDOW_HORIZON)], "1h", plan, (80, 95))
                mean = np.array([p.mean for p in r.forecast])
                ratios.append(
                    float(np.mean(np.abs(mean - actual))) / max(float(np.mean(np.abs(history[-1] - actual))), 1e-9)
                )
                for lv, store in inside.items():
                    lo, hi = np.array([p.lo[lv] for p in r.forecast]), np.array([p.hi[lv] for p in r.forecast])
                    store.append(float(np.mean((actual >= lo) & (actual <= hi))))
    return (f"{len(ratios)} hourly windows: MAE / naive {_geo(ratios):.3f}, cover 80% {np.mean(inside[80]):.2f}, "
            f"95% {np.mean(inside[95]):.2f}")  # fmt: skip


def variants() -> None:
    walk, repair = (rolling, "extend", _random_walk()), (dropouts, "DROPOUT_RECUR_STEPS", 0)
    cases: dict[str, list[tuple[object, str, object]]] = {
        "as shipped": [],
        "bands grown as a random walk (before 2026-12-06)": [walk],
        "recurring silences repaired as outages (before 2026-12-06)": [repair],
        "both (the engine before 2026-12-06)": [walk, repair],
        "steps measured: as many as leave the replays": [(fast, "calibrated_steps", _steps("replay"))],
        "steps measured: the whole horizon": [(fast, "calibrated_steps", _steps("all"))],
    }
    for label, patches in cases.items():
        with ExitStack() as stack:
            for p in patches:
                stack.enter_context(patched(*p))
            scores = [ef.evaluate(s, 48, 16, 12, True) for s in ef.traces() if s.short]
            rows = "; ".join(f"{x.name} {x.vs_sf:.3f} of sf, cover {x.cov80:.2f} / {x.cov95:.2f}" for x in scores)
            print(f"{label}: {rows}; {hourly_windows()}")


def scale_cap(cap: float) -> None:
    with patched(rolling, "SCALE_RANGE", (rolling.SCALE_RANGE[0], cap)):
        for s in (t for t in ef.traces() if t.hourly and t.name.startswith("ServeGen")):
            x = ef.evaluate(s, 48, 16, 12, False)
            print(f"{x.name}: cover {x.cov80:.3f} / {x.cov95:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bounds", action="store_true")
    parser.add_argument("--growth", action="store_true")
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--scale-cap", type=float, default=0.0)
    args = parser.parse_args(argv)
    every = not (args.bounds or args.growth or args.variants or args.scale_cap)
    if args.bounds or every:
        bounds()
    if args.growth or every:
        growth()
    if args.variants or every:
        variants()
    if args.scale_cap:
        scale_cap(args.scale_cap)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
