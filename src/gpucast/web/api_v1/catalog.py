"""Catalogs: models, GPUs and prices (read-only data shipped with gpucast; cached, they never change).

The model and GPU lists are encoded once per process and sent with an ``ETag`` (a hash of the bytes) and
``Cache-Control: no-cache``: a client that sends the tag back in ``If-None-Match`` gets ``304 Not Modified``
without the body, and a new gpucast (other catalogs) changes the tag."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from functools import cache
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from ...catalog import loader
from ...catalog.summary import gpu_rows, model_rows
from ..auth import reader
from .forms import known_query

router = APIRouter(tags=["catalog"], dependencies=[Depends(reader), Depends(known_query)])


@cache
def _models() -> list[dict[str, Any]]:
    return model_rows()


@cache
def _gpus() -> list[dict[str, Any]]:
    return gpu_rows()


@cache
def _encoded(name: str) -> tuple[bytes, str]:
    """The catalog's JSON body (as JSONResponse writes it) and its entity tag."""
    body = bytes(JSONResponse(_models() if name == "models" else _gpus()).body)
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _catalog(request: Request, name: str) -> Response:
    body, etag = _encoded(name)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    sent = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in sent:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/models")
async def models(request: Request) -> Response:
    """The model catalog (ids usable as ``model.model_name``)."""
    return _catalog(request, "models")


@router.get("/gpus")
async def gpus(request: Request) -> Response:
    """The GPU catalog (ids usable as ``gpu.gpu_type``) with the clouds that price each one."""
    return _catalog(request, "gpus")


@router.get("/prices")
def prices(cloud: str | None = None, gpu: str | None = None, region: str | None = None) -> JSONResponse:
    """Instance prices (USD per instance-hour; packaged catalog with the local price file merged over it), optionally
    for one cloud, one GPU (name or alias) and/or one region; each row has its source and as_of."""
    from ...inputs.offers import parse_clouds

    # unknown names are one input error (422), as `gpucast prices list` refuses them, not an empty list
    clouds = parse_clouds(cloud, loader.clouds()) if cloud is not None else loader.clouds()
    gpu_id = loader.resolve_gpu(gpu).id if gpu else None
    if region is not None:
        loader.check_region(region, "region", see="GET /api/v1/prices lists the regions")
    rows = [
        asdict(p)
        for p in loader.load_prices()
        if p.cloud in clouds and gpu_id in (None, p.gpu_id) and region in (None, p.region)
    ]
    return JSONResponse(rows)
