"""gpucast: capacity planning for LLM inference, from workload numbers and model physics.

Public API (seed-compatible names)::

    from gpucast import LLMWorkloadInput, ModelConfig, InferenceEngine
    plan = InferenceEngine().generate_plan(
        LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200),
        ModelConfig(model_name="llama-3.1-70b", precision="FP16"),
    )
    plan.gpu_resources.total_gpus, plan.cost.cost_per_million_tokens, plan.to_dict()
"""

from .engines import InferenceEngine, LLMForecastEngine, TrainingEngine
from .errors import (
    CatalogError,
    ConfigError,
    GpucastError,
    InfeasibleError,
    InputError,
    UnknownGPUError,
    UnknownModelError,
)
from .inputs.agent import AgentWorkloadInput
from .inputs.training import TrainingInput, TrainingOptions
from .inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from .planning.inference import plan_inference
from .plans.inference import LLMCapacityPlan
from .plans.training import TrainingCapacityPlan
from .training.plan import plan_training
from .version import __version__

__all__ = [
    "AgentWorkloadInput",
    "CatalogError",
    "ConfigError",
    "GPUConfig",
    "GpucastError",
    "InfeasibleError",
    "InferenceEngine",
    "InputError",
    "LLMCapacityPlan",
    "LLMForecastEngine",
    "LLMWorkloadInput",
    "ModelConfig",
    "ServingOptions",
    "TrainingCapacityPlan",
    "TrainingEngine",
    "TrainingInput",
    "TrainingOptions",
    "UnknownGPUError",
    "UnknownModelError",
    "__version__",
    "plan_inference",
    "plan_training",
]
