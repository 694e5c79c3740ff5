"""``gpucast compare``: the same workload planned on every GPU (or precision, cloud) and ranked by cost."""

from __future__ import annotations

import argparse
import json

from ..console.saving import apply_service, emit, save_if_requested
from ..inputs.sections import inference_inputs_from_sections, training_inputs_from_sections
from ..inputs.types import GPUConfig
from .args import sections_from_args


def run_compare(args: argparse.Namespace) -> int:
    """``gpucast compare``: rank GPUs (or training setups) for one workload, cheapest first."""
    from ..console import render
    from ..planning.compare import compare_gpus, require_rows

    sections = apply_service(args, sections_from_args(args))

    def split(value: str | None) -> list[str] | None:
        names = [v.strip() for v in value.split(",") if v.strip()] if value else None
        return None if names and "all" in [n.lower() for n in names] else names  # all = every provider

    from ..errors import InputError

    if args.gpus is not None and args.gpu_type is not None:  # --gpus won and --gpu-type was dropped (QA 2026-12-07)
        raise InputError(f"give --gpus or --gpu-type, not both (--gpus {args.gpus!r} --gpu-type {args.gpu_type!r}): "
                         "--gpus names every GPU to rank")  # fmt: skip
    for flag, value, example in (("--gpus", args.gpus, "H100,A100"), ("--precisions", args.precisions, "BF16,FP8")):
        if value is not None and not any(v.strip() for v in value.split(",")):  # as --clouds '' is refused
            raise InputError(f"{flag} {value!r} names nothing: give a comma-separated list such as {example}, or "
                             f"leave {flag} out")  # fmt: skip

    if (args.mode or sections.get("mode")) == "training":
        from ..console import render_training
        from .training_args import refuse_serving_flags

        refuse_serving_flags(args, "compare --mode training")
        from ..training.estimate import compare_training

        sections.get("serving", {}).pop("clouds", None)  # compare's --clouds picks the clouds (below)
        training, model_cfg, gpu_cfg, train_options = training_inputs_from_sections(sections)
        trows = compare_training(
            training,
            model_cfg,
            train_options,
            clouds=split(args.clouds),
            gpu_types=split(args.gpus)
            or ([gpu_cfg.gpu_type] if gpu_cfg.gpu_type else list(gpu_cfg.gpu_types or []) or None),
        )
        if args.top and args.top > 0:
            trows = trows[: args.top]
        save_if_requested(args, [r.to_dict() for r in trows], sections)
        if args.json:
            print(json.dumps([r.to_dict() for r in trows], indent=2))
        else:
            render_training.training_comparison(trows)
        return 0
    from .training_args import refuse_training_flags

    refuse_training_flags(args, "compare")
    sections.setdefault("serving", {}).setdefault("require_slo", True)  # as `inference`: no row meets them = exit 2
    workload, model, gpu, options = inference_inputs_from_sections(sections)

    rows = compare_gpus(
        workload,
        model,
        options,
        clouds=split(args.clouds),
        precisions=split(args.precisions),
        gpu_types=split(args.gpus) or _gpu_choices(gpu),
        target_gpu_utilization=gpu.target_gpu_utilization,
        top=args.top if args.top and args.top > 0 else None,
    )
    require_rows(
        rows, workload, model, options, clouds=split(args.clouds), gpu_types=split(args.gpus) or _gpu_choices(gpu)
    )
    emit(args, [r.to_dict() for r in rows], sections, lambda: render.comparison(rows))
    return 0


def _gpu_choices(gpu: GPUConfig) -> list[str] | None:
    """The GPUs ``compare`` ranks when ``--gpus`` is not given: the pinned one, a service's allowed ones, or all."""
    if gpu.gpu_type:
        return [gpu.gpu_type]
    return list(gpu.gpu_types) if gpu.gpu_types else None
