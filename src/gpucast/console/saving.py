"""The planning commands' ``--save`` and ``--service`` hooks: store a result in the plan history, or start from a
stored service's settings. Shared by the CLI and the conversation (``save``).

Nothing here imports SQLAlchemy at module level: commands without ``--save``/``--service`` never load the database
layer.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import InputError
from ..extras import install_hint

SAVE_KEYS = {"save", "service", "save_service", "actor", "db", "json", "explain", "command", "output", "plot"}


def require_store() -> None:
    """One line with the install command instead of an ImportError traceback when the extra is missing."""
    try:
        import alembic  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as error:
        raise InputError(f"the database commands need the [store] extra ({error.name} is missing); "
                         f"{install_hint('store')}") from None  # fmt: skip


def apply_service(args: argparse.Namespace, sections: dict[str, Any]) -> dict[str, Any]:
    """``inference --service NAME``: the stored service's settings and tier defaults under the user's flags."""
    if not getattr(args, "service", None):
        return sections
    require_store()
    from ..store import open_store
    from ..store.planning import overlay_service
    from ..store.services import get_service

    with open_store(args.db, must_exist=True) as store, store.read() as session:  # a service needs a database
        return overlay_service(sections, get_service(session, args.service))


def save_if_requested(args: argparse.Namespace, result: Any, sections: dict[str, Any] | None = None) -> None:
    """``--save``: store the command's result (its --json output) with inputs, versions, user and time."""
    if not getattr(args, "save", False):
        if getattr(args, "save_service", None):  # it names where a saved result goes: nothing is saved without --save
            raise InputError(f"--save-service {args.save_service!r} files a saved result under a service: add --save")
        # a command whose --service only files the saved result (console.flags.add_save_flags(filed_only=True); the
        # planners also take the service's settings as defaults): it was ignored, even a service not stored
        if getattr(args, "service_files_only", False) and getattr(args, "service", None):
            raise InputError(f"--service {args.service!r} files a saved {args.command} under a service (its settings "
                             "do not apply to one fixed configuration): add --save")  # fmt: skip
        return
    require_store()
    from ..store import open_store
    from ..store.plans import plan_kind, save_plan
    from ..store.services import acting_user

    given = {k: v for k, v in vars(args).items() if k not in SAVE_KEYS and v is not None and v is not False}
    inputs: dict[str, Any] = {"args": json.loads(json.dumps(given, default=str))}
    if sections is not None:
        inputs["sections"] = json.loads(json.dumps(sections, default=str))
    mode = getattr(args, "mode", None) or (sections or {}).get("mode")
    service = getattr(args, "save_service", None) if args.command == "predict" else getattr(args, "service", None)
    with open_store(args.db, must_exist=bool(service)) as store, store.write() as session:  # filed: it must exist
        plan = save_plan(session, command=args.command, kind=plan_kind(args.command, mode), inputs=inputs,
                         result=result, actor=acting_user(args.actor), service=service)  # fmt: skip
        print(f"gpucast: plan saved as {plan.id} in {store.url}", file=sys.stderr)


def emit(args: argparse.Namespace, data: Any, sections: dict[str, Any], show: Any) -> str | None:
    """The end of a planning command: save to the store when asked, write ``--output-file``, then print the JSON
    (``--json``) or call ``show()`` for the table. Returns the file written, if any, so a caller can say so."""
    from .files import write_json

    save_if_requested(args, data, sections)
    output = sections.get("options", {}).get("output_file")
    if output:
        write_json(output, data)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        show()
    return str(output) if output else None
