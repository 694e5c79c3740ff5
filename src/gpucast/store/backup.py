"""Backup, export and import: the whole database as one JSON document (or a SQLite file copy).

The JSON export lists every table in dependency order with every column, ids included; datetimes are ISO 8601
with microseconds and floats keep their ``repr``, so ``export -> import -> export`` gives the same document
(tested). Import goes into an empty database only — merging two histories would need id remapping and is a
different feature. The export is read in one snapshot (a single transaction; REPEATABLE READ on PostgreSQL).
"""

from __future__ import annotations

import json
import sqlite3
import typing
from contextlib import closing
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, func, insert, select, text
from sqlalchemy.orm import Session

from ..errors import InputError, StoreConflictError, StoreError
from .db import HEAD, Store
from .models import MAX_ID, TABLES_IN_ORDER, Base
from .services import check_stored_name

FORMAT = "gpucast-db"


def export_data(store: Store) -> dict[str, Any]:
    """Every row of every table, in one consistent snapshot."""
    tables: dict[str, list[dict[str, Any]]] = {}
    with store.read() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        for name in TABLES_IN_ORDER:
            table = Base.metadata.tables[name]
            rows = session.execute(select(table).order_by(table.c.id)).mappings()
            tables[name] = [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]
    return {"format": FORMAT, "schema_revision": HEAD, "tables": tables}


# revisions whose exports load as they are: 0003 only added token columns with defaults (every scope, no expiry)
READABLE = ("0002", HEAD)


def export_json(store: Store) -> str:
    return json.dumps(export_data(store), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def import_data(store: Store, data: Any, actor: str) -> dict[str, int]:
    """Load an export into an empty database in one transaction; returns rows per table."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("tables"), dict):
        raise InputError(f"not a gpucast database export (expected a JSON object with format {FORMAT!r})")
    if data.get("schema_revision") not in READABLE:
        raise InputError(f"export has schema revision {data.get('schema_revision')!r}; this gpucast reads "
                         f"{' or '.join(map(repr, READABLE))}")  # fmt: skip
    unknown = set(data["tables"]) - set(TABLES_IN_ORDER)
    if unknown:
        raise InputError(f"export has unknown tables: {', '.join(sorted(unknown))}")
    counts: dict[str, int] = {}
    with store.write() as session:
        busy = [n for n in TABLES_IN_ORDER if session.scalar(select(func.count()).select_from(Base.metadata.tables[n]))]
        if busy:
            raise StoreConflictError(f"the database is not empty ({', '.join(busy)} have rows); import into a new "
                                     "database (--db NEW.db) so no record is overwritten")  # fmt: skip
        for name in TABLES_IN_ORDER:
            listed = data["tables"].get(name, [])
            if not isinstance(listed, list):
                raise InputError(f"export table {name} must be a list of rows, not {type(listed).__name__}")
            rows = [_decode(name, row) for row in listed]
            _check_names(name, rows)
            if rows:
                session.execute(insert(Base.metadata.tables[name]), rows)
            counts[name] = len(rows)
        _reset_sequences(session)
    del actor  # the import is recorded by the rows themselves (their audit log is imported verbatim)
    return counts


def _decode(table_name: str, row: Any) -> dict[str, Any]:
    table = Base.metadata.tables[table_name]
    if not isinstance(row, dict) or set(row) - set(table.c.keys()):
        raise InputError(f"export table {table_name}: row {row!r:.80} has columns the schema does not know")
    decoded = {}
    for key, value in row.items():
        kind = table.c[key].type
        if isinstance(kind, DateTime) and isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise InputError(f"export table {table_name}: {key} {value!r} is not an ISO 8601 time") from None
        elif value is not None and not _fits(kind, value):  # the driver would raise TypeError or OverflowError
            raise InputError(f"export table {table_name}: {key} {value!r:.80} is not {_kind_name(kind)}")
        elif isinstance(kind, JSON) and not _json_fits(_json_shape(table_name, key), value):
            # a JSON column takes any value, but its readers do not: a service's allowed_instance_types of -1 or
            # {"a": 1} imported, then `inference --service` was a TypeError/KeyError traceback
            shape = "a list of text values" if _json_shape(table_name, key) == "list" else "a JSON object"
            raise InputError(f"export table {table_name}: {key} {value!r:.80} is not {shape}")
        decoded[key] = value
    return decoded


# tables whose ``name`` a user types to reach the record (`gpucast service show NAME`, `--as NAME`)
NAMED = {"services": "service", "users": "user"}


def _check_names(table_name: str, rows: list[dict[str, Any]]) -> None:
    """Service and user names as ``service add`` and ``user add`` check them (names stored under an older rule
    load as saved): an empty, blank or control-character name imported, and no command could name it after."""
    what = NAMED.get(table_name)
    for row in rows:
        name = row.get("name")
        if what is not None and isinstance(name, str):
            try:
                check_stored_name(what, name)
            except InputError as error:
                raise InputError(
                    f"export table {table_name}, row id {row.get('id')}: {error}; correct the name in "
                    "the export file (its records refer to it by id) and import again"
                ) from None


@cache
def _json_shape(table_name: str, key: str) -> str | None:
    """'list' (of text) or 'dict' for a JSON column the model annotates ``list[str]`` / ``dict[str, Any]``, else
    None (a plan's ``result`` may be any JSON)."""
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table_name:
            hint = typing.get_type_hints(mapper.class_).get(key)
            inner = typing.get_args(hint)[0] if typing.get_args(hint) else None
            origin = typing.get_origin(inner)
            return "list" if origin is list else "dict" if origin is dict else None
    return None


def _json_fits(shape: str | None, value: Any) -> bool:
    if shape == "list":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if shape == "dict":
        return isinstance(value, dict)
    return True


def _fits(kind: Any, value: Any) -> bool:
    """Whether a JSON value can go into a column of this type (JSON columns take any)."""
    if isinstance(kind, DateTime):
        return False  # an ISO 8601 string was decoded above; anything else is not a time
    if isinstance(kind, Integer):
        return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID - 1 <= value <= MAX_ID
    if isinstance(kind, Float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(kind, String):  # what PostgreSQL stores (the store refuses the rest on both backends)
        return isinstance(value, str) and "\x00" not in value and (kind.length is None or len(value) <= kind.length)
    return True


def _kind_name(kind: Any) -> str:
    names = ((DateTime, "an ISO 8601 time"), (Integer, "a whole number within 64 bits"), (Float, "a number"))
    limit = f" of at most {kind.length} characters" if getattr(kind, "length", None) else ""
    return next((name for cls, name in names if isinstance(kind, cls)), f"text without NUL (0x00) bytes{limit}")


def _reset_sequences(session: Session) -> None:
    """PostgreSQL id sequences must continue after the imported ids (SQLite needs nothing)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in TABLES_IN_ORDER:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            )
        )


def _quick_check(connection: sqlite3.Connection) -> list[str]:
    """SQLite's quick_check of a database: ``["ok"]``, or its first findings (a page it cannot read raises)."""
    try:
        return [str(row[0]) for row in connection.execute("PRAGMA quick_check(3)").fetchall()]
    except sqlite3.DatabaseError as error:
        return [str(error)]


def backup(store: Store, target: str | Path) -> str:
    """SQLite: an online, consistent copy of the database file (sqlite3 backup API; writers may keep going).
    Other databases: the JSON export (use pg_dump for a physical PostgreSQL backup)."""
    path = Path(target)
    if path.exists():
        raise InputError(f"backup target {str(path)!r} exists; choose a new file name")
    if store.engine.dialect.name == "sqlite" and store.engine.url.database not in (None, "", ":memory:"):
        try:
            with (
                closing(sqlite3.connect(str(store.engine.url.database), timeout=30)) as source,
                closing(sqlite3.connect(str(path))) as destination,
            ):
                source.backup(destination)
                # the backup API copies pages as they are: a damaged database gave a damaged copy and "backup
                # written", so the one copy a user keeps could be the broken one without a word
                damage = _quick_check(destination)
        except sqlite3.Error as error:
            raise InputError(f"backup to {str(path)!r} failed: {error}") from None
        if damage != ["ok"]:
            raise StoreError(
                f"the database {store.engine.url.database!r} is damaged (SQLite quick_check: {damage[0]}); the copy "
                f"{str(path)!r} holds the same damage: keep the original, and recover its rows with the sqlite3 "
                "shell's .recover"
            )
        return "sqlite"
    try:
        path.write_text(export_json(store), encoding="utf-8")
    except OSError as error:
        raise InputError(f"backup target {str(path)!r} cannot be written: {error.strerror}") from None
    return "json"
