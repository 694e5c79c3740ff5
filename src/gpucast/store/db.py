"""Where the database is, how to connect, and bringing its schema up to date on open.

The URL comes from ``--db PATH|URL``, else ``GPUCAST_DATABASE_URL``, else a SQLite file in the user data
directory (``$XDG_DATA_HOME/gpucast/gpucast.db``, default ``~/.local/share/gpucast/gpucast.db``).
SQLite runs in WAL mode with a busy timeout and foreign keys on; write transactions start with
``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead of failing half way.
Alembic migrations (shipped in ``gpucast/store/migrations``) run on open, under a lock, only when the
database is behind ``HEAD``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from ..errors import InputError, StoreConflictError, StoreError, StoreUnavailableError
from ..extras import install_hint

ENV_VAR = "GPUCAST_DATABASE_URL"
HEAD = "0003"  # newest migration revision; tests check it matches the migrations directory
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for another writer's lock before giving up
MIGRATION_LOCK_KEY = 0x67707563  # PostgreSQL advisory lock id ("gpuc") serialising concurrent migrations


def default_path() -> Path:
    """The per-user database file (XDG base directory spec; no platformdirs dependency needed)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "gpucast" / "gpucast.db"


def resolve_url(db: str | None = None) -> str:
    """``--db`` (a path or a SQLAlchemy URL) wins over ``GPUCAST_DATABASE_URL``, which wins over the default."""
    value = db or os.environ.get(ENV_VAR) or ""
    if "://" in value:
        return value
    path = Path(value).expanduser() if value else default_path()
    return f"sqlite:///{path.resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode except on power loss
    cursor.close()


def _begin(connection: Any) -> None:
    immediate = connection.get_execution_options().get("immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine with the store's connection policy applied (SQLite pragmas and locking)."""
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError):
        raise StoreError(f"--db {url!r} is not a path or a SQLAlchemy URL (sqlite:///FILE, postgresql://...)") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"--db {url!r}: its directory cannot be created ({error.strerror})") from None
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, from the [store] extra
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except ImportError as error:
        raise StoreError(f"the database driver for {parsed.drivername} is missing ({error.name}); "
                         f"{install_hint('store')}") from None  # fmt: skip


class Store:
    """An open database: ``write()`` and ``read()`` give a session inside one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self._writer = sessionmaker(engine.execution_options(immediate=True), expire_on_commit=False)
        event.listen(self._writer, "before_flush", _check_text)
        self._reader = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: everything inside commits together or not at all."""
        with _translated(self.url), self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _translated(self.url), self._reader() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _check_text(session: Session, _context: Any, _instances: Any) -> None:
    """Text with a NUL byte, or longer than its column: PostgreSQL refuses it (a "database error", HTTP 503, as if
    the database were down) while SQLite stores it, and its export would not load into PostgreSQL. Both now refuse
    it as a bad value, before anything is written. Only the values a change sets are checked: a record stored
    before keeps what it holds when another of its fields changes."""
    for record in (*session.new, *session.dirty):
        state = inspect(record)
        for column in record.__table__.columns:
            value, where = getattr(record, column.key, None), f"{record.__tablename__}.{column.key}"
            if not isinstance(value, str) or (record in session.dirty and not state.attrs[column.key].history.added):
                continue
            if "\x00" in value:
                raise InputError(f"{where} {value!r:.60} holds a NUL (0x00) byte, which stored text cannot hold: "
                                 "remove it")  # fmt: skip
            limit = getattr(column.type, "length", None)
            if limit is not None and len(value) > limit:
                raise InputError(f"{where} {value!r:.40}... is {len(value):,} characters, more than the {limit} "
                                 "it holds")  # fmt: skip


# SQLite's names for a file or folder this process may not write (see sqlite_access_problem)
SQLITE_ACCESS = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_READONLY_DIRECTORY", "SQLITE_READONLY_CANTINIT")
# SQLite's names for a write the disk refused: full (ENOSPC), or a file past its size limit (EFBIG), which SQLite
# reports as a failed write
DISK_FULL = ("SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE", "SQLITE_IOERR_SHMSIZE")


@contextmanager
def _translated(url: str = "the database") -> Iterator[None]:
    """Database errors become the store's errors: one line, no traceback. A database that cannot be reached, is
    busy past the timeout, or whose disk refuses the write is :class:`StoreUnavailableError` (the transaction was
    rolled back whole: nothing of it was saved, and retrying later may succeed)."""
    try:
        yield
    except IntegrityError as error:
        raise StoreConflictError(f"the change violates a database constraint: {_first_line(error)}") from None
    except (OperationalError, InterfaceError) as error:
        raise StoreUnavailableError(unavailable_message(url, error)) from None
    except DBAPIError as error:
        raise StoreError(f"database error: {_first_line(error)}") from None


def unavailable_message(url: str, error: DBAPIError) -> str:
    """One line saying why the database cannot be used now, and that nothing was saved."""
    name = str(getattr(error.orig, "sqlite_errorname", ""))
    if name in DISK_FULL:
        return (f"cannot write to the database {url}: the disk is full or the file has reached a size limit "
                f"({name}: {_first_line(error)}); nothing of this change was saved, free space and retry")  # fmt: skip
    cause = sqlite_access_problem(make_url(url).database) if name in SQLITE_ACCESS else None
    if cause:
        return f"cannot use the database {url}: {cause}; nothing was saved"
    if name:  # another SQLite condition (locked past the busy timeout, read-only file, I/O error)
        return f"the database {url} cannot be used right now ({name}: {_first_line(error)}); nothing was saved"
    return (f"the database {url} is unavailable ({_first_line(error)}); nothing was saved, retry when it is back "
            "(the server reconnects by itself)")  # fmt: skip


def _first_line(error: DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)


def open_store(db: str | None = None, *, migrate: bool = True, must_exist: bool = False) -> Store:
    """Open (and create or upgrade) the database named by ``db``, ``GPUCAST_DATABASE_URL`` or the default.

    ``must_exist``: a command that only reads (``service list``, ``history``, ``db export``...) or changes records
    that must already be there (``service update``, ``request approve``...) refuses a SQLite file that is not there
    instead of creating its folders and an empty database (issue 23, sweep 2026-12-08); the commands that create
    the first records (``user add``, ``service add``, ``db import``, ``--save``) create it."""
    url = resolve_url(db)
    if must_exist:
        require_existing(url, url_source(db))
    engine = make_engine(url)
    try:
        if migrate and current_revision(engine) != HEAD:
            refuse_foreign_sqlite(engine)
            upgrade(engine)
    except DBAPIError as error:
        engine.dispose()
        shown = engine.url.render_as_string(hide_password=True)
        cause = sqlite_access_problem(engine.url.database if engine.dialect.name == "sqlite" else None)
        raise StoreError(f"cannot open the database {shown}: {cause or _first_line(error)}") from None
    return Store(engine)


def sqlite_access_problem(database: str | None) -> str | None:
    """Why this process cannot write a SQLite file, in words, or None. SQLite only says "unable to open database
    file" (a new file in a folder it cannot write) or "attempt to write a readonly database" (an existing, even
    writable, file whose folder is read-only: WAL mode creates FILE-wal and FILE-shm beside it), naming neither the
    path nor the folder."""
    if not database or database == ":memory:":
        return None
    path = Path(database)
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {str(path)!r} is read-only for this user; make it writable or copy it somewhere writable"
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        what = "its journal files" if path.exists() else "the file and its journal files"
        return (
            f"its folder {str(folder)!r} is not writable for this user, and SQLite creates {what} "
            f"({path.name}-wal, {path.name}-shm) there; make the folder writable or move the database"
        )
    return None


def refuse_foreign_sqlite(engine: Engine) -> None:
    """A SQLite file with tables but no gpucast schema revision is another program's database: creating gpucast's
    tables in it (as every command did, `db info` included) mixes two applications' data, and a table of the same
    name ("services", "users") failed half way. PostgreSQL databases are shared by design and are not refused."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        if tables and "alembic_version" not in tables:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(f"--db {engine.url.render_as_string(hide_password=True)} is not a gpucast database (it "
                             f"holds other tables: {shown}); nothing was changed: use a new file for gpucast's "
                             "database")  # fmt: skip


def url_source(db: str | None = None) -> str:
    """Where :func:`resolve_url` took the database from, in the words a user set it with."""
    if db:
        return "--db"
    return f"${ENV_VAR}" if os.environ.get(ENV_VAR) else "the default location"


def missing_database(url: str, source: str = "--db") -> str | None:
    """Why ``url`` names no database yet (a SQLite file that is not there), in one line; None when it is there or
    is a server (a server database exists or fails to connect)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # make_engine says what is wrong with the URL
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    if path.is_file():
        return None
    where = "; its folder does not exist either" if not path.parent.is_dir() else ""
    return (
        f"no database at {path} (from {source}{where}): this command needs an existing database and creates "
        "none; create one with `gpucast service add NAME ...` (or `gpucast db import FILE`), or pass --db "
        "with the path of an existing database"
    )


def require_existing(url: str, source: str = "--db") -> None:
    """StoreError unless ``url`` names an existing SQLite file (other databases are servers: they exist or fail)."""
    problem = missing_database(url, source)
    if problem:
        raise StoreError(problem)


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database (None for an empty database); cheap, no Alembic import."""
    with engine.connect() as connection:
        return current_revision_in(connection)


def upgrade(engine: Engine) -> None:
    """Run the Alembic migrations to HEAD inside one locked transaction, so two processes opening a new
    database at once cannot both create the tables."""
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.execution_options(immediate=True).connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"))
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, "head")
        except CommandError:  # a revision none of the shipped migrations names: Alembic's traceback, before
            raise StoreError(
                f"the database {engine.url.render_as_string(hide_password=True)} has schema revision "
                f"{current_revision_in(connection)!r}, which this gpucast (schema {HEAD}) does not know: it was "
                "written by a newer gpucast; upgrade gpucast to use it (nothing was changed)"
            ) from None


def current_revision_in(connection: Any) -> str | None:
    """The stored revision read on an open connection (``current_revision``'s, and inside the migration's
    transaction); None without the revision table."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if revision is None else str(revision)
