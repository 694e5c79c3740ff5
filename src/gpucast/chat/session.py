"""The conversation's state machine: ask the next unanswered question, read the answer, handle
``back``/``help``/``why``/``skip``/``summary``/``quit``, and never lose an answer.

Answers live in one dict (``Session.answers``); a question is asked only while its answer is
missing, so a message that answers several questions skips them all. ``back`` undoes the last
answer: every value it stated goes (and a value it replaced comes back), and where it answered its
question that question is asked again with the answer as its default, so Enter restores it.
Before 2026-12-08 ``back`` removed only the asked question's own keys: "we have 8 H100s" or
"50M tokens a day" said in an answer to another question stayed in the plan and the summary.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

from . import agent, llm
from .errors import AnswerError
from .parse import yes_no
from .questions import BY_KEY, DEFAULTS, Question, interpret, next_question
from .summary import describe, summary_lines
from .values import LEFT_OUT, UNSURE, Values

COMMANDS_HELP = """Commands you can type at any question:
  back     undo your last answer (all it said; the question it answered is asked again, that answer the default)
  why      what the question is for and how it changes the plan
  skip     accept the default (an empty answer does the same)
  summary  show what I have understood so far
  help     this list
  quit     leave without a plan
You can answer several questions at once, e.g. "serve llama 3 70b on H100s on aws, 20 rps, 2k in 500 out"."""
WELCOME = ("gpucast: let's plan GPU capacity. Answer in your own words; press Enter to accept the default in "
           "[brackets]; type 'help' for commands.")  # fmt: skip


@dataclass(frozen=True)
class Turn:
    """One applied answer, for ``back``: the answers and the left-out values before it, what it stated, and whether
    it answered its question (that question is then asked again, the answer as its default)."""

    key: str
    before: Values
    left_out: dict[str, str]
    stated: Values
    answered: bool


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
    """The answers so far, the answers applied one by one (for ``back``) and the question count."""

    channel: Channel
    answers: Values = field(default_factory=dict)
    turns: list[Turn] = field(default_factory=list)
    previous: dict[str, Values] = field(default_factory=dict)
    questions_asked: int = 0
    # a replayed answer refused and not yet replaced ({question key: (answer, why)}): when the replay ends there, the
    # question's default is no reading of what was typed, so the script ends with exit 2 instead of planning it
    refused: dict[str, tuple[str, str]] = field(default_factory=dict)
    # values an answer stated that the planner refuses ({key: why}), the rest of the answer kept ("serve qwen3 32b on
    # h100, tp 0"): listed in the summary until restated; a replay that confirms by default stops there (exit 2)
    left_out: dict[str, str] = field(default_factory=dict)

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
        if self.channel.replay and self.channel.ended and question.key == "confirm" and self.left_out:
            from ..errors import InputError

            raise InputError(f"{'; '.join(self.left_out.values())}, and the answers ended before a usable value: no "
                             "plan made")  # fmt: skip
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
            # at the confirmation the summary is shown before the question is asked again (``collect``): shown here
            # too, it was printed twice in a row
            if question.key != "confirm":
                self.show_summary()
        elif command in ("back", "undo", "previous", "go back"):
            self.back()
        else:
            self.answer(question, text)

    def answer(self, question: Question, text: str) -> None:
        left_before = dict(self.left_out)
        try:
            values = interpret(question, text, self.answers)
        except AnswerError as error:
            values = self.ask_llm(question, text)
            if not values:
                self.say(f"Sorry, I could not use that. {error}")
                self.refused[question.key] = (text, str(error))
                return
        left = values.pop(LEFT_OUT, {})
        if left:  # the rest of the answer stands; the refused value is said, with what is accepted
            self.left_out.update(left)
            self.say(f"I did not use all of that: {'; '.join(left.values())}. The rest stands; type the value again, "
                     "or go on without it.")  # fmt: skip
        reasons = values.pop(UNSURE, [])
        if reasons and not self.confirm_reading(question, values, reasons, text):
            return
        if question.key == "confirm" and values.get("confirm") is False:
            self.say("What should I change? Type the new value (e.g. '30 rps', 'on A100s', 'model mixtral') "
                     "or 'back'.")  # fmt: skip
            values.pop("confirm")
            self.refused["confirm"] = (text, "the plan was declined and no change followed")
        self.apply(question, values, left_before=left_before)

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

    def apply(
        self, question: Question, values: Values, *, quiet: bool = False, left_before: dict[str, str] | None = None
    ) -> None:
        before = {k: v for k, v in self.answers.items() if k != "confirm"}
        left_before = dict(self.left_out) if left_before is None else left_before
        # the GPUs named for a comparison ("compare H100 vs A100 vs L40S", "which cloud is cheapest for H100s") are its
        # --gpus (one named GPU was dropped: every GPU was ranked); elsewhere the first is meant
        named = {**self.answers, **values}.get("intent") == "compare" and bool(values.get("gpus"))
        values = {k: v for k, v in values.items() if k != UNSURE and (k != "gpus" or named)}
        if "model" in values:
            self.answers.pop("model_size", None)
        if "model_size" in values:
            self.answers.pop("model", None)
        if "concurrency" in values:  # "200 concurrent users" typed after a rate: the load is the concurrency now
            for key in ("rps", "peak_rps", "users"):
                self.answers.pop(key, None)
        if {"rps", "peak_rps"} & set(values) and not agent.is_agent({**self.answers, **values}):  # and a rate typed
            self.answers.pop("concurrency", None)  # after a concurrency is the load (an agent's is said not used)
        was_done = question.is_done(self.answers)
        self.answers.update(values)
        for key in values:  # restated within range: no longer left out
            self.left_out.pop(key, None)
        if "gpu" in values and "cloud" not in self.answers:
            self.answers["cloud"] = DEFAULTS["cloud"]  # a GPU without a cloud is priced on the default cloud
            values = {**values, "cloud": self.answers["cloud"]}
        self.previous.pop(question.key, None)
        # answered now, or a change made at the confirmation: an earlier refusal no longer stands
        if question.is_done(self.answers) or (question.key == "confirm" and set(values) - {"confirm"}):
            self.refused.pop(question.key, None)
        answered = question.is_done(self.answers) and not was_done and question.key != "confirm"
        if before != {k: v for k, v in self.answers.items() if k != "confirm"} or left_before != self.left_out:
            stated = {k: v for k, v in values.items() if k != "confirm"}
            self.turns.append(Turn(question.key, before, left_before, stated, answered))
        hidden = (
            ("confirm", "agent", "cloud") if self.answers.get("intent") == "compare" else ("confirm", "agent", "clouds")
        ) + (("gpu",) if "gpus" in values else ())
        shown = {k: v for k, v in values.items() if k not in hidden}
        if shown and not quiet:
            self.say("Got it: " + describe(shown, self.answers))
        if not question.is_done(self.answers) and values and question.key != "confirm":
            self.say("Noted. I still need the answer to this question.")

    def back(self) -> bool:
        """Undo the last answer: the answers return to what they were before it (every value it stated goes, one it
        replaced comes back). Where it answered its question, that question is asked again with the answer as its
        default; else (a value given beside the question, "we have 8 H100s" at the rate question) the same question
        is asked again and a second ``back`` goes further. False when there is nothing to undo."""
        if not self.turns:
            self.say("There is no earlier question to go back to.")
            return False
        turn = self.turns.pop()
        self.answers.clear()
        self.answers.update(turn.before)
        self.left_out.clear()
        self.left_out.update(turn.left_out)
        said = describe(turn.stated, turn.before) or "none"
        if turn.answered:
            self.previous[turn.key] = turn.stated
            self.say(f"Going back. (Enter keeps your previous answer: {said}.)")
        else:
            self.say(f"Going back: I dropped your last answer ({said}).")
        return True

    def show_summary(self) -> None:
        self.say("\nHere is what I understood:")
        for line in summary_lines(self.answers):
            self.say("  " + line)
        for why in self.left_out.values():
            self.say(f"  Left out:  {why}")
