"""How far the fast engine's members can go on the repository's traces: each member alone, the engine's weighted
combination, and an *oracle* that picks, after the fact, the best member at every origin (issue 26, item 1).

Same protocol as ``scripts/evaluate_forecasts.py`` (rolling origins, ``load_history`` on the rows before each,
MAE against seasonal-naive, geometric mean over origins and then over a family's series), but the members are
scored directly, so the figures isolate the member set from the combination rule. The oracle is not a forecast
(it looks at the hold-out); it bounds what any rule choosing one member per origin could reach.

    python scripts/forecast_ceiling.py [--horizon 48] [--origins 16] [--spacing 12]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from evaluate_forecasts import DAY, cuts, geomean, traces  # noqa: E402

from gpucast.forecast import fast, load_history, rolling  # noqa: E402
from gpucast.forecast.members import forecast_members  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=int, default=48)
    parser.add_argument("--origins", type=int, default=16)
    parser.add_argument("--spacing", type=int, default=12)
    args = parser.parse_args(argv)
    ratios: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    by_step = np.zeros((2, args.horizon))  # ServeGen: the engine's and seasonal-naive's errors per step (scaled)
    for s in (t for t in traces() if t.hourly):  # the hourly series (the one-hour traces have no day)
        raw = s.frame["rps"].to_numpy(dtype=float)
        for end in cuts(len(raw), args.horizon, args.origins, args.spacing):
            y = load_history(s.frame.iloc[:end]).frame["y"].to_numpy(dtype=float)
            bt = rolling.backtest(y, DAY, fast.calibrated_steps(len(y), DAY, args.horizon))
            members = forecast_members(y, DAY, args.horizon, rolling.CAP_FACTOR * float(y.max()), bt.repaired)
            members["engine (median of the best 4)"] = rolling.combine(members, rolling.member_weights(bt))
            actual = raw[end : end + args.horizon]
            naive = float(np.mean(np.abs(np.resize(raw[end - DAY : end], args.horizon) - actual)))
            scores = {name: float(np.mean(np.abs(f - actual))) / max(naive, 1e-9) for name, f in members.items()}
            if s.family.startswith("ServeGen"):
                naive_f = np.resize(raw[end - DAY : end], args.horizon)
                by_step += np.abs(np.stack([members["engine (median of the best 4)"], naive_f]) - actual) / max(
                    naive, 1e-9
                )
            scores["oracle: best member per origin"] = min(
                v for k, v in scores.items() if k != "engine (median of the best 4)"
            )
            for name, score in scores.items():
                ratios[(s.family, s.name)][name].append(score)
    families = sorted({family for family, _ in ratios})
    names = list(next(iter(ratios.values())))
    print("| member (daily season) | " + " | ".join(families) + " |")
    print("| --- |" + " ---: |" * len(families))
    for name in names:
        cells = []
        for family in families:
            per_series = [geomean(v[name]) for (f, _), v in ratios.items() if f == family]
            cells.append(f"{geomean(per_series):.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    step = by_step[0] / np.maximum(by_step[1], 1e-12)
    print("\nServeGen, engine MAE / seasonal-naive MAE per step ahead (pooled over series and origins):")
    print(" ".join(f"{v:.2f}" for v in step))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
