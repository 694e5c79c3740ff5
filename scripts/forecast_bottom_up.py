"""A ServeGen model's total forecast from its clients' forecasts (sibling information, issue 26 item 2).

Not shipped: the measurement behind docs/forecast-accuracy.md's "bottom-up from every client" rows. Each ServeGen
aggregate (``data/traffic/servegen_m_*.csv``) is the sum of its clients' rates (162, 109 and 43 clients); a fleet
that runs gpucast on every client has each client's history. Per evaluation origin (the protocol of
``scripts/evaluate_forecasts.py``: 16 origins 12 h apart, 48 hours each), this forecasts every client with
``forecast_fleet`` on its rows before the origin and scores, against seasonal-naive on the aggregate:

* the engine on the aggregate alone (the table's figure);
* **bottom-up**: the sum of the clients' forecasts (clients silent in the whole history before the origin
  forecast 0);
* the mean of the two.

Needs the ServeGen repository (https://github.com/alibaba/ServeGen, Apache-2.0, ``data/language``; the same files
``scripts/aggregate_trace.py`` reads), read at run time from ``language_dir``; nothing is downloaded.

    python scripts/forecast_bottom_up.py /path/to/ServeGen/data/language [--models m-small]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from evaluate_forecasts import DAY, cuts, geomean  # noqa: E402

from gpucast.forecast import forecast_fleet, forecast_load, load_history  # noqa: E402

HORIZON, ORIGINS, SPACING = 48, 16, 12


def client_frame(model_dir: Path) -> pd.DataFrame:
    """Every client's hourly rate (mean of its six 10-minute windows), long format ``service, timestamp, rps``."""
    parts = []
    for trace in sorted(model_dir.glob("chunk-*-trace.csv")):
        rate = pd.read_csv(trace, header=None, usecols=[1], names=["rate"])["rate"].fillna(0.0).to_numpy()
        hourly = rate[: len(rate) // 6 * 6].reshape(-1, 6).mean(axis=1)
        stamps = pd.Timestamp("2025-01-01T00:00:00Z") + pd.to_timedelta(np.arange(len(hourly)), unit="h")
        parts.append(pd.DataFrame({"service": trace.name, "timestamp": stamps, "rps": hourly}))
    return pd.concat(parts, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("language_dir", type=Path, help="ServeGen's data/language folder")
    parser.add_argument("--models", default="m-large,m-mid,m-small")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = []
    for model in args.models.split(","):
        clients = client_frame(args.language_dir / model)
        wide = clients.pivot(index="timestamp", columns="service", values="rps")
        frame = pd.read_csv(REPO / "data" / "traffic" / f"servegen_{model.replace('-', '_')}.csv")
        total = frame["rps"].to_numpy(dtype=float)
        assert np.allclose(wide.sum(axis=1).to_numpy(), total, rtol=1e-3, atol=1e-3), "clients do not sum to total"
        ratios: dict[str, list[float]] = {"engine on the total": [], "bottom-up": [], "mean of the two": []}
        for end in cuts(len(total), HORIZON, ORIGINS, SPACING):
            direct = np.array([p.mean for p in forecast_load(load_history(frame.iloc[:end]), HORIZON).forecast])
            before = wide.iloc[:end]
            active = [c for c in before.columns if before[c].max() > 0]
            history = clients[clients["service"].isin(active) & (clients["timestamp"] < wide.index[end])]
            fleet = forecast_fleet(load_history(history, id_col="service"), HORIZON, n_jobs=1)
            bottom_up = np.sum([[p.mean for p in r.forecast] for r in fleet.values()], axis=0)
            actual = total[end : end + HORIZON]
            naive = max(float(np.mean(np.abs(np.resize(total[end - DAY : end], HORIZON) - actual))), 1e-9)
            for name, f in (("engine on the total", direct), ("bottom-up", bottom_up)):
                ratios[name].append(float(np.mean(np.abs(f - actual))) / naive)
            ratios["mean of the two"].append(float(np.mean(np.abs((direct + bottom_up) / 2 - actual))) / naive)
        rows.append((model, len(wide.columns), {k: geomean(v) for k, v in ratios.items()}))
        print(model, len(wide.columns), "clients", {k: round(geomean(v), 3) for k, v in ratios.items()}, flush=True)
    names = list(rows[0][2])
    print("\n| MAE / seasonal-naive | " + " | ".join(f"{m} ({n} clients)" for m, n, _ in rows) + " | geo-mean |")
    print("| --- |" + " ---: |" * (len(rows) + 1))
    for name in names:
        cells = [f"{r[name]:.3f}" for _, _, r in rows]
        print(f"| {name} | " + " | ".join(cells) + f" | {geomean([r[name] for _, _, r in rows]):.3f} |")
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
