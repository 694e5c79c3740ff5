"""Rendering pages: one Jinja2 environment over the package's templates, the session and CSRF token in every
page's context, and form errors turned into one readable line (never a traceback).

Reading pages follows the API's read policy (:meth:`WebSettings.reads_need_token`): open on a loopback address,
otherwise the visitor is sent to the login page first.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...errors import GpucastError
from ...inputs.numbers import read_count
from ..status import status_of
from . import session as sessions


class LoginRequired(Exception):
    """A page needs a logged-in user (a write, or any read when reads need a token)."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@cache
def environment() -> Environment:
    """The one Jinja2 environment of the process. Templates are package files that do not change while the
    server runs: ``auto_reload`` off spares a stat() of each template file (and of those it extends) per page."""
    env = Environment(
        loader=PackageLoader("gpucast.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["money"] = lambda v: "—" if v is None else f"${v:,.0f}"
    env.filters["num"] = lambda v, d=1: "—" if v is None else f"{v:,.{d}f}"
    env.filters["day"] = lambda v: "" if not v else str(v)[:16].replace("T", " ")
    return env


def compile_templates() -> Environment:
    """Compile every template now (when the app is made), not on the first visit of each page (~40-60 ms each):
    the compiled templates stay in the environment's cache for the life of the process."""
    env = environment()
    for name in env.list_templates(filter_func=lambda name: name.endswith(".html")):
        env.get_template(name)
    return env


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """A page with the session's user and CSRF token in its context; sets the session cookie when new."""
    page = sessions.current(request)
    values = {"me": page.user, "role": page.role, "csrf_token": page.csrf, "path": request.url.path} | context
    html = environment().get_template(template).render(**values)
    return sessions.attach(request, HTMLResponse(html, status_code=status))


def error_page(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """An HTTP error (unknown page, wrong method) as a page in the site's layout, for browsers."""
    path = request.url.path
    if status == 404:
        title, message = "Page not found", f"There is no page at {path}."
    else:
        title, message = detail, f"{status} {detail}: {request.method} {path}"
    response = render(request, "error.html", {"title": title, "message": message}, status)
    response.headers.update(headers or {})
    return response


def redirect(request: Request, url: str) -> Response:
    """303 See Other after a successful POST (the browser then GETs ``url``)."""
    return sessions.attach(request, RedirectResponse(url, status_code=303))


def require_reader(request: Request) -> None:
    """Reading pages: open unless the server requires a token for reads, then a login is needed."""
    if request.app.state.settings.reads_need_token() and sessions.current(request).user is None:
        raise LoginRequired(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))


def require_user(request: Request) -> str:
    """Pages that write: the logged-in user (the acting user for the store's rules)."""
    user = sessions.current(request).user
    if user is None:
        raise LoginRequired(return_to(request))
    return user


def return_to(request: Request) -> str:
    """Where the login sends the visitor back: a form's POST address (``/plan/save``,
    ``/requests/3/transition``) answers only POST, so after logging in a GET of it was a "405 Method Not Allowed"
    page; the page the form was on (the ``Referer``, when it is this site's) is shown again instead, else the
    home page. ``/plan?…`` and ``/training?…`` carry their inputs, so the plan to save is there again."""
    if request.method in ("GET", "HEAD"):
        return str(request.url.path)
    referer = urlsplit(request.headers.get("referer", ""))
    own = (request.url.scheme, request.url.netloc)
    if (referer.scheme, referer.netloc) == own and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


def login_redirect(request: Request, next_url: str) -> Response:
    return redirect(request, f"/login?next={quote(next_url)}")


def error_message(error: Exception) -> tuple[str, int]:
    """A form error as one line and an HTTP status: validation, gpucast's own errors, a bad CSRF token."""
    from .wording import form_message

    if isinstance(error, (ValidationError, RequestValidationError)):
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        return form_message(f"{where}: {first['msg']}" if where else str(first["msg"])), 422
    if isinstance(error, sessions.CsrfError):
        return str(error), 403
    if isinstance(error, GpucastError):
        return form_message(str(error)), status_of(error)
    raise error


def cli_count(text: str) -> str:
    """A token-count field's text as the CLI reads the flag (:func:`gpucast.inputs.numbers.read_count`): "1e3",
    "1E3" and "500.0" are 1000 and 500 tokens there, and the pages refused them ("must be a whole number"). Other
    text is left for the body's own check and message (a fraction, a word; non-ASCII digits, as every number field
    of the pages refuses them)."""
    if not text.isascii():
        return text
    try:
        value = read_count(text)
    except ValueError:
        return text
    return str(value) if isinstance(value, int) else text


def form_values(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    """The non-empty text fields of a submitted form, trimmed."""
    values = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            values[name] = value.strip()
    return values
