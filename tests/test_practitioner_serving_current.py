"""Regressions of the practitioner serving sweep on current deployments (2026-12-07, seventeenth session): Blackwell
Ultra memory sized from the marketed GB instead of what the driver reports."""

from __future__ import annotations

import pytest

from gpucast.catalog.loader import load_gpus


@pytest.mark.parametrize(("gpu", "mib"), [("b300", 275_040), ("gb300", 284_208), ("gb200", 189_471)])
def test_blackwell_memory_is_what_nvidia_smi_reports(gpu: str, mib: int):
    """Catalog memory is the driver's total where known (gpus.toml header). B300 was 288 GiB (the marketed 288 GB;
    nvidia-smi 275,040 MiB = 268.6 GiB, NVIDIA's aiconfigurator b300_sxm.yaml): 7% more KV cache than exists."""
    assert load_gpus()[gpu].memory_gib == pytest.approx(mib / 1024, abs=0.01)
