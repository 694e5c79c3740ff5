"""The fleet page: the stored services' forecast reconciled over service → team → environment → all, the GPUs
each team needs per period with a range, when the fleet runs out and the monthly spend (``gpucast fleet
--from-store``; ``POST /api/v1/fleet`` with ``from_store=true``).

``GET /fleet`` is the form; with ``?run=1`` (and optional ``team``, ``environment``, ``horizon``, ``period``,
``reconcile``, ``current_gpus``) the result, bookmarkable. Both front-ends call
:func:`gpucast.planning.fleet_run.run_fleet` through :func:`gpucast.web.forecasting.stored_fleet`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...errors import GpucastError, InputError
from ...planning.fleet_run import PERIODS, RECONCILE, run_fleet
from ...wording import ascii_count
from ..forecasting import stored_fleet
from .render import error_message, form_values, render, require_reader

router = APIRouter(include_in_schema=False)

FIELDS = ("team", "environment", "horizon", "period", "reconcile", "current_gpus", "run")
DEFAULTS = {"horizon": "4w", "period": "week", "reconcile": "bottom_up"}
SKIP = "leave out the services without a model (filter by team or environment)"


def _rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per forecast node: level, name, mean and peak of the mean, highest upper-80% bound, MASE, and the
    achieved coverage of the node's own band in its last backtest (with the steps ahead it was checked on)."""
    rows = []
    for node in data["nodes"]:
        means = [p["mean"] for p in node["forecast"]] or [0.0]
        rows.append({"level": node["level"], "name": node["name"], "mean": sum(means) / len(means),
                     "peak": max(p.get("hi80", p["mean"]) for p in node["forecast"]) if node["forecast"] else 0.0,
                     "mase": node["backtest"].get("mase"), "naive": node["backtest"].get("baseline_mase"),
                     "cover80": node["backtest"].get("coverage80"), "cover95": node["backtest"].get("coverage95"),
                     "checked": node["backtest"].get("coverage_checked_steps"),
                     "horizon": node["backtest"].get("coverage_horizon")})  # fmt: skip
    return rows


@router.get("/fleet")
def fleet_page(request: Request) -> Response:
    """The form; with ``?run=1`` the fleet forecast and capacity of the stored services."""
    require_reader(request)
    values = form_values(request.query_params, FIELDS)
    context: dict[str, Any] = {"values": DEFAULTS | values, "periods": PERIODS, "methods": RECONCILE,
                               "error": None, "result": None}  # fmt: skip
    if not values.get("run"):
        return render(request, "fleet.html", context)
    chosen = DEFAULTS | values
    try:
        raw = chosen.get("current_gpus")
        gpus = None if raw is None else ascii_count(raw)  # not isdigit()/int(): "²" and 5,000 digits were a 500
        if raw is not None and gpus is None:
            raise InputError(f"current_gpus: {raw!r} is not a whole number of GPUs (0 or more)")
        history, groups, configs, notes = stored_fleet(request.app.state.store, values.get("team"),
                                                       values.get("environment"))  # fmt: skip
        run = run_fleet(history, groups, configs, horizon=chosen["horizon"], reconcile=chosen["reconcile"],
                        period=chosen["period"], current_gpus=gpus, notes=notes,
                        skip=SKIP)  # fmt: skip
    except GpucastError as error:
        context["error"], status = error_message(error)
        return render(request, "fleet.html", context, status)
    data = run.to_dict()
    context["result"] = {"data": data, "nodes": _rows(data["forecast"])}
    return render(request, "fleet.html", context)
