"""Cloud prices -> fleet cost: $/hour, $/month, $/million tokens.

Clouds sell GPUs by the instance (p5.48xlarge = 8 x H100), so a fleet of R replicas of
g GPUs each needs ceil(R / floor(n / g)) instances of n GPUs (replicas don't straddle
instances), or R x g / n instances when a replica spans several whole instances. A replica
spans instances only when it is larger than the largest instance sold with its GPU: its
tensor-parallel group needs the NVLink/PCIe of one machine, so two 1-GPU g2-standard-4 are
not a TP=2 replica when a 2-GPU g2-standard-24 exists.
A month is 730 hours (8760 / 12), the convention of cloud price calculators.

Capacity comes in reliability classes (``RELIABILITY``): on-demand, reserved (1-/3-year commitments), spot
(interruptible: the provider may reclaim it at short notice) and marketplace (hosts rented from third parties, e.g.
Vast.ai: a price range across offers, no provider-backed availability). ``pricing`` may name several pricing
models ("on-demand,spot" or "all"); the cheapest offer among them wins and the fleet says which it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

HOURS_PER_MONTH = 730.0
PRICING_MODELS = ("on-demand", "spot", "1yr", "3yr", "marketplace")
# pricing model -> reliability class of the capacity it buys
RELIABILITY = {
    "on-demand": "on-demand",
    "1yr": "reserved",
    "3yr": "reserved",
    "spot": "spot/interruptible",
    "marketplace": "marketplace",
}
# capacity the provider may take back (or never guaranteed): forbidden where a service's tier needs availability
INTERRUPTIBLE = ("spot", "marketplace")


def pricing_models(pricing: str) -> tuple[str, ...]:
    """``"on-demand"``, ``"on-demand,spot"`` or ``"all"`` -> the pricing models named, in PRICING_MODELS order.

    Raises ValueError naming the unknown model (the input layer turns it into a one-line InputError)."""
    names = [p.strip().lower() for p in pricing.split(",") if p.strip()]
    if not names:
        raise ValueError(f"pricing {pricing!r} names no pricing model")
    if "all" in names:
        return PRICING_MODELS
    unknown = [n for n in names if n not in PRICING_MODELS]
    if unknown:
        raise ValueError(f"pricing {unknown[0]!r} is not one of {', '.join(PRICING_MODELS)} (or all)")
    return tuple(p for p in PRICING_MODELS if p in names)


@dataclass(frozen=True)
class InstancePrice:
    """One instance type's published prices in one region (USD per instance-hour)."""

    cloud: str
    instance_type: str
    gpu_id: str
    gpus: int
    region: str
    on_demand_usd_h: float | None
    spot_usd_h: float | None = None
    reserved_1yr_usd_h: float | None = None
    reserved_3yr_usd_h: float | None = None
    source: str = ""
    as_of: str = ""
    # marketplace offers (e.g. Vast.ai): the lowest and highest price among the offers the source listed
    marketplace_low_usd_h: float | None = None
    marketplace_high_usd_h: float | None = None
    interconnect: str = ""  # GPUs inside one instance: "nvlink" or "pcie" ("" = not stated)
    # whether a replica may span several instances of this type (an RDMA cluster fabric between them:
    # InfiniBand, EFA, RoCE); False for independent hosts (marketplaces, PCIe boxes)
    multi_node: bool = True
    # GPUs one NVLink domain joins across instances of this type, set from the GPU catalog (never in a price file):
    # GB200/GB300 NVL72 racks sell 4-GPU trays whose NVLink reaches all 72 GPUs (OCI BM.GPU.GB200.4 launched as one
    # "GPU memory cluster"); 0 = NVLink ends at the instance
    nvlink_domain_gpus: int = 0
    # where the 1yr/3yr prices come from when not from `source` (a refreshed row keeps the catalog's commitments)
    commitment_source: str = ""
    commitment_as_of: str = ""

    def hourly(self, pricing: str) -> float | None:
        """Instance price for a pricing model, or None where the cloud publishes none (marketplace: the range's
        low end, the price the cheapest listed offer asked)."""
        return {
            "on-demand": self.on_demand_usd_h,
            "spot": self.spot_usd_h,
            "1yr": self.reserved_1yr_usd_h,
            "3yr": self.reserved_3yr_usd_h,
            "marketplace": self.marketplace_low_usd_h,
        }[pricing]

    def hosts_tp_group(self, tp: int) -> bool:
        """Whether a TP group of ``tp`` GPUs may run on instances of this type (``TP_SPAN_MIN_INSTANCE_GPUS``): inside
        one instance, over whole multi-GPU nodes, or inside the NVLink domain the instances share."""
        return tp <= self.gpus or self.gpus >= TP_SPAN_MIN_INSTANCE_GPUS or tp <= self.nvlink_domain_gpus


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
    hourly_high_usd: float | None = None  # marketplace: the fleet at the range's high end

    @property
    def reliability(self) -> str:
        """on-demand, reserved, spot/interruptible or marketplace."""
        return RELIABILITY[self.pricing]

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


# A tensor-parallel group all-reduces twice per layer: it spans instances only over whole multi-GPU nodes (NVLink
# inside, InfiniBand/EFA between, as multi-node TP16 deployments run), never over single-GPU VMs, where every
# all-reduce would cross the VMs' Ethernet (T4 on AWS, priced only as the 1-GPU g4dn.xlarge, was planned as TP=8 over
# eight of them; QA 2026-12-07). Pipeline stages and data-parallel ranks may span such VMs. A TP group inside one
# NVLink domain that spans instances (``InstancePrice.nvlink_domain_gpus``: GB200 NVL72's 4-GPU trays) stays on NVLink.
TP_SPAN_MIN_INSTANCE_GPUS = 8


def cheapest_fleet(
    prices: list[InstancePrice], *, gpus_per_replica: int, replicas: int, pricing: str, tp: int = 1
) -> FleetCost | None:
    """Cheapest offer among ``prices`` (one GPU; any clouds and regions) for the fleet, over the pricing models
    ``pricing`` names (see ``pricing_models``). A replica spans instances only when it is larger than the largest
    instance its cloud sells with that GPU and the instance type allows it (``multi_node``), and its TP groups of
    ``tp`` GPUs only over whole nodes (``TP_SPAN_MIN_INSTANCE_GPUS``)."""
    best: tuple[float, InstancePrice, str, int, float] | None = None
    for fleet_hourly, price, model, count, hourly in _fleets(_offers(prices, pricing), gpus_per_replica, replicas, tp):
        if best is None or fleet_hourly < best[0]:  # the first of equally cheap offers
            best = (fleet_hourly, price, model, count, hourly)
    if best is None:
        return None
    fleet_hourly, price, model, count, hourly = best
    high = price.marketplace_high_usd_h if model == "marketplace" else None
    committed = model in ("1yr", "3yr") and bool(price.commitment_source)
    return FleetCost(
        cloud=price.cloud,
        region=price.region,
        instance_type=price.instance_type,
        instances=count,
        pricing=model,
        hourly_usd=fleet_hourly,
        gpu_hourly_usd=hourly / price.gpus,
        source=price.commitment_source if committed else price.source,
        as_of=price.commitment_as_of if committed else price.as_of,
        instance_gpus=price.gpus,
        hourly_high_usd=count * high if high is not None else None,
    )


def fleet_monthly(prices: list[InstancePrice], pricing: str) -> Callable[[int, int], float]:
    """``monthly(gpus_per_replica, replicas)``: ``cheapest_fleet(...).monthly_usd`` (infinite where it is None)
    without building the fleet, the offers read once for every fleet size asked (the layout search's cost floors
    ask for many)."""
    offers = _offers(prices, pricing)

    def monthly(gpus_per_replica: int, replicas: int) -> float:
        hourly = min((fleet[0] for fleet in _fleets(offers, gpus_per_replica, replicas)), default=math.inf)
        return hourly * HOURS_PER_MONTH

    return monthly


def _offers(prices: list[InstancePrice], pricing: str) -> list[tuple[InstancePrice, str, float, int]]:
    """(offer, pricing model, instance's hourly price, the largest instance its cloud sells with the GPU) of every
    offer priced under the pricing models ``pricing`` names, in the order ``cheapest_fleet`` considers them."""
    largest: dict[str, int] = {}
    for price in prices:
        largest[price.cloud] = max(largest.get(price.cloud, 0), price.gpus)
    return [
        (price, model, hourly, largest[price.cloud])
        for model in pricing_models(pricing)
        for price in prices
        if (hourly := price.hourly(model)) is not None
    ]


def _fleets(
    offers: list[tuple[InstancePrice, str, float, int]], gpus_per_replica: int, replicas: int, tp: int = 1
) -> Iterator[tuple[float, InstancePrice, str, int, float]]:
    """(fleet's hourly price, offer, pricing model, instances, instance's hourly price) of every offer
    (``_offers``) that can host the fleet: a replica spans instances only when it is larger than the largest
    instance its cloud sells and the instance type allows it, and a TP group only over whole nodes."""
    for price, model, hourly, largest in offers:
        count = instances_needed(price.gpus, gpus_per_replica, replicas)
        if count is None or (gpus_per_replica > price.gpus < largest):
            continue
        if gpus_per_replica > price.gpus and not price.multi_node:
            continue
        if not price.hosts_tp_group(tp):
            continue
        yield count * hourly, price, model, count, hourly


def same_offer(prices: list[InstancePrice], fleet: FleetCost) -> list[InstancePrice]:
    """The price rows of the offer ``fleet`` chose (so the autoscaled floor is priced on the same cloud, region
    and instance type as the peak, not on whatever is cheapest for a smaller fleet)."""
    return [
        p for p in prices if (p.cloud, p.region, p.instance_type) == (fleet.cloud, fleet.region, fleet.instance_type)
    ]


def cost_per_million_tokens(hourly_usd: float, tokens_per_s: float) -> float:
    """$ per 1e6 tokens for a fleet costing ``hourly_usd`` that serves ``tokens_per_s``."""
    if tokens_per_s <= 0:
        return math.inf
    return hourly_usd / (tokens_per_s * 3600.0) * 1e6
