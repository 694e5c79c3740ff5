"""The parameter space scripts/calibrate.py fits: bounds, priors, the fixed start and the vector's layout.

Kept apart from the fit loop so that each file has one job: what is fitted and within which physical bounds here,
how it is fitted and reported in calibrate.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from calibrate_frontend import frontend_for

from gpucast.core.perf import Efficiency, EngineFactors

# ---------------------------------------------------------------------------------------------- fit settings
FRACTION_BOUNDS = (0.2, 0.95)
OVERHEAD_BOUNDS_MS = (0.5, 20.0)
SEQUENCE_OVERHEAD_BOUNDS_US = (0.1, 300.0)  # per sequence per decode step
SERIAL_BOUNDS = (0.01, 1.0)  # share of min(memory, compute) of a lone prefill pass not overlapped
ALLREDUCE_BOUNDS_US = (3.0, 50.0)
MOE_LAYER_BOUNDS_US = (0.1, 500.0)  # per MoE layer per forward pass
MOE_PREFILL_LAYER_BOUNDS_US = (0.1, 5000.0)  # per MoE layer of a (eager) prefill pass
EXPERT_SCALE_BOUNDS = (0.05, 1.5)  # grouped-GEMM compute relative to the dense GEMMs
WAVE_BOUNDS = (0.01, 1.0)  # share of a closed-loop benchmark's prompts arriving in synchronized waves
PRIOR_SIGMA = 0.25  # log-space spread of family bandwidth/compute fractions around [defaults]
START_SIGMA = 1.0  # very weak log-space pull of the global parameters towards START (keeps unidentified ones sane)
MIN_FAMILY_ROWS = 10  # a family gets its own table only with at least this many fitted rows
# Engine factors (core.perf.EngineFactors): TensorRT-LLM is the reference (factors 1, so the family fractions
# stay identifiable); another engine gets its own factors with at least MIN_ENGINE_ROWS fitted rows, each tied
# to 1 by a weak log-normal prior (ENGINE_PRIOR_SIGMA).
REFERENCE_ENGINE = "trtllm"
MIN_ENGINE_ROWS = 20
ENGINE_PRIOR_SIGMA = 0.3
ENGINE_BOUNDS = {"bandwidth_scale": (0.5, 1.5), "compute_scale": (0.5, 1.5), "overhead_scale": (0.33, 3.0)}
# fixed starting point: the dataclass defaults, and 10 us per sequence per step (the dataclass default is 0,
# "not modelled", which a log-space prior cannot start from)
START = dataclasses.replace(
    Efficiency(),
    sequence_overhead_s=10e-6,
    prefill_serial_fraction=0.5,
    moe_layer_overhead_s=10e-6,
    moe_prefill_layer_overhead_s=100e-6,
    closed_loop_wave_fraction=0.3,
)
# Deterministic multi-start over (bandwidth_fraction, compute_fraction); the other parameters start at START.
STARTS = ((START.bandwidth_fraction, START.compute_fraction), (0.75, 0.4), (0.6, 0.3))


# ---------------------------------------------------------------------------------------------- parameters
# Sources kept out of the fit (still reported by `gpucast validate`), each with the reason.
FIT_EXCLUDE = {
    "SGLang-benchmark_dsv3-README": "server saturated already at 1 req/s (median TPOT 140-680 ms): a misconfigured "
    "run (data/benchmarks/README.md), not the engine's capacity",
    "dstack-deepseek-r1-h200-mi300x-2025-03": "early-2025 DeepSeek MLA/MoE kernels (SGLang 0.4.2-0.4.3, vLLM 0.7, "
    "TensorRT-LLM 0.17 PyTorch preview): fitted after the main fit as the [eras.early-mla-moe] factors "
    "(calibrate_eras.py), not into the per-engine factors the current engine versions use",
    "dstack-llama405b-h100-mi300x-2024-12": "Meta's Llama-3.1-405B FP8 checkpoint quantizes only the MLP weights "
    "(attention stays BF16; the source's log shows 56.8 GB loaded per GPU against 47.7 GiB for all-linear FP8), a "
    "layout gpucast's FP8 precision does not describe, so its KV capacity and large-batch rows are off by design",
}
NG = 12  # global parameters: bandwidth, compute, prefill, overhead, all-reduce latency, KV bandwidth, per-sequence,
# prefill serial share, per-MoE-layer overhead (decode, prefill), grouped-GEMM compute scale, closed-loop wave share


@dataclass(frozen=True)
class Space:
    """Layout of the fitted vector: the global entries, (bandwidth, compute) per family, then the
    ENGINE_BOUNDS factors per engine."""

    families: tuple[str, ...]
    engines: tuple[str, ...] = ()
    frontend: float = 0.0  # fixed, not fitted here: FRONTEND_ENGINES' server front end (calibrate_frontend.py)

    GLOBAL = (
        "bandwidth_fraction",
        "compute_fraction",
        "prefill_fraction",
        "step_overhead_ms",
        "allreduce_latency_us",
        "kv_bandwidth_fraction",
        "sequence_overhead_us",
        "prefill_serial_fraction",
        "moe_layer_overhead_us",
        "moe_prefill_layer_overhead_us",
        "expert_compute_scale",
        "closed_loop_wave_fraction",
    )

    @property
    def names(self) -> list[str]:
        names = list(self.GLOBAL)
        for family in self.families:
            names += [f"{family}.bandwidth_fraction", f"{family}.compute_fraction"]
        for engine in self.engines:
            names += [f"{engine}.{name}" for name in ENGINE_BOUNDS]
        return names

    @property
    def engine_offset(self) -> int:
        return NG + 2 * len(self.families)

    def start(self) -> np.ndarray:
        head = [
            START.bandwidth_fraction,
            START.compute_fraction,
            START.prefill_fraction,
            START.step_overhead_s * 1e3,
            START.allreduce_latency_s * 1e6,
            START.kv_bandwidth_fraction,
            START.sequence_overhead_s * 1e6,
            START.prefill_serial_fraction,
            START.moe_layer_overhead_s * 1e6,
            START.moe_prefill_layer_overhead_s * 1e6,
            START.expert_compute_scale,
            START.closed_loop_wave_fraction,
        ]
        families = [START.bandwidth_fraction, START.compute_fraction] * len(self.families)
        return np.array(head + families + [1.0] * (len(ENGINE_BOUNDS) * len(self.engines)))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        pairs = [FRACTION_BOUNDS] * 3 + [OVERHEAD_BOUNDS_MS, ALLREDUCE_BOUNDS_US, FRACTION_BOUNDS]
        pairs.append(SEQUENCE_OVERHEAD_BOUNDS_US)
        pairs.append(SERIAL_BOUNDS)
        pairs += [MOE_LAYER_BOUNDS_US, MOE_PREFILL_LAYER_BOUNDS_US, EXPERT_SCALE_BOUNDS, WAVE_BOUNDS]
        pairs += [FRACTION_BOUNDS] * (2 * len(self.families))
        pairs += list(ENGINE_BOUNDS.values()) * len(self.engines)
        low, high = zip(*pairs, strict=True)
        return np.array(low, dtype=float), np.array(high, dtype=float)

    def efficiencies(self, x: Sequence[float], source: str = "calibrate.py") -> dict[str, Efficiency]:
        """{'default': ..., family: ...} as the loader builds them from calibration.toml."""
        base = Efficiency(
            bandwidth_fraction=float(x[0]),
            compute_fraction=float(x[1]),
            prefill_fraction=float(x[2]),
            step_overhead_s=float(x[3]) * 1e-3,
            allreduce_latency_s=float(x[4]) * 1e-6,
            kv_bandwidth_fraction=float(x[5]),
            sequence_overhead_s=float(x[6]) * 1e-6,
            prefill_serial_fraction=float(x[7]),
            moe_layer_overhead_s=float(x[8]) * 1e-6,
            moe_prefill_layer_overhead_s=float(x[9]) * 1e-6,
            expert_compute_scale=float(x[10]),
            closed_loop_wave_fraction=float(x[11]),
            interconnect_fraction=START.interconnect_fraction,
            source=source,
        )
        result = {"default": base}
        for index, family in enumerate(self.families):
            bw, compute = x[NG + 2 * index], x[NG + 1 + 2 * index]
            result[family] = dataclasses.replace(base, bandwidth_fraction=float(bw), compute_fraction=float(compute))
        return result

    def engine_factors(self, x: Sequence[float]) -> dict[str, EngineFactors]:
        """{engine id: factors} for the fitted engines (the others, incl. the reference, are unscaled)."""
        width = len(ENGINE_BOUNDS)
        return {
            engine: EngineFactors(
                **dict(zip(ENGINE_BOUNDS, map(float, x[start : start + width]), strict=True)),
                frontend_s=frontend_for(engine, self.frontend),
            )
            for engine, start in zip(self.engines, range(self.engine_offset, len(x), width), strict=False)
        }
