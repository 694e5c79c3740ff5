"""Services and their usage history (``gpucast service`` and ``gpucast metrics``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from ..auth import reader, store_of, writer
from ..schemas import ServiceBody
from ..uploads import sniff
from .forms import known_form_fields, known_query
from .history import MAX_PAGE, page, page_body

router = APIRouter(tags=["services"])


@router.get("/services", dependencies=[Depends(reader), Depends(known_query)])
def list_services(
    request: Request,
    team: str | None = Query(None, max_length=200),
    environment: str | None = Query(None, max_length=20),
    offset: int = Query(0, ge=0, le=10**9),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
) -> JSONResponse:
    """Services by name, optionally of one team or environment."""
    from ...store import services

    with store_of(request).read() as session:
        rows = services.list_services(session, team=team, environment=environment)
        items, next_offset = page(rows, offset, limit)
        records = [services.service_record(s) for s in items]
    return JSONResponse(page_body(records, offset, limit, next_offset))


@router.post("/services", status_code=201)
def create_service(request: Request, body: ServiceBody, actor: str = Depends(writer)) -> JSONResponse:
    """Add a service (the token's user is recorded as its creator)."""
    from ...store import services

    fields = body.given()
    name = fields.pop("name")
    with store_of(request).write() as session:
        record = services.service_record(services.add_service(session, name, services.ServiceFields(**fields), actor))
    # the stored (checked, trimmed) name, percent-encoded: a header carries no raw user text
    location = f"/api/v1/services/{quote(record['name'], safe='')}"
    return JSONResponse(record, status_code=201, headers={"Location": location})


@router.get("/services/{name}", dependencies=[Depends(reader), Depends(known_query)])
def show_service(request: Request, name: str) -> JSONResponse:
    from ...store import services

    with store_of(request).read() as session:
        record = services.service_record(services.get_service(session, name))
    return JSONResponse(record)


@router.get("/services/{name}/metrics", dependencies=[Depends(reader), Depends(known_query)])
def list_metrics(request: Request, name: str, limit: int | None = Query(None, ge=1, le=1_000_000)) -> JSONResponse:
    """The service's stored usage samples, oldest first."""
    from ...store.metrics import list_metrics as stored
    from ...store.metrics import metric_record

    with store_of(request).read() as session:
        rows = [metric_record(m) for m in stored(session, name, limit=limit)]
    return JSONResponse(rows)


@router.post("/services/{name}/metrics")
def import_metrics(
    request: Request,
    name: str,
    file: UploadFile = File(description="CSV/TSV or JSON: timestamp,rps[,input_tokens,output_tokens,...]"),
    replace: bool = Query(False, description="overwrite stored samples whose values differ"),
    actor: str = Depends(writer),
    _fields: None = Depends(known_form_fields),
) -> JSONResponse:
    """Import usage history (idempotent: a sample is keyed by service and timestamp), as `gpucast metrics import`."""
    from ...store.metrics import import_rows, read_rows

    content = file.file.read()
    suffix = sniff(content, "the metrics file")  # read as what its bytes are, whatever its name says
    with tempfile.TemporaryDirectory(prefix="gpucast-upload-") as folder:
        path = Path(folder) / f"metrics{suffix}"  # the client's file name is never used as a path
        path.write_bytes(content)
        rows, ignored = read_rows(path, shown="the uploaded metrics file")
    with store_of(request).write() as session:
        report = import_rows(session, name, rows, actor, replace=replace)
    report.ignored_columns = ignored
    return JSONResponse(report.to_dict())
