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

_FIELDS = {f.name for f in fields(InstancePrice)}
_PRICE_KEYS = (
    "on_demand_usd_h",
    "spot_usd_h",
    "reserved_1yr_usd_h",
    "reserved_3yr_usd_h",
    "marketplace_low_usd_h",
    "marketplace_high_usd_h",
)
INTERCONNECTS = ("", "nvlink", "pcie")


def as_of_date(as_of: Any) -> dt.date:
    """The date an ``as_of`` stands for ("2026-08" -> 2026-08-01): a day or a month, as text."""
    text = as_of.strip() if isinstance(as_of, str) else ""
    try:
        if len(text) == 7:
            return dt.date.fromisoformat(text + "-01")
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise CatalogError(f"price as_of {as_of!r} is not a date (YYYY-MM-DD or YYYY-MM)") from None


def price_rows(entries: Iterable[Mapping[str, Any]], filename: str, known_gpus: Iterable[str]) -> list[InstancePrice]:
    """Every entry as InstancePrice rows (one per region), checked: known GPU, a source and an as_of (a date in
    text), at least one price, every price a positive finite number, a whole number of GPUs (1 or more), no unknown
    keys. The local file is hand-editable: a NaN price was planned as the cheapest offer at "n/a", 0 GPUs was a
    ZeroDivisionError and a TOML date for as_of an AttributeError from `prices list`."""
    gpus = set(known_gpus)
    rows: list[InstancePrice] = []
    if not isinstance(entries, list) or not all(isinstance(entry, Mapping) for entry in entries):
        raise CatalogError(f"{filename}: instances must be [[instances]] tables, not {entries!r:.80}")
    for entry in entries:
        values = dict(entry)
        name = f"{filename} instance {values.get('cloud')}/{values.get('instance_type')!r}"
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
        priced = [values.get(k) for k in _PRICE_KEYS if values.get(k) is not None]
        if not priced or any(isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p < math.inf
                             for p in priced):  # fmt: skip
            raise CatalogError(f"{name} needs at least one price, and every price must be a positive number")
        count = values.get("gpus")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise CatalogError(f"{name}: gpus {count!r} is not a whole number of GPUs per instance (1 or more)")
        as_of_date(values["as_of"])
        if values.get("interconnect", "") not in INTERCONNECTS:
            raise CatalogError(f"{name}: interconnect {values['interconnect']!r} is not one of nvlink, pcie")
        values.setdefault("on_demand_usd_h", None)
        if not isinstance(regions, list) or not regions or not all(isinstance(r, str) and r for r in regions):
            raise CatalogError(f"{name} needs a region (or a non-empty list of regions)")
        for region in regions:
            try:
                rows.append(InstancePrice(region=region, **values))
            except TypeError as error:
                raise CatalogError(f"{name}: {error}") from error
    return rows


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
