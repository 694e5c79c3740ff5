"""Version 1 of the JSON API, under ``/api/v1``: one router per topic."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from ...version import __version__
from ..auth import reader
from . import catalog, fleet, forecast, history, planning, requests, services, tokens

router = APIRouter(prefix="/api/v1")


@router.get("/health", tags=["meta"])
def health() -> dict[str, Any]:
    """Liveness: always open (no token), so load balancers and `gpucast serve` tests can poll it."""
    return {"status": "ok", "version": __version__}


@router.get("/me", tags=["meta"])
def me(user: str | None = Depends(reader)) -> dict[str, Any]:
    """The user the request's token belongs to (null without a token, when reading is open)."""
    return {"user": user}


for module in (planning, forecast, fleet, catalog, services, history, requests, tokens):
    router.include_router(module.router)
