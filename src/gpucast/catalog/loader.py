"""Load the TOML catalogs (GPUs, models, prices, efficiencies) into frozen core objects.

Validation happens here, once, at the boundary: the core never sees a dict. Names are
resolved case-insensitively through ids, display names, aliases and Hugging Face ids,
ignoring punctuation and suffixes such as "-Instruct", with a "did you mean" on a miss.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import tomllib
from dataclasses import fields
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.cost import PRICING_MODELS, InstancePrice, cheapest_fleet
from ..core.engine_era import engine_era, parse_engine_version
from ..core.engine_releases import MIB, sglang_chunked_prefill_size
from ..core.perf import Efficiency, EngineFactors

if TYPE_CHECKING:
    from ..core.training import TrainingEfficiency
from ..core.specs import PRECISION_NAMES, EngineSpec, GPUSpec, LargeGPUDefault, ModelSpec
from ..errors import CatalogError, ConfigError, InputError, UnknownGPUError, UnknownModelError
from .price_rows import merge, price_rows

_SUFFIXES = re.compile(r"(-instruct|-chat|-hf|-it|-base)+$")


def normalize_name(name: str) -> str:
    """Canonical lookup key: lower case, no org prefix, no chat suffix, letters and digits only."""
    key = name.strip().lower().split("/")[-1]
    key = _SUFFIXES.sub("", key)
    return re.sub(r"[^a-z0-9]", "", key)


@cache
def _read(filename: str) -> dict[str, Any]:
    text = resources.files("gpucast.catalog").joinpath(filename).read_text(encoding="utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"catalog {filename} is not valid TOML: {error}") from error


def _build(cls: type, key: str, entry: dict[str, Any], filename: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise CatalogError(f"{filename} entry {key!r} has unknown field(s) {', '.join(unknown)}")
    for required in ("source", "as_of"):
        if required in known and not entry.get(required):
            raise CatalogError(f"{filename} entry {key!r} lacks {required!r}")
    values = dict(entry)
    for name in ("aliases", "vendors"):
        if name in values:
            values[name] = tuple(values[name])
    if isinstance(values.get("large_gpu"), dict):  # engines.toml [engines.<id>.large_gpu]
        rule = dict(values["large_gpu"])
        rule.pop("source", None)
        values["large_gpu"] = LargeGPUDefault(**{**rule, "excluded": tuple(rule.get("excluded", ()))})
    if isinstance(values.get("runtime_overhead_by_vendor"), dict):  # engines.toml: { nvidia = 1.0, amd = 2.8 }
        values["runtime_overhead_by_vendor"] = tuple(sorted(values["runtime_overhead_by_vendor"].items()))
    try:
        return cls(id=key, **values)
    except TypeError as error:
        raise CatalogError(f"{filename} entry {key!r}: {error}") from error


@cache
def load_gpus() -> dict[str, GPUSpec]:
    """All GPUs by id."""
    table = _read("gpus.toml").get("gpus", {})
    return {key: _build(GPUSpec, key, entry, "gpus.toml") for key, entry in table.items()}


@cache
def load_models() -> dict[str, ModelSpec]:
    """All models by id."""
    table = _read("models.toml").get("models", {})
    models = {key: _build(ModelSpec, key, entry, "models.toml") for key, entry in table.items()}
    for key, spec in models.items():
        if spec.checkpoint_precision and spec.checkpoint_precision not in PRECISION_NAMES:
            raise CatalogError(
                f"models.toml entry {key!r}: checkpoint_precision {spec.checkpoint_precision!r} is not one of "
                f"{', '.join(PRECISION_NAMES)}"
            )
    return models


@cache
def load_engines() -> dict[str, EngineSpec]:
    """Serving engines by id."""
    table = _read("engines.toml").get("engines", {})
    return {key: _build(EngineSpec, key, entry, "engines.toml") for key, entry in table.items()}


def resolve_engine(name: str) -> EngineSpec:
    """The engine for ``vllm``, ``sglang``, ``trtllm`` (or an alias, or a CSV label such as
    "TensorRT-LLM 0.17 (trtllm-bench)", matched by its first word)."""
    engines = load_engines()
    if not isinstance(name, str):  # a Python caller's None or number: AttributeError ('int' has no 'strip') before
        raise InputError(f"--engine {name!r} is not one of {', '.join(engines)}")
    wanted = normalize_name(name)
    for key, spec in engines.items():
        names = [normalize_name(n) for n in (key, spec.name, *spec.aliases)]
        if wanted in names or any(n and wanted.startswith(n) for n in names):
            return spec
    raise InputError(f"--engine {name!r} is not one of {', '.join(engines)}")


@cache
def packaged_prices() -> tuple[InstancePrice, ...]:
    """The prices shipped with gpucast (``prices.toml``)."""
    return tuple(price_rows(_read("prices.toml").get("instances", []), "prices.toml", load_gpus()))


@cache
def local_prices() -> tuple[InstancePrice, ...]:
    """The local override file's prices (``gpucast prices update``), () when there is none."""
    from .price_overrides import override_path, read_override

    path = override_path()
    return tuple(price_rows(read_override(path).get("instances", []), str(path), load_gpus()))


@cache
def load_prices() -> tuple[InstancePrice, ...]:
    """Every priced instance type of every cloud: the packaged catalog with the local override merged over it."""
    return merge(packaged_prices(), local_prices())


def reload_prices() -> None:
    """Forget the cached prices (after ``prices update`` wrote the override file, or a test changed its path)."""
    for cached in (packaged_prices, local_prices, load_prices, catalog_versions, _offers):
        cached.cache_clear()


@cache
def catalog_versions() -> dict[str, str]:
    """A short content hash of each catalog file, recorded in every plan (and of the local price file, if any)."""
    import hashlib

    from .price_overrides import override_path

    result = {}
    for filename in ("gpus.toml", "models.toml", "prices.toml", "engines.toml", "calibration.toml"):
        text = resources.files("gpucast.catalog").joinpath(filename).read_bytes()
        result[filename.removesuffix(".toml") + "_catalog"] = hashlib.sha256(text).hexdigest()[:12]
    if local_prices():
        result["local_prices"] = hashlib.sha256(override_path().read_bytes()).hexdigest()[:12]
    return result


def clouds() -> tuple[str, ...]:
    return tuple(sorted({p.cloud for p in load_prices()}))


def regions(cloud: str | None = None) -> tuple[str, ...]:
    """Every region with a price (on ``cloud`` when given)."""
    return tuple(sorted({p.region for p in load_prices() if cloud is None or p.cloud == cloud}))


def check_region(region: str, flag: str = "--region", see: str = "see `gpucast prices list`") -> None:
    """InputError unless some price is in ``region`` (named as ``flag``, with the closest regions that have one and
    where to look them up): the planner, `gpucast prices list` and GET /api/v1/prices refuse an unknown region
    alike, instead of answering with no offer."""
    known = regions()
    if region not in known:
        # "US-EAST-1" matched nothing close (difflib compares case): the same name in another case comes first
        folded = {name.lower(): name for name in known}
        same = [name for name in known if name.lower() == region.lower()]
        close = [folded[n] for n in difflib.get_close_matches(region.lower(), list(folded), n=3)]
        hint = list(dict.fromkeys([*same, *close]))[:3]
        extra = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise InputError(f"{flag} {region!r} has no prices in the catalog{extra} ({see})")


def prices_for(cloud: str, gpu_id: str, region: str | None = None) -> list[InstancePrice]:
    return [p for p in load_prices() if p.cloud == cloud and p.gpu_id == gpu_id and region in (None, p.region)]


def pricing_hint(
    pricing: str,
    clouds_: tuple[str, ...],
    gpu_id: str,
    region: str | None = None,
    *,
    gpus_per_replica: int = 1,
    replicas: int = 1,
    tp: int = 1,
) -> str:
    """What to add to "no <pricing> price ... cost omitted": the pricing models under which the clouds do sell a fleet
    of this shape ("vast sells it at marketplace pricing: add --pricing marketplace"), or why none can host it (a TP
    group wider than every instance the clouds sell the GPU in), or "" when the GPU is not sold there at all."""
    offers = offers_for(clouds_, gpu_id, region)
    if not offers:
        return ""
    shape = {"gpus_per_replica": gpus_per_replica, "replicas": replicas, "tp": tp}
    sold = [model for model in PRICING_MODELS if model != pricing and cheapest_fleet(offers, pricing=model, **shape)]
    if sold:
        return f" ({', '.join(clouds_)} sells it at {' or '.join(sold)} pricing: add --pricing {sold[0]})"
    if not any(offer.hosts_tp_group(tp) for offer in offers):
        widest = max(offer.gpus for offer in offers)
        return (f" ({', '.join(clouds_)} sells it in instances of at most {widest} GPU(s), and a TP={tp} group does "
                "not span instances that small: pin --tp to fit one instance, or choose another GPU)")  # fmt: skip
    return ""


def offers_for(clouds_: tuple[str, ...], gpu_id: str, region: str | None = None) -> list[InstancePrice]:
    """Every price row of the GPU on any of ``clouds_`` (in ``region`` when given)."""
    return list(_offers(tuple(clouds_), gpu_id, region))


@lru_cache(maxsize=4096)  # a plan page asks for each GPU's offers on each cloud several times; reset with the prices
def _offers(clouds_: tuple[str, ...], gpu_id: str, region: str | None) -> tuple[InstancePrice, ...]:
    return tuple(p for p in load_prices() if p.cloud in clouds_ and p.gpu_id == gpu_id and region in (None, p.region))


def priced_gpus(cloud: str | tuple[str, ...], region: str | None = None) -> tuple[GPUSpec, ...]:
    """The catalog's GPUs that ``cloud`` (or any of several clouds) has a price for, in catalog order: what a
    planner searches unpinned."""
    wanted = (cloud,) if isinstance(cloud, str) else cloud
    priced = {p.gpu_id for p in load_prices() if p.cloud in wanted and region in (None, p.region)}
    return tuple(g for key, g in load_gpus().items() if key in priced)


def interruptible_allowed(tier: str) -> bool:
    """Whether a service of criticality ``tier`` may run on spot or marketplace capacity (criticality.toml)."""
    tiers = _read("criticality.toml")
    if tier not in tiers:
        raise InputError(f"--criticality {tier!r} is not one of {', '.join(tiers)}")
    return bool(tiers[tier].get("interruptible_capacity", False))


@cache
def load_efficiencies() -> dict[str, Efficiency]:
    """Fitted efficiency factors per GPU family (``calibration.toml``, written by scripts/calibrate.py)."""
    data = _read("calibration.toml")
    base = data.get("defaults", {})
    result = {"default": Efficiency(**base)}
    for family, values in data.get("families", {}).items():
        result[family] = Efficiency(**{**base, **values})
    return result


def training_efficiency_for(gpu: GPUSpec) -> TrainingEfficiency:
    """Fitted training efficiencies for a GPU family (``training_calibration.toml``, written by
    scripts/calibrate_training.py); the dataclass defaults where the file has none."""
    from ..core.training import efficiency_from_table

    try:
        table = _read("training_calibration.toml")
    except FileNotFoundError:
        table = {}
    return dataclasses.replace(efficiency_from_table(table, gpu.family), nf4_dequant_bytes=nf4_dequant_bytes())


@cache
def nf4_dequant_bytes() -> float:
    """QLoRA's effective HBM bytes per NF4 weight per dequantization (``qlora_dequant.toml``, written by
    scripts/fit_qlora_dequant.py from published QLoRA-vs-LoRA step times; how it enters: core.training)."""
    return float(_read("qlora_dequant.toml")["nf4_dequant"]["bytes_per_weight"])


@cache
def load_engine_factors() -> dict[str, EngineFactors]:
    """Fitted engine factors (``[engines.<id>]`` of ``calibration.toml``); engines without a table get none."""
    engines = load_engines()
    result = {}
    for key, values in _read("calibration.toml").get("engines", {}).items():
        if key not in engines:
            raise CatalogError(f"calibration.toml [engines.{key}] names an engine not in engines.toml")
        unknown = sorted(set(values) - {f.name for f in fields(EngineFactors)})
        if unknown:
            raise CatalogError(f"calibration.toml [engines.{key}] has unknown field(s) {', '.join(unknown)}")
        result[key] = EngineFactors(**values)
    return result


@cache
def load_era_factors() -> dict[str, EngineFactors]:
    """Fitted kernel-generation factors (``[eras.<name>]`` of ``calibration.toml``, core.engine_era.EARLY_MLA_MOE)."""
    result = {}
    for key, values in _read("calibration.toml").get("eras", {}).items():
        unknown = sorted(set(values) - {f.name for f in fields(EngineFactors)})
        if unknown:
            raise CatalogError(f"calibration.toml [eras.{key}] has unknown field(s) {', '.join(unknown)}")
        result[key] = EngineFactors(**values)
    return result


def era_for(engine: str, model: ModelSpec | None, engine_version: str | None) -> str:
    """The kernel generation ``engine`` at ``engine_version`` runs ``model`` on ("" = the calibrated current one)."""
    if model is None or not isinstance(engine_version, str) or not engine_version:
        return ""
    spec = resolve_engine(engine)
    return engine_era(model.is_mla and model.is_moe, engine_version, spec.mla_moe_kernels_since)


def efficiency_for(
    gpu: GPUSpec, engine: str = "vllm", *, model: ModelSpec | None = None, engine_version: str | None = None
) -> Efficiency:
    """The GPU family's fitted efficiencies with the engine's factors applied (none: unchanged), and, where the
    ``engine_version`` predates the engine's current kernels for ``model`` (``era_for``), the era's factors.

    Memoized, as the tables it reads are: a plan page asks for it once per GPU and cloud, and one object per answer
    keeps its hash, computed once, for the replica configurations that hold it."""
    return _efficiency_for(gpu, engine, model, engine_version)


def large_gpu_rule(engine: EngineSpec, engine_version: str | None) -> LargeGPUDefault | None:
    """The engine's large-GPU default limit for the release asked (None: the plain default applies on every GPU,
    because the engine has none or ``engine_version`` predates it), without its top tier where the release predates
    that (vLLM before 0.28: no 16384-token budget on 160 GiB GPUs). A label stating no version is the current
    release, but one that states a year before the top tier's first release ("vLLM (ROCm 6.2 build; version not
    stated; Aug 2024)") ran without it: reading a 2024 start-up log with a 2026 default refitted vLLM's AMD overhead
    from 2.8 to 1.9 GiB."""
    rule = engine.large_gpu
    if rule is None or engine_version is None:
        return rule
    asked = parse_engine_version(engine_version)
    if asked is None:  # the current release, unless the label dates its build before the top tier
        year = _STATED_YEAR.search(engine_version)
        if year and rule.top_since_date and int(year.group(1)) < int(rule.top_since_date[:4]):
            return dataclasses.replace(rule, top_max_batched_tokens=None)
        return rule
    if rule.since and (since := parse_engine_version(rule.since)) is not None and asked < since:
        return None
    top_since = parse_engine_version(rule.top_since) if rule.top_since else None
    if top_since is not None and asked < top_since:
        return dataclasses.replace(rule, top_max_batched_tokens=None)
    return rule


_STATED_YEAR = re.compile(r"\b(20\d\d)\b")  # a year an engine label dates its build by ("Aug 2024")


def default_max_num_seqs(engine: EngineSpec, engine_version: str | None, gpu: GPUSpec) -> int:
    """The engine's default sequence limit per scheduler on ``gpu`` at ``engine_version`` (vLLM 0.9+: 1024 on GPUs of
    70 GiB or more but A100s, else 256): what a plan, a validation row or an old plan file's note take as the default."""
    rule = large_gpu_rule(engine, engine_version)
    return rule.limit_on(gpu, engine.max_num_seqs) if rule is not None else engine.max_num_seqs


def default_max_batched_tokens(engine: EngineSpec, engine_version: str | None, gpu: GPUSpec) -> int:
    """The engine's default per-step token budget on ``gpu`` at ``engine_version`` (vLLM 0.9+: 8192 on GPUs of 70 GiB
    or more but A100s, else 2048; 0.28+: 16384 on GPUs of 160 GiB or more; SGLang: ``chunked_prefill_size`` by
    release and GPU memory): what a plan steps prefills by (``core.engine_releases.replica_memory``) and its export
    passes."""
    if engine.step_budget_rule:  # SGLang: its chunked_prefill_size by release and GPU memory
        release = parse_engine_version(engine_version) if engine_version else None
        return sglang_chunked_prefill_size(gpu.cuda_memory_bytes / MIB, release)
    rule = large_gpu_rule(engine, engine_version)
    return rule.budget_on(gpu, engine.max_batched_tokens) if rule is not None else engine.max_batched_tokens


def _flags_entry(engine_id: str) -> dict[str, Any]:
    """The engine's table in engine_flags.toml (its current release's launch interface; {} for engines without)."""
    entry: dict[str, Any] = _read("engine_flags.toml").get("engines", {}).get(engine_id, {})
    return entry


def sequences_capped_per_dp_rank(engine_id: str) -> bool:
    """Whether the engine's max-sequences limit caps each attention-DP rank (its own scheduler: vLLM's engine core
    per DP rank, TensorRT-LLM's executor per rank) rather than the replica (SGLang divides its own by the DP size):
    engine_flags.toml's ``[moe] seqs_per_attention_dp_rank``, which the exports divide the plan's concurrency by."""
    moe = _flags_entry(engine_id).get("moe", {})
    return str(moe.get("seqs_per_attention_dp_rank", "")).lower() == "true"


def engine_release_note(engine: str, engine_version: str | None) -> str | None:
    """What a plan says where ``--engine-version`` names a release gpucast cannot tell from its current one, which
    it then plans as (``None`` otherwise): one newer than the newest release the catalog knows (the current stable
    release in engine_flags.toml, whose flag names were checked: "99.0" was planned as the current release without
    a word), or any release of an engine whose releases gpucast does not tell apart (LMDeploy, NIM)."""
    parsed = parse_engine_version(engine_version)
    if parsed is None:
        return None
    spec = resolve_engine(engine)
    newest = _flags_entry(spec.id).get("version")
    if newest is None:
        return (
            f"--engine-version {engine_version}: gpucast models no differences between {spec.name} releases; "
            f"planned as {spec.name} {spec.version}"
        )
    if parsed > (parse_engine_version(newest) or parsed):
        return (
            f"--engine-version {engine_version} is newer than the {spec.name} releases gpucast knows (up to "
            f"{newest}): planned as the current release"
        )
    return None


@lru_cache(maxsize=4096)  # bounded: the engine and its version are the request's words
def _efficiency_for(gpu: GPUSpec, engine: str, model: ModelSpec | None, engine_version: str | None) -> Efficiency:
    table = load_efficiencies()
    eff = table.get(gpu.family, table["default"])
    engine_id = resolve_engine(engine).id
    factors = load_engine_factors().get(engine_id)
    if factors is not None and factors != EngineFactors():
        eff = dataclasses.replace(factors.apply(eff), source=f"{eff.source}; {engine_id} engine factors")
    era = era_for(engine_id, model, engine_version)
    era_factors = load_era_factors().get(era) if era else None
    if era_factors is not None:
        eff = dataclasses.replace(era_factors.apply(eff), source=f"{eff.source}; {era} factors ({engine_version})")
    return eff


@cache
def _index(kind: str) -> dict[str, str]:
    entries: dict[str, Any] = load_gpus() if kind == "gpu" else load_models()
    index: dict[str, str] = {}
    for key, spec in entries.items():
        names = [key, spec.name, *spec.aliases]
        if kind == "model" and spec.hf_id:
            names.append(spec.hf_id)
        for name in names:
            index.setdefault(normalize_name(name), key)
    return index


def _resolve(kind: str, name: str, flag: str | None = None) -> str:
    error = UnknownGPUError if kind == "gpu" else UnknownModelError
    flag = flag or ("--gpu-type" if kind == "gpu" else "--model")
    if not isinstance(name, str):  # a Python caller's None, number or list: AttributeError ('int' has no 'strip')
        raise error(f"{flag} {name!r} must be a {kind} name (see `gpucast {kind}s` for the list)")
    index = _index(kind)
    key = normalize_name(name)
    if key in index:
        return index[key]
    # the device name nvidia-smi / amd-smi print ("NVIDIA H100 80GB HBM3", "AMD Instinct MI300X"): the vendor's word
    # before a catalog name (only some aliases carried it: "NVIDIA L4" was read, "NVIDIA H100 80GB HBM3" was not)
    vendor = re.match(r"(nvidia|amd)(?=.)", key) if kind == "gpu" else None
    if vendor and key[vendor.end() :] in index:
        return index[key[vendor.end() :]]
    entries = load_gpus() if kind == "gpu" else load_models()
    # every name an entry answers to (id, name, aliases: `gpucast gpus` lists ids such as v100-32gb), said by its name
    prefixed = sorted((k for k in index if key and k.startswith(key)), key=len)  # "v100" -> v100-32gb first
    close = prefixed + difflib.get_close_matches(key, sorted(index), n=12, cutoff=0.6)
    names = list(dict.fromkeys(entries[index[c]].name for c in close))[:3]
    hint = f"; did you mean {', '.join(names)}?" if names else ""
    raise error(f"{flag} {name!r} is not in the catalog{hint} (see `gpucast {kind}s` for the list)")


def resolve_gpu(name: str) -> GPUSpec:
    """The catalog GPU for a name or alias (``H100``, ``H100-80GB``, ``A100-SXM4-80GB``)."""
    return load_gpus()[_resolve("gpu", name)]


def resolve_model(name: str, flag: str = "--model") -> ModelSpec:
    """The catalog model for a name, alias or Hugging Face id (``flag``: the option an unknown name is blamed on);
    a name that is an FP8 checkpoint of a 16-bit release selects that checkpoint (:func:`_named_checkpoint`)."""
    return _named_checkpoint(load_models()[_resolve("model", name, flag)], name)


# "-FP8" in a repository name: Qwen/Qwen3-235B-A22B-FP8, meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8 and
# zai-org/GLM-4.5-FP8 are the FP8 checkpoints of BF16 releases (their config.json quantization_config is fp8)
_FP8_NAME = re.compile(r"(?<![a-z0-9])fp8(?![a-z0-9])")


def _named_checkpoint(spec: ModelSpec, name: str) -> ModelSpec:
    """``spec`` as the checkpoint ``name`` names: an alias that is the release's FP8 checkpoint (the catalog lists
    them with the 16-bit release, whose architecture they share) makes FP8 the precision a plan without
    --precision uses, as a release published in FP8 (DeepSeek-R1) does; planning Qwen/Qwen3-235B-A22B-FP8 at
    16 bits sized twice the weight memory of the checkpoint asked for."""
    if spec.checkpoint_precision or _FP8_NAME.search(name.lower()) is None:
        return spec
    key = normalize_name(name)
    named = next((alias for alias in spec.aliases if "/" in alias and normalize_name(alias) == key), spec.hf_id)
    return dataclasses.replace(spec, checkpoint_precision="FP8", hf_id=named)


def _json_object(path: Path, what: str) -> dict[str, Any]:
    """A file's JSON object, or a one-line ConfigError naming the file (``what`` says which file it is)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))  # -sig: an editor's byte-order mark, as --config reads
    except OSError as error:
        raise ConfigError(f"{what} {str(path)!r} cannot be read: {error.strerror}") from error
    except UnicodeDecodeError as error:  # a binary file (a weights shard, an archive) instead of config.json
        raise ConfigError(
            f"{what} {str(path)!r} is not a text file (byte {error.start} is not UTF-8): give the model's config.json"
        ) from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{what} {str(path)!r} is not valid JSON: {error.msg} at line {error.lineno}") from error
    except ValueError:  # a NUL byte in the path: open() raises ValueError, not OSError (a form's field, a config)
        raise ConfigError(f"{what} {str(path)!r} cannot be read: a path cannot hold a NUL byte") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} {str(path)!r} must hold a JSON object")
    return raw


def _modelopt_quantization(path: Path) -> dict[str, Any] | None:
    """The quantization an NVIDIA ModelOpt checkpoint (nvidia/DeepSeek-V3.1-NVFP4 and the like) states in the
    ``hf_quant_config.json`` beside its config.json, whose own quantization_config it leaves out; None without one."""
    if not path.is_file():
        return None
    scheme = _json_object(path, "--model-config's hf_quant_config.json").get("quantization")
    return {"quant_method": "modelopt", **scheme} if isinstance(scheme, dict) else None


def read_hf_config(path: str | Path) -> ModelSpec:
    """A ``ModelSpec`` from a Hugging Face ``config.json`` on disk (no download)."""
    raw = _json_object(Path(path), "--model-config")
    cfg = raw.get("text_config", raw) if isinstance(raw.get("text_config"), dict) else raw
    if cfg is not raw and "tie_word_embeddings" in raw and "tie_word_embeddings" not in cfg:
        # multimodal wrappers (Mistral3, Llava) may state the text decoder's tying at the top level only
        cfg = {**cfg, "tie_word_embeddings": raw["tie_word_embeddings"]}
    from .hf_config import model_from_hf_config

    quantization = raw.get("quantization_config", cfg.get("quantization_config"))  # top level, also beside text_config
    if quantization is None:
        quantization = _modelopt_quantization(Path(path).with_name("hf_quant_config.json"))
    return model_from_hf_config(
        cfg, name=Path(path).parent.name or Path(path).stem, source=str(path), quantization=quantization
    )


@cache
def run_overhead() -> tuple[float, float]:
    """(start-up hours of a rented GPU instance, the shortest run worth renting one for, in hours), from
    ``run_overhead.toml`` (sourced there)."""
    table = _read("run_overhead.toml")["run_overhead"]
    startup = float(table["startup_hours"])
    return startup, startup / float(table["practical_minimum_startup_share"])
