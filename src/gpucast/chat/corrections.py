"""A message that corrects itself: "llama 3.1 8b, actually 70b", "on H100, no, H200", "H200 instead of H100".

People correct a value in the same breath; the reader took the first value it met (the 8B model, the H100) and
dropped the correction unsaid. Here the message is cut at each correction word and read part by part, a later
part's values replacing an earlier one's; "X instead of Y" / "X rather than Y" drops Y before reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import names
from .values import UNSURE, Values

# words that start a correction; "no" only as its own clause ("..., no, H200"), never "no spot" or "no limit"
CORRECTION = re.compile(
    r"\b(?:actually|i mean|i meant|sorry|correction|or rather|make (?:it|that))\b|\bwait\s*[,;.:!]|"
    r"(?:^|[,;.]\s*)no\s*[,;.:]",
    re.IGNORECASE,
)
# "H200 instead of H100": what follows "instead of" up to the next comma is the value being replaced
REPLACED = re.compile(r"\b(?:instead of|rather than)\s+[^,;.]*", re.IGNORECASE)
SIZE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s*b\b", re.IGNORECASE)  # "70b": a model size, not "80GB"
LEADING = re.compile(r"^\s*(?:actually|sorry|i mean|i meant|correction|or rather)\b[\s,:;.!-]*", re.IGNORECASE)
EXCLUSIVE = (("model", "model_size"),)  # a later part's model size replaces an earlier part's model name


def read_corrected(text: str, read: Callable[[str], Values]) -> Values:
    """``read(text)``, where a later part of a self-correcting message wins over an earlier one."""
    cleaned = REPLACED.sub(" ", text)
    parts = [part for part in CORRECTION.split(cleaned) if part.strip()]
    if len(parts) < 2:
        return read(cleaned)
    found: Values = {}
    for index, part in enumerate(parts):
        values = read(part)
        if index and "model" in found and not {"model", "model_size"} & set(values) and (size := SIZE.search(part)):
            values.update(_resized(parts[index - 1], size.group(0), read))  # "llama 3.1 8b, actually 70b"
        if index and not any(key not in ("intent", UNSURE) for key in values):  # "..., make it 500ms": unreadable
            values[UNSURE] = [*values.get(UNSURE, []), f"I could not read the correction {part.strip(' ,;.')!r}, so "
                                                        "the earlier value stands"]  # fmt: skip
        for pair in EXCLUSIVE:
            for key, other in (pair, pair[::-1]):
                if key in values:
                    found.pop(other, None)
        reasons = [*found.get(UNSURE, []), *values.pop(UNSURE, [])]
        found.update(values)  # a part names only what it states: "actually, 70b" keeps the first part's goal
        if reasons:
            found[UNSURE] = reasons
    return found


def _resized(earlier: str, size: str, read: Callable[[str], Values]) -> Values:
    """The earlier part's model at the corrected size ("llama 3.1 8b" + "70b" = Llama-3.1-70B), asked back."""
    values = read(SIZE.sub(size.replace(" ", ""), earlier, count=1)) if SIZE.search(earlier) else {}
    if "model" not in values:
        return {}
    return {
        "model": values["model"],
        UNSURE: [f"I read the correction {size!r} as the same family's {names.model_name(values['model'])}"],
    }


def without_leading(text: str) -> str:
    """The answer without a leading correction word ("actually 70b" answers the model question as "70b")."""
    return LEADING.sub("", text) or text
