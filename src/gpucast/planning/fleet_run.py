"""One fleet forecast and capacity plan, as ``gpucast fleet --json`` prints it and ``POST /api/v1/fleet`` returns it.

Why a module of its own: the terminal command and the REST endpoint take the same inputs (a history with one row
per service and time, and service -> team, environment, model, tokens; or the store's services) and must give the
same answer, so the parsing of the services table, the checks and the JSON are written once, here. The front-ends
only read files or the database and render.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError

SERVICE_COLUMNS = ("service", "team", "environment")
CONFIG_COLUMNS = ("model", "input_tokens", "output_tokens", "gpu", "precision", "cloud")
RECONCILE = ("bottom_up", "mint_shrink", "wls", "ols")
PERIODS = ("day", "week")


def services_from_rows(
    rows: list[dict[str, Any]], source: str
) -> tuple[dict[str, tuple[str, str]], dict[str, dict[str, str]]]:
    """(service -> (team, environment), service -> its other non-empty columns) from a services table's rows
    (``csv.DictReader``); ``source`` names the table in messages ("--services 'x.csv'", "the services file")."""
    if not rows or any(c not in rows[0] for c in SERVICE_COLUMNS):
        raise InputError(f"{source} needs the columns {', '.join(SERVICE_COLUMNS)} (and a row per service)")
    groups, extra = {}, {}
    lines: dict[str, int] = {}  # service -> the line it was first given on
    for i, row in enumerate(rows, start=2):
        name, team, env = (str(row.get(c) or "").strip() for c in SERVICE_COLUMNS)
        if not (name and team and env):
            raise InputError(f"{source} line {i}: service, team and environment must all be given")
        if name in lines:  # the later row replaced the earlier one silently (its team, model and tokens)
            raise InputError(f"{source} line {i}: service {name!r} is listed again (first on line {lines[name]}); "
                             "give each service one row")  # fmt: skip
        lines[name] = i
        groups[name] = (team, env)
        extra[name] = {c: str(row[c]).strip() for c in CONFIG_COLUMNS if row.get(c) and str(row[c]).strip()}
    return groups, extra


def configs_from(
    extra: dict[str, dict[str, str]], services: list[str], where: str = "--services", skip: str = "pass --no-capacity"
) -> dict[str, Any]:
    """ServiceConfig per service from the services table's columns; InputError naming what is missing
    (``where``: the table, ``skip``: how to ask for no capacity plan, as the caller's user knows them)."""
    from ..inputs.types import GPUConfig, ModelConfig, ServingOptions
    from .fleet import ServiceConfig

    missing = [s for s in services if not all(k in extra.get(s, {}) for k in CONFIG_COLUMNS[:3])]
    if missing:
        shown = ", ".join(missing[:5]) + ("…" if len(missing) > 5 else "")
        raise InputError(f"{len(missing)} services lack model, input_tokens or output_tokens ({shown}); add those "
                         f"columns to {where} or {skip}")  # fmt: skip
    out = {}
    for s in services:
        row = extra[s]
        tokens = []
        for key in ("input_tokens", "output_tokens"):
            try:
                tokens.append(int(float(row[key])))
            except (ValueError, OverflowError):  # "inf" and "1e400" overflow int(): a traceback before
                raise InputError(f"service {s!r}: {key} {row[key]!r} is not a number of tokens") from None
            if tokens[-1] < 1:
                raise InputError(f"service {s!r}: {key} must be at least 1, got {row[key]}")
        out[s] = ServiceConfig(
            ModelConfig(model_name=row["model"], precision=row.get("precision")), tokens[0], tokens[1],
            GPUConfig(gpu_type=row.get("gpu")), ServingOptions(cloud=row.get("cloud", "aws")),
        )  # fmt: skip
    return out


@dataclass(frozen=True)
class FleetRun:
    """A reconciled fleet forecast, its capacity plan (None: not asked for), the notes on services left out, and
    the services not forecast (too short or too gappy: service -> why), which the totals and plan exclude."""

    forecast: Any  # gpucast.forecast.hierarchy.HierarchyForecast
    plan: Any  # gpucast.planning.fleet.FleetPlan | None
    notes: list[str]
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """What ``gpucast fleet --json`` prints and ``POST /api/v1/fleet`` returns (non-finite floats as null)."""
        from ..jsonable import json_ready

        data: dict[str, Any] = {"forecast": self.forecast.to_dict(), "notes": list(self.notes)}
        data["not_forecast"] = [{"service": s, "status": "not forecast", "reason": r} for s, r in self.skipped.items()]
        data["totals_exclude"] = len(self.skipped)
        if self.plan is not None:
            data["capacity"] = self.plan.to_dict()
        return dict(json_ready(data))


def run_fleet(
    history: Any,
    groups: dict[str, tuple[str, str]],
    configs: dict[str, Any] | None,
    *,
    horizon: str | int = "4w",
    reconcile: str = "bottom_up",
    period: str = "week",
    current_gpus: int | None = None,
    capacity: bool = True,
    notes: list[str] | None = None,
    skip: str = "pass --no-capacity",
) -> FleetRun:
    """Forecast every service of ``history`` (a History) and its teams, environments and total coherently
    (``reconcile``); with ``capacity``, size each service from ``configs`` (service -> ServiceConfig) and plan the
    GPUs per team and ``period``, when ``current_gpus`` run out, and the monthly spend. ``skip``: how the caller's
    user asks for no capacity plan (named in the error when a service lacks its model)."""
    from ..forecast.hierarchy import forecast_hierarchy

    if reconcile not in RECONCILE:
        raise InputError(f"reconcile must be one of {', '.join(RECONCILE)}, not {reconcile!r}")
    if period not in PERIODS:
        raise InputError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    if current_gpus is not None and current_gpus < 0:
        raise InputError(f"current GPUs must be >= 0, got {current_gpus}")
    if capacity:  # checked before the (slow) forecast: a missing model fails at once
        lacking = [s for s in history.ids if not configs or s not in configs]
        if lacking:
            raise InputError(f"{len(lacking)} services have no model or tokens ({', '.join(lacking[:5])}); set them "
                             "(`gpucast service update NAME --model M --input-tokens I --output-tokens O`) or "
                             f"{skip}")  # fmt: skip
    hf = forecast_hierarchy(history, horizon, groups, method=reconcile)
    plan = None
    if capacity:
        from .fleet import fleet_plan

        plan = fleet_plan(hf, configs or {}, history=history, period=period, current_gpus=current_gpus)
    skipped = dict(getattr(history, "skipped", {}))
    # a service of the table with no row in the history was left out without a word (the store's path says so)
    absent = [f"{s}: no usage history, left out" for s in groups if s not in history.ids and s not in skipped]
    # `fleet --no-capacity --current-gpus 400` printed no run-out date and no word about the 400
    unused = [] if capacity or current_gpus is None else [
        f"current GPUs ({current_gpus}) not used: without the capacity plan there is no run-out date"]  # fmt: skip
    return FleetRun(hf, plan, [*(notes or []), *absent, *skipped_notes(skipped), *unused], skipped)


def skipped_notes(skipped: dict[str, str]) -> list[str]:
    """One line per service not forecast, then what the totals leave out (none when every service was forecast).
    Left out, not filled with a guess: a service with a handful of points has no backtest to check any level or
    band against, so a number for it in the totals would look checked and is not."""
    if not skipped:
        return []
    lines = [f"{s}: not forecast ({r}); left out of the totals" for s, r in skipped.items()]
    return [*lines, f"totals exclude {len(skipped)} service{'s' if len(skipped) != 1 else ''} not forecast"]
