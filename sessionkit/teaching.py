"""The database a teaching notebook runs on: in-memory SQLite, or ``SESSIONKIT_DATABASE_URL`` when it is set.

Every notebook starts the same way, so that it runs with nothing to configure and can be
pointed at PostgreSQL or MySQL by setting one environment variable before Jupyter starts::

    from sessionkit.teaching import create_engine
    engine = create_engine(metadata=Base.metadata)   # fresh tables for Base's models

Outputs committed in the notebooks are those of in-memory SQLite; another database gives the
same states and events but its own SQL text.

A notebook where two sessions work side by side asks for ``create_engine(sqlite_file=True)``:
in memory, every session would share one connection and so one transaction, and neither
could hide its uncommitted work from the other. A SQLite file gives each session its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import URL, Engine, MetaData, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from sessionkit.core.exceptions import InvalidSettingError

#: The environment variable that points the notebooks at another database.
DATABASE_URL_VARIABLE = "SESSIONKIT_DATABASE_URL"

#: The database the notebooks use when the variable is not set: SQLite in memory.
DEFAULT_DATABASE_URL = "sqlite://"

#: Seconds a connection to a SQLite file waits for another connection's lock before it fails
#: with "database is locked" (``sqlite_file=True``). In a notebook both sessions run in one
#: thread, so the lock holder cannot finish while the other waits: failing fast is kinder.
SQLITE_BUSY_TIMEOUT = 1.0

#: The file name of the temporary database ``sqlite_file=True`` makes.
SQLITE_FILE_NAME = "sessionkit.db"

#: Its directory is named ``sessionkit-sqlite-<pid>-<random>``, after the process that made it.
TEMPORARY_PREFIX = "sessionkit-sqlite-"


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """The SQLAlchemy URL the notebooks use: ``SESSIONKIT_DATABASE_URL``, or in-memory SQLite.

    ``environ`` defaults to ``os.environ``; an empty value counts as unset.

    >>> database_url({})
    'sqlite://'
    >>> database_url({"SESSIONKIT_DATABASE_URL": "postgresql+psycopg://localhost/learn"})
    'postgresql+psycopg://localhost/learn'
    """
    env = os.environ if environ is None else environ
    return env.get(DATABASE_URL_VARIABLE, "").strip() or DEFAULT_DATABASE_URL


def create_engine(
    url: str | None = None,
    *,
    metadata: MetaData | None = None,
    environ: Mapping[str, str] | None = None,
    sqlite_file: bool = False,
    **options: Any,
) -> Engine:
    """An engine for a notebook, on ``url`` or else :func:`database_url`; with ``metadata``, on fresh tables.

    In-memory SQLite gets one shared connection (``StaticPool``), so every session and every
    widget callback in the kernel sees the same database. ``metadata`` (e.g. ``Base.metadata``)
    drops and re-creates its tables, so a notebook re-run against a server starts clean.
    Other keyword arguments go to :func:`sqlalchemy.create_engine` (e.g. ``echo=True``).

    ``sqlite_file=True`` is for two sessions on one database: in-memory SQLite becomes a file in
    a new temporary directory (removed when the engine is garbage-collected or Python exits, or
    by :func:`temporary_directory` once a killed kernel is gone), so each session has a
    connection, and a transaction, of its own. Every SQLite file is then
    opened in WAL mode (readers and a writer do not block each other) with a busy timeout of
    :data:`SQLITE_BUSY_TIMEOUT` seconds, so a second writer fails fast with "database is locked"
    instead of hanging. Other databases (``SESSIONKIT_DATABASE_URL``) are used as they are.

    >>> from sqlalchemy import Column, Integer, MetaData, Table, inspect
    >>> metadata = MetaData()
    >>> _ = Table("note", metadata, Column("id", Integer, primary_key=True))
    >>> engine = create_engine(metadata=metadata, environ={})
    >>> engine.url.render_as_string(), inspect(engine).get_table_names()
    ('sqlite://', ['note'])
    >>> on_file = create_engine(metadata=metadata, environ={}, sqlite_file=True)
    >>> on_file.url.database.endswith("sessionkit.db"), inspect(on_file).get_table_names()
    (True, ['note'])
    """
    chosen = database_url(environ) if url is None else url
    try:
        parsed = make_url(chosen)
    except ArgumentError:
        msg = (
            f"{chosen!r} is not a SQLAlchemy database URL; set {DATABASE_URL_VARIABLE} to one such as "
            f"'postgresql+psycopg://user@localhost/learn', or unset it for in-memory SQLite."
        )
        raise InvalidSettingError(msg) from None
    directory = None
    if _in_memory_sqlite(parsed):
        if sqlite_file:
            directory = temporary_directory()
            parsed = parsed.set(database=str(Path(directory) / SQLITE_FILE_NAME))
        else:
            options.setdefault("poolclass", StaticPool)
            options.setdefault("connect_args", {"check_same_thread": False})
    on_sqlite_file = sqlite_file and parsed.get_backend_name() == "sqlite"
    if on_sqlite_file and parsed.get_driver_name() == "pysqlite":
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, **options.get("connect_args", {})}
    engine = sqlalchemy.create_engine(parsed, **options)
    if directory is not None:
        weakref.finalize(engine, shutil.rmtree, directory, ignore_errors=True)
    if on_sqlite_file:
        event.listen(engine, "connect", _write_ahead_log)
    if metadata is not None:
        metadata.drop_all(engine)
        metadata.create_all(engine)
    return engine


def temporary_directory() -> str:
    """A new directory for a notebook's SQLite file, once those of processes that are gone are removed.

    A kernel stopped with SIGKILL (as nbval and nbclient stop theirs) never runs its own
    clean-up, so the next one does: each directory carries the id of the process that made it,
    and only directories whose process no longer runs are removed (never on Windows, where
    ``os.kill()`` would end a process instead of asking whether it runs).
    """
    base = Path(tempfile.gettempdir())
    for left in base.glob(f"{TEMPORARY_PREFIX}*-*"):
        owner = left.name.removeprefix(TEMPORARY_PREFIX).split("-", 1)[0]
        if owner.isdigit() and left.is_dir() and not _running(int(owner)):
            shutil.rmtree(left, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-")


def _running(pid: int) -> bool:
    """Whether a process with this id exists (on Windows: always assumed)."""
    if os.name == "nt":  # there os.kill() would end the process rather than probe it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to another user
        return True
    return True


def _in_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in {None, "", ":memory:"}


def _write_ahead_log(dbapi_connection: Any, connection_record: Any) -> None:  # noqa: ARG001 - SQLAlchemy's signature
    """Put a new SQLite connection in WAL mode: readers see the last commit while a writer works."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()
