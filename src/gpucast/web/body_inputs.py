"""Request bodies -> the Python API's input dataclasses, for the JSON API (``api_v1``) and the pages alike."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError

from ..inputs.sections import agent_into_workload, inference_inputs_from_sections
from ..inputs.training import TrainingInput, TrainingOptions
from ..inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from .schemas import InferenceBody, TrainingBody

TRAINING_INPUT_KEYS = tuple(TrainingInput.__dataclass_fields__)


def inference_inputs(body: InferenceBody) -> tuple[LLMWorkloadInput, ModelConfig, GPUConfig, ServingOptions]:
    """The Python API's dataclasses from a request body (only the fields the client set), through the CLI's own
    sections path: an ``agent`` section becomes calls/s and the mean prompt per call (``agent_into_workload``)."""
    errors = body.missing()
    if errors:
        raise RequestValidationError(errors)
    return inference_inputs_from_sections(agent_into_workload(body.sections()))


def training_inputs(body: TrainingBody) -> tuple[TrainingInput, ModelConfig, GPUConfig, TrainingOptions]:
    """As the CLI does: seed keys of ``training`` make the TrainingInput, the rest (and the serving section's
    cloud and pricing) the TrainingOptions; training defaults to BF16 weights."""
    section = body.training.given()
    seed = {k: v for k, v in section.items() if k in TRAINING_INPUT_KEYS}
    extra = {k: v for k, v in section.items() if k not in TRAINING_INPUT_KEYS} | body.serving.given()
    if "lora_targets" in extra:
        extra["lora_targets"] = tuple(extra["lora_targets"])
    model = {"precision": "BF16"} | body.model.given()
    return TrainingInput(**seed), ModelConfig(**model), GPUConfig(**body.gpu.given()), TrainingOptions(**extra)
