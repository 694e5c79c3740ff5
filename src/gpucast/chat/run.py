"""Run a whole conversation: collect answers, compute and explain the plan, then offer to save it,
export it (JSON/Markdown) or compare options.

Input: a terminal (``input`` with line editing), or replayed lines from ``--script FILE`` or
piped stdin. On a terminal, end of input (Ctrl-D) or ``quit`` leaves with exit code 0 and no
plan; replayed input that ends early takes every remaining default, so the plan is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import GpucastError, InputError
from . import compute
from .budget import compare_budget_line, serving_budget_line, training_budget_line
from .explain import explain_inference, explain_training
from .owned import owned_fleet_line
from .session import WELCOME, Channel, Quit, Session

NEXT_PROMPT = ("\nWhat next? 'save' (to the plan history), 'json [FILE]', 'markdown [FILE]', 'compare' (every GPU and "
               "cloud), a change to plan again, 'back' (undo the last answer), or 'done'\n  [done] > ")  # fmt: skip


def run_chat(args: argparse.Namespace) -> int:
    """The ``gpucast chat`` command."""
    session = Session(_channel(getattr(args, "script", None)))
    session.say(WELCOME)
    try:
        while True:  # a change typed after the plan ("30 rps", "on H200") is confirmed and planned again
            outcome = _plan_until_done(session)
            if not _show_next_steps(session, outcome, args):
                break
    except Quit:
        session.say("Bye: no plan computed." if not session.answers.get("confirm") else "Bye.")
    return 0


def _channel(script: str | None) -> Channel:
    if hasattr(sys.stdin, "reconfigure"):  # undecodable bytes become U+FFFD instead of a traceback
        sys.stdin.reconfigure(errors="replace")
    if script == "-" or (script is None and not sys.stdin.isatty()):
        return Channel(_lines(sys.stdin))
    if script is not None:
        try:
            text = Path(script).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise InputError(f"--script {script!r} cannot be read: {error.strerror}") from error
        return Channel(_lines(text.splitlines()))
    with contextlib.suppress(ImportError):  # not on every platform
        import readline  # noqa: F401  (line editing and history for input())
    return Channel(None)


def _lines(source: Any) -> Iterator[str]:
    """Script lines; lines starting with '#' are comments (a blank line accepts the default)."""
    for line in source:
        if not line.lstrip().startswith("#"):
            yield line.rstrip("\r\n")


def _plan_until_done(session: Session) -> compute.Outcome:
    """Collect, confirm and compute; a plan that cannot be made sends the user back to change an answer."""
    while True:
        session.collect()
        try:
            return _compute_and_show(session)
        except GpucastError as error:
            session.say(f"\nI could not make that plan: {error}")
            if session.channel.replay and session.channel.ended:
                raise
            session.answers.pop("confirm", None)
            session.say("Change an answer (type the new value, e.g. 'on H100s' or 'FP8'), or type 'back'.")


def _compute_and_show(session: Session) -> compute.Outcome:
    answers = session.answers
    intent = compute.effective(answers)["intent"]
    session.say("\nComputing the plan...\n")
    if intent == "forecast":
        return compute.forecast(answers, argparse.Namespace())
    if intent == "compare":
        from ..console import render

        rated, planned = compute.rate_of_concurrency(answers)  # "150 concurrent users": the rate they make
        outcome = compute.compare(rated)
        render.comparison(outcome.plan)
        words = _compare_words(outcome.plan)
        if planned is not None and planned.plan.throughput.meets_latency_sla:
            from .concurrency import explanation

            multiplier = float(compute.effective(rated)["peak_multiplier"])
            thr, peak = planned.plan.throughput, float(rated["peak_rps"])
            gpu = planned.plan.gpu_resources.recommended_gpu_type
            words.append(explanation(float(answers["concurrency"]), thr, peak, multiplier, compared_on=gpu))
        _paragraphs(session, [*words, compare_budget_line(answers, outcome.plan)] if "budget_usd" in answers else words)
        return outcome
    if intent == "training":
        from ..console import render_training

        outcome = compute.plan_training(answers)
        render_training.training_plan(outcome.plan)
        lines = explain_training(outcome.plan)
        _paragraphs(
            session, [*lines, training_budget_line(answers, outcome.plan)] if "budget_usd" in answers else lines
        )
        return outcome
    from ..console import render

    answers, planned = compute.rate_of_concurrency(answers)  # "200 concurrent users": the rate they make
    outcome = planned or compute.plan_inference(answers)
    render.plan(outcome.plan)
    options = compute.cheaper_options(answers, outcome)
    lines = explain_inference(outcome.plan, options, compute.spot_fleet(outcome.plan))
    if planned is not None and outcome.plan.throughput.meets_latency_sla:  # the rate came from a concurrency
        from .concurrency import explanation

        multiplier = float(compute.effective(answers)["peak_multiplier"])
        peak = float(answers["peak_rps"])
        lines.insert(1, explanation(float(answers["concurrency"]), outcome.plan.throughput, peak, multiplier))
    if "budget_usd" in answers:
        lines.append(serving_budget_line(answers, outcome.plan, options))
    if "owned_gpus" in answers:
        lines.append(owned_fleet_line(answers, outcome.plan))
    _paragraphs(session, lines)
    return outcome


def _paragraphs(session: Session, lines: list[str]) -> None:
    session.say("\nIn plain words:")
    for line in lines:
        session.say(textwrap.fill(line, width=110, initial_indent="  ", subsequent_indent="    "))


def _compare_words(rows: list[Any]) -> list[str]:
    ok = [r for r in rows if r.meets_latency_sla and r.monthly_cost is not None]
    if not ok:
        return ["No GPU meets the latency targets on these clouds; relax the target or shorten the prompts."]
    best = ok[0]
    words = [f"Cheapest: {best.total_gpus} x {best.gpu_type} on {best.cloud} (TP={best.tensor_parallel}), "
             f"${best.monthly_cost:,.0f} a month."]  # fmt: skip
    if len(ok) > 1:
        words.append(f"Next: {ok[1].total_gpus} x {ok[1].gpu_type} on {ok[1].cloud}, ${ok[1].monthly_cost:,.0f}.")
    return words


def _show_next_steps(session: Session, outcome: compute.Outcome, args: argparse.Namespace) -> bool:
    """Save, export or compare the plan until 'done'; True when an answer was changed instead (plan again)."""
    if getattr(args, "save", False):
        _save(session, outcome, args)
    while True:
        session.questions_asked += 1
        reply = session.channel.ask(NEXT_PROMPT)
        if reply is None and not session.channel.replay:
            raise Quit
        words = (reply or "").strip().split(maxsplit=1)
        action = words[0].lower() if words else "done"
        target = words[1].strip() if len(words) > 1 else None
        if action in ("done", "quit", "exit", "q", "no", "bye", "n"):
            session.say("Done.")
            return False
        try:
            if action == "save":
                _save(session, outcome, args)
            elif action == "json":
                _export(session, outcome, target or f"gpucast-{outcome.command}-plan.json", markdown=False)
            elif action in ("markdown", "md"):
                _export(session, outcome, target or f"gpucast-{outcome.command}-plan.md", markdown=True)
            elif action == "compare":
                _compare_options(session, outcome)
            elif action in ("back", "undo") and target is None:  # the last change (or answer) undone, planned again
                if session.back():
                    session.answers.pop("confirm", None)
                    return True
            elif action in ("help", "why", "?"):
                session.say("Type one of: save, json [FILE], markdown [FILE], compare, back, done.")
            elif _changed(session, (reply or "").strip()):
                return True
            else:
                session.say(
                    f"I don't know {action!r} here. Type one of: save, json [FILE], markdown [FILE], compare, done, "
                    "or a change to plan again (e.g. '30 rps', 'on H200')."
                )
        except GpucastError as error:
            session.say(f"That did not work: {error}")
        if session.channel.replay and session.channel.ended:
            return False


def _changed(session: Session, text: str) -> bool:
    """A change of an answer typed after the plan ("30 rps", "use fp8 instead"): applied as at the confirmation,
    which then asks again (it was "I don't know '30' here")."""
    from .errors import AnswerError
    from .questions import BY_KEY, interpret

    confirm = BY_KEY["confirm"]
    try:
        values = interpret(confirm, text, session.answers)
    except AnswerError:
        return False
    if not set(values) - {"confirm", "_unsure", "gpus", "clouds"}:
        return False
    session.answers.pop("confirm", None)
    session.answer(confirm, text)
    session.answers.pop("confirm", None)  # the summary is shown and confirmed again before the new plan
    return True


def _save(session: Session, outcome: compute.Outcome, args: argparse.Namespace) -> None:
    from ..console.saving import save_if_requested

    mode = outcome.sections.get("mode")
    service = getattr(args, "save_service", None)
    ns = argparse.Namespace(save=True, command=outcome.command, mode=mode if mode != "forecast" else None,
                            db=getattr(args, "db", None), actor=getattr(args, "actor", None), service=service,
                            save_service=service, source="chat")  # fmt: skip
    save_if_requested(ns, outcome.data(), outcome.sections)
    session.say("Saved to the plan history (see `gpucast history`).")


def _export(session: Session, outcome: compute.Outcome, path: str, *, markdown: bool) -> None:
    from ..console.files import write_json, write_text

    data = outcome.data()
    if not markdown:
        write_json(path, data)
        session.say(f"Plan written to {path} (JSON).")
        return
    if outcome.command == "predict":  # markdown_report reads serving and training plans only
        raise InputError("a Markdown report is made of a serving or training plan; 'json [FILE]' writes the forecast")
    if not isinstance(data, dict):
        json_path = str(Path(path).with_suffix(".json"))
        write_json(json_path, data)
        session.say(f"A Markdown report needs a single plan; the rows were written to {json_path} (JSON) instead.")
        return
    from ..reports import markdown_report

    write_text(path, markdown_report(data))
    session.say(f"Report written to {path} (Markdown).")


def _compare_options(session: Session, outcome: compute.Outcome) -> None:
    if outcome.command not in ("inference", "compare"):
        other = ("for fine-tuning see `gpucast compare --mode training`" if outcome.command == "training" else
                 "for a forecast, type another GPU (e.g. 'on H100') to plan its timeline again")  # fmt: skip
        session.say(f"'compare' ranks GPUs for serving; {other}.")
        return
    from ..console import render

    rows = compute.compare({**session.answers, "clouds": None}).plan
    render.comparison(rows)
    _paragraphs(session, _compare_words(rows))
