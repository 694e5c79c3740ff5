"""The seed's Python API classes: ``InferenceEngine``, ``TrainingEngine`` and ``LLMForecastEngine``.

Thin facades over the planners (``gpucast.planning``, ``gpucast.training``) with the seed's names and
signatures, exported from ``gpucast`` itself: ``InferenceEngine().generate_plan(workload, model)``,
``LLMForecastEngine().generate_inference_plan(...)`` / ``compare_gpu_options(...)`` / ``forecast_future_needs(...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .inputs.training import TrainingInput, TrainingOptions
from .inputs.types import GPUConfig, LLMWorkloadInput, ModelConfig, ServingOptions
from .planning.inference import plan_inference
from .plans.inference import LLMCapacityPlan
from .plans.training import TrainingCapacityPlan
from .training.plan import plan_training

if TYPE_CHECKING:
    from .planning.compare import ComparisonRow
    from .planning.timeline import FutureNeeds


class InferenceEngine:
    """Seed-compatible entry point: ``InferenceEngine().generate_plan(workload, model)``."""

    def generate_plan(
        self,
        workload: LLMWorkloadInput,
        model: ModelConfig,
        gpu: GPUConfig | None = None,
        options: ServingOptions | None = None,
    ) -> LLMCapacityPlan:
        return plan_inference(workload, model, gpu, options)


class LLMForecastEngine:
    """Seed-compatible facade over every planner."""

    def generate_inference_plan(
        self,
        workload: LLMWorkloadInput,
        model: ModelConfig,
        gpu: GPUConfig | None = None,
        options: ServingOptions | None = None,
    ) -> LLMCapacityPlan:
        return plan_inference(workload, model, gpu, options)

    def generate_training_plan(
        self,
        training: TrainingInput,
        model: ModelConfig,
        gpu: GPUConfig | None = None,
        options: TrainingOptions | None = None,
    ) -> TrainingCapacityPlan:
        return plan_training(training, model, gpu, options)

    def forecast_future_needs(
        self,
        rps_history: Any,
        model: ModelConfig | None,
        horizon_days: float,
        scenario: str = "baseline",
        **kwargs: Any,
    ) -> FutureNeeds:
        """Seed API: forecast hourly RPS history and size capacity per day (needs the ``forecast`` extra)."""
        from .planning.timeline import forecast_future_needs  # imported lazily: pandas

        return forecast_future_needs(rps_history, model, horizon_days, scenario, **kwargs)

    def compare_gpu_options(
        self,
        workload: LLMWorkloadInput,
        model: ModelConfig,
        options: ServingOptions | None = None,
        *,
        clouds: list[str] | None = None,
        precisions: list[str] | None = None,
        gpu_types: list[str] | None = None,
    ) -> list[ComparisonRow]:
        from .planning.compare import compare_gpus  # imported lazily: keeps CLI start-up small

        return compare_gpus(workload, model, options, clouds=clouds, precisions=precisions, gpu_types=gpu_types)


class TrainingEngine:
    """Seed-compatible entry point: ``TrainingEngine().generate_plan(training, model)``."""

    def generate_plan(
        self,
        training: TrainingInput,
        model: ModelConfig,
        gpu: GPUConfig | None = None,
        options: TrainingOptions | None = None,
    ) -> TrainingCapacityPlan:
        return plan_training(training, model, gpu, options)
