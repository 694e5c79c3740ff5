"""A bounded cache of plans: the same question on the same catalogs always gets the same answer, so a server
answers a repeated question (a bookmarked plan page, a dashboard polling ``POST /api/v1/inference``) from memory.

The key is the *canonical request* — the input dataclasses' fields as sorted JSON, so two bodies that differ only
in key order or in spelling a default out share an entry — plus the *data version*: the content hashes of the
catalog and calibration files the plan was made from (:func:`gpucast.catalog.loader.catalog_versions`, the same
hashes every plan records). When the version changes (the catalogs were reloaded), every entry is dropped: a
cached plan is never served against other data. Errors are not cached (they are cheap and carry tracebacks).

Entries are returned as stored: callers treat them as read-only (the web layer only serialises them).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from ..catalog.loader import catalog_versions

T = TypeVar("T")


def data_version() -> str:
    """The catalogs' and calibration's content hashes in one string (changes when any file changes)."""
    return ",".join(f"{name}={digest}" for name, digest in sorted(catalog_versions().items()))


def canonical(*parts: Any) -> str:
    """One string per distinct request: dataclasses as their fields, dict keys sorted, no whitespace."""
    return json.dumps([_plain(part) for part in parts], sort_keys=True, separators=(",", ":"), default=repr)


_FIELDS: dict[type, tuple[str, ...] | None] = {}  # a class's dataclass field names (None: not a dataclass)


def _field_names(kind: type) -> tuple[str, ...] | None:
    """``kind``'s dataclass field names, looked up once per class (:func:`dataclasses.fields` on every value of
    every request was most of :func:`canonical`'s ~50 us per API request)."""
    names = _FIELDS.get(kind, ())
    if names == ():
        names = _FIELDS[kind] = (
            tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else None
        )
    return names


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    names = None if isinstance(value, type) else _field_names(kind)
    if names is not None:
        plain = {"__type__": kind.__name__}
        for name in names:
            plain[name] = _plain(getattr(value, name))
        return plain
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})


@dataclasses.dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int
    capacity: int
    invalidations: int


class PlanCache:
    """A thread-safe LRU of ``capacity`` results keyed by (kind, canonical request, data version).

    Two threads missing the same key at once both compute it (the result is the same); holding the lock while
    computing would serialise every plan behind the slowest."""

    def __init__(self, capacity: int = 1024, version: Callable[[], str] = data_version) -> None:
        if capacity < 0:
            raise ValueError(f"capacity {capacity} must be >= 0")
        self.capacity = capacity
        self._version_of = version
        self._version = version()
        self._entries: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = self._invalidations = 0

    def peek(self, kind: str, key: str) -> Any | None:
        """The stored result for (kind, key), counted as a hit, or None (not counted: the caller then computes it
        with :meth:`get_or_compute`, which counts the miss). Lets an async handler answer a hit on the event loop
        and send only a miss to a worker thread."""
        version = self._version_of()
        with self._lock:
            return self._lookup(version, kind, key)

    def get_or_compute(self, kind: str, key: str, compute: Callable[[], T]) -> T:
        """The cached result of ``compute`` for (kind, key); computed and stored on a miss."""
        version = self._version_of()
        with self._lock:
            entry = self._lookup(version, kind, key)
            if entry is not None:
                return entry  # type: ignore[no-any-return]
            self._misses += 1
        result = compute()
        if self.capacity:
            with self._lock:
                if version == self._version:
                    self._entries[(kind, key)] = result
                    self._entries.move_to_end((kind, key))
                    while len(self._entries) > self.capacity:
                        self._entries.popitem(last=False)
        return result

    def _lookup(self, version: str, kind: str, key: str) -> Any | None:
        """The entry (a hit, counted) or None; drops every entry first when the data version changed. Under the
        lock."""
        if version != self._version:  # the catalogs changed: nothing stored was made from them
            self._entries.clear()
            self._version = version
            self._invalidations += 1
        entry = self._entries.get((kind, key))
        if entry is not None:
            self._entries.move_to_end((kind, key))
            self._hits += 1
        return entry

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries), self.capacity, self._invalidations)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
