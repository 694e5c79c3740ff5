"""Cloud prices -> fleet cost: $/hour, $/month, $/million tokens.

Clouds sell GPUs by the instance (p5.48xlarge = 8 x H100), so a fleet of R replicas of
g GPUs each needs ceil(R / floor(n / g)) instances of n GPUs (replicas don't straddle
instances), or R x g / n instances when a replica spans several whole instances. A replica
spans instances only when it is larger than the largest instance sold with its GPU: its
tensor-parallel group needs the NVLink/PCIe of one machine, so two 1-GPU g2-standard-4 are
not a TP=2 replica when a 2-GPU g2-standard-24 exists.
A month is 730 hours (8760 / 12), the convention of cloud price calculators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOURS_PER_MONTH = 730.0
PRICING_MODELS = ("on-demand", "spot", "1yr", "3yr")


@dataclass(frozen=True)
class InstancePrice:
    """One instance type's published prices in one region (USD per instance-hour)."""

    cloud: str
    instance_type: str
    gpu_id: str
    gpus: int
    region: str
    on_demand_usd_h: float
    spot_usd_h: float | None = None
    reserved_1yr_usd_h: float | None = None
    reserved_3yr_usd_h: float | None = None
    source: str = ""
    as_of: str = ""

    def hourly(self, pricing: str) -> float | None:
        """Instance price for a pricing model, or None where the cloud publishes none."""
        return {
            "on-demand": self.on_demand_usd_h,
            "spot": self.spot_usd_h,
            "1yr": self.reserved_1yr_usd_h,
            "3yr": self.reserved_3yr_usd_h,
        }[pricing]


@dataclass(frozen=True)
class FleetCost:
    """The cheapest way to rent ``replicas`` x ``gpus_per_replica`` GPUs of one type."""

    cloud: str
    region: str
    instance_type: str
    instances: int
    pricing: str
    hourly_usd: float
    gpu_hourly_usd: float
    source: str
    as_of: str
    instance_gpus: int = 0  # GPUs in one instance of instance_type

    @property
    def monthly_usd(self) -> float:
        return self.hourly_usd * HOURS_PER_MONTH

    @property
    def paid_gpus(self) -> int:
        """GPUs the fleet pays for (whole instances), which may exceed the GPUs the replicas use."""
        return self.instances * self.instance_gpus


def instances_needed(instance_gpus: int, gpus_per_replica: int, replicas: int) -> int | None:
    """Instances of ``instance_gpus`` GPUs that host the replicas, or None if they can't."""
    if replicas <= 0:
        return 0
    if gpus_per_replica <= instance_gpus:
        return math.ceil(replicas / (instance_gpus // gpus_per_replica))
    if gpus_per_replica % instance_gpus == 0:
        return replicas * gpus_per_replica // instance_gpus
    return None


def cheapest_fleet(
    prices: list[InstancePrice], *, gpus_per_replica: int, replicas: int, pricing: str
) -> FleetCost | None:
    """Cheapest instance type among ``prices`` (one cloud, one GPU) for the fleet."""
    best: FleetCost | None = None
    largest = max((price.gpus for price in prices), default=0)
    for price in prices:
        hourly = price.hourly(pricing)
        count = instances_needed(price.gpus, gpus_per_replica, replicas)
        if hourly is None or count is None or (gpus_per_replica > price.gpus < largest):
            continue
        fleet = FleetCost(
            cloud=price.cloud,
            region=price.region,
            instance_type=price.instance_type,
            instances=count,
            pricing=pricing,
            hourly_usd=count * hourly,
            gpu_hourly_usd=hourly / price.gpus,
            source=price.source,
            as_of=price.as_of,
            instance_gpus=price.gpus,
        )
        if best is None or fleet.hourly_usd < best.hourly_usd:
            best = fleet
    return best


def cost_per_million_tokens(hourly_usd: float, tokens_per_s: float) -> float:
    """$ per 1e6 tokens for a fleet costing ``hourly_usd`` that serves ``tokens_per_s``."""
    if tokens_per_s <= 0:
        return math.inf
    return hourly_usd / (tokens_per_s * 3600.0) * 1e6
