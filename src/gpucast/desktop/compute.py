"""Form values -> the application layer's plans and forecasts -> what the result view shows (no widgets here).

Every number comes from the functions the CLI and the web call: :func:`gpucast.planning.inference.plan_inference`,
:func:`gpucast.training.plan.plan_training`, :func:`gpucast.planning.compare.compare_gpus` (cost of the
alternatives, and the cloud when the picker says "cheapest"), :func:`gpucast.charts.curve.plan_curve` (the
throughput-latency curve and the plan's operating point), :func:`gpucast.reports.content.build_report` (the
sections of the plan, its risks and alternatives), :func:`gpucast.forecast.forecast_load` and
:func:`gpucast.planning.timeline.capacity_timeline`. These functions run in the window's worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog import loader
from ..inputs.sections import inference_inputs_from_sections, training_inputs_from_sections
from .fields import CHEAPEST, check_form, sections_from_values
from .forms_spec import (
    check_forecast,
    check_inference,
    check_training,
    chosen_values,
    forecast_fields,
    inference_fields,
    inference_sections,
    training_fields,
)

ALTERNATIVE_BARS = 12  # bars in the cost-of-alternatives chart (as on the web page)


@dataclass(frozen=True)
class CurvePoint:
    concurrency: float
    tokens_per_s: float
    ttft_ms: float
    itl_ms: float


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    chosen: bool = False


@dataclass
class PlanView:
    """A plan (the dict ``--json`` prints) with what the result view draws from it."""

    kind: str  # "inference" or "training"
    plan: dict[str, Any]
    report: Any  # gpucast.reports.content.Report
    curve: list[CurvePoint] = field(default_factory=list)
    chosen: CurvePoint | None = None
    itl_slo_ms: float | None = None
    slo_percentile: str = "mean"  # what the token SLO bounds (its chart line's label)
    alternatives: list[Bar] = field(default_factory=list)  # monthly (serving) or total (training) cost
    sections: dict[str, Any] | None = None  # the inputs it was planned from (saved with it)


def _failing(fields: Any, values: dict[str, str], check: Any) -> None:
    """Raise the first problem of the form, as the CLI would report it."""
    from ..errors import InputError

    errors, general = check_form(fields, chosen_values(values), check)
    if errors:
        raise InputError(next(iter(errors.values())))
    if general:
        raise InputError(general)


def plan_inference_values(values: dict[str, str]) -> PlanView:
    """The inference form -> the plan ``gpucast inference`` makes from the same flags."""
    from ..planning.inference import plan_inference

    fields = inference_fields()
    _failing(fields, values, check_inference)
    sections = inference_sections(sections_from_values(fields, chosen_values(values)))
    if values.get("cloud", "").strip() == CHEAPEST:
        sections["serving"]["cloud"] = cheapest_cloud(sections)
    plan = plan_inference(*inference_inputs_from_sections(sections)).to_dict()
    return view_of_plan(plan, sections)


def cheapest_cloud(sections: dict[str, Any]) -> str:
    """The cloud of the cheapest SLO-meeting GPU x cloud row of ``gpucast compare`` (all clouds), for the GPU
    picked (or any GPU); the default cloud when no row meets the SLOs (the plan then says why)."""
    from ..planning.compare import compare_gpus

    workload, model, gpu, options = inference_inputs_from_sections(sections)
    rows = compare_gpus(workload, model, options, clouds=list(loader.clouds()),
                        gpu_types=[gpu.gpu_type] if gpu.gpu_type else None,
                        target_gpu_utilization=gpu.target_gpu_utilization)  # fmt: skip
    priced = [r for r in rows if r.meets_latency_sla and r.monthly_cost is not None]
    return priced[0].cloud if priced else options.cloud


def plan_training_values(values: dict[str, str]) -> PlanView:
    """The training form -> the plan ``gpucast training`` makes from the same flags."""
    from ..training.plan import plan_training

    fields = training_fields()
    _failing(fields, values, check_training)
    sections = sections_from_values(fields, chosen_values(values))
    plan = plan_training(*training_inputs_from_sections(sections)).to_dict()
    return view_of_plan(plan, sections)


def view_of_plan(plan: dict[str, Any], sections: dict[str, Any] | None = None) -> PlanView:
    """What the result view shows of any plan dict: a fresh one, or one reopened from the history."""
    from ..reports.content import build_report

    kind = str(plan.get("kind", "inference"))
    view = PlanView(kind, plan, build_report(plan), sections=sections)
    if kind == "inference":
        _serving_charts(view)
    else:
        _training_charts(view)
    return view


def _serving_charts(view: PlanView) -> None:
    from ..charts.curve import plan_curve
    from ..export.plan_file import inference_inputs_from_plan
    from ..planning.compare import compare_gpus

    plan = view.plan
    workload, model, gpu, options = inference_inputs_from_plan(plan)
    curve = plan_curve(workload, model, gpu, options, plan)
    view.curve = [CurvePoint(p.concurrency, p.output_tokens_per_s, p.ttft_s * 1e3, p.itl_s * 1e3)
                  for p in curve.points]  # fmt: skip
    c = curve.chosen
    view.chosen = CurvePoint(c.concurrency, c.output_tokens_per_s, c.ttft_s * 1e3, c.itl_s * 1e3)
    view.itl_slo_ms = options.itl_slo_ms
    view.slo_percentile = options.slo_percentile
    rows = compare_gpus(workload, model, options, clouds=list(loader.clouds()),
                        target_gpu_utilization=gpu.target_gpu_utilization)  # fmt: skip
    own = plan["gpu_resources"]["recommended_gpu_type"], (plan.get("cost") or {}).get("cloud")
    view.alternatives = [Bar(f"{r.gpu_type} ×{r.total_gpus} {r.cloud}", r.monthly_cost, (r.gpu_type, r.cloud) == own)
                         for r in rows if r.monthly_cost is not None][:ALTERNATIVE_BARS]  # fmt: skip


def _training_charts(view: PlanView) -> None:
    from ..errors import GpucastError
    from ..export.plan_file import training_inputs_from_plan
    from ..training.estimate import compare_training

    plan = view.plan
    own = plan["gpu_resources"]["recommended_gpu_type"], (plan.get("cost") or {}).get("cloud")
    try:
        training, model, options = training_inputs_from_plan(plan)
        rows = compare_training(training, model, options)
    except GpucastError:  # the report says why there is no comparison
        return
    view.alternatives = [Bar(f"{r.gpu_type} ×{r.gpus} {r.cloud}", r.total_cost, (r.gpu_type, r.cloud) == own)
                         for r in rows if r.total_cost is not None][:ALTERNATIVE_BARS]  # fmt: skip


def memory_parts(plan: dict[str, Any]) -> tuple[list[tuple[str, float]], float, str]:
    """(parts of one GPU's memory in GB, the GPU's memory in GB, title) as the plan states them."""
    res = plan["gpu_resources"]
    keys: tuple[tuple[str, str], ...]
    if plan.get("kind") == "training":
        keys = (("weights", "model_weights_gb"), ("gradients", "gradients_gb"), ("optimizer", "optimizer_states_gb"),
                ("activations", "activations_gb"), ("buffers", "buffers_gb"))  # fmt: skip
        title = f"Memory per GPU ({res['recommended_gpu_type']})"
    else:
        keys = (("weights", "weights_gb_per_gpu"), ("KV cache", "kv_cache_gb_per_gpu"),
                ("activations", "activations_gb_per_gpu"), ("runtime", "overhead_gb_per_gpu"))  # fmt: skip
        title = f"Memory per GPU ({res['recommended_gpu_type']}, TP={res['tensor_parallel']})"
    return [(name, float(res[key])) for name, key in keys], float(res["gpu_memory_gb"]), title


@dataclass
class ForecastView:
    """A forecast (what ``gpucast predict --json`` prints) and what the forecast tab draws."""

    data: dict[str, Any]
    fan: Any  # gpucast.forecast.plot.FanData
    summary: list[tuple[str, str]]
    timeline: list[dict[str, Any]]
    warnings: list[str]
    sections: dict[str, Any]


def forecast_values(values: dict[str, str]) -> ForecastView:
    """The forecast form -> ``gpucast predict --history FILE ... [--model M]`` (its run_predict steps)."""
    from ..errors import InputError
    from ..forecast import forecast_load, load_history
    from ..forecast.plot import fan_data

    fields = forecast_fields()
    _failing(fields, values, check_forecast)
    sections = sections_from_values(fields, values)
    given = sections["predict"]
    history = load_history(given["history"])
    series = given.get("series")
    if len(history.ids) > 1 and not series:
        shown = ", ".join(history.ids[:5]) + ("…" if len(history.ids) > 5 else "")
        raise InputError(f"--history holds {len(history.ids)} services ({shown}): pick one with --service ID")
    result = forecast_load(history, given.get("horizon", "14d"), scenario=given.get("scenario", "baseline"),
                           growth_rate=given.get("growth_rate", 0.0), unique_id=series)  # fmt: skip
    if not given.get("model"):  # as `gpucast predict` warns: the timeline's inputs are not used
        from ..planning.timeline import unused_without_model

        flags = {f.key: f.flag for f in fields}
        names = ("gpu", "precision", "input_tokens", "output_tokens", "current_gpus")
        note = unused_without_model({flags[k]: given.get(k) for k in names}, "--model")
        if note:
            result.warnings.append(note)
    data: dict[str, Any] = result.to_dict()
    if given.get("model"):
        from ..inputs.types import GPUConfig, ModelConfig, ServingOptions
        from ..planning.timeline import capacity_timeline, require_tokens

        require_tokens(result, given.get("input_tokens"), given.get("output_tokens"))
        timeline = capacity_timeline(
            result, model=ModelConfig(model_name=given["model"], precision=given.get("precision")),
            input_tokens=given.get("input_tokens"), output_tokens=given.get("output_tokens"),
            gpu=GPUConfig(gpu_type=given.get("gpu")), options=ServingOptions(cloud=given.get("cloud", "aws")),
            period=given.get("period", "day"), current_gpus=given.get("current_gpus"),
        )  # fmt: skip
        data.update(timeline.forecast_fields())
    return ForecastView(data, fan_data(history, result), forecast_summary(data), list(data.get("capacity", [])),
                        list(result.warnings), sections)  # fmt: skip


def forecast_summary(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The lines ``gpucast predict`` prints above its capacity timeline, from its JSON."""
    points = data["forecast"]
    means = [p["mean"] for p in points]
    backtest = data.get("backtest") or {}
    members = ", ".join(f"{m['name']} {m['weight']:.2f}" for m in data.get("members", []) if m.get("weight"))
    rows = [
        ("Series", f"{data['unique_id']} (scenario {data['scenario']}, {len(points)} steps of {data['freq']})"),
        ("Mean load", f"{min(means):,.2f} - {max(means):,.2f} req/s"),
        ("Peak (upper 80%)", f"{max(p['hi80'] for p in points):,.2f} req/s"),
        ("Backtest", f"MASE {_num(backtest.get('mase'), 3)} vs seasonal-naive {_num(backtest.get('baseline_mase'), 3)}"),
        ("Interval coverage", _coverage(backtest)),
        ("Members", members or "—"),
    ]  # fmt: skip
    if data.get("capacity"):
        rows.append(("Tokens per request", str(data.get("tokens_source", "given"))))
        if data.get("current_capacity_rps") is not None:
            when = data.get("exceeds_capacity_at") or "not within the horizon"
            rows.append(("Today's GPUs", f"carry {data['current_capacity_rps']:,.2f} req/s: exceeded at {when}"))
    return rows


def _coverage(backtest: dict[str, Any]) -> str:
    """The last backtest's achieved coverage beside the bands, with the steps ahead it was checked on (the line
    ``gpucast predict`` prints, from its JSON)."""
    held = [f"{key[8:]}% band held {value:.0%}" for key, value in sorted(backtest.items())
            if key.startswith("coverage") and key[8:].isdigit() and value is not None]  # fmt: skip
    if not held:
        return "not checked (no backtest origin: the history is too short, or constant)"
    if backtest.get("coverage_horizon") is None:
        return ", ".join(held) + f" ({backtest.get('fold_horizon')} steps ahead)"
    checked, horizon = backtest.get("coverage_checked_steps"), backtest["coverage_horizon"]
    return ", ".join(held) + f" of the last backtest, steps 1-{checked} of the {horizon} ahead"


def _num(value: Any, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
