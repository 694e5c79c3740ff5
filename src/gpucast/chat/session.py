"""The conversation's state machine: ask the next unanswered question, read the answer, handle
``back``/``help``/``why``/``skip``/``summary``/``quit``, and never lose an answer.

Answers live in one dict (``Session.answers``); a question is asked only while its answer is
missing, so a message that answers several questions skips them all. ``back`` removes the last
asked question's answer and shows it as that question's default, so Enter restores it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

from ..wording import counted, rate
from . import agent, llm, names
from .budget import budget_text
from .compute import effective, unused_answers
from .errors import AnswerError
from .parse import yes_no
from .questions import BY_KEY, DEFAULTS, INTENTS, Question, interpret, next_question
from .serving_terms import percentile_text
from .values import UNSURE, Values

COMMANDS_HELP = """Commands you can type at any question:
  back     go to the previous question (its answer becomes the default)
  why      what the question is for and how it changes the plan
  skip     accept the default (an empty answer does the same)
  summary  show what I have understood so far
  help     this list
  quit     leave without a plan
You can answer several questions at once, e.g. "serve llama 3 70b on H100s on aws, 20 rps, 2k in 500 out"."""
WELCOME = ("gpucast: let's plan GPU capacity. Answer in your own words; press Enter to accept the default in "
           "[brackets]; type 'help' for commands.")  # fmt: skip
# the answers each question owns (removed together by ``back``)
OWNED = {"model": ("model", "model_size"), "gpu": ("gpu", "cloud", "gpus"), "rps": ("rps", "peak_rps"),
         "peak": ("peak_multiplier", "peak_rps"),
         "tokens": ("input_tokens", "output_tokens"), "latency": ("ttft_ms", "e2e_ms", "itl_ms", "slo_percentile"),
         "agent_shape": agent.SHAPE_KEYS}  # fmt: skip


class Quit(Exception):
    """The user typed ``quit`` or ended the input on a terminal."""


class Channel:
    """Questions out, answers in: a terminal (``input``) or replayed lines (a script or piped stdin).

    Replayed answers are echoed so the transcript reads as a conversation; when they run out,
    ``ended`` is set and every remaining question takes its default."""

    def __init__(self, lines: Iterator[str] | None = None, out: TextIO | None = None) -> None:
        self.lines = lines
        self.out = out or sys.stdout
        self.ended = False

    @property
    def replay(self) -> bool:
        return self.lines is not None

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def ask(self, prompt: str) -> str | None:
        """The next answer, or None at the end of the input."""
        if self.lines is None:
            try:
                return input(prompt)
            except EOFError:
                self.say()
                return None
        self.out.write(prompt)
        line = None if self.ended else next(self.lines, None)
        if line is None:
            self.ended = True
            self.say("(end of answers: using the default)")
            return None
        self.say(line.rstrip("\r\n"))
        return line.rstrip("\r\n")


@dataclass
class Session:
    """The answers so far, the questions asked (for ``back``) and the question count."""

    channel: Channel
    answers: Values = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    previous: dict[str, Values] = field(default_factory=dict)
    questions_asked: int = 0
    # a replayed answer refused and not yet replaced ({question key: (answer, why)}): when the replay ends there, the
    # question's default is no reading of what was typed, so the script ends with exit 2 instead of planning it
    refused: dict[str, tuple[str, str]] = field(default_factory=dict)

    def say(self, text: str = "") -> None:
        self.channel.say(text)

    def collect(self) -> None:
        """Ask until every question that matters is answered and the summary is confirmed (raises Quit)."""
        while (question := next_question(self.answers)) is not None:
            if question.key == "confirm":
                self.show_summary()
            self.questions_asked += 1
            reply = self.channel.ask(self.prompt(question))
            if reply is None:
                if not self.channel.replay:
                    raise Quit
                self.accept_default(question)
                continue
            self.handle(question, reply)

    def prompt(self, question: Question) -> str:
        return f"\n{question.text_for(self.answers)}\n  [{self.default_text(question)}] > "

    def default_text(self, question: Question) -> str:
        if question.key in self.previous:
            return "previous answer: " + describe(self.previous[question.key])
        return question.shown(self.answers)

    def default_values(self, question: Question) -> Values:
        return self.previous.get(question.key) or question.default(self.answers)

    def accept_default(self, question: Question) -> None:
        if self.channel.replay and self.channel.ended and question.key in self.refused:
            from ..errors import InputError

            text, why = self.refused[question.key][0], self.refused[question.key][1].rstrip(".")
            raise InputError(f"the answer {text!r} to '{question.text}' could not be used ({why}), and the answers "
                             "ended before a usable one: no plan made")  # fmt: skip
        values = self.default_values(question)
        if not values:
            if self.channel.replay and self.channel.ended:
                from ..errors import InputError

                raise InputError(f"the conversation needs an answer to: {question.text}")
            self.say("This question has no default; please answer it (or type 'help').")
            return
        self.apply(question, values, quiet=question.key == "confirm")

    def handle(self, question: Question, reply: str) -> None:
        text = reply.strip()
        command = text.lower().rstrip("!.")
        if not text or command in ("skip", "default", "next"):
            self.accept_default(question)
        elif command in ("quit", "exit", "q", "bye", ":q"):
            raise Quit
        elif command in ("help", "?", "h", "commands"):
            self.say(COMMANDS_HELP + f"\nExamples for this question: {question.examples}")
        elif command in ("why", "why?", "why do you ask", "what for"):
            self.say("Why I ask: " + question.why)
        elif command in ("summary", "status", "show"):
            self.show_summary()
        elif command in ("back", "undo", "previous", "go back"):
            self.back()
        else:
            self.answer(question, text)

    def answer(self, question: Question, text: str) -> None:
        try:
            values = interpret(question, text, self.answers)
        except AnswerError as error:
            values = self.ask_llm(question, text)
            if not values:
                self.say(f"Sorry, I could not use that. {error}")
                self.refused[question.key] = (text, str(error))
                return
        reasons = values.pop(UNSURE, [])
        if reasons and not self.confirm_reading(question, values, reasons, text):
            return
        if question.key == "confirm" and values.get("confirm") is False:
            self.say("What should I change? Type the new value (e.g. '30 rps', 'on A100s', 'model mixtral') "
                     "or 'back'.")  # fmt: skip
            values.pop("confirm")
            self.refused["confirm"] = (text, "the plan was declined and no change followed")
        self.apply(question, values)

    def confirm_reading(self, question: Question, values: Values, reasons: list[str], text: str = "") -> bool:
        """Echo a reading that is a guess and use it only when the user agrees (Enter or 'yes'); 'no' asks the
        question again, and any other text is taken as a new answer to it."""
        shown = describe({k: v for k, v in values.items() if k not in ("gpus", "clouds", "agent")}, self.answers)
        self.say(f"I am not sure I read that right: {'; '.join(reasons)}.")
        self.questions_asked += 1
        reply = self.channel.ask(f"Did you mean: {shown}? ('yes', 'no', or type the answer again)\n  [yes] > ")
        if reply is None:
            if not self.channel.replay:
                raise Quit
            return True  # replayed answers ran out: the default, as for every other question
        verdict = yes_no(reply) if reply.strip() else True
        if verdict is True:
            return True
        if verdict is False:
            self.say(f"OK, I left it out. Please answer again, e.g. {question.examples}.")
            self.refused[question.key] = (text, f"read as {shown}, which was declined")
            return False
        self.handle(question, reply)
        if not question.is_done(self.answers) and question.key not in self.refused:  # the guess was passed over
            self.refused[question.key] = (text, f"read as {shown}, which was not confirmed")
        return False

    def ask_llm(self, question: Question, text: str) -> Values:
        """Values read by the optional LLM endpoint, each re-checked by the rule-based reader."""
        if llm.endpoint() is None:
            return {}
        values: Values = {}
        for key, field_text in llm.ask(question.text, question.key, text).items():
            target = BY_KEY.get(key) or BY_KEY.get({"cloud": "gpu", "llm_calls": "agent_shape"}.get(key, ""), question)
            try:
                values.update(interpret(target, field_text, {**self.answers, **values}))
            except AnswerError:
                continue
        if values:
            self.say("(read with the help of the language model at GPUCAST_LLM_URL)")
            values[UNSURE] = [*values.get(UNSURE, []), "the language model read it, not my rules"]
        return values

    def apply(self, question: Question, values: Values, *, quiet: bool = False) -> None:
        # the GPUs named for a comparison ("compare H100 vs A100 vs L40S", "which cloud is cheapest for H100s") are its
        # --gpus (one named GPU was dropped: every GPU was ranked); elsewhere the first is meant
        named = {**self.answers, **values}.get("intent") == "compare" and bool(values.get("gpus"))
        values = {k: v for k, v in values.items() if k != UNSURE and (k != "gpus" or named)}
        if "model" in values:
            self.answers.pop("model_size", None)
        if "model_size" in values:
            self.answers.pop("model", None)
        was_done = question.is_done(self.answers)
        self.answers.update(values)
        if "gpu" in values and "cloud" not in self.answers:
            self.answers["cloud"] = DEFAULTS["cloud"]  # a GPU without a cloud is priced on the default cloud
            values = {**values, "cloud": self.answers["cloud"]}
        self.previous.pop(question.key, None)
        # answered now, or a change made at the confirmation: an earlier refusal no longer stands
        if question.is_done(self.answers) or (question.key == "confirm" and set(values) - {"confirm"}):
            self.refused.pop(question.key, None)
        if question.is_done(self.answers) and not was_done and question.key != "confirm":
            self.asked.append(question.key)
        hidden = (
            ("confirm", "agent", "cloud") if self.answers.get("intent") == "compare" else ("confirm", "agent", "clouds")
        ) + (("gpu",) if "gpus" in values else ())
        shown = {k: v for k, v in values.items() if k not in hidden}
        if shown and not quiet:
            self.say("Got it: " + describe(shown, self.answers))
        if not question.is_done(self.answers) and values and question.key != "confirm":
            self.say("Noted. I still need the answer to this question.")

    def back(self) -> None:
        if not self.asked:
            self.say("There is no earlier question to go back to.")
            return
        key = self.asked.pop()
        owned = OWNED.get(key, (key,))
        self.previous[key] = {k: self.answers.pop(k) for k in owned if k in self.answers}
        self.answers.pop("confirm", None)
        self.say(f"Going back. (Enter keeps your previous answer: {describe(self.previous[key]) or 'none'}.)")

    def show_summary(self) -> None:
        self.say("\nHere is what I understood:")
        for line in summary_lines(self.answers):
            self.say("  " + line)


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
        "num_gpus": lambda v: f"on {v} GPUs",
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
        shown = {"pricing": "{} pricing", "engine": "engine {}", "tp": "TP={}", "pp": "PP={}"}
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
    if "growth_rate" in answers:  # the planned peak grows by it (--growth-rate)
        grown = v["rps"] * v["peak_multiplier"] * (1 + float(answers["growth_rate"]) / 100)
        load += f", +{float(answers['growth_rate']):g}% growth = {rate(grown)} {unit} planned"
    lines.append(load)
    if agent.is_agent(answers):
        lines += agent.summary_lines(v)
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
    return [f"Not used:  {describe(unused, answers)} ({why[effective(answers)['intent']]}{size})"]
