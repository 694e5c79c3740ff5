"""The serving options of issue 11 in a launch command: prefix caching for agent plans, speculative decoding, MoE
expert / attention data parallelism, and the role of one pool of a disaggregated prefill/decode plan.

* Prefix caching: an agent plan's hit rate assumes the engine reuses cached prefixes (or, with ``prefix_caching``
  off, that it does not), so the switch is stated explicitly even where it is the engine's default.
* Speculative decoding: the plan's k draft tokens and proposer. The planner's ``mtp`` proposer is one extra layer
  of the target's width: the model's own MTP layers where its checkpoint has them (``mtp_models``), otherwise an
  EAGLE-3 head, a separate small checkpoint gpucast cannot name: with ``--speculative-model HF_ID`` it is used,
  without it speculative decoding stays off and a note says what to pass (a runnable command never carries a
  placeholder). A catalog draft model is loaded by its Hugging Face id. Drafting is a chain (one candidate per
  step, k steps, k + 1 tokens verified), which is what the planner's acceptance model describes.
* MoE: a plan's ``expert_parallel`` (EP size of the MoE layers) and ``attention_data_parallel`` (DP attention
  degree) > 1 become the engine's own options ([moe] in engine_flags.toml).
* Disaggregation: a launch command for one pool (``role`` prefill / decode) carries the engine's KV-transfer
  settings; without a role the command is one unified replica and a note names the pools
  (``gpucast export k8s`` writes them as separate deployments).

Every flag and option name comes from ``catalog/engine_flags.toml``.
"""

from __future__ import annotations

import json
from typing import Any

from ..catalog import loader
from ..errors import CatalogError, InputError
from .plan_file import EngineFlags, mtp_models


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


def _proposer(plan: dict[str, Any], head: str | None) -> tuple[str, str | None]:
    """("mtp" | "eagle" | "draft", the draft checkpoint or None) for the plan's speculative proposer."""
    draft = str(plan["inputs"].get("draft_model") or "mtp")
    if draft.strip().lower() == "mtp":
        model_id = str(plan["model"].get("id") or "")
        return ("mtp", None) if model_id in mtp_models() else ("eagle", head)
    try:
        return "draft", loader.resolve_model(draft).hf_id or draft
    except (CatalogError, InputError):
        return "draft", draft


def speculative(plan: dict[str, Any], flags: EngineFlags, args: list[str], config: dict[str, Any], notes: list[str],
                head: str | None = None) -> None:  # fmt: skip
    """The plan's speculative decoding (k tokens, proposer) in the engine's own terms."""
    spec, names = plan.get("speculative"), flags.speculative
    if not spec or not names:
        return
    k = int(spec["draft_tokens"])
    kind, checkpoint = _proposer(plan, head)
    method = names.get(kind, "")
    if not method:
        notes.append(f"speculative decoding with a draft model is not available in {flags.name} {flags.version} "
                     f"({names.get('source', flags.source)}); no speculative flag emitted: serve with another engine "
                     "or an EAGLE head, or re-plan without --speculative-tokens")  # fmt: skip
        return
    if kind == "eagle" and checkpoint is None:
        notes.append(f"speculative decoding is OFF in this command: {plan['model'].get('name')} has no MTP layers, so "
                     f"the plan's one-layer proposer is an EAGLE-3 head, a separate checkpoint; export again with "
                     f"--speculative-model HF_ID (an EAGLE-3 head trained for this model) to turn on the plan's k={k}")  # fmt: skip
        return
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
    """The pools a disaggregated plan sized, for the operator of a unified launch command."""
    d = plan.get("disaggregation")
    if not d:
        return None
    pools = (f"{d['prefill_instances']} prefill + {d['decode_instances']} decode instances of "
             f"{d['gpus_per_instance']} GPUs = {d['total_gpus']} GPUs")  # fmt: skip
    return (
        f"disaggregated prefill/decode ({pools}; the plan's verdict: {d['winner']}, {d['unified_total_gpus']} GPUs "
        "unified): this command is one unified replica; `gpucast export k8s` writes the two pools, or add "
        "--role prefill|decode for a pool's command"
    )


def moe(plan: dict[str, Any], flags: EngineFlags, args: list[str], config: dict[str, Any], notes: list[str]) -> None:
    """Expert parallelism and attention data parallelism of a MoE plan (nothing when both are 1)."""
    res, names = plan["gpu_resources"], flags.moe
    ep = int(res.get("expert_parallel", 1) or 1)
    dp = int(res.get("attention_data_parallel", 1) or 1)
    tp = int(res["tensor_parallel"])
    if ep <= 1 and dp <= 1:
        return
    if not names:
        notes.append(f"{flags.name} {flags.version}: no expert-parallel / DP-attention options in gpucast's table; "
                     f"the plan's EP={ep}, attention DP={dp} are not applied")  # fmt: skip
        return
    if ep > 1:
        if names.get("ep_flag"):
            args += [names["ep_flag"], str(ep)]
        elif names.get("ep_switch"):
            args.append(names["ep_switch"])
            if ep != tp:
                notes.append(f"{flags.name} sizes expert parallelism as TP x DP = {tp} GPUs; the plan assumed EP={ep}")
        elif names.get("ep_config_key"):
            _set(config, names["ep_config_key"], ep)
    if dp > 1:
        if names.get("dp_attention_switch"):
            args.append(names["dp_attention_switch"])
        if names.get("dp_attention_flag"):
            args += [names["dp_attention_flag"], str(dp)]
        elif names.get("dp_attention_config_key"):
            _set(config, names["dp_attention_config_key"], True)
            if dp != tp:
                notes.append(f"{flags.name}'s attention DP spans all {tp} TP ranks; the plan assumed degree {dp}")
    notes.append(f"MoE layout: expert parallel {ep}, attention data parallel {dp} over {tp} GPUs "
                 f"({names.get('source', flags.source)})")  # fmt: skip


def disaggregation(flags: EngineFlags, role: str, args: list[str], config: dict[str, Any], notes: list[str]) -> None:
    """The settings one pool of a disaggregated deployment needs: its role and how the KV cache moves."""
    names = flags.disaggregation
    if role not in ("prefill", "decode"):
        from ..errors import InputError

        raise InputError(f"--role {role!r} is not one of prefill, decode")
    if names.get("role_flag"):
        args += [names["role_flag"], role]
    if names.get("transfer_backend_flag"):
        args += [names["transfer_backend_flag"], names["transfer_backend"]]
    if names.get("kv_transfer_flag"):
        args += [names["kv_transfer_flag"], names["kv_transfer_value"]]
    if names.get("config_key"):
        _set(config, names["config_key"], names["config_value"])
    notes.append(f"{role} pool of a disaggregated deployment; KV transfer: {names.get('source', flags.source)}")
