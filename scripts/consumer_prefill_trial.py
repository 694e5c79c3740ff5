"""Issue 21: a prefill-only compute factor for GeForce cards, fitted after the main fit and checked held out.

Tried and not kept (docs/tail-latency.md, "Tried, not kept: a GeForce prefill factor"); kept as a script so the
figures can be reproduced, and the trial rerun once the model has what the rows also need (vLLM V1's front end,
the RTX 4090's decode bandwidth). The hypothesis: GeForce cards (RTX 3090/4090/5090) reach a larger share of their
datasheet tensor rate in prefill than the datacenter parts the global ``prefill_fraction`` was fitted on (their boost
clocks run above the datasheet's; datacenter parts power-throttle under dense GEMMs). Nothing in the main fit
changes: no fitted row is on a GeForce card (only start-up KV rows, which have no prefill).

The factor multiplies the prefill compute fraction on GeForce GPUs only (capped at 1: the whole datasheet rate),
leaving decode (bandwidth, decode compute) untouched. It is fitted, least squares on log(predicted / measured), on
the RTX 4090 mean-TTFT rows of IOG-Foundation's vLLM 0.8.5 sweep at 1 and 4 req/s (``FIT_RATES``: light enough
that TTFT is the prompt's prefill plus a share of a running decode step, not a queue; the 4090's KV pool is far
smaller than the sweep's replayed prompts, so they are cold). Their server is vLLM 0.8.5's V1 front end, a few ms,
not the 26.4 ms fitted on 2024 V0 builds that the model charges every vLLM: the fit charges ``FRONTEND_S`` (2.9 ms,
the median gap of the same sweep's H100 PCIe rows at 1 req/s, docs/tail-latency.md "Tried, not kept: vLLM's front
end per engine generation") and shows the fit under 0 and 26.4 ms too. The held-out check is the RTX 3090 percentile
source (``scripts/percentile_table.py``) and every other percentile source (unchanged: none is a GeForce card).

    python scripts/consumer_prefill_trial.py
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import percentile_table  # the sibling script (scripts/ is on sys.path when run as a script)
from scipy.optimize import minimize_scalar

import gpucast.validation.inference as inference
from gpucast.core.perf import Efficiency
from gpucast.core.specs import GPUSpec

ROOT = Path(__file__).resolve().parents[1]
IOG = ROOT / "data" / "benchmarks" / "unfitted" / "iog_consumer_vllm085.csv"
CONSUMER_GPUS = ("rtx-3090", "rtx-4090", "rtx-5090")  # the GeForce cards of the catalog
FIT_GPU = "rtx-4090"
FIT_RATES = (1.0, 4.0)  # req/s: the sweep's light loads
FRONTEND_S = 0.0029  # vLLM 0.8.5 (V1) front end assumed for the IOG rows, seconds
SENSITIVITY_S = (0.0, 0.0264)  # no front end, and the V0 value the model charges every vLLM
SWEEP = (1.1, 1.2, 1.3, 1.43)  # scales below the fitted one, to see whether any passes


def scaled(eff: Efficiency, scale: float) -> Efficiency:
    """``eff`` with its prefill compute fraction scaled (at most 1: the datasheet rate)."""
    return dataclasses.replace(eff, prefill_fraction=min(1.0, eff.prefill_fraction * scale))


def fit_groups() -> list[inference.Group]:
    groups, _ = inference.prepare(inference.read_rows(IOG), IOG.parent)
    return [
        g
        for g in groups
        if g.cfg.gpu.id == FIT_GPU and g.load_value in FIT_RATES and any(t.metric == "ttft_ms" for t in g.targets)
    ]


def predictions(groups: list[inference.Group], scale: float, frontend_s: float) -> list[tuple[str, float, float]]:
    """(row id, predicted, measured ms) of the groups' TTFT rows."""
    out = []
    for group in groups:
        eff = dataclasses.replace(scaled(group.cfg.efficiency, scale), frontend_s=frontend_s)
        point = inference.operating(group, eff)
        out += [
            (t.row_id, inference.metric_value(group, point, t.metric), t.value)
            for t in group.targets
            if t.metric == "ttft_ms"
        ]
    return out


def fit(groups: list[inference.Group], frontend_s: float) -> float:
    """The scale (3 significant digits) between 0.5 and the one that puts the rows' prefill at the datasheet rate."""
    cap = 1.0 / min(g.cfg.efficiency.prefill_fraction for g in groups)

    def cost(scale: float) -> float:
        return sum(math.log(p / m) ** 2 for _, p, m in predictions(groups, scale, frontend_s))

    result = minimize_scalar(cost, bounds=(0.5, cap), method="bounded", options={"xatol": 1e-4})
    return float(f"{min(float(result.x), cap):.3g}")


@contextlib.contextmanager
def consumer_scale(scale: float) -> Iterator[None]:
    """Every efficiency ``validate`` looks up for a GeForce GPU with the factor applied (what the core change, a
    GPU segment and the factor in ``core.perf.prefill_time``, does to these rows: prefill_fraction is read there
    only), without changing the package."""
    original = inference.efficiency_for

    def patched(gpu: GPUSpec, *args: Any, **kwargs: Any) -> Efficiency:
        eff = original(gpu, *args, **kwargs)
        return scaled(eff, scale) if gpu.id in CONSUMER_GPUS else eff

    with mock.patch.object(inference, "efficiency_for", patched):
        yield


def summary(scale: float) -> list[str]:
    """The percentile table's header, RTX 3090 source, pooled and median-of-sources lines under ``scale``."""
    buffer = io.StringIO()
    with consumer_scale(scale), contextlib.redirect_stdout(buffer):
        percentile_table.main()
    lines = buffer.getvalue().splitlines()
    keep = ("| source", "| `zhjunqin", "| all (rows pooled)", "| median of the per-source")
    return [line for line in lines[: lines.index("")] if line.startswith(keep)]


def main() -> None:
    groups = fit_groups()
    scale = fit(groups, FRONTEND_S)
    print(f"fitted on {FIT_GPU} TTFT rows at {FIT_RATES} req/s, front end {FRONTEND_S * 1e3:.1f} ms: scale {scale}")
    for row_id, before, measured in predictions(groups, 1.0, FRONTEND_S):
        after = next(p for r, p, _ in predictions(groups, scale, FRONTEND_S) if r == row_id)
        print(f"  {row_id}: measured {measured:.1f} ms, predicted {before:.1f} -> {after:.1f} ms")
    for frontend in SENSITIVITY_S:
        print(f"front end {frontend * 1e3:.1f} ms: scale {fit(groups, frontend)}")
    for label, value in [("before (no factor)", 1.0), (f"fitted {scale}", scale)] + [(f"{s}", s) for s in SWEEP]:
        print(f"\n{label}:")
        print("\n".join(summary(value)))


if __name__ == "__main__":
    main()
