"""The capacity search's bisection, replayed from a bracket found with fewer evaluations: the same answer, bit for bit.

``capacity.slo_capacity`` bisects the load C of a configuration geometrically, from a request alone to a full
replica, until the bracket is ``tolerance`` wide relative: ~17 loads, each an operating point and its tail. Its
decision at a load depends only on whether C lies below the capacity C* (latency grows with the load: meets(C) for
C <= C*, not above), so the bisection's answer is fixed by C* alone: at every step the midpoint falls on one side
of it. Any load already tried decides every midpoint on its side — a load that meets the SLOs decides every lower
one, a load that misses every higher one — so the bisection can be replayed without evaluating a midpoint that the
loads tried so far decide, and only the midpoints between the highest load known to meet and the lowest known to
miss need a point.

The loads tried are chosen to shrink that interval fast: the SLOs' worst latency-to-target ratio grows smoothly
with the load (a step growing with the batch, a queue's 1 / (1 - rho)), so regula falsi on its logarithm against C,
with the Illinois halving of a stale end's value (Dowell and Jarratt, BIT 11 (1971) 168-174), lands near C*
within a few loads. Each secant step goes a little past its estimate (``NUDGE`` of the tolerance), to the side the last
step did not move, so that a good estimate brackets C* closely on both sides; once the interval is within
``WIDE`` tolerances, or after ``SECANT_TRIES`` secant steps (a ratio with a jump stalls regula falsi), the loads
tried are the bisection's own pending midpoints, each of which decides at least one step. On the 200 plan
questions of ``benchmarks/bench_plan_page.py`` a search evaluates ~8.6 loads instead of 17.

The answer is the plain bisection's as long as the decision is monotone in the load beyond ``GUARD`` (a
midpoint within a millionth of a tried load is evaluated, not inferred: a latency computed in floats wobbles in
its last digits, by ~1e-12 relative over loads ~1e-9 apart, measured; over loads GUARD / 10 apart it never fell), which the latency model
guarantees (every latency and percentile is non-decreasing in the load: tests/test_tails.py); the ratio only
guides. tests/test_bracket.py checks the answers against the plain bisection over the catalog's configurations,
and that a predicate that is not monotone would be seen.
"""

from __future__ import annotations

import math
from collections.abc import Callable

SECANT_TRIES = (
    12  # loads tried with secant steps at most, then midpoints only (~8 loads decide a search: a stall's bound)
)
WIDE = 2.0  # tolerances: an interval this narrow holds one or two pending midpoints, which decide best
GUARD = 1e-6  # relative: a tried load decides a midpoint only this far past it, beyond a computed latency's rounding
NUDGE = 0.05  # of the tolerance: how far past its estimate of the capacity a secant step goes

Judge = Callable[[float], tuple[bool, float]]  # load -> (meets the targets, worst latency / target ratio)


def geometric_bisection(lo: float, hi: float, tolerance: float, meets: Callable[[float], bool]) -> tuple[float, float]:
    """The plain search: ``meets(lo)`` holds, ``meets(hi)`` does not; halve [lo, hi] in log C until
    hi <= lo (1 + tolerance). Returns the final (lo, hi)."""
    while hi > lo * (1.0 + tolerance):
        mid = math.sqrt(lo * hi)
        if meets(mid):
            lo = mid
        else:
            hi = mid
    return lo, hi


def replayed_bisection(
    lo: float, hi: float, tolerance: float, judge: Judge, lo_ratio: float, hi_ratio: float
) -> tuple[float, float]:
    """:func:`geometric_bisection`'s (lo, hi) for a predicate monotone in the load, evaluated at fewer loads.

    ``judge(C)`` gives the decision and the worst latency/target ratio at C (the decision is its own, never read off
    the ratio: the ratio only guides the next load); ``lo_ratio`` and ``hi_ratio`` are the ratios at the ends
    (``lo`` meets, ``hi`` does not)."""
    passed, failed = lo, hi  # the highest load known to meet, the lowest known to miss
    f_pass, f_fail = _log(lo_ratio), _log(hi_ratio)  # their ratios' logarithms (Illinois may halve one)
    moved = 0  # the end the last step moved: +1 the passing one, -1 the failing one
    tries = 0  # loads tried
    known: dict[float, bool] = {}  # the loads tried and their decisions
    while True:
        pending = _pending(lo, hi, tolerance, passed, failed, known)
        if isinstance(pending, tuple):
            return pending
        load = pending
        wide = failed > passed * (1.0 + WIDE * tolerance)  # narrower: the bisection's own midpoints decide best
        if wide and tries < SECANT_TRIES and f_fail > f_pass and math.isfinite(f_fail - f_pass):
            width = failed - passed
            guess = passed + width * (-f_pass) / (f_fail - f_pass)  # regula falsi: log ratio against C
            # just past the estimate, on the side the last step did not move: a good estimate then brackets the
            # capacity closely on both sides
            guess *= 1.0 + NUDGE * tolerance * (1.0 if moved >= 0 else -1.0)
            load = min(max(guess, passed + 1e-3 * width), failed - 1e-3 * width)
        if not passed < load < failed:  # an interval at the floats' resolution
            load = pending
        meets, ratio = judge(load)
        known[load] = meets
        if meets:
            passed, f_pass = load, _log(ratio)
            if moved == 1:
                f_fail /= 2.0
            moved = 1
        else:
            failed, f_fail = load, _log(ratio)
            if moved == -1:
                f_pass /= 2.0
            moved = -1
        tries += 1


def _pending(
    lo: float, hi: float, tolerance: float, passed: float, failed: float, known: dict[float, bool]
) -> float | tuple[float, float]:
    """Replay :func:`geometric_bisection` from (lo, hi), deciding each midpoint from the loads known to meet (up
    to ``passed``) and to miss (from ``failed``), ``GUARD`` beyond them, or tried at the midpoint itself: its
    (lo, hi) when every step is decided, else the first midpoint they leave open."""
    while hi > lo * (1.0 + tolerance):
        mid = math.sqrt(lo * hi)
        decided = known.get(mid)
        if decided is None:
            if mid <= passed * (1.0 - GUARD):
                decided = True
            elif mid >= failed * (1.0 + GUARD):
                decided = False
            else:
                return mid
        if decided:
            lo = mid
        else:
            hi = mid
    return lo, hi


def _log(ratio: float) -> float:
    """The secant's function: the ratio's logarithm, as far above the target at twice it as below at half, and a
    queue's pole near saturation (a ratio of 100 at the prefill server's cap) no worse than a few halvings."""
    return math.log(ratio) if ratio > 0.0 else -math.inf
