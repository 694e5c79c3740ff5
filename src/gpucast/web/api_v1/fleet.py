"""``POST /api/v1/fleet``: a fleet's reconciled forecast and capacity timeline, exactly ``gpucast fleet --json``.

The fleet is either uploaded — field ``file``: a history with one row per service and time (CSV/TSV/JSON/Parquet,
as ``--history``; ``id_col`` names the service column), field ``services``: the CSV of
``service,team,environment[,model,input_tokens,output_tokens,gpu,precision,cloud]`` (as ``--services``) — or,
with ``from_store=true``, the stored services and their usage samples (``team``/``environment`` narrow them), as
``gpucast fleet --from-store``. The answer is the forecast of every service, team, environment and the total
(reconciled by ``reconcile``) and, unless ``capacity=false``, the GPUs per team and ``period`` with a range, the
date ``current_gpus`` run out, and the monthly spend. Forecasting only reads, so it follows the read policy.
Both front-ends call :func:`gpucast.planning.fleet_run.run_fleet`.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from ...errors import InputError
from ...planning.fleet_run import PERIODS, RECONCILE, configs_from, run_fleet, services_from_rows
from ..auth import reader, store_of
from ..errors import ApiError
from ..forecasting import stored_fleet
from .forms import known_form_fields, known_query

router = APIRouter(tags=["forecast"], dependencies=[Depends(reader), Depends(known_query)])

NAME = 200  # longest accepted name (team, environment, column)
SKIP = "set capacity=false"  # how an API caller asks for no capacity plan (named in errors)


def _services_table(content: bytes) -> tuple[dict[str, tuple[str, str]], dict[str, dict[str, str]]]:
    """The uploaded services CSV (or TSV) read as ``--services`` is; anything else is a 422 naming what it is."""
    from ..uploads import sniff

    kind = sniff(content, "the services file")
    if kind not in (".csv", ".tsv"):
        raise InputError(f"the services file must be CSV or TSV (service,team,environment,...), not {kind[1:].upper()}")
    text = content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t" if kind == ".tsv" else ","))
    return services_from_rows(rows, "the services file")


def _uploaded(history: bytes, services: bytes, id_col: str, freq: str | None, capacity: bool) -> tuple[Any, ...]:
    """(History, groups, configs, notes) from the two uploads."""
    from ...forecast import load_history
    from ..forecasting import history_file

    groups, extra = _services_table(services)
    options = {"id_col": id_col, **({"freq": freq} if freq else {})}
    with tempfile.TemporaryDirectory(prefix="gpucast-fleet-") as folder:
        loaded = load_history(history_file(Path(folder), history, None), skip_unforecastable=True, **options)
    configs = configs_from(extra, loaded.ids, "the services file", SKIP) if capacity else None
    return loaded, groups, configs, []


@router.post("/fleet")
def fleet(
    request: Request,
    file: UploadFile | None = File(None, description="history: one row per service and time (CSV/TSV/JSON/Parquet)"),
    services: UploadFile | None = File(
        None, description="CSV: service,team,environment[,model,input_tokens,output_tokens,gpu,precision,cloud]"
    ),
    from_store: bool = Form(False, description="instead of the files: the stored services and their usage history"),
    team: str | None = Form(None, max_length=NAME, description="with from_store: only this team's services"),
    environment: str | None = Form(None, max_length=NAME, description="with from_store: only this environment"),
    id_col: str = Form("service", min_length=1, max_length=NAME, description="service column of the history file"),
    horizon: str = Form("4w", max_length=20, description="how far ahead: 4w, 28d, 672h"),
    freq: str | None = Form(None, max_length=20, description="aggregate to this frequency: 1h, 1d"),
    reconcile: str = Form("bottom_up", max_length=20, description=f"one of {', '.join(RECONCILE)}"),
    period: str = Form("week", max_length=10, description=f"capacity period: {' or '.join(PERIODS)}"),
    current_gpus: int | None = Form(None, ge=0, le=10_000_000, description="GPUs in the fleet today"),
    capacity: bool = Form(True, description="false: the forecast only, no GPUs, dates or spend"),
    _fields: None = Depends(known_form_fields),
) -> JSONResponse:
    """Forecast every service, team, environment and the total coherently; the GPUs each team needs per period,
    when the fleet runs out, and the monthly GPU spend."""
    if from_store:
        if file is not None or services is not None:
            raise ApiError(422, "from_store reads services and history from the database; send no files", "file")
        history, groups, configs, notes = stored_fleet(store_of(request), team, environment, freq)
    else:
        if file is None or services is None:
            raise ApiError(422, "give a history 'file' and a 'services' file, or from_store=true", "file")
        if team or environment:
            raise ApiError(422, "team and environment filter the stored services; use them with from_store", "team")
        history, groups, configs, notes = _uploaded(file.file.read(), services.file.read(), id_col, freq, capacity)
    run = run_fleet(
        history, groups, configs, horizon=horizon, reconcile=reconcile, period=period, current_gpus=current_gpus,
        capacity=capacity, notes=notes, skip=SKIP,
    )  # fmt: skip
    return JSONResponse(run.to_dict())
