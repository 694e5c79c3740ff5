"""The cheapest ``top`` rows of a GPU x cloud comparison, without searching the GPU types that cannot reach them.

A plan page shows the 12 cheapest of a comparison's rows (every priced GPU on every cloud, ~60), and a GPU type's
capacity searches are most of a new page's cost. Each (GPU, cloud) pair's row has a *floor*: the least row key any
of its layouts can have, known before any capacity search (``core.search_floor``: a bound of the capacity, so of
the replicas, so of the price). Pairs are searched from the lowest floor up; once ``top`` rows are known and the
next pair's floor is above the ``top``-th row's key, neither it nor any pair after it can enter the first ``top``
rows (their keys are at least their floors), and the search stops. The rows kept are then put back in the order
the full comparison adds them (request by request, each request's GPUs by ``Candidate.sort_key``, then catalog
order), so that the comparison's stable sort orders ties exactly as it does over every row: the first ``top``
rows are the same, field for field and in the same order.

Only for plain requests (no agent, speculative or disaggregated variants, whose rows this does not bound).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import replace

from ..catalog import loader
from ..core.cost import fleet_monthly
from ..core.perf import Efficiency
from ..core.search import Candidate, sharding_options
from ..core.search_floor import layout_size
from ..core.specs import GPUSpec, ModelSpec
from .request import ResolvedRequest
from .search import candidates_for

RowKey = tuple[bool, bool, float, int]  # compare_gpus' sort: SLO missed, unpriced, monthly cost, GPUs


def row_key(candidate: Candidate) -> RowKey:
    """The comparison's sort key of a priced candidate's row."""
    cost = candidate.cost_at_peak
    assert cost is not None
    return (not candidate.estimate.meets_slo, False, cost.monthly_usd, candidate.total_gpus)


Sizes = tuple[tuple[int, int], ...]  # (GPUs per replica, fewest replicas) of each layout that can start


def layout_sizes(request: ResolvedRequest, gpu: GPUSpec, efficiency: Efficiency) -> Sizes:
    """(GPUs per replica, fewest replicas) of the GPU's layouts that can start (``core.search_floor.layout_size``),
    each pair once: what a row floor needs besides the cloud's prices, the same on every cloud (computed once per
    GPU, not once per (GPU, cloud)). ``efficiency``: the GPU's for the request's engine (``loader.efficiency_for``)."""
    opts = request.options
    sizes: dict[tuple[int, int], None] = {}
    for layout in sharding_options(request.model, gpu, opts.tp, opts.pp, opts.ep, opts.attention_dp):
        size = layout_size(
            request.model, gpu, efficiency, layout, precision=request.precision, kv_precision=request.kv_precision,
            workload=request.workload, settings=request.settings,
        )  # fmt: skip
        if size is not None:  # None: cannot start, never chosen
            sizes[size] = None
    return tuple(sizes)


def row_floor(request: ResolvedRequest, gpu: GPUSpec, cloud: str, sizes: Sizes) -> RowKey | None:
    """The least key the GPU's row on ``cloud`` can have, or None when it can have no row (no layout starts, or
    no offer prices its fleet): the least of its layouts' cost floors (the cheapest fleet of the fewest replicas,
    ``sizes`` from :func:`layout_sizes`), as ``search_floor.layout_cost_floor`` prices one layout."""
    prices = loader.offers_for((cloud,), gpu.id, request.region)
    if not prices:
        return None
    monthly = fleet_monthly(prices, request.options.pricing)
    least: RowKey | None = None
    for gpus, replicas in sizes:
        cost = monthly(gpus, replicas)
        if math.isinf(cost):  # no offer prices it at any size: no row
            continue
        floor = (False, False, cost, replicas * gpus)
        least = floor if least is None or floor < least else least
    return least


def cheapest_candidates(requests: list[tuple[str, ResolvedRequest]], top: int) -> list[tuple[int, Candidate]]:
    """(request index, priced candidate) of every row that can be among the ``top`` cheapest of the comparison
    of ``requests`` ((cloud, plain request) in the comparison's order), in the order the comparison adds rows."""
    pairs = []
    efficiencies: dict[tuple[str, ModelSpec, str, str | None], Efficiency] = {}  # the same for every cloud
    sizes: dict[tuple[object, ...], Sizes] = {}  # the same for every cloud too, given what layout_sizes reads
    for index, (cloud, request) in enumerate(requests):
        engine, version, opts = request.options.engine, request.options.engine_version, request.options
        for position, gpu in enumerate(request.gpus):
            key = (gpu.id, request.model, engine, version)
            if key not in efficiencies:
                efficiencies[key] = loader.efficiency_for(gpu, engine, model=request.model, engine_version=version)
            shape = (gpu, request.model, efficiencies[key], request.precision, request.kv_precision, request.workload,
                     request.settings, opts.tp, opts.pp, opts.ep, opts.attention_dp)  # fmt: skip
            if shape not in sizes:
                sizes[shape] = layout_sizes(request, gpu, efficiencies[key])
            floor = row_floor(request, gpu, cloud, sizes[shape])
            if floor is not None:
                pairs.append((floor, index, position, gpu))
    pairs.sort(key=lambda pair: pair[0])
    keys: list[RowKey] = []  # the rows' keys so far, ascending
    kept: list[tuple[int, Candidate, int]] = []
    for floor, index, position, gpu in pairs:
        if len(keys) >= top and floor > keys[top - 1]:
            break  # this pair and every later one sort after the first ``top`` rows
        cloud, request = requests[index]
        found, _ = candidates_for(replace(request, gpus=(gpu,)), cloud=cloud)
        for candidate in found:
            if candidate.cost_at_peak:
                kept.append((index, candidate, position))
                bisect.insort(keys, row_key(candidate))
    kept.sort(key=lambda row: (row[0], row[1].sort_key(), row[2]))
    return [(index, candidate) for index, candidate, _ in kept]
