"""Aggregate the one-hour public LLM request traces (Azure 2023, Mooncake FAST'25) into per-minute request rates.

These traces hold one request per row over about one hour, so an hourly series would have one point: they are
aggregated per minute instead (issue 26). One hour has no daily or weekly cycle, so they cannot test the daily
season the hourly table is about; `scripts/evaluate_forecasts.py --short` scores them minutes ahead instead.

Sources (see data/traffic/README.md for licences and caveats):

- Azure LLM inference trace 2023 (https://github.com/Azure/AzurePublicDataset, CC-BY-4.0):
  ``data/AzureLLMInferenceTrace_{code,conv}.csv``, columns ``TIMESTAMP, ContextTokens, GeneratedTokens``;
  the timestamps are wall-clock without a zone (UTC assumed).
- Mooncake FAST'25 traces (https://github.com/kvcache-ai/Mooncake, Apache-2.0):
  ``FAST25-release/traces/conversation_trace.jsonl``, one JSON object per request with ``timestamp`` (ms from the
  trace start), ``input_length``, ``output_length``. No date is published: millisecond 0 is anchored at
  ``--start`` (2025-01-01T00:00:00Z), arbitrarily. The synthetic trace of the same release has generated (Poisson)
  arrivals and is not real traffic; the tool-and-agent trace is not used here (see the README).

Output, long format, one row per service and complete minute (the first and last minutes, cut by the trace's
window, are dropped): ``service, timestamp, rps`` (requests in the minute / 60), ``input_tokens``,
``output_tokens`` (mean lengths of the minute's requests).

    python scripts/aggregate_short_traces.py --azure-code <AzurePublicDataset>/data/AzureLLMInferenceTrace_code.csv \
        --azure-conv <AzurePublicDataset>/data/AzureLLMInferenceTrace_conv.csv \
        --mooncake-conversation <Mooncake>/FAST25-release/traces/conversation_trace.jsonl \
        data/traffic/short_traces_per_minute.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

BIN = "1min"


def per_minute(stamps: pd.Series, inputs: pd.Series, outputs: pd.Series, service: str) -> pd.DataFrame:
    """Requests per second, mean input and output length per complete minute (a minute with no request is 0 rps)."""
    frame = pd.DataFrame({"ts": stamps.dt.floor(BIN), "inp": inputs.astype(float), "out": outputs.astype(float)})
    grouped = frame.groupby("ts")
    minutes = pd.date_range(frame["ts"].min(), frame["ts"].max(), freq=BIN)
    out = pd.DataFrame(
        {
            "rps": grouped.size().reindex(minutes, fill_value=0) / 60.0,
            "input_tokens": grouped["inp"].mean().reindex(minutes),
            "output_tokens": grouped["out"].mean().reindex(minutes),
        }
    ).iloc[1:-1]  # the first and last minutes are cut by the trace window
    out.index.name = "timestamp"
    out = out.reset_index()
    out.insert(0, "service", service)
    out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out.round({"rps": 4, "input_tokens": 1, "output_tokens": 1})


def azure(path: Path, service: str) -> pd.DataFrame:
    raw = pd.read_csv(path, encoding="utf-8-sig")
    stamps = pd.to_datetime(raw["TIMESTAMP"], format="mixed")
    return per_minute(stamps, raw["ContextTokens"], raw["GeneratedTokens"], service)


def mooncake(path: Path, service: str, start: str) -> pd.DataFrame:
    raw = pd.read_json(path, lines=True)
    stamps = pd.Timestamp(start).tz_localize(None) + pd.to_timedelta(raw["timestamp"], unit="ms")
    return per_minute(stamps, raw["input_length"], raw["output_length"], service)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--azure-code", type=Path)
    parser.add_argument("--azure-conv", type=Path)
    parser.add_argument("--mooncake-conversation", type=Path)
    parser.add_argument("--start", default="2025-01-01T00:00:00Z", help="anchor of Mooncake's millisecond 0")
    args = parser.parse_args(argv)
    parts = []
    if args.azure_code:
        parts.append(azure(args.azure_code, "azure-2023/code"))
    if args.azure_conv:
        parts.append(azure(args.azure_conv, "azure-2023/conversation"))
    if args.mooncake_conversation:
        parts.append(mooncake(args.mooncake_conversation, "mooncake/conversation", args.start))
    if not parts:
        print("give at least one trace", file=sys.stderr)
        return 2
    out = pd.concat(parts, ignore_index=True)
    out.to_csv(args.out, index=False)
    for service, rows in out.groupby("service", sort=False):
        print(f"{service}: {len(rows)} minutes, {rows['rps'].mean():.2f} rps mean ({rows['rps'].min():.2f}-"
              f"{rows['rps'].max():.2f}), {rows['timestamp'].iloc[0]} .. {rows['timestamp'].iloc[-1]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
