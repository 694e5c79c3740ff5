"""Aggregate Alibaba ServeGen per-client LLM-serving traces into one service-level traffic series.

Source: https://github.com/alibaba/ServeGen (Apache-2.0), ``data/language/<model>/``. Each client ``i`` has

- ``chunk-i-trace.csv``: one row per 10-minute window over 14 days, columns ``start_s, rate, cv, pattern, p1, p2``
  (``rate`` in requests per second; the other columns describe the inter-arrival distribution and are unused);
- ``chunk-i-dataset.json``: per 6-hour window, the client's input/output token-length PMFs (``{tokens: prob}``).
  The multimodal models (``data/multimodal/<model>``) have no ``input_tokens``: their input is ``text_tokens``
  plus, per modality (image, audio, video), the ``<m>_count`` PMF's mean times the per-item ``<m>_tokens`` PMF's
  mean (ServeGen's own generator, ``servegen/construct.py``, draws one ``<m>_tokens`` value per counted item;
  only these marginal PMFs are published, so the mean treats count and size as independent).

Output, one row per ``--freq`` bucket (default 1 hour):

- ``rps``: sum over clients of the rate, averaged over the bucket's 10-minute windows (requests per second);
- ``input_tokens`` / ``output_tokens``: request-weighted mean length, each client's mean taken from its latest
  6-hour PMF at or before the window and weighted by its rate. Clients whose dataset file is missing are left out
  of the token means only (never of ``rps``).

The trace's time axis is seconds from an unstated start; ServeGen does not publish the calendar date or time zone,
so ``--start`` anchors it at an arbitrary date (the weekday is therefore not meaningful).

    python scripts/aggregate_trace.py /path/to/ServeGen/data/language/m-large data/traffic/servegen_m_large.csv
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

import pandas as pd

WINDOW_S = 600  # ServeGen trace rows are 10-minute windows


MODALITIES = ("image", "audio", "video")  # multimodal inputs: <m>_count items of <m>_tokens each


def _mean(fields: dict[str, str], name: str) -> float:
    pmf = ast.literal_eval(fields[name])  # a dict literal {length: probability}
    total = sum(pmf.values())
    return sum(k * p for k, p in pmf.items()) / total if total > 0 else float("nan")


def client_tokens(path: Path) -> dict[int, tuple[float, float]]:
    """6-hour window start -> (mean input tokens, mean output tokens) of one client. A multimodal client's input
    is its text tokens plus each modality's mean item count times its mean tokens per item."""
    out = {}
    for ts, fields in json.loads(path.read_text()).items():
        if "input_tokens" in fields:
            inputs = _mean(fields, "input_tokens")
        else:
            inputs = _mean(fields, "text_tokens") + sum(
                _mean(fields, f"{m}_count") * _mean(fields, f"{m}_tokens") for m in MODALITIES if f"{m}_count" in fields
            )
        out[int(ts)] = (inputs, _mean(fields, "output_tokens"))
    return out


def aggregate(model_dir: Path, freq: str, start: str) -> tuple[pd.DataFrame, int, int]:
    """Every client of a ServeGen model folder summed (``aggregate_files`` over its ``chunk-*-trace.csv``)."""
    return aggregate_files(sorted(model_dir.glob("chunk-*-trace.csv")), freq, start)


def aggregate_files(traces: list[Path], freq: str, start: str) -> tuple[pd.DataFrame, int, int]:
    """The clients of ``traces`` summed per ``freq`` bucket; also the number of clients and of those with tokens."""
    rows = []
    with_tokens = 0
    for trace in traces:
        frame = pd.read_csv(trace, header=None, usecols=[0, 1], names=["start_s", "rate"])
        frame["rate"] = frame["rate"].fillna(0.0)
        dataset = trace.with_name(trace.name.replace("-trace.csv", "-dataset.json"))
        tokens = client_tokens(dataset) if dataset.exists() else {}
        with_tokens += bool(tokens)
        if tokens:
            starts = sorted(tokens)
            idx = pd.Series(starts).searchsorted(frame["start_s"], side="right") - 1
            means = [tokens[starts[i]] if i >= 0 else (float("nan"), float("nan")) for i in idx]
            frame["in"], frame["out"] = zip(*means, strict=True)
        else:
            frame["in"] = frame["out"] = float("nan")
        rows.append(frame)
    every = pd.concat(rows, ignore_index=True)
    known = every["in"].notna() & every["out"].notna()
    every["w"] = every["rate"].where(known, 0.0)
    every["w_in"] = (every["w"] * every["in"]).fillna(0.0)
    every["w_out"] = (every["w"] * every["out"]).fillna(0.0)
    per_window = every.groupby("start_s")[["rate", "w", "w_in", "w_out"]].sum()
    per_window.index = pd.Timestamp(start) + pd.to_timedelta(per_window.index, unit="s")
    bucket = per_window.resample(freq).agg({"rate": "mean", "w": "sum", "w_in": "sum", "w_out": "sum"})
    series = pd.DataFrame(
        {
            "timestamp": bucket.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rps": bucket["rate"].round(4),
            "input_tokens": (bucket["w_in"] / bucket["w"]).round(1),
            "output_tokens": (bucket["w_out"] / bucket["w"]).round(1),
        }
    )
    return series, len(traces), with_tokens


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path, help="a ServeGen data/<category>/<model> folder")
    parser.add_argument("out", type=Path, help="CSV to write (timestamp,rps,input_tokens,output_tokens)")
    parser.add_argument("--freq", default="1h", help="bucket size, a multiple of 10 minutes (default 1h)")
    parser.add_argument("--start", default="2025-01-01", help="date the trace's second 0 is anchored at")
    args = parser.parse_args(argv)
    series, clients, with_tokens = aggregate(args.model_dir, args.freq, args.start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    series.to_csv(args.out, index=False)
    print(f"{args.out}: {len(series)} rows from {clients} clients ({with_tokens} with token PMFs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
