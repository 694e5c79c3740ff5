"""The conversation's answers in words: the "Got it:" line of each answer (``describe``) and the summary shown
before the plan (``summary_lines``), with the derived values (peak rate, agent load) spelled out, the budget, and the
answers the goal's command cannot use ("Not used:").
"""

from __future__ import annotations

from ..wording import counted, rate
from . import agent, names, token_volume
from .budget import budget_text
from .compute import effective, unused_answers
from .questions import INTENTS
from .serving_terms import percentile_text
from .values import Values


def describe(values: Values, context: Values | None = None) -> str:
    """Values in words, for "Got it:" lines ("model Llama-3-70B, 20 req/s, 2000 in / 500 out tokens"); ``context``
    (all answers) says whether a rate is of agent tasks."""
    parts: list[str] = []
    for key, value in values.items():
        text = _value_text(key, value, {**(context or {}), **values})
        if text:
            parts.append(text)
    return ", ".join(parts)


def _value_text(key: str, value: object, values: Values) -> str | None:
    volumes = {token_key: kind for kind, token_key in token_volume.KEYS.items()}
    if key in volumes and isinstance(value, (int, float)):  # "50M tokens a day (prompts + answers)"
        return token_volume.shown(volumes[key], float(value))
    unit = "agent tasks/s" if agent.is_agent(values) else "requests/s"
    formats = {
        "intent": lambda v: f"goal: {INTENTS.get(str(v), v)}",
        "model": lambda v: f"model {names.model_name(str(v))}",
        "model_size": lambda v: f"a {v:g}B-parameter model",
        "gpu": lambda v: f"GPU {names.gpu_name(str(v))}" if v else "the cheapest GPU",
        "cloud": lambda v: f"cloud {v}",
        "gpus": lambda v: "GPUs " + ", ".join(names.gpu_name(str(gpu)) for gpu in v),
        "clouds": lambda v: "clouds " + (", ".join(v) if v else "all"),
        "rps": lambda v: f"{rate(v)} {unit} on average",
        "peak_rps": lambda v: f"{rate(v)} {unit} at peak",
        "peak_multiplier": lambda v: f"peaks {v:g}x the average",
        "llm_calls": lambda v: f"{v:g} LLM calls per task",
        "shared_prefix_tokens": lambda v: f"a {v:,}-token shared prompt (system prompt + tools)",
        "context_growth_tokens": lambda v: f"+{v:,} tokens per call",
        "think_time_s": lambda v: f"{v:g} s between calls",
        "prefix_caching": lambda v: "prefix caching " + ("on" if v else "off"),
        "task_slo_ms": lambda v: f"each task within {_duration(v)}",
        "input_tokens": lambda v: f"{v:,} tokens in",
        "output_tokens": lambda v: f"{v:,} tokens out",
        "ttft_ms": lambda v: f"first token within {_duration(v)}",
        # at p99 the plan bounds each request's time per output token (MLPerf's TPOT), not every single gap
        "itl_ms": lambda v: f"a new token every {_duration(v)} or faster per request",
        "e2e_ms": lambda v: f"the whole answer within {_duration(v)}",
        "precision": lambda v: f"precision {v}",
        "method": lambda v: f"method {v}",
        "dataset_tokens": lambda v: f"{v:,} tokens of data",
        "epochs": lambda v: counted(int(v), "epoch"),
        "seq_len": lambda v: f"{v:,}-token examples",
        "global_batch": lambda v: f"global batch {v}",
        "num_gpus": lambda v: f"on {counted(int(v), 'GPU')}",
        "owned_gpus": lambda v: (
            f"you have {int(v)} x {names.gpu_name(str(values['owned_gpu']))}"
            if values.get("owned_gpu")
            else f"you have {counted(int(v), 'GPU')}"
        ),
        "users": lambda v: f"{v:,.0f} users",
        "concurrency": lambda v: f"{v:,.0f} requests in flight at once",
        "deadline_hours": lambda v: f"done within {v:g} h",
        "history": lambda v: f"history {v}",
        "horizon": lambda v: f"horizon {v}",
        "agent": lambda v: "an agent app" if v else None,
        "slo_percentile": lambda v: f"targets at {percentile_text(str(v))}",
        "context_window": lambda v: f"context window {v:,} tokens",
        "pricing": lambda v: f"{v} pricing",
        "engine": lambda v: f"engine {v}",
        "growth_rate": lambda v: f"+{v:g}% traffic growth",
        "budget_usd": lambda v: f"a budget of {budget_text(values)}",
        "tp": lambda v: f"tensor parallel {v}",
        "pp": lambda v: f"pipeline parallel {v}",
        "ep": lambda v: f"expert parallel {v}",
        "min_replicas": lambda v: f"at least {v} replicas",
        "safety_margin": lambda v: f"{v * 100:g}% headroom over the peak",
    }
    render = formats.get(key)
    return render(value) if render else None  # type: ignore[no-untyped-call]


def _duration(ms: object) -> str:
    value = float(ms)  # type: ignore[arg-type]
    return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"


def summary_lines(answers: Values) -> list[str]:
    """What will be planned, with derived values (peak rate, agent load) spelled out."""
    v = effective(answers)
    intent = v["intent"]
    model = f"a {answers['model_size']:g}B-parameter model" if "model_size" in answers else names.model_name(v["model"])
    lines = [
        f"Goal:      {INTENTS[intent]}",
        f"Model:     {model}" + (f" at {v['precision']}" if "precision" in v else ""),
    ]
    if intent == "forecast":
        lines.insert(1, f"History:   {v.get('history', '(missing)')}, forecast {v['horizon']} ahead")
    if intent == "compare":
        gpus = ", ".join(names.gpu_name(gpu) for gpu in answers["gpus"]) if answers.get("gpus") else "every GPU"
        lines.append(f"Compare:   {gpus} on " + (", ".join(v["clouds"]) if v.get("clouds") else
                                               "every cloud of the price catalog"))  # fmt: skip
    else:
        gpu = names.gpu_name(v["gpu"]) if v.get("gpu") else "the cheapest GPU that meets the targets"
        shown = {"pricing": "{} pricing", "engine": "engine {}", "tp": "TP={}", "pp": "PP={}", "ep": "EP={}",
                 "min_replicas": "at least {} replicas", "safety_margin": "headroom {:.0%}"}  # fmt: skip
        unused = unused_answers(answers)  # on the "Not used" line instead
        stated = [form.format(v[key]) for key, form in shown.items() if key in v and key not in unused]
        lines.append(f"GPU:       {gpu} on {v['cloud']}" + "".join(f", {part}" for part in stated))
    if intent == "training":
        fleet = [_value_text(key, answers[key], answers) for key in ("num_gpus", "deadline_hours") if key in answers]
        lines.append(f"Training:  {v['method']}, {int(v['dataset_tokens']):,} tokens x {counted(v['epochs'], 'epoch')}, "
                     f"{int(v['seq_len']):,}-token examples" + "".join(f", {part}" for part in fleet))  # fmt: skip
        return lines + _closing(answers)
    if intent == "forecast":
        lines.append(f"Tokens:    {int(v['input_tokens']):,} in / {int(v['output_tokens']):,} out per request "
                     "(the load comes from the history)")  # fmt: skip
        return lines + _closing(answers)
    unit = "agent tasks/s" if agent.is_agent(answers) else "requests/s"
    load = (f"Load:      {rate(v['rps'])} {unit} on average ({rate(v['rps'] * 60)}/min), peaks "
            f"{v['peak_multiplier']:g}x = {rate(v['rps'] * v['peak_multiplier'])} {unit}")  # fmt: skip
    if "concurrency" in answers and not {"rps", "peak_rps"} & set(answers) and not agent.is_agent(answers):
        load = (f"Load:      {answers['concurrency']:,.0f} requests in flight at peak (users each waiting for their "
                "answer): the rate is that / the time one request takes (Little's law), found with the plan; the "
                f"average {v['peak_multiplier']:g}x lower")  # fmt: skip
    elif not {"rps", "peak_rps"} & set(answers) and (volume := token_volume.stated(answers)) is not None:
        per_request = {"total": f"{int(v['input_tokens'] + v['output_tokens']):,}", "input": f"{int(v['input_tokens']):,}",
                       "output": f"{int(v['output_tokens']):,}"}[volume[0]]  # fmt: skip
        load += f" ({token_volume.shown(*volume, bracket=False)}, / {per_request} tokens per request)"
    if "growth_rate" in answers:  # the planned peak grows by it (--growth-rate)
        grown = v["rps"] * v["peak_multiplier"] * (1 + float(answers["growth_rate"]) / 100)
        load += f", +{float(answers['growth_rate']):g}% growth = {rate(grown)} {unit} planned"
    lines.append(load)
    if agent.is_agent(answers):
        lines += agent.summary_lines(v)
        if "concurrency" in answers:  # an agent's load is its tasks/s; the concurrency was dropped unsaid
            lines.append(f"Not used:  {answers['concurrency']:,.0f} requests in flight (an agent app is planned from "
                         "its tasks per second)")  # fmt: skip
    else:
        window = f", context window {int(v['context_window']):,}" if "context_window" in v else ""
        lines.append(f"Tokens:    {int(v['input_tokens']):,} in / {int(v['output_tokens']):,} out per request{window}")
    targets = [
        _value_text(k, answers[k], answers) for k in ("ttft_ms", "itl_ms", "e2e_ms", "task_slo_ms") if k in answers
    ]
    lines.append(  # the latency question asks "at worst (p99)": the plan bounds the 99th percentile unless told
        "Latency:   "
        + (", ".join(t for t in targets if t) or f"first token within {_duration(v['ttft_ms'])}")
        + f" ({percentile_text(str(answers.get('slo_percentile', '99')))})"
    )
    return lines + _closing(answers)


def _closing(answers: Values) -> list[str]:
    """The budget (not a plan setting: the plan's cost is compared with it after the plan) and the "Not used" line."""
    budget = []
    if "budget_usd" in answers and "budget_usd" not in unused_answers(answers):
        budget = [f"Budget:    {budget_text(answers)} (the plan is sized for the load; I compare its cost with it)"]
    if "owned_gpus" in answers and "owned_gpus" not in unused_answers(answers):  # was said only after the plan
        owned = _value_text("owned_gpus", answers["owned_gpus"], answers) or ""
        budget.append(f"Yours:     {owned.removeprefix('you have ')} (not a plan setting; what they serve is said "
                      "after the plan)")  # fmt: skip
    return budget + _not_used(answers)


def _not_used(answers: Values) -> list[str]:
    """A "Not used" line for what was said and the goal's command cannot take (it was dropped unsaid)."""
    unused = unused_answers(answers)
    if not unused:
        return []
    why = {"training": "a fine-tuning plan has no request rate, latency target or serving engine",
           "inference": "a serving plan has no training data or traffic history",
           "compare": "a GPU comparison has no training data or traffic history",
           "forecast": "a forecast takes its load from the history and plans with `gpucast predict`'s defaults"}  # fmt: skip
    size = "; a size without a catalog model name gets no capacity timeline" if "model_size" in unused else ""
    if "owned_gpus" in unused and effective(answers)["intent"] == "compare":  # it gave the history's reason alone
        size += "; the GPUs you have are sized after a serving plan (goal 'serve'), not a comparison"
    return [f"Not used:  {describe(unused, answers)} ({why[effective(answers)['intent']]}{size})"]
