"""Latencies of a configuration at a load, remembered across capacity searches of other SLOs.

``capacity.slo_capacity`` bisects the load (requests in flight) of one configuration and request shape for the
largest one that meets the SLOs; ``inference.replica_estimates`` remembers each search's result, keyed by the SLOs
too. Questions that share a model, GPU, layout and request shape but ask for other latency targets (another ITL
SLO, as a plan form's users try) start the same bisection from the same bracket, so they try the same first
loads: the mean model's point (``serving.open_loop_point``) and its tail (``tails.latency_tail``) at a load depend
only on the configuration, the request shape and the load, not on the targets. What a search's decision at a load
needs of them is three numbers, the (TTFT, token latency, E2E) that ``SLO.latencies`` reads off the point — its
means, and at the SLO's percentile where the SLOs need a tail (there the token latency is the per-request TPOT's
percentile, MLPerf's TPOT, not the per-gap ITL's) — so those are kept here (~0.3 KiB an entry, not the ~4 KiB of a
point with its tail) and a later search reads them instead of computing the point again.

The key holds everything the latencies are a function of: the ``ReplicaConfig`` (model, GPU and its calibrated
``Efficiency``, precisions, layout, max sequences — a changed catalog or calibration is another key, never a stale
hit), the shape (tokens in, out and cached, the length profile for the tail) and the load, and for a tail the
percentile. The functions computed are pure, so a hit is the value the search would compute: the search's result
is the same, bit for bit (tests/test_load_memo.py checks it against searches with an empty memo).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

Latencies = tuple[float, float, float]  # (TTFT, ITL or TPOT, E2E) seconds, as SLO.latencies returns them

LOADS_KEPT = 131072  # entries per table, ~40 MiB at most; a cold mix of 200 plan pages tries ~80,000 loads
_MEANS: dict[Hashable, Latencies] = {}
_TAILS: dict[Hashable, Latencies] = {}
_COUNTS = {"hits": 0, "misses": 0}  # for tests and diagnostics (not locked: two lanes may count at once)
_EVICTING = threading.Lock()  # the server's two plan lanes search at once: one evicts while the other inserts


def _remembered(table: dict[Hashable, Latencies], key: Hashable, compute: Callable[[], Latencies]) -> Latencies:
    found = table.get(key)
    if found is not None:
        _COUNTS["hits"] += 1
        return found
    _COUNTS["misses"] += 1
    found = compute()
    with _EVICTING:
        if len(table) >= LOADS_KEPT:  # first in, first out: a dict keeps insertion order, no bookkeeping on hits
            del table[next(iter(table))]
        table[key] = found
    return found


def mean_latencies(key: Hashable, compute: Callable[[], Latencies]) -> Latencies:
    """The mean model's (TTFT, ITL, E2E) at the load ``key`` names (configuration, shape, load)."""
    return _remembered(_MEANS, key, compute)


def tail_latencies(key: Hashable, compute: Callable[[], Latencies]) -> Latencies:
    """(TTFT, per-request TPOT, E2E) at a percentile, with the point's tail, at the load ``key`` names
    (configuration, shape, length profile, load, percentile)."""
    return _remembered(_TAILS, key, compute)


def counts() -> dict[str, int]:
    """Hits and misses since the process started (or since :func:`clear`)."""
    return dict(_COUNTS)


def clear() -> None:
    """Forget every load (tests; the keys already change with the catalogs)."""
    _MEANS.clear()
    _TAILS.clear()
    _COUNTS.update(hits=0, misses=0)
