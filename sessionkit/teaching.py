"""The database a teaching notebook runs on: a SQLite file of its own, or ``SESSIONKIT_DATABASE_URL`` when it is set.

Every notebook starts the same way, so that it runs with nothing to configure and can be
pointed at PostgreSQL or MySQL by setting one environment variable before Jupyter starts::

    from sessionkit.teaching import create_engine
    engine = create_engine(metadata=Base.metadata)   # fresh tables for Base's models

With nothing set, the database is a SQLite file in a new temporary directory, never SQLite in
memory: an in-memory database lives inside one connection, so every session would share that
connection and its transaction. One session would then see another's uncommitted rows, and
closing one would roll back the other's flushed INSERTs, which no real database does. On a
file each session has a connection and a transaction of its own. The directory is removed
when the engine is disposed, garbage-collected or Python exits (and, for a kernel that was
killed, by the next notebook that starts).

Outputs committed in the notebooks are those of this SQLite file; another database gives the
same states and events but its own SQL text.
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

from sessionkit.core.exceptions import InvalidSettingError

#: The environment variable that points the notebooks at another database.
DATABASE_URL_VARIABLE = "SESSIONKIT_DATABASE_URL"

#: The database the notebooks use when the variable is not set: SQLite, which
#: :func:`create_engine` puts in a temporary file rather than in memory.
DEFAULT_DATABASE_URL = "sqlite://"

#: Seconds a connection to a SQLite file waits for another connection's lock before it fails
#: with "database is locked". In a notebook both sessions run in one
#: thread, so the lock holder cannot finish while the other waits: failing fast is kinder.
SQLITE_BUSY_TIMEOUT = 1.0

#: The file name of the temporary database made in place of in-memory SQLite.
SQLITE_FILE_NAME = "sessionkit.db"

#: Its directory is named ``sessionkit-sqlite-<pid>-<random>``, after the process that made it.
TEMPORARY_PREFIX = "sessionkit-sqlite-"


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """The SQLAlchemy URL the notebooks use: ``SESSIONKIT_DATABASE_URL``, or SQLite (made a temporary file).

    ``environ`` defaults to ``os.environ``; an empty value counts as unset.

    >>> database_url({})
    'sqlite://'
    >>> database_url({"SESSIONKIT_DATABASE_URL": "postgresql+psycopg://localhost/learn"})
    'postgresql+psycopg://localhost/learn'
    """
    env = os.environ if environ is None else environ
    return env.get(DATABASE_URL_VARIABLE, "").strip() or DEFAULT_DATABASE_URL


def describe_database(environ: Mapping[str, str] | None = None) -> str:
    """In words, the database the notebooks will use (a password in the URL is hidden).

    >>> describe_database({})
    "SQLite, in a file of each notebook's own in a temporary folder (removed when its kernel stops)"
    >>> describe_database({"SESSIONKIT_DATABASE_URL": "postgresql+psycopg://ann:secret@localhost/learn"})
    'postgresql+psycopg://ann:***@localhost/learn (from SESSIONKIT_DATABASE_URL)'
    """
    chosen = database_url(environ)
    parsed = _parse(chosen)
    if _in_memory_sqlite(parsed):
        return "SQLite, in a file of each notebook's own in a temporary folder (removed when its kernel stops)"
    return f"{parsed.render_as_string(hide_password=True)} (from {DATABASE_URL_VARIABLE})"


def create_engine(
    url: str | None = None,
    *,
    metadata: MetaData | None = None,
    environ: Mapping[str, str] | None = None,
    **options: Any,
) -> Engine:
    """An engine for a notebook, on ``url`` or else :func:`database_url`; with ``metadata``, on fresh tables.

    In-memory SQLite (the default, or ``sqlite://`` asked for by name) becomes a SQLite file in
    a new temporary directory, so that each session has a connection, and a transaction, of
    its own, as on any database server. The directory is removed when the engine is disposed
    (``engine.dispose()``; the engine cannot be used after it), when it is garbage-collected,
    when Python exits, or by :func:`temporary_directory` once a killed kernel is gone.
    Every SQLite file is opened in WAL mode (readers and a writer do not block each other) with
    a busy timeout of :data:`SQLITE_BUSY_TIMEOUT` seconds, so a second writer fails fast with
    "database is locked" instead of hanging. Other databases (``SESSIONKIT_DATABASE_URL``) are
    used as they are. ``metadata`` (e.g. ``Base.metadata``) drops and re-creates its tables, so a
    notebook re-run against a server starts clean. Other keyword arguments go to
    :func:`sqlalchemy.create_engine` (e.g. ``echo=True``).

    >>> from sqlalchemy import Column, Integer, MetaData, Table, inspect
    >>> metadata = MetaData()
    >>> _ = Table("note", metadata, Column("id", Integer, primary_key=True))
    >>> engine = create_engine(metadata=metadata, environ={})
    >>> engine.url.database.endswith("sessionkit.db"), inspect(engine).get_table_names()
    (True, ['note'])
    >>> engine.dispose()  # the temporary directory goes with it
    """
    parsed = _parse(database_url(environ) if url is None else url)
    directory = None
    if _in_memory_sqlite(parsed):
        directory = temporary_directory()
        parsed = parsed.set(database=str(Path(directory) / SQLITE_FILE_NAME))
    on_sqlite_file = parsed.get_backend_name() == "sqlite"
    if on_sqlite_file and parsed.get_driver_name() == "pysqlite":
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, **options.get("connect_args", {})}
    engine = sqlalchemy.create_engine(parsed, **options)
    if directory is not None:
        remove = weakref.finalize(engine, shutil.rmtree, directory, ignore_errors=True)  # also at exit
        event.listen(engine, "engine_disposed", lambda _engine: remove())
    if on_sqlite_file:
        event.listen(engine, "connect", _write_ahead_log)
    if metadata is not None:
        metadata.drop_all(engine)
        metadata.create_all(engine)
    return engine


def temporary_directory() -> str:
    """A new directory for a notebook's SQLite file, once those of processes that are gone are removed."""
    remove_left_behind()
    return tempfile.mkdtemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-")


def remove_left_behind() -> list[Path]:
    """Remove the temporary directories of processes that are gone, and return them.

    A kernel stopped with SIGKILL (as nbval stops its own) never runs its own clean-up, so the
    next notebook does, and so can a test run when it ends: each directory carries the id of the
    process that made it, and only directories whose process no longer runs are removed (never
    on Windows, where ``os.kill()`` would end a process instead of asking whether it runs).
    """
    removed = []
    for left in Path(tempfile.gettempdir()).glob(f"{TEMPORARY_PREFIX}*-*"):
        owner = left.name.removeprefix(TEMPORARY_PREFIX).split("-", 1)[0]
        if owner.isdigit() and left.is_dir() and not _running(int(owner)):
            shutil.rmtree(left, ignore_errors=True)
            removed.append(left)
    return removed


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


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        msg = (
            f"{url!r} is not a SQLAlchemy database URL; set {DATABASE_URL_VARIABLE} to one such as "
            f"'postgresql+psycopg://user@localhost/learn', or unset it for a temporary SQLite file."
        )
        raise InvalidSettingError(msg) from None


def _in_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in {None, "", ":memory:"}


def _write_ahead_log(dbapi_connection: Any, connection_record: Any) -> None:  # noqa: ARG001 - SQLAlchemy's signature
    """Put a new SQLite connection in WAL mode: readers see the last commit while a writer works."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()
