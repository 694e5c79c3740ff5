"""The ``gpucast`` command: parse flags -> gpucast API -> render. Nothing else lives here.

Exit codes: 0 ok, 2 bad input or no feasible plan (one line on stderr), 1 internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from ..console.files import write_text
from ..console.flags import add_save_flags, attach_dash_values, positive_count
from ..console.saving import apply_service, emit, save_if_requested
from ..errors import GpucastError, InputError
from ..inputs.sections import inference_inputs_from_sections, training_inputs_from_sections
from ..version import __version__
from ..wording import shorten_quoted
from .args import (
    add_common_plan_flags,
    add_estimate_flags,
    add_seed_flags,
    add_training_flags,
    request_from_args,
    sections_from_args,
)
from .store_commands import COMMANDS as STORE_COMMANDS
from .training_args import (
    add_parallelism_flags,
    add_shape_flags,
    add_training_estimate_flags,
    hide_serving_flags,
    refuse_serving_flags,
    refuse_training_flags,
    training_request_from_args,
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line and exits 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"gpucast: error: {shorten_quoted(message)} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gpucast",
        description="Capacity planning for LLM serving: GPUs, sharding, replicas, latency and cost.",
    )
    parser.add_argument("--version", action="version", version=f"gpucast {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    forecast = sub.add_parser(
        "forecast",
        help="seed-compatible planner (--mode inference|training, --config FILE, --generate-config)",
        description="Seed-compatible capacity planner. Every flag of the original forecast.py works.",
    )
    forecast.add_argument("--mode", choices=["inference", "training"], help="what to plan (default inference)")
    add_seed_flags(forecast)
    add_common_plan_flags(forecast)
    add_training_flags(forecast)
    add_save_flags(forecast)

    training = sub.add_parser(
        "training",
        help="plan a fine-tuning or pre-training run (GPUs, parallelism, memory, duration, cost)",
        description="Plan training: full, LoRA or QLoRA; ZeRO/FSDP, TP/PP/DP searched; duration and cost.",
    )
    add_seed_flags(training)
    add_common_plan_flags(training)
    add_training_flags(training)
    add_shape_flags(training)
    add_parallelism_flags(training, with_ep=False)
    add_save_flags(training)
    hide_serving_flags(training)

    training_estimate = sub.add_parser(
        "training-estimate",
        help="throughput, MFU and memory of one fixed training configuration",
        description="Estimate one training configuration: tokens/s, MFU, TFLOP/s per GPU, peak memory, step time.",
    )
    add_training_estimate_flags(training_estimate)
    add_save_flags(training_estimate, filed_only=True)

    inference = sub.add_parser(
        "inference",
        help="plan serving capacity for a model and workload",
        description="Plan serving capacity: GPU type, TP/PP, replicas, latency, autoscaling and cost.",
    )
    add_seed_flags(inference)
    add_common_plan_flags(inference)
    add_save_flags(inference)

    compare = sub.add_parser(
        "compare",
        help="rank every GPU x cloud (x precision) that can serve the workload",
        description="Rank GPU types and clouds by monthly cost for one workload.",
    )
    add_seed_flags(compare)
    add_common_plan_flags(compare)
    compare.add_argument("--precisions", help="comma-separated precisions to compare, e.g. BF16,FP8,INT4")
    compare.add_argument("--gpus", help="comma-separated GPU types to compare (default: every priced GPU)")
    compare.add_argument("--top", type=positive_count, help="show only the N cheapest rows (1 or more)")
    compare.add_argument("--mode", choices=["inference", "training"], help="compare for serving (default) or training")
    add_training_flags(compare)
    add_save_flags(compare)

    estimate = sub.add_parser(
        "estimate",
        help="throughput and latency of one fixed deployment under one load",
        description="Estimate one operating point: model, GPU, GPU count, TP/PP, precision, request shape, load.",
    )
    add_estimate_flags(estimate)
    add_save_flags(estimate, filed_only=True)

    validate = sub.add_parser(
        "validate",
        help="compare estimates (or, with --plans, plans) with published measurements (CSV) and report the error",
        description="Run `estimate` on every row of a measurements CSV and report per-metric error. Inference "
        "rows have the columns of data/benchmarks/*.csv, training rows those of data/benchmarks/training/*.csv "
        "(recognised by its params_b / seq_len columns). With --plans, every loaded serving point (R req/s at mean "
        "TTFT t and ITL i) becomes a plan for 10 x R req/s at SLOs 1.1 t / 1.1 i on the measured deployment, and the "
        "report compares the planned GPUs with the ceil(10 x replicas x 1.25) x TP x PP the deployment needs.",
    )
    validate.add_argument(
        "file",
        nargs="*",
        help="measurements CSV (columns of data/benchmarks/*.csv or data/benchmarks/training/*.csv); with --plans "
        "any number of inference CSVs, default: a checkout's data/benchmarks/*.csv and data/benchmarks/unfitted/*.csv "
        "(and the calibration set beside it when present)",
    )
    validate.add_argument(
        "--plans", action="store_true", help="plan-level validation: planned vs needed GPUs per loaded serving point"
    )
    validate.add_argument("--json", action="store_true", help="print JSON")
    validate.add_argument("--rows", action="store_true", help="print every row (point), not only the summary")

    predict = sub.add_parser(
        "predict",
        help="forecast a service's traffic from history, with scenarios and a capacity timeline",
        description="Forecast load from history (seasonal-naive, level, exponential-smoothing and trend members, "
        "chosen per series by a rolling-origin backtest, with calibrated intervals; statsforecast's MSTL/ETS/Theta/"
        "ARIMA ensemble with --backend dask) and size capacity.",
    )
    from ..console.predict import add_predict_flags

    add_predict_flags(predict)
    add_save_flags(predict, service_flag=False)

    fleet = sub.add_parser(
        "fleet",
        help="forecast a fleet (service -> team -> environment -> all), GPUs per team per week, spend",
        description="Forecast every service and its totals coherently, size each team's GPUs per week with a range, "
        "find when the current fleet runs out, and forecast the monthly GPU spend.",
    )
    from ..console.fleet import add_fleet_flags

    add_fleet_flags(fleet)

    from .store_commands import register

    register(sub)
    from . import chat_command, export_commands, prices_commands

    chat_command.register(sub)
    export_commands.register(sub)
    prices_commands.register(sub)
    serve = sub.add_parser("serve", help="run the REST API (FastAPI + uvicorn; docs at /docs)",
                           description="Serve the JSON API under /api/v1 over the same planner and database.")  # fmt: skip
    from ..web.serve import add_serve_flags

    add_serve_flags(serve)
    desktop = sub.add_parser("desktop", help="the planner in a native window (Tkinter)",
                             description="Open the desktop app: inference, training and forecast forms, charts, "
                             "the plan history and exports, over the same planner and database.")  # fmt: skip
    from ..desktop.launch import add_desktop_flags

    add_desktop_flags(desktop)
    models = sub.add_parser("models", help="list the model catalog", description="List catalog models.")
    models.add_argument("--json", action="store_true", help="print JSON")
    gpus = sub.add_parser("gpus", help="list the GPU catalog", description="List catalog GPUs.")
    gpus.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not args_list:
        if sys.stdin.isatty() and sys.stdout.isatty():
            args_list = ["chat"]  # the guided conversation is the default on a terminal
        else:
            parser.print_help()  # piped or CI: never wait for input
            return 0
    args = parser.parse_args(attach_dash_values(args_list))
    try:
        return _dispatch(args)
    except GpucastError as error:
        print(f"gpucast: error: {shorten_quoted(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    from ..console import render

    if args.command == "models":
        return render.models(as_json=args.json)
    if args.command == "gpus":
        return render.gpus(as_json=args.json)
    if args.command == "compare":
        from .compare_command import run_compare

        return run_compare(args)
    if args.command == "estimate":
        return _estimate(args)
    if args.command == "training-estimate":
        return _training_estimate(args)
    if args.command == "predict":
        from ..console.predict import run_predict

        return run_predict(args)
    if args.command == "fleet":
        from ..console.fleet import run_fleet

        return run_fleet(args)
    if args.command == "validate":
        return _validate(args)
    if args.command == "serve":
        from ..web.serve import run_serve

        return run_serve(args)
    if args.command == "desktop":
        from ..desktop.launch import run_desktop

        return run_desktop(args)
    if args.command == "prices":
        from .prices_commands import dispatch as prices_dispatch

        return prices_dispatch(args)
    if args.command in chat_command_names():
        from .chat_command import dispatch as chat_dispatch

        return chat_dispatch(args)
    if args.command in export_command_names():
        from .export_commands import dispatch as export_dispatch

        return export_dispatch(args)
    if args.command in STORE_COMMANDS:
        from .store_commands import dispatch

        return dispatch(args)
    if getattr(args, "generate_config", None):
        return _generate_config(args)
    # before the sections: an agent flag would be read as an agent workload first. `forecast --mode training --rps 5`
    # (or a training config's mode) dropped the flag silently, while `--mode inference` refuses the training flags
    if args.command == "training":
        refuse_serving_flags(args)
    elif args.command == "forecast" and _forecast_mode(args) == "training":
        refuse_serving_flags(args, "forecast --mode training")
    sections = apply_service(args, sections_from_args(args))
    mode = args.mode if getattr(args, "mode", None) else sections.get("mode", "inference")
    if args.command == "training":
        mode = "training"
    if args.command == "inference" and mode == "training":  # the config's mode planned a training run, unasked
        config = getattr(args, "config", None)
        raise InputError(
            f"--config {config!r} is a training config (mode 'training'): `gpucast inference` plans serving; "
            "plan it with `gpucast training --config` or `gpucast forecast --config`"
        )
    if args.command == "training" and sections.get("mode") == "inference":  # the mirror of the check above
        config = getattr(args, "config", None)
        raise InputError(
            f"--config {config!r} is an inference config (mode 'inference'): `gpucast training` plans training; "
            "plan it with `gpucast inference --config` or `gpucast forecast --config`"
        )
    if mode == "training":
        from ..console import render_training
        from ..training.plan import plan_training

        return _emit(
            plan_training(*training_inputs_from_sections(sections)), sections, args, render_training.training_plan
        )
    from ..planning.inference import plan_inference

    refuse_training_flags(args, args.command if args.command == "inference" else "forecast --mode inference")
    sections.setdefault("serving", {}).setdefault("require_slo", True)  # the CLI answers infeasible SLOs with exit 2
    return _emit(plan_inference(*inference_inputs_from_sections(sections)), sections, args, render.plan)


def _forecast_mode(args: argparse.Namespace) -> str | None:
    """``forecast``'s mode: ``--mode``, else its ``--config``'s (read again by the sections)."""
    if args.mode or not args.config:
        return str(args.mode) if args.mode else None
    from ..inputs.json_config import load_config

    return load_config(args.config).get("mode")


def _show(plan: Any, data: dict[str, Any], args: argparse.Namespace, show: Any) -> None:
    """The plan's table; with ``--explain`` it ends with the command that re-checks it (``export.recheck``)."""
    show(plan, explain=args.explain)
    if not args.explain:
        return
    from ..console.render import recheck
    from ..errors import GpucastError
    from ..export.recheck import estimate_argv

    try:
        argv, notes = estimate_argv(data)
    except GpucastError:  # a plan of no catalog model, say: nothing to re-state
        return
    recheck(argv, notes)


def chat_command_names() -> tuple[str, ...]:
    from .chat_command import COMMANDS

    return COMMANDS


def export_command_names() -> tuple[str, ...]:
    from .export_commands import COMMANDS

    return COMMANDS


def _emit(plan: Any, sections: dict[str, Any], args: argparse.Namespace, show: Any) -> int:
    data = plan.to_dict()
    written = emit(args, data, sections, lambda: _show(plan, data, args, show))
    if written and not args.json:
        print(f"Plan written to {written}")
    return 0


def _estimate(args: argparse.Namespace) -> int:
    from ..console import render_estimate as render
    from ..planning.estimate import estimate

    result = estimate(request_from_args(args))
    save_if_requested(args, result.to_dict())
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        render.estimate(result)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from ..console import render_validation as render

    if args.plans:
        from ..validation.plans import validate_plans

        plans = validate_plans(args.file or None)
        if args.json:
            print(json.dumps(plans.to_dict(), indent=2))
        else:
            render.plan_validation(plans, rows=args.rows)
        return 0
    from ..validation.inference import validate_file

    if len(args.file) != 1:
        raise InputError("validate needs one measurements CSV (or --plans, which takes any number and has defaults)")
    report = validate_file(args.file[0])
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        render.validation(report, rows=args.rows)
    return 0


def _training_estimate(args: argparse.Namespace) -> int:
    from ..console import render_training
    from ..training.estimate import estimate_training

    result = estimate_training(training_request_from_args(args))
    save_if_requested(args, result.to_dict())
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        render_training.training_estimate(result)
    return 0


def _generate_config(args: argparse.Namespace) -> int:
    from ..inputs.json_config import template

    text = json.dumps(template(args.generate_config), indent=2) + "\n"
    if args.output:
        write_text(args.output, text)
        print(f"Template written to {args.output}; run: gpucast forecast --config {args.output}")
    else:
        sys.stdout.write(text)
    return 0
