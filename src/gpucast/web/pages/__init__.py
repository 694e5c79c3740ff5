"""The web pages of ``gpucast serve`` (issue 8, phase 2): server-rendered Jinja2 templates over the same Python
API and store as the JSON API, charts as inline SVG (:mod:`.charts`), static CSS served from the package.

* ``/`` and ``/plan`` — inference plan form and result (memory, throughput/latency vs concurrency, comparison)
* ``/training`` — training plan form and result (memory per GPU, parallelism, duration, cost)
* ``/forecast`` — traffic forecast of an uploaded history or a stored service: fan chart, backtest, capacity timeline
* ``/fleet`` — the stored services' reconciled forecast, GPUs per team and period, run-out date, monthly spend
* ``/history`` — saved plans, sorted and filtered on the server; ``/history/compare`` plots several side by side
* ``/services``, ``/requests`` — lists, create forms, the request workflow with comments and its audit trail
* ``/login``, ``/logout`` — a session cookie for a user of the store, from one of their API tokens
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

STATIC = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI) -> None:
    """Add the pages and /static to the app (after the API, so /api/v1 keeps its JSON errors)."""
    from . import fleet, forecast, history, login, planning, training, workflow
    from .render import LoginRequired, compile_templates, login_redirect

    compile_templates()  # once per process, before the first visitor: templates and the forms' catalog choices
    planning.pickers()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (planning, training, forecast, fleet, history, workflow, login):
        app.include_router(module.router)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """Browsers ask for it whatever the page links (and /docs links it): a real icon, cached for a day."""
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip

    async def on_login_required(request: Request, error: Exception) -> Response:
        assert isinstance(error, LoginRequired)
        return login_redirect(request, error.next_url)

    app.add_exception_handler(LoginRequired, on_login_required)


__all__ = ["install"]
