"""A measurement row's MoE layout: expert parallelism and attention data parallelism (``core.layout``).

Rows may carry ``ep`` / ``dp_attention`` columns; otherwise the layout is read from the notes: an explicit
``layout: tp=8 ep=8 dp_attention=8``, or the engine flags the source states — SGLang's ``--enable-dp-attention``
(attention DP over every TP rank, its default ``--dp`` = ``--tp`` in the 0.4 releases) and ``--ep-size N`` /
``--ep_size N``, vLLM's ``--enable-expert-parallel`` (EP over every TP rank), TensorRT-LLM's
``moe_expert_parallel_size N`` / ``enable_attention_dp``. No mention: plain tensor parallelism.
"""

from __future__ import annotations

import re

_LAYOUT = re.compile(r"layout:\s*tp=(\d+)\s+ep=(\d+)\s+dp_attention=(\d+)")
_EP_SIZE = re.compile(r"(?:--ep[-_]size|moe_expert_parallel_size)[\s=:]+(\d+)")


def _int(text: str | None) -> int | None:
    try:
        value = int(float(text)) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and value >= 1 else None


def row_layout(row: dict[str, str], tp: int) -> tuple[int, int]:
    """(ep, attention_dp) of a row whose replica has ``tp`` GPUs per stage."""
    ep, dp = _int(row.get("ep")), _int(row.get("dp_attention"))
    notes = row.get("notes", "")
    explicit = _LAYOUT.search(notes)
    if explicit and int(explicit.group(1)) == tp:
        ep, dp = ep or int(explicit.group(2)), dp or int(explicit.group(3))
    if ep is None:
        size = _EP_SIZE.search(notes)
        ep = int(size.group(1)) if size else (tp if "--enable-expert-parallel" in notes else 1)
    if dp is None:
        dp = tp if ("--enable-dp-attention" in notes or "enable_attention_dp: true" in notes.lower()) else 1
    return ep, dp
