"""What a training request pins (TP, PP, DP, GPU count, the FP8 recipe), checked against the model and GPU before
any search: ``gpucast training``, ``training-estimate`` and ``compare --mode training`` refuse the same pins alike,
naming the flag."""

from __future__ import annotations

from dataclasses import replace

from ..core.specs import GPUSpec, ModelSpec, Precision
from ..core.training_memory import FP8_RECIPES
from ..errors import InputError
from ..inputs.training import TrainingOptions


def check_fp8_recipe(recipe: str | None, precision: Precision, gpu: GPUSpec) -> str:
    """The FP8 recipe to use ("delayed" when none is given), or an InputError naming the flag."""
    if recipe is None:
        return "delayed"
    if recipe not in FP8_RECIPES:
        raise InputError(f"--fp8-recipe {recipe!r} is not one of {', '.join(FP8_RECIPES)}")
    if precision is not Precision.FP8:
        raise InputError(f"--fp8-recipe {recipe} applies to FP8 training: add --precision FP8")
    if recipe == "mxfp8" and gpu.family != "blackwell":
        raise InputError(
            f"--fp8-recipe mxfp8 needs Blackwell tensor cores (MX block scaling); {gpu.name} is {gpu.family}: "
            "use --fp8-recipe delayed or current"
        )
    return recipe


def check_tp_heads(tp: int | None, spec: ModelSpec) -> None:
    """A pinned TP must split the attention heads (each rank holds whole heads): `training`, `training-estimate`
    and `compare --mode training` refuse it alike, naming --tp."""
    if tp is not None and spec.num_heads % tp:
        raise InputError(f"--tp {tp} does not divide {spec.name}'s {spec.num_heads} attention heads")


def pinned_options(options: TrainingOptions, spec: ModelSpec) -> TrainingOptions:
    """The options with a pinned DP turned into TP, PP and the GPU count, after checking that the pinned TP, PP and
    GPU count can run the model (InputError naming the flag); ``compare --mode training`` pins the same way."""
    if options.dp is not None:  # DP pinned: TP and PP too (default 1), and the GPU count follows
        tp, pp = options.tp or 1, options.pp or 1
        options = replace(options, tp=tp, pp=pp, num_gpus=options.dp * tp * pp * options.cp)
    check_tp_heads(options.tp, spec)
    if options.pp is not None and options.pp > spec.num_layers:
        raise InputError(f"--pp {options.pp} is more pipeline stages than {spec.name}'s {spec.num_layers} layers")
    pinned = (options.tp or 1) * (options.pp or 1) * options.cp
    if options.num_gpus and options.num_gpus % pinned:
        raise InputError(f"--num-gpus {options.num_gpus} is not a multiple of TP x PP x CP = {pinned}")
    return options
