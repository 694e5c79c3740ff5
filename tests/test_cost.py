"""Instance packing and price arithmetic."""

from __future__ import annotations

import pytest

from gpucast.core.cost import InstancePrice, cheapest_fleet, cost_per_million_tokens, instances_needed

P5 = InstancePrice("aws", "p5.48xlarge", "h100-sxm", 8, "us-east-1", 55.04, spot_usd_h=30.0)
SMALL = InstancePrice("aws", "p5.4xlarge", "h100-sxm", 1, "us-east-1", 8.0)


def test_instances_needed_packs_replicas():
    assert instances_needed(8, 4, 3) == 2  # two TP=4 replicas per 8-GPU instance
    assert instances_needed(8, 16, 2) == 4  # a 16-GPU replica spans two instances
    assert instances_needed(8, 3, 1) == 1
    assert instances_needed(4, 6, 1) is None  # 6 GPUs can't be made of whole 4-GPU instances


def test_cheapest_fleet_prefers_small_instances_for_tp1():
    fleet = cheapest_fleet([P5, SMALL], gpus_per_replica=1, replicas=3, pricing="on-demand")
    assert fleet.instance_type == "p5.4xlarge" and fleet.hourly_usd == pytest.approx(24.0)
    big = cheapest_fleet([P5, SMALL], gpus_per_replica=4, replicas=2, pricing="on-demand")
    assert big.instance_type == "p5.48xlarge" and big.monthly_usd == pytest.approx(55.04 * 730)


def test_pricing_models_without_a_price_are_skipped():
    assert cheapest_fleet([SMALL], gpus_per_replica=1, replicas=1, pricing="spot") is None
    assert cheapest_fleet([P5], gpus_per_replica=8, replicas=1, pricing="spot").hourly_usd == 30.0


def test_cost_per_million_tokens():
    # $36/h serving 10,000 tokens/s = 36e6 tokens/h -> $1 per million
    assert cost_per_million_tokens(36.0, 10_000) == pytest.approx(1.0)


def test_a_tp_group_spans_instances_only_beyond_the_largest_instance():
    """Two p5.4xlarge (1 GPU each, $16/h) are cheaper than a p5.48xlarge but cannot hold one TP=2 replica (no
    NVLink between VMs); a 16-GPU replica still spans two 8-GPU instances."""
    tp2 = cheapest_fleet([P5, SMALL], gpus_per_replica=2, replicas=1, pricing="on-demand")
    assert tp2.instance_type == "p5.48xlarge" and tp2.instances == 1
    assert tp2.paid_gpus == 8  # 6 of them idle: the planner warns about it
    big = cheapest_fleet([P5, SMALL], gpus_per_replica=16, replicas=1, pricing="on-demand")
    assert big.instance_type == "p5.48xlarge" and big.instances == 2 and big.paid_gpus == 16
    only_small = cheapest_fleet([SMALL], gpus_per_replica=2, replicas=1, pricing="on-demand")
    assert only_small.instances == 2  # where 1-GPU VMs are all there is, the fleet is built of them


def test_a_tp_group_spans_instances_only_over_whole_nodes():
    """T4 on AWS is priced only as the 1-GPU g4dn.xlarge: a TP=8 replica was priced as eight VMs whose every
    all-reduce would cross Ethernet (QA 2026-12-07). TP groups span instances only over whole (8-GPU) nodes; pipeline
    stages and data-parallel ranks may span small VMs."""
    vm = InstancePrice("aws", "g4dn.xlarge", "t4", 1, "us-east-1", 0.526)
    assert cheapest_fleet([vm], gpus_per_replica=8, replicas=2, pricing="on-demand", tp=8) is None
    pipelined = cheapest_fleet([vm], gpus_per_replica=2, replicas=2, pricing="on-demand", tp=1)  # PP=2 over 2 VMs
    assert pipelined is not None and pipelined.instances == 4
    tp16 = cheapest_fleet([P5], gpus_per_replica=16, replicas=1, pricing="on-demand", tp=16)  # over two 8-GPU nodes
    assert tp16 is not None and tp16.instances == 2
