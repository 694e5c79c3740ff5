"""``gpucast prices list|show|update``: what prices are known, how old they are, and refreshing them (issue 28).

``update`` writes the local override file (``catalog/price_overrides.py``), never the packaged catalog.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

COMMANDS: tuple[str, ...] = ("prices",)


def register(sub: Any) -> None:
    """Add ``prices`` and its sub-commands (``sub`` is argparse's sub-parsers action)."""
    prices = sub.add_parser(
        "prices",
        help="list the GPU prices gpucast knows, their age, and refresh them from public sources",
        description="Prices per instance type, region and pricing model (on-demand, spot, 1yr, 3yr, marketplace), "
        "each with its source and as_of. `update` reads public machine-readable sources and writes a local "
        "override file ($GPUCAST_PRICES_FILE, else ~/.local/share/gpucast/prices.toml) that is merged over the "
        "packaged catalog.",
    )
    actions = prices.add_subparsers(dest="prices_command", metavar="{list,show,update}")
    actions.required = True
    listing = actions.add_parser("list", help="every priced instance type (filter by cloud, GPU, region)")
    listing.add_argument("--clouds", help="comma-separated providers, or all (default all)")
    listing.add_argument("--gpu", help="only this GPU type")
    listing.add_argument("--region", help="only this region")
    show = actions.add_parser("show", help="per provider: instance types, GPUs, regions, oldest and newest as_of")
    update = actions.add_parser("update", help="refresh prices from public sources into the local override file")
    update.add_argument("--provider", action="append", help="refresh only this provider (repeatable; default all)")
    for parser in (listing, show, update):
        parser.add_argument("--file", help="the local price file (default $GPUCAST_PRICES_FILE or the user data dir)")
        parser.add_argument("--price-max-age-days", type=int, default=90, help="age above which a price is stale")
        parser.add_argument("--json", action="store_true", help="print JSON")


def dispatch(args: argparse.Namespace) -> int:
    from ..catalog import loader
    from ..catalog.price_overrides import ENV_FILE
    from ..errors import InputError

    if args.file:
        if "\x00" in args.file:  # the environment cannot hold it: a ValueError traceback before
            raise InputError(f"--file {args.file!r} cannot be read: a path cannot hold a NUL byte")
        os.environ[ENV_FILE] = args.file  # this process only: the loader and update read the same file
        loader.reload_prices()
    if not 0 < args.price_max_age_days <= 36500:  # the bound `inference` applies (ServingOptions, the REST body)
        raise InputError(f"--price-max-age-days {args.price_max_age_days!r} must be a positive whole number of days, "
                         "at most 36500")  # fmt: skip
    if args.prices_command == "update":
        return _update(args)
    rows = _rows(args)
    if args.prices_command == "show":
        return _show(rows, args)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    _table(rows)
    return 0


def _rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    from ..catalog import loader
    from ..core.cost import RELIABILITY
    from ..inputs.offers import parse_clouds
    from ..planning.price_age import age_days

    clouds = parse_clouds(args.clouds, loader.clouds()) if getattr(args, "clouds", None) else loader.clouds()
    gpu = loader.resolve_gpu(args.gpu).id if getattr(args, "gpu", None) else None
    region = getattr(args, "region", None) or None  # "" is no filter, as --gpu "" and --clouds "" are
    if region:
        loader.check_region(region, see="`gpucast prices list` shows the regions")
    local = {(p.cloud, p.instance_type, p.region) for p in loader.local_prices()}
    rows = []
    for p in loader.load_prices():
        if p.cloud not in clouds or gpu not in (None, p.gpu_id) or region not in (None, p.region):
            continue
        age = age_days(p.as_of)
        models = [m for m in ("on-demand", "spot", "1yr", "3yr", "marketplace") if p.hourly(m) is not None]
        rows.append(
            {
                "cloud": p.cloud,
                "instance_type": p.instance_type,
                "gpu": p.gpu_id,
                "gpus": p.gpus,
                "region": p.region,
                "interconnect": p.interconnect or None,
                "multi_node": p.multi_node,
                "on_demand_usd_h": p.on_demand_usd_h,
                "spot_usd_h": p.spot_usd_h,
                "reserved_1yr_usd_h": p.reserved_1yr_usd_h,
                "reserved_3yr_usd_h": p.reserved_3yr_usd_h,
                "marketplace_low_usd_h": p.marketplace_low_usd_h,
                "marketplace_high_usd_h": p.marketplace_high_usd_h,
                "capacity": sorted({RELIABILITY[m] for m in models}),
                "source": p.source,
                "as_of": p.as_of,
                "age_days": age,
                "stale": age > args.price_max_age_days,
                "origin": "local" if (p.cloud, p.instance_type, p.region) in local else "packaged",
            }
        )
    return rows


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _table(rows: list[dict[str, Any]]) -> None:
    import sys

    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    if not rows:
        console.print("No prices match.")
        return
    table = Table(box=box.SIMPLE_HEAD, title="USD per instance-hour")
    for column in (
        "cloud",
        "instance type",
        "GPU",
        "n",
        "region",
        "on-demand",
        "spot",
        "1yr",
        "3yr",
        "marketplace",
        "as_of",
        "age",
    ):
        table.add_column(
            column, justify="right" if column not in ("cloud", "instance type", "GPU", "region") else "left"
        )
    for r in rows:
        market = r["marketplace_low_usd_h"]
        market_text = "-" if market is None else f"{market:,.2f}-{r['marketplace_high_usd_h']:,.2f}"
        age = f"{r['age_days']} d" + (" stale" if r["stale"] else "")
        table.add_row(
            r["cloud"],
            r["instance_type"],
            r["gpu"],
            str(r["gpus"]),
            r["region"],
            _money(r["on_demand_usd_h"]),
            _money(r["spot_usd_h"]),
            _money(r["reserved_1yr_usd_h"]),
            _money(r["reserved_3yr_usd_h"]),
            market_text,
            r["as_of"] + ("*" if r["origin"] == "local" else ""),
            age,
        )
    console.print(table)
    console.print("* = from the local price file (`gpucast prices update`); sources: `gpucast prices list --json`")


def _show(rows: list[dict[str, Any]], args: argparse.Namespace) -> int:
    from ..catalog.price_overrides import override_path, read_override

    summary: dict[str, dict[str, Any]] = {}
    for r in rows:
        s = summary.setdefault(
            r["cloud"],
            {
                "instance_types": set(),
                "gpus": set(),
                "regions": set(),
                "as_of": set(),
                "stale_rows": 0,
                "local_rows": 0,
                "rows": 0,
            },
        )
        s["instance_types"].add(r["instance_type"])
        s["gpus"].add(r["gpu"])
        s["regions"].add(r["region"])
        s["as_of"].add(r["as_of"])
        s["rows"] += 1
        s["stale_rows"] += r["stale"]
        s["local_rows"] += r["origin"] == "local"
    path = override_path()
    data: dict[str, Any] = {
        "local_file": str(path),
        "local_file_updated_at": read_override(path).get("updated_at"),
        "max_age_days": args.price_max_age_days,
        "providers": {
            cloud: {
                "instance_types": len(s["instance_types"]),
                "gpus": sorted(s["gpus"]),
                "regions": len(s["regions"]),
                "oldest_as_of": min(s["as_of"]),
                "newest_as_of": max(s["as_of"]),
                "rows": s["rows"],
                "stale_rows": s["stale_rows"],
                "local_rows": s["local_rows"],
            }
            for cloud, s in sorted(summary.items())
        },
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    updated = data["local_file_updated_at"] or "none yet (run `gpucast prices update`)"
    print(f"Local price file: {path} (updated {updated}); stale = older than {args.price_max_age_days} days")
    for cloud, s in data["providers"].items():
        print(
            f"  {cloud:<8} {s['instance_types']:>3} instance types, {s['regions']:>3} regions, GPUs "
            f"{', '.join(s['gpus'])}; as_of {s['oldest_as_of']} .. {s['newest_as_of']}; "
            f"{s['stale_rows']}/{s['rows']} rows stale, {s['local_rows']} local"
        )
    return 0


def _update(args: argparse.Namespace) -> int:
    from ..catalog.price_overrides import override_path
    from ..catalog.price_update import update

    # any case, as every other name is read ("AWS" was "not one of aws, ...")
    results = update([p.strip().lower() for p in args.provider] if args.provider else None)
    summary: list[dict[str, Any]] = [
        {"provider": r.provider, "source": r.url, "rows": len(r.rows), "uncatalogued_gpus": r.uncatalogued}
        for r in results
    ]
    if args.json:
        print(json.dumps({"file": str(override_path()), "providers": summary}, indent=2))
        return 0
    for s in summary:
        skipped = ", ".join(f"{k} ({v})" for k, v in sorted(s["uncatalogued_gpus"].items()))
        print(
            f"{s['provider']}: {s['rows']} instance prices from {s['source']}"
            + (f"; not in the GPU catalog: {skipped}" if skipped else "")
        )
    print(f"Written to {override_path()} (merged over the packaged catalog; `gpucast prices show` for ages)")
    return 0
