"""Planning for a stored service: its settings and criticality tier become the planner's defaults.

* ``service_sections`` fills a planning command's config sections (model, request shape, cloud, SLOs, GPU type,
  safety margin, minimum replicas) from the service — flags and config values the user gave still win.
* ``plan_service`` forecasts the service's stored traffic history and sizes capacity per period
  (``gpucast service plan NAME``): the forecaster (``gpucast.forecast``) and the capacity timeline are reused,
  so this module only translates stored data into their inputs.

Zone spread: the tier's ``zones`` sets a floor on replicas (min_replicas >= zones) and the recommended fleet is
rounded up to a multiple of the zones so every zone runs the same number of replicas.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from ..errors import InputError
from ..extras import install_hint
from .criticality import criticality
from .metrics import list_metrics
from .models import Service
from .services import get_service


def tier_defaults(tier: str) -> dict[str, Any]:
    entry = criticality(tier)
    return {
        "safety_margin": entry.safety_margin,
        "min_replicas": max(entry.min_replicas, entry.zones),
        "zones": entry.zones,
    }


def service_sections(service: Service) -> dict[str, dict[str, Any]]:
    """The service's settings as config sections (the shape ``cli.args.sections_from_args`` builds)."""
    tier = tier_defaults(service.criticality)
    sections: dict[str, dict[str, Any]] = {
        "model": {"model_name": service.model, "precision": service.precision},
        "workload": {"avg_input_tokens": service.input_tokens, "avg_output_tokens": service.output_tokens},
        "serving": {
            "cloud": service.cloud,
            "criticality": service.criticality,  # its tier may forbid spot / marketplace capacity (issue 28)
            "ttft_slo_ms": service.ttft_slo_ms,
            "itl_slo_ms": service.itl_slo_ms,
            "safety_margin": tier["safety_margin"],
            "min_replicas": tier["min_replicas"],
        },
        "gpu": {
            "gpu_type": service.allowed_instance_types[0] if len(service.allowed_instance_types) == 1 else None,
            "gpu_types": list(service.allowed_instance_types) if len(service.allowed_instance_types) > 1 else None,
        },
    }
    return {name: {k: v for k, v in values.items() if v is not None} for name, values in sections.items()}


def overlay_service(sections: dict[str, Any], service: Service) -> dict[str, Any]:
    """``sections`` with every setting it lacks taken from the service (what the user gave wins)."""
    merged = {name: dict(values) if isinstance(values, dict) else values for name, values in sections.items()}
    model = merged.get("model", {})
    names_model = any(k in model for k in ("model_name", "model_config_path", "model_size_billions"))
    for name, values in service_sections(service).items():
        for key, value in values.items():
            if name == "model" and key == "model_name" and names_model:
                continue
            merged.setdefault(name, {}).setdefault(key, value)
    return merged


def plan_service(
    session: Session,
    name: str,
    *,
    horizon: str = "14d",
    scenario: str = "baseline",
    growth_rate: float = 0.0,
    period: str = "day",
    gpu: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    current_gpus: int | None = None,
) -> dict[str, Any]:
    """Forecast the service's stored load and size capacity for it with its model, GPU, SLOs and tier."""
    from ..planning.timeline import check_tokens

    check_tokens(input_tokens, output_tokens)  # given: whole numbers >= 1 (0 is not "use the service's")
    service = get_service(session, name)
    if not service.model:
        raise InputError(f"service {name!r} has no model; set it with `gpucast service update {name} --model M`")
    metrics = list_metrics(session, name)
    if not metrics:
        raise InputError(f"service {name!r} has no usage history; import it with `gpucast metrics import {name} FILE`")
    shape_in = input_tokens or service.input_tokens or _mean([m.input_tokens for m in metrics])
    shape_out = output_tokens or service.output_tokens or _mean([m.output_tokens for m in metrics])
    if not shape_in or not shape_out:
        raise InputError(f"service {name!r} has no request shape: give --input-tokens and --output-tokens, set them "
                         "with `gpucast service update`, or import metrics with input_tokens/output_tokens")  # fmt: skip
    from ..forecast import forecast_load, load_history
    from ..inputs.types import GPUConfig, ModelConfig, ServingOptions
    from ..planning.timeline import capacity_timeline

    try:
        import pandas as pd  # type: ignore[import-untyped]
    except ImportError:
        raise InputError(f"`service plan` forecasts with the [forecast] extra; {install_hint('forecast')}") from None
    frame = pd.DataFrame(
        {"unique_id": service.name, "ds": [m.timestamp for m in metrics], "y": [m.rps for m in metrics]}
    )
    result = forecast_load(load_history(frame), horizon, scenario=scenario, growth_rate=growth_rate)
    tier = tier_defaults(service.criticality)
    defaults = ServingOptions()
    options = ServingOptions(
        cloud=service.cloud,
        criticality=service.criticality,  # its tier may forbid spot / marketplace capacity (issue 28)
        safety_margin=tier["safety_margin"],
        min_replicas=tier["min_replicas"],
        ttft_slo_ms=service.ttft_slo_ms or defaults.ttft_slo_ms,
        itl_slo_ms=service.itl_slo_ms or defaults.itl_slo_ms,
    )
    model = ModelConfig(model_name=service.model, precision=service.precision or ModelConfig().precision)
    candidates: list[str | None] = [gpu] if gpu else (list(service.allowed_instance_types) or [None])
    timelines = [
        capacity_timeline(
            result,
            model=model,
            input_tokens=round(shape_in),
            output_tokens=round(shape_out),
            gpu=GPUConfig(gpu_type=candidate),
            options=options,
            period=period,
            current_gpus=current_gpus,
        )
        for candidate in candidates
    ]
    best = min(timelines, key=lambda t: max((p.monthly_cost or math.inf) for p in t.periods))
    peak = max(best.periods, key=lambda p: p.replicas)
    per_zone = math.ceil(peak.replicas / tier["zones"])
    return {
        "service": service.name,
        "criticality": service.criticality,
        "defaults": tier,
        "model": service.model,
        "input_tokens": round(shape_in),
        "output_tokens": round(shape_out),
        "history_points": len(metrics),
        "forecast": result.to_dict(),
        "capacity": best.to_dict(),
        "recommendation": {
            "gpu_type": peak.gpu_type,
            "replicas": per_zone * tier["zones"],
            "gpus": per_zone * tier["zones"] * best.gpus_per_replica,
            "zones": tier["zones"],
            "replicas_per_zone": per_zone,
            "monthly_cost": None
            if peak.monthly_cost is None
            else round(peak.monthly_cost * per_zone * tier["zones"] / peak.replicas, 2),
        },
    }


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def fleet_inputs(
    session: Session, *, team: str | None = None, environment: str | None = None
) -> tuple[Any, dict[str, tuple[str, str]], dict[str, Any], list[str]]:
    """The stored fleet as ``gpucast fleet`` needs it: a long frame (unique_id, ds, y) of every service's usage
    history, service -> (team, environment), service -> ServiceConfig (model, tokens, cloud, tier's margin and
    replicas; only services whose model and request shape are known) and notes on services left out."""
    from ..inputs.types import GPUConfig, ModelConfig, ServingOptions
    from ..planning.fleet import ServiceConfig
    from .services import list_services

    try:
        import pandas as pd
    except ImportError:
        raise InputError(f"`fleet` forecasts with the [forecast] extra; {install_hint('forecast')}") from None
    rows: list[dict[str, Any]] = []
    groups: dict[str, tuple[str, str]] = {}
    configs: dict[str, Any] = {}
    notes: list[str] = []
    chosen = list_services(session, team=team, environment=environment)
    if not chosen and (team or environment):  # "no stored service has usage history; import it" misled here
        stored = list_services(session)
        teams, envs = sorted({s.team for s in stored}), sorted({s.environment for s in stored})
        asked = " and ".join(f"{flag} {value!r}" for flag, value in (("--team", team), ("--environment", environment))
                             if value)  # fmt: skip
        raise InputError(f"no stored service matches {asked} (teams: {', '.join(teams) or 'none yet'}; "
                         f"environments: {', '.join(envs) or 'none yet'})")  # fmt: skip
    for service in chosen:
        metrics = list_metrics(session, service.name)
        if not metrics:
            notes.append(f"{service.name}: no usage history, left out")
            continue
        groups[service.name] = (service.team, service.environment)
        rows += [{"unique_id": service.name, "ds": m.timestamp, "y": m.rps} for m in metrics]
        shape_in = service.input_tokens or _mean([m.input_tokens for m in metrics])
        shape_out = service.output_tokens or _mean([m.output_tokens for m in metrics])
        if not service.model or not shape_in or not shape_out:
            notes.append(f"{service.name}: no model or request shape, so no capacity plan")
            continue
        tier = tier_defaults(service.criticality)
        options = ServingOptions(cloud=service.cloud, criticality=service.criticality,
                                 safety_margin=tier["safety_margin"], min_replicas=tier["min_replicas"])  # fmt: skip
        gpu = GPUConfig(gpu_types=list(service.allowed_instance_types) or None)
        model = ModelConfig(model_name=service.model, precision=service.precision or ModelConfig().precision)
        configs[service.name] = ServiceConfig(model, round(shape_in), round(shape_out), gpu, options)
    if not rows:
        raise InputError("no stored service has usage history; import it with `gpucast metrics import NAME FILE`")
    return pd.DataFrame(rows), groups, configs, notes
