"""Traffic forecasting: load a service's request history, forecast it with intervals, apply scenarios.

Needs the ``[forecast]`` extra (pandas, statsforecast). Importing this package never needs it — the result types
and scenarios are standard library — but the functions that read or fit raise :class:`~gpucast.errors.InputError`
with the install command when it is missing, so ``import gpucast`` stays light and never crashes.

::

    from gpucast.forecast import load_history, forecast_load, peaks
    history = load_history("traffic.csv")                 # unique_id, ds, y (requests per second)
    result = forecast_load(history, "14d", scenario="pessimistic", growth_rate=5)
    result.backtest.mase, result.backtest.baseline_mase  # ensemble vs SeasonalNaive on the rolling-origin backtest
    [p.peak for p in peaks(result, "day")]               # p95 of hi80 per day: what capacity must carry
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..extras import install_hint
from ..wording import ascii_count
from .result import Backtest, ForecastPoint, ForecastResult, Member
from .scenarios import SCENARIOS, Peak, apply_scenario, peaks, scenario_name

if TYPE_CHECKING:
    from .history import History

__all__ = [
    "SCENARIOS",
    "Backtest",
    "ForecastPoint",
    "ForecastResult",
    "Member",
    "Peak",
    "apply_scenario",
    "forecast_fleet",
    "forecast_future_needs",
    "forecast_load",
    "load_history",
    "parse_horizon",
    "peaks",
]

FAST_FLEET_SERVICES = 100  # fleets of at least this many services use the fast mode unless told otherwise
MAX_HORIZON_DAYS = 366  # beyond a year a traffic forecast from weeks of history is not an answer
# steps a forecast returns at most: a year of 5-minute steps. A history at 1 s steps (or one of sub-second timestamps,
# read as 1 s) forecast over the default 14 days was 1,209,600 steps: ~30 s, 3.5 GB and a 196 MB `predict --json`,
# and 366 days (31.6M steps) ran out of memory, on the CLI and in the server (`POST /api/v1/forecast`)
MAX_HORIZON_STEPS = MAX_HORIZON_DAYS * 288
_UNITS_S = {"min": 60, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


ENGINES = ("fast", "statsforecast")


def _require(engine: str = "fast") -> None:
    """Fail with the install command, not an ImportError traceback, when the extra is missing. The default engine
    needs pandas only: importing statsforecast costs ~2 s, so it is imported only for ``engine="statsforecast"``."""
    if engine not in ENGINES:
        raise InputError(f"unknown forecasting engine {engine!r}; accepted: {', '.join(ENGINES)}")
    try:
        import pandas  # type: ignore[import-untyped]  # noqa: F401

        if engine == "statsforecast":
            import statsforecast  # noqa: F401
    except ImportError as exc:
        raise InputError(
            f"traffic forecasting needs pandas and statsforecast ({exc.name} is missing); {install_hint('forecast')}"
        ) from None


def load_history(source: Any, **options: Any) -> History:
    """Read a CSV/JSON/Parquet file or DataFrame into a History (options: value_col, timestamp_col, id_col, freq,
    kind); see :mod:`gpucast.forecast.history` for the formats and the documented repairs."""
    _require()
    from .history import load_history as _load

    return _load(source, **options)


def parse_horizon(horizon: str | int, freq: str) -> int:
    """'14d', '168h', '2w', '90min' or a bare number of steps → number of ``freq`` steps (must divide evenly)."""
    _require()
    from .history import step_seconds
    from .steps import freq_label

    step = step_seconds(freq)
    count = ascii_count(horizon) if isinstance(horizon, str) else None  # "²" and 5,000 digits were a ValueError
    if isinstance(horizon, int):
        steps = horizon
    elif count is not None:
        steps = count
    else:
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(min|m|h|d|w)\s*", str(horizon).lower())
        if not match:
            raise InputError(f"cannot read horizon {horizon!r}; use e.g. 14d, 168h, 2w, 90min or a number of steps")
        seconds = float(match.group(1)) * _UNITS_S[match.group(2)]
        if seconds > MAX_HORIZON_DAYS * 86_400:  # also a 400-digit number, whose float is inf (round() overflowed)
            raise InputError(
                f"horizon {horizon!r} must be between one {freq_label(freq)} step and {MAX_HORIZON_DAYS} days"
            )
        steps = round(seconds / step)
        if steps * step != seconds:
            raise InputError(
                f"horizon {horizon!r} is not a whole number of {freq_label(freq)} steps; use a multiple of {freq_label(freq)}"
            )
    if steps < 1 or steps * step > MAX_HORIZON_DAYS * 86_400:
        raise InputError(f"horizon {horizon!r} must be between one {freq_label(freq)} step and {MAX_HORIZON_DAYS} days")
    if steps > MAX_HORIZON_STEPS:
        raise InputError(
            f"horizon {horizon!r} is {steps:,} steps of {freq_label(freq)}, more than the {MAX_HORIZON_STEPS:,} a "
            f"forecast returns (a year of 5-minute steps): aggregate the history to a coarser freq (e.g. 5min, 1h) "
            "or shorten the horizon"
        )
    return steps


def _as_history(history: Any, freq: str | None, unique_id: str | None = None) -> History:
    from .history import History, history_from_values
    from .history import load_history as _load

    if isinstance(history, History):
        if freq is None or _same_freq(freq, history.freq):
            return history
        coarser = _load(history.frame, freq=freq, kind="series")
        return History(
            coarser.frame, coarser.freq, history.kind, [*history.warnings, *coarser.warnings], coarser.outages
        )
    if isinstance(history, list | tuple):
        try:
            values = [float(v) for v in history]
        except (TypeError, ValueError):
            bad = next(v for v in history if not _is_number(v))
            raise InputError(f"history value {bad!r} is not a number; pass request rates (req/s)") from None
        return history_from_values(values, freq=freq or "1h")
    if isinstance(history, str | Path) or hasattr(history, "columns"):
        return _load(history, freq=freq, unique_id=unique_id)  # only that service is checked and repaired
    raise InputError(
        f"history of type {type(history).__name__} is not accepted; pass a path, a DataFrame or a list of rps"
    )


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _same_freq(a: str, b: str) -> bool:
    from .history import normalize_freq, step_seconds

    return step_seconds(normalize_freq(a)) == step_seconds(b)  # "nope": the loader's "unknown freq", not pandas'


def _levels(level: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    numbers = list(level) if isinstance(level, list | tuple) else None  # "x" was int("x"): a ValueError
    if numbers is None or any(isinstance(lv, bool) or not isinstance(lv, int | float) or lv != lv for lv in numbers):
        raise InputError(f"interval levels {level!r} are not accepted; use whole percents from 50 to 99, e.g. (80, 95)")
    levels = tuple(sorted({int(lv) for lv in numbers}))
    if not levels or any(not 50 <= lv <= 99 for lv in levels):
        raise InputError(
            f"interval levels {list(level)} are not accepted; use whole percents from 50 to 99, e.g. (80, 95)"
        )
    return levels


def forecast_fleet(
    history: Any,
    horizon: str | int,
    *,
    freq: str | None = None,
    scenario: str = "baseline",
    growth_rate: float = 0.0,
    level: tuple[int, ...] | list[int] = (80, 95),
    n_jobs: int = -1,
    fast: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
    backend: str = "local",
    scheduler: Any = None,
    engine: str = "fast",
) -> dict[str, ForecastResult]:
    """Forecast every service of a history (one per ``unique_id``), in parallel over ``n_jobs`` cores (-1: all).

    ``engine="fast"`` (default): numpy members backtested on many rolling origins, weighted by their errors, with
    log-scale conformal bands (``fast.py``; about 0.08 s of CPU a service at 8 weeks hourly, measured in
    docs/forecast-accuracy.md). ``engine="statsforecast"``: the statsforecast ensemble described next
    (``ensemble.py``), its bands the fast engine's rule around its own mean, widened by the factor its backtest folds
    needed (``fold_bands.py``); a Dask ``backend`` always uses it.

    With the statsforecast engine, all services are fitted together: one statsforecast call per member set and backtest layout, spread over the
    cores. ``fast`` is the fleet mode: the ensemble keeps SeasonalNaive, MSTL and MSTL-ARIMA (dropping MSTL-Theta
    and MSTL-log, the slowest members) and backtests on one fold instead of three (coverage is then checked on that
    fold) — about 7× less fitting, so 1,000 services of 8 weeks hourly fit in under two minutes on
    two cores. ``None`` (default) turns it on for histories of at least ``FAST_FLEET_SERVICES`` services; every
    result then says so in its warnings. Single services (``forecast_load``) always get the full ensemble.

    ``progress(done, total)`` is called with the number of services finished, from 0 up to the total, after each
    chunk (total/20 services, at least 100 in fast mode or 20 in full; see ``ensemble.forecast_frame``): a fleet
    takes minutes, callers show a bar.
    ``backend="dask"`` fits on a Dask cluster through statsforecast's own distributed backend — a temporary local
    cluster, or the running one at ``scheduler`` (an address or a ``dask.distributed.Client``); same answers, for
    fleets beyond one machine (see :mod:`gpucast.forecast.distributed`; needs ``gpucast[distributed]``).
    """
    if backend != "local":
        engine = "statsforecast"  # statsforecast's own distributed backend fits its models
    _require(engine)
    from .distributed import check_backend, open_backend
    from .ensemble import forecast_frame

    check_backend(backend, scheduler)
    levels = _levels(level)
    scenario = scenario_name(scenario)
    if scenario not in SCENARIOS:
        raise InputError(f"unknown scenario {scenario!r}; accepted: {', '.join(SCENARIOS)}")
    hist = _as_history(history, freq)
    steps = parse_horizon(horizon, hist.freq)
    if fast is None:
        fast = len(hist.ids) >= FAST_FLEET_SERVICES and engine == "statsforecast"
    notes = list(hist.warnings)
    if fast and engine == "statsforecast":
        notes.append(
            "fast fleet mode: members SeasonalNaive, MSTL, MSTL-ARIMA and a one-fold backtest (pass fast=False "
            "for the full ensemble)"
        )
    with open_backend(backend, scheduler, n_jobs) as runner:
        results = forecast_frame(
            hist.frame, hist.freq, steps, levels=levels, n_jobs=n_jobs, notes=notes, fast=fast, progress=progress,
            backend=runner, engine=engine, outages=hist.outages,
        )  # fmt: skip
    out = {}
    for uid, result in results.items():
        if steps > result.fit_points:
            note = f"horizon of {steps} steps is longer than the {result.fit_points}-step fitted history: treat the far end with care"
            result = replace(result, warnings=[*result.warnings, note])
        out[uid] = apply_scenario(result, scenario, growth_rate)
    return out


def forecast_load(
    history: Any,
    horizon: str | int,
    *,
    freq: str | None = None,
    scenario: str = "baseline",
    growth_rate: float = 0.0,
    level: tuple[int, ...] | list[int] = (80, 95),
    unique_id: str | None = None,
    engine: str = "fast",
) -> ForecastResult:
    """Forecast one service's load ``horizon`` ahead ('14d', '168h', '2w' or steps) with intervals at ``level``.

    ``history`` is a History, a path, a DataFrame or a list of rps values (hourly). A file with several services
    needs ``unique_id`` (or use :func:`forecast_fleet`). ``scenario``/``growth_rate``: see
    :mod:`gpucast.forecast.scenarios`. ``engine``: "fast" (default) or "statsforecast" (see :func:`forecast_fleet`).
    """
    _require(engine)
    hist = _as_history(history, freq, unique_id)
    ids = hist.ids
    if unique_id is None and len(ids) > 1:
        raise InputError(
            f"the history holds {len(ids)} services ({', '.join(ids[:5])}…); pass unique_id or use forecast_fleet"
        )
    if unique_id is not None:
        if unique_id not in ids:
            raise InputError(f"unique_id {unique_id!r} is not in the history; services: {', '.join(ids[:10])}")
        frame = hist.frame[hist.frame["unique_id"] == unique_id]
        hist = replace(hist, frame=frame)
    results = forecast_fleet(
        hist, horizon, scenario=scenario, growth_rate=growth_rate, level=level, n_jobs=1, fast=False, engine=engine
    )
    return next(iter(results.values()))


def forecast_future_needs(
    rps_history: Any,
    horizon_days: float,
    scenario: str = "baseline",
    *,
    growth_rate: float = 0.0,
    freq: str = "1h",
) -> ForecastResult:
    """The seed's ``LLMForecastEngine.forecast_future_needs`` core: a list of hourly rps (or a frame/History/path)
    forecast ``horizon_days`` ahead under ``scenario``. A bare list is taken to end at the current UTC hour."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int | float) or not 0 < horizon_days < math.inf:
        raise InputError(f"horizon_days must be a finite number > 0, got {horizon_days!r}")  # "7", None: TypeError
    _require()
    from .history import step_seconds

    steps = max(1, round(horizon_days * 86_400 / step_seconds(freq)))
    return forecast_load(rps_history, steps, freq=freq, scenario=scenario, growth_rate=growth_rate)
