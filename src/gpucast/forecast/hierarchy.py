"""Coherent forecasts of a fleet and its totals: service → team → environment → all, reconciled in numpy.

Why reconcile: forecasting every service and every total separately gives totals that do not add up (the team's
forecast is not the sum of its services'), so a capacity plan per team and one for the fleet would disagree.
Reconciliation maps all the base forecasts ``ŷ`` (one per node of the tree) to coherent ones ``S·P·ŷ``, where
``S`` sums services into nodes (nodes × services) and ``P`` picks the bottom level (Hyndman et al. 2011;
Wickramasuriya, Athanasopoulos & Hyndman 2019, "MinT"):

* ``bottom_up`` (default): ``P = [0 | I]`` — the services' forecasts summed; totals' own means ignored. Measured
  best on ServeGen's 12 client series grouped by model (6 origins, 48 h; docs/forecast-accuracy.md): mean
  relative MAE per level all/environment/team/service 0.256/0.317/0.394/0.471, against 0.265/0.338/0.396/0.489
  for mint_shrink, 0.265/0.333/0.398/0.477 for wls and 0.256/0.344/0.402/0.471 for the incoherent base forecasts;
* ``ols``: ``P = (S'S)⁻¹S'`` — every node weighs the same;
* ``wls``: ``P = (S'W⁻¹S)⁻¹S'W⁻¹`` with ``W`` the diagonal of each node's backtest error variance;
* ``mint_shrink``: the same with ``W`` the full error covariance shrunk towards its diagonal by the
  Schäfer–Strimmer (2005) intensity, as in MinT-shrink: it uses that services err together (a shared level
  shift) while staying invertible with more nodes than error samples.

Errors come from the fast engine's rolling-origin backtest (``fast.fit_series``): every node is fitted with the
*same* seasons and backtest layout (detected on the fleet total, the best-sampled series), so their origins line
up and the error samples are simultaneous. Reconciled service forecasts are clipped at zero and summed again, so
the result stays exactly coherent. Intervals: each node keeps its own (base) band's log offsets around the
reconciled mean — the engine's bands are log-scale — which keeps a node's calibrated width; bands of a total are
its own, not the sum of its services' (that sum would be far too wide: services do not all peak together).
This is the implementation hierarchicalforecast's ``MinTrace(method="mint_shrink")`` documents, written in numpy
because that package is not a dependency (not installed here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InputError
from .result import ForecastPoint, ForecastResult

METHODS = ("mint_shrink", "wls", "ols", "bottom_up")
ERROR_STEPS = 24  # backtest steps ahead whose errors estimate the covariance (the near steps: most origins)
ALL = "all"


@dataclass(frozen=True)
class Node:
    """One node of the tree. ``id``: 'all', 'environment:prod', 'team:prod/search' or 'service:<id>'."""

    id: str
    level: str  # "all", "environment", "team" or "service"
    name: str
    parent: str | None


@dataclass
class HierarchyForecast:
    """Reconciled forecasts per node (``results[node.id]``), the tree, the method and its shrinkage intensity."""

    nodes: list[Node]
    results: dict[str, ForecastResult]
    method: str
    shrinkage: float | None = None
    base_means: dict[str, list[float]] = field(default_factory=dict)

    def children(self, node_id: str) -> list[Node]:
        return [n for n in self.nodes if n.parent == node_id]

    def level(self, level: str) -> list[Node]:
        return [n for n in self.nodes if n.level == level]

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "shrinkage": self.shrinkage,
            "nodes": [
                {"id": n.id, "level": n.level, "name": n.name, "parent": n.parent, **self.results[n.id].to_dict()}
                for n in self.nodes
            ],
        }


def build_tree(services: list[str], groups: Mapping[str, tuple[str, str]]) -> tuple[list[Node], np.ndarray]:
    """Nodes (all, environments, teams, services; each level sorted) and the summing matrix S (nodes × services).
    ``groups[service] = (team, environment)``; a team in two environments is two nodes (one per environment)."""
    missing = [s for s in services if s not in groups]
    if missing:
        shown = ", ".join(missing[:5]) + ("…" if len(missing) > 5 else "")
        raise InputError(f"{len(missing)} services have no team/environment ({shown}); give both for every service")
    slashed = next((s for s in services if "/" in groups[s][1]), None)
    if slashed is not None:  # team "y" of "prod/x" and team "x/y" of "prod" were one node, team:prod/x/y
        raise InputError(f"service {slashed!r}: environment {groups[slashed][1]!r} holds '/', which separates the "
                         "environment from the team in the fleet's node ids (team:ENVIRONMENT/TEAM); rename it")  # fmt: skip
    envs = sorted({groups[s][1] for s in services})
    teams = sorted({(groups[s][1], groups[s][0]) for s in services})
    nodes = [Node(ALL, "all", ALL, None)]
    nodes += [Node(f"environment:{e}", "environment", e, ALL) for e in envs]
    nodes += [Node(f"team:{e}/{t}", "team", t, f"environment:{e}") for e, t in teams]
    nodes += [Node(f"service:{s}", "service", s, f"team:{groups[s][1]}/{groups[s][0]}") for s in services]
    index = {n.id: i for i, n in enumerate(nodes)}
    summing = np.zeros((len(nodes), len(services)))
    for j, s in enumerate(services):
        team, env = groups[s]
        for node_id in (ALL, f"environment:{env}", f"team:{env}/{team}", f"service:{s}"):
            summing[index[node_id], j] = 1.0
    return nodes, summing


def shrunk_covariance(errors: np.ndarray) -> tuple[np.ndarray, float]:
    """Schäfer–Strimmer shrinkage of the error covariance towards its diagonal: (matrix, intensity λ in [0, 1]).

    ``errors``: samples × nodes. λ = Σ_{i≠j} Var(r_ij) / Σ_{i≠j} r_ij² on the correlations of the standardised
    errors, Var(r_ij) = n / (n−1)³ · Σ_k (w_kij − w̄_ij)², w_kij = x_ki x_kj (Schäfer & Strimmer 2005, Appendix A),
    computed with two m×m products instead of the n×m×m array."""
    n = errors.shape[0]
    centred = errors - errors.mean(axis=0)
    sd = np.sqrt(np.sum(centred**2, axis=0) / max(n - 1, 1))
    sd = np.where(sd > 0, sd, 1.0)
    x = centred / sd
    w_bar = x.T @ x / n
    corr = w_bar * n / max(n - 1, 1)
    squares = (x**2).T @ (x**2)
    var_r = n / max(n - 1, 1) ** 3 * (squares - n * w_bar**2)
    off = ~np.eye(errors.shape[1], dtype=bool)
    denominator = float(np.sum(corr[off] ** 2))
    lam = float(np.clip(np.sum(var_r[off]) / denominator, 0.0, 1.0)) if denominator > 0 else 1.0
    shrunk_corr = np.where(off, (1 - lam) * corr, 1.0)
    return shrunk_corr * np.outer(sd, sd), lam


def projection(summing: np.ndarray, method: str, errors: np.ndarray | None) -> tuple[np.ndarray, float | None]:
    """P (services × nodes) of the method; ``errors`` (samples × nodes) for wls and mint_shrink."""
    m, b = summing.shape
    if method == "bottom_up":
        return np.hstack([np.zeros((b, m - b)), np.eye(b)]), None
    lam = None
    if method == "ols" or errors is None or len(errors) < 2:
        w = np.eye(m)
    else:
        variance = np.var(errors, axis=0, ddof=1)
        floor = 1e-6 * max(float(np.max(variance)), 1e-12)
        if method == "wls":
            w = np.diag(np.maximum(variance, floor))
        else:
            w, lam = shrunk_covariance(errors)
            w = w + floor * np.eye(m)
    w_inv_s = np.linalg.solve(w, summing)  # W⁻¹S (W symmetric)
    return np.linalg.solve(summing.T @ w_inv_s, w_inv_s.T), lam


def reconcile(base: np.ndarray, summing: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Coherent forecasts (nodes × steps): services ``P·base`` clipped at zero, summed by ``S``."""
    return np.asarray(summing @ np.clip(p @ base, 0.0, None))


def align(hist: Any) -> Any:
    """A History's services as one wide frame (time × service) on one regular axis, 0 where a service has no row."""
    import pandas as pd  # type: ignore[import-untyped]

    wide = hist.frame.pivot_table(index="ds", columns="unique_id", values="y", aggfunc="sum")
    wide.columns = [str(c) for c in wide.columns]
    return wide.reindex(pd.date_range(wide.index[0], wide.index[-1], freq=hist.freq)).fillna(0.0)


def forecast_hierarchy(
    history: Any,
    horizon: str | int,
    groups: Mapping[str, tuple[str, str]],
    *,
    method: str = "bottom_up",
    level: tuple[int, ...] | list[int] = (80, 95),
    freq: str | None = None,
    n_jobs: int = -1,
) -> HierarchyForecast:
    """Forecast every service of ``history`` and every team, environment and fleet total, reconciled by ``method``.

    ``groups`` maps each service id to (team, environment). Services are aligned on one time axis; a service has 0
    requests before its first sample (it did not exist) and in gaps of the union. The fit window is the last
    ``fit_points`` steps, as for single services.
    """
    from . import _as_history, _levels, _require, parse_horizon

    _require()
    if method not in METHODS:
        raise InputError(f"unknown reconciliation method {method!r}; accepted: {', '.join(METHODS)}")
    levels = _levels(level)
    hist = _as_history(history, freq)
    steps = parse_horizon(horizon, hist.freq)
    from .ensemble import _timestamps
    from .fast import forecast_many
    from .history import step_seconds
    from .seasonality import plan_series
    from .steps import fit_points

    wide = align(hist).iloc[-fit_points(step_seconds(hist.freq)) :]
    services = [str(c) for c in wide.columns]
    nodes, summing = build_tree(services, groups)
    series = summing @ wide.to_numpy(dtype=float).T  # nodes × time
    stamps = _timestamps(wide.index[-1], hist.freq, steps)
    plan = plan_series(series[0], step_seconds(hist.freq), steps)
    jobs, constant = [], {}
    for i, node in enumerate(nodes):
        y = series[i]
        if float(np.ptp(y)) == 0.0:
            constant[i] = float(y[-1])
            continue
        own = replace(plan, warnings=[*hist.warnings, *plan.warnings])
        jobs.append((node.id, y, stamps, hist.freq, own, levels))
    fitted = dict(zip([j[0] for j in jobs], forecast_many(jobs, n_jobs, residuals=True), strict=True))
    shape = next(iter(fitted.values()))[1].shape if fitted else (0, 0)
    base = np.zeros((len(nodes), steps))
    errors = np.zeros((len(nodes), *shape))
    results: dict[str, ForecastResult] = {}
    for i, node in enumerate(nodes):
        if i in constant:
            results[node.id] = _flat(node.id, constant[i], stamps, hist.freq, levels, len(series[i]))
            base[i] = constant[i]
            continue
        result, error = fitted[node.id]
        results[node.id] = result
        base[i] = [p.mean for p in result.forecast]
        errors[i] = error
    near = errors[:, :, :ERROR_STEPS].reshape(len(nodes), -1).T  # samples × nodes
    near = near[np.isfinite(near).all(axis=1)]
    p, lam = projection(summing, method, near)
    coherent = reconcile(base, summing, p)
    out = {}
    for i, node in enumerate(nodes):
        note = f"reconciled ({method}): mean {_moved(base[i], coherent[i])} the node's own forecast"
        out[node.id] = _recentred(results[node.id], coherent[i], note)
    return HierarchyForecast(nodes, out, method, lam, {n.id: base[i].tolist() for i, n in enumerate(nodes)})


def _moved(before: np.ndarray, after: np.ndarray) -> str:
    total = float(np.sum(before))
    if total <= 0:
        return "set from its children, not"
    change = float(np.sum(after)) / total - 1
    return f"{change:+.1%} against"


def _recentred(result: ForecastResult, mean: np.ndarray, note: str) -> ForecastResult:
    """The result with its mean replaced and each band's log offsets from the old mean kept."""
    points = []
    for p, m in zip(result.forecast, mean, strict=True):
        old = math.log1p(max(p.mean, 0.0))
        new = math.log1p(max(float(m), 0.0))
        lo = {lv: max(0.0, math.expm1(new + math.log1p(max(v, 0.0)) - old)) for lv, v in p.lo.items()}
        hi = {lv: math.expm1(new + math.log1p(max(v, 0.0)) - old) for lv, v in p.hi.items()}
        lo = {lv: min(v, float(m)) for lv, v in lo.items()}
        hi = {lv: max(v, float(m)) for lv, v in hi.items()}
        points.append(ForecastPoint(p.timestamp, float(m), lo, hi))
    return replace(result, forecast=points, warnings=[*result.warnings, note])


def _flat(uid: str, value: float, stamps: list[str], freq: str, levels: tuple[int, ...], n: int) -> ForecastResult:
    from .result import Backtest

    points = [ForecastPoint(t, value, dict.fromkeys(levels, value), dict.fromkeys(levels, value)) for t in stamps]
    backtest = Backtest(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, dict.fromkeys(levels, None), 0, 0, 1)  # not checked
    note = f"history is constant ({value:g}): forecast flat, zero-width intervals"
    return ForecastResult(uid, freq, points, backtest, [], [], "constant", n, warnings=[note])
