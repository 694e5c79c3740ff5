"""Fine-tuning settings stated in free text, as ``gpucast training`` takes them: the method (``--method``), the data
("500M tokens", "50k examples of 2k tokens": ``--dataset-size``), the epochs, the sequence length ("seq len 4k" is
4,096), the global batch, and the GPUs and time the run may take ("on 2 A100s": ``--num-gpus``; "deadline 24 hours":
``--deadline-hours``). A value the planner cannot take is read as stated and refused by ``values.refusal``.
"""

from __future__ import annotations

import re

from . import names, users
from .numbers import NUMBER, binary_k, number_value, numbered, seconds_in, stated_count
from .values import Values

_N = NUMBER


def _num(match: re.Match[str], group: str = "") -> float:
    return number_value(match[f"num{group}"], match[f"mult{group}"])


def training_terms(low: str) -> Values:
    """The method, data, epochs, sequence length, batch, GPU count and deadline a fine-tune message states."""
    out: Values = {}
    if re.search(r"\bqlora\b", low):
        out["method"] = "qlora"
    elif re.search(r"\blora\b", low):
        out["method"] = "lora"
    elif re.search(r"\b(full(?:[- ]parameter)?(?: fine[- ]?tun\w*)?|all (?:the )?weights|pre-?train\w*)\b", low):
        out["method"] = "full"
    things = r"(?:examples?|samples?|rows?|documents?|docs?|conversations?|sequences?|dialogues?|pairs?|records?)"
    items = rf"{things}\s*,?\s*(?:each\s+)?(?:of|with|x|×|at|averaging|average|avg|around|about)"  # ", averaging"
    examples = re.search(rf"{numbered('a')}\s*{items}\s*(?:about\s*|around\s*|~\s*)?{numbered('b')}\s*"
                         r"tokens?", low)  # fmt: skip
    if examples and users.is_batch_job(low):  # "summarize 2 million documents of 3k tokens": work to serve
        examples = None
    if examples:
        out["seq_len"] = stated_count(_num(examples, "b"))
        out["dataset_tokens"] = stated_count(_num(examples, "a") * out["seq_len"])
    data = re.search(rf"{_N}\s*(?:tokens?|toks?)\s*(?:of\s*)?(?:training\s*)?(?:data|dataset|corpus|text)", low)
    data = data or re.search(rf"(?:dataset|data|corpus)\s*(?:of|is|has|with|size|:|=)?\s*{_N}\s*(?:tokens?)?"
                             rf"(?!\s*{things})", low)  # fmt: skip  # "the dataset has 120k conversations": no tokens
    data = data or re.search(rf"\b(?:on|over|with)\s+{_N}\s*tokens?\b(?!\s*(?:in|out|input|output|per|each|of context|"
                             r"context|prompts?|sequences?|examples?|seq))", low)  # fmt: skip
    if not data and users.is_training(low):  # "sft qwen 7b for 2 epochs, 300M tokens": millions of tokens are data
        data = re.search(rf"{_N}\s*(?:tokens?|toks?)\b(?!\s*(?:in|out|input|output|per|each|of context|context|"
                         r"prompts?|sequences?|examples?|seq))", low)  # fmt: skip
        data = data if data and _num(data) >= 1e6 else None
    if data and "dataset_tokens" not in out:
        out["dataset_tokens"] = stated_count(_num(data))
    if epochs := re.search(rf"{_N}\s*epochs?\b|epochs?\s*(?:of|:|=)?\s*(?P<n2>\d+)", low):
        count = _num(epochs) if epochs["num"] else float(epochs["n2"])
        out["epochs"] = int(count) if count == int(count) else count  # "0 epochs", "1.5 epochs": refused, with why
    seq = re.search(
        rf"(?:seq(?:uence)?[ _-]*len(?:gth)?|max(?:imum)? length|sequences? of)\s*(?:of|is|:|=)?\s*{_N}", low
    )
    seq = seq or re.search(rf"{_N}[- ]?tokens?\s*(?:sequences?|seq len|context length|examples?)\b", low)
    seq = seq or re.search(
        rf"{_N}[- ]?tokens?\s*(?:per|each|an?)\s*(?:example|sample|sequence|row|conversation)\b", low
    )
    seq = seq or re.search(rf"\bseq\s*(?:of|:|=)?\s*{_N}(?!\s*(?:rps|qps|req))", low)  # "seq 4096"
    if seq and "seq_len" not in out:
        out["seq_len"] = binary_k(stated_count(_num(seq)), seq["mult"])  # "seq len 4k" is 4,096
    if batch := re.search(rf"(?:global\s*)?batch(?:\s*size)?\s*(?:of|:|=)?\s*{_N}", low):
        out["global_batch"] = stated_count(_num(batch))
    if users.is_training(low):
        out.update(_training_fleet(low))
    return out


def gpu_count(low: str) -> float | None:
    """The GPUs a message says there are: "on 2 A100s", "8x a100 80gb", "1 gpu", "on a single L40S", "we have 8
    H100s" (a count right before a GPU word); None when none is said. A non-positive count is kept for the limit
    check (``values.LIMITS``) to refuse with what is accepted."""
    said = gpus_said(low)
    return None if said is None else said[0]


def gpus_said(low: str) -> tuple[float, str | None] | None:
    """(count, catalog GPU id or None for a plain "GPUs"/"cards") of :func:`gpu_count`: "we have 8 A100s" in a
    message that also names the H100 to plan on is 8 A100s, not 8 of the plan's GPU."""
    for count in re.finditer(r"(?<![\w.])(?P<n>\d+|a single|single|one)(?:\s*x\s*|\s+)(?P<what>[a-z][\w-]*(?:\s+[\w-]+)?)",
                             low):  # fmt: skip
        gpus = [] if re.match(r"gpus?\b|cards?\b", count["what"]) else names.find_gpus(count["what"])
        if gpus or re.match(r"gpus?\b|cards?\b", count["what"]):
            return stated_count(float(count["n"]) if count["n"].isdigit() else 1.0), (gpus[0] if gpus else None)
    return None


def _training_fleet(low: str) -> Values:
    """The GPUs a fine-tune may use ("on 2 A100s", "with 8 GPUs": ``--num-gpus``) and the time it must finish in
    ("deadline 24 hours", "done within 2 days": ``--deadline-hours``), both read by nothing before 2026-12-07."""
    out: Values = {}
    if (count := gpu_count(low)) is not None:
        out["num_gpus"] = count
    deadline = re.search(rf"(?:deadline|within|in under|in less than|finish\w*\s+(?:with)?in|done\s+(?:with)?in|"
                         rf"complete\w*\s+(?:with)?in|under)\s*(?:of\s+|is\s+|:\s*)?{_N}\s*"
                         r"(?P<unit>hours?|hrs?|h|days?|d|weeks?|w)\b", low)  # fmt: skip
    if deadline:
        out["deadline_hours"] = _num(deadline) * seconds_in(deadline["unit"]) / 3600.0
    return out
