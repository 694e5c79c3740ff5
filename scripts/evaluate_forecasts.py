"""Rolling-origin accuracy of gpucast's forecaster on every traffic trace in the repository (issue 26).

For each series, ``--origins`` forecast origins ``--spacing`` hours apart end ``--horizon`` hours before the last
observation; at each origin the forecaster sees only the rows before it (through ``load_history``, so its documented
repairs apply) and is scored on the next ``--horizon`` hours of the raw file (outage hours included). Per series:

* ``vs naive``: geometric mean over origins of MAE(gpucast) / MAE(seasonal-naive, the last 24 hours repeated);
* ``vs sf median``: the same against the plain statsforecast median of MSTL(24), SeasonalNaive(24) and Theta(24)
  fitted on the same rows (``sf/naive``: that median against seasonal-naive);
* ``cov80``/``cov95``: share of held-out hours inside gpucast's 80% / 95% interval, pooled over origins.

The one-hour traces (Azure 2023, Mooncake; ``data/traffic/short_traces_per_minute.csv``, per minute) have no daily
cycle: they are scored on their own protocol (``SHORT``: 10 minutes ahead, 16 origins 2 minutes apart, at least 20
minutes of history), against the last minute's value repeated (naive) and the statsforecast median of Naive, Theta
and AutoETS (non-seasonal). ServeGen's one-day traces (DeepSeek-R1 and mm-image, totals and four clients each;
``data/traffic/servegen_one_day.csv``, per 10 minutes) are scored the same way on ``ONE_DAY`` (2 hours ahead, 16
origins 1 hour apart, at least 6 hours of history): one day shows no daily cycle to learn. ``--no-short`` leaves
both families out. The Azure LLM inference traces 2024 (code and conversation, one week each, hourly;
``data/traffic/azure_2024_week.csv``) are scored on ``WEEK``, fixed before their first scoring run: 24 hours ahead
from origins 12 hours apart, at least 3 days of history (7 origins, the last ending at the week's end), against
seasonal-naive (the last 24 hours repeated) and the daily-season statsforecast median. The "all hourly series" row
excludes these three families (their horizons differ from the command line's).

The families' rows give geometric means (ratios) and means (coverage). ``--write-docs`` replaces the generated
block of docs/forecast-accuracy.md with the table. About 1-3 minutes on 2 cores with the defaults; ``--origins``,
``--series`` and ``--no-statsforecast`` make it shorter. ``--engine statsforecast`` scores the statsforecast
ensemble (``ensemble.py``, what ``--backend dask`` always uses) instead of the default engine: several times slower,
and never written into the docs' generated block.

    python scripts/evaluate_forecasts.py [--horizon 48] [--origins 8] [--spacing 12] [--series m-large] [--write-docs]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from gpucast.forecast import forecast_load, load_history  # noqa: E402

DOC = REPO / "docs" / "forecast-accuracy.md"
BEGIN, END = "<!-- evaluate_forecasts:begin -->", "<!-- evaluate_forecasts:end -->"
DAY = 24


@dataclass(frozen=True)
class Protocol:
    horizon: int
    origins: int
    spacing: int
    season: int  # of the naive baseline and the statsforecast median; 1: non-seasonal
    min_history: int


SHORT = Protocol(horizon=10, origins=16, spacing=2, season=1, min_history=20)
SHORT_FAMILY = "one-hour trace (per minute)"
ONE_DAY = Protocol(horizon=12, origins=16, spacing=6, season=1, min_history=36)  # 10-minute steps
ONE_DAY_FAMILY = "one-day trace (per 10 minutes)"
WEEK = Protocol(horizon=24, origins=7, spacing=12, season=DAY, min_history=3 * DAY)  # hourly, one week
WEEK_FAMILY = "one-week trace (hourly)"
PROTOCOLS = {SHORT_FAMILY: SHORT, ONE_DAY_FAMILY: ONE_DAY, WEEK_FAMILY: WEEK}  # not on the command line's protocol


@dataclass(frozen=True)
class Series:
    name: str
    family: str
    frame: pd.DataFrame  # timestamp, rps (raw, as published)

    @property
    def protocol(self) -> Protocol | None:
        """The family's own protocol (PROTOCOLS); None for an hourly series (the command line's)."""
        return PROTOCOLS.get(self.family)

    @property
    def hourly(self) -> bool:
        return self.protocol is None

    @property
    def short(self) -> bool:  # a one-hour per-minute trace, scored on SHORT
        return self.family == SHORT_FAMILY


@dataclass(frozen=True)
class Score:
    name: str
    family: str
    vs_naive: float
    vs_sf: float | None
    sf_vs_naive: float | None
    cov80: float
    cov95: float
    windows: dict[int, list[float]] | None = None  # level -> each origin's own cover (scripts/coverage_window_noise.py)


def traces() -> list[Series]:
    """Every hourly traffic series shipped in the repository (data/traffic/*.csv and the docs' sample)."""
    out = []
    traffic = REPO / "data" / "traffic"
    for path in sorted(traffic.glob("servegen_m_*.csv")):
        frame = pd.read_csv(path)[["timestamp", "rps"]]
        out.append(Series(path.stem.replace("servegen_", "ServeGen ").replace("_", "-"), "ServeGen aggregate", frame))
    clients = traffic / "servegen_clients.csv"
    if clients.exists():
        every = pd.read_csv(clients)
        for service, frame in every.groupby("service", sort=True):
            out.append(
                Series(f"ServeGen {service}", "ServeGen client", frame[["timestamp", "rps"]].reset_index(drop=True))
            )
    sample = REPO / "docs" / "sample-traffic.csv"
    out.append(Series("docs/sample-traffic.csv", "synthetic sample", pd.read_csv(sample)[["timestamp", "rps"]]))
    short = traffic / "short_traces_per_minute.csv"
    if short.exists():
        for service, frame in pd.read_csv(short).groupby("service", sort=True):
            out.append(Series(str(service), SHORT_FAMILY, frame[["timestamp", "rps"]].reset_index(drop=True)))
    one_day = traffic / "servegen_one_day.csv"
    if one_day.exists():
        for service, frame in pd.read_csv(one_day).groupby("service", sort=False):
            rows = frame[["timestamp", "rps"]].reset_index(drop=True)
            out.append(Series(f"ServeGen {service}", ONE_DAY_FAMILY, rows))
    week = traffic / "azure_2024_week.csv"
    if week.exists():
        for service, frame in pd.read_csv(week).groupby("service", sort=True):
            out.append(Series(str(service), WEEK_FAMILY, frame[["timestamp", "rps"]].reset_index(drop=True)))
    return out


def cuts(n: int, horizon: int, origins: int, spacing: int, min_history: int = 3 * DAY) -> list[int]:
    last = n - horizon
    return [c for c in (last - i * spacing for i in range(origins - 1, -1, -1)) if c >= min_history]


def sf_median(series: list[np.ndarray], horizon: int, season: int = DAY) -> list[np.ndarray]:
    """The plain statsforecast median of MSTL, SeasonalNaive and Theta (daily season) for each history; for a
    non-seasonal protocol (``season`` 1) of Naive, Theta and AutoETS."""
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS, Naive, SeasonalNaive, Theta

    frames = [pd.DataFrame({"unique_id": str(i), "ds": np.arange(len(y)), "y": y}) for i, y in enumerate(series)]
    if season > 1:
        models: list[object] = [MSTL(season_length=season), SeasonalNaive(season), Theta(season_length=season)]
        names = ["MSTL", "SeasonalNaive", "Theta"]
    else:
        models, names = [Naive(), Theta(season_length=1), AutoETS(season_length=1)], ["Naive", "Theta", "AutoETS"]
    sf = StatsForecast(models=models, freq=1, n_jobs=1)
    fc = sf.forecast(df=pd.concat(frames, ignore_index=True), h=horizon)
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    out = []
    for i in range(len(series)):
        rows = fc[fc["unique_id"] == str(i)]
        out.append(np.median(rows[names].to_numpy(), axis=1))
    return out


def geomean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(max(v, 1e-9)) for v in values))


def evaluate(s: Series, horizon: int, origins: int, spacing: int, with_sf: bool, engine: str = "fast") -> Score:
    p = s.protocol or Protocol(horizon, origins, spacing, DAY, 3 * DAY)
    horizon, season = p.horizon, p.season
    y = s.frame["rps"].to_numpy(dtype=float)
    ends = cuts(len(y), horizon, p.origins, p.spacing, p.min_history)
    means, inside80, inside95, naive_err = [], [], [], []
    for end in ends:
        result = forecast_load(load_history(s.frame.iloc[:end]), horizon, engine=engine)
        actual = y[end : end + horizon]
        means.append(np.array([p.mean for p in result.forecast]))
        naive_err.append(float(np.mean(np.abs(np.resize(y[end - season : end], horizon) - actual))))
        for level, store in ((80, inside80), (95, inside95)):
            lo = np.array([p.lo[level] for p in result.forecast])
            hi = np.array([p.hi[level] for p in result.forecast])
            store.append(np.mean((actual >= lo) & (actual <= hi)))
    errors = [float(np.mean(np.abs(m - y[e : e + horizon]))) for m, e in zip(means, ends, strict=True)]
    vs_naive = geomean([e / max(b, 1e-9) for e, b in zip(errors, naive_err, strict=True)])
    vs_sf = sf_naive = None
    if with_sf:
        sf = sf_median([y[:e] for e in ends], horizon, season)
        sf_err = [float(np.mean(np.abs(f - y[e : e + horizon]))) for f, e in zip(sf, ends, strict=True)]
        vs_sf = geomean([e / max(b, 1e-9) for e, b in zip(errors, sf_err, strict=True)])
        sf_naive = geomean([e / max(b, 1e-9) for e, b in zip(sf_err, naive_err, strict=True)])
    return Score(s.name, s.family, vs_naive, vs_sf, sf_naive, float(np.mean(inside80)), float(np.mean(inside95)),
                 {80: [float(c) for c in inside80], 95: [float(c) for c in inside95]})  # fmt: skip


METHODS = ("bottom_up", "mint_shrink", "wls", "none")


def evaluate_hierarchy(horizon: int, origins: int, spacing: int) -> str:
    """Reconciliation methods on the 12 ServeGen clients as a fleet (team = the ServeGen model, environment 'prod'
    except m-small's clients, 'staging'): mean over nodes and origins of MAE / mean actual, per level. 'none' is
    the nodes' own (incoherent) forecasts."""
    from gpucast.forecast.hierarchy import build_tree, forecast_hierarchy

    raw = pd.read_csv(REPO / "data" / "traffic" / "servegen_clients.csv")
    groups = {s: (s.split("/")[0], "staging" if s.startswith("m-small") else "prod") for s in raw["service"].unique()}
    wide = raw.pivot(index="timestamp", columns="service", values="rps")
    _, summing = build_tree([str(c) for c in wide.columns], groups)
    actual = summing @ wide.to_numpy(dtype=float).T
    errors: dict[str, dict[str, list[float]]] = {m: {} for m in METHODS}
    for end in cuts(wide.shape[0], horizon, origins, spacing):
        train = raw[raw["timestamp"] < wide.index[end]]
        hf = forecast_hierarchy(load_history(train, id_col="service"), horizon, groups, n_jobs=1)
        for method in METHODS:
            fitted = hf if method in ("bottom_up", "none") else forecast_hierarchy(
                load_history(train, id_col="service"), horizon, groups, method=method, n_jobs=1
            )  # fmt: skip
            for i, node in enumerate(fitted.nodes):
                mean = (np.array(fitted.base_means[node.id]) if method == "none"
                        else np.array([p.mean for p in fitted.results[node.id].forecast]))  # fmt: skip
                truth = actual[i, end : end + horizon]
                errors[method].setdefault(node.level, []).append(
                    float(np.mean(np.abs(mean - truth)) / max(np.mean(truth), 1e-9))
                )
    levels = ("all", "environment", "team", "service")
    lines = ["| method | " + " | ".join(levels) + " |", "| --- |" + " ---: |" * len(levels)]
    for method in METHODS:
        lines.append(
            f"| {method} | " + " | ".join(f"{statistics.fmean(errors[method][lv]):.3f}" for lv in levels) + " |"
        )
    return "\n".join(lines)


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def table(scores: list[Score]) -> str:
    lines = [
        "| series | family | gpucast / naive | gpucast / sf median | sf median / naive | 80% cover | 95% cover |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in scores:
        lines.append(
            f"| {s.name} | {s.family} | {_fmt(s.vs_naive)} | {_fmt(s.vs_sf)} | {_fmt(s.sf_vs_naive)} "
            f"| {s.cov80:.2f} | {s.cov95:.2f} |"
        )
    groups = {}
    for s in scores:
        groups.setdefault(s.family, []).append(s)
    groups["all hourly series"] = [s for s in scores if s.family not in PROTOCOLS]
    for family, members in groups.items():
        if not members:
            continue
        sf = [m.vs_sf for m in members if m.vs_sf is not None]
        sfn = [m.sf_vs_naive for m in members if m.sf_vs_naive is not None]
        lines.append(
            f"| **{family}** ({len(members)}) | geo-mean / mean | **{geomean([m.vs_naive for m in members]):.3f}** "
            f"| {_fmt(geomean(sf) if sf else None)} | {_fmt(geomean(sfn) if sfn else None)} "
            f"| {statistics.fmean(m.cov80 for m in members):.2f} | {statistics.fmean(m.cov95 for m in members):.2f} |"
        )
    return "\n".join(lines)


def summary(scores: list[Score]) -> str:
    bad80 = [s.name for s in scores if not 0.70 <= s.cov80 <= 0.90]
    bad95 = [s.name for s in scores if not 0.88 <= s.cov95 <= 0.98]
    return (
        f"Series outside 70-90% at the 80% level: {len(bad80)} of {len(scores)}"
        + (f" ({', '.join(bad80)})" if bad80 else "")
        + f"; outside 88-98% at the 95% level: {len(bad95)}"
        + (f" ({', '.join(bad95)})" if bad95 else "")
        + "."
    )


def write_docs(text: str) -> None:
    page = DOC.read_text()
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizon", type=int, default=48, help="hours forecast at each origin (default 48)")
    parser.add_argument("--origins", type=int, default=16, help="origins per series (default 16)")
    parser.add_argument("--spacing", type=int, default=12, help="hours between origins (default 12)")
    parser.add_argument("--series", default="", help="only series whose name contains this text")
    parser.add_argument("--no-statsforecast", action="store_true", help="skip the statsforecast median (faster)")
    parser.add_argument("--no-short", action="store_true", help="leave out the one-hour and one-day traces")
    parser.add_argument(
        "--engine", choices=("fast", "statsforecast"), default="fast", help="forecast_load's engine (default fast)"
    )
    short_families = (SHORT_FAMILY, ONE_DAY_FAMILY)
    parser.add_argument(
        "--hierarchy", action="store_true", help="also compare reconciliation methods (ServeGen clients)"
    )
    parser.add_argument("--write-docs", action="store_true", help=f"write the table into {DOC.relative_to(REPO)}")
    args = parser.parse_args(argv)
    if args.write_docs and args.engine != "fast":
        parser.error("--write-docs writes the default engine's table; leave out --engine to write it")
    started = time.perf_counter()
    scores = [
        evaluate(s, args.horizon, args.origins, args.spacing, not args.no_statsforecast, args.engine)
        for s in traces()
        if args.series in s.name and not (args.no_short and s.family in short_families)
    ]
    if not scores:
        print(f"no series matches {args.series!r}", file=sys.stderr)
        return 2
    text = table(scores)
    footer = (
        f"{summary(scores)}\n\nProtocol: {args.origins} origins {args.spacing} h apart, {args.horizon}-hour horizon "
        f"each, the last ending at the series' end; `python scripts/evaluate_forecasts.py --horizon {args.horizon} "
        f"--origins {args.origins} --spacing {args.spacing}{' --hierarchy' if args.hierarchy else ''}"
        f"{'' if args.engine == 'fast' else ' --engine ' + args.engine}` "
        f"({time.perf_counter() - started:.0f} s of the table on this run). One-hour traces (per minute): "
        f"{SHORT.origins} origins {SHORT.spacing} min apart, {SHORT.horizon}-minute horizon, at least "
        f"{SHORT.min_history} minutes of history; naive = the last minute repeated, sf median = Naive, Theta, AutoETS. "
        f"One-day traces (per 10 minutes): {ONE_DAY.origins} origins {ONE_DAY.spacing * 10} min apart, "
        f"{ONE_DAY.horizon * 10}-minute horizon, at least {ONE_DAY.min_history * 10} minutes of history; naive = the "
        "last 10 minutes repeated, sf median = Naive, Theta, AutoETS. One-week traces (hourly): "
        f"{WEEK.origins} origins {WEEK.spacing} h apart, {WEEK.horizon}-hour horizon, at least "
        f"{WEEK.min_history} hours of history; naive and sf median as for the hourly series."
    )
    if args.hierarchy:
        fleet = evaluate_hierarchy(args.horizon, min(args.origins, 6), 24)
        footer += (
            "\n\nReconciliation on the 12 ServeGen clients as one fleet (team = model, m-small's clients in "
            "'staging'; mean of MAE / mean actual per level over nodes and origins, 24 h apart; 'none': each "
            f"node's own forecast, not coherent):\n\n{fleet}"
        )
    print(text)
    print()
    print(footer)
    if args.write_docs:
        write_docs(f"{text}\n\n{footer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
