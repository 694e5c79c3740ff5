"""Member selection and combination rules for the fast engine, compared on rolling origins (issue 26, item 2).

Same protocol as ``scripts/forecast_ceiling.py`` (16 origins 12 h apart, 48 h ahead, daily season, each origin
sees only the rows before it through ``load_history``; MAE / seasonal-naive MAE, geometric mean over origins and
then over a family's series). At each origin every rule gets the members' rolling backtest (``rolling.backtest``,
the engine's up to 72 origins) and their final forecasts, and picks or weights members from the backtest alone;
the extra members (``--members``) are computed at every backtest origin like the engine's own. Figures in
docs/forecast-accuracy.md ("Member selection").

    python scripts/forecast_selection_variants.py [--members] [--max-origins 72]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from evaluate_forecasts import DAY, cuts, geomean, traces  # noqa: E402

from gpucast.forecast import fast, load_history, rolling, selection  # noqa: E402
from gpucast.forecast.members import forecast_members  # noqa: E402

Case = dict  # name, family, bt (rolling.Backtested), final (member -> forecast), actual, naive MAE


def _profile_and_adjusted(z: np.ndarray, s: int, seasons: int = 7) -> tuple[np.ndarray, np.ndarray]:
    k = max(1, min(seasons, len(z) // s))
    rows = z[len(z) - k * s :].reshape(k, s)
    shape = np.median(rows - rows.mean(axis=1, keepdims=True), axis=0)
    shape -= shape.mean()
    return shape, z - shape[(np.arange(len(z)) - len(z)) % s]


def _level_member(level: Callable[[np.ndarray, int], float], seasons: int = 7) -> Callable[..., np.ndarray]:
    def member(y: np.ndarray, s: int, h: int) -> np.ndarray:
        profile, adjusted = _profile_and_adjusted(np.log1p(y), s, seasons)
        return np.asarray(np.expm1(level(adjusted, s) + profile[np.arange(h) % s]))

    return member


def _recent_profile(y: np.ndarray, s: int, h: int) -> np.ndarray:
    """Profile: recency-weighted mean of the last 7 seasons' shapes (half-life 2 seasons); level: last half season."""
    z = np.log1p(y)
    k = max(1, min(7, len(z) // s))
    rows = z[len(z) - k * s :].reshape(k, s)
    rows = rows - rows.mean(axis=1, keepdims=True)
    w = 0.5 ** (np.arange(k)[::-1] / 2.0)
    profile = (w[:, None] * rows).sum(axis=0) / w.sum()
    adjusted = z - profile[(np.arange(len(z)) - len(z)) % s]
    return np.asarray(np.expm1(np.median(adjusted[-s // 2 :]) + profile[np.arange(h) % s]))


def _naive_at_level(y: np.ndarray, s: int, h: int) -> np.ndarray:
    """The last season's log shape moved to the recent level (last half season, de-seasonalised)."""
    z = np.log1p(y)
    _, adjusted = _profile_and_adjusted(z, s)
    shift = np.median(adjusted[-s // 2 :]) - np.mean(adjusted[-s:])
    return np.asarray(np.expm1(z[-s:][np.arange(h) % s] + shift))


def _damped_level(y: np.ndarray, s: int, h: int, half_life: float = 24.0) -> np.ndarray:
    """The recent level (last half season) decaying toward the week's median level, half-life ``half_life`` steps."""
    profile, adjusted = _profile_and_adjusted(np.log1p(y), s)
    recent, week = float(np.median(adjusted[-s // 2 :])), float(np.median(adjusted[-7 * s :]))
    decay = 0.5 ** (np.arange(1, h + 1) / half_life)
    return np.asarray(np.expm1(week + decay * (recent - week) + profile[np.arange(h) % s]))


def _half_naive(y: np.ndarray, s: int, h: int) -> np.ndarray:
    """The log-scale mean of SES and seasonal-naive (on the repaired history): the same phase yesterday and the
    level read from the last hours, weighted equally."""
    from gpucast.forecast.members import seasonal_naive, ses

    return np.asarray(np.expm1(0.5 * np.log1p(ses(y, s, h)) + 0.5 * np.log1p(seasonal_naive(y, s, h))))


EXTRA: dict[str, Callable[..., np.ndarray]] = {
    "HalfNaive": _half_naive,
    "DayLevel": _level_member(lambda a, s: float(np.mean(a[-s:]))),
    "WeekMedianLevel": _level_member(lambda a, s: float(np.median(a[-7 * s :]))),
    "RecentWeekBlend": _level_member(
        lambda a, s: 0.5 * float(np.median(a[-s // 2 :])) + 0.5 * float(np.mean(a[-7 * s :]))
    ),
    "Profile3": _level_member(lambda a, s: float(np.median(a[-s // 2 :])), seasons=3),
    "RecentProfile": _recent_profile,
    "NaiveAtLevel": _naive_at_level,
    "DampedLevel": _damped_level,
}


def cases(extra: bool, horizon: int = 48, origins: int = 16, spacing: int = 12) -> list[Case]:
    out = []
    for s in (t for t in traces() if t.hourly):  # the hourly series (the one-hour traces have no day)
        raw = s.frame["rps"].to_numpy(dtype=float)
        for end in cuts(len(raw), horizon, origins, spacing):
            y = load_history(s.frame.iloc[:end]).frame["y"].to_numpy(dtype=float)
            bt = rolling.backtest(y, DAY, fast.calibrated_steps(len(y), DAY, horizon))
            cap = rolling.CAP_FACTOR * float(y.max())
            final = forecast_members(y, DAY, horizon, cap, bt.repaired)
            if extra:
                steps = bt.actual.shape[1]
                for name, member in EXTRA.items():
                    rows = [member(bt.repaired[:t], DAY, steps) for t in bt.origins.tolist()]
                    bt.forecasts[name] = np.clip(np.nan_to_num(np.array(rows)), 0.0, cap)
                    final[name] = np.clip(np.nan_to_num(member(bt.repaired, DAY, horizon)), 0.0, cap)
            actual = raw[end : end + horizon]
            naive = float(np.mean(np.abs(np.resize(raw[end - DAY : end], horizon) - actual)))
            out.append(
                {
                    "end": end,
                    "name": s.name,
                    "family": s.family,
                    "bt": bt,
                    "final": final,
                    "actual": actual,
                    "naive": naive,
                }
            )
    return out


def pooled_mae(case: Case, pool: list[str]) -> dict[str, float]:
    bt = case["bt"]
    seen = np.isfinite(bt.actual)
    return {n: float(np.mean(np.abs(bt.forecasts[n][seen] - bt.actual[seen]))) for n in pool}


def relative_mae(
    case: Case, pool: list[str], cap: float | None = None, half_life: float | None = None, last: int | None = None
) -> dict[str, float]:
    """Mean over backtest origins of MAE / seasonal-naive MAE (the engine's score; ``cap``: ratios clipped,
    ``half_life``: origins weighted 0.5^(age / half-life days); ``last``: only the last ``last`` origins, a
    rolling window)."""
    bt = case["bt"]
    with warnings.catch_warnings():  # an origin with no landed cell in a block of steps: NaN, dropped below
        warnings.simplefilter("ignore", RuntimeWarning)
        err = {n: np.nanmean(np.abs(bt.forecasts[n] - bt.actual), axis=1) for n in pool}
    ok = np.nan_to_num(err["SeasonalNaive"]) > 0
    if last:
        ok &= np.arange(len(ok)) >= len(ok) - last
    w = np.ones(int(ok.sum()))
    if half_life:
        w = 0.5 ** ((bt.origins[-1] - bt.origins[ok]) / (half_life * DAY))
    out = {}
    for n in pool:
        r = err[n][ok] / err["SeasonalNaive"][ok]
        out[n] = float(np.sum(w * (np.minimum(r, cap) if cap else r)) / w.sum())
    return out


def log_mae(case: Case, pool: list[str]) -> dict[str, float]:
    bt = case["bt"]
    seen = np.isfinite(bt.actual)
    truth = np.log1p(bt.actual[seen])
    return {n: float(np.mean(np.abs(np.log1p(bt.forecasts[n][seen]) - truth))) for n in pool}


def _trimmed(stack: np.ndarray, share: float = 0.2) -> np.ndarray:
    cut = int(share * len(stack))
    return np.asarray(np.sort(stack, axis=0)[cut : len(stack) - cut].mean(axis=0))


def _blocks(case: Case, pool: list[str], edges: list[int]) -> np.ndarray:
    """Members chosen separately for each block of steps, each on its own steps' backtest errors."""
    bt, horizon = case["bt"], len(case["actual"])
    out = np.empty(horizon)
    bounds = [0, *edges, horizon]
    for a, b in itertools.pairwise(bounds):
        part = {n: bt.forecasts[n][:, a : min(b, bt.actual.shape[1])] for n in pool}
        sub = dict(
            case,
            bt=rolling.Backtested(
                bt.origins, bt.actual[:, a : min(b, bt.actual.shape[1])], part, bt.season, bt.repaired
            ),
        )
        out[a:b] = combine(sub, relative_mae(sub, pool), 4, "median")[a:b]
    return out


def combine(case: Case, score: dict[str, float], k: int, how: str, power: float = 2.0) -> np.ndarray:
    top = sorted(score, key=lambda n: score[n])[:k]
    stack = np.stack([case["final"][n] for n in top])
    if how == "median":
        return np.asarray(np.median(stack, axis=0))
    w = np.array([1 / max(score[n], 1e-12) ** power for n in top])
    return np.asarray(np.tensordot(w / w.sum(), stack, axes=1))


def engine(case: Case, pool: list[str]) -> np.ndarray:
    """The engine's own rule (``rolling.member_weights`` and ``rolling.combine``) on the members of ``pool``."""
    bt = case["bt"]
    own = rolling.Backtested(bt.origins, bt.actual, {n: bt.forecasts[n] for n in pool}, bt.season, bt.repaired)
    return rolling.combine(case["final"], rolling.member_weights(own))


def _at_level(case: Case, spans: list[tuple[int, int]]) -> np.ndarray:
    f, actual = case["final"]["SES"].copy(), case["actual"]
    for a, b in spans:
        f[a:b] *= np.median(actual[a:b]) / max(float(np.median(f[a:b])), 1e-9)
    return np.asarray(f)


def adaptive_k(case: Case, pool: list[str], ks: tuple[int, ...] = (2, 3, 4, 5), by: str = "ratio") -> np.ndarray:
    """The median of the top k, k picked per series and origin as the one whose *prequential* backtest ensemble
    (``selection.prequential_median`` with TOP_K = k) erred least: mean over backtest origins of its MAE / seasonal-
    naive's (``by="ratio"``) or its MAE pooled over every cell (``by="pooled"``)."""
    bt = case["bt"]
    forecasts = {n: bt.forecasts[n] for n in pool}
    running = selection.running_errors(bt.actual, forecasts)
    seen = np.isfinite(bt.actual)
    truth = np.where(seen, bt.actual, 0.0)
    base = np.where(seen, np.abs(bt.forecasts["SeasonalNaive"] - truth), 0.0).sum(axis=1)
    best, best_score = 4, np.inf
    default = selection.TOP_K
    try:
        for k in ks:
            selection.TOP_K = k
            ens = selection.prequential_median(bt.origins, running, forecasts)
            err = np.where(seen, np.abs(ens - truth), 0.0).sum(axis=1)
            ok = base > 0
            score = float(np.mean(err[ok] / base[ok])) if by == "ratio" else float(err.sum())
            if score < best_score:
                best, best_score = k, score
    finally:
        selection.TOP_K = default
    return combine(case, relative_mae(case, pool), best, "median")


def rules(pool: list[str]) -> dict[str, Callable[[Case], np.ndarray]]:
    out: dict[str, Callable[[Case], np.ndarray]] = {
        "before: inverse pooled-MAE² weights, top 3": lambda c: combine(c, pooled_mae(c, pool), 3, "weights"),
        "median of all members": lambda c: np.median(np.stack([c["final"][n] for n in pool]), axis=0),
        "median of top 4 by pooled MAE": lambda c: combine(c, pooled_mae(c, pool), 4, "median"),
        "engine: median of top 4 by relative MAE": lambda c: engine(c, pool),
    }
    for k in (3, 5):
        out[f"median of top {k} by relative MAE"] = lambda c, k=k: combine(c, relative_mae(c, pool), k, "median")
    out["inverse relative-MAE² weights, top 4"] = lambda c: combine(c, relative_mae(c, pool), 4, "weights")
    out["top 4 by relative MAE, ratios capped at 3"] = lambda c: combine(c, relative_mae(c, pool, cap=3), 4, "median")
    out["trimmed mean of all members (20% each side)"] = lambda c: _trimmed(np.stack([c["final"][n] for n in pool]))
    out["inverse log-MAE² weights, top 3"] = lambda c: combine(c, log_mae(c, pool), 3, "weights")
    out["median of top 4 by relative MAE, per block of steps (1-4, 5-48)"] = lambda c: _blocks(c, pool, [4])
    out["median of top 4 by relative MAE, per block of steps (1-6, 7-24, 25-48)"] = lambda c: _blocks(c, pool, [6, 24])
    # not forecasts: the SES member's shape moved to the hold-out's own median level (whole horizon / each day),
    # bounds on what a better level estimate alone could gain
    out["oracle level (SES shape, the hold-out's median)"] = lambda c: _at_level(c, [(0, len(c["actual"]))])
    out["oracle daily level (SES shape, each day's median)"] = lambda c: _at_level(c, [(0, DAY), (DAY, 2 * DAY)])
    out["top 4 by relative MAE, half-life 4 days"] = lambda c: combine(
        c, relative_mae(c, pool, half_life=4), 4, "median"
    )
    # 2026-12-07 (branch wt-fc2): k of the median picked on the prequential backtest; inverse rolling MAE weights
    out["median of top k, k in 2-5 picked by the prequential backtest's relative MAE"] = lambda c: adaptive_k(c, pool)
    out["the same, k in 3-5"] = lambda c: adaptive_k(c, pool, (3, 4, 5))
    out["the same, k in 2-5 by pooled MAE"] = lambda c: adaptive_k(c, pool, by="pooled")
    out["inverse relative-MAE weights, all members"] = lambda c: combine(c, relative_mae(c, pool), 9, "w", 1.0)
    for last in (12, 24):
        for k in (4, 9):
            out[f"inverse relative-MAE weights over the last {last} backtest origins, top {min(k, len(pool))}"] = (
                lambda c, last=last, k=k: combine(c, relative_mae(c, pool, last=last), k, "w", 1.0)
            )
        out[f"median of top 4 by relative MAE over the last {last} backtest origins"] = lambda c, last=last: combine(
            c, relative_mae(c, pool, last=last), 4, "median"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", action="store_true", help="also score the extra candidate members")
    parser.add_argument("--max-origins", type=int, default=rolling.MAX_ORIGINS, help="backtest origins per series")
    args = parser.parse_args(argv)
    rolling.MAX_ORIGINS = args.max_origins
    data = cases(args.members)
    base = list(forecast_members(np.ones(3 * DAY), DAY, 1, 2.0))
    table: dict[str, Callable[[Case], np.ndarray]] = dict(rules(base))
    if args.members:
        for name in EXTRA:
            table[f"member alone: {name}"] = lambda c, name=name: c["final"][name]
            pool = [*base, name]
            table[f"engine rule, + {name}"] = lambda c, pool=pool: combine(c, relative_mae(c, pool), 4, "median")
    families = sorted({c["family"] for c in data})
    print("| rule | " + " | ".join(families) + " |")
    print("| --- |" + " ---: |" * len(families))
    for label, rule in table.items():
        per: dict[tuple[str, str], list[float]] = defaultdict(list)
        for c in data:
            ratio = float(np.mean(np.abs(rule(c) - c["actual"]))) / max(c["naive"], 1e-9)
            per[(c["family"], c["name"])].append(ratio)
        cells = [geomean([geomean(v) for (f, _), v in per.items() if f == family]) for family in families]
        print(f"| {label} | " + " | ".join(f"{v:.3f}" for v in cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
