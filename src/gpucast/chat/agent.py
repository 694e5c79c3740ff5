"""Agent apps in the conversation: reading how a task looks, asking only what is missing, and saying what the plan
found (calls/s, mean prompt per call, prefix-cache hit rate).

An agent's capacity is driven by its task shape, not by a request count: tasks per second, LLM calls per task, the
shared prefix every call repeats (system prompt + tool definitions), the tokens each call adds (tool results, user
turn) and the think time between calls (``gpucast/core/agent.py``). The answers fill the config's ``agent`` section,
which the planner turns into calls/s and the mean prompt per call (``gpucast.inputs.sections.agent_into_workload``), so a
chat plan equals ``gpucast inference --tasks-per-second ...`` for the same numbers.

Agent phrases are read before the rest of a message and their spans blanked, so "a 4k system prompt" is not also
read as a 4000-token request and "tools take 3 s" not as a latency target.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import AnswerError
from .numbers import NUMBER, PER, TIME_UNIT, number_value, seconds_in, token_count
from .values import UNSURE, Values

# what an agent task looks like when the user does not say (the README's example agent; 300 out = the chat default)
AGENT_DEFAULTS: Values = {"rps": 1.0, "llm_calls": 8.0, "shared_prefix_tokens": 3000, "context_growth_tokens": 1000,
                          "output_tokens": 300, "think_time_s": 0.0, "prefix_caching": True}  # fmt: skip
SHAPE_KEYS = ("llm_calls", "shared_prefix_tokens", "context_growth_tokens", "output_tokens")
SHAPE_WORDS = {"llm_calls": "LLM calls per task", "shared_prefix_tokens": "the shared prompt (system prompt + tool "
               "definitions) in tokens", "context_growth_tokens": "the tokens each call adds (tool results, user "
               "turn)", "output_tokens": "the tokens each call generates"}  # fmt: skip

_N = NUMBER
_TOK = r"(?:[- ]?(?:tokens?|toks?))?"
_TASK = r"(?:tasks?|runs?|sessions?|jobs?|workflows?|episodes?|trajector(?:y|ies))"
_CALL = r"(?:calls?|turns?|steps?|iterations?|rounds?)"
_SECONDS = r"(?P<unit>milliseconds?|msec|ms|seconds?|secs?|s|minutes?|mins?|min)(?![a-z])"
_LEAD = r"(?:\s*(?:of|is|are|=|:|~|about|around|roughly|takes?|uses?|has|at))*\s*"
_PREFIX_WORDS = (r"(?:system\s+prompts?(?:\s*(?:and|\+|&|with)\s*(?:the\s+)?tools?(?:\s+(?:definitions?|schemas?|"
                 r"descriptions?))?)?|tool\s+(?:definitions?|descriptions?|schemas?|specs?)|shared\s+(?:prefix(?:es)?|"
                 r"prompts?|context)|prompt\s+prefix|prefix)")  # fmt: skip

_PATTERNS: tuple[tuple[str, str], ...] = (
    ("rps", rf"{_N}\s*(?:agent(?:ic)?\s+)?{_TASK}{PER}(?P<tu>{TIME_UNIT})"),
    (
        "llm_calls",
        rf"{_N}\s*(?:llm\s+|model\s+|tool\s+|api\s+|inference\s+)?(?:{_CALL}|invocations?)\s*"
        rf"(?:per|each|for each|every|/|in each|in every|in a|a)\s*(?:agent\s+)?{_TASK}",
    ),
    ("llm_calls", rf"(?:{_CALL}|tool calls)\s*per\s*{_TASK}{_LEAD}{_N}"),
    ("llm_calls", rf"{_TASK}\s+(?:of|with)\s+(?:about\s+)?{_N}\s*(?:llm\s+|tool\s+)?{_CALL}"),
    ("shared_prefix_tokens", rf"{_N}{_TOK}\s*(?:of\s+)?(?:the\s+)?{_PREFIX_WORDS}"),
    ("shared_prefix_tokens", rf"{_PREFIX_WORDS}{_LEAD}{_N}{_TOK}"),
    (
        "context_growth_tokens",
        rf"(?:each|every|per|a)\s+(?:llm\s+|tool\s+)?{_CALL}\s+(?:adds?|appends?|brings?|"
        rf"grows?\s+(?:the\s+)?(?:context\s+)?(?:by\s+)?|contributes?)\s*(?:about\s+|around\s+|"
        rf"~\s*)?{_N}{_TOK}",
    ),
    (
        "context_growth_tokens",
        rf"(?:adds?|appends?|grows?(?:\s+by)?)\s+(?:about\s+|around\s+|~\s*)?{_N}{_TOK}\s*"
        rf"(?:new\s+|more\s+)?(?:tokens?\s+)?(?:of\s+context\s+)?(?:per|each|every|a)\s+"
        rf"(?:llm\s+|tool\s+)?{_CALL}",
    ),
    (
        "context_growth_tokens",
        rf"{_N}{_TOK}\s*(?:new\s+|added\s+|more\s+|extra\s+)?(?:tokens?\s+)?(?:of\s+)?"
        rf"(?:context\s+|tool\s+(?:results?|outputs?|responses?)\s+)?(?:added\s+)?"
        rf"(?:per|each|every|a)\s+(?:llm\s+|tool\s+)?{_CALL}",
    ),
    (
        "context_growth_tokens",
        rf"(?:tool\s+(?:results?|outputs?|responses?)|context\s+growth|growth\s+per\s+{_CALL})"
        rf"{_LEAD}{_N}{_TOK}",
    ),
    ("context_growth_tokens", rf"(?:context|prompt|history)\s+grows?\s+(?:by\s+)?(?:about\s+)?{_N}{_TOK}"),
    (
        "think_time_s",
        rf"(?:think(?:ing)?\s+time|tool\s+(?:time|latency|execution(?:\s+time)?)|tools?\s+(?:calls?\s+)?"
        rf"takes?|pauses?|gaps?|delays?)(?:\s*(?:of|is|=|:|~|about|around|between\s+{_CALL}|per\s+"
        rf"{_CALL}))*\s*{_N}\s*{_SECONDS}",
    ),
    (
        "think_time_s",
        rf"{_N}\s*{_SECONDS}\s*(?:of\s+)?(?:think(?:ing)?\s+time|tool\s+time|(?:pause\s+|wait\s+)?"
        rf"between\s+{_CALL}|per\s+tool\s+call|(?:of\s+)?tool\s+(?:execution|latency))",
    ),
    (
        "task_slo_ms",
        rf"(?:each\s+|a\s+|every\s+)?(?:tasks?|agent\s+runs?)\s+(?:must\s+|should\s+|has\s+to\s+|have\s+"
        rf"to\s+)?(?:finish\w*|complete\w*|end|be\s+done|done|latency|time)(?:\s+(?:slo|target))?\s*"
        rf"(?:with)?(?:in|under|below|<=?|at most|less than|of|:)\s*(?:under\s+)?{_N}\s*{_SECONDS}",
    ),
)
_CACHE = r"(?:prefix|radix|prompt|kv)[- ]?(?:cach(?:e|ing)|reuse)"
_CACHE_OFF = (rf"\b(?:no|without|disable[sd]?|disabling|turn\s+off)\s+(?:the\s+)?(?:automatic\s+)?{_CACHE}",
              rf"{_CACHE}\s*(?:is\s+|:\s*|=\s*)?(?:off|disabled|not\s+available|unavailable|no|false)\b")  # fmt: skip
_CACHE_ON = (rf"\b(?:with|enable[sd]?|using|use)\s+(?:automatic\s+)?{_CACHE}",
             rf"{_CACHE}\s*(?:is\s+|:\s*|=\s*)?(?:on|enabled|yes|true)\b")  # fmt: skip


def extract_agent(low: str) -> tuple[Values, str]:
    """Agent values stated in ``low`` (lower case, number words as digits), and ``low`` with their spans blanked."""
    found: Values = {}
    for key, pattern in _PATTERNS:
        for match in re.finditer(pattern, low):
            value = _value(key, match)
            if value is None:
                continue
            if key == "shared_prefix_tokens" and key in found:
                found[key] += value  # "3k system prompt and 2k of tool definitions": both are shared by every call
            elif key == "rps" and re.search(r"\b(peaks?|busiest|max(imum)?)\b", low[max(0, match.start() - 24) :
                                                                                   match.start()]):  # fmt: skip
                found.setdefault("peak_rps", value)
            else:
                found.setdefault(key, value)
            low = low[: match.start()] + " " * (match.end() - match.start()) + low[match.end() :]
    for flag, patterns in ((False, _CACHE_OFF), (True, _CACHE_ON)):
        hit = next((m for p in patterns if (m := re.search(p, low)) is not None), None)
        if hit is not None and "prefix_caching" not in found:
            found["prefix_caching"] = flag
            low = low[: hit.start()] + " " * (hit.end() - hit.start()) + low[hit.end() :]
    if set(found) - {"prefix_caching"}:  # a cache switch alone does not make a chatbot an agent
        found["agent"] = True
    return found, low


def _value(key: str, match: re.Match[str]) -> float | int | None:
    number = number_value(match["num"], match["mult"])
    if key == "rps":
        return number / seconds_in(match["tu"]) if number > 0 else None
    if key == "llm_calls":
        return number if number >= 1 else None
    if key in ("think_time_s", "task_slo_ms"):
        seconds = number * seconds_in(match["unit"])
        return seconds if key == "think_time_s" else (seconds * 1000.0 if seconds > 0 else None)
    return token_count(number, minimum=0)  # a shared prompt or the growth per call: whole tokens, 0 allowed


def is_agent(answers: Values) -> bool:
    return bool(answers.get("agent"))


def missing(answers: Values) -> list[str]:
    """The task-shape answers still unknown, in the order they are asked."""
    return [key for key in SHAPE_KEYS if key not in answers]


def question_text(answers: Values) -> str:
    """The agent question, naming only what is still missing."""
    parts = [SHAPE_WORDS[k] for k in missing(answers)] or [SHAPE_WORDS[k] for k in SHAPE_KEYS]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"How does one agent task look: {listed}?"


def default_shape(answers: Values) -> Values:
    return {key: AGENT_DEFAULTS[key] for key in missing(answers)}


def shown_shape(answers: Values) -> str:
    words = {"llm_calls": "{:g} calls", "shared_prefix_tokens": "{:,}-token shared prompt",
             "context_growth_tokens": "+{:,} tokens per call", "output_tokens": "{:,} out"}  # fmt: skip
    return ", ".join(words[k].format(v) for k, v in default_shape(answers).items())


def read_shape(text: str, answers: Values) -> Values:
    """Bare numbers for the missing parts, in the order the question lists them ("10, 4k, 800, 300")."""
    numbers = [number_value(m["num"], m["mult"]) for m in re.finditer(_N, text.lower())]
    wanted = missing(answers)
    if not numbers or len(numbers) > len(wanted) or any(n <= 0 for n in numbers):
        raise AnswerError(f"Give {len(wanted)} number(s) in this order: {'; '.join(SHAPE_WORDS[k] for k in wanted)} "
                          "(e.g. '10 calls, 4k system prompt, 800 tokens per call, 300 out').")  # fmt: skip
    values: Values = {}
    for key, number in zip(wanted, numbers, strict=False):
        count = token_count(number)
        if key != "llm_calls" and count is None:
            raise AnswerError(f"{number:g} is not a whole number of tokens for {SHAPE_WORDS[key]}: token counts are "
                              "whole numbers of at least 1 (e.g. '4k system prompt, 800 tokens per call').")  # fmt: skip
        values[key] = float(number) if key == "llm_calls" else count
    return values


def agent_section(values: Values, answers: Values) -> dict[str, Any]:
    """The config's ``agent`` section (``gpucast inference --tasks-per-second ...``) from the effective values."""
    section: dict[str, Any] = {
        "tasks_per_second": float(values["rps"]), "calls_per_task": float(values["llm_calls"]),
        "shared_prefix_tokens": int(values["shared_prefix_tokens"]),
        "context_growth_tokens": int(values["context_growth_tokens"]), "think_time_s": float(values["think_time_s"]),
        "prefix_caching": bool(values["prefix_caching"]),
    }  # fmt: skip
    if "task_slo_ms" in answers:
        section["task_latency_slo_ms"] = float(answers["task_slo_ms"])
    return section


def shape_of(values: Values) -> Any:
    """The inputs' AgentWorkloadInput of the effective values (calls/s, mean prompt and context come from it)."""
    from ..inputs.agent import AgentWorkloadInput

    section = agent_section(values, {})
    return AgentWorkloadInput(**section)


def summary_lines(values: Values) -> list[str]:
    """Calls/s, the mean prompt per call and how much of it a prefix cache can reuse, before planning."""
    from ..core.agent import max_context_tokens, token_flow

    agent, out = shape_of(values), int(values["output_tokens"])
    calls_s, mean_prompt = agent.derived(out)
    flow = token_flow(agent.shape(out))
    cache = (f"prefix caching on: up to {flow.reusable_fraction * 100:.0f}% of prompt tokens reusable (the hit rate "
             "comes with the plan)" if agent.prefix_caching else "prefix caching off: every prompt token is "
             "prefilled")  # fmt: skip
    think = f", {agent.think_time_s:g} s between calls" if agent.think_time_s else ""
    return [
        f"Agent:     {agent.calls_per_task:g} LLM calls per task x {agent.tasks_per_second:,.4g} tasks/s = "
        f"{calls_s:,.4g} calls/s planned{think}",
        f"Context:   {agent.shared_prefix_tokens:,}-token shared prompt + {agent.context_growth_tokens:,} new tokens "
        f"per call: mean prompt {mean_prompt:,} tokens per call, longest context "
        f"{max_context_tokens(agent.shape(out)):,}",
        f"Tokens:    {out:,} out per call; {cache}",
    ]


def context_window(values: Values) -> int:
    """The longest task's context (prompt + output of its last call): the engine's max model length must hold it."""
    from ..core.agent import max_context_tokens

    return max_context_tokens(shape_of(values).shape(int(values["output_tokens"])))


def explanation(plan: Any) -> str:
    """What the plan's ``agent`` section says: calls/s, mean prompt per call, prefix-cache hit rate, task latency."""
    agent = plan.agent
    if agent.prefix_caching:
        cache = (f"the prefix cache serves {agent.prefix_cache_hit_rate * 100:.0f}% of prompt tokens (of "
                 f"{agent.reusable_fraction * 100:.0f}% reusable), so each call prefills about "
                 f"{agent.prefilled_tokens_per_call:,.0f} new tokens")  # fmt: skip
    else:
        cache = "without prefix caching every prompt token is prefilled on every call (hit rate 0%)"
    return (f"Agent load: {agent.tasks_per_second:,.4g} tasks/s x {agent.calls_per_task:g} calls = "
            f"{agent.calls_per_second:,.4g} LLM calls/s, each with a mean prompt of "
            f"{agent.mean_input_tokens_per_call:,.0f} tokens (the last call of a task {agent.last_call_input_tokens:,});"
            f" {cache}. A task takes about {agent.task_latency_ms / 1000:,.1f} s end to end.")  # fmt: skip


_AGENT_WORDS = r"\b(?:agent\w*|tools?|tool calls?|calls? per|tasks?|workflows?|shared prefix\w*|prefix)\b"
_QUESTION = (rf"{NUMBER}[- ]?(?:tokens?|toks?)\s+(?:(?:user|customer)\s+)?(?:questions?|messages?|queries|query|inputs?|"
             r"prompts?|requests?)\b")  # fmt: skip


def as_chatbot(values: Values, text: str, answers: Values) -> Values:
    """A system prompt said in a message about a chatbot ("each prompt includes a 4k system prompt + 500 token
    question") is part of every request's tokens in, asked back; it made the conversation an agent's plan (8 LLM calls
    per request: 16 calls/s for 2 requests/s, 9,550-token prompts for 4,500). Only where nothing else says agent: no
    agent word, no other task-shape value, and no agent answer before."""
    low = text.lower()
    shape = {"llm_calls", "context_growth_tokens", "think_time_s", "task_slo_ms"}
    if (answers.get("agent") or "shared_prefix_tokens" not in values or shape & set(values)
            or not re.search(r"\bsystem prompts?\b", low) or re.search(_AGENT_WORDS, low)):  # fmt: skip
        return values
    out = {key: value for key, value in values.items() if key not in ("agent", "shared_prefix_tokens")}
    system = int(values["shared_prefix_tokens"])
    doubts = list(values.get(UNSURE, []))
    if "input_tokens" in out and re.search(r"\b(?:including|incl|of which|with(?:in)?|part of)\b", low):
        doubts.append(f"I read the {system:,}-token system prompt as part of the {out['input_tokens']:,} tokens in")
        return {**out, UNSURE: doubts}
    question = re.search(_QUESTION, low)
    rest = out.get("input_tokens") or (token_count(number_value(question["num"], question["mult"])) or 0 if question
                                       else 0)  # fmt: skip
    out["input_tokens"] = system + rest
    doubts.append("a chatbot's system prompt is part of each request: " + (
        f"I read {system:,} + {rest:,} = {system + rest:,} tokens in" if rest else
        f"I read its {system:,} tokens as the tokens in (add the user's part, e.g. '{system + 500} tokens in')"))  # fmt: skip
    return {**out, UNSURE: doubts}
