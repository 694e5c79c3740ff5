"""One error shape for the whole API: ``{"error": message, "field": name}`` with a 4xx status.

gpucast's exception tree (:mod:`gpucast.errors`) maps to statuses in :mod:`gpucast.web.status`, shared with the
pages.

Outside ``/api/``, an HTTP error for a client that accepts ``text/html`` (a browser on an unknown page, a GET of
a POST-only form address) is an HTML page in the site's layout with the same status and headers.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ..errors import (
    GpucastError,
    SLOInfeasibleError,
    StoreUnavailableError,
)
from .status import status_of

# WorkflowError messages that mean "the request is in the wrong state" rather than "you may not"
# a message that starts with a flag (--gpu-type) or a field name (requests_per_second) names the field
_FIELD_AT_START = re.compile(r"^(?:--([a-z][a-z0-9-]*)|([a-z]+_[a-z0-9_]+))\b")


BODY_NOT_AN_OBJECT = "the request body must be one JSON object, sent with Content-Type: application/json"
RETRY_AFTER_S = 5  # seconds a client waits before retrying when the database is unavailable


class ApiError(Exception):
    """An HTTP error raised by the web layer itself (authentication, limits, path lookups)."""

    def __init__(self, status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers


def error_response(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status, headers=headers)


def field_of(message: str) -> str | None:
    """The field a core message is about: its leading ``--flag`` or ``snake_name``, in snake case."""
    match = _FIELD_AT_START.match(message)
    if match is None:
        return None
    return (match.group(1) or match.group(2)).replace("-", "_")


def _validation_field(location: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or None


def json_error_message(error: dict[str, Any]) -> str:
    """A body that is not JSON, in one line: what the parser said and where ("Expecting value at character 14")."""
    location = [p for p in error.get("loc", ()) if isinstance(p, int)]
    reason = str((error.get("ctx") or {}).get("error") or "it cannot be parsed")
    where = f" at character {location[0]}" if location else ""
    return f"the request body is not valid JSON: {reason}{where} (send one JSON object with Content-Type: application/json)"


def wants_html(request: Request) -> bool:
    """A browser asking for a page: HTML accepted and the path outside the API (whose errors stay JSON)."""
    path = request.url.path
    api = path == "/api" or path.startswith("/api/")
    return not api and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape (HTTP errors of pages that a browser
    asked for, such as an unknown address, are an HTML page instead: :func:`wants_html`)."""

    async def on_api_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error.status, error.message, error.field, error.headers)

    async def on_gpucast_error(request: Request, error: Exception) -> JSONResponse:
        message = str(error)
        response = error_response(status_of(error), message, field_of(message))  # type: ignore[arg-type]
        if response.status_code == 503:  # the store could not serve it: counted for /metrics
            request.app.state.metrics.database_error()
        if isinstance(error, SLOInfeasibleError):  # the same shape, plus what was reached and what would meet them
            body = {"error": message, "field": None, "infeasible": error.detail}
            return JSONResponse(body, status_code=response.status_code)
        if isinstance(error, StoreUnavailableError):  # the database is down or full: the client may retry later
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    async def on_validation(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        if wants_html(request) and tuple(first.get("loc", ()))[:1] == ("path",):
            # a browser on /requests/abc (or a 5,000-digit id): no such page, in the site's layout, not raw JSON
            from .pages.render import error_page

            return error_page(request, 404, "Not Found")
        if first.get("type") == "json_invalid":  # its location is a character offset, not a field (issue 23)
            return error_response(422, json_error_message(first), "body")
        if tuple(first.get("loc", ())) == ("body",) and first.get("type") == "model_attributes_type":
            # a body sent as text/plain or form data (not parsed as JSON), or JSON that is not an object ([], "x")
            return error_response(422, BODY_NOT_AN_OBJECT, "body")
        field = _validation_field(tuple(first.get("loc", ())))
        message = f"{field}: {first['msg']}" if field else str(first["msg"])
        return error_response(422, message, field)

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        headers = getattr(error, "headers", None)
        if error.status_code == 400 and isinstance(error.__cause__, RecursionError):
            # JSON nested past the decoder's depth: FastAPI's 400 "There was an error parsing the body" said neither
            # what was wrong nor what is accepted (other bodies that are not JSON are a 422 that says both)
            reason = {"ctx": {"error": "it is nested deeper than the decoder reads"}}
            return error_response(422, json_error_message(reason), "body")
        if wants_html(request):  # a browser on an unknown page: a page in the site's layout, not raw JSON
            from .pages.render import error_page

            return error_page(request, error.status_code, str(error.detail), headers)
        return error_response(error.status_code, str(error.detail), None, headers)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(GpucastError, on_gpucast_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
