"""Fleet capacity from a reconciled fleet forecast: GPUs per team per week, when the fleet runs out, monthly spend.

Each service is sized once, like a single service's capacity timeline (``timeline.py``): the inference planner
picks a configuration (GPU type, TP × PP) for the service's highest upper-80% forecast; at every forecast step the
service then needs ``max(min_replicas, ceil(rps × (1 + safety margin) / rps per replica), ceil(rps / (saturation
rps per replica × target utilization)))`` replicas of it — what the planner gives for that rate (``core.fleet``). A
team's need at a step is the sum over its services (each service rounds to whole replicas on its own, as it is
deployed), a period's need the largest step of the period. Three figures per period, from the reconciled forecast:
at the mean (``gpus``) and at the team's own 80% band (``gpus_low``, ``gpus_high``): each service's mean scaled by
the ratio of the team's lower/upper bound to the team's mean at that step. Why not each service at its own bound:
services do not all peak together, so the sum of their upper bounds is far above the team's upper bound (on
bursty services, several times the mean); the team's band is calibrated on the team's own traffic. Fleet totals
use the fleet total's band the same way.

The fleet runs out at the first step whose total need exceeds ``current_gpus``: ``earliest`` with every service on
its upper bound, ``expected`` on the mean, ``latest`` on the lower bound (None: not within the horizon).

Spend (the original specification's "cost history"): per calendar month (UTC), the GPU-hours the traffic needed at
each hour — sized from the usage history for past hours and from the forecast for future ones (mean; the fleet
total's 80% band as the range) —
times each service's GPU price per hour from the plan (its cloud's price list), paid as whole instances of the
instance type its plan chose (``ServiceSizing.paid_gpus``), as the capacity timeline and the planner price a fleet. It is what the fleet costs when it
is scaled to its traffic hour by hour, at the plans' configurations and prices.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..catalog import loader
from ..errors import GpucastError, InputError
from ..forecast.hierarchy import HierarchyForecast, align
from ..forecast.scenarios import period_start
from ..inputs.types import GPUConfig, ModelConfig, ServingOptions
from .timeline import _plan, _rates

BANDS = ("low", "mean", "high")


@dataclass(frozen=True)
class ServiceConfig:
    """What a service serves: the planner's inputs except the traffic (which comes from the forecast)."""

    model: ModelConfig
    input_tokens: int
    output_tokens: int
    gpu: GPUConfig = field(default_factory=GPUConfig)
    options: ServingOptions = field(default_factory=ServingOptions)


@dataclass(frozen=True)
class ServiceSizing:
    service: str
    team: str
    environment: str
    gpu_type: str
    gpus_per_replica: int
    rps_per_replica: float
    min_replicas: int
    safety_margin: float
    gpu_hourly_cost: float | None
    saturation_rps_per_replica: float = 0.0  # with target_utilization: the planner's rule for the rate (0: none)
    target_utilization: float = 0.7
    instance_gpus: int = 0  # GPUs in one instance of the plan's instance type (0: priced per GPU)

    def gpus(self, rps: np.ndarray) -> np.ndarray:
        """GPUs this service needs at each of ``rps`` (whole replicas, at least ``min_replicas``), by both of the
        planner's rules (``core.fleet.size_fleet``): the safety margin over the SLO capacity, and the rate at most
        ``target_utilization`` of the saturation rate — ``core.fleet.replicas_at_slo`` and
        ``replicas_at_utilization`` over a whole array of rates at once (a fleet has many services x steps)."""
        rates = np.asarray(rps)
        replicas = np.ceil(rates * (1.0 + self.safety_margin) / self.rps_per_replica - 1e-9)
        if self.saturation_rps_per_replica > 0.0:
            at_utilization = rates / (self.saturation_rps_per_replica * self.target_utilization)
            replicas = np.maximum(replicas, np.ceil(at_utilization - 1e-9))
        return np.maximum(self.min_replicas, replicas).astype(int) * self.gpus_per_replica

    def paid_gpus(self, rps: np.ndarray) -> np.ndarray:
        """GPUs paid for at each of ``rps``: whole instances of the plan's instance type, as the planner and the
        capacity timeline price a fleet (``core.cost.instances_needed``). Priced per GPU, 2 replicas of TP=1 on
        GCP's 8-GPU-only H100 instance cost 2/8 of what the timeline beside them says the same GPUs cost."""
        gpus = self.gpus(rps)
        size = self.instance_gpus
        if size <= 0 or self.gpus_per_replica > size:  # per GPU, or replicas of whole instances each
            return gpus
        per_instance = size // self.gpus_per_replica
        return np.ceil(gpus // self.gpus_per_replica / per_instance - 1e-9).astype(int) * size


@dataclass(frozen=True)
class TeamPeriod:
    period_start: str
    environment: str
    team: str
    gpus_low: int
    gpus: int
    gpus_high: int
    monthly_cost: float | None  # at ``gpus`` (the mean forecast), the period's most expensive step × 730 h


@dataclass(frozen=True)
class MonthSpend:
    month: str  # YYYY-MM
    source: str  # "history", "forecast" or "history+forecast"
    hours: float
    spend: float  # history + mean forecast
    spend_low: float  # history + the forecast at the fleet total's lower 80% bound
    spend_high: float


@dataclass
class FleetPlan:
    sizing: list[ServiceSizing]
    teams: list[TeamPeriod]
    totals: list[dict[str, Any]]  # per period: period_start, gpus_low, gpus, gpus_high
    current_gpus: int | None
    runs_out: dict[str, str | None]  # earliest / expected / latest
    spend: list[MonthSpend]
    period: str
    unpriced: list[str] = field(default_factory=list)  # services whose cloud has no price for their GPU

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def size_services(hf: HierarchyForecast, configs: dict[str, ServiceConfig]) -> list[ServiceSizing]:
    """One configuration per service, planned at its highest upper-80% forecast."""
    out = []
    for node in hf.level("service"):
        config = configs.get(node.name)
        if config is None:
            raise InputError(f"service {node.name!r} has no model/tokens configuration; give one for every service")
        team_node = next(n for n in hf.nodes if n.id == node.parent)
        env = team_node.parent.split(":", 1)[1] if team_node.parent else ""
        peak = max(max(p.hi80 for p in hf.results[node.id].forecast), 1e-6)
        try:
            plan = _plan(peak, (config.input_tokens, config.output_tokens), config.model, config.gpu, config.options)
        except GpucastError as error:  # "--cloud 'abc' is not one of ...": which of the table's rows said so?
            raise _of_service(error, node.name) from None
        resources = plan.gpu_resources
        out.append(
            ServiceSizing(
                service=node.name,
                team=team_node.name,
                environment=env,
                gpu_type=resources.recommended_gpu_type,
                gpus_per_replica=resources.min_gpus_per_replica,
                rps_per_replica=plan.throughput.rps_per_replica,
                min_replicas=config.options.min_replicas,
                safety_margin=config.options.safety_margin,
                gpu_hourly_cost=plan.cost.gpu_hourly_cost if plan.cost else None,
                saturation_rps_per_replica=_rates(plan)[1],
                target_utilization=config.gpu.target_gpu_utilization,
                instance_gpus=_instance_gpus(plan),
            )
        )
    return out


def _instance_gpus(plan: Any) -> int:
    """GPUs in one instance of the instance type the plan is priced on (0 where it has no cost)."""
    cost = plan.cost
    if cost is None:
        return 0
    gpu_id = loader.resolve_gpu(plan.gpu_resources.recommended_gpu_type).id
    sizes = [
        p.gpus for p in loader.prices_for(cost.cloud, gpu_id, cost.region) if p.instance_type == cost.instance_type
    ]
    return sizes[0] if sizes else 0


def _of_service(error: GpucastError, service: str) -> GpucastError:
    """The planner's error for one service of a fleet, naming the service (its kind kept where it takes a message
    alone, so that the REST API answers with the same status)."""
    message = f"service {service!r}: {error}"
    return type(error)(message) if type(error).__init__ is GpucastError.__init__ else InputError(message)


def _band(hf: HierarchyForecast, service: str, band: str) -> np.ndarray:
    points = hf.results[f"service:{service}"].forecast
    if band == "low":
        return np.array([p.lo80 for p in points])
    if band == "high":
        return np.array([p.hi80 for p in points])
    return np.array([p.mean for p in points])


def fleet_plan(
    hf: HierarchyForecast,
    configs: dict[str, ServiceConfig],
    *,
    history: Any = None,
    period: str = "week",
    current_gpus: int | None = None,
) -> FleetPlan:
    """GPUs per team per ``period`` (day or week) with a low/high range, the date the fleet runs out, and the
    monthly spend (past months too when ``history``, the History the forecast was made from, is given)."""
    if period not in ("day", "week"):
        raise InputError(f"period {period!r} is not accepted; use day or week")
    if current_gpus is not None and current_gpus < 0:
        raise InputError(f"current GPUs must be >= 0, got {current_gpus}")
    sizing = size_services(hf, configs)
    stamps = [p.timestamp for p in hf.results["all"].forecast]
    periods = [period_start(t, period) for t in stamps]
    price = {s.service: s.gpu_hourly_cost for s in sizing}
    mean = {s.service: _band(hf, s.service, "mean") for s in sizing}
    teams: list[TeamPeriod] = []
    totals: list[dict[str, Any]] = []
    keys = sorted({(s.environment, s.team) for s in sizing})
    order = list(dict.fromkeys(periods))
    index = np.array([order.index(p) for p in periods])
    for env, team in keys:
        members = [s for s in sizing if (s.environment, s.team) == (env, team)]
        series = _needs(members, mean, _ratios(hf, f"team:{env}/{team}"))
        rate = np.sum([m.paid_gpus(mean[m.service]) * (price[m.service] or 0.0) for m in members], axis=0)
        priced = all(price[m.service] is not None for m in members)
        for k, start in enumerate(order):
            at = index == k
            teams.append(
                TeamPeriod(
                    start, env, team, int(series["low"][at].max()), int(series["mean"][at].max()),
                    int(series["high"][at].max()), float(rate[at].max()) * 730.0 if priced else None,
                )
            )  # fmt: skip
    total = _needs(sizing, mean, _ratios(hf, "all"))
    for k, start in enumerate(order):
        at = index == k
        totals.append({"period_start": start, **{f"gpus{_suffix(b)}": int(total[b][at].max()) for b in BANDS}})
    runs_out: dict[str, str | None] = {"earliest": None, "expected": None, "latest": None}
    if current_gpus is not None:
        for key, band in (("earliest", "high"), ("expected", "mean"), ("latest", "low")):
            over = np.flatnonzero(total[band] > current_gpus)
            runs_out[key] = stamps[int(over[0])] if len(over) else None
    spend = monthly_spend(hf, sizing, history)
    unpriced = [s.service for s in sizing if s.gpu_hourly_cost is None]
    return FleetPlan(sizing, teams, totals, current_gpus, runs_out, spend, period, unpriced)


def _ratios(hf: HierarchyForecast, node_id: str) -> dict[str, np.ndarray]:
    """Per band, the node's bound over its mean at each step (1 where the mean is 0)."""
    points = hf.results[node_id].forecast
    mean = np.array([p.mean for p in points])
    safe = np.where(mean > 0, mean, 1.0)
    low = np.where(mean > 0, np.array([p.lo80 for p in points]) / safe, 1.0)
    high = np.where(mean > 0, np.array([p.hi80 for p in points]) / safe, 1.0)
    return {"low": low, "mean": np.ones_like(mean), "high": high}


def _needs(members: list[ServiceSizing], mean: dict[str, np.ndarray], ratio: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per band, the GPUs the members need together at each step, every mean scaled by the band's ratio."""
    return {b: np.sum([m.gpus(mean[m.service] * ratio[b]) for m in members], axis=0) for b in BANDS}


def _suffix(band: str) -> str:
    return "" if band == "mean" else f"_{band}"


def monthly_spend(hf: HierarchyForecast, sizing: list[ServiceSizing], history: Any = None) -> list[MonthSpend]:
    """Per UTC month: GPU-hours needed × price per GPU-hour, summed over services (unpriced services count 0)."""
    freq = hf.results["all"].freq
    from ..forecast.history import step_seconds

    hours = step_seconds(freq) / 3600.0
    acc: dict[str, dict[str, float]] = {}
    sources: dict[str, set[str]] = {}

    def add(month: str, source: str, low: float, mean: float, high: float) -> None:
        row = acc.setdefault(month, {"hours": 0.0, "low": 0.0, "mean": 0.0, "high": 0.0})
        row["hours"] += hours
        row["low"] += float(low)
        row["mean"] += float(mean)
        row["high"] += float(high)
        sources.setdefault(month, set()).add(source)

    if history is not None:
        wide = align(history)
        months = [t.strftime("%Y-%m") for t in wide.index]
        cost = np.zeros(len(wide))
        for s in sizing:
            if s.gpu_hourly_cost is not None and s.service in wide.columns:
                cost += s.paid_gpus(wide[s.service].to_numpy(dtype=float)) * s.gpu_hourly_cost * hours
        for month, c in zip(months, cost, strict=True):
            add(month, "history", c, c, c)
    stamps = [p.timestamp for p in hf.results["all"].forecast]
    future = {b: np.zeros(len(stamps)) for b in BANDS}
    ratio = _ratios(hf, "all")
    for s in sizing:
        if s.gpu_hourly_cost is not None:
            for b in BANDS:
                future[b] += s.paid_gpus(_band(hf, s.service, "mean") * ratio[b]) * s.gpu_hourly_cost * hours
    for k, stamp in enumerate(stamps):
        add(stamp[:7], "forecast", future["low"][k], future["mean"][k], future["high"][k])
    return [
        MonthSpend(m, "+".join(sorted(sources[m], key=lambda x: x != "history")), row["hours"],
                   float(row["mean"]), float(row["low"]), float(row["high"]))
        for m, row in sorted(acc.items())
    ]  # fmt: skip


def months_covered(spend: list[MonthSpend]) -> float:
    """Months of spend the list holds (hours / 730), for messages."""
    return math.fsum(m.hours for m in spend) / 730.0


def single_service(result: Any, team: str = "-", environment: str = "-") -> HierarchyForecast:
    """One service's forecast as a one-service fleet: every total is the service itself."""
    from ..forecast.hierarchy import Node

    uid = result.unique_id
    nodes = [
        Node("all", "all", "all", None),
        Node(f"environment:{environment}", "environment", environment, "all"),
        Node(f"team:{environment}/{team}", "team", team, f"environment:{environment}"),
        Node(f"service:{uid}", "service", uid, f"team:{environment}/{team}"),
    ]
    return HierarchyForecast(nodes, {n.id: result for n in nodes}, "single service")


def service_spend(result: Any, config: ServiceConfig, *, history: Any = None) -> tuple[ServiceSizing, list[MonthSpend]]:
    """One service's monthly GPU spend (``gpucast predict --spend``): its forecast ``result`` sized with ``config``,
    the months of ``history`` (the History the forecast came from) included."""
    hf = single_service(result)
    sizing = size_services(hf, {result.unique_id: config})
    if sizing[0].gpu_hourly_cost is None:  # the spend was $0 a month, every month, beside a timeline of "n/a"
        raise InputError(f"no spend: {sizing[0].gpu_type} has no {config.options.pricing} price on "
                         f"{config.options.cloud}; choose a cloud that prices it (see `gpucast prices list`) or "
                         "leave out the spend")  # fmt: skip
    return sizing[0], monthly_spend(hf, sizing, history)
