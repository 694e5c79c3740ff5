"""The conversation's values: the dict every reader returns, the key of its doubts, and the range of each value the
planner accepts. A leaf module (no other ``chat`` import), so every reader names them from one place: before
2026-12-07 ``corrections`` kept its own copy of ``UNSURE`` beside ``parse``'s.

The ranges are the CLI's (``inputs.types`` ``LLMWorkloadInput.validate``/``ServingOptions.validate``/
``ModelConfig.validate``, ``inputs.training.TrainingInput.validate``): a value the CLI refuses is refused when it is
read, with what is accepted, instead of being dropped unsaid ("TP 0", "context length 0": the plan searched a layout
and used the default window) or failing only after the summary ("TP 3"). ``tests/test_chat_limits.py`` checks each
range against the CLI's own refusal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Values = dict[str, Any]
UNSURE = "_unsure"  # the key of the reasons a reading is a guess (removed before the answer is stored)
LEFT_OUT = "_left_out"  # {key: why} of the values an answer stated and the planner refuses (the rest is kept)


@dataclass(frozen=True)
class Limit:
    """What the planner accepts for one value: ``low`` < value (``low`` <= value when ``closed``) <= ``high``, a
    whole number when ``whole``, a power of two when ``power_of_two``."""

    what: str  # "tensor parallelism (--tp)": how the refusal names it
    low: float
    high: float
    whole: bool = False
    power_of_two: bool = False
    closed: bool = False
    unit: str = ""

    def accepted(self) -> str:
        """ "a power of two from 1 to 256": what the refusal says is accepted."""
        if self.power_of_two:
            return f"a power of two from 1 to {self.high:g} (1, 2, 4, 8, ...)"
        kind = "a whole number" if self.whole else "a number"
        start = f"from {_shown(self.low)}" if self.closed else f"greater than {_shown(self.low)}"
        return f"{kind} {start} up to {_shown(self.high)}{self.unit}"

    def refuses(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return True
        below = value < self.low if self.closed else value <= self.low
        if below or value > self.high or (self.whole and value != int(value)):
            return True
        return self.power_of_two and (value < 1 or int(value) & (int(value) - 1) != 0)


_TIME = " ms"
LIMITS: dict[str, Limit] = {
    "rps": Limit("the request rate (--rps)", 0, 1e7, unit=" requests/s"),
    "peak_rps": Limit("the peak request rate", 0, 1e7, unit=" requests/s"),
    "input_tokens": Limit("the tokens in (--input-tokens)", 1, 10_000_000, whole=True, closed=True),
    "output_tokens": Limit("the tokens out (--output-tokens)", 1, 1_000_000, whole=True, closed=True),
    "ttft_ms": Limit("the time to first token (--ttft-slo-ms)", 0, 1e7, unit=_TIME),
    "itl_ms": Limit("the time per output token (--itl-slo-ms)", 0, 1e6, unit=_TIME),
    "e2e_ms": Limit("the end-to-end time (--target-latency)", 0, 1e8, unit=_TIME),
    "peak_multiplier": Limit("the peak (--peak-multiplier)", 1, 100, closed=True, unit="x the average"),
    "growth_rate": Limit("the growth (--growth-rate)", 0, 1000, closed=True, unit="%"),
    "context_window": Limit(
        "the context window (--context-window)", 1, 10_000_000, whole=True, closed=True, unit=" tokens"
    ),
    "tp": Limit("tensor parallelism (--tp)", 1, 256, whole=True, power_of_two=True, closed=True),
    "pp": Limit("pipeline parallelism (--pp)", 1, 64, whole=True, power_of_two=True, closed=True),
    "ep": Limit("expert parallelism (--ep)", 1, 256, whole=True, power_of_two=True, closed=True),
    "min_replicas": Limit("the minimum replicas (--min-replicas)", 1, 100_000, whole=True, closed=True),
    "safety_margin": Limit("the headroom over the peak (--safety-margin, 0.25 = 25%)", 0, 10, closed=True),
    "model_size": Limit("the model size (--model-size)", 0, 2000, unit="B parameters"),
    "dataset_tokens": Limit("the training data (--dataset-size)", 1, 1e15, whole=True, closed=True, unit=" tokens"),
    "seq_len": Limit("the sequence length (--sequence-length)", 1, 10_000_000, whole=True, closed=True, unit=" tokens"),
    "epochs": Limit("the epochs (--epochs)", 1, 10_000, whole=True, closed=True),
    "global_batch": Limit(
        "the global batch (--global-batch-size)", 1, 10_000_000, whole=True, closed=True, unit=" sequences"
    ),
    "num_gpus": Limit("the GPUs of a fine-tune (--num-gpus)", 1, 100_000, whole=True, closed=True),
    "owned_gpus": Limit("the GPUs you have", 1, 100_000, whole=True, closed=True),
    "users": Limit("the number of users", 0, 1e10),
    "concurrency": Limit("the requests in flight at once", 0, 1e8),
    "deadline_hours": Limit("the deadline (--deadline-hours)", 0, 1e6, unit=" hours"),
    "llm_calls": Limit("the LLM calls per task (--calls-per-task)", 1, 10_000, closed=True),
}


def refusals(values: Values) -> dict[str, str]:
    """{key: why} of every value in ``values`` that cannot be planned ("0 is not usable for tensor parallelism
    (--tp): it takes a power of two from 1 to 256 ..."); empty when every value is in its range."""
    found: dict[str, str] = {}
    for key, limit in LIMITS.items():
        if key in values and limit.refuses(values[key]):
            value = values[key]
            shown = _shown(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)
            found[key] = f"{shown} is not usable for {limit.what}: it takes {limit.accepted()}"
    return found


def refusal(values: Values) -> str | None:
    """The first of ``refusals(values)``, or None."""
    return next(iter(refusals(values).values()), None)


def _shown(value: float) -> str:
    """ "10,000,000", "0.5": a number as the refusal writes it (not "1e+07")."""
    return f"{int(value):,}" if math.isfinite(value) and value == int(value) else f"{value:g}"
