"""Terminal lines about prices (issue 28): how old the price behind a plan is, and the price dates of a comparison."""

from __future__ import annotations

from typing import Any


def price_age(cost: Any) -> str:
    """``2026-08 (125 days old, stale: older than 90 days); <source>`` for a plan's cost section."""
    age = "" if cost.price_age_days is None else f" ({cost.price_age_days} days old"
    if age:
        age += f", stale: older than {cost.price_max_age_days} days)" if cost.price_stale else ")"
    return f"{cost.price_as_of}{age}; {cost.price_source}"


def comparison_footer(rows: list[Any]) -> str:
    """The price dates behind a comparison's rows and their age ("" when no row is priced)."""
    from ..planning.price_age import age_days

    dates = sorted({r.price_as_of for r in rows if getattr(r, "price_as_of", None)})
    if not dates:
        return ""
    aged = ", ".join(f"{d} ({age_days(d)} days old)" for d in dates)
    return f"Prices as of {aged}; `gpucast prices list` shows each price's source, `prices update` refreshes"
