"""gpucast: capacity planning for LLM inference, from workload numbers and model physics.

Public API (seed-compatible names)::

    from gpucast import LLMWorkloadInput, ModelConfig, InferenceEngine
    plan = InferenceEngine().generate_plan(
        LLMWorkloadInput(requests_per_second=10, avg_input_tokens=500, avg_output_tokens=200),
        ModelConfig(model_name="llama-3.1-70b", precision="FP16"),
    )
    plan.gpu_resources.total_gpus, plan.cost.cost_per_million_tokens, plan.to_dict()
"""

__version__ = "0.1.0"

from .api import InferenceEngine, LLMForecastEngine, plan_inference
from .errors import (
    CatalogError,
    ConfigError,
    GpucastError,
    InfeasibleError,
    InputError,
    UnknownGPUError,
    UnknownModelError,
)
from .inputs import (
    AgentWorkloadInput,
    GPUConfig,
    LLMWorkloadInput,
    ModelConfig,
    ServingOptions,
    TrainingInput,
    TrainingOptions,
)
from .plan import LLMCapacityPlan
from .training_api import TrainingEngine, plan_training
from .training_plan import TrainingCapacityPlan

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
