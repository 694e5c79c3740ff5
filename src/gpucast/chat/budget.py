"""A budget said in the conversation ("budget about $8k/month", "we can spend 20k a month", "$500 for the fine-tune")
and what the plan says about it.

No command has a budget flag: a plan is sized for the load and the latency targets, and its cost follows. But a team
that states a budget asks whether the plan fits it, and the conversation dropped it unsaid (2026-12-07). The budget
is kept, shown in the summary, and the plan's own cost is compared with it (within it, or over it by how much, and
the cheapest option that fits where a re-computed one does): nothing is sized to it.
"""

from __future__ import annotations

import re
from typing import Any

from .numbers import NUMBER, number_value
from .values import UNSURE, Values

_MONEY = r"(?P<cur>[$€£])?\s*" + NUMBER + r"\s*(?P<cur2>usd|dollars?|eur|euros?|gbp|\$|€|£)?"
_PERIOD = r"\s*(?:/|per|a|an|each|every)\s*(?P<period>months?|mo|year|yr|annum)\b|\s+(?P<ly>monthly|yearly|annually)\b"
_SAID = (
    # "budget about $8k/month", "our budget is 5k a month", "budget: $10,000"
    rf"\bbudget\w*\s*(?:is|of|:|=|~|about|around|roughly|under|below|at most|max(?:imum)?|up to|is about)*\s*{_MONEY}"
    rf"(?:{_PERIOD})?",
    # "we can spend 20k a month", "can afford $3,000 per month", "spend at most $500"
    rf"\b(?:spend|afford|pay)\s+(?:about\s+|around\s+|up to\s+|at most\s+|no more than\s+|max\s+)?{_MONEY}(?:{_PERIOD})?",
    # "$8k/month", "$5,000 a month": money per month is a budget wherever it is said
    rf"(?P<cur3>[$€£])\s*{NUMBER.replace('<num>', '<num3>').replace('<mult>', '<mult3>')}(?:{_PERIOD})",
)


def stated_budget(low: str) -> Values:
    """``budget_usd`` and ``budget_period`` ("month" or "total") stated in ``low``, and the doubts to ask back."""
    for form in _SAID:
        match = re.search(form, low)
        if match is None:
            continue
        groups = match.groupdict()
        num, mult = (groups["num3"], groups["mult3"]) if groups.get("num3") else (groups["num"], groups["mult"])
        amount = number_value(num, mult)
        period = (groups.get("period") or groups.get("ly") or "").lower()
        out: Values = {"budget_usd": amount, "budget_period": "total" if not period else "month"}
        if period.startswith(("y", "annu")):
            out["budget_usd"] = amount / 12.0
        currency = groups.get("cur") or groups.get("cur2") or groups.get("cur3") or "$"
        if currency not in ("$", "usd", "dollar", "dollars"):
            out[UNSURE] = [f"prices are in US dollars: I read the budget {match[0].strip()!r} as ${amount:,.0f}"]
        return out
    return {}


def budget_text(answers: Values) -> str:
    """ "$8,000 a month", "$500": the stated budget in words."""
    amount = float(answers["budget_usd"])
    return f"${amount:,.0f}" + (" a month" if answers.get("budget_period") == "month" else "")


def serving_budget_line(answers: Values, plan: Any, options: list[tuple[str, Any]]) -> str:
    """The serving plan's monthly cost against the budget (a total budget is read as a month's: a fleet runs on)."""
    budget = float(answers["budget_usd"])
    cost = plan.cost
    if cost is None or cost.monthly_gpu_cost is None:
        return f"Budget: no price is known for this GPU on this cloud, so I cannot compare it with your {budget_text(answers)}."
    peak, low = cost.monthly_gpu_cost, cost.monthly_cost_at_min_replicas
    per = "" if answers.get("budget_period") == "month" else " (I compared it with a month of the fleet)"
    if peak <= budget:
        return (f"Budget: the plan's ${peak:,.0f} a month at peak size is within your {budget_text(answers)} "
                f"(${budget - peak:,.0f} to spare){per}.")  # fmt: skip
    fits = [(label, other) for label, other in options if other.cost and other.cost.monthly_gpu_cost is not None
            and other.cost.monthly_gpu_cost <= budget and other.throughput.meets_latency_sla]  # fmt: skip
    way = (f" {fits[0][0].capitalize()} fits it: ${fits[0][1].cost.monthly_gpu_cost:,.0f} a month." if fits else
           " No cheaper option I computed fits it: type 'compare' for every GPU and cloud, or relax the latency "
           "target, the peak or the load.")  # fmt: skip
    at_min = f"; at the minimum size (average load) it costs ${low:,.0f}" if low is not None and low < peak else ""
    over = f"{peak / budget:.1f} times it" if peak >= 2 * budget else f"{(peak / budget - 1) * 100:.0f}% more"
    return (f"Budget: the plan's ${peak:,.0f} a month at peak size is over your {budget_text(answers)} by "
            f"${peak - budget:,.0f} ({over}){at_min}{per}.{way}")  # fmt: skip


def training_budget_line(answers: Values, plan: Any) -> str:
    """The fine-tune's one-off cost against the budget."""
    budget = float(answers["budget_usd"])
    total = plan.cost.total_training_cost if plan.cost is not None else None
    if total is None:
        return f"Budget: no price is known for this GPU on this cloud, so I cannot compare it with your {budget_text(answers)}."
    verdict = f"within your {budget_text(answers)}" if total <= budget else (
        f"over your {budget_text(answers)} by ${total - budget:,.0f}")  # fmt: skip
    return f"Budget: the run's ${total:,.0f} is {verdict}."


def compare_budget_line(answers: Values, rows: list[Any]) -> str:
    """How many compared options fit the budget."""
    budget = float(answers["budget_usd"])
    priced = [row for row in rows if row.meets_latency_sla and row.monthly_cost is not None]
    fits = [row for row in priced if row.monthly_cost <= budget]
    if not fits:
        return (
            f"Budget: none of the {len(priced)} priced options that meet the targets fits your {budget_text(answers)}."
        )
    best = fits[0]
    verb = "fits" if len(fits) == 1 else "fit"
    return (f"Budget: {len(fits)} of the {len(priced)} priced options that meet the targets {verb} your "
            f"{budget_text(answers)}; the cheapest is {best.total_gpus} x {best.gpu_type} on {best.cloud} at "
            f"${best.monthly_cost:,.0f} a month.")  # fmt: skip
