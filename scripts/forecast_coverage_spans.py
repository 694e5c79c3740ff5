"""The coverage `gpucast predict` reports beside each forecast, by lead time, on every ServeGen series (issue 26).

For each series of data/traffic/servegen_*.csv, ``forecast_load`` on the whole history at ``--horizon`` and the
achieved coverage of its last backtest (``backtest.coverage_by_steps``, forecast/coverage.py): the forecast's own
band rule re-run at the last past origins for the whole horizon. Prints a markdown table (80% / 95% per span of
steps ahead, held-out points in brackets) and the spans pooled over the series. Seconds on 2 cores. Not a hold-out
evaluation (that is scripts/evaluate_forecasts.py): it is what a user sees beside the forecast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from gpucast.forecast import forecast_load, load_history  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", default="7d", help="forecast horizon (default 7d)")
    args = parser.parse_args()
    traffic = REPO / "data" / "traffic"
    series = [
        (f"m-{size}", load_history(traffic / f"servegen_m_{size}.csv"), None) for size in ("large", "mid", "small")
    ]
    clients = load_history(traffic / "servegen_clients.csv", id_col="service")
    series += [(uid, clients, uid) for uid in clients.ids]
    rows: list[str] = []
    pooled: dict[tuple[int, int], list[float]] = {}
    spans: list[tuple[int, int]] = []
    for name, history, uid in series:
        bt = forecast_load(history, args.horizon, unique_id=uid).backtest
        spans = [(s.first, s.last) for s in bt.coverage_by_steps]
        cells = []
        for s in bt.coverage_by_steps:
            if not s.cells:
                cells.append("–")
                continue
            cells.append(f"{s.coverage[80]:.2f} / {s.coverage[95]:.2f} ({s.cells})")
            total = pooled.setdefault((s.first, s.last), [0.0, 0.0, 0.0])
            total[0] += s.coverage[80] * s.cells
            total[1] += s.coverage[95] * s.cells
            total[2] += s.cells
        rows.append(f"| {name} | {bt.coverage[80]:.2f} / {bt.coverage[95]:.2f} | " + " | ".join(cells) + " |")
    head = " | ".join(f"steps {a}-{b}" for a, b in spans)
    print(f"| series | all steps checked | {head} |")
    print("| --- | ---: |" + " ---: |" * len(spans))
    print("\n".join(rows))
    parts = []
    for span in spans:
        a, b, c = pooled.get(span, [0.0, 0.0, 0.0])
        parts.append(f"{a / c:.3f} / {b / c:.3f} ({c:.0f})" if c else "–")
    print("| **pooled** | | " + " | ".join(f"**{p}**" for p in parts) + " |")
    print(f"\n`python scripts/forecast_coverage_spans.py --horizon {args.horizon}`: 80% / 95% coverage of each series' "
          "last backtest by steps ahead (held-out points).")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
