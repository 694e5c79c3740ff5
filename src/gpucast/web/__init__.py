"""gpucast's web adapter: the REST API of ``gpucast serve`` (issue 8), over the same core and store.

Needs the ``[server]`` extra (FastAPI, uvicorn). ``import gpucast`` and the CLI never import FastAPI unless
``gpucast serve`` runs: ``create_app`` and ``WebSettings`` are loaded on first access (PEP 562), so the CLI
can import :mod:`gpucast.web.serve` for its flags at no cost. Tests build the app with ``create_app``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
