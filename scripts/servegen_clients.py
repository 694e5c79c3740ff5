"""Extract per-client hourly request-rate series from Alibaba ServeGen for the forecast evaluation.

Source: https://github.com/alibaba/ServeGen (Apache-2.0), ``data/language/<model>/chunk-<i>-trace.csv`` (one row per
10-minute window over 14 days; column 1 is the client's request rate in req/s). Selection rule, fixed before any
forecast was scored: per model, the ``--per-model`` clients with the highest mean rate among those with a non-zero
rate in at least ``--active`` of their hours. Output (long format, one row per client and hour):
``service,timestamp,rps`` where service is ``<model>/client-<i>`` and ``rps`` is the mean of the hour's six windows.
Second 0 is anchored at 2025-01-01T00:00:00Z as in ``scripts/aggregate_trace.py`` (ServeGen publishes no date).

    python scripts/servegen_clients.py /path/to/ServeGen/data/language data/traffic/servegen_clients.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

MODELS = ("m-large", "m-mid", "m-small")


def clients(model_dir: Path, per_model: int, active: float) -> list[tuple[str, pd.Series]]:
    picked = []
    for trace in model_dir.glob("chunk-*-trace.csv"):
        frame = pd.read_csv(trace, header=None, usecols=[0, 1], names=["start_s", "rate"])
        rate = frame["rate"].fillna(0.0).to_numpy()
        if len(rate) % 6:
            continue
        hourly = pd.Series(rate.reshape(-1, 6).mean(axis=1))
        if (hourly > 0).mean() >= active:
            picked.append((trace.name.split("-")[1], hourly))
    picked.sort(key=lambda item: -float(item[1].mean()))
    return picked[:per_model]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("language_dir", type=Path, help="ServeGen's data/language folder")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-model", type=int, default=4)
    parser.add_argument("--active", type=float, default=0.9, help="least share of hours with traffic")
    args = parser.parse_args(argv)
    rows = []
    for model in MODELS:
        for client, hourly in clients(args.language_dir / model, args.per_model, args.active):
            stamps = pd.Timestamp("2025-01-01T00:00:00Z") + pd.to_timedelta(range(len(hourly)), unit="h")
            rows.append(
                pd.DataFrame(
                    {
                        "service": f"{model}/client-{client}",
                        "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "rps": hourly.round(4),
                    }
                )
            )
    out = pd.concat(rows, ignore_index=True)
    out.to_csv(args.out, index=False)
    print(f"{args.out}: {out['service'].nunique()} clients, {len(out)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
