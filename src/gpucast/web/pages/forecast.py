"""The forecast page: upload a traffic history (or pick a stored service), see the fan chart, the backtest and the
capacity timeline; switch scenario without uploading again.

``GET /forecast`` is the empty form, or the result for a stored service (``/forecast?service=chat&scenario=spike``:
bookmarkable). An upload is a ``POST /forecast`` (multipart, with the CSRF token); the result page keeps the
uploaded file in a hidden base64 field so the scenario switcher re-submits it with another scenario. Both go
through :func:`gpucast.web.forecasting.run_forecast`, the same code as ``POST /api/v1/forecast``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import asdict, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.datastructures import UploadFile
from starlette.responses import Response

from ...errors import GpucastError, InputError
from ...wording import counted
from ..forecasting import PERIODS, ForecastQuery, ForecastRun, run_forecast, service_history_csv, service_settings
from . import session as sessions
from .planning import pickers
from .render import cli_count, error_message, form_values, render, require_reader
from .saving import Computed, save_result
from .wording import label

router = APIRouter(include_in_schema=False)

SCENARIOS = ("baseline", "optimistic", "pessimistic", "spike")
FIELDS = ("service", "horizon", "scenario", "growth_rate", "series", "model", "gpu", "precision", "input_tokens",
          "output_tokens", "cloud", "period", "current_gpus")  # fmt: skip
# no precision: the published checkpoint's, as `gpucast predict` (FP16 here planned DeepSeek-R1 at 2.4x its GPUs)
DEFAULTS = {"horizon": "14d", "scenario": "baseline", "growth_rate": "0", "cloud": "aws", "period": "day"}
KEEP_UPLOAD_BYTES = 2 * 1024 * 1024  # larger uploads are not carried in the page for the scenario switcher
CARRIED_PART_BYTES = 4 * 1024 * 1024  # the hidden base64 copy (4/3 of the file) is a form field, not a file
_SVG = re.compile(r"<svg.*</svg>", re.DOTALL)


def query_from(values: dict[str, str]) -> ForecastQuery:
    """The form's text fields as a ForecastQuery, with a readable error naming a field that is not a number."""

    def number(name: str, kind: type[int] | type[float]) -> Any:
        raw = values.get(name)
        if raw is None:
            return None
        if name.endswith("_tokens"):
            raw = cli_count(raw)  # "1e3" tokens, as the CLI reads them
        try:
            return kind(raw)
        except ValueError:
            raise InputError(f"{name}: {raw!r} is not a{'n integer' if kind is int else ' number'}") from None

    growth = number("growth_rate", float)
    return ForecastQuery(
        horizon=values.get("horizon", DEFAULTS["horizon"]), scenario=values.get("scenario", DEFAULTS["scenario"]),
        growth_rate=0.0 if growth is None else growth, series=values.get("series") or values.get("service"),
        model=values.get("model"), gpu=values.get("gpu"), precision=values.get("precision"),
        input_tokens=number("input_tokens", int), output_tokens=number("output_tokens", int),
        cloud=values.get("cloud", DEFAULTS["cloud"]), period=values.get("period", DEFAULTS["period"]),
        current_gpus=number("current_gpus", int),
    )  # fmt: skip


def fan_svg(run: ForecastRun) -> Markup:
    """The fan chart of ``gpucast predict --plot FILE.html`` (history, mean, 80% and 95% bands), its SVG only."""
    from ...forecast.plot import fan_chart_html, fan_data

    match = _SVG.search(fan_chart_html(fan_data(run.history, run.result)))
    svg = match.group(0) if match else ""
    return Markup(
        svg.replace("<svg ", '<svg class="chart" id="fan-chart" role="img" aria-label="forecast fan chart" ', 1)
    )


_STEP = re.compile(r"(\d*)(D|h|min|s)")  # a canonical step alias (forecast.history.normalize_freq)
_UNITS = (("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1))
_UNIT_OF = {"D": "day", "h": "hour", "min": "minute", "s": "second"}


def step_words(freq: str) -> str:
    """A forecast's step in words: 'h' → '1 hour', '5min' → '5 minutes', 'D' → '1 day' (else as given)."""
    match = _STEP.fullmatch(freq)
    if match is None:
        return freq
    return counted(int(match.group(1) or 1), _UNIT_OF[match.group(2)])


def step_seconds(freq: str) -> int | None:
    match = _STEP.fullmatch(freq)
    if match is None:
        return None
    return int(match.group(1) or 1) * dict(_UNITS)[_UNIT_OF[match.group(2)]]


def duration_words(seconds: int) -> str:
    """A span in the largest unit that divides it: 336 hours → '14 days', 36 hours → '36 hours'."""
    for unit, size in _UNITS:
        if seconds % size == 0:
            return counted(seconds // size, unit)
    return counted(seconds, "second")


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """Headline figures: the steps in words, the range of the mean and the highest upper-80% bound."""
    points = data["forecast"]
    means = [p["mean"] for p in points]
    step = step_seconds(str(data.get("freq", "")))
    return {
        "steps": len(points),
        "step": step_words(str(data.get("freq", ""))),
        "span": duration_words(step * len(points)) if step and points else "",
        "first": points[0]["timestamp"] if points else "",
        "last": points[-1]["timestamp"] if points else "",
        "mean_low": min(means, default=0.0),
        "mean_high": max(means, default=0.0),
        "peak": max((p.get("hi80", p["mean"]) for p in points), default=0.0),
    }


def _page(request: Request, values: dict[str, str], *, run: ForecastRun | None = None, error: str | None = None,
          status: int = 200, upload: dict[str, str] | None = None, stored: dict[str, str] | None = None) -> Response:  # fmt: skip
    """The page; ``stored`` (a service's settings) fills the form's empty fields but stays out of the links."""
    context = {"values": DEFAULTS | (stored or {}) | values, "pickers": pickers(), "scenarios": SCENARIOS,
               "periods": PERIODS, "error": error, "result": None, "upload": upload}  # fmt: skip
    if run is not None:
        links = {sc: "/forecast?" + urlencode(values | {"scenario": sc}) for sc in SCENARIOS}
        context["result"] = {"data": run.data, "fan": fan_svg(run), "summary": summary(run.data), "links": links}
    return render(request, "forecast.html", context, status)


def _compute(request: Request, values: dict[str, str], content: bytes, filename: str | None,
             upload: dict[str, str] | None, stored: dict[str, str] | None = None) -> Response:  # fmt: skip
    try:
        run = run_forecast(content, filename, query_from((stored or {}) | values), label)
    except GpucastError as error:
        message, status = error_message(error)
        return _page(request, values, error=message, status=status, upload=upload, stored=stored)
    return _page(request, values, run=run, upload=upload, stored=stored)


@router.get("/forecast")
def forecast_page(request: Request) -> Response:
    """The form; with ``?service=NAME`` the forecast of that service's stored usage history."""
    require_reader(request)
    values = form_values(request.query_params, FIELDS)
    if not values.get("service"):
        return _page(request, values)
    try:
        content = service_history_csv(request.app.state.store, values["service"])
        settings = service_settings(request.app.state.store, values["service"])
    except GpucastError as error:
        message, status = error_message(error)
        return _page(request, values, error=message, status=status)
    stored = {key: str(value) for key, value in settings.items()}  # the form's own fields win over these
    return _compute(request, values, content, "history.csv", None, stored)


@router.post("/forecast")
async def forecast_upload(request: Request) -> Response:
    """Forecast an uploaded history (or the one carried by the scenario switcher)."""
    require_reader(request)
    form = await request.form(max_part_size=CARRIED_PART_BYTES)
    values = form_values(form, FIELDS)
    values.pop("service", None)
    try:
        sessions.check_csrf(request, form)
        content, filename = _uploaded(form)
    except (sessions.CsrfError, GpucastError) as error:
        message, status = error_message(error)
        return _page(request, values, error=message, status=status)
    finally:
        await form.close()  # the upload's spooled temporary file
    upload = None
    if len(content) <= KEEP_UPLOAD_BYTES:
        upload = {"data": base64.b64encode(content).decode(), "name": filename or "history.csv"}
    return _compute(request, values, content, filename, upload)


@router.post("/forecast/save")
async def save(request: Request) -> Response:
    """Store the forecast recomputed from the posted fields and history in the plan history (logged-in user).

    The history is the stored service named by ``history_service`` or the upload the result page carries; the
    ``service`` field only links the saved forecast to a service."""
    return await save_result(request, FIELDS, _computed, _failed, max_part_size=CARRIED_PART_BYTES)


def _computed(request: Request, values: dict[str, str], form: Any) -> Computed:
    posted = form.get("history_service")
    source = posted if isinstance(posted, str) and posted else None
    filename: str | None = "history.csv"
    if source:
        content = service_history_csv(request.app.state.store, source)
    else:
        content, filename = _uploaded(form)
    query = replace(
        query_from({k: v for k, v in values.items() if k != "service"}), series=values.get("series") or source or None
    )
    run = run_forecast(content, filename, query, label)
    inputs = {**asdict(query), "history": f"service:{source}" if source else filename}
    return Computed("predict", "forecast", inputs, run.data)


def _failed(request: Request, values: dict[str, str], message: str, status: int) -> Response:
    return _page(request, values, error=message, status=status)


def _uploaded(form: Any) -> tuple[bytes, str | None]:
    """The history from the file field, else from the hidden base64 copy the result page carries."""
    file = form.get("file")
    if isinstance(file, UploadFile) and file.filename:
        return file.file.read(), file.filename
    kept = form.get("history_data")
    if isinstance(kept, str) and kept:
        try:
            content = base64.b64decode(kept, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("file: the carried history is damaged; upload the file again") from None
        name = form.get("history_name")
        return content, name if isinstance(name, str) else None
    raise InputError("file: choose a history file (CSV, TSV, JSON or Parquet of timestamp,rps)")
