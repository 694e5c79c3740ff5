"""Speed and memory figures for the README (not a test: prints numbers, judged by people).

- one plan in process (pinned GPU, and GPU chosen among all priced GPUs), median of repeats;
- CLI wall time of `gpucast forecast ...` against `python -c pass` measured in the same run;
- peak RSS of the CLI process;
- CPU time of new (uncached) questions at p99 and mean SLOs: a plan on H100, a plan choosing among all priced
  GPUs, and a comparison over every GPU and cloud (``--new`` prints only these).
Targets (issue #3): plan < 5 ms, CLI < 0.5 s absolute, RSS < 50 MB.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gpucast import GPUConfig, LLMWorkloadInput, ModelConfig, plan_inference

WORKLOAD = LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200)
CLI = [
    str(Path(sys.executable).parent / "gpucast"),
    "forecast",
    "--rps", "10", "--input-tokens", "500", "--output-tokens", "200",
    "--model-size", "70", "--precision", "FP16", "--gpu-type", "H100-80GB", "--cost",
]  # fmt: skip


def time_plan(gpu: GPUConfig, repeats: int = 50) -> float:
    model = ModelConfig(model_name="llama-3.1-70b", precision="FP16")
    plan_inference(WORKLOAD, model, gpu)  # warm caches (catalog parsing happens once per process)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        plan_inference(WORKLOAD, model, gpu)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def time_training_plan(repeats: int = 5) -> float:
    from gpucast import TrainingEngine, TrainingInput

    run = TrainingInput(dataset_size_tokens=10**9, sequence_length=4096, num_epochs=1, global_batch_size=64)
    model = ModelConfig(model_name="llama-3.1-70b", precision="BF16")
    TrainingEngine().generate_plan(run, model, GPUConfig("H100"))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        TrainingEngine().generate_plan(run, model, GPUConfig("H100"))
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def time_command(argv: list[str], repeats: int = 10) -> tuple[float, int]:
    """Median wall seconds and peak RSS (KiB) of a command."""
    samples, rss = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env={**os.environ, "COLUMNS": "120"})
        samples.append(time.perf_counter() - start)
        rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return statistics.median(samples), rss


def time_new_plans(percentile: str, repeats: int = 8) -> tuple[float, float, float]:
    """CPU ms per new question (each a new request shape, so no memoized estimate answers it): a plan on H100,
    a plan with the GPU chosen, a comparison over GPUs and clouds (what a new plan page computes twice over)."""
    from gpucast.catalog import loader
    from gpucast.inputs.types import ServingOptions
    from gpucast.planning.compare import compare_gpus

    model, options = (
        ModelConfig(model_name="llama-3.1-70b", precision="FP16"),
        ServingOptions(slo_percentile=percentile),
    )

    def shape(k: int) -> LLMWorkloadInput:
        return LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500 + k, avg_output_tokens=200)

    def cpu(run: object, first: int, count: int) -> float:
        start = time.process_time()
        for k in range(first, first + count):
            run(k)  # type: ignore[operator]
        return (time.process_time() - start) / count * 1e3

    plan_inference(shape(10**4), model, GPUConfig("H100"), options)  # catalogs parsed once per process
    pinned = cpu(lambda k: plan_inference(shape(k), model, GPUConfig("H100"), options), 0, repeats * 4)
    chosen = cpu(lambda k: plan_inference(shape(k), model, GPUConfig(), options), 1000, repeats)
    compared = cpu(lambda k: compare_gpus(shape(k), model, options, clouds=list(loader.clouds())), 2000, repeats)
    return pinned, chosen, compared


def print_new_plans() -> None:
    for percentile in ("99", "mean"):
        pinned, chosen, compared = time_new_plans(percentile)
        print(f"new question, SLOs at {percentile:>4}: plan on H100 {pinned:5.1f} ms, GPU chosen {chosen:5.1f} ms, "
              f"compare GPUs x clouds {compared:5.1f} ms (CPU)")  # fmt: skip


def main() -> None:
    if "--new" in sys.argv[1:]:
        print_new_plans()
        return
    pinned = time_plan(GPUConfig("H100"))
    auto = time_plan(GPUConfig(), repeats=10)
    training = time_training_plan()
    baseline, _ = time_command([sys.executable, "-c", "pass"])
    cli, rss = time_command(CLI)
    print(f"plan in process, GPU given (llama-3.1-70b, H100):   {pinned:7.2f} ms  (target < 5 ms)")
    print(f"plan in process, GPU chosen among all priced GPUs: {auto:7.2f} ms")
    print(f"training plan, 70B full fine-tune on H100 (searched): {training:7.1f} ms")
    print(f"python -c pass:                                      {baseline:7.3f} s")
    print(
        f"gpucast forecast ... (CLI wall time):                {cli:7.3f} s  ({cli / baseline:.1f}x python start-up; target < 0.5 s)"
    )
    print(f"peak RSS of the CLI:                                 {rss / 1024:7.1f} MB  (target < 50 MB)")
    print_new_plans()


if __name__ == "__main__":
    main()
