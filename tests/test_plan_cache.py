"""The plan cache (gpucast.planning.cache): canonical keys, LRU order, invalidation when the data changes."""

from __future__ import annotations

import pytest

from gpucast.inputs.types import LLMWorkloadInput
from gpucast.planning.cache import PlanCache, canonical


def test_equal_requests_share_a_key_and_different_ones_do_not():
    a = LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200)
    b = LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200)
    c = LLMWorkloadInput(requests_per_second=11, avg_input_tokens=500, avg_output_tokens=200)
    assert canonical(a) == canonical(b) != canonical(c)
    assert canonical({"x": 1, "y": 2}) == canonical({"y": 2, "x": 1})


def test_lru_keeps_the_most_recent_and_counts_hits():
    cache = PlanCache(2, version=lambda: "v1")
    calls: list[str] = []

    def make(key: str):
        return lambda: calls.append(key) or key.upper()

    assert cache.get_or_compute("k", "a", make("a")) == "A"
    assert cache.get_or_compute("k", "b", make("b")) == "B"
    assert cache.get_or_compute("k", "a", make("a")) == "A"  # hit; "b" is now the oldest
    cache.get_or_compute("k", "c", make("c"))  # evicts "b"
    cache.get_or_compute("k", "b", make("b"))
    assert calls == ["a", "b", "c", "b"]
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (1, 4, 2)


def test_a_new_data_version_drops_every_entry():
    version = ["v1"]
    cache = PlanCache(8, version=lambda: version[0])
    calls: list[int] = []
    cache.get_or_compute("k", "a", lambda: calls.append(1) or 1)
    cache.get_or_compute("k", "a", lambda: calls.append(2) or 2)
    version[0] = "v2"
    assert cache.get_or_compute("k", "a", lambda: calls.append(3) or 3) == 3
    assert calls == [1, 3] and cache.stats().invalidations == 1


def test_errors_are_not_cached():
    cache = PlanCache(8, version=lambda: "v1")

    def fail() -> int:
        raise ValueError("no plan")

    for _ in range(2):
        with pytest.raises(ValueError):
            cache.get_or_compute("k", "a", fail)
    assert cache.stats().misses == 2 and cache.stats().entries == 0


def test_peek_answers_a_hit_and_leaves_a_miss_to_get_or_compute():
    version = ["v1"]
    cache = PlanCache(8, version=lambda: version[0])
    assert cache.peek("k", "a") is None and cache.stats().misses == 0  # a miss is counted where it is computed
    cache.get_or_compute("k", "a", lambda: "A")
    assert cache.peek("k", "a") == "A" and cache.peek("other-kind", "a") is None
    version[0] = "v2"  # new catalogs: peek sees nothing stored before
    assert cache.peek("k", "a") is None
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries, stats.invalidations) == (1, 1, 0, 1)
