"""Kernel-generation ("era") factors for ``scripts/calibrate.py``: ``[eras.<name>]`` of calibration.toml.

An engine release older than its first FlashMLA/DeepGEMM-class release runs MLA + MoE models (DeepSeek-V3/R1) on
the early Triton kernels (core.engine_era.EARLY_MLA_MOE; the thresholds are ``mla_moe_kernels_since`` in engines.toml).
Those rows are kept out of the main fit (FIT_EXCLUDE: one engine factor per engine cannot describe two kernel
generations) and fitted here, after it, with every main parameter fixed: four multiplicative factors on top of
the engine's (core.perf.EngineFactors: HBM fractions, the prefill compute fraction, per-step/per-layer host costs,
the closed-loop wave share), shared by every engine and GPU of the era. The held-out check is leave-one-engine-out inside the era's rows (all of one
published source today, so leave-one-source-out cannot test it): fit on two engines, predict the third.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np
from calibration_report import SOLVER_OPTIONS  # the sibling module (scripts/ is on sys.path, as calibrate.py sets)
from scipy.optimize import least_squares

from gpucast.core.engine_era import EARLY_MLA_MOE
from gpucast.core.perf import Efficiency, EngineFactors
from gpucast.validation.inference import Group, metric_value, operating

# sources whose rows fix an era's factors (their other rows, if any, are not era rows and stay out of every fit)
ERA_SOURCES = {EARLY_MLA_MOE: ("dstack-deepseek-r1-h200-mi300x-2025-03",)}
# The era's compute factor is on prefill only (``prefill_scale``; ``compute_scale``, decode's, stays 1): fitted with a
# decode compute factor too, that one lands on its prior (1.00) while prefill's falls to 0.09 — the early kernels
# were slow at the prompt's MLA attention and large block-FP8/MoE GEMMs, while decode steps, bound by weight reads
# and host costs, are not compute-bound. One shared compute factor (0.16) made the TPOT grow from 4 to 64 requests
# 1.4-2.2x as much as measured (now 1.0-1.7x) and prefill less slow than the measured TTFT (era in-sample median TPOT
# error 21% -> 16%, TTFT 42% -> 22%).
ERA_BOUNDS = {
    "bandwidth_scale": (0.2, 1.5),
    "prefill_scale": (0.05, 1.5),
    "overhead_scale": (0.33, 30.0),
    "wave_scale": (
        0.33,
        2.5,
    ),  # the main fit's share (about 0.4) x 2.5: all prompts in waves; beyond, the share is capped (flat)
}
ERA_PRIOR_SIGMA = 1.0  # weak log-space pull towards 1 (the current kernels): factor e at one sigma


def era_groups(groups: Sequence[Group], era: str) -> list[Group]:
    """The groups whose rows fit ``era``: the era's own rows of its ERA_SOURCES."""
    return [g for g in groups if g.era == era and g.source in ERA_SOURCES.get(era, ())]


def _effs(group: Group, base: Callable[[Group], Efficiency], factors: EngineFactors) -> Efficiency:
    return factors.apply(base(group))


def _residuals(x: np.ndarray, groups: Sequence[Group], base: Callable[[Group], Efficiency]) -> np.ndarray:
    factors = EngineFactors(**dict(zip(ERA_BOUNDS, map(float, x), strict=True)))
    res = []
    for group in groups:
        point = operating(group, _effs(group, base, factors))
        res += [math.log(max(metric_value(group, point, t.metric), 1e-12) / t.value) for t in group.targets]
    res += [math.log(value) / ERA_PRIOR_SIGMA for value in x]
    return np.array(res)


def fit_era(groups: Sequence[Group], base: Callable[[Group], Efficiency]) -> EngineFactors:
    """Least squares (soft-L1 on log predicted/measured) of the era factors; ``base`` gives a group's efficiency
    without them (the main fit's family values with its engine factors). Deterministic: one fixed start."""
    low, high = (np.array(side, dtype=float) for side in zip(*ERA_BOUNDS.values(), strict=True))
    result = least_squares(
        _residuals,
        np.clip(np.ones(len(ERA_BOUNDS)), low, high),
        bounds=(low, high),
        args=(groups, base),
        x_scale=high - low,
        max_nfev=400,
        **SOLVER_OPTIONS,  # soft-L1, as the main fit
    )
    return EngineFactors(**dict(zip(ERA_BOUNDS, map(float, result.x), strict=True)))


def predict(
    groups: Sequence[Group], base: Callable[[Group], Efficiency], factors: EngineFactors
) -> list[tuple[Group, str, float, float]]:
    """(group, metric, predicted, measured) with the era factors applied."""
    out = []
    for group in groups:
        point = operating(group, _effs(group, base, factors))
        out += [(group, t.metric, metric_value(group, point, t.metric), t.value) for t in group.targets]
    return out


def leave_one_engine_out(
    groups: Sequence[Group], base: Callable[[Group], Efficiency], log: Callable[[str], None] = print
) -> list[tuple[Group, str, float, float]]:
    """Fit on the era rows of the other engines, predict each engine's: the era's held-out check."""
    pairs: list[tuple[Group, str, float, float]] = []
    for engine in sorted({g.engine for g in groups}):
        train = [g for g in groups if g.engine != engine]
        held = [g for g in groups if g.engine == engine]
        if not train:
            continue
        factors = fit_era(train, base)
        held_pairs = predict(held, base, factors)
        pairs += held_pairs
        median = float(np.median([abs(p / m - 1) * 100 for _, _, p, m in held_pairs]))
        values = ", ".join(f"{k} {v:.3g}" for k, v in dataclasses.asdict(factors).items())
        log(f"  without {engine:<8} {len(held_pairs):>4} rows held out: median {median:6.1f}%  ({values})")
    return pairs


def era_values(eras: dict[str, EngineFactors]) -> dict[str, dict[str, float]]:
    """Rounded [eras.*] tables (3 significant digits, as the other tables)."""
    return {
        era: {
            key: float(f"{value:.3g}")
            for key, value in dataclasses.asdict(factors).items()
            if key in ERA_BOUNDS or key == "compute_scale"  # not the engine's front end (the era has none of its own)
        }
        for era, factors in eras.items()
    }


def era_lines(eras: dict[str, EngineFactors], fmt: Callable[[float], str]) -> list[str]:
    lines = []
    for era, values in era_values(eras).items():
        lines += ["", f"[eras.{era}]"]
        lines += [f"{key} = {fmt(value)}" for key, value in values.items()]
    return lines
