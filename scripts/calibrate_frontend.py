"""The OpenAI-compatible server's front end for ``scripts/calibrate.py``: ``frontend_s`` of ``[engines.<id>]``.

A request served over HTTP (``vllm serve``, SGLang's server) spends time outside the engine's forward passes before
its first token reaches the client: request handling, chat template and tokenization, the hand-off to the engine
process, detokenizing and streaming the token (core.perf.Efficiency.frontend_s). The rows the main fit reads cannot
identify it (docs/tail-latency.md, "A front-end term, tried and not shipped": fitted there as one global parameter it
went to its prior). It is identified where one run gives the engine's step time and the client's TTFT at a load
light enough that the prompt waits for nothing: vLLM's CI serving test at 1 req/s (FRONTEND_SOURCES, file
``data/benchmarks/vllm_ci_serving.csv``), whose mean ITL the model predicts within 5% while its TTFT is 17-28 ms
short. Those served rows are kept out of the main fit and fitted here, after it, with every main parameter fixed:
one constant, the median of (measured - predicted) over their TTFT rows (a least-absolute-deviation fit of a
constant). The Python OpenAI servers (FRONTEND_ENGINES) get that value unless the catalog gives the engine's own
measured one (``frontend_ms`` in engines.toml, with its source: ``sourced_frontends``): SGLang's, measured with a
mock engine at 6.6 ms (tenstorrent/tt-inference-server#3560), a quarter of vLLM's, is used as published, not fitted
(the percentile rows that show the difference are the validation, docs/tail-latency.md). TensorRT-LLM's fitted rows
are Triton's C++ server or in-process (``trtllm-bench``), which show none, so it gets none.

``calibrate.py`` then refits the main parameters once with the front end applied to the served rows of those engines
(their closed-loop cycles and TTFT include it) and fits the front end again on that fit.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Sequence

from gpucast.catalog.loader import load_engines
from gpucast.core.perf import Efficiency
from gpucast.validation.inference import Group, metric_value, operating

FRONTEND_ENGINES = ("sglang", "vllm")  # the Python OpenAI-compatible servers (one family, one constant)
# the sources whose served rows fix it: vLLM's CI serving test (Llama-3-70B TP4, ShareGPT, 1 req/s) on three builds
FRONTEND_SOURCES = ("vLLM-buildkite-perf-9513", "vLLM-buildkite-perf-9515", "vLLM-buildkite-perf-9555")
SERVED_LOADS = ("concurrency", "request-rate")  # a benchmark client over HTTP (static batches are in-process)
FRONTEND_METRICS = ("ttft_ms",)


def sourced_frontends() -> dict[str, float]:
    """{engine id: seconds} for FRONTEND_ENGINES whose catalog entry gives a measured front end (``frontend_ms``)."""
    out = {}
    for engine in FRONTEND_ENGINES:
        measured = load_engines()[engine].frontend_ms
        if measured is not None:
            out[engine] = measured / 1e3
    return out


def frontend_for(engine: str, fitted: float) -> float:
    """The front end ``engine``'s served rows are charged: its sourced value, else the fitted one for the Python
    OpenAI servers, else none."""
    return sourced_frontends().get(engine, fitted if engine in FRONTEND_ENGINES else 0.0)


def frontend_groups(groups: Sequence[Group]) -> list[Group]:
    """The served groups of FRONTEND_SOURCES: kept out of the main fit, they fix the front end."""
    return [g for g in groups if g.source in FRONTEND_SOURCES and g.load in SERVED_LOADS]


def gaps(groups: Sequence[Group], base: Callable[[Group], Efficiency]) -> list[tuple[str, float]]:
    """(source, measured - predicted seconds) of every TTFT row, predicted without any front end."""
    out = []
    for group in groups:
        point = operating(group, dataclasses.replace(base(group), frontend_s=0.0))
        for target in group.targets:
            if target.metric in FRONTEND_METRICS:
                out.append((group.source, (target.value - metric_value(group, point, target.metric)) / 1e3))
    return out


def fit_frontend(groups: Sequence[Group], base: Callable[[Group], Efficiency]) -> float:
    """The front end in seconds: the median gap (0 without rows; never negative), to 3 significant digits."""
    values = [gap for _, gap in gaps(groups, base)]
    return float(f"{max(statistics.median(values), 0.0):.3g}") if values else 0.0


def leave_one_source_out(
    groups: Sequence[Group], base: Callable[[Group], Efficiency]
) -> list[tuple[str, float, float, float]]:
    """(source, front end fitted on the other sources, measured, predicted ms) per held-out TTFT row."""
    out = []
    for source in sorted({g.source for g in groups}):
        frontend = fit_frontend([g for g in groups if g.source != source], base)
        for group in (g for g in groups if g.source == source):
            point = operating(group, dataclasses.replace(base(group), frontend_s=frontend))
            for target in group.targets:
                if target.metric in FRONTEND_METRICS:
                    out.append((source, frontend, target.value, metric_value(group, point, target.metric)))
    return out
