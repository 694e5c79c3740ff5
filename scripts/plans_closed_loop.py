"""What-if for `gpucast validate --plans`: plan closed-loop points with the measurement's own load generator.

The plan-level question asks the planner for 10 R req/s of open-loop (Poisson) arrivals at 1.1 x the measured
latencies. Most loaded points are closed loops (a benchmark client with C requests in flight and fixed lengths),
whose prompts partly arrive in synchronized waves: half of a wave's prefill lands in TTFT, where Poisson arrivals
put all of it between the running decodes (docs/accuracy.md, plan-level validation). This script asks the other
question for those points: the planner's capacity is the closed loop's rate at the largest concurrency whose
closed-loop operating point (``core.serving.operating_point(waves=True)``, what ``estimate --concurrency`` gives)
meets the SLOs; open-loop (request-rate) points are planned as before. It swaps the planner's operating point for
the run of this script only (the shipped planner answers the open-loop question) and prints each point's error
beside the shipped one, and both summaries. Run: ``python scripts/plans_closed_loop.py``.
"""

from __future__ import annotations

from unittest import mock

from gpucast.core import inference, load_memo
from gpucast.core.replica import ReplicaConfig
from gpucast.core.serving import OperatingPoint, operating_point
from gpucast.validation import plans
from gpucast.validation.plan_points import group_points, loaded_points


def closed_loop_capacity_point(
    cfg: ReplicaConfig,
    *,
    input_tokens: float,
    output_tokens: float,
    concurrency: float,
    saturation_rate: float,
    cached_input_tokens: float = 0.0,
) -> OperatingPoint:
    """The closed loop's steady state at ``concurrency`` (the benchmark client's waves), in place of the open loop."""
    del saturation_rate  # a closed loop never queues beyond its own clients
    return operating_point(cfg, input_tokens=input_tokens, output_tokens=output_tokens, concurrency=concurrency,
                           cached_input_tokens=cached_input_tokens, waves=True)  # fmt: skip


def main() -> None:
    rows = [row for path in plans.default_files() for row in plans.read_serving_rows(path)]
    loaded, _ = loaded_points(group_points(rows)[0])
    shipped, measured_loop = [], []
    for point in loaded:
        shipped.append(plans.ask(point))
        if point.load == "concurrency":
            inference.replica_estimates.cache_clear()
            load_memo.clear()
            with mock.patch.object(inference, "open_loop_point", closed_loop_capacity_point):
                measured_loop.append(plans.ask(point))
            inference.replica_estimates.cache_clear()
            load_memo.clear()
        else:
            measured_loop.append(shipped[-1])
    print(f"{'id':10} {'source':12} {'engine':14} {'GPU':8} {'load':>6}  {'open loop %':>11}  {'closed loop %':>13}")
    for a, b in zip(shipped, measured_loop, strict=True):
        print(f"{a.ids[0]:10} {a.source[:12]:12} {a.engine[:14]:14} {a.gpu[:8]:8} {a.load_value:6g}  "
              f"{a.error_pct:+11.0f}  {b.error_pct:+13.0f}")  # fmt: skip
    for name, results in (("open-loop question (shipped)", shipped), ("closed-loop points as measured", measured_loop)):
        within = sum(r.within for r in results)
        print(f"{name}: {within} of {len(results)} within ±20%, median error "
              f"{plans.median([r.error_pct for r in results]):+.0f}%, median |error| "
              f"{plans.median([abs(r.error_pct) for r in results]):.0f}%")  # fmt: skip


if __name__ == "__main__":
    main()
