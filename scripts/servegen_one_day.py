"""Per-10-minute request rates of ServeGen's one-day traces: the reasoning model and the multimodal model (issue 26).

Source: https://github.com/alibaba/ServeGen (Apache-2.0), ``data/reason/deepseek-r1/`` (73 clients) and
``data/multimodal/mm-image/`` (35 clients). Their ``chunk-<i>-trace.csv`` files have the layout of the language
models' (``scripts/aggregate_trace.py``: one row per 10-minute window, column 1 the client's rate in req/s) but
cover **one day** (144 windows), so they are kept per 10 minutes: an hourly series would have 24 points and no day
to compare with.

Output, long format ``service,timestamp,rps,input_tokens,output_tokens``, one row per service and window:

- ``<model>``: every client's rate summed per window (``aggregate_trace.aggregate_files``, bucket 10 minutes);
- ``<model>/client-<i>``: per model, the ``--per-model`` clients with the highest mean rate among those with a
  non-zero rate in at least ``--active`` of the windows (the rule of ``scripts/servegen_clients.py``, fixed before
  any forecast was scored).

Token columns: request-weighted mean lengths from the clients' 6-hour PMFs (``aggregate_trace.client_tokens``);
for ``mm-image`` the input is text plus image tokens (image count × tokens per image; audio and video are 0 in
this model). Second 0 is anchored at 2025-01-01T00:00:00Z as for the language models (ServeGen publishes no date;
nothing says the one-day traces fall on one of the language traces' days).

    python scripts/servegen_one_day.py /path/to/ServeGen/data data/traffic/servegen_one_day.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aggregate_trace import aggregate_files

MODELS = ("reason/deepseek-r1", "multimodal/mm-image")
FREQ = "10min"
START = "2025-01-01"


def active_clients(traces: list[Path], per_model: int, active: float) -> list[Path]:
    """The ``per_model`` traces of highest mean rate among those with a non-zero rate in ``active`` of windows."""
    picked = []
    for trace in traces:
        rate = pd.read_csv(trace, header=None, usecols=[1], names=["rate"])["rate"].fillna(0.0)
        if len(rate) and float((rate > 0).mean()) >= active:
            picked.append((float(rate.mean()), trace))
    picked.sort(key=lambda item: -item[0])  # a stable sort: equal means keep the file order
    return [trace for _, trace in picked[:per_model]]


def build(data_dir: Path, per_model: int, active: float) -> pd.DataFrame:
    parts = []
    for model in MODELS:
        traces = sorted((data_dir / model).glob("chunk-*-trace.csv"), key=lambda p: int(p.name.split("-")[1]))
        name = model.split("/")[1]
        groups = [(name, traces)] + [
            (f"{name}/client-{t.name.split('-')[1]}", [t]) for t in active_clients(traces, per_model, active)
        ]
        for service, files in groups:
            series, _, _ = aggregate_files(files, FREQ, START)
            series.insert(0, "service", service)
            parts.append(series)
    return pd.concat(parts, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="ServeGen's data folder (holding reason/ and multimodal/)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-model", type=int, default=4)
    parser.add_argument("--active", type=float, default=0.9, help="least share of windows with traffic")
    args = parser.parse_args(argv)
    out = build(args.data_dir, args.per_model, args.active)
    out.to_csv(args.out, index=False)
    for service, rows in out.groupby("service", sort=False):
        print(f"{service}: {len(rows)} windows, {rows['rps'].mean():.2f} rps mean ({rows['rps'].min():.2f}-"
              f"{rows['rps'].max():.2f})", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
