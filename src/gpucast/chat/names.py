"""Model, GPU and cloud names inside free text ("serve llama 3 70b on H100s on aws").

The catalog's own alias resolution (``loader.normalize_name`` and its index) decides what a
name means; this module only finds the words that form a name in a sentence and, for typos
("lamma 3 70b", "mixtrl"), picks the closest catalog name with ``difflib``.
"""

from __future__ import annotations

import difflib
import re
from functools import cache

from ..catalog import loader

CLOUD_WORDS = {"aws": "aws", "amazon": "aws", "ec2": "aws", "gcp": "gcp", "google": "gcp", "azure": "azure",
               "microsoft": "azure", "lambda": "lambda", "lambdalabs": "lambda", "nebius": "nebius", "oci": "oci",
               "oracle": "oci", "runpod": "runpod", "vastai": "vast"}  # fmt: skip  # every cloud of the price catalog
ANY_GPU = re.compile(r"\b(any|anything|auto|automatic|cheapest|whatever|don'?t care|no preference|you choose|"
                     r"recommend|best)\b", re.IGNORECASE)  # fmt: skip
# words that follow a model family and belong to its name: versions, sizes, variants
_VERSION = re.compile(
    r"^(v?\d+(\.\d+)*[a-z]?|\d+(\.\d+)?[bm]|\d+x\d+b|a\d+b|\d+e|instruct|chat|it|hf|base|mini|scout|maverick|"
    r"r1|v\d|4k|sxm\d?|turbo|small|medium|large|nemo)$",
    re.IGNORECASE,
)
_VARIANT = re.compile(r"^(small|medium|large|nemo)$", re.IGNORECASE)  # a model line within a family
_NOT_MODELS = {"llm", "llms", "lm", "ml", "mi", "fine", "phase", "file", "gptq", "awq", "gguf"}  # "gptq" is no GPT-J
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


def _model_index() -> dict[str, str]:
    """Normalized name -> model id: the catalog's own alias index (ids, names, aliases, HF ids)."""
    return loader._index("model")


def _gpu_index() -> dict[str, str]:
    return loader._index("gpu")


@cache
def _families() -> tuple[str, ...]:
    """Leading letters of every model id: llama, mistral, mixtral, qwen, deepseek, gemma, phi, gptj."""
    found = {re.match(r"[a-z]+", loader.normalize_name(k)) for k in loader.load_models()}
    return tuple(sorted({m.group(0) for m in found if m}, key=len, reverse=True))


def _family_of(word: str) -> str | None:
    """The model family a word starts with ("llama3.1" -> llama), allowing a typo ("lamma" -> llama)."""
    low = word.lower().replace("-", "")
    if low in _NOT_MODELS:
        return None
    for family in _families():
        if low.startswith(family):
            return family
    letters = re.match(r"[a-z]+", low)
    if letters and len(letters.group(0)) >= 4:
        close = difflib.get_close_matches(letters.group(0), _families(), n=1, cutoff=0.72)
        if close:
            return close[0]
    return None


def is_name_word(word: str) -> bool:
    """Whether a word belongs to a model, GPU or cloud name (never a typo of an ordinary word)."""
    low = word.lower()
    return low in CLOUD_WORDS or _family_of(low) is not None or loader.normalize_name(low) in _gpu_index()


def find_model(text: str, *, strict: bool = True) -> str | None:
    """The catalog id of the model named in ``text``, or None.

    A typo in the family needs a version or size after it unless ``strict`` is False (the
    answer to "Which model?"), so "10 LLM calls" never becomes a Llama."""
    found = find_model_reading(text, strict=strict)
    return found[0] if found else None


_SIZE = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*b\b", re.IGNORECASE)  # "70b", "1.5B", "32 b"; not "8x7b", "a3b"
SIZE_TOLERANCE = 0.15  # a stated size names a model within 15% of its parameters ("120b" is gpt-oss-120b's 117B)


def _fits_stated_size(model_id: str, sizes: list[float]) -> bool:
    """Whether a catalog model has the size the text states, total or active ("llama 4 scout 17b" is its active
    17B): "mistral small 24b" is not Mistral-7B, "deepseek r1 distill llama 70b" not the 671B DeepSeek-R1."""
    if not sizes:
        return True
    return any(
        abs(size * 1e9 - params) <= SIZE_TOLERANCE * params for size in sizes for params in _sizes(model_id) if params
    )


def _whole_size(model_id: str, sizes: list[float]) -> bool:
    """Whether a stated size is the model's total (or published) size, not its active parameters."""
    total, _, published = _sizes(model_id)
    return any(abs(size * 1e9 - params) <= SIZE_TOLERANCE * params for size in sizes for params in (total, published)
               if params)  # fmt: skip


def _distance(model_id: str, sizes: list[float]) -> float:
    """How far the nearest stated size is from the model's total size, relatively ("7b": Qwen2.5-7B before Qwen3-8B)."""
    total = _sizes(model_id)[0] or 1.0
    return min(abs(size * 1e9 - total) / total for size in sizes)


@cache
def _sizes(model_id: str) -> tuple[float, float, float]:
    """(total, active, published) parameters of a catalog model."""
    from ..core.params import count_parameters

    spec = loader.load_models()[model_id]
    counted = count_parameters(spec)
    return float(counted.total), float(counted.active), spec.published_params_b * 1e9


def find_model_reading(text: str, *, strict: bool = True) -> tuple[str, bool] | None:
    """``find_model`` and whether the name was matched exactly (False: the closest catalog name to a typo, which
    the conversation asks the user to confirm). A name whose model has another size than the text states is no
    match: the family's model of that size is tried, else none (the conversation asks)."""
    distilled = re.split(r"(?i)\bdistill(?:ed)?\b", text)
    if len(distilled) > 1:  # "deepseek r1 distill qwen 32b" is a Qwen: the student is named after "distill", and a
        # catalog model is only its architecture (asked back); the teacher's 37B active once matched "32b"
        found = find_model_reading(distilled[-1], strict=strict)
        return (found[0], False) if found else None
    words = [w.rstrip(".") for w in _TOKEN.findall(text)]
    index = _model_index()
    sizes = [float(size) for size in _SIZE.findall(text)]
    for i in range(len(words)):
        found = _reading_at(words, i, index, strict=strict, sizes=sizes)
        if found is not None:
            return found
    return None


def _reading_at(
    words: list[str], i: int, index: dict[str, str], *, strict: bool, sizes: list[float]
) -> tuple[str, bool] | None:
    """The model a name starting at ``words[i]`` names, as :func:`find_model_reading` reads it."""
    word = words[i]
    family = _family_of(word)
    # a catalog name in one hyphenated word ("Meta-Llama-3.1-70B-Instruct", the Hugging Face id's name before the
    # "Llama-3.1" renaming) starts with its vendor, not its family: it was no model at all
    if family is None and "/" not in word and not ("-" in word and len(word) >= 8):
        return None
    for n in range(4, 0, -1):  # the words as written: "Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B"
        key = loader.normalize_name("-".join(words[i : i + n]))
        cut = i + n < len(words) and _VARIANT.match(words[i + n])  # "mistral" of "mistral small" is no Mistral-7B
        if key in index and _fits_stated_size(index[key], sizes) and not cut:
            return index[key], True
    if family is None:
        return None
    flat = word.lower().replace("-", "")
    exact = flat.startswith(family)
    rest = flat[len(family) :] if exact else flat[len(re.match(r"[a-z]*", flat)[0]) :]  # type: ignore[index]
    span = [rest] if rest else []
    for follower in words[i + 1 : i + 5]:
        if not _VERSION.match(follower):
            break
        span.append(follower)
    if not exact and strict and not span:
        return None
    for n in range(len(span), -1, -1):
        key = loader.normalize_name("-".join([family, *span[:n]]))
        if key in index and _fits_stated_size(index[key], sizes):
            return index[key], exact and n == len(span)
        if n == len(span) and span and span[-1].isalpha():  # "mistral small": the newest Mistral Small (asked back),
            named = sorted({model for name, model in index.items() if name.startswith(key)  # not Mistral-7B exact
                            and _fits_stated_size(model, sizes)}, reverse=True)  # fmt: skip
            if named:
                return named[0], False
    for size in sizes:  # "qwen 2.5 coder 32b": the family's version at the stated size
        key = loader.normalize_name("-".join([family, *span, f"{size:g}b"]))
        if key in index and _fits_stated_size(index[key], sizes):
            return index[key], False
    if sizes:  # "mistral small 24b": the family's models of that size, the newest name first (asked back); a model
        # whose whole size it is before one whose active parameters it is ("qwen 32b" was Qwen3-Coder-480B-A35B)
        sized = sorted({model for name, model in index.items() if name.startswith(family)
                        and _fits_stated_size(model, sizes)}, reverse=True)  # fmt: skip
        sized.sort(key=lambda model: (not _whole_size(model, sizes), _distance(model, sizes)))
        if sized:
            return sized[0], False
    key = loader.normalize_name("-".join([family, *span]))
    for close in difflib.get_close_matches(key, list(index), n=5, cutoff=0.75):
        if _fits_stated_size(index[close], sizes):
            return index[close], False
    return None


def _closest(index: dict[str, str], text: str, n: int, cutoff: float) -> list[str]:
    """Catalog ids whose names are closest to ``text``, best first, without repeats."""
    ids: list[str] = []
    for key in difflib.get_close_matches(loader.normalize_name(text), list(index), n=n * 3, cutoff=cutoff):
        if index[key] not in ids:
            ids.append(index[key])
    return ids[:n]


def closest_models(text: str, n: int = 3) -> list[str]:
    """Display names of the catalog models closest to ``text`` (for "did you mean")."""
    return [model_name(key) for key in _closest(_model_index(), text, n, 0.5)]


def find_gpus(text: str) -> list[str]:
    """Catalog ids of every GPU named in ``text`` ("A100s on GCP" -> ["a100-40gb"]), in order."""
    words = _TOKEN.findall(text)
    index = _gpu_index()
    found: list[str] = []
    i = 0
    while i < len(words):
        match = _gpu_at(words, i, index)
        if match is None:
            i += 1
            continue
        key, used = match
        if key not in found:
            found.append(key)
        i += used
    return found


# words before a bare GPU number that make it a GPU ("my 4090", "on a 3090", "2x 3090s"): alone, "4090" may be a count;
# so does a small count before it ("we have one 4090" is "1 4090" once number words are digits: no GPU was read)
_GPU_NUMBER_LEAD = frozenset(("rtx", "geforce", "my", "our", "a", "an", "one", "single", "two", "dual", "on", "x",
                              "couple", "pair", "of"))  # fmt: skip
_COUNT_LEAD = re.compile(r"\d{1,3}x?")  # "1 4090", "8 4090s", "4x 3090" (a GPU count, not "2000 4090")


def _gpu_at(words: list[str], i: int, index: dict[str, str]) -> tuple[str, int] | None:
    memory = _memory_first(words, i, index)
    if memory is not None:
        return memory
    first = re.sub(r"^\d+\s*x", "", words[i], flags=re.IGNORECASE)  # "8xH100"
    if not first:
        return None
    if re.fullmatch(r"\d+s?", first, re.IGNORECASE):  # "4090", "3090s": a GPU only after a word that makes it one
        lead = words[i - 1].lower() if i else ""
        if not (lead in _GPU_NUMBER_LEAD or _COUNT_LEAD.fullmatch(lead) or first != words[i]):
            return None
        key = loader.normalize_name(first.rstrip("sS"))
        return (index[key], 1) if key in index and (lead in ("rtx", "geforce") or _desk_gpu(index[key])) else None
    for n in (3, 2, 1):
        span = [first, *words[i + 1 : i + n]]
        if len(span) < n:
            continue
        for variant in (span, [*span[:-1], re.sub(r"s$", "", span[-1], flags=re.IGNORECASE)]):
            key = loader.normalize_name(" ".join(variant))
            if key and key in index and not (n == 1 and key.isdigit()):
                return index[key], n
    if first.lower() in ("rtx", "geforce", "nvidia", "amd", "instinct") and i + 1 < len(words):
        inner = _gpu_at(words, i + 1, index)
        return (inner[0], inner[1] + 1) if inner else None
    return None


def _memory_first(words: list[str], i: int, index: dict[str, str]) -> tuple[str, int] | None:
    """ "80GB A100s", "80 GB H100": the memory said before the GPU, as the catalog names it after ("A100 80GB"); the
    memory was skipped and "2 80gb a100s" read as the 40 GB A100."""
    size = re.fullmatch(r"(\d+)gb", words[i], re.IGNORECASE)
    used = 1
    if size is None and i + 1 < len(words) and words[i].isdigit() and words[i + 1].lower() == "gb":
        size, used = re.fullmatch(r"(\d+)", words[i]), 2
    if size is None or i + used >= len(words):
        return None
    name = words[i + used]
    for variant in (name, re.sub(r"s$", "", name, flags=re.IGNORECASE)):
        key = loader.normalize_name(f"{variant} {size[1]}gb")
        if key in index:
            return index[key], used + 1
    return None


def _desk_gpu(gpu_id: str) -> bool:
    """Whether a GPU is a GeForce card, named by its bare number ("4090"); "100" or "40" is never an A100 or L40."""
    return "rtx" in gpu_id or "geforce" in loader.load_gpus()[gpu_id].name.lower()


def closest_gpus(text: str, n: int = 3) -> list[str]:
    """Catalog ids of the GPUs closest to ``text`` (a typo such as "H10O" or "a10O")."""
    return _closest(_gpu_index(), text, n, 0.6)


def find_clouds(text: str) -> list[str]:
    """Clouds named in ``text`` ("A100s on GCP" -> ["gcp"]), in order, restricted to the price catalog."""
    known = loader.clouds()
    found: list[str] = []
    low = re.sub(r"\bvast(?:\.|\s+)ai\b", "vastai", text.lower())  # "vast" alone is an English word
    low = re.sub(r"\baws\s+lambda\b", "aws", low)  # AWS Lambda is not Lambda's cloud
    for word in re.findall(r"[a-z0-9]+", low):
        cloud = CLOUD_WORDS.get(word)
        if cloud and cloud in known and cloud not in found:
            found.append(cloud)
    return found


def gpu_name(gpu_id: str) -> str:
    return loader.load_gpus()[gpu_id].name


def model_name(model_id: str) -> str:
    return loader.load_models()[model_id].name
