"""The OpenAPI page (``/docs``) with Swagger UI served by gpucast itself, not from a CDN: the page works
without internet access, like the rest of the site ("no external resources").

FastAPI's documented recipe for self-hosted docs assets: the app is made with ``docs_url=None`` and
``redoc_url=None`` and this module adds ``/docs`` (and Swagger UI's OAuth2 redirect page) with
``get_swagger_ui_html`` pointing at the copies under ``/static/swagger-ui/`` (swagger-ui-dist, Apache-2.0; version,
source and checksums in that folder's README.md). ReDoc is not served: it would need a second vendored UI for
the same document. Swagger UI's online validator badge (which would send the schema's address to
validator.swagger.io) is switched off.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse

ASSETS = "/static/swagger-ui"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def install(app: FastAPI) -> None:
    """Add ``/docs`` and its OAuth2 redirect page (the app must be made with ``docs_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} · API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_ui_parameters={"validatorUrl": None},  # FastAPI merges its defaults in
        )
        page.headers["Content-Security-Policy"] = docs_policy(bytes(page.body).decode())
        return page

    async def oauth2_redirect() -> HTMLResponse:
        page = get_swagger_ui_oauth2_redirect_html()
        page.headers["Content-Security-Policy"] = docs_policy(bytes(page.body).decode())
        return page

    app.add_api_route(DOCS_URL, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(OAUTH2_REDIRECT_URL, oauth2_redirect, methods=["GET"], include_in_schema=False)


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def docs_policy(html: str) -> str:
    """The Content-Security-Policy of a Swagger UI page: the site's policy (:mod:`.headers`), plus the page's own
    inline scripts allowed by their SHA-256 (CSP Level 2 hash sources) and inline styles (Swagger UI sets
    element styles from its script); nothing else runs."""
    from .headers import CSP

    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return CSP.replace("script-src 'self'", f"script-src 'self' {hashes}".rstrip()).replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )
