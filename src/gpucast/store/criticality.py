"""Criticality tier -> planning defaults, read from ``catalog/criticality.toml`` (data, not code)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ..errors import InputError


@dataclass(frozen=True)
class Criticality:
    tier: str
    description: str
    safety_margin: float
    min_replicas: int
    zones: int
    interruptible_capacity: bool = False  # may run on spot / marketplace capacity (issue 28)


@cache
def load_criticality() -> dict[str, Criticality]:
    """Every tier of the data file, validated once."""
    data = tomllib.loads(resources.files("gpucast.catalog").joinpath("criticality.toml").read_text("utf-8"))
    tiers = {}
    for tier, row in data.items():
        entry = Criticality(tier=tier, **row)
        if entry.min_replicas < entry.zones or not 0 <= entry.safety_margin <= 10:
            raise InputError(f"criticality.toml [{tier}]: min_replicas must be >= zones and 0 <= safety_margin <= 10")
        tiers[tier] = entry
    return tiers


def criticality(tier: str) -> Criticality:
    tiers = load_criticality()
    if tier not in tiers:
        raise InputError(f"--criticality {tier!r} is not one of {', '.join(tiers)}")
    return tiers[tier]
