"""The serving options of issue 11 in a launch command: prefix caching for agent plans, speculative decoding, and
a note for disaggregated prefill/decode.

* Prefix caching: an agent plan's hit rate assumes the engine reuses cached prefixes (or, with ``prefix_caching``
  off, that it does not), so the switch is stated explicitly even where it is the engine's default.
* Speculative decoding: the plan's k draft tokens and proposer. The planner's ``mtp`` proposer is one extra layer
  of the target's width: the model's own MTP layers where its checkpoint has them (``mtp_models``), otherwise an
  EAGLE-3 head, a separate small checkpoint gpucast cannot name (the command carries a placeholder and a note). A
  catalog draft model is loaded by its Hugging Face id. Drafting is a chain (one candidate per step, k steps, k + 1
  tokens verified), which is what the planner's acceptance model describes.
* Disaggregation: one launch command is one unified replica; the plan's pools need separate prefill and decode
  deployments (and a KV-transfer connector), which are not generated — the note names their sizes.

Every flag and option name comes from ``catalog/engine_flags.toml``.
"""

from __future__ import annotations

import json
from typing import Any

from ..catalog import loader
from ..errors import CatalogError, InputError
from .plan_file import EngineFlags, mtp_models

EAGLE_PLACEHOLDER = "<eagle3-draft-model>"


def _set(config: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        config = config.setdefault(key, {})
    config[last] = value


def prefix_caching(plan: dict[str, Any], flags: EngineFlags, args: list[str], config: dict[str, Any]) -> None:
    """State the engine's prefix caching as the agent plan assumed it (nothing for plans without an agent)."""
    agent, spec = plan.get("agent"), flags.prefix_caching
    if not agent or not spec:
        return
    enabled = bool(agent.get("prefix_caching", True))
    if spec.get("config_key"):
        _set(config, spec["config_key"], enabled)
    elif spec.get("on" if enabled else "off"):
        args.append(spec["on" if enabled else "off"])


def _proposer(plan: dict[str, Any]) -> tuple[str, str | None]:
    """("mtp" | "eagle" | "draft", the draft checkpoint or None) for the plan's speculative proposer."""
    draft = str(plan["inputs"].get("draft_model") or "mtp")
    if draft.strip().lower() == "mtp":
        model_id = str(plan["model"].get("id") or "")
        return ("mtp", None) if model_id in mtp_models() else ("eagle", EAGLE_PLACEHOLDER)
    try:
        return "draft", loader.resolve_model(draft).hf_id or draft
    except (CatalogError, InputError):
        return "draft", draft


def speculative(
    plan: dict[str, Any], flags: EngineFlags, args: list[str], config: dict[str, Any], notes: list[str]
) -> None:
    """The plan's speculative decoding (k tokens, proposer) in the engine's own terms."""
    spec, names = plan.get("speculative"), flags.speculative
    if not spec or not names:
        return
    k = int(spec["draft_tokens"])
    kind, checkpoint = _proposer(plan)
    method = names.get(kind, "")
    if not method:
        notes.append(f"speculative decoding with a draft model is not available in {flags.name} {flags.version} "
                     f"({names.get('source', flags.source)}); no speculative flag emitted: serve with another engine "
                     "or an EAGLE head, or re-plan without --speculative-tokens")  # fmt: skip
        return
    if checkpoint == EAGLE_PLACEHOLDER:
        notes.append(f"speculative decoding: {plan['model'].get('name')} has no MTP layers, so the one-layer proposer "
                     f"is an EAGLE-3 head; replace {EAGLE_PLACEHOLDER} with an EAGLE-3 checkpoint trained for it")  # fmt: skip
    notes.append(f"speculative decoding: k={k} draft tokens, acceptance {spec['acceptance_rate']:g} assumed "
                 f"({spec.get('tokens_per_step', 0):g} tokens per step); flags: {names.get('source', flags.source)}")  # fmt: skip
    if names.get("config_key"):
        body: dict[str, Any] = {names["type_key"]: method}
        if kind == "mtp":
            body[names["mtp_tokens_key"]] = k
        else:
            body |= {names["tokens_key"]: k, names["model_key"]: checkpoint}
        config[names["config_key"]] = body
    elif names.get("steps_flag"):  # SGLang: a flag per setting
        args += [names["flag"], method]
        if checkpoint is not None:
            args += [names["model_flag"], checkpoint]
        args += [names["steps_flag"], str(k), names["topk_flag"], "1", names["draft_tokens_flag"], str(k + 1)]
    else:  # vLLM: one JSON value
        value: dict[str, Any] = {"method": method, "num_speculative_tokens": k}
        if checkpoint is not None:
            value["model"] = checkpoint
        args += [names["flag"], json.dumps(value)]


def disaggregation_note(plan: dict[str, Any]) -> str | None:
    """The pools a disaggregated plan sized, for the operator (no deployments are generated for them)."""
    d = plan.get("disaggregation")
    if not d:
        return None
    pools = (f"{d['prefill_instances']} prefill + {d['decode_instances']} decode instances of "
             f"{d['gpus_per_instance']} GPUs = {d['total_gpus']} GPUs")  # fmt: skip
    return (
        f"disaggregated prefill/decode: serving it needs separate prefill and decode deployments ({pools}, KV "
        f"shipped between them; not generated here) -- the plan's verdict: {d['winner']} "
        f"({d['unified_total_gpus']} GPUs unified); this command is one unified replica"
    )
