"""The database a teaching notebook runs on: in-memory SQLite, or ``SESSIONKIT_DATABASE_URL`` when it is set.

Every notebook starts the same way, so that it runs with nothing to configure and can be
pointed at PostgreSQL or MySQL by setting one environment variable before Jupyter starts::

    from sessionkit.teaching import create_engine
    engine = create_engine(metadata=Base.metadata)   # fresh tables for Base's models

Outputs committed in the notebooks are those of in-memory SQLite; another database gives the
same states and events but its own SQL text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, MetaData, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from sessionkit.exceptions import InvalidSettingError

#: The environment variable that points the notebooks at another database.
DATABASE_URL_VARIABLE = "SESSIONKIT_DATABASE_URL"

#: The database the notebooks use when the variable is not set: SQLite in memory.
DEFAULT_DATABASE_URL = "sqlite://"


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
    **options: Any,
) -> Engine:
    """An engine for a notebook, on ``url`` or else :func:`database_url`; with ``metadata``, on fresh tables.

    In-memory SQLite gets one shared connection (``StaticPool``), so every session and every
    widget callback in the kernel sees the same database. ``metadata`` (e.g. ``Base.metadata``)
    drops and re-creates its tables, so a notebook re-run against a server starts clean.
    Other keyword arguments go to :func:`sqlalchemy.create_engine` (e.g. ``echo=True``).

    >>> from sqlalchemy import Column, Integer, MetaData, Table, inspect
    >>> metadata = MetaData()
    >>> _ = Table("note", metadata, Column("id", Integer, primary_key=True))
    >>> engine = create_engine(metadata=metadata, environ={})
    >>> engine.url.render_as_string(), inspect(engine).get_table_names()
    ('sqlite://', ['note'])
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
    if parsed.get_backend_name() == "sqlite" and parsed.database in {None, "", ":memory:"}:
        options.setdefault("poolclass", StaticPool)
        options.setdefault("connect_args", {"check_same_thread": False})
    engine = sqlalchemy.create_engine(parsed, **options)
    if metadata is not None:
        metadata.drop_all(engine)
        metadata.create_all(engine)
    return engine
