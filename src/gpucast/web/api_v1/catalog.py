"""Catalogs: models, GPUs and prices (read-only data shipped with gpucast; cached, they never change)."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ...catalog import loader
from ...core.params import count_parameters
from ..auth import reader

router = APIRouter(tags=["catalog"], dependencies=[Depends(reader)])


@cache
def _models() -> list[dict[str, Any]]:
    rows = []
    for spec in loader.load_models().values():
        params = count_parameters(spec)
        rows.append(
            {
                "id": spec.id,
                "name": spec.name,
                "params_b": round(params.total / 1e9, 2),
                "active_params_b": round(params.active / 1e9, 2),
                "layers": spec.num_layers,
                "hidden": spec.hidden_size,
                "heads": spec.num_heads,
                "kv_heads": spec.num_kv_heads,
                "moe": spec.is_moe,
                "mla": spec.is_mla,
                "max_context": spec.max_context,
                "aliases": list(spec.aliases),
                "source": spec.source,
            }
        )
    return rows


@cache
def _gpus() -> list[dict[str, Any]]:
    clouds: dict[str, set[str]] = {}
    for price in loader.load_prices():
        clouds.setdefault(price.gpu_id, set()).add(price.cloud)
    return [
        {
            "id": g.id,
            "name": g.name,
            "memory_gib": g.memory_gib,
            "bandwidth_tb_s": g.memory_bandwidth_tb_s,
            "dense_tflops": g.dense_tflops,
            "interconnect": g.interconnect,
            "interconnect_gb_s": g.interconnect_bandwidth_gb_s,
            "gpus_per_node": g.gpus_per_node,
            "clouds": sorted(clouds.get(g.id, ())),
            "source": g.source,
        }
        for g in loader.load_gpus().values()
    ]


@router.get("/models")
def models() -> JSONResponse:
    """The model catalog (ids usable as ``model.model_name``)."""
    return JSONResponse(_models())


@router.get("/gpus")
def gpus() -> JSONResponse:
    """The GPU catalog (ids usable as ``gpu.gpu_type``) with the clouds that price each one."""
    return JSONResponse(_gpus())


@router.get("/prices")
def prices(cloud: str | None = None, gpu: str | None = None) -> JSONResponse:
    """Instance prices (USD per instance-hour), optionally for one cloud and/or one GPU (name or alias)."""
    gpu_id = loader.resolve_gpu(gpu).id if gpu else None
    rows = [
        asdict(p) for p in loader.load_prices() if (cloud is None or p.cloud == cloud) and gpu_id in (None, p.gpu_id)
    ]
    return JSONResponse(rows)
