"""Shared fixtures: catalog objects and a hand-checkable efficiency (all fractions 1, no overheads)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from gpucast.catalog import loader
from gpucast.core.perf import Efficiency

IDEAL = Efficiency(
    bandwidth_fraction=1.0,
    kv_bandwidth_fraction=1.0,
    compute_fraction=1.0,
    prefill_fraction=1.0,
    step_overhead_s=0.0,
    allreduce_latency_s=0.0,
    interconnect_fraction=1.0,
)


@pytest.fixture
def ideal() -> Efficiency:
    return IDEAL


@pytest.fixture
def h100():
    return loader.resolve_gpu("H100")


@pytest.fixture
def llama8b():
    return loader.resolve_model("llama-3.1-8b")


@pytest.fixture
def llama70b():
    return loader.resolve_model("llama-3-70b")


def gpucast_exe() -> list[str]:
    """The installed console script (end-to-end tests run the real command)."""
    exe = shutil.which("gpucast", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    return [exe] if exe else [sys.executable, "-m", "gpucast"]
