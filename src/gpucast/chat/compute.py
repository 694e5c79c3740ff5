"""Turn the conversation's answers into the same config sections the CLI builds, and compute
through the same path (``gpucast.inputs.sections`` -> the API), so a chat plan
equals the ``gpucast inference`` plan for the same numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import agent, token_volume
from .questions import DEFAULT_PEAK, DEFAULTS
from .values import Values

DEFAULT_GLOBAL_BATCH = 64  # sequences per optimizer step when the user does not say


@dataclass
class Outcome:
    """A computed result: what to save/export (``data``), under which command, and how it was made."""

    command: str  # the CLI command that makes the same result: inference, training, compare, predict
    sections: dict[str, Any]
    plan: Any = None
    data_fn: Callable[[], Any] | None = None

    def data(self) -> Any:
        if isinstance(self.plan, list):
            return [row.to_dict() for row in self.plan]
        if self.plan is not None:
            return self.plan.to_dict()
        return self.data_fn() if self.data_fn else None


def effective(answers: Values) -> Values:
    """Answers with defaults filled in and derived values: peak from a peak rate, LLM calls x rate (an agent's
    defaults are its task shape's: ``agent.AGENT_DEFAULTS``)."""
    values = {**DEFAULTS, **(agent.AGENT_DEFAULTS if agent.is_agent(answers) else {}), **answers}
    if not {"rps", "peak_rps"} & set(answers) and not agent.is_agent(answers):  # "50M tokens a day"
        derived = token_volume.requests_per_s(answers, float(values["input_tokens"]), float(values["output_tokens"]))
        values["rps"] = values["rps"] if derived is None else derived
    multiplier = float(answers.get("peak_multiplier", DEFAULT_PEAK))
    if "peak_rps" in answers:
        if "rps" in answers and answers["rps"] > 0:
            multiplier = max(1.0, answers["peak_rps"] / answers["rps"])
        else:
            values["rps"] = answers["peak_rps"] / multiplier
    values["peak_multiplier"] = multiplier
    values["llm_rps"] = float(values["rps"]) * float(values["llm_calls"])
    return values


def _model_section(values: Values, answers: Values) -> dict[str, Any]:
    model: dict[str, Any] = {}
    if "model_size" in answers:
        model["model_size_billions"] = float(answers["model_size"])
    else:
        model["model_name"] = values["model"]
    if "precision" in answers:
        model["precision"] = answers["precision"]
    return model


def inference_sections(answers: Values) -> dict[str, Any]:
    """The seed config sections (``workload``, ``model``, ``gpu``, ``serving``) for a serving plan.

    For an agent app the answers make the ``agent`` section instead of a request rate and prompt length, and the
    CLI's own transform (``sections.agent_into_workload``) derives calls/s and the mean prompt per call from it;
    the context window is the longest task's context, as ``--context-window`` would give it."""
    from ..inputs.sections import agent_into_workload
    from ..inputs.types import DEFAULT_CONTEXT_WINDOW

    values = effective(answers)
    model = _model_section(values, answers)
    tokens_in, tokens_out = int(values["input_tokens"]), int(values["output_tokens"])
    is_agent = agent.is_agent(answers)
    window = agent.context_window(values) if is_agent else tokens_in + tokens_out
    if window > DEFAULT_CONTEXT_WINDOW:  # else the planner's default: 4096, or the model's own window if shorter
        model["context_window"] = window
    if "context_window" in answers:  # stated ("32k context"): the engine's max model length, as --context-window
        model["context_window"] = int(answers["context_window"])
    # the conversation asks "at worst (p99)": its latency answers bound the 99th percentile unless they name
    # another statistic ("median TTFT 200 ms", "p95 under 800 ms")
    serving: dict[str, Any] = {"cloud": values["cloud"], "slo_percentile": str(answers.get("slo_percentile", "99"))}
    for key in ("pricing", "engine", "tp", "pp", "ep", "min_replicas", "safety_margin"):  # as the CLI's flags
        if key in answers:
            serving[key] = answers[key]
    for key, option in (("ttft_ms", "ttft_slo_ms"), ("itl_ms", "itl_slo_ms"), ("e2e_ms", "target_latency_ms")):
        if key in answers:
            serving[option] = float(answers[key])
    if "ttft_ms" not in answers and "e2e_ms" not in answers:
        serving["ttft_slo_ms"] = float(DEFAULTS["ttft_ms"])
    sections: dict[str, Any] = {
        "mode": "inference",
        "workload": {"requests_per_second": values["llm_rps"], "avg_input_tokens": tokens_in,
                     "avg_output_tokens": tokens_out, "peak_load_multiplier": values["peak_multiplier"]},
        "model": model,
        "serving": serving,
    }  # fmt: skip
    if is_agent:
        sections["workload"] = {"avg_output_tokens": tokens_out, "peak_load_multiplier": values["peak_multiplier"]}
        sections["agent"] = agent.agent_section(values, answers)
    if "growth_rate" in answers:  # "expect 50% growth": --growth-rate, on top of the peak
        sections["workload"]["growth_rate"] = float(answers["growth_rate"])
    if values.get("gpu"):
        sections["gpu"] = {"gpu_type": values["gpu"]}
    return agent_into_workload(sections)


def training_sections(answers: Values) -> dict[str, Any]:
    """The config sections (``training``, ``model``, ``gpu``, ``serving``) for a fine-tuning plan."""
    values = effective(answers)
    training = {"dataset_size_tokens": int(values["dataset_tokens"]), "sequence_length": int(values["seq_len"]),
                "num_epochs": int(values["epochs"]), "global_batch_size": int(values.get("global_batch",
                DEFAULT_GLOBAL_BATCH)), "method": values["method"]}  # fmt: skip
    for key, option in (("num_gpus", "num_gpus"), ("deadline_hours", "deadline_hours")):  # --num-gpus, --deadline-hours
        if key in answers:
            training[option] = answers[key]
    serving: dict[str, Any] = {"cloud": values["cloud"]}
    serving.update({key: answers[key] for key in ("pricing", "tp", "pp", "ep") if key in answers})
    sections: dict[str, Any] = {"mode": "training", "training": training, "model": _model_section(values, answers),
                                "serving": serving}  # fmt: skip
    if values.get("gpu"):
        sections["gpu"] = {"gpu_type": values["gpu"]}
    return sections


def rate_of_concurrency(answers: Values) -> tuple[Values, Outcome | None]:
    """The answers with the peak rate of a stated concurrency ("200 concurrent users": N in flight, N x rps / in-flight
    per replica by Little's law, ``chat.concurrency``), and the plan made at that rate (None where there is nothing
    to derive: a rate was given, or an agent app, whose tasks are counted apart). The plan is made again with the
    derived rate until it settles within 1%."""
    from . import concurrency

    if "concurrency" not in answers or {"rps", "peak_rps"} & set(answers) or agent.is_agent(answers):
        return answers, None
    values = effective(answers)
    peak = concurrency.first_guess({**values, "concurrency": answers["concurrency"]})
    tried: list[float] = []
    gpu = None
    for _ in range(concurrency.ROUNDS):
        trial = {**answers, "peak_rps": peak}
        outcome = plan_inference(trial)
        derived = concurrency.peak_rate(float(answers["concurrency"]), outcome.plan.throughput)
        chosen = outcome.plan.gpu_resources.recommended_gpu_type
        # settled; or the cheapest GPU changed with the rate and the plan is sized above what its own operating point
        # needs (an unpinned GPU can flip between two at neighbouring rates: that plan holds the N within the targets)
        if derived is None or abs(derived - peak) <= 0.01 * peak or (derived < peak and gpu not in (None, chosen)):
            return trial, outcome
        tried.append(peak)
        peak, gpu = derived, chosen
    return {**answers, "peak_rps": max([*tried, peak])}, None


def plan_inference(answers: Values) -> Outcome:
    from ..inputs.sections import inference_inputs_from_sections as _inputs
    from ..planning.inference import plan_inference as plan

    sections = inference_sections(answers)
    return Outcome("inference", sections, plan(*_inputs(sections)))


def plan_training(answers: Values) -> Outcome:
    from ..inputs.sections import training_inputs_from_sections as _training_inputs
    from ..training.plan import plan_training as plan

    sections = training_sections(answers)
    return Outcome("training", sections, plan(*_training_inputs(sections)))


def compare(answers: Values, *, top: int = 10) -> Outcome:
    """Every GPU x cloud for the serving answers, cheapest first (the ``compare`` command's ranking)."""
    from ..inputs.sections import inference_inputs_from_sections as _inputs
    from ..planning.compare import compare_gpus

    sections = inference_sections(answers)
    sections.pop("gpu", None)
    workload, model, gpu, options = _inputs(sections)
    clouds = answers.get("clouds") or None  # [] is the answer "any cloud": every provider
    named = answers.get("gpus") if effective(answers)["intent"] == "compare" else None  # "H100 vs A100": --gpus
    rows = compare_gpus(workload, model, options, clouds=clouds, gpu_types=named or None,
                        target_gpu_utilization=gpu.target_gpu_utilization)  # fmt: skip
    return Outcome("compare", sections, rows[:top])


def cheaper_options(answers: Values, outcome: Outcome) -> list[tuple[str, Any]]:
    """Real plans for the usual levers: any GPU (when one was pinned), FP8 weights (spot pricing is
    ``spot_fleet``: the same fleet at the spot price, not another plan).

    Each entry is (what changed, plan); options that cannot be planned are left out."""
    from ..errors import GpucastError
    from ..inputs.sections import inference_inputs_from_sections as _inputs
    from ..planning.inference import plan_inference as plan

    levers: list[tuple[str, Values, dict[str, Any]]] = []
    if answers.get("gpu"):
        levers.append(("letting me pick the GPU", {"gpu": None}, {}))
    precision = outcome.plan.inputs.get("precision", "FP16")
    if precision in ("FP16", "BF16", "FP32"):
        levers.append(("FP8 weights (a small quality risk; check your evals)", {"precision": "FP8"}, {}))
    found: list[tuple[str, Any]] = []
    for label, change, serving in levers:
        sections = inference_sections({**answers, **change})
        if change.get("gpu", "keep") is None:
            sections.pop("gpu", None)
        sections["serving"].update(serving)
        try:
            found.append((label, plan(*_inputs(sections))))
        except GpucastError:
            continue
    return found


# stated answers the goal's command has no setting for: the summary names them instead of dropping them unsaid.
# `gpucast predict` takes its load from the history (its --growth-rate is % per month on the fitted trend, not the
# serving plan's one-off growth); `gpucast training` has no request rate, prompt, latency target or engine.
_LATENCY = ("ttft_ms", "itl_ms", "e2e_ms", "slo_percentile")
_SERVING = ("context_window", "engine", "growth_rate", "llm_calls", "min_replicas", "safety_margin")
_TRAINING = (
    "method",
    "dataset_tokens",
    "epochs",
    "seq_len",
    "global_batch",
    "num_gpus",
    "deadline_hours",
    "history",
    "horizon",
)
_LOAD = (
    "rps",
    "peak_rps",
    "users",
    "concurrency",
    *token_volume.KEYS.values(),
    "peak_multiplier",
    "owned_gpus",
    "owned_gpu",
)
UNUSED = {"forecast": ("model_size", *_LOAD, *_LATENCY, *_SERVING, "pricing", "tp", "pp", "ep", "budget_usd"),
          "training": (*_LOAD, "input_tokens", "output_tokens", *_LATENCY, *_SERVING, "history", "horizon"),
          "inference": _TRAINING, "compare": (*_TRAINING, "owned_gpus", "owned_gpu")}  # fmt: skip


def unused_answers(answers: Values) -> Values:
    """The stated answers the plan for the goal cannot use (a forecast of a bare size gets no capacity timeline: it
    needs a catalog model name)."""
    keys = UNUSED.get(effective(answers)["intent"], ())
    return {key: answers[key] for key in keys if key in answers}


def forecast(answers: Values, save_args: argparse.Namespace) -> Outcome:
    """Run ``gpucast predict`` with the answers as its flags (the same code path, the same output)."""
    from ..console.flags import add_save_flags
    from ..console.predict import add_predict_flags, run_predict

    values = effective(answers)
    argv = ["--history", str(values["history"]), "--horizon", str(values["horizon"]), "--cloud", values["cloud"]]
    if "model_size" not in answers:
        argv += ["--model", values["model"], "--input-tokens", str(int(values["input_tokens"])),
                 "--output-tokens", str(int(values["output_tokens"]))]  # fmt: skip
    if "precision" in answers and "model_size" not in answers:
        argv += ["--precision", str(answers["precision"])]
    if values.get("gpu"):
        argv += ["--gpu", values["gpu"]]
    parser = argparse.ArgumentParser(prog="gpucast predict", add_help=False)
    add_predict_flags(parser)
    add_save_flags(parser, service_flag=False)
    args = parser.parse_args(argv)
    args.command = "predict"
    run_predict(args)

    def as_json() -> Any:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            run_predict(replace_ns(args, json=True))
        return json.loads(buffer.getvalue())

    return Outcome("predict", {"mode": "forecast", "argv": argv}, None, data_fn=as_json)


def replace_ns(args: argparse.Namespace, **changes: Any) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), **changes})


def spot_fleet(plan: Any) -> Any:
    """The fleet the plan just made (its GPU type, GPUs per copy and copies at peak) at the cloud's spot price,
    or None where the cloud publishes no spot price for that GPU.

    Re-planning with spot pricing could pick another GPU (a one-zone spot outlier made an earlier version quote
    72 x A100-40GB beside a 24 x H100 plan; issue 23), so the advice prices exactly the planned fleet."""
    from ..catalog import loader
    from ..core.cost import cheapest_fleet

    res, cost = plan.gpu_resources, plan.cost
    if cost is None:
        return None
    prices = loader.prices_for(cost.cloud, loader.resolve_gpu(res.recommended_gpu_type).id)
    return cheapest_fleet(prices, gpus_per_replica=res.min_gpus_per_replica, replicas=res.max_replicas,
                          pricing="spot")  # fmt: skip
