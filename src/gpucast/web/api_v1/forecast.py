"""``POST /api/v1/forecast``: a traffic forecast and capacity timeline, exactly ``gpucast predict --json``.

The history is a multipart upload (field ``file``: CSV/TSV/JSON/Parquet, as ``--history``) or a stored
service's usage samples (field ``service``, whose stored model, precision, tokens per request and cloud then
fill the fields left out); the other form fields are ``predict``'s flags. Forecasting only
reads, so it follows the read policy; ``?save=true`` stores the result as a forecast plan (a write: it needs a
token), linked to the service when the history is a stored service's. Needs the ``forecast`` extra; without it the answer is a 422 whose
message names the install command.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from ..auth import reader, store_of
from ..errors import ApiError
from ..forecasting import ForecastQuery, run_forecast, service_history_csv, service_settings
from .forms import known_form_fields, known_query
from .planning import Saving, respond

router = APIRouter(tags=["forecast"], dependencies=[Depends(reader), Depends(known_query)])

NAME = 200  # longest accepted name (model, GPU, series, service)


@router.post("/forecast")
def forecast(
    request: Request,
    file: UploadFile | None = File(None, description="history: CSV/TSV/JSON/Parquet of timestamp,rps (or a log)"),
    service: str | None = Form(None, max_length=NAME, description="instead of a file: this stored service's metrics"),
    horizon: str = Form("14d", max_length=20, description="how far ahead: 14d, 168h, 2w"),
    scenario: str = Form("baseline", max_length=20, description="baseline, optimistic, pessimistic or spike"),
    growth_rate: float = Form(0.0, ge=-100, le=1000, allow_inf_nan=False, description="extra growth in % per month"),
    series: str | None = Form(None, max_length=NAME, description="the series id when the file holds several"),
    freq: str | None = Form(None, max_length=20, description="aggregate to this frequency: 5min, 1h, 1d"),
    model: str | None = Form(
        None, max_length=NAME, description="plan a capacity timeline for this model (default: a stored service's model)"
    ),
    gpu: str | None = Form(None, max_length=NAME, description="GPU type for the capacity timeline"),
    precision: str | None = Form(
        None, max_length=20, description="default: the service's, else the checkpoint's, else FP16"
    ),
    input_tokens: int | None = Form(None, ge=1, le=10_000_000),
    output_tokens: int | None = Form(None, ge=1, le=10_000_000),
    cloud: str | None = Form(None, max_length=40, description="default: the service's, else aws"),
    period: str = Form("day", max_length=10, description="capacity timeline period: day or week"),
    current_gpus: int | None = Form(None, ge=0, le=10_000_000, description="GPUs running today"),
    actor: str | None = Saving,
    _fields: None = Depends(known_form_fields),
) -> JSONResponse:
    """Forecast load with intervals and a backtest; with ``model``, the GPUs needed per day or week."""
    if (file is None) == (not service):
        raise ApiError(422, "give either a history file (field 'file') or a stored service (field 'service')", "file")
    given: dict[str, Any] = {"model": model, "precision": precision, "input_tokens": input_tokens, "output_tokens": output_tokens,
             "cloud": cloud}  # fmt: skip
    if file is not None:
        content, filename = file.file.read(), file.filename
    else:  # a stored service: its history, and its model, tokens and cloud where the form leaves them out
        content, filename = service_history_csv(store_of(request), service or ""), "history.csv"
        stored = service_settings(store_of(request), service or "")
        given = {key: stored.get(key) if value is None else value for key, value in given.items()}
    query = ForecastQuery(
        horizon=horizon, scenario=scenario, growth_rate=growth_rate, series=series or service, freq=freq,
        model=given["model"], gpu=gpu, precision=given["precision"] or None, input_tokens=given["input_tokens"],
        output_tokens=given["output_tokens"], cloud=given["cloud"] or "aws", period=period, current_gpus=current_gpus,
    )  # fmt: skip
    result = run_forecast(content, filename, query).data
    # saved as a forecast plan: the query and the history's name (not its content), linked to the stored service
    # when the history came from one
    inputs = {**asdict(query), "history": filename if file is not None else f"service:{service}"}
    return respond(request, result, command="predict", kind="forecast", body=inputs, actor=actor, service=service)
