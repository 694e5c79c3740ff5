"""How old the prices behind a plan are: every plan states the ``as_of`` of the price it used and warns when it is
older than ``price_max_age_days`` (default 90: cloud GPU list prices have moved several times a year recently, e.g.
AWS cut P4/P5 on-demand prices by up to 45% in June 2025,
https://aws.amazon.com/blogs/aws/announcing-up-to-45-price-reduction-for-amazon-ec2-nvidia-gpu-accelerated-instances/).

``as_of`` is a day ("2026-07-30") or a month ("2026-08"); a month counts from its first day, so the age is never
understated.
"""

from __future__ import annotations

import datetime as dt

from ..catalog.price_rows import as_of_date

__all__ = ["age_days", "as_of_date", "stale_warning"]


def age_days(as_of: str, today: dt.date | None = None) -> int:
    """Days between ``as_of`` and ``today`` (0 for a date in the future)."""
    return max(0, ((today or dt.date.today()) - as_of_date(as_of)).days)


def stale_warning(as_of: str, max_age_days: int, today: dt.date | None = None) -> str:
    """The warning a plan carries when its price is older than ``max_age_days``, "" when it is fresh."""
    age = age_days(as_of, today)
    if age <= max_age_days:
        return ""
    return (
        f"prices are as of {as_of} ({age} days old, more than {max_age_days}): run `gpucast prices update` "
        "for current prices, or set --price-max-age-days"
    )
