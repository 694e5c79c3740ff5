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
