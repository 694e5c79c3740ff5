"""Security headers on every response (OWASP Secure Headers Project's recommendations for a site with no
third-party content).

* ``Content-Security-Policy``: everything from this origin only, **no inline script** (the pages have none:
  their charts are server-drawn SVG) and no inline style; ``frame-ancestors 'none'`` so no other site can frame a
  page (clickjacking); forms post only here. ``/docs`` (Swagger UI, whose page carries one inline script) sets
  its own policy that allows exactly that script by its SHA-256 (:mod:`.docs`); a response that sets a policy
  keeps it.
* ``X-Frame-Options: DENY`` for browsers older than ``frame-ancestors``; ``X-Content-Type-Options: nosniff`` so a
  JSON or CSV answer is never run as a script; ``Referrer-Policy: same-origin`` (the form POST's origin check
  may read the Referer of this site's own pages, and no address leaves for another site).
"""

from __future__ import annotations

from typing import Any

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every HTTP response that does not set them itself."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in HEADERS if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
