"""Observability of ``gpucast serve`` (issue 24, item 5): a request id, one JSON log line per request, and
``/metrics`` in the Prometheus text format, so the server runs behind the same monitoring the exports set up for
the inference engines.

* **Request id**: a client's ``X-Request-ID`` (1-128 characters of ``A-Za-z0-9._:-``) is kept, anything else is
  replaced by a new random id; it is echoed in the response's ``X-Request-ID`` and in the log line, so one request
  can be followed from a load balancer's log to this server's.
* **Log**: one JSON object per request on the ``gpucast.access`` logger — time, request id, method, path (never
  the query string or a header: tokens travel in ``Authorization``, and nothing of it is logged), route template,
  status, duration and the acting user's name when a token was checked.
* **Metrics** (``GET /metrics``, open like ``/api/v1/health``, never queued): requests by route template, method
  and status; a latency histogram by route; plan cache and page cache hits, misses and entries; jobs computed in
  each plan lane and requests that joined an identical computation in flight; database errors (503s from the
  store); overload 503s and rate-limit 429s; requests in flight. Route templates (``/api/v1/services/{name}``),
  never raw paths, keep the number of series bounded whatever clients send.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from . import offload

ACCESS = logging.getLogger("gpucast.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # seconds, Prometheus' defaults


class Metrics:
    """Counters and histograms of one server process (thread-safe: handlers run in a thread pool too)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[int]] = {}  # route -> counts per bucket (+Inf last)
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.database_errors = 0
        self._lock = threading.Lock()

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, method, status)] += 1
            counts = self.latency.setdefault(route, [0] * (len(BUCKETS) + 1))
            index = next((i for i, bound in enumerate(BUCKETS) if seconds <= bound), len(BUCKETS))
            counts[index] += 1
            self.latency_sum[route] += seconds

    def database_error(self) -> None:
        with self._lock:
            self.database_errors += 1

    def render(self, app: Any) -> str:
        """The Prometheus text exposition (version 0.0.4) of this process's figures."""
        lines: list[str] = []

        def family(name: str, kind: str, text: str) -> None:
            lines.extend((f"# HELP {name} {text}", f"# TYPE {name} {kind}"))

        with self._lock:
            family("gpucast_http_requests_total", "counter", "HTTP requests answered, by route template and status.")
            for (route, method, status), count in sorted(self.requests.items()):
                lines.append(f'gpucast_http_requests_total{{route="{_label(route)}",method="{method}",'
                             f'status="{status}"}} {count}')  # fmt: skip
            family("gpucast_http_request_duration_seconds", "histogram", "Time to answer a request, by route.")
            for route, counts in sorted(self.latency.items()):
                cumulative = 0
                for bound, count in zip((*BUCKETS, "+Inf"), counts, strict=True):
                    cumulative += count
                    lines.append(f'gpucast_http_request_duration_seconds_bucket{{route="{_label(route)}",'
                                 f'le="{bound}"}} {cumulative}')  # fmt: skip
                lines.append(f'gpucast_http_request_duration_seconds_sum{{route="{_label(route)}"}} '
                             f"{self.latency_sum[route]:.6f}")  # fmt: skip
                lines.append(f'gpucast_http_request_duration_seconds_count{{route="{_label(route)}"}} {cumulative}')
            family("gpucast_database_errors_total", "counter", "Requests the database could not serve (503).")
            lines.append(f"gpucast_database_errors_total {self.database_errors}")
        for cache, what in ((app.state.plan_cache, "plan"), (app.state.page_cache, "page")):
            stats = cache.stats()
            held = "Plans" if what == "plan" else "Rendered pages for anonymous visitors"
            for name, value, kind, text in (
                (f"gpucast_{what}_cache_hits_total", stats.hits, "counter", f"{held} answered from the {what} cache."),
                (f"gpucast_{what}_cache_misses_total", stats.misses, "counter", f"{held} made (not in the cache)."),
                (f"gpucast_{what}_cache_entries", stats.entries, "gauge", f"{held} held in the {what} cache."),
            ):
                family(name, kind, text)
                lines.append(f"{name} {value}")
        flights = offload.flights(app.state)
        family("gpucast_plan_lane_jobs_total", "counter", "New questions computed in each plan lane.")
        lines.extend(f'gpucast_plan_lane_jobs_total{{lane="{lane}"}} {flights.jobs[lane]}' for lane in offload.LANES)
        family("gpucast_plan_coalesced_total", "counter",
               "Requests that awaited an identical computation in flight instead of starting one.")  # fmt: skip
        lines.append(f"gpucast_plan_coalesced_total {flights.joined}")
        pool = getattr(app.state, "plan_processes", None)  # .processes.PlanProcesses (--plan-processes N)
        for name, value, kind, text in (
            ("gpucast_plan_processes", pool.count if pool else 0, "gauge", "Child processes computing new questions."),
            ("gpucast_plan_process_jobs_total", pool.jobs if pool else 0, "counter", "Jobs sent to a plan process."),
            ("gpucast_plan_process_restarts_total", pool.replaced if pool else 0, "counter",
             "Plan process pools started again after a process died."),
            ("gpucast_plan_process_lost_total", pool.lost if pool else 0, "counter",
             "Requests answered 503 because their plan process died twice."),
            ("gpucast_plan_process_spilled_total", pool.spilled if pool else 0, "counter",
             "Jobs sent to another plan process than their family's, which was busy."),
        ):  # fmt: skip
            family(name, kind, text)
            lines.append(f"{name} {value}")
        if pool:
            family("gpucast_plan_process_sent_total", "counter", "Jobs sent to each plan process.")
            lines.extend(f'gpucast_plan_process_sent_total{{process="{i}"}} {n}' for i, n in enumerate(pool.sent))
        limit = getattr(app.state, "in_flight_limit", None)
        if limit is not None:
            family("gpucast_http_in_flight", "gauge", "Requests being handled now (queued ones not counted).")
            lines.append(f"gpucast_http_in_flight {limit.in_flight}")
            family("gpucast_http_waiting_for_plan", "gauge", "Admitted requests waiting in a plan lane, slot lent.")
            lines.append(f"gpucast_http_waiting_for_plan {limit.lending}")
            family("gpucast_http_overload_refused_total", "counter", "Requests refused with 503 when overloaded.")
            lines.append(f"gpucast_http_overload_refused_total {limit.refused}")
        family("gpucast_auth_rate_limited_total", "counter", "Login and token requests refused with 429.")
        lines.append(f"gpucast_auth_rate_limited_total {app.state.auth_limit.refused}")
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-ID when it is a sane one, else a new random id."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            return text if REQUEST_ID.match(text) else uuid.uuid4().hex
    return uuid.uuid4().hex


class Observe:
    """ASGI middleware: request id in and out, one JSON log line and the metrics of every HTTP request."""

    def __init__(self, app: Any, fastapi_app: Any) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    @staticmethod
    def route_of(scope: dict[str, Any]) -> str:
        """The matched route's template with its prefix (``/api/v1/services/{name}``): the path with each path
        parameter's segment put back as ``{name}``; ``/static`` for files, ``unmatched`` for no route."""
        path = str(scope.get("path", ""))
        if path.startswith("/static/"):
            return "/static"
        if scope.get("endpoint") is None:
            return "unmatched"
        segments = path.split("/")
        for name, value in (scope.get("path_params") or {}).items():
            for index in range(len(segments) - 1, 0, -1):  # from the right: ids and actions come last
                if segments[index] == str(value):
                    segments[index] = "{" + name + "}"
                    break
        return "/".join(segments)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope.get("headers", []))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = self.route_of(scope)
            self.fastapi_app.state.metrics.observe(route, scope.get("method", ""), status, seconds)
            if ACCESS.isEnabledFor(logging.INFO):
                identity = scope.get("state", {}).get("identity")
                ACCESS.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "method": scope.get("method"),
                            "path": scope.get("path"),
                            "route": route,
                            "status": status,
                            "duration_ms": round(seconds * 1000, 2),
                            "client": (scope.get("client") or ("", 0))[0],
                            "user": getattr(identity, "name", None),
                        }
                    },
                )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and a record's ``fields`` (the access log's)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:  # an error's type and message on the same line, never a multi-line traceback
            data["error"] = (
                f"{record.exc_info[0].__name__ if record.exc_info[0] else 'Exception'}: {record.exc_info[1]}"
            )
        return json.dumps(data, default=str)


def json_logging(level: str) -> dict[str, Any]:
    """uvicorn's ``log_config``: its own loggers and gpucast's, as JSON lines on stderr at ``level``."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "gpucast")
        },
    }
