"""Fit QLoRA's NF4 dequantization cost (``nf4_dequant_bytes`` in catalog/qlora_dequant.toml) to published pairs of
QLoRA and LoRA step times on the same setup (``data/benchmarks/qlora/qlora_vs_lora.csv``; sources in its README).

Why a pair: QLoRA runs the same GEMMs, LoRA branches and optimizer as LoRA; what it adds is the dequantization of
every NF4 base weight to BF16 before each GEMM that reads it (forward, input gradient, and the recomputed forward
under activation checkpointing; ``core.training``'s docstring). So the difference of the two step times is that
dequantization alone, and the effective HBM traffic per weight and pass it implies is

    bytes = (t_qlora - t_lora) x HBM bandwidth / (passes x quantized weights)

with the time per micro-batch, passes 2 (3 with full recomputation) and the quantized weights those gpucast counts
(all but the embeddings). The floor is 2.52 bytes (read NF4 + scales, write BF16); what lies above it is the kernels'
shortfall from peak bandwidth and their launch overheads.

Fit: the **median** of the rows' implied bytes (one parameter, robust to one odd implementation), rounded to
ROUND. The rows' spread (bitsandbytes 0.41 and torchao NF4, 2023-2024) is printed, with each row's step-time ratio
predicted by leave-one-out medians, so the model is checked against the data it was not fitted on.

    python scripts/fit_qlora_dequant.py            # per-row implied bytes, the fit, write the catalog file
    python scripts/fit_qlora_dequant.py --check    # exit 1 if catalog/qlora_dequant.toml differs from the fit
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gpucast.catalog.loader import resolve_gpu, resolve_model
from gpucast.core.params import count_parameters

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "benchmarks" / "qlora" / "qlora_vs_lora.csv"
OUTPUT = REPO / "src" / "gpucast" / "catalog" / "qlora_dequant.toml"
ROUND = 0.1  # bytes
FLOOR = 0.5 + 0.127 / 8 + 2.0  # NF4 + double-quantized scales read, BF16 written (core.training_memory)


@dataclass(frozen=True)
class Pair:
    """One published QLoRA/LoRA pair, as seconds per micro-batch."""

    id: str
    lora_s: float
    qlora_s: float
    passes: float
    quantized: float  # weights dequantized per pass
    bandwidth: float  # bytes/s

    @property
    def implied_bytes(self) -> float:
        return (self.qlora_s - self.lora_s) * self.bandwidth / (self.passes * self.quantized)

    def qlora_s_at(self, dequant_bytes: float) -> float:
        """The QLoRA step time the model gives from the measured LoRA time."""
        return self.lora_s + self.passes * self.quantized * dequant_bytes / self.bandwidth


def _seconds(row: dict[str, str], value: str) -> float:
    """Seconds per micro-batch from a printed value: minutes per 1,000 iterations, or tokens/s of one GPU."""
    if row["unit"] == "min per 1k iterations":
        return float(value) * 60.0 / 1000.0
    if row["unit"] == "tokens/s":
        return int(row["micro_batch"]) * int(row["seq_len"]) / float(value)
    raise ValueError(f"{row['id']}: unknown unit {row['unit']!r}")


def load(path: Path = DATA) -> list[Pair]:
    pairs = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            params = count_parameters(resolve_model(row["model"]))
            pairs.append(
                Pair(
                    id=row["id"],
                    lora_s=_seconds(row, row["lora_value"]),
                    qlora_s=_seconds(row, row["qlora_value"]),
                    passes=3.0 if row["recompute"] == "full" else 2.0,
                    quantized=float(params.total - params.embedding),
                    bandwidth=resolve_gpu(row["gpu"]).memory_bandwidth_tb_s * 1e12,
                )
            )
    return pairs


def fit(pairs: list[Pair]) -> float:
    return round(statistics.median(p.implied_bytes for p in pairs) / ROUND) * ROUND


def report(pairs: list[Pair], value: float) -> list[str]:
    lines = [f"{'pair':36} {'implied B/weight':>16} {'QLoRA/LoRA measured':>20} {'fit':>6} {'leave-one-out':>13}"]
    errors = []
    for i, p in enumerate(pairs):
        held_out = fit(pairs[:i] + pairs[i + 1 :])
        measured = p.qlora_s / p.lora_s
        loo = p.qlora_s_at(held_out) / p.lora_s
        errors.append(abs(p.qlora_s_at(held_out) / p.qlora_s - 1.0))
        lines.append(
            f"{p.id:36} {p.implied_bytes:16.1f} {measured:20.3f} {p.qlora_s_at(value) / p.lora_s:6.3f} {loo:13.3f}"
        )
    lines.append(f"fit: median {value:.1f} bytes per weight per dequantization (floor {FLOOR:.2f}); leave-one-out")
    lines.append(f"QLoRA step time |error| median {statistics.median(errors):.1%}, max {max(errors):.1%}")
    as_lora = [abs(p.lora_s / p.qlora_s - 1.0) for p in pairs]  # no dequantization time (gpucast before 2026-12-07)
    lines.append(f"QLoRA as fast as LoRA: |error| median {statistics.median(as_lora):.1%}, max {max(as_lora):.1%}")
    return lines


def render(value: float, pairs: list[Pair]) -> str:
    low, high = min(p.implied_bytes for p in pairs), max(p.implied_bytes for p in pairs)
    return (
        "# QLoRA's NF4 dequantization cost, fitted by scripts/fit_qlora_dequant.py (do not edit by hand;\n"
        "# `python scripts/fit_qlora_dequant.py --check` verifies it) to data/benchmarks/qlora/qlora_vs_lora.csv:\n"
        f"# the median over {len(pairs)} published QLoRA/LoRA pairs (range {low:.1f}-{high:.1f}) of the effective HBM bytes\n"
        "# per NF4 weight each time it is dequantized to BF16 (forward, input gradient, recomputed forward).\n"
        "[nf4_dequant]\n"
        f"bytes_per_weight = {value:.1f}\n"
        'source = "LitGPT resource tables (bitsandbytes 0.41.1, A100-40GB, 2023-10); torchtune README (torchao NF4, '
        'RTX 4090 2024-09, A100 2024-11)"\n'
        'as_of = "2024-11"\n'
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the catalog file differs from the fit")
    args = parser.parse_args(argv)
    pairs = load()
    value = fit(pairs)
    print("\n".join(report(pairs, value)))
    text = render(value, pairs)
    if args.check:
        stored = tomllib.loads(OUTPUT.read_text(encoding="utf-8"))["nf4_dequant"]["bytes_per_weight"]
        if abs(stored - value) > 1e-9 or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"--check: {OUTPUT} differs from the fit ({stored} vs {value:.1f})", file=sys.stderr)
            return 1
        print(f"--check: {OUTPUT} matches the fit")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
