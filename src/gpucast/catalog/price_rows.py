"""Price catalog rows: a TOML ``[[instances]]`` table (packaged ``prices.toml`` or the local override file) ->
validated ``InstancePrice`` rows, and the merge of the override over the packaged catalog.

A row names one region (``region``) or several that share one price (``regions = [...]``); it becomes one
``InstancePrice`` per region, so ``--region`` filters on the regions where the price really applies.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from typing import Any

from ..core.cost import InstancePrice
from ..errors import CatalogError

_FIELDS = {f.name for f in fields(InstancePrice)} - {"nvlink_domain_gpus"}  # from the GPU catalog, not a file
_PRICE_KEYS = (
    "on_demand_usd_h",
    "spot_usd_h",
    "reserved_1yr_usd_h",
    "reserved_3yr_usd_h",
    "marketplace_low_usd_h",
    "marketplace_high_usd_h",
)
INTERCONNECTS = ("", "nvlink", "pcie")
_TEXT_KEYS = ("cloud", "instance_type", "source", "commitment_source")  # as_of: as_of_date names it
# Bounds of a price per GPU-hour, in USD. The floor is the cent the tables print (two decimals): below it a plan
# showed "$0.00 per GPU-hour" and "$0 a month" (1e-300 was accepted), and no GPU rents for less: the cheapest row
# of the packaged catalog is a T4 spot at $0.063. The ceiling is 60x the dearest packaged row (a GB200 at $16):
# above it a price is a typo (a monthly or a per-rack price in the hourly column), and 1e308 overflowed to inf.
MIN_GPU_HOUR_USD = 0.01
MAX_GPU_HOUR_USD = 1000.0


def as_of_date(as_of: Any) -> dt.date:
    """The date an ``as_of`` stands for ("2026-08" -> 2026-08-01): a month, a day or an ISO 8601 date and time, as
    text ("2026-12-01garbage" was read as its first ten characters)."""
    text = as_of.strip() if isinstance(as_of, str) else ""
    try:
        if len(text) == 7:
            return dt.date.fromisoformat(text + "-01")
        if len(text) > 10:
            return dt.datetime.fromisoformat(text).date()
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CatalogError(f"price as_of {as_of!r} is not a date (YYYY-MM-DD or YYYY-MM)") from None


def _check_prices(name: str, values: Mapping[str, Any]) -> None:
    """Every price a number within the per-GPU-hour bounds, a marketplace range as a low and a high end, and a
    commitment no dearer than on-demand (a 1yr or 3yr price above it is a typo: it is never the discount it is)."""
    priced = {k: values[k] for k in _PRICE_KEYS if values.get(k) is not None}
    if not priced or any(isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p < math.inf
                         for p in priced.values()):  # fmt: skip
        raise CatalogError(f"{name} needs at least one price, and every price must be a positive number")
    gpus = values["gpus"]
    for key, price in priced.items():
        if not MIN_GPU_HOUR_USD <= price / gpus <= MAX_GPU_HOUR_USD:
            raise CatalogError(
                f"{name}: {key} {price!r} is ${price / gpus:.3g} per GPU-hour over its {gpus} GPU(s); a price must "
                f"lie between ${MIN_GPU_HOUR_USD} and ${MAX_GPU_HOUR_USD:,.0f} per GPU-hour (USD per instance-hour)"
            )
    low, high = priced.get("marketplace_low_usd_h"), priced.get("marketplace_high_usd_h")
    if (low is None) != (high is None) or (low is not None and high is not None and low > high):
        raise CatalogError(f"{name}: marketplace_low_usd_h {low!r} and marketplace_high_usd_h {high!r} must be "
                           "given together, low <= high")  # fmt: skip
    on_demand, one, three = (priced.get(k) for k in ("on_demand_usd_h", "reserved_1yr_usd_h", "reserved_3yr_usd_h"))
    for key, price, above in (("reserved_1yr_usd_h", one, on_demand), ("reserved_3yr_usd_h", three, one or on_demand)):
        if price is not None and above is not None and price > above:
            raise CatalogError(f"{name}: {key} {price!r} is above {'on-demand' if above is on_demand else '1yr'} "
                               f"({above!r}); a commitment price is a discount")  # fmt: skip


def price_rows(entries: Iterable[Mapping[str, Any]], filename: str, known_gpus: Iterable[str]) -> list[InstancePrice]:
    """Every entry as InstancePrice rows (one per region), checked: known GPU, a source and an as_of (a date in
    text), at least one price, every price a positive finite number, a whole number of GPUs (1 or more), no unknown
    keys, each offer (cloud, instance type, region) once. The local file is hand-editable: a NaN price was planned
    as the cheapest offer at "n/a", 0 GPUs was a ZeroDivisionError and a TOML date for as_of an AttributeError from
    `prices list`; a number for the cloud or instance type a TypeError, ``multi_node = "no"`` a multi-node
    instance, a price of 1e-300 a $0 plan, and a second row of one offer silently replaced the first. A cloud is
    read in lower case, as ``--cloud`` is (``"AWS"`` was a cloud of its own that no command could choose)."""
    gpus = set(known_gpus)
    rows: list[InstancePrice] = []
    seen: dict[tuple[str, str, str], int] = {}
    latest = dt.date.today() + dt.timedelta(days=1)  # a day ahead: a source in a later time zone
    if not isinstance(entries, list) or not all(isinstance(entry, Mapping) for entry in entries):
        raise CatalogError(f"{filename}: instances must be [[instances]] tables, not {entries!r:.80}")
    for number, entry in enumerate(entries, 1):
        values = dict(entry)
        name = f"{filename} instance {values.get('cloud')}/{values.get('instance_type')!r}"
        for key in _TEXT_KEYS:
            if key in values and not isinstance(values[key], str):
                raise CatalogError(f"{name}: {key} {values[key]!r} must be text (a TOML string in quotes)")
        if isinstance(values.get("cloud"), str):
            values["cloud"] = values["cloud"].strip().lower()
        values["gpu_id"] = values.pop("gpu", "")
        regions = values.pop("regions", None)
        if regions is None:
            regions = [values.pop("region", "")]
        elif "region" in values:
            raise CatalogError(f"{name} gives both region and regions")
        unknown = sorted(set(values) - _FIELDS)
        if unknown:
            raise CatalogError(f"{name} has unknown field(s) {', '.join(unknown)}")
        if values["gpu_id"] not in gpus:
            raise CatalogError(f"{name} names unknown GPU {values['gpu_id']!r}")
        for required in ("cloud", "instance_type", "source", "as_of"):
            if not values.get(required):
                raise CatalogError(f"{name} lacks {required!r}")
        count = values.get("gpus")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise CatalogError(f"{name}: gpus {count!r} is not a whole number of GPUs per instance (1 or more)")
        _check_prices(name, values)
        for key in ("as_of", "commitment_as_of"):
            try:
                day = as_of_date(values[key]) if values.get(key) else None
            except CatalogError as error:  # named its value only: which file and row held it?
                raise CatalogError(f"{name}: {error}") from None
            if day is not None and day > latest:
                raise CatalogError(f"{name}: {key} {values[key]!r} is in the future (today is "
                                   f"{dt.date.today().isoformat()}); a price is as of the day it was read")  # fmt: skip
        if values.get("interconnect", "") not in INTERCONNECTS:
            raise CatalogError(f"{name}: interconnect {values['interconnect']!r} is not one of nvlink, pcie")
        if not isinstance(values.get("multi_node", True), bool):
            raise CatalogError(f"{name}: multi_node {values['multi_node']!r} must be true or false")
        values.setdefault("on_demand_usd_h", None)
        values["nvlink_domain_gpus"] = _nvlink_domain(known_gpus, values)
        if not isinstance(regions, list) or not regions or not all(isinstance(r, str) and r.strip() for r in regions):
            raise CatalogError(f"{name} needs a region (or a non-empty list of regions)")
        for region in dict.fromkeys(regions):
            offer = (values["cloud"], values["instance_type"], region)
            if offer in seen:
                raise CatalogError(f"{name} in region {region!r} is listed twice (instances {seen[offer]} and "
                                   f"{number}); keep one row per instance type and region")  # fmt: skip
            seen[offer] = number
            try:
                rows.append(InstancePrice(region=region, **values))
            except TypeError as error:
                raise CatalogError(f"{name}: {error}") from error
    return rows


def _nvlink_domain(known_gpus: Iterable[str], values: Mapping[str, Any]) -> int:
    """GPUs an NVLink instance's NVLink domain joins across instances: the GPU's ``gpus_per_node`` where it is a
    rack's switch fabric beyond one 8-GPU HGX board (72 for GB200/GB300 NVL72, whose 4-GPU trays it joins), else 0
    (a slice of an 8-GPU board, Lambda's 2 x B200, is not joined to another slice). ``known_gpus``: the GPU catalog
    (ids only: 0)."""
    spec = known_gpus.get(values["gpu_id"]) if isinstance(known_gpus, Mapping) else None
    domain = int(getattr(spec, "gpus_per_node", 0))
    return domain if values.get("interconnect") == "nvlink" and domain > max(values["gpus"], HGX_BOARD_GPUS) else 0


HGX_BOARD_GPUS = 8  # GPUs one HGX/DGX baseboard's NVSwitches join (H100, H200, B200, B300)


def offer_key(row: InstancePrice) -> tuple[str, str, str]:
    return (row.cloud, row.instance_type, row.region)


def merge(packaged: Iterable[InstancePrice], local: Iterable[InstancePrice]) -> tuple[InstancePrice, ...]:
    """The packaged rows with every local row replacing the packaged row of the same cloud, instance type and
    region (and added where the packaged catalog has none): the local file holds fresher prices.

    Commitment prices (1yr/3yr) the refreshed row lacks but the packaged row states are kept, with their own source
    and as_of (``commitment_source``/``commitment_as_of``): the public feeds `prices update` reads carry no
    commitment prices for most instance types, and a refresh must not silently drop them."""
    merged = {offer_key(row): row for row in packaged}
    for row in local:
        old = merged.get(offer_key(row))
        lacks = row.reserved_1yr_usd_h is None and row.reserved_3yr_usd_h is None
        if old is not None and lacks and (old.reserved_1yr_usd_h is not None or old.reserved_3yr_usd_h is not None):
            row = replace(
                row,
                reserved_1yr_usd_h=old.reserved_1yr_usd_h,
                reserved_3yr_usd_h=old.reserved_3yr_usd_h,
                commitment_source=old.commitment_source or old.source,
                commitment_as_of=old.commitment_as_of or old.as_of,
            )
        merged[offer_key(row)] = row
    return tuple(merged.values())
