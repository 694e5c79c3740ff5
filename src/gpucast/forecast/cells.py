"""Residual cells grouped by step block, sorted once, and their per-block quantiles: the array code behind
``rolling.calibrate``.

Why a module: a series' band rule is calibrated ~25 times (the forecast, the replayed origins, the coverage check) on
one residual table (up to 72 origins x 336 steps). Its cells are sorted once by block and value (``sort_cells``);
each calibration then selects the cells landed before its origin and computes every block's weighted and
equal-weight quantiles and median in a few array passes, where one call per block was most of a fleet's fitting
time. ``tests/test_forecast_calibrate.py`` checks the result against the block-by-block definition.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

STEP_BLOCK_EDGES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504)


def _blocks(steps: int) -> list[tuple[int, int]]:
    edges = [e for e in STEP_BLOCK_EDGES if e < steps] + [steps]
    return [(a - 1, b - 1 if b < steps else steps) for a, b in itertools.pairwise(edges)] or [(0, steps)]


def block_index(steps: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Block number of every step (``_blocks``) and the blocks themselves."""
    blocks = _blocks(steps)
    index = np.empty(steps, dtype=np.intp)
    for k, (a, b) in enumerate(blocks):
        index[a:b] = k
    return index, blocks


def _interp_segments(
    qs: np.ndarray, x: np.ndarray, v: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """``np.interp(q, x[seg], v[seg])`` for every q of ``qs`` and every segment ``seg = starts[k] : starts[k] +
    counts[k]`` at once (``x`` ascending within each segment, every segment non-empty), shape (segments, qs): one
    ``searchsorted`` over the segments laid end to end (segment k's positions shifted by k)."""
    seg = np.repeat(np.arange(len(starts)), counts)
    queries = np.arange(len(starts))[:, None] + qs[None, :]
    below = np.searchsorted(seg + x, queries.ravel(), side="right").reshape(queries.shape) - starts[:, None]
    first, last = starts[:, None], (starts + counts - 1)[:, None]
    j = np.clip(first + below - 1, first, last)  # the last point <= q (the first when none is)
    k = np.minimum(j + 1, last)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = (v[k] - v[j]) / (x[k] - x[j]) * (qs[None, :] - x[j]) + v[j]
    return np.asarray(np.where(below <= 0, v[first], np.where((below >= counts[:, None]) | (k == j), v[last], inner)))


def _sort_within(values: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Indices sorting by ``block`` (small non-negative ints), then by ``values``: one float sort, then a stable
    radix sort of the 8-bit block ids (several times faster than ``np.lexsort`` here)."""
    order = np.argsort(values)
    return order[np.argsort(block[order], kind="stable")]


@dataclass(frozen=True)
class Cells:
    """A residual table's observed cells sorted by step block and then by value (``by_value``) or by size
    (``by_size``): per order, the values (residual, resp. its absolute value) and the index each cell's step lands
    on; the blocks present (``ids``) and where each starts in both orders (``starts``); per step, the running sums
    over origins of the observed cells (``counts``) and of their sizes (``sizes``). Why: every calibration of one
    series (the forecast's, and one per replayed origin) reads the same residuals, each only those landed before
    its origin; sorted and summed once, each selects in linear time."""

    by_value: tuple[np.ndarray, np.ndarray]
    by_size: tuple[np.ndarray, np.ndarray]
    ids: np.ndarray
    starts: np.ndarray
    counts: np.ndarray  # (origins, steps): observed cells in rows 0..i of each step's column
    sizes: np.ndarray  # (origins, steps): sum of |residual| over those cells

    def landed_before(self, origins: np.ndarray, now: int) -> tuple[np.ndarray, np.ndarray]:
        """Per step: the observed cells that landed before ``now`` and the sum of their sizes (rows are
        origins in ascending order, so they are a leading run of each step's column)."""
        steps = self.counts.shape[1]
        rows = np.searchsorted(origins, now - np.arange(steps), side="left")  # origin + step < now
        last, column = np.maximum(rows - 1, 0), np.arange(steps)
        used = rows > 0
        return np.where(used, self.counts[last, column], 0), np.where(used, self.sizes[last, column], 0.0)

    def chosen(self, order: tuple[np.ndarray, np.ndarray], now: int, usable: np.ndarray) -> tuple[np.ndarray, ...]:
        """(values, landing indices, kept cells per usable block) of the cells landed before ``now`` in the
        blocks ``usable`` (one flag per block of ``ids``)."""
        value, landed = order
        keep = landed < now
        if not usable.all():
            keep &= np.repeat(usable, np.diff(np.append(self.starts, len(value))))
        kept = np.add.reduceat(keep, self.starts, dtype=np.intp)[usable]
        return value[keep], landed[keep], kept


def sort_cells(residual: np.ndarray, origins: np.ndarray, observed: np.ndarray) -> Cells:
    """The ``observed`` cells of ``residual`` sorted and summed for ``rolling.calibrate``."""
    steps = residual.shape[1]
    step_block, _ = block_index(steps)
    flat = np.flatnonzero(observed)
    block = step_block[flat % steps].astype(np.int8)  # small types: each calibration streams these arrays
    r, lands = residual.ravel()[flat], (origins[flat // steps] + flat % steps).astype(np.int32)
    size = np.abs(r)
    by_value, by_size = _sort_within(r, block), _sort_within(size, block)
    ids, starts = np.unique(block[by_value], return_index=True)  # the same blocks and sizes in both orders
    counts = np.cumsum(observed, axis=0)
    sizes = np.cumsum(np.where(observed, np.abs(residual), 0.0), axis=0)
    return Cells((r[by_value], lands[by_value]), (size[by_size], lands[by_size]), ids, starts, counts, sizes)


def _starts(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)


def block_quantiles(v: np.ndarray, w: np.ndarray, counts: np.ndarray, qs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per block (``counts`` cells each, laid end to end, each sorted by ``v`` ascending): the recency-weighted
    and the equal-weight quantiles ``qs`` of its values (shape blocks × qs each)."""
    starts = _starts(counts)
    cumulative = np.cumsum(w)
    before = np.concatenate([[0.0], cumulative])[starts]  # weight of the earlier blocks
    totals = cumulative[starts + counts - 1] - before
    seg = np.repeat(np.arange(len(counts)), counts)
    weighted = (cumulative - before[seg] - 0.5 * w) / totals[seg]
    flat = (np.arange(len(v)) - starts[seg] + 0.5) / counts[seg]
    return _interp_segments(qs, weighted, v, starts, counts), _interp_segments(qs, flat, v, starts, counts)


def block_medians(size: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of ``size`` per block (``counts`` cells each, laid end to end, each sorted), as ``np.median``."""
    starts = _starts(counts)
    mid = starts + (counts - 1) // 2
    upper = np.minimum(mid + 1, starts + counts - 1)
    return np.asarray(np.where(counts % 2 == 1, size[mid], (size[mid] + size[upper]) / 2))
