"""JSON Schema of the plan JSON (``--json`` / ``--output``), derived from the plan dataclasses.

The shipped files ``schemas/inference-plan.schema.json`` and ``schemas/training-plan.schema.json`` are this
module's output; a test keeps
the two equal, and another validates real plans against the file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from .inference import LLMCapacityPlan
from .training import TrainingCapacityPlan

_SCALARS: dict[Any, dict[str, Any]] = {
    int: {"type": "integer"},
    float: {"type": ["number", "null"]},  # non-finite numbers are written as null
    str: {"type": "string"},
    bool: {"type": "boolean"},
}


def _schema_for(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if tp in _SCALARS:
        return dict(_SCALARS[tp])
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        fields = [f.name for f in dataclasses.fields(tp)]
        return {
            "type": "object",
            "title": tp.__name__,
            "properties": {name: _schema_for(hints[name]) for name in fields},
            "required": fields,
            "additionalProperties": False,
        }
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _schema_for(options[0])
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is list:
        return {"type": "array", "items": _schema_for(typing.get_args(tp)[0])}
    if origin is dict:
        return {"type": "object"}
    return {}


def plan_schema(kind: str = "inference") -> dict[str, Any]:
    """JSON Schema of an inference plan (LLMCapacityPlan) or a training plan (TrainingCapacityPlan)."""
    cls = TrainingCapacityPlan if kind == "training" else LLMCapacityPlan
    schema = _schema_for(cls)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://github.com/gpucast/gpucast/schemas/{kind}-plan.schema.json"
    schema["description"] = f"gpucast {kind} capacity plan ({cls.__name__}.to_dict())"
    return schema
