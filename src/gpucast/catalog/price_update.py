"""``gpucast prices update``: read current prices from public machine-readable sources and write the local override
file (``price_overrides``), never the packaged catalog.

Sources (``price_sources.toml``): SkyPilot's catalog CSVs for AWS, Lambda, Nebius, OCI, RunPod and Vast.ai, and the
Azure Retail Prices API for Azure. Every row written records its source URL and the day it was read (``as_of``).
Parsing is separate from fetching so the tests run the parsers and the whole update on recorded responses.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import CatalogError, InputError, PriceSourceError
from . import loader
from .price_overrides import override_path, read_override, write_override
from .price_rows import price_rows

USER_AGENT = "gpucast-prices-update (+https://github.com/gpucast/gpucast)"
Fetch = Callable[[str], str]


def fetch_text(url: str, timeout_s: float = 30.0) -> str:
    """GET ``url`` (standard library only: the project has no HTTP client dependency); one line on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            data: bytes = response.read()
            return data.decode("utf-8")
    except (urllib.error.URLError, TimeoutError, OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "reason", error)
        raise PriceSourceError(f"price source {url} cannot be read: {reason}") from None


def sources() -> dict[str, Any]:
    return loader._read("price_sources.toml")


def providers() -> tuple[str, ...]:
    """The providers ``prices update`` can refresh."""
    return (*sorted(sources()["skypilot"]["clouds"]), "azure")


@dataclass
class UpdateResult:
    """What one provider's refresh found."""

    provider: str
    url: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    uncatalogued: dict[str, int] = field(default_factory=dict)  # source GPU name -> rows skipped


def _price(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def _region(raw: str, rule: str) -> str:
    if rule == "country":  # Vast.ai locations: "Florida, US, NA" -> "US"
        parts = [p.strip() for p in raw.split(",")]
        return parts[1] if len(parts) >= 2 and parts[1] else raw.strip()
    return raw.strip()


def _gpu_id(row: Mapping[str, str], config: Mapping[str, Any]) -> str | None:
    for fragment, gpu in config.get("by_instance", {}).items():
        if fragment.lower() in row["InstanceType"].lower():
            return str(gpu)
    mapped = config.get("gpus", {}).get(row.get("AcceleratorName") or "")
    return str(mapped) if mapped else None


def parse_skypilot_csv(text: str, cloud: str, url: str, as_of: str) -> UpdateResult:
    """Rows of one SkyPilot ``vms.csv`` -> override entries (one per instance type and price, with its regions)."""
    config = sources()["skypilot"]["clouds"][cloud]
    gpus = loader.load_gpus()
    result = UpdateResult(cloud, url)
    reader = csv.DictReader(io.StringIO(text))
    missing = {"InstanceType", "AcceleratorName", "AcceleratorCount", "Price", "Region"} - set(reader.fieldnames or [])
    if missing:
        raise PriceSourceError(f"{url} is not a SkyPilot catalog CSV: no column(s) {', '.join(sorted(missing))}")
    offers: dict[tuple[str, str], dict[str, Any]] = {}
    for row in reader:
        if not row.get("AcceleratorName"):
            continue  # CPU-only instance types
        gpu = _gpu_id(row, config)
        if gpu is None or gpu not in gpus:
            name = row["AcceleratorName"]
            result.uncatalogued[name] = result.uncatalogued.get(name, 0) + 1
            continue
        count = int(float(row["AcceleratorCount"] or 0))
        price, spot = _price(row.get("Price")), _price(row.get("SpotPrice"))
        if count <= 0 or price is None:
            continue
        region = _region(row["Region"], config.get("region", ""))
        marketplace = config["pricing"] == "marketplace"
        key = (row["InstanceType"], "" if marketplace else region)
        offer = offers.setdefault(key, {"gpu": gpu, "gpus": count, "regions": [], "prices": [], "spots": []})
        if region not in offer["regions"]:
            offer["regions"].append(region)
        offer["prices"].append(price)
        if spot is not None:
            offer["spots"].append(spot)
    for (instance_type, _), offer in offers.items():
        result.rows.append(_entry(cloud, instance_type, offer, config, gpus, url, as_of))
    return result


def _entry(
    cloud: str,
    instance_type: str,
    offer: dict[str, Any],
    config: Mapping[str, Any],
    gpus: Mapping[str, Any],
    url: str,
    as_of: str,
) -> dict[str, Any]:
    nvlink = gpus[offer["gpu"]].interconnect.startswith("nvlink")
    entry: dict[str, Any] = {"cloud": cloud, "instance_type": instance_type, "gpu": offer["gpu"], "gpus": offer["gpus"]}
    regions = offer["regions"]
    entry |= {"region": regions[0]} if len(regions) == 1 else {"regions": regions}
    if config["pricing"] == "marketplace":
        entry |= {"marketplace_low_usd_h": min(offer["prices"]), "marketplace_high_usd_h": max(offer["prices"])}
    else:
        # one region's rows: the same on-demand price in every zone; spot differs per zone -> the lowest (as in
        # the packaged AWS rows)
        entry["on_demand_usd_h"] = min(offer["prices"])
        if offer["spots"]:
            entry["spot_usd_h"] = min(offer["spots"])
    if offer["gpus"] > 1:
        entry["interconnect"] = "nvlink" if nvlink else "pcie"
    entry["multi_node"] = bool(config.get("multi_node")) and nvlink and offer["gpus"] >= 8
    return entry | {"source": url, "as_of": as_of}


def parse_azure(pages: list[dict[str, Any]], url: str, as_of: str) -> UpdateResult:
    """Azure Retail Prices API pages -> entries for the packaged catalog's Azure instance types, per region.

    Linux only (Windows meters share the meter name; their productName ends in "Windows"); "Spot" meters are spot;
    "Low Priority" meters are skipped (a retired offer); reservations are priced per VM for the whole term, so
    hourly = price / 8760 h (1 year) or / 26280 h (3 years)."""
    shapes = {p.instance_type: p for p in loader.packaged_prices() if p.cloud == "azure"}
    result = UpdateResult("azure", url)
    offers: dict[tuple[str, str], dict[str, Any]] = {}
    for page in pages:
        if not isinstance(page.get("Items"), list):
            raise PriceSourceError(f"{url} answered without an Items list: not an Azure Retail Prices response")
        for item in page["Items"]:
            sku, meter = str(item.get("armSkuName", "")), str(item.get("meterName", ""))
            if sku not in shapes or "Windows" in str(item.get("productName", "")) or "Low Priority" in meter:
                continue
            if item.get("currencyCode", "USD") != "USD" or item.get("unitOfMeasure", "1 Hour") != "1 Hour":
                continue
            price = _price(str(item.get("retailPrice", "")))
            if price is None:
                continue
            offer = offers.setdefault((sku, str(item.get("armRegionName", ""))), {})
            kind, term = item.get("type"), item.get("reservationTerm")
            if kind == "Reservation" and term in ("1 Year", "3 Years"):
                offer["reserved_1yr_usd_h" if term == "1 Year" else "reserved_3yr_usd_h"] = round(
                    price / (8760 if term == "1 Year" else 26280), 6
                )
            elif kind == "Consumption":
                offer["spot_usd_h" if meter.endswith(" Spot") else "on_demand_usd_h"] = price
    for (sku, region), prices in offers.items():
        if not prices.get("on_demand_usd_h") and not prices.get("spot_usd_h"):
            continue
        shape = shapes[sku]
        entry = {"cloud": "azure", "instance_type": sku, "gpu": shape.gpu_id, "gpus": shape.gpus, "region": region}
        if shape.interconnect:
            entry["interconnect"] = shape.interconnect
        entry["multi_node"] = shape.multi_node
        result.rows.append(entry | prices | {"source": url, "as_of": as_of})
    return result


def azure_url(base: str, sku: str) -> str:
    query = f"serviceName eq 'Virtual Machines' and armSkuName eq '{sku}'"
    return f"{base}?{urllib.parse.urlencode({'$filter': query})}"


def refresh(provider: str, fetch: Fetch = fetch_text, today: dt.date | None = None) -> UpdateResult:
    """Read one provider's current prices (nothing is written)."""
    known = providers()
    if provider not in known:
        raise InputError(f"--provider {provider!r} is not one of {', '.join(known)}")
    as_of = (today or dt.date.today()).isoformat()
    config = sources()
    if provider == "azure":
        base = os.environ.get(config["azure"]["env"]) or config["azure"]["url"]
        pages: list[dict[str, Any]] = []
        for sku in sorted({p.instance_type for p in loader.packaged_prices() if p.cloud == "azure"}):
            url: str | None = azure_url(base, sku)
            for _ in range(int(config["azure"]["max_pages"])):
                if not url:
                    break
                try:
                    page = json.loads(fetch(url))
                except json.JSONDecodeError as error:
                    raise PriceSourceError(f"{url} did not answer JSON: {error.msg}") from None
                pages.append(page)
                url = page.get("NextPageLink")
        return parse_azure(pages, base, as_of)
    template = os.environ.get(config["skypilot"]["env"]) or config["skypilot"]["url"]
    url = template.replace("{cloud}", provider)
    return parse_skypilot_csv(fetch(url), provider, url, as_of)


def update(
    wanted: list[str] | None = None, fetch: Fetch = fetch_text, today: dt.date | None = None
) -> list[UpdateResult]:
    """Refresh ``wanted`` providers (default: all) and merge them into the local override file: a refreshed
    provider's rows replace all its earlier local rows; other providers' local rows are kept."""
    chosen = wanted or list(providers())
    table = read_override()  # before the sources are read: a file that cannot be read or written fails at once
    results = [refresh(p, fetch, today) for p in chosen]
    refreshed = {r.provider for r in results}
    # a hand-written "AWS" row is aws (price_rows reads clouds in lower case): replaced too, not kept as a duplicate
    rows = [row for row in table.get("instances", []) if str(row.get("cloud", "")).strip().lower() not in refreshed]
    sources_table = dict(table.get("sources", {}))
    for result in results:
        rows += result.rows
        sources_table[result.provider] = {
            "url": result.url,
            "read": (today or dt.date.today()).isoformat(),
            "rows": len(result.rows),
        }
    try:  # checked before writing: a row the loader refuses (a price under a cent per GPU-hour, a duplicate offer)
        # written first left every command failing on the file, the earlier prices lost with it
        price_rows(rows, str(override_path()), loader.load_gpus())
    except CatalogError as error:
        raise CatalogError(f"{error}; nothing was written, the local price file is unchanged") from None
    write_override({"updated_at": (today or dt.date.today()).isoformat(), "sources": sources_table, "instances": rows})
    loader.reload_prices()
    loader.load_prices()  # what was written must load (known GPUs, positive prices)
    return results
