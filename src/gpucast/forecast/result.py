"""The forecast's result types: plain dataclasses, standard library only.

They live apart from the fitting code so that scenarios, renderers and the web layer can handle a forecast
without importing pandas or statsforecast (which cost ~1.3 s to import).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InputError


def _round(value: float | None, digits: int = 4) -> float | None:
    """JSON-friendly numbers: NaN/inf become None (JSON has no NaN), others keep 4 decimals."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


@dataclass(frozen=True)
class ForecastPoint:
    """One forecast step: the point forecast and the interval bounds per level (e.g. ``lo[80]``, ``hi[95]``)."""

    timestamp: str  # ISO 8601, UTC, e.g. "2024-03-01T13:00:00Z"
    mean: float
    lo: dict[int, float]
    hi: dict[int, float]

    def _bound(self, side: dict[int, float], level: int) -> float:
        if level not in side:
            raise InputError(f"interval level {level} was not requested; levels: {sorted(side)}")
        return side[level]

    @property
    def lo80(self) -> float:
        return self._bound(self.lo, 80)

    @property
    def hi80(self) -> float:
        return self._bound(self.hi, 80)

    @property
    def lo95(self) -> float:
        return self._bound(self.lo, 95)

    @property
    def hi95(self) -> float:
        return self._bound(self.hi, 95)

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"timestamp": self.timestamp, "mean": _round(self.mean)}
        for level in sorted(self.lo):
            row[f"lo{level}"] = _round(self.lo[level])
            row[f"hi{level}"] = _round(self.hi[level])
        return row


@dataclass(frozen=True)
class CoverageSpan:
    """Achieved coverage of the last backtest on steps ``first``–``last`` ahead (1-based, inclusive): ``cells``
    held-out points from up to ``origins`` past origins, ``coverage`` per interval level (None: none observed)."""

    first: int
    last: int
    origins: int
    cells: int
    coverage: dict[int, float | None]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"steps": f"{self.first}-{self.last}", "first": self.first, "last": self.last,
                               "origins": self.origins, "cells": self.cells}  # fmt: skip
        for level, value in sorted(self.coverage.items()):
            out[f"coverage{level}"] = _round(value)
        return out


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin backtest figures of the ensemble and of the SeasonalNaive baseline.

    MASE is scaled by the in-sample MAE of the seasonal-naive forecast (season ``baseline_season``) on the fit
    window; sMAPE is in percent (0–200). ``coverage`` maps an interval level to the share of held-out points inside
    that interval, each fold's interval calibrated on the *other* folds (cross-conformal), so it is an honest check.
    Values are None when undefined (constant history, no backtest possible).

    Fast engine: ``coverage`` is pooled over every observed step of the whole forecast horizon
    (``coverage_horizon`` steps; ``coverage_checked_steps`` of them observed at some past origin), each band
    calibrated only on what was known at its origin (``forecast/coverage.py``); ``coverage_by_steps`` splits it by
    lead time. Statsforecast engine: ``coverage`` holds on the folds' ``fold_horizon`` steps only, and
    ``coverage_by_steps`` says so (one span, 1–fold_horizon).
    """

    mase: float | None
    smape: float | None
    mae: float | None
    baseline_mase: float | None
    baseline_smape: float | None
    baseline_mae: float | None
    coverage: dict[int, float | None]
    folds: int
    fold_horizon: int
    baseline_season: int
    # fast engine: ``folds`` counts the rolling origins; coverage is replayed on this many of the last ones (each
    # band calibrated only on what was observed before its origin). None for the statsforecast engine's folds.
    coverage_origins: int | None = None
    coverage_horizon: int | None = None  # steps ahead of the forecast the coverage is reported over
    coverage_checked_steps: int | None = None  # of those, the steps some past origin has observed (1..this)
    coverage_by_steps: list[CoverageSpan] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mase": _round(self.mase),
            "smape": _round(self.smape),
            "mae": _round(self.mae),
            "baseline_mase": _round(self.baseline_mase),
            "baseline_smape": _round(self.baseline_smape),
            "baseline_mae": _round(self.baseline_mae),
        }
        for level, value in sorted(self.coverage.items()):
            out[f"coverage{level}"] = _round(value)
        out.update(folds=self.folds, fold_horizon=self.fold_horizon, baseline_season=self.baseline_season)
        if self.coverage_origins is not None:
            out["coverage_origins"] = self.coverage_origins
        if self.coverage_horizon is not None:
            out["coverage_horizon"] = self.coverage_horizon
            out["coverage_checked_steps"] = self.coverage_checked_steps
            out["coverage_by_steps"] = [span.to_dict() for span in self.coverage_by_steps]
        return out


@dataclass(frozen=True)
class Member:
    """One ensemble member: its backtest MASE and its weight in the combination (0 when not used)."""

    name: str
    weight: float
    mase: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "weight": _round(self.weight), "mase": _round(self.mase)}


@dataclass(frozen=True)
class ForecastResult:
    """A load forecast for one series: points, backtest, members, and every repair or fallback as a warning."""

    unique_id: str
    freq: str  # pandas offset alias of the steps, e.g. "h", "5min", "D"
    forecast: list[ForecastPoint]
    backtest: Backtest
    members: list[Member]
    seasonalities: list[int]  # detected season lengths in steps, e.g. [24, 168]
    combination: str  # "median" | "weighted" | "single" | "constant"
    fit_points: int  # history points used for fitting (the capped window)
    scenario: str = "baseline"
    growth_rate: float = 0.0  # % per month overlay applied by the scenario
    warnings: list[str] = field(default_factory=list)
    # per-step forecast of the mean tokens per request, aligned with ``forecast`` (request logs with token columns
    # only): {"input_tokens": [...], "output_tokens": [...]}; SeasonalNaive on the per-bin means, not scenario-scaled
    tokens: dict[str, list[float]] = field(default_factory=dict)

    @property
    def levels(self) -> list[int]:
        return sorted(self.forecast[0].lo) if self.forecast else []

    def with_points(self, points: list[ForecastPoint], *, scenario: str, growth_rate: float) -> ForecastResult:
        """A copy with other points (used by scenarios; the backtest still describes the baseline model)."""
        return replace(self, forecast=points, scenario=scenario, growth_rate=growth_rate)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "unique_id": self.unique_id,
            "freq": self.freq,
            "scenario": self.scenario,
            "growth_rate": self.growth_rate,
            "forecast": [p.to_dict() for p in self.forecast],
            "backtest": self.backtest.to_dict(),
            "members": [m.to_dict() for m in self.members],
            "seasonalities": list(self.seasonalities),
            "combination": self.combination,
            "fit_points": self.fit_points,
            "warnings": list(self.warnings),
        }
        if self.tokens:
            out["tokens"] = {name: [_round(v) for v in values] for name, values in self.tokens.items()}
        return out
