"""Fine-tuning settings stated in free text, as ``gpucast training`` takes them: the method (``--method``), the data
("500M tokens", "50k examples of 2k tokens": ``--dataset-size``), the epochs, the sequence length ("seq len 4k" is
4,096), the global batch, and the GPUs and time the run may take ("on 2 A100s": ``--num-gpus``; "deadline 24 hours":
``--deadline-hours``). A value the planner cannot take is read as stated and refused by ``values.refusal``.
"""

from __future__ import annotations

import re

from . import names, users
from .numbers import NUMBER, binary_k, number_value, numbered, seconds_in, stated_count
from .values import LEFT_OUT, UNSURE, Values

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
    said = fleet_said(low)
    return None if said is None else (said[0], said[1])


# whole machines: "2 nodes of 8 H100s", "2 x 8 H100", "2 DGX H100s" (an NVIDIA DGX/HGX system holds 8 GPUs; the
# GB200/GB300 racks are not such systems), "two H100 nodes" (8 each, said back as a guess)
_HOSTS = r"(?:nodes?|servers?|machines?|box(?:es)?|hosts?|systems?)"
_PER_HOST = re.compile(rf"(?<![\w.])(?P<n>\d+)\s*(?:x\s*)?{_HOSTS}\s+(?:of|with|each with)\s+(?P<m>\d+)\s*(?:x\s*)?"
                       r"(?P<what>[a-z][\w-]*(?:\s+[\w-]+)?)")  # fmt: skip
_TIMES = re.compile(r"(?<![\w.])(?P<n>\d+)\s*x\s*(?P<m>\d+)\s*(?:x\s*)?(?P<what>[a-z][\w-]*(?:\s+[\w-]+)?)")
_SYSTEM = re.compile(r"(?<![\w.])(?:(?P<n>\d+)\s*(?:x\s*)?|an?\s+)(?:nvidia\s+)?(?:dgx|hgx)[\s-]*(?P<what>[a-z]\d+\w*)")
# one machine by its GPUs: "an 8xH100 node", "2 8xH100 nodes", "two 8-GPU H100 nodes" ("an 8xH100 node" was 64 GPUs,
# read as 8 nodes of a guessed 8); "8xH100 nodes" without a node count is left to the guess below
_NODE_OF = re.compile(rf"(?<![\w.])(?:(?P<k>\d+)\s+|(?P<one>an?)\s+)?(?P<n>\d+)\s*(?P<sep>x\s*|[- ]?gpus?\s+)"
                      rf"(?P<what>[a-z][\w-]*)\s+(?P<host>{_HOSTS})\b")  # fmt: skip
_HOST_GUESS = re.compile(rf"(?<![\w.])(?P<n>\d+)\s*(?:x\s*)?(?P<what>[a-z][\w-]*)\s+{_HOSTS}\b")
SYSTEM_GPUS = 8  # GPUs in one DGX/HGX system (DGX A100/H100/H200/B200 datasheets: 8 GPUs each)


# cloud instances by their type ("we have 2 p5.48xlarge", "we rent a g5.12xlarge"): the price catalog's instance ->
# GPU type and count (catalog/prices.toml); a count, or an article after a word of having, says they are a fleet
_INSTANCE = re.compile(r"(?:(?<![\w.])(?P<n>\d+)\s*(?:x\s*)?|\b(?:have|has|got|own|owns|rent|renting|run|running)\s+"
                       r"(?:an?|one|a single)\s+)(?P<inst>[a-z][\w.-]*[a-z\d])")  # fmt: skip


def instance_fleet(low: str) -> tuple[float, str] | None:
    """(GPUs, GPU id) of cloud instances named by type in ``low`` ("2 p5.48xlarge" -> 16 H100-SXM), or None. Read by
    nothing before 2026-12-08 (no fleet was sized)."""
    from ..catalog import loader  # the price catalog, read only where a message may name an instance

    known = {price.instance_type.lower(): price for price in loader.load_prices()}
    for match in _INSTANCE.finditer(low):
        name = match["inst"]
        price = known.get(name) or known.get(name.removesuffix("s"))  # "2 p5.48xlarges"
        if price is not None:
            return float(int(match["n"] or 1) * price.gpus), price.gpu_id
    return None


def nodes_without_count(low: str) -> str | None:
    """The phrase of nodes described by their GPUs but not counted ("we have 8xH100 nodes"), or None: how many nodes
    is asked (it was read as 8 nodes of a guessed 8, 64 GPUs)."""
    for node in _NODE_OF.finditer(low):
        plural = node["host"].endswith("s") and not node["host"].endswith("ss")
        if (
            node["k"] is None
            and node["one"] is None
            and plural
            and "x" in node["sep"]
            and names.find_gpus(node["what"])
        ):
            return node[0]
    return None


_VAGUE_FLEET = re.compile(r"\b(?:have|has|got|own|owns|rent|renting|run|running)\s+(?P<phrase>(?:several|some|a handful of|"
                          r"a bunch of|a number of|a few dozen|dozens of|many|lots of|a lot of)\s+(?P<what>[a-z\d][\w-]*))")  # fmt: skip


def vague_fleet(low: str) -> str | None:
    """The phrase of GPUs had in a vague amount ("we have several A100s", "a handful of H100s"), or None: how many is
    asked (they were read by nothing, no fleet sized). "a few" and "a couple" are read as 3 and 2 and asked back
    (``normalize``)."""
    match = _VAGUE_FLEET.search(low)
    return match["phrase"] if match is not None and _gpu_word(match["what"]) is not None else None


def fleet_said(low: str) -> tuple[float, str | None, str | None] | None:
    """:func:`gpus_said` with whole machines counted and a note where the count is a guess: (count, GPU id or
    None, why it is a guess or None). "we have 2 DGX H100 boxes" was 2 GPUs, "2 nodes of 8 H100s" 8."""
    if (instances := instance_fleet(low)) is not None:
        return stated_count(instances[0]), instances[1], None
    if nodes_without_count(low) is not None:
        return None
    for form in (_PER_HOST, _TIMES):
        if (match := form.search(low)) is not None and (word := _gpu_word(match["what"])) is not None:
            return stated_count(float(match["n"]) * float(match["m"])), word[0], None
    for node in _NODE_OF.finditer(low):
        single = node["k"] is None and (node["one"] is not None or not node["host"].endswith(("s", "es")))
        if (node["k"] is not None or single or "gpu" in node["sep"]) and (gpus := names.find_gpus(node["what"])):
            return stated_count(float(int(node["k"] or 1) * int(node["n"]))), gpus[0], None
    system = _SYSTEM.search(low)
    if system is not None and not system["what"].startswith("gb") and (gpus := names.find_gpus(system["what"])):
        return stated_count(float(SYSTEM_GPUS * int(system["n"] or 1))), gpus[0], None
    if (match := _HOST_GUESS.search(low)) is not None and (gpus := names.find_gpus(match["what"])):
        total = SYSTEM_GPUS * int(match["n"])
        why = f"{match[0]!r} read as {total} GPUs, {SYSTEM_GPUS} a node as in an HGX server: say the GPU count if not"
        return stated_count(float(total)), gpus[0], why
    for said in sorted((*_COUNTED.finditer(low), *_HAD.finditer(low)), key=lambda match: match.start("n")):
        # "1 4090" (from "one 4090"): a bare GPU number is one only after its count
        word = _gpu_word(said["what"]) if not said["what"][0].isdigit() else _gpu_word(said[0], bare=True)
        if word is not None:
            thousands = re.fullmatch(r"(\d+)k", said["n"])  # "we have 1k H100s"
            count = (float(thousands[1]) * 1000 if thousands else float(said["n"]) if said["n"].isdigit()
                     else 2.0 if re.search(r"couple|pair", said["n"]) else 1.0)  # fmt: skip
            return stated_count(count), word[0], None
    return None


# a count before a GPU: "8 H100s", "8x H100", "a single L40S", "one 4090" (digits by then), "my 4090" (one desk card;
# "my H100s" says no count); after a word of having, an article too ("we have an H100", "I've got a couple of A100s",
# "we own a pair of H100s"), which elsewhere names the GPU to plan on ("on an H100"), not how many
_WHAT = r"(?:\s*x\s*|\s+)(?P<what>[a-z\d][\w-]*(?:\s+[\w-]+)?)"
_COUNTED = re.compile(rf"(?<![\w.])(?P<n>\d+k?|a single|single|\bmy(?=\s+(?:rtx\s+)?\d{{4}}\b(?!\s*s\b))){_WHAT}")
_HAD = re.compile(
    r"\b(?:have|has|got|own|owns|bought|rent|renting)\s+(?:(?:only|just)\s+)?"
    rf"(?P<n>an?\s+(?:couple|pair)\s+of|couple\s+of|pair\s+of|an?)(?!\s+(?:single|few|lot)\b){_WHAT}"
)


def _gpu_word(what: str, *, bare: bool = False) -> tuple[str | None] | None:
    """(the catalog GPU ``what`` starts with,) or (None,) for a plain "GPUs"/"cards"; None for neither. ``bare``:
    ``what`` is a count and a GPU's bare number ("1 4090"), which the count makes a GPU."""
    if not bare and re.match(r"gpus?\b|cards?\b", what):
        return (None,)
    gpus = names.find_gpus(what)
    return (gpus[0],) if gpus else None


def _training_fleet(low: str) -> Values:
    """The GPUs a fine-tune may use ("on 2 A100s", "with 8 GPUs": ``--num-gpus``) and the time it must finish in
    ("deadline 24 hours", "done within 2 days": ``--deadline-hours``), both read by nothing before 2026-12-07."""
    out: Values = {}
    if (count := gpu_count(low)) is not None:
        out["num_gpus"] = count
    elif (vague := nodes_without_count(low) or vague_fleet(low)) is not None:  # "8xH100 nodes", "several H100s"
        out[LEFT_OUT] = {"num_gpus": f"{vague!r} does not say how many GPUs the fine-tune may use: say e.g. 'on 8 "
                                     "GPUs'"}  # fmt: skip
    # "... in 30 days" too (a bare "in" before a time: read by nothing before 2026-12-08)
    deadline = re.search(rf"(?:deadline|within|in under|in less than|\bin|finish\w*\s+(?:with)?in|done\s+(?:with)?in|"
                         rf"complete\w*\s+(?:with)?in|under)\s*(?:of\s+|is\s+|:\s*)?{_N}\s*"
                         r"(?P<unit>hours?|hrs?|h|days?|d|weeks?|w)\b", low)  # fmt: skip
    if deadline:
        out["deadline_hours"] = _num(deadline) * seconds_in(deadline["unit"]) / 3600.0
    elif re.search(r"\bovernight\b", low):  # "need it done overnight": read by nothing before 2026-12-08
        out["deadline_hours"] = users.OVERNIGHT_HOURS
        out[UNSURE] = [f"I took 'overnight' as {users.OVERNIGHT_HOURS:g} hours"]
    if (instances := instance_fleet(low)) is not None and not names.find_gpus(low):  # "on 2 p4d.24xlarge": A100s
        out["gpu"] = instances[1]
    return out
