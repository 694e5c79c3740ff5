"""The questions of the guided conversation: plain words, a default, a "why", and how to read
a bare answer. Which questions are asked depends on the goal (``flow``), and a question whose
answer is already known (from an earlier, longer message) is never asked.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from . import agent, names, token_volume
from .corrections import without_leading
from .errors import AnswerError
from .normalize import normalize
from .numbers import MULT, NUM, binary_k, number_value, token_count
from .parse import bare_number, extract, horizon_text, looks_like_file, yes_no
from .traffic import per_user_answer, read_latency, read_peak, read_rps
from .values import LEFT_OUT, UNSURE, Values, refusals

INTENTS = {"inference": "serve a model", "training": "fine-tune a model", "forecast": "forecast a service's growth",
           "compare": "compare GPUs"}  # fmt: skip
DEFAULTS: Values = {"intent": "inference", "model": "llama-3.1-8b", "gpu": None, "cloud": "aws", "rps": 10.0,
                    "llm_calls": 1.0, "input_tokens": 1000, "output_tokens": 300, "ttft_ms": 2000.0,
                    "method": "lora", "dataset_tokens": 100_000_000, "epochs": 3, "seq_len": 2048,
                    "horizon": "14d", "clouds": None, "confirm": True}  # fmt: skip
DEFAULT_PEAK = 1.5  # = LLMWorkloadInput.peak_load_multiplier, the CLI's --peak-multiplier default


@dataclass(frozen=True)
class Question:
    """One question: ``key`` is the answer that marks it done; ``read`` parses a bare answer."""

    key: str
    text: str
    why: str
    examples: str
    read: Callable[[str, Values], Values]
    default: Callable[[Values], Values]
    shown: Callable[[Values], str]
    applies: Callable[[Values], bool] = lambda answers: True
    done: Callable[[Values], bool] | None = None
    ask: Callable[[Values], str] | None = None  # the text when it depends on the answers (agent apps)

    def is_done(self, answers: Values) -> bool:
        return self.done(answers) if self.done else self.key in answers

    def text_for(self, answers: Values) -> str:
        return self.ask(answers) if self.ask else self.text


def _const(key: str) -> Callable[[Values], Values]:
    return lambda answers: {key: DEFAULTS[key]}


def _read_intent(text: str, answers: Values) -> Values:
    low = text.strip().lower()
    picks = {"1": "inference", "2": "training", "3": "forecast", "4": "compare", "serve": "inference",
             "inference": "inference", "train": "training", "fine-tune": "training", "forecast": "forecast",
             "compare": "compare"}  # fmt: skip
    if low in picks:
        return {"intent": picks[low]}
    raise AnswerError("Say what to plan: 'serve' (a model in production), 'fine-tune', 'forecast' or 'compare'.")


def _read_model(text: str, answers: Values) -> Values:
    found = names.find_model_reading(text, strict=False)
    if found:
        return {"model": found[0]}
    size = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(b|bn|billion)?\s*(params?|parameters?)?\s*", text.lower())
    if size:
        return {"model_size": float(size.group(1))}
    close = names.closest_models(text)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise AnswerError(f"I don't know the model {text.strip()!r}.{hint} Type a name ('llama 3 70b'), a size ('70b')"
                      " or see `gpucast models`.")  # fmt: skip


def _read_gpu(text: str, answers: Values) -> Values:
    clouds = names.find_clouds(text)
    extra: Values = {"cloud": clouds[0]} if clouds else {}
    if names.ANY_GPU.search(text) or (clouds and not names.find_gpus(text)):
        return {"gpu": None, **extra}
    named = names.find_gpus(text)
    if named:
        return {"gpu": named[0], **extra}
    close = names.closest_gpus(text, 1)
    if close:
        return {"gpu": close[0], **extra, UNSURE: [f"{text.strip()!r} is closest to {names.gpu_name(close[0])}"]}
    raise AnswerError(f"I don't know the GPU {text.strip()!r}. Try 'H100', 'A100 on gcp', 'L4' or 'any' "
                      "(see `gpucast gpus`).")  # fmt: skip


def _read_clouds(text: str, answers: Values) -> Values:
    if re.search(r"\b(all|any|every|everything|each)\b", text.lower()):
        return {"clouds": None}
    found = names.find_clouds(text)
    if found:
        return {"clouds": found}
    raise AnswerError("Name one or more clouds: aws, gcp, azure, or 'all'.")


def _positive(text: str, what: str, example: str) -> float:
    value = bare_number(text)
    if value is None or value <= 0:
        raise AnswerError(f"I need one number greater than 0 for {what}, e.g. {example}.")
    return value


def _rps_text(answers: Values) -> str:
    if agent.is_agent(answers):
        return (
            "How many agent tasks per second on a busy day, on average? (a task is one run of the agent, with "
            "several LLM calls)"
        )
    if "users" in answers:  # "for 5000 users": the rate follows from how often each of them sends a request
        return (f"You said {answers['users']:,.0f} users: how often does each send a request on a busy day? (e.g. "
                "'20 a day', 'one every 30 seconds', or the total: '5 rps in total')")  # fmt: skip
    return QUESTIONS_RPS_TEXT


def _rps_default(answers: Values) -> Values:
    return {"rps": agent.AGENT_DEFAULTS["rps"] if agent.is_agent(answers) else DEFAULTS["rps"]}


def _rps_shown(answers: Values) -> str:
    if agent.is_agent(answers):
        return f"{agent.AGENT_DEFAULTS['rps']:g} task/s"
    return "10 req/s in total" if "users" in answers else "10 req/s"


QUESTIONS_RPS_TEXT = "How many requests per second on a busy day, on average?"
PEAK_TEXT = ("How peaky is the traffic: at the busiest hour, how many times the daily average? (support and chat "
             "traffic often peaks at 2-3x; steady API traffic nearer 1.5x)")  # fmt: skip


def _peak_default(answers: Values) -> Values:
    return {"peak_multiplier": DEFAULT_PEAK}


def _read_tokens(text: str, answers: Values) -> Values:
    # a whole number with its multiplier ("2k", "1.5M", "2 million"): the "M" was not read, so "1.5M tokens" was 1
    found = re.findall(rf"(?<![a-z\d.,])({NUM})\s*({MULT})?(?![a-z\d.])", text.lower())
    values = [number_value(num, mult) for num, mult in found]
    counts = [token_count(v) for v in values]
    if len(values) in (1, 2) and None in counts:
        raise AnswerError("Token counts are whole numbers of at least 1: give e.g. '2000 in, 500 out' or '2k/500'.")
    if len(counts) == 2:
        return {"input_tokens": counts[0], "output_tokens": counts[1]}
    if len(counts) == 1:  # one number for two values: the prompt, asked back
        return {
            "input_tokens": counts[0],
            UNSURE: [
                f"one number: I read {counts[0]:,} as the tokens in (the answer "
                f"stays {answers.get('output_tokens', DEFAULTS['output_tokens'])})"
            ],
        }
    raise AnswerError("Give the tokens in and out, e.g. '2000 in, 500 out', '2k/500' or '2000 500'.")


def _read_method(text: str, answers: Values) -> Values:
    low = text.strip().lower()
    for word, method in (("qlora", "qlora"), ("lora", "lora"), ("full", "full"), ("all", "full")):
        if re.search(rf"\b{word}\b", low):
            return {"method": method}
    raise AnswerError("Choose 'full' (all weights), 'lora' (small adapters) or 'qlora' (adapters on a 4-bit model).")


def _read_dataset(text: str, answers: Values) -> Values:
    value = _positive(text, "the dataset size", "'500M tokens' or '2 billion'")
    if value < 10_000:
        raise AnswerError(f"{value:g} tokens is very little data: did you mean '{value:g}M' or '{value:g}B' tokens?")
    size = token_count(value)
    if size is None:
        raise AnswerError(f"{value:g} is not a whole number of tokens: give e.g. '500M tokens' or '2 billion'.")
    return {"dataset_tokens": size}


def _read_epochs(text: str, answers: Values) -> Values:
    value = _positive(text, "the number of epochs", "'3'")
    if value != int(value) or value > 1000:
        raise AnswerError("Epochs are whole passes over the data: give a whole number such as 3 (at most 1000).")
    return {"epochs": int(value)}


def _read_seq_len(text: str, answers: Values) -> Values:
    value = _positive(text, "the sequence length", "'2048' or '4k'")
    kilo = re.search(r"\d\s*(k)\b", text.lower())
    length = token_count(binary_k(value, kilo[1] if kilo else None), minimum=16)  # "4k" is 4,096
    if length is None or length > 10_000_000:
        raise AnswerError("A training example is a whole number of tokens between 16 and 10 million, e.g. '2048' or "
                          "'4k'.")  # fmt: skip
    return {"seq_len": length}


def _read_history(text: str, answers: Values) -> Values:
    path = looks_like_file(text)
    if path:
        return {"history": path}
    raise AnswerError("Give the path of a CSV (timestamp, requests per second), e.g. 'data/traffic.csv'.")


def _read_horizon(text: str, answers: Values) -> Values:
    match = re.fullmatch(r"\s*(?:an?\s+|one\s+)?(\d+(?:\.\d+)?)?\s*(h|hours?|d|days?|w|weeks?|months?|quarters?|years?)\s*",
                         text.lower())  # fmt: skip
    if not match:
        raise AnswerError("Say how far ahead, e.g. '2 weeks', '30 days' or '48 hours'.")
    return {"horizon": horizon_text(float(match.group(1) or 1), match.group(2))}


def _read_confirm(text: str, answers: Values) -> Values:
    answer = yes_no(text)
    if (
        answer is None
        and _intent_is("inference", "compare")(answers)
        and re.search(r"\d\s*(ms|milliseconds?|msec|s|secs?|seconds?)\b", text.lower())
    ):  # "500 ms" typed at the summary: the only answer a time with its unit can change is the latency target
        return read_latency(text, answers)
    if answer is None:
        raise AnswerError("Type 'yes' to compute the plan, or the value to change (e.g. '30 rps', 'on A100s').")
    return {"confirm": answer}


def _intent_is(*intents: str) -> Callable[[Values], bool]:
    return lambda answers: answers.get("intent", DEFAULTS["intent"]) in intents


def _concurrent(answers: Values) -> bool:
    """A concurrency is the load ("200 concurrent users"), except for an agent app, whose load is its tasks/s."""
    return "concurrency" in answers and not agent.is_agent(answers)


def _tokens_shown(answers: Values) -> str:
    return f"{DEFAULTS['input_tokens']} in / {DEFAULTS['output_tokens']} out"


QUESTIONS: tuple[Question, ...] = (
    Question("intent", "What would you like to plan: serve a model, fine-tune one, forecast a service's growth, "
             "or compare GPUs?", "The goal decides which questions matter: serving needs traffic and latency, "
             "fine-tuning needs the dataset size, forecasting needs a traffic history.",
             "'serve', 'fine-tune', 'forecast', 'compare', or everything at once: 'serve llama 3 70b on H100s, 20 rps'",
             _read_intent, _const("intent"), lambda a: INTENTS[DEFAULTS["intent"]]),
    Question("history", "Where is the service's traffic history (a CSV of timestamp and requests per second)?",
             "The forecast learns daily and weekly patterns and the trend from this history.",
             "'data/traffic.csv'", _read_history, lambda a: {}, lambda a: "none: a file is needed",
             _intent_is("forecast")),
    Question("horizon", "How far ahead should I forecast?", "Longer horizons give wider uncertainty bands.",
             "'2 weeks', '30 days', '48 hours'", _read_horizon, _const("horizon"), lambda a: "14 days",
             _intent_is("forecast")),
    Question("model", "Which model? (a name, even approximate, or a size such as '70b')",
             "The model's size and architecture decide how many GPUs one copy needs (weights and the KV cache that "
             "holds each conversation).", "'llama 3 70b', 'mixtral', 'qwen2.5 7b', '70b'", _read_model,
             _const("model"), lambda a: names.model_name(DEFAULTS["model"]),
             done=lambda a: "model" in a or "model_size" in a),
    Question("gpu", "Which GPU and cloud? ('any' lets me pick the cheapest)", "Memory per GPU decides how many GPUs "
             "hold one copy of the model; price and speed decide the cheapest choice.",
             "'H100', 'A100s on gcp', 'any on azure', 'L4'", _read_gpu,
             lambda a: {"gpu": None, "cloud": a.get("cloud", DEFAULTS["cloud"])},
             lambda a: f"the cheapest on {a.get('cloud', DEFAULTS['cloud'])}",
             _intent_is("inference", "training", "forecast")),
    Question("method", "Full fine-tuning, LoRA or QLoRA?", "Full fine-tuning trains every weight and needs ~16 bytes "
             "per parameter of GPU memory; LoRA trains small adapters on a frozen model; QLoRA also stores the "
             "model in 4 bits. That changes the GPU count several-fold.", "'lora', 'qlora', 'full'", _read_method,
             _const("method"), lambda a: "LoRA", _intent_is("training")),
    Question("dataset_tokens", "How many tokens of training data?", "Training time and cost grow with data x epochs.",
             "'500M tokens', '2 billion', '50k examples of 2k tokens'", _read_dataset, _const("dataset_tokens"),
             lambda a: "100M tokens", _intent_is("training")),
    Question("epochs", "How many passes (epochs) over the data?", "Each epoch repeats the whole dataset once.", "'3'",
             _read_epochs, _const("epochs"), lambda a: "3", _intent_is("training")),
    Question("seq_len", "How long is one training example, in tokens?", "Longer sequences need more activation "
             "memory per GPU.", "'2048', '4k'", _read_seq_len, _const("seq_len"), lambda a: "2048",
             _intent_is("training")),
    Question("rps", QUESTIONS_RPS_TEXT, "The request rate sets how many copies (replicas) of the model run side by "
             "side; GPUs grow roughly in proportion. For an agent, every task makes several LLM calls.",
             "'20', '20 rps', '1.2k requests per minute', 'about 3 million requests a day', '2 tasks per second'",
             read_rps, _rps_default, _rps_shown, _intent_is("inference", "compare"),
             done=lambda a: "rps" in a or "peak_rps" in a or _concurrent(a) or token_volume.stated(a) is not None,
             ask=_rps_text),
    Question("peak", PEAK_TEXT, "GPUs are sized for the busiest hour, not the average: a fleet for 2x the average "
             "costs about 2x. Planning at the average would breach the latency target every day at peak.",
             "'3x', '2 to 3 times', 'double', 'flat', '60 rps at peak'", read_peak, _peak_default,
             lambda a: f"{DEFAULT_PEAK:g}x", _intent_is("inference", "compare"),
             done=lambda a: "peak_multiplier" in a or "peak_rps" in a or _concurrent(a)),  # in flight: the peak
    Question("agent_shape", "How does one agent task look?", "Every LLM call is a request for the GPUs, and call k "
             "re-sends the shared prompt, k x the new tokens and the earlier answers: the context grows with every "
             "call. A prefix cache lets the engine skip the repeated part, so these numbers decide calls/s, the "
             "mean prompt per call and the cache hit rate. Say 'no prefix caching' if your engine has it off, and "
             "e.g. 'tools take 3 s' for the time between calls.",
             "'10 calls, 4k system prompt, each call adds 800 tokens, 300 out', '10, 4000, 800, 300'",
             agent.read_shape, agent.default_shape, agent.shown_shape,
             lambda a: agent.is_agent(a) and _intent_is("inference", "compare")(a),
             done=lambda a: not agent.missing(a), ask=agent.question_text),
    Question("tokens", "How long are a typical request and its answer, in tokens? (1 token is about 3/4 of a word)",
             "Long prompts make the first token slow and fill the KV cache; long answers keep GPUs busy longer.",
             "'2k in, 500 out', '2000/500', '2000 500'", _read_tokens,
             lambda a: {"input_tokens": DEFAULTS["input_tokens"], "output_tokens": DEFAULTS["output_tokens"]},
             _tokens_shown, lambda a: _intent_is("inference", "compare", "forecast")(a) and not (
                 agent.is_agent(a) and _intent_is("inference", "compare")(a)), done=lambda a: "input_tokens" in a),
    Question("latency", "How quickly must the answer start appearing, at worst (p99)?", "A tighter time to first "
             "token means fewer requests batched together per GPU, so more GPUs.",
             "'2 seconds', '500 ms', 'p99 under 2s', 'end-to-end within 30 s', 'no limit'", read_latency,
             _const("ttft_ms"), lambda a: "2 s", _intent_is("inference", "compare"),
             done=lambda a: "ttft_ms" in a or "e2e_ms" in a or "itl_ms" in a),
    Question("clouds", "Which clouds should I compare?", "Prices differ between clouds and not every GPU is offered "
             "everywhere.", "'all', 'aws and gcp', 'azure'", _read_clouds, _const("clouds"),
             lambda a: "all: every cloud of the price catalog", _intent_is("compare")),
    Question("confirm", "Shall I compute the plan?", "Nothing is computed until you confirm; you can still change "
             "any answer by typing it (e.g. '30 rps').", "'yes', or a change such as 'on A100s'", _read_confirm,
             _const("confirm"), lambda a: "yes", done=lambda a: a.get("confirm") is True),
)  # fmt: skip
BY_KEY = {q.key: q for q in QUESTIONS}


def next_question(answers: Values) -> Question | None:
    """The first question that applies to the goal and is not answered yet."""
    for question in QUESTIONS:
        if question.applies(answers) and not question.is_done(answers):
            return question
    return None


def interpret(question: Question, text: str, answers: Values) -> Values:
    """Values in an answer to ``question``: everything stated explicitly, plus the bare answer.

    When the reading is a guess (a typo corrected, a range, a number without its unit, the closest catalog
    name), the values carry ``UNSURE`` reasons and the session asks before it uses them.
    Raises AnswerError only when nothing at all could be read from the text."""
    if question.key == "confirm" and (flag := yes_no(text)) is not None:
        return {"confirm": flag}
    text, guesses = normalize(text)
    values = _interpret(question, text, answers)
    reasons = [*guesses, *values.pop(UNSURE, [])]
    if "model" in values:
        found = names.find_model_reading(text, strict=question.key != "model")
        if found and not found[1]:
            reasons.append(f"{text.strip()!r} is closest to the catalog model {names.model_name(found[0])}")
    return {**values, UNSURE: reasons} if reasons and _readable(values) else values


def _readable(values: Values) -> bool:
    return any(k not in ("intent", UNSURE, LEFT_OUT) for k in values)


# a rate answered to the peak question is the peak, unless it says it is the average or corrects an earlier
# answer ("actually make it 20 rps", "change it to 20 rps", "I meant 20 rps": the average asked just before)
AVERAGE_OR_CORRECTION = (r"\b(average|avg|mean|normal\w*|usual\w*|actually|make it|change\w*|instead|i meant|"
                         r"correction)\b")  # fmt: skip


def _interpret(question: Question, text: str, answers: Values) -> Values:
    values = agent.as_chatbot(_read_all(question, text, answers), text, answers)  # "a 4k system prompt": no agent
    refused = refusals(values)  # the CLI refuses them: never planned, and said with what is accepted
    if refused:
        kept = {key: value for key, value in values.items() if key not in refused}
        if not _readable(kept):  # nothing else stated: the question is asked again
            raise AnswerError(f"{next(iter(refused.values()))}. Please answer again, e.g. {question.examples}.")
        values = {
            **kept,
            LEFT_OUT: {**values.get(LEFT_OUT, {}), **refused},
        }  # "serve qwen3 32b on h100, tp 0": the model and GPU stand
    both = {**answers, **values}
    stated = "rps" in values or "peak_rps" in values
    if stated and "rps" in both and "peak_rps" in both and both["peak_rps"] < both["rps"]:
        # a contradiction, planned before as "peaks 1x" without a word
        raise AnswerError(
            f"A peak of {both['peak_rps']:g} requests/s is below the average of {both['rps']:g}: the busiest "
            "hour is at least the average; give the peak again (e.g. '3x' or '60 rps'), or both in one answer."
        )
    return values


def _read_all(question: Question, text: str, answers: Values) -> Values:
    stated = extract(text)
    if question.key == "peak" and "rps" in stated:
        if re.search(AVERAGE_OR_CORRECTION, text.lower()):
            return _with_intent(question, stated)  # the average changed; the peak is asked again
        stated["peak_rps"] = stated.pop("rps")  # the answer to "how peaky" is the peak rate
    if question.key == "confirm" and (flag := yes_no(text)) is not None:
        return {"confirm": flag}
    if question.key == "rps" and per_user_answer(text, answers):  # "a request every 2 minutes": each user's
        with contextlib.suppress(AnswerError):
            return _with_intent(question, {**stated, **question.read(without_leading(text), answers)})
    if question.is_done({**answers, **stated}):
        return _with_intent(question, stated)
    if _owns_the_number(stated, text):  # "tp 2" answered to the rate question is no 2 requests/s
        return _with_intent(question, stated)
    try:
        return _with_intent(question, {**question.read(without_leading(text), answers), **stated})
    except AnswerError:
        if stated:
            return _with_intent(question, stated)
        raise


def _owns_the_number(stated: Values, text: str) -> bool:
    """Whether the only number of ``text`` is a value ``stated`` holds ("tp 2", "32k context"), so a question's reader
    of a bare number must not read it again as its own answer."""
    numeric = any(isinstance(value, (int, float)) and not isinstance(value, bool)
                  for key, value in stated.items() if key not in ("intent", UNSURE, LEFT_OUT))  # fmt: skip
    return numeric and len(re.findall(r"(?<![a-z\d.,])\d+(?:[.,]\d+)*", text.lower())) == 1


def _with_intent(question: Question, values: Values) -> Values:
    """Infer the goal from the details of a first message ("llama 3 70b, 20 rps" is about serving)."""
    if question.key != "intent" or "intent" in values:
        return values
    for intent, keys in (("forecast", ("history", "horizon")), ("training", ("dataset_tokens", "epochs", "method")),
                         ("inference", ("rps", "peak_rps", "input_tokens", "ttft_ms", "e2e_ms", "llm_calls", "model",
                                        "model_size", "gpu", "agent", *agent.SHAPE_KEYS))):  # fmt: skip
        if any(k in values for k in keys):
            return {**values, "intent": intent}
    return values
