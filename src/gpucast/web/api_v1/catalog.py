"""Catalogs: models, GPUs and prices (read-only data shipped with gpucast; cached, they never change)."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ...catalog import loader
from ...catalog.summary import gpu_rows, model_rows
from ..auth import reader

router = APIRouter(tags=["catalog"], dependencies=[Depends(reader)])


@cache
def _models() -> list[dict[str, Any]]:
    return model_rows()


@cache
def _gpus() -> list[dict[str, Any]]:
    return gpu_rows()


@router.get("/models")
def models() -> JSONResponse:
    """The model catalog (ids usable as ``model.model_name``)."""
    return JSONResponse(_models())


@router.get("/gpus")
def gpus() -> JSONResponse:
    """The GPU catalog (ids usable as ``gpu.gpu_type``) with the clouds that price each one."""
    return JSONResponse(_gpus())


@router.get("/prices")
def prices(cloud: str | None = None, gpu: str | None = None, region: str | None = None) -> JSONResponse:
    """Instance prices (USD per instance-hour; packaged catalog with the local price file merged over it), optionally
    for one cloud, one GPU (name or alias) and/or one region; each row has its source and as_of."""
    gpu_id = loader.resolve_gpu(gpu).id if gpu else None
    rows = [
        asdict(p)
        for p in loader.load_prices()
        if (cloud is None or p.cloud == cloud) and gpu_id in (None, p.gpu_id) and region in (None, p.region)
    ]
    return JSONResponse(rows)
