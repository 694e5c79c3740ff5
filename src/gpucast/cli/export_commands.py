"""The ``export`` and ``report`` commands (issue 10). Keep module-level imports light: the parser is
built on every ``gpucast`` start.

* ``gpucast export vllm|sglang|trtllm [PLAN.json | planning flags] [--engine-version V] [--served-model HF_ID]
  [--speculative-model HF_ID] [--role prefill|decode]`` — the engine's launch command
* ``gpucast export k8s [PLAN.json | planning flags] [--engine E] [--namespace N] [--keda] [--kubeflow]
  [--criticality T] [--storage-class C]`` — YAML (docs/exports.md)
* ``gpucast export helm PLAN.json`` — values for the vLLM production-stack chart
* ``gpucast export estimate PLAN.json`` — the ``gpucast estimate`` command that re-checks the plan's operating point
* ``gpucast report PLAN.json --format md|html`` — a report for people who don't read JSON

Everything prints to stdout unless ``--output FILE`` is given. A plan file is what ``--output`` of a planning
command wrote; without one, the planning flags (``--model``, ``--rps``, ...) plan a serving deployment first.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

COMMANDS: tuple[str, ...] = ("export", "report")
ENGINE_TARGETS = ("vllm", "sglang", "trtllm")


def _plan_source(parser: argparse.ArgumentParser, json_help: str | None) -> None:
    """The plan file or the planning flags. ``json_help`` says what ``--json`` prints for this target (None: the
    target writes YAML only, and ``--json`` is refused)."""
    from .args import add_common_plan_flags, add_seed_flags

    parser.add_argument("plan", nargs="?", metavar="PLAN.json",
                        help="plan written by `gpucast inference|training ... --output FILE` (or give planning flags)")  # fmt: skip
    add_seed_flags(parser)
    add_common_plan_flags(parser)
    # conflict_handler="resolve": here --output is the export's file, not the plan's, and --json is the export's
    # JSON, not the plan's; --explain explains a plan, which an export does not print (refused, see _refuse_unused)
    parser.add_argument("--output", help="write to this file instead of stdout")
    parser.add_argument("--json", action="store_true", help=json_help or argparse.SUPPRESS)
    parser.add_argument("--explain", action="store_true", help=argparse.SUPPRESS)


def _launch_flags(parser: argparse.ArgumentParser) -> None:
    """What the plan does not decide about the engine launch (export vllm|sglang|trtllm|k8s|helm)."""
    parser.add_argument("--engine-version", help="engine release whose flag names to use (default: the current "
                        "stable release in catalog/engine_flags.toml, stated in the output)")  # fmt: skip
    parser.add_argument("--served-model", metavar="HF_ID", help="Hugging Face checkpoint to serve (and the model "
                        "name clients send); needed for plans made with --model-size")  # fmt: skip
    parser.add_argument("--speculative-model", metavar="HF_ID", help="EAGLE-3 head for a speculative plan whose "
                        "model has no MTP layers (without it speculative decoding stays off)")  # fmt: skip


def register(sub: Any) -> None:
    """Add the ``export`` and ``report`` sub-commands to the parser."""
    export = sub.add_parser(
        "export",
        help="engine launch arguments (vllm, sglang, trtllm), Kubernetes manifests (k8s), Helm values (helm) or the "
        "`gpucast estimate` command that re-checks it (estimate), for a plan",
        description="Turn a plan into a deployment: engine launch commands or Kubernetes YAML.",
    )
    targets = export.add_subparsers(dest="target", metavar="TARGET", required=True)
    for engine, title in (("vllm", "vLLM `vllm serve`"), ("sglang", "SGLang `python -m sglang.launch_server`"),
                          ("trtllm", "TensorRT-LLM `trtllm-serve`")):  # fmt: skip
        target = targets.add_parser(
            engine, help=f"{title} command for one replica of the plan", conflict_handler="resolve",
            description=f"Print the {title} command for a serving plan (flag names of the release stated in "
            "catalog/engine_flags.toml).",
        )  # fmt: skip
        _plan_source(target, "print the command, its options file, notes and warnings as JSON")
        _launch_flags(target)
        target.add_argument("--role", choices=["prefill", "decode"], help="disaggregated plans: the command of one "
                            "pool (its role and KV-transfer settings)")  # fmt: skip
    k8s = targets.add_parser(
        "k8s", help="Kubernetes YAML: Deployment, Service, HPA/KEDA; Job/PyTorchJob for training",
        description="Write multi-document Kubernetes YAML for a plan.", conflict_handler="resolve",
    )  # fmt: skip
    _plan_source(k8s, None)
    _launch_flags(k8s)
    k8s.add_argument("--criticality", choices=["tier1", "tier2", "tier3"], default="tier2",
                     help="replica minimum, zone spread and PodDisruptionBudget by tier (catalog/criticality.toml; "
                     "default tier2)")  # fmt: skip
    k8s.add_argument("--storage-class", help="StorageClass of the model-cache volume (default: the cluster's)")
    k8s.add_argument("--namespace", default="default", help="namespace of every object (default: default)")
    k8s.add_argument("--name", help="object name (default: from the model and engine)")
    k8s.add_argument("--keda", action="store_true", help="KEDA ScaledObject on the engine's Prometheus metrics "
                     "instead of an HPA")  # fmt: skip
    k8s.add_argument("--kubeflow", action="store_true", help="training plans: a Kubeflow PyTorchJob, not a Job")
    k8s.add_argument("--prometheus-url", default="http://prometheus-operated.monitoring.svc:9090",
                     help="Prometheus the KEDA triggers query")  # fmt: skip
    k8s.add_argument("--image", help="training container image (default: catalog/k8s.toml)")
    k8s.add_argument("--train-command", default="train.py", help="script torchrun starts in training pods")
    helm = targets.add_parser(
        "helm", help="values file for the vLLM production-stack Helm chart", conflict_handler="resolve",
        description="Write a values.yaml for the vLLM production-stack chart (vllm/vllm-stack) from a serving plan.",
    )  # fmt: skip
    _plan_source(helm, None)
    _launch_flags(helm)
    helm.add_argument("--criticality", choices=["tier1", "tier2", "tier3"], default="tier2",
                      help="replica minimum by tier (default tier2)")  # fmt: skip
    helm.add_argument("--storage-class", help="StorageClass of the model-cache volume (default: the cluster's)")
    recheck = targets.add_parser(
        "estimate", help="the `gpucast estimate` command that re-checks a serving plan at its planned peak",
        description="Print the `gpucast estimate` command of a serving plan's own deployment at its planned peak "
        "rate: it prints the plan's TTFT and ITL (the planner is the inverse of the estimator).",
        conflict_handler="resolve",
    )  # fmt: skip
    _plan_source(recheck, "print the command's argv and notes as JSON")
    report = sub.add_parser(
        "report", help="a Markdown or self-contained HTML report of a plan",
        description="Write a report of a plan: summary, inputs, the plan, charts, assumptions and sources, risks, "
        "alternatives from `gpucast compare`.",
    )  # fmt: skip
    report.add_argument("plan", metavar="PLAN.json", help="plan written by a planning command's --output")
    report.add_argument("--format", choices=["md", "html"], default="md", help="md (default) or html")
    report.add_argument("--output", help="write to this file instead of stdout")
    report.add_argument("--no-alternatives", action="store_true", help="skip the comparison (faster)")


def _load(args: argparse.Namespace) -> dict[str, Any]:
    """The plan: from the file, or planned now from the planning flags."""
    from ..errors import InputError
    from ..export.plan_file import load_plan

    if args.plan:
        _no_planning_flags(args)
        return load_plan(args.plan)
    from ..inputs.sections import inference_inputs_from_sections as _inputs
    from .args import sections_from_args

    sections = sections_from_args(args)
    sections.get("options", {}).pop("output_file", None)
    if not sections.get("model") and not sections.get("workload"):
        raise InputError(f"give a plan file (gpucast export {args.target} plan.json) or planning flags "
                         "(--model, --rps, --input-tokens, --output-tokens ...)")  # fmt: skip
    from ..planning.inference import plan_inference
    from .training_args import refuse_training_flags

    refuse_training_flags(args, f"export {args.target}")
    sections.setdefault("serving", {}).setdefault("require_slo", True)  # never export a plan that cannot meet its SLOs
    plan: dict[str, Any] = plan_inference(*_inputs(sections)).to_dict()
    return plan


def _no_planning_flags(args: argparse.Namespace) -> None:
    """A plan file decides the deployment, so a planning flag beside it (``export vllm plan.json --model X --rps
    100``) was ignored without a word and the file's deployment exported (QA 2026-12-07): refused, naming the flags.
    The target's own flags (engine release, served model, and for k8s/helm the engine and criticality) stay."""
    from ..errors import InputError
    from .args import add_common_plan_flags, add_seed_flags

    planning = argparse.ArgumentParser(add_help=False, conflict_handler="resolve")
    add_seed_flags(planning)
    add_common_plan_flags(planning)
    own = {"output", "json", "engine_version"}
    if args.target in ("k8s", "helm"):  # theirs: the engine to launch, the tier's replicas and disruption budget
        own |= {"engine", "criticality"}
    given = [action.option_strings[0] for action in planning._actions if action.option_strings
             and action.dest not in own and getattr(args, action.dest, action.default) != action.default]  # fmt: skip
    if given:
        raise InputError(f"{', '.join(given)} would be ignored: {args.plan!r} already decides the deployment; give "
                         "a plan file or planning flags, not both")  # fmt: skip


def _refuse_unused(args: argparse.Namespace) -> None:
    """``--explain`` (an export prints no plan to explain) and ``--json`` on the YAML targets were accepted from the
    planning flags and ignored without a word, and ``--help`` offered both as "the plan" (docs sweep 2026-12-07)."""
    from ..errors import InputError

    if args.explain:
        raise InputError("--explain explains a plan, which an export does not print: run the planning command with "
                         "--explain (gpucast inference ... --explain)")  # fmt: skip
    if args.json and args.target in ("k8s", "helm"):
        raise InputError(f"--json: `gpucast export {args.target}` writes YAML only; leave --json out")


def _write(args: argparse.Namespace, text: str, what: str) -> int:
    """stdout, or ``--output`` written as every planning command writes it (atomically: a failed write leaves the
    previous file whole; a NUL in the name is one error line)."""
    from ..console.files import write_text

    if not args.output:
        sys.stdout.write(text)
        return 0
    write_text(args.output, text)
    print(f"{what} written to {args.output}")
    return 0


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "report":
        return _report(args)
    _refuse_unused(args)
    plan = _load(args)
    if args.target == "estimate":
        from ..export.recheck import estimate_argv

        argv, notes = estimate_argv(plan)
        if args.json:
            return _write(args, json.dumps({"argv": argv, "notes": notes}, indent=2) + "\n", "Estimate command")
        import shlex

        text = "".join(f"# {note}\n" for note in notes) + shlex.join(argv) + "\n"
        return _write(args, text, "Estimate command")
    from ..export.engine_args import LaunchOptions

    if args.target in ENGINE_TARGETS:
        from ..export.engine_args import launch_for

        launch = launch_for(plan, args.target, LaunchOptions(
            engine=args.target, version=args.engine_version, served_model=args.served_model,
            speculative_model=args.speculative_model, role=args.role))  # fmt: skip
        _warn(launch.warnings)
        if args.json:
            data = {"engine": launch.engine.id, "version": launch.engine.version, "argv": launch.argv,
                    "config_file": launch.config_file or None, "notes": launch.notes, "warnings": launch.warnings,
                    "source": launch.engine.source}  # fmt: skip
            return _write(args, json.dumps(data, indent=2) + "\n", "Launch command")
        return _write(args, launch.shell(), "Launch command")
    from ..export.k8s_pods import K8sOptions

    launch_options = LaunchOptions(engine=getattr(args, "engine", None), version=args.engine_version,
                                   served_model=args.served_model, speculative_model=args.speculative_model)  # fmt: skip
    if args.target == "helm":
        from ..export.helm import plan_values

        text, warnings = plan_values(plan, K8sOptions(launch=launch_options, criticality=args.criticality,
                                                      storage_class=args.storage_class))  # fmt: skip
        _warn(warnings)
        return _write(args, text, "Helm values")
    from ..export.k8s import manifests_and_warnings

    options = K8sOptions(namespace=args.namespace, name=args.name, engine=args.engine, keda=args.keda,
                         kubeflow=args.kubeflow, prometheus_url=args.prometheus_url, image=args.image,
                         train_command=args.train_command, launch=launch_options, criticality=args.criticality,
                         storage_class=args.storage_class)  # fmt: skip
    text, warnings = manifests_and_warnings(plan, options)
    _warn(warnings)
    return _write(args, text, "Manifests")


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"gpucast: warning: {warning}", file=sys.stderr)


def _report(args: argparse.Namespace) -> int:
    from ..export.plan_file import load_plan
    from ..reports.html import render_html
    from ..reports.markdown import render_markdown

    plan = load_plan(args.plan)
    render = render_html if args.format == "html" else render_markdown
    return _write(args, render(plan, alternatives=not args.no_alternatives), "Report")
