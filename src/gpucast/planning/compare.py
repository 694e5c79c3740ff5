"""Rank every GPU x cloud (x precision) that can serve a workload: the ``compare`` command.

For agent workloads and the serving options of issue 11, each GPU x cloud also gets rows for the
options that apply (``variant``): a quantized FP8 KV cache (more concurrent long contexts), prefix
caching off (what the cache saves), speculative decoding off (when it is on), and disaggregated
prefill/decode pools (when asked for). ``note`` says what the variant changed; ``winner_summary``
says which wins and why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..catalog import loader
from ..core.cost import cheapest_fleet, cost_per_million_tokens
from ..core.specs import Precision
from ..core.workload import SLO
from ..errors import InfeasibleError, InputError
from ..inputs.numbers import check_positive, fold_case, name_list
from ..inputs.offers import parse_clouds
from ..inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions, parse_precision, serving_arguments
from ..jsonable import dataclass_dict
from .agent import disaggregation
from .compare_top import cheapest_candidates
from .request import ResolvedRequest, engine_gpus, resolve, weight_only_note
from .search import candidates_for, no_plan_message, variant_candidates_for


@dataclass
class ComparisonRow:
    """One GPU type on one cloud at one precision, in its cheapest SLO-meeting configuration."""

    gpu_type: str
    cloud: str
    precision: str
    tensor_parallel: int
    pipeline_parallel: int
    gpus_per_replica: int
    min_replicas: int
    max_replicas: int
    total_gpus: int
    rps_per_replica: float
    monthly_cost: float | None
    cost_per_million_tokens: float | None
    instance_type: str | None
    ttft_ms: float
    itl_ms: float
    meets_latency_sla: bool
    kv_precision: str = ""
    variant: str = "base"  # base | kv-fp8 | no-prefix-cache | no-speculation | disaggregated
    note: str = ""
    region: str | None = None  # where the priced offer is
    pricing: str | None = None  # on-demand | spot | 1yr | 3yr | marketplace
    reliability: str | None = None  # on-demand | reserved | spot/interruptible | marketplace
    price_as_of: str | None = None
    # the statistic the SLOs bound (issue 21: p99 by default) at the capacity, what ``SLO yes/no`` judged: TTFT and
    # per-request TPOT; None when the SLOs bound the means (ttft_ms and itl_ms above) or for a disaggregated row
    slo_percentile: str = "mean"
    ttft_at_slo_percentile_ms: float | None = None
    tpot_at_slo_percentile_ms: float | None = None
    # a request alone (one in flight): the lowest TTFT and ITL the row's configuration reaches, as `inference` says
    lowest_ttft_ms: float | None = None
    lowest_itl_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        # JSON-ready as a plan's: a non-finite cost per token (``--rps 1e-320`` overflows it to inf) is null, not
        # ``Infinity`` (invalid JSON from `compare --json`; REST /compare answered 500 "Out of range float values")
        return dataclass_dict(self)


def compare_gpus(
    workload: LLMWorkloadInput,
    model: ModelConfig,
    options: ServingOptions | None = None,
    *,
    clouds: list[str] | None = None,
    precisions: list[str] | None = None,
    gpu_types: list[str] | None = None,
    target_gpu_utilization: float = 0.7,
    top: int | None = None,
) -> list[ComparisonRow]:
    """Rows sorted by monthly cost (SLO-meeting first, unpriced last); with ``top``, the first ``top`` of them,
    found without searching the GPU types that cannot be among them (:mod:`.compare_top`; the same rows)."""
    workload, model, _, options = serving_arguments(workload, model, None, options)
    cloud_names, precision_names, gpu_names = (name_list(flag, value) for flag, value in (
        ("--clouds", clouds), ("--precisions", precisions), ("--gpus", gpu_types)))  # fmt: skip
    if top is not None:
        check_positive("--top", top, integer=True)
    known = loader.clouds()
    if fold_case(options.cloud) not in known:  # every cloud's row replaces it; a typo was ignored without a word
        raise InputError(f"--cloud {options.cloud!r} is not one of {', '.join(known)}")
    if cloud_names:
        chosen_clouds = list(parse_clouds(cloud_names, known))
    else:  # the options' --clouds, else every provider
        chosen_clouds = list(options.chosen_clouds(known) if options.clouds is not None else known)
    if isinstance(options.region, str) and options.region.strip():  # anything else: refused by resolve() below
        chosen_clouds = [c for c in chosen_clouds if options.region.strip() in loader.regions(c)] or chosen_clouds
    # without --precisions: the model's own (None = its published checkpoint's, as `inference` plans it)
    names = [parse_precision(p, "--precisions").name for p in precision_names] if precision_names else [model.precision]
    names = list(dict.fromkeys(names))  # `FP8,fp8` (or `--gpus H100,H100-SXM` below): each row once, not twice
    requests = []
    for name in names:
        for cloud in chosen_clouds:
            request = resolve(
                workload,
                replace(model, precision=name),
                GPUConfig(None, target_gpu_utilization),
                replace(options, cloud=cloud, clouds=None),
            )
            if gpu_names:
                named = tuple(dict.fromkeys(loader.resolve_gpu(g) for g in gpu_names))
                request = replace(request, gpus=engine_gpus(loader.resolve_engine(options.engine), named, named=True))
            requests.append((cloud, request))
    rows: list[ComparisonRow] = []
    if top and not gpu_names and all(_plain(request) for _, request in requests):
        for index, candidate in cheapest_candidates(requests, top):
            cloud, request = requests[index]
            rows.append(_row(candidate, cloud, request.precision.name, workload, request.slo))
    else:
        for cloud, request in requests:
            precision = request.precision.name
            found, _ = candidates_for(request, cloud=cloud)
            rows += [_row(c, cloud, precision, workload, request.slo) for c in found if c.cost_at_peak or gpu_names]
            rows += _variant_rows(request, cloud, precision, workload, keep_unpriced=bool(gpu_names))
    rows = _priced_where_sold(rows)
    if release := loader.engine_release_note(options.engine, options.engine_version):  # as plan and estimate say it
        rows = [
            replace(r, note="; ".join(n for n in (r.note, release) if n)) if r.variant == "base" else r for r in rows
        ]
    rows.sort(key=lambda r: (not r.meets_latency_sla, r.monthly_cost is None, r.monthly_cost or 0.0, r.total_gpus))
    return rows[:top] if top else rows


def _priced_where_sold(rows: list[ComparisonRow]) -> list[ComparisonRow]:
    """A named GPU is ranked on every cloud, so one that two clouds sell listed six more rows priced "n/a" (the
    clouds that do not sell it, each the same plan). Unpriced rows stay only for a GPU, precision and option that no
    cloud prices, one of them: its plan is still the answer to "what would it take"."""
    priced = {(r.gpu_type, r.precision, r.variant) for r in rows if r.monthly_cost is not None}
    unsold: dict[tuple[str, str, str], list[str]] = {}  # the clouds without a price, per GPU, precision, option
    for row in rows:
        if row.monthly_cost is None and (key := (row.gpu_type, row.precision, row.variant)) not in priced:
            unsold.setdefault(key, []).append(row.cloud)
    kept: list[ComparisonRow] = []
    shown: set[tuple[str, str, str, int, int]] = set()
    for row in rows:
        key = (row.gpu_type, row.precision, row.variant)
        if row.monthly_cost is None:
            plan = (*key, row.tensor_parallel, row.pipeline_parallel)
            if key in priced or plan in shown:
                continue
            shown.add(plan)
            clouds = list(dict.fromkeys(unsold[key]))
            said = f"{row.gpu_type} has no price on {', '.join(clouds)}: its plan is listed once, unpriced"
            row = replace(row, note="; ".join(n for n in (row.note, said) if n)) if len(clouds) > 1 else row
        kept.append(row)
    return kept


def require_rows(rows: list[ComparisonRow], workload: LLMWorkloadInput, model: ModelConfig,
                 options: ServingOptions | None = None, *, clouds: list[str] | None = None,
                 gpu_types: list[str] | None = None) -> list[ComparisonRow]:  # fmt: skip
    """``rows``, or the InfeasibleError that says why none can serve: ``compare`` answers "no feasible plan" as the
    planner does (exit 2, REST 422), naming the first precision's reason on the first cloud searched."""
    options = options or ServingOptions()
    if rows and options.require_slo and not any(row.meets_latency_sla for row in rows):
        raise InfeasibleError(_none_meets(rows, options))  # a table of "no" rows and exit 0 before
    if rows:
        return rows
    known = loader.clouds()
    chosen = list(parse_clouds(clouds, known)) if clouds else list(options.chosen_clouds(known))
    request = resolve(workload, model, GPUConfig(None), replace(options, cloud=chosen[0], clouds=None))
    if gpu_types:
        named = tuple(loader.resolve_gpu(g) for g in gpu_types)
        request = replace(request, gpus=engine_gpus(loader.resolve_engine(options.engine), named, named=True))
    _, reasons = candidates_for(request, cloud=chosen[0])
    if reasons and len(reasons) == len(request.gpus):
        raise InfeasibleError(
            f"no GPU and cloud combination can serve this workload: {no_plan_message(request, reasons)}"
        )
    raise InfeasibleError(f"no GPU and cloud combination can serve this workload: none of the GPUs that can hold "
                          f"{request.model.name} has a {options.pricing} price on {', '.join(chosen)}; try other "
                          "--clouds, --pricing or --gpus")  # fmt: skip


def _none_meets(rows: list[ComparisonRow], options: ServingOptions) -> str:
    """Every row misses the SLOs: the answer is "infeasible", as ``inference`` answers it, naming the row closest
    to the targets (the smallest worst ratio of latency to target)."""
    ttft, itl = options.ttft_slo_ms, options.itl_slo_ms
    best = min(rows, key=lambda r: max(_alone(r)[0] / ttft, _alone(r)[1] / itl))
    at, token = ("the mean", "ITL") if options.slo_percentile == "mean" else (f"p{options.slo_percentile}", "TPOT")
    best_ttft, best_itl = _alone(best)
    return (f"no GPU and cloud combination meets the SLOs (TTFT <= {ttft:g} ms, {token} <= {itl:g} ms at {at}): the "
            f"closest of {len(rows)} rows, {best.gpu_type} {best.tensor_parallel}x{best.pipeline_parallel} "
            f"{best.precision}, reaches at best TTFT {best_ttft:,.0f} ms and ITL {best_itl:,.1f} ms (one request in "
            "flight); relax the SLOs, or pass --allow-infeasible to rank them anyway")  # fmt: skip


def _alone(row: ComparisonRow) -> tuple[float, float]:
    """(TTFT, ITL) ms of ``row``'s configuration with one request in flight, the lowest it reaches (`inference`'s
    infeasible answer names the same); its capacity point's where it has none (a disaggregated row)."""
    if row.lowest_ttft_ms is None or row.lowest_itl_ms is None:
        return row.ttft_ms, row.itl_ms
    return row.lowest_ttft_ms, row.lowest_itl_ms


def _plain(request: ResolvedRequest) -> bool:
    """No variant rows (agent, speculative, disaggregated): what :mod:`.compare_top` bounds."""
    return not request.variant.active and not _variants(request) and not request.options.disaggregation


def _row(candidate: Any, cloud: str, precision: str, workload: LLMWorkloadInput, slo: SLO) -> ComparisonRow:
    est, fleet, cost = candidate.estimate, candidate.fleet, candidate.cost_at_peak
    ttft_at, tpot_at, _ = slo.latencies(est.capacity)  # what the SLOs judged (the means at "mean")
    tokens_per_s = workload.requests_per_second * (workload.avg_input_tokens + workload.avg_output_tokens)
    return ComparisonRow(
        gpu_type=est.config.gpu.name,
        cloud=cloud,
        precision=precision,
        tensor_parallel=est.config.tp,
        pipeline_parallel=est.config.pp,
        gpus_per_replica=est.config.gpus,
        min_replicas=fleet.min_replicas,
        max_replicas=fleet.max_replicas,
        total_gpus=candidate.total_gpus,
        rps_per_replica=est.capacity.requests_per_s,
        monthly_cost=cost.monthly_usd if cost else None,
        cost_per_million_tokens=cost_per_million_tokens(cost.hourly_usd, tokens_per_s) if cost else None,
        instance_type=cost.instance_type if cost else None,
        ttft_ms=est.capacity.ttft_s * 1e3,
        itl_ms=est.capacity.itl_s * 1e3,
        meets_latency_sla=est.meets_slo,
        kv_precision=est.config.kv_precision.name,
        region=cost.region if cost else None,
        pricing=cost.pricing if cost else None,
        reliability=cost.reliability if cost else None,
        price_as_of=cost.as_of if cost else None,
        note=weight_only_note(est.config.gpu, est.config.precision) or "",
        slo_percentile=slo.percentile,
        ttft_at_slo_percentile_ms=None if slo.percentile == "mean" else ttft_at * 1e3,
        tpot_at_slo_percentile_ms=None if slo.percentile == "mean" else tpot_at * 1e3,
        lowest_ttft_ms=est.lowest.ttft_s * 1e3 if est.lowest else None,
        lowest_itl_ms=est.lowest.itl_s * 1e3 if est.lowest else None,
    )


def _variants(request: ResolvedRequest) -> list[tuple[str, ResolvedRequest]]:
    """The options that apply to this request, each as a modified request."""
    out: list[tuple[str, ResolvedRequest]] = []
    v = request.variant
    if v.agent is not None and request.kv_precision.value.bytes_per_param > 1.0:
        out.append(("kv-fp8", replace(request, kv_precision=Precision.FP8)))
    if v.agent is not None and v.prefix_caching:
        out.append(("no-prefix-cache", replace(request, variant=replace(v, prefix_caching=False))))
    if v.speculative is not None:
        out.append(("no-speculation", replace(request, variant=replace(v, speculative=None))))
    return out


def _variant_rows(
    request: ResolvedRequest, cloud: str, precision: str, workload: LLMWorkloadInput, *, keep_unpriced: bool
) -> list[ComparisonRow]:
    rows: list[ComparisonRow] = []
    for name, changed in _variants(request):
        found, _ = candidates_for(changed, cloud=cloud)
        for c in found:
            if c.cost_at_peak or keep_unpriced:
                rows.append(replace(_row(c, cloud, precision, workload, changed.slo), variant=name, note=_NOTES[name]))
    if request.options.disaggregation:
        rows += _disaggregated_rows(request, cloud, precision, workload, keep_unpriced=keep_unpriced)
    return rows


_NOTES = {
    "kv-fp8": "FP8 KV cache: half the bytes per token, twice the sequences (and cached prefixes) per replica",
    "no-prefix-cache": "prefix caching off: every call prefills its whole context",
    "no-speculation": "speculative decoding off",
}


def _disaggregated_rows(
    request: ResolvedRequest, cloud: str, precision: str, workload: LLMWorkloadInput, *, keep_unpriced: bool
) -> list[ComparisonRow]:
    rows: list[ComparisonRow] = []
    ranked, _ = variant_candidates_for(request, cloud=cloud)
    for v in ranked:
        d = disaggregation(request, v)
        if not d.feasible:
            continue
        cfg = v.candidate.estimate.config
        prices = loader.prices_for(cloud, cfg.gpu.id, request.region)
        instances = d.prefill_instances + d.decode_instances
        cost = cheapest_fleet(
            prices, gpus_per_replica=cfg.gpus, replicas=instances, pricing=request.options.pricing, tp=cfg.tp
        )
        if cost is None and not keep_unpriced:
            continue
        base = _row(v.candidate, cloud, precision, workload, request.slo)
        tokens_per_s = workload.requests_per_second * (workload.avg_input_tokens + workload.avg_output_tokens)
        rows.append(
            replace(
                base,
                variant="disaggregated",
                min_replicas=instances,
                max_replicas=instances,
                total_gpus=d.total_gpus,
                monthly_cost=cost.monthly_usd if cost else None,
                cost_per_million_tokens=cost_per_million_tokens(cost.hourly_usd, tokens_per_s) if cost else None,
                instance_type=cost.instance_type if cost else None,
                region=cost.region if cost else None,
                pricing=cost.pricing if cost else None,
                reliability=cost.reliability if cost else None,
                price_as_of=cost.as_of if cost else None,
                ttft_ms=d.ttft_ms,
                itl_ms=d.itl_ms,
                ttft_at_slo_percentile_ms=None,  # the pools' means (core.disaggregation), no tail
                tpot_at_slo_percentile_ms=None,
                note=f"{d.prefill_instances} prefill + {d.decode_instances} decode instances; {d.reason}",
            )
        )
    return rows


def winner_summary(rows: list[ComparisonRow]) -> str:
    """Which option wins and why: the cheapest SLO-meeting row against the base row of the same GPU and cloud."""
    if not rows or all(r.variant == "base" for r in rows):
        return ""
    best = rows[0]
    if best.variant == "base":
        return f"Best: {best.gpu_type} on {best.cloud} as configured (base): no option beats it for this workload"
    same = [
        r
        for r in rows
        if r.variant == "base" and (r.gpu_type, r.cloud, r.precision) == (best.gpu_type, best.cloud, best.precision)
    ]
    text = f"Best: {best.gpu_type} on {best.cloud} with {best.variant} ({best.total_gpus} GPUs"
    if same:
        base = same[0]
        text += f" vs {base.total_gpus} as configured"
        if best.monthly_cost is not None and base.monthly_cost is not None:
            text += f", ${base.monthly_cost - best.monthly_cost:,.0f}/month less"
    return text + f"): {best.note}"
