"""Where to rent (issue 28): the ``--clouds`` and ``--pricing`` values, checked once for every adapter (flags,
JSON config, REST body) with one-line errors that name the value and what is accepted."""

from __future__ import annotations

from ..core.cost import PRICING_MODELS, pricing_models
from ..errors import InputError


def check_pricing(pricing: object) -> tuple[str, ...]:
    """The pricing models ``--pricing`` names ("on-demand", "on-demand,spot", "all"), or one InputError line."""
    if not isinstance(pricing, str):
        raise InputError(f"--pricing {pricing!r} is not one of {', '.join(PRICING_MODELS)} (or a comma list, or all)")
    try:
        return pricing_models(pricing)
    except ValueError:
        raise InputError(
            f"--pricing {pricing!r} is not one of {', '.join(PRICING_MODELS)} (or a comma list of them, or all)"
        ) from None


def parse_clouds(value: object, known: tuple[str, ...]) -> tuple[str, ...]:
    """``--clouds``: "aws,lambda", ["aws", "lambda"] or "all" -> the providers, each checked against ``known``."""
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise InputError(f"--clouds {value!r} must be a comma-separated list of providers or all")
    chosen = [n.strip().lower() for n in names if n.strip()]
    if not chosen:
        raise InputError(f"--clouds {value!r} names no provider: give some of {', '.join(known)}, or all")
    if "all" in chosen:
        return known
    for name in chosen:
        if name not in known:
            raise InputError(f"--clouds {name!r} is not one of {', '.join(known)} (or all)")
    return tuple(dict.fromkeys(chosen))


def check_cloud_choice(serving: dict[str, object]) -> None:
    """``--cloud`` beside ``--clouds`` (flags, a config's or a REST body's serving section): ``--clouds`` decides
    the providers searched, so a ``--cloud`` outside them (``--cloud aws --clouds gcp``) was dropped with exit 0 and
    the plan priced on GCP (QA 2026-12-07). Refused, naming both; a ``--cloud`` among them, or ``--clouds all``, is
    merely redundant and kept."""
    cloud, clouds = serving.get("cloud"), serving.get("clouds")
    if cloud is None or clouds is None or not isinstance(cloud, str):
        return
    names = clouds.split(",") if isinstance(clouds, str) else clouds
    if not isinstance(names, (list, tuple)):
        return  # parse_clouds names the bad value when the options are validated
    chosen = {n.strip().lower() for n in names if isinstance(n, str)}
    if "all" not in chosen and cloud.strip().lower() not in chosen:
        raise InputError(f"--cloud {cloud!r} is not among --clouds {clouds!r}: give --clouds alone to search "
                         "several providers, or --cloud alone for one")  # fmt: skip
