"""Traffic forecasts for the web (``POST /api/v1/forecast`` and the ``/forecast`` page): the same steps as
``gpucast predict --json`` (:func:`gpucast.cli.predict.run_predict`) over an uploaded history or a stored
service's usage samples.

The upload is written to a temporary file named by the server (never by the client) and read with
:func:`gpucast.forecast.load_history`; a stored service's samples become a ``service,timestamp,rps`` CSV the same way, as
``gpucast service plan`` builds its history from them. The forecast is :func:`gpucast.forecast.forecast_load` and
the optional capacity timeline :func:`gpucast.planning.timeline.capacity_timeline`. Without the ``forecast`` extra
(pandas, statsforecast) the loader raises an :class:`~gpucast.errors.InputError` naming the install command,
which the API turns into a JSON 422 and the page into a message next to the form.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..store import Store

PERIODS = ("day", "week")


@dataclass(frozen=True)
class ForecastQuery:
    """The inputs of one forecast: ``gpucast predict``'s flags (the history comes separately)."""

    horizon: str = "14d"
    scenario: str = "baseline"
    growth_rate: float = 0.0
    series: str | None = None  # the series id when the history holds several (predict's --service)
    freq: str | None = None
    model: str | None = None
    gpu: str | None = None
    precision: str | None = None  # None: the published checkpoint's, else FP16 (inputs.resolve_precision)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cloud: str = "aws"
    period: str = "day"
    current_gpus: int | None = None


@dataclass(frozen=True)
class ForecastRun:
    """A forecast's JSON (what ``predict --json`` prints) and the objects the page draws from."""

    data: dict[str, Any]
    history: Any  # gpucast.forecast.history.History
    result: Any  # gpucast.forecast.ForecastResult


def history_file(folder: Path, content: bytes, filename: str | None) -> Path:
    """Write an uploaded history under a name the server chooses, with the suffix of what its bytes are
    (:func:`.uploads.sniff`); the client's ``filename`` is not trusted for either."""
    from .uploads import sniff

    del filename  # the name the client gave decides nothing
    path = Path(folder) / f"history{sniff(content, 'the history file', parquet=True)}"
    path.write_bytes(content)
    return path


def service_history_csv(store: Store, name: str) -> bytes:
    """A stored service's usage samples as ``service,timestamp,rps`` CSV (404 for an unknown service)."""
    from ..store.metrics import list_metrics
    from ..store.services import get_service

    with store.read() as session:
        get_service(session, name)
        rows = [(name, m.timestamp.strftime("%Y-%m-%dT%H:%M:%S"), m.rps) for m in list_metrics(session, name)]
    if not rows:
        raise InputError(f"service {name!r} has no usage history; import it with `gpucast metrics import {name} FILE`")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("service", "timestamp", "rps"))
    writer.writerows(rows)
    return out.getvalue().encode()


SERVICE_SETTINGS = ("model", "precision", "input_tokens", "output_tokens", "cloud")


def service_settings(store: Store, name: str) -> dict[str, Any]:
    """What a stored service says about its serving (model, precision, tokens per request, cloud), the ones set.

    A forecast of a service's history plans its capacity timeline with these unless the caller gives others:
    the service already knows what it runs, so its owner need not repeat it."""
    from ..store.services import get_service

    with store.read() as session:
        service = get_service(session, name)
        settings = {key: getattr(service, key) for key in SERVICE_SETTINGS}
    return {key: value for key, value in settings.items() if value is not None}


def run_forecast(
    content: bytes, filename: str | None, query: ForecastQuery, label: Callable[[str], str] = str
) -> ForecastRun:
    """Load the history, forecast it, and plan the capacity timeline when a model is given (``run_predict``);
    ``label`` names a field in a warning (the API's field name; the page's label)."""
    from ..forecast import forecast_load, load_history

    if query.period not in PERIODS:
        raise InputError(f"period must be one of {', '.join(PERIODS)}, not {query.period!r}")
    options: dict[str, Any] = {"freq": query.freq} if query.freq else {}
    if query.series:
        options["unique_id"] = query.series  # only that service is checked and repaired
    with tempfile.TemporaryDirectory(prefix="gpucast-forecast-") as folder:
        history = load_history(history_file(Path(folder), content, filename), **options)
    if len(history.ids) > 1 and not query.series:
        shown = ", ".join(history.ids[:5]) + ("…" if len(history.ids) > 5 else "")
        raise InputError(f"series: the history holds {len(history.ids)} services ({shown}); pick one with series")
    result = forecast_load(
        history, query.horizon, scenario=query.scenario, growth_rate=query.growth_rate, unique_id=query.series
    )
    if not query.model:  # as `gpucast predict` warns (the timeline's inputs were dropped without a word)
        from ..planning.timeline import unused_without_model

        given = {"gpu": query.gpu, "precision": query.precision, "input_tokens": query.input_tokens,
                 "output_tokens": query.output_tokens, "current_gpus": query.current_gpus}  # fmt: skip
        note = unused_without_model({label(k): v for k, v in given.items()}, label("model"))
        if note:
            result.warnings.append(note)
    data: dict[str, Any] = result.to_dict()
    if query.model:
        from ..planning.timeline import capacity_timeline, require_tokens

        require_tokens(result, query.input_tokens, query.output_tokens)
        from ..inputs.types import GPUConfig, ModelConfig, ServingOptions

        timeline = capacity_timeline(
            result,
            model=ModelConfig(model_name=query.model, precision=query.precision),
            input_tokens=query.input_tokens or None,
            output_tokens=query.output_tokens or None,
            gpu=GPUConfig(gpu_type=query.gpu or None),
            options=ServingOptions(cloud=query.cloud),
            period=query.period,
            current_gpus=query.current_gpus,
        )
        data.update(timeline.forecast_fields())
    return ForecastRun(data, history, result)


def stored_fleet(store: Store, team: str | None, environment: str | None, freq: str | None = None) -> tuple[Any, ...]:
    """(History, service -> (team, environment), service -> ServiceConfig, notes) of the stored services and their
    usage samples (``gpucast fleet --from-store``; ``POST /api/v1/fleet`` and the ``/fleet`` page)."""
    from ..forecast import load_history
    from ..store.planning import fleet_inputs

    with store.read() as session:
        frame, groups, configs, notes = fleet_inputs(session, team=team, environment=environment)
    history = load_history(frame, skip_unforecastable=True, **({"freq": freq} if freq else {}))
    return history, groups, configs, notes
