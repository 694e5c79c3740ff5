"""Write the command-line flags of a vLLM or SGLang release, read from its wheel's argument-parser source.

Usage (the wheel comes from PyPI with the ordinary client; nothing is imported from it)::

    pip download --no-deps vllm==0.34.0 -d /tmp/wheels
    python scripts/engine_cli_flags.py vllm /tmp/wheels/vllm-0.34.0-*.whl > tests/data/engine_cli/vllm-0.34.0.json

Why a vendored list and not the real parser: importing ``vllm.engine.arg_utils`` or ``sglang.srt.server_args``
needs torch, CUDA libraries and the engine's compiled extensions (a multi-GB install that does not resolve on a
CPU-only CI runner). The parsers are declarative enough to read statically with :mod:`ast`:

* ``parser.add_argument("--flag", "-f", action=..., choices=[...], nargs=...)`` calls with literal names (both
  engines; SGLang <= 0.5.9 registers every flag this way);
* vLLM's ``add_argument("--flag", **xxx_kwargs["field"])``, whose kwargs come from ``get_kwargs(SomeConfig)``:
  the field's annotation decides the action exactly as ``_compute_kwargs`` does (``bool`` ->
  ``argparse.BooleanOptionalAction``, so ``--no-flag`` exists too; ``bool | str`` -> optional value; ``Literal``
  -> choices);
* SGLang >= 0.5.10's dataclass fields ``name: A[type, "help" | Arg(...)]`` (``add_cli_args_from_dataclass``):
  ``--name-with-dashes`` or ``Arg(cli_name=...)`` plus ``aliases``; ``bool`` -> ``store_true``; ``Literal`` or
  ``Arg(choices=[...])`` -> choices; ``Arg(no_cli=True)`` -> no flag.

Each flag maps to ``{"value": "none" | "required" | "optional", "choices": [...] | null}``; choices that are
computed at run time are left null (any value accepted). tests/test_export_engine_cli.py rebuilds an argparse
parser from the list and parses every command gpucast exports.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

Flag = dict[str, Any]

VLLM_FILES = re.compile(r"^vllm/(engine/arg_utils\.py|entrypoints/(openai/)?cli_args\.py|entrypoints/common/cli_args\.py"
                        r"|entrypoints/openai/cli_args\.py|config/[a-z_]+\.py|config\.py)$")  # fmt: skip
SGLANG_FILES = re.compile(r"^sglang/srt/(server_args\.py|arg_groups/fields/[a-z_]+\.py|arg_groups/choices\.py)$")


def _sources(wheel: Path, pattern: re.Pattern[str]) -> dict[str, ast.Module]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: ast.parse(archive.read(name).decode("utf-8")) for name in archive.namelist()
                if pattern.match(name)}  # fmt: skip


def _constants(trees: dict[str, ast.Module]) -> dict[str, Any]:
    """Module-level NAME = literal (lists of choices) and NAME = Literal[...] aliases, across the files."""
    out: dict[str, Any] = {}
    for tree in trees.values():
        for node in tree.body:
            target, value = None, None
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target, value = node.targets[0].id, node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                target, value = node.target.id, node.value
            if target is None or value is None:
                continue
            literal = _literal_values(value, out)
            if literal is not None:
                out[target] = literal
                continue
            try:
                evaluated = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
            if isinstance(evaluated, (list, tuple, set)) and all(isinstance(v, str) for v in evaluated):
                out[target] = sorted(evaluated)
    return out


def _literal_values(node: ast.expr, known: dict[str, Any]) -> list[str] | None:
    """The strings of ``Literal["a", "b"]`` (also through an alias or ``X | None``), else None."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, (ast.Name, ast.Attribute)):
        head = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
        if head == "Literal":
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            values = [e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            return values or None
        if head in ("Optional", "Annotated"):
            inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
            return _literal_values(inner, known)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        parts = [_literal_values(node.left, known), _literal_values(node.right, known)]
        if any(p is None and not _is_none(side) for p, side in zip(parts, (node.left, node.right), strict=True)):
            return None
        return [v for p in parts if p for v in p] or None
    if isinstance(node, ast.Name) and isinstance(known.get(node.id), list):
        return list(known[node.id])
    return None


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _type_words(node: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}  # fmt: skip


def _choices(node: ast.expr | None, known: dict[str, Any]) -> list[str] | None:
    if node is None:
        return None
    try:
        values = ast.literal_eval(node)
        if isinstance(values, (list, tuple, set)):
            return sorted(str(v) for v in values)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(node, ast.Name) and isinstance(known.get(node.id), list):
        return list(known[node.id])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # ["auto"] + SOME_LIST
        left, right = _choices(node.left, known), _choices(node.right, known)
        return sorted(left + right) if left is not None and right is not None else None
    return None  # computed at run time: any value


def _action_flag(names: list[str], action: str | None, nargs: str | None, choices: list[str] | None) -> dict[str, Flag]:
    if action in ("store_true", "store_false", "store_const", "count", "help", "version") or (
        action and re.search("Store(True|False|Const)", action)
    ):  # argparse's switches, and engine subclasses of them (SGLang's DeprecatedStoreTrueAction)
        return {n: {"value": "none", "choices": None} for n in names}
    if action == "BooleanOptionalAction":
        out = {n: {"value": "none", "choices": None} for n in names}
        out |= {"--no-" + n[2:]: {"value": "none", "choices": None} for n in names if n.startswith("--")}
        return out
    value = "optional" if nargs in ("?", "*") else "required"
    return {n: {"value": value, "choices": choices} for n in names}


def _annotation_flag(annotation: ast.expr, known: dict[str, Any]) -> tuple[str | None, str | None, list[str] | None]:
    """(action, nargs, choices) vLLM's _compute_kwargs derives from a config field's type."""
    words = _type_words(annotation)
    literal = _literal_values(annotation, known)
    if "bool" in words and "str" in words:
        return None, "?", None  # `bool | str`: optional value
    if "bool" in words:
        return "BooleanOptionalAction", None, None
    if literal is not None:
        return None, None, sorted(literal)
    if "list" in words or "List" in words:
        return None, "+", None
    return None, None, None


def _config_fields(trees: dict[str, ast.Module]) -> dict[str, dict[str, ast.expr]]:
    """class name -> {field: annotation} for every class in the config modules."""
    out: dict[str, dict[str, ast.expr]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                fields = out.setdefault(node.name, {})
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        fields.setdefault(item.target.id, item.annotation)
    return out


def _kwargs_source(call: ast.Call) -> tuple[str, str] | None:
    """("xxx_kwargs", "field") for ``**xxx_kwargs["field"]`` (also inside ``**{**xxx_kwargs["field"], ...}``)."""
    for keyword in call.keywords:
        if keyword.arg is not None:
            continue
        for node in ast.walk(keyword.value):
            if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
                    and isinstance(node.slice.value, str)):  # fmt: skip
                base = node.value
                if isinstance(base, ast.Name):
                    return base.id, node.slice.value
                if isinstance(base, ast.Call) and base.args and isinstance(base.args[0], ast.Name):
                    return "get_kwargs:" + base.args[0].id, node.slice.value
    return None


def _kwargs_classes(trees: dict[str, ast.Module]) -> dict[str, str]:
    """xxx_kwargs -> config class, from ``xxx_kwargs = get_kwargs(SomeConfig)``."""
    out = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                    and node.value.func.id == "get_kwargs" and node.value.args
                    and isinstance(node.value.args[0], ast.Name)):  # fmt: skip
                out[node.targets[0].id] = node.value.args[0].id
    return out


def _add_argument_calls(trees: dict[str, ast.Module], known: dict[str, Any], fields: dict[str, dict[str, ast.expr]],
                        kwargs_classes: dict[str, str]) -> dict[str, Flag]:  # fmt: skip
    out: dict[str, Flag] = {}
    for tree in trees.values():
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "add_argument"):  # fmt: skip
                continue
            names = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            names = [n for n in names if n.startswith("-")]
            if not names:
                continue
            kw = {k.arg: k.value for k in call.keywords if k.arg}
            action_node = kw.get("action")
            action = None
            if isinstance(action_node, ast.Constant):
                action = str(action_node.value)
            elif isinstance(action_node, (ast.Attribute, ast.Name)):
                action = action_node.attr if isinstance(action_node, ast.Attribute) else action_node.id
            nargs = kw["nargs"].value if isinstance(kw.get("nargs"), ast.Constant) else None
            choices = _choices(kw.get("choices"), known)
            source = _kwargs_source(call)
            if source and action is None:
                variable, field = source
                cls = variable.split(":", 1)[1] if variable.startswith("get_kwargs:") else kwargs_classes.get(variable)
                annotation = fields.get(cls or "", {}).get(field)
                if annotation is not None:
                    action, derived_nargs, derived_choices = _annotation_flag(annotation, known)
                    nargs = nargs or derived_nargs
                    choices = choices if choices is not None else derived_choices
            out |= _action_flag(names, action, str(nargs) if nargs else None, choices)
    return out


def _arg_meta(annotation: ast.expr) -> tuple[ast.expr, dict[str, ast.expr]] | None:
    """(type, Arg keywords) of ``A[type, "help"]`` / ``A[type, Arg(...)]``; None when not a CLI field."""
    if not (isinstance(annotation, ast.Subscript) and isinstance(annotation.value, ast.Name)
            and annotation.value.id in ("A", "Annotated") and isinstance(annotation.slice, ast.Tuple)):  # fmt: skip
        return None
    kind, *meta = annotation.slice.elts
    for item in meta:
        if isinstance(item, (ast.Constant, ast.JoinedStr, ast.BinOp)):
            return kind, {}
        if isinstance(item, ast.Call) and isinstance(item.func, ast.Name) and item.func.id == "Arg":
            return kind, {k.arg: k.value for k in item.keywords if k.arg}
    return None


def _dataclass_fields(trees: dict[str, ast.Module], known: dict[str, Any]) -> dict[str, Flag]:
    """SGLang's ``add_cli_args_from_dataclass`` fields."""
    out: dict[str, Flag] = {}
    for tree in trees.values():
        for cls in ast.walk(tree):
            if not isinstance(cls, ast.ClassDef):
                continue
            for item in cls.body:
                if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                    continue
                parsed = _arg_meta(item.annotation)
                if parsed is None:
                    continue
                kind, meta = parsed
                if isinstance(meta.get("no_cli"), ast.Constant) and meta["no_cli"].value is True:
                    continue
                cli = meta.get("cli_name")
                names = [cli.value if isinstance(cli, ast.Constant) else "--" + item.target.id.replace("_", "-")]
                aliases = _choices(meta.get("aliases"), known) if meta.get("aliases") is not None else None
                names += aliases or []
                words = _type_words(kind)
                literal = _literal_values(kind, known)
                choices = _choices(meta.get("choices"), known) if meta.get("choices") is not None else None
                nargs = meta["nargs"].value if isinstance(meta.get("nargs"), ast.Constant) else None
                if meta.get("action") is not None:
                    out |= {n: {"value": "optional", "choices": None} for n in names}  # custom action: lenient
                elif literal is not None:
                    out |= _action_flag(names, None, None, choices or sorted(literal))
                elif words & {"list", "List"} and meta.get("type_parser") is None:
                    out |= _action_flag(names, None, str(nargs or "+"), choices)
                elif words & {"bool"} and not words & {"str", "int", "float"}:
                    out |= _action_flag(names, "store_true", None, None)
                else:
                    out |= _action_flag(names, None, str(nargs) if nargs else None, choices)
    return out


def flags_of(engine: str, wheel: Path) -> dict[str, Flag]:
    trees = _sources(wheel, VLLM_FILES if engine == "vllm" else SGLANG_FILES)
    if not trees:
        raise SystemExit(f"{wheel}: no {engine} argument-parser sources found")
    known = _constants(trees)
    fields = _config_fields(trees) if engine == "vllm" else {}
    out = _dataclass_fields(trees, known) if engine == "sglang" else {}
    out |= _add_argument_calls(trees, known, fields, _kwargs_classes(trees))
    for cls, class_fields in fields.items():  # vLLM's (Base)FrontendArgs: every field is `--field-name`
        if cls.endswith("FrontendArgs"):
            for name, annotation in class_fields.items():
                action, nargs, choices = _annotation_flag(annotation, known)
                out |= _action_flag(["--" + name.replace("_", "-")], action, nargs, choices)
    return dict(sorted(out.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("engine", choices=["vllm", "sglang"])
    parser.add_argument("wheel", type=Path, help="the release's wheel (pip download --no-deps ENGINE==VERSION)")
    args = parser.parse_args()
    version = re.match(r"[a-z_]+-([0-9][^-]*)-", args.wheel.name)
    body = {
        "engine": args.engine,
        "version": version.group(1) if version else "",
        "generated_by": "scripts/engine_cli_flags.py (static read of the wheel's argument-parser source)",
        "wheel": args.wheel.name,
        "flags": flags_of(args.engine, args.wheel),
    }
    json.dump(body, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
