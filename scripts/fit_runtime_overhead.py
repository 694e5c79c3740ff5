"""Fit each engine's runtime overhead per GPU (``runtime_overhead_gib`` in engines.toml) to start-up logs.

A serving engine logs, when it starts, the KV cache it allocated (``data/benchmarks/kv_capacity.csv``: load
``startup``, metric ``kv_cache_tokens``; provenance and caveats per row in data/benchmarks/README.md). gpucast's
memory model (``core.memory.kv_cache_bytes``) charges the runtime overhead to the KV cache:

- vLLM ("total"):    KV = fraction x total - weights - activation peak - overhead
- SGLang ("static"): KV = fraction x total - weights - overhead (activations and CUDA graphs live outside the
  fraction; the overhead is what the static fraction holds besides weights and the pool: the CUDA context and
  communication buffers already allocated when SGLang measures the memory left after loading the weights)
- TensorRT-LLM ("free"): KV = fraction x (total - weights - activation peak - overhead)

so each logged KV size gives the overhead that makes gpucast allocate exactly that cache. The solve calls gpucast's
own ``estimate_memory`` (weights, activation peak, KV bytes per token, the engine's policy) at overhead 0 and 1 GiB:
KV is linear in the overhead, so ``overhead = (KV at 0 - logged KV) / (KV at 0 - KV at 1 GiB)``. The overhead is
therefore a residual of the model: whatever the engine sets aside beyond gpucast's weights and activation estimate
(CUDA context, CUDA graphs, NCCL/custom all-reduce buffers, workspaces, profiler slack).

Fit: an engine's value is the **median** of its rows' implied overheads (robust to one odd log; with identical
weights per row a least-squares fit would be their mean), rounded to ROUND_GIB. Rows in EXCLUDE are printed with their
implied value but not fitted. Engines without a start-up row keep their engines.toml value (printed as "kept").

Per GPU vendor (``runtime_overhead_by_vendor``): vLLM builds before 0.6.4 charge, besides the allocated peak, what the
device holds after the profiling run, and that differs by platform: the ROCm logs of kv_capacity.csv leave 2.8 GiB,
while the CUDA logs of V0 builds (``data/benchmarks/kv_capacity_logs.csv``, LOGS: the version-tagged rows of the vLLM
builds whose profiler charges this overhead) leave about 1 GiB. For an engine whose fitted rows come from more than one
GPU vendor, each vendor gets the median of its own rows (both files); the engine's single value stays the median of
kv_capacity.csv. The other engines' rows of the logs file test pool sizing (SGLang's DSA indexer) and are not read.

    python scripts/fit_runtime_overhead.py            # per-row implied overhead and the fit
    python scripts/fit_runtime_overhead.py --check    # exit 1 if engines.toml differs from the fit
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gpucast.catalog.loader import load_engines, resolve_gpu, resolve_model
from gpucast.core.engine_releases import replica_memory
from gpucast.core.memory import MemorySettings, estimate_memory
from gpucast.core.specs import GIB, GPUSpec, ModelSpec, Precision
from gpucast.inputs.types import parse_precision
from gpucast.validation.builds import build_settings
from gpucast.validation.inference import read_rows
from gpucast.validation.row_fields import engine_settings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "data" / "benchmarks" / "kv_capacity.csv"
LOGS = REPO / "data" / "benchmarks" / "kv_capacity_logs.csv"
LOG_ENGINES = ("vllm",)  # engines whose version-tagged start-up logs enter the per-vendor fit
ROUND_GIB = 0.1  # engines.toml states the overhead to 0.1 GiB; finer would claim more than one log supports
# Rows kept out of the fit, each with the reason (their implied overhead is still printed).
EXCLUDE = {
    "kv-1": "a bug report, not a reference start-up: vllm-issue-21348 reports vLLM's cache as half of SGLang's on "
    "the same GPUs, a maintainer attributes it to a profiling change of that build (PR #19312: the profile runs "
    "before the available memory is computed), and the server ran a non-default LMCache KV connector "
    "(kv_both); its ~8 GiB is that build's profiler and connector, not the runtime overhead of a default deployment",
    "kvl-1": "Mixtral-8x7B AWQ on vLLM 0.2.7 at a 32,768-token profile: AWQ's split-K partial sums leave ~19.8 GiB in "
    "the allocator's cache (data/benchmarks/README.md), an activation peak gpucast does not model, not the runtime",
    "kvl-7": "a bug report: vllm-issue-2136 reports 0.2.5's 112 blocks as a profiling regression ('Both GPUs had ~8GB "
    "free VRAM after loading the model'); the same launch gets 1464 blocks on 0.2.3 and 0.2.4 (kvl-6)",
}


# A start-up row whose engine build charges something else than the fitted overhead (core.engine_releases.for_engine_build):
BUILD_EXCLUDED = "its engine build charges only the logged non-torch memory (vLLM 0.6.4+ and V1), not this overhead"


@dataclass(frozen=True)
class RowFit:
    """One start-up row and the runtime overhead per GPU that reproduces its logged KV cache."""

    row_id: str
    engine: str
    memory_mode: str
    model: str
    gpu: str
    vendor: str  # GPUSpec.vendor: the platform (CUDA, ROCm) whose runtime the overhead stands for
    tp: int
    fraction: float
    weights_gib: float  # per GPU
    activations_gib: float  # per GPU, gpucast's activation peak for the engine's token budget
    kv_logged_gib: float  # per GPU: logged tokens x KV bytes per token per GPU
    overhead_gib: float  # implied runtime overhead per GPU
    excluded: str = ""  # reason, when the row is kept out of the fit
    from_logs: bool = False  # a row of LOGS: fitted per vendor only, not into the engine's one value


def solve_overhead_gib(
    model: ModelSpec,
    gpu: GPUSpec,
    *,
    precision: Precision,
    kv_precision: Precision,
    tp: int,
    pp: int,
    settings: MemorySettings,
    kv_tokens: float,
) -> float:
    """The runtime overhead per GPU (GiB) at which ``estimate_memory`` allocates ``kv_tokens`` per replica."""

    def kv_gib(overhead_gib: float) -> tuple[float, float]:
        memory = estimate_memory(
            model, gpu, precision=precision, kv_precision=kv_precision, tp=tp, pp=pp,
            settings=dataclasses.replace(settings, runtime_overhead_gib=overhead_gib, runtime_overhead_by_vendor=()),
        )  # fmt: skip
        return memory.kv_cache_gib, memory.kv_bytes_per_token_per_gpu

    at_zero, per_token = kv_gib(0.0)
    slope = at_zero - kv_gib(1.0)[0]  # KV GiB lost per GiB of overhead: 1, or the fraction for "free"
    if slope <= 0:
        raise ValueError(f"memory mode {settings.memory_mode!r} does not charge the runtime overhead to the KV cache")
    return (at_zero - kv_tokens * per_token / GIB) / slope


def fit_row(row: dict[str, str], *, from_logs: bool = False) -> RowFit:
    """Resolve one CSV row (catalog names, the engine's policy and the fraction its notes state) and solve it."""
    model, gpu = resolve_model(row["model"]), resolve_gpu(row["gpu"])
    engine_id, settings, _ = engine_settings(row)
    engine = load_engines()[engine_id]
    model = engine.serves(model)
    build = build_settings(row, engine_id, settings)
    other_charge = build.overhead_gib(gpu.vendor) != settings.overhead_gib(gpu.vendor)  # vLLM 0.6.4+/V1: non-torch
    # as the replica's engine runs them: its step budget on this GPU, its default fraction for the layout (SGLang)
    replica = replica_memory(build, gpu, int(row["tp"]), int(row["pp"]), 1)
    settings = dataclasses.replace(replica, runtime_overhead_by_vendor=())
    precision = parse_precision(row["precision"])
    kv_text = row["kv_precision"].strip()
    kv_precision = parse_precision(kv_text, "kv_precision") if kv_text else engine.default_kv_precision(precision)
    tp, pp = int(row["tp"]), int(row["pp"])
    kv_tokens = float(row["value"])
    overhead = solve_overhead_gib(
        model, gpu, precision=precision, kv_precision=kv_precision, tp=tp, pp=pp, settings=settings, kv_tokens=kv_tokens
    )
    memory = estimate_memory(
        model, gpu, precision=precision, kv_precision=kv_precision, tp=tp, pp=pp, settings=settings
    )
    return RowFit(
        row_id=row["id"],
        engine=engine_id,
        memory_mode=settings.memory_mode,
        model=model.name,
        gpu=gpu.id,
        vendor=gpu.vendor,
        tp=tp,
        fraction=settings.gpu_memory_utilization,
        weights_gib=memory.weights_gib,
        activations_gib=memory.activations_gib,
        kv_logged_gib=kv_tokens * memory.kv_bytes_per_token_per_gpu / GIB,
        overhead_gib=overhead,
        excluded=EXCLUDE.get(row["id"], "") or (BUILD_EXCLUDED if other_charge else ""),
        from_logs=from_logs,
    )


def startup_rows(path: Path) -> list[dict[str, str]]:
    return [r for r in read_rows(path) if r["load"].strip() == "startup" and r["metric"].strip() == "kv_cache_tokens"]


def log_rows(path: Path = LOGS) -> list[dict[str, str]]:
    """The start-up logs of LOG_ENGINES in the logs file (its other rows test pool sizing, not the overhead)."""
    return [r for r in startup_rows(path) if r["engine"].split()[0].lower() in LOG_ENGINES]


def fit(rows: Sequence[RowFit]) -> dict[str, float]:
    """{engine id: median implied overhead (GiB), unrounded} over the rows of the data file not excluded."""
    by_engine: dict[str, list[float]] = {}
    for row in rows:
        if not row.excluded and not row.from_logs:
            by_engine.setdefault(row.engine, []).append(row.overhead_gib)
    return {engine: statistics.median(values) for engine, values in sorted(by_engine.items())}


def fit_by_vendor(rows: Sequence[RowFit]) -> dict[str, dict[str, float]]:
    """{engine id: {GPU vendor: median implied overhead}} for the engines whose fitted rows span vendors."""
    by_vendor: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        if not row.excluded:
            by_vendor.setdefault(row.engine, {}).setdefault(row.vendor, []).append(row.overhead_gib)
    return {
        engine: {vendor: statistics.median(values) for vendor, values in sorted(vendors.items())}
        for engine, vendors in sorted(by_vendor.items())
        if len(vendors) > 1
    }


def rounded(value: float) -> float:
    return round(round(value / ROUND_GIB) * ROUND_GIB, 3)


def report(rows: Sequence[RowFit], fitted: dict[str, float], path: Path) -> None:
    print(
        f"{path.name} (+ {LOGS.name}: {', '.join(LOG_ENGINES)}): {len(rows)} start-up rows (KV cache logged; GiB/GPU)"
    )
    print(
        f"  {'row':<5} {'engine':<7} {'mode':<7} {'model':<16} {'gpu':<11} {'TP':>2} {'frac':>5} {'weights':>8} "
        f"{'activ.':>7} {'KV log':>8} {'overhead':>9}"
    )
    for r in rows:
        print(
            f"  {r.row_id:<5} {r.engine:<7} {r.memory_mode:<7} {r.model:<16} {r.gpu:<11} {r.tp:>2} {r.fraction:>5.2f} "
            f"{r.weights_gib:>8.2f} {r.activations_gib:>7.2f} {r.kv_logged_gib:>8.2f} {r.overhead_gib:>9.2f}"
            + ("  EXCLUDED" if r.excluded else "")
        )
    for r in rows:
        if r.excluded:
            if r.from_logs:  # its fit: the engine's rows on the row's vendor (both files)
                group, scope = [x for x in rows if x.engine == r.engine and x.vendor == r.vendor], f" on {r.vendor}"
            else:
                group, scope = [x for x in rows if x.engine == r.engine and not x.from_logs], ""
            same = [x.overhead_gib for x in group if x is r or not x.excluded]
            print(
                f"  excluded {r.row_id}: {r.excluded} (with it, {r.engine}'s median{scope} would be "
                f"{statistics.median(same):.2f} GiB, the mean {statistics.mean(same):.2f} GiB)"
            )
    print(
        f"\nfit: median implied overhead per engine, rounded to {ROUND_GIB:g} GiB (engines.toml runtime_overhead_gib)"
    )
    engines = load_engines()
    for engine_id, spec in engines.items():
        used = [r.row_id for r in rows if r.engine == engine_id and not r.excluded and not r.from_logs]
        if engine_id in fitted:
            print(
                f"  {engine_id:<9} {fitted[engine_id]:.2f} -> {rounded(fitted[engine_id]):g} GiB  "
                f"(rows {', '.join(used)}; engines.toml {spec.runtime_overhead_gib:g})"
            )
        else:
            print(f"  {engine_id:<9} no start-up row: kept at {spec.runtime_overhead_gib:g} GiB (not fitted)")
    for engine_id, vendors in fit_by_vendor(rows).items():
        table = dict(engines[engine_id].runtime_overhead_by_vendor)
        for vendor, value in vendors.items():
            used = [r.row_id for r in rows if r.engine == engine_id and r.vendor == vendor and not r.excluded]
            print(
                f"  {engine_id:<9} on {vendor:<6} {value:.2f} -> {rounded(value):g} GiB  (rows {', '.join(used)}; "
                f"engines.toml runtime_overhead_by_vendor {table.get(vendor, 'none')})"
            )


def differences(fitted: dict[str, float], by_vendor: dict[str, dict[str, float]] | None = None) -> list[str]:
    """engines.toml values that differ from the rounded fit."""
    engines = load_engines()
    wrong = [
        f"{engine_id}: engines.toml {engines[engine_id].runtime_overhead_gib:g} GiB vs fit {rounded(value):g} GiB"
        for engine_id, value in fitted.items()
        if abs(engines[engine_id].runtime_overhead_gib - rounded(value)) > 1e-9
    ]
    for engine_id, spec in engines.items():
        want = {vendor: rounded(value) for vendor, value in (by_vendor or {}).get(engine_id, {}).items()}
        if dict(spec.runtime_overhead_by_vendor) != want:
            wrong.append(
                f"{engine_id}: engines.toml runtime_overhead_by_vendor {dict(spec.runtime_overhead_by_vendor)} vs fit {want}"
            )
    return wrong


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="start-up KV capacity CSV")
    parser.add_argument("--check", action="store_true", help="exit 1 if engines.toml differs from the fit")
    args = parser.parse_args(argv)
    rows = [fit_row(row) for row in startup_rows(args.data)] + [fit_row(row, from_logs=True) for row in log_rows()]
    fitted = fit(rows)
    report(rows, fitted, args.data)
    if args.check:
        wrong = differences(fitted, fit_by_vendor(rows))
        if wrong:
            print("\n--check: src/gpucast/catalog/engines.toml differs from the fit:", file=sys.stderr)
            for line in wrong:
                print(f"  {line}", file=sys.stderr)
            return 1
        print("\n--check: engines.toml matches the fit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
