"""The notebooks' database: in-memory SQLite (or a file: sqlite_file=True), or SESSIONKIT_DATABASE_URL when set."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from sessionkit import InvalidSettingError, teaching
from sessionkit.teaching import (
    DATABASE_URL_VARIABLE,
    SQLITE_BUSY_TIMEOUT,
    SQLITE_FILE_NAME,
    TEMPORARY_PREFIX,
    create_engine,
    database_url,
    temporary_directory,
)
from tests.models import Author, Base


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, "sqlite://"),
        ({DATABASE_URL_VARIABLE: ""}, "sqlite://"),
        ({DATABASE_URL_VARIABLE: "  "}, "sqlite://"),
        ({DATABASE_URL_VARIABLE: " postgresql+psycopg://u@h/db "}, "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_url_reads_the_variable(environ: dict[str, str], url: str) -> None:
    assert database_url(environ) == url


def test_database_url_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_VARIABLE, "sqlite:///from-env.db")
    assert database_url() == "sqlite:///from-env.db"
    monkeypatch.delenv(DATABASE_URL_VARIABLE)
    assert database_url() == "sqlite://"


def test_in_memory_sqlite_is_one_shared_database() -> None:
    engine = create_engine(metadata=Base.metadata, environ={})
    assert isinstance(engine.pool, StaticPool)
    with Session(engine) as writer:
        writer.add(Author(name="Ann"))
        writer.commit()
    with engine.connect() as other:  # another checkout sees the same in-memory database
        assert other.execute(text("SELECT name FROM sk_author")).scalar_one() == "Ann"


def test_metadata_gives_fresh_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'learn.db'}"
    engine = create_engine(metadata=Base.metadata, environ={DATABASE_URL_VARIABLE: url})
    assert engine.url.database == str(tmp_path / "learn.db")
    assert not isinstance(engine.pool, StaticPool)
    with Session(engine) as session:
        session.add(Author(name="Ann"))
        session.commit()
    again = create_engine(url, metadata=Base.metadata)
    with Session(again) as session:
        assert session.query(Author).count() == 0
    assert set(inspect(again).get_table_names()) == {"sk_author", "sk_book"}
    engine.dispose()
    again.dispose()


def test_an_explicit_url_wins_and_options_pass_through() -> None:
    engine = create_engine("sqlite://", echo=True, environ={DATABASE_URL_VARIABLE: "nonsense"})
    assert engine.echo is True
    assert engine.url.render_as_string() == "sqlite://"


def test_a_url_that_is_not_one_says_what_to_set() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        create_engine(environ={DATABASE_URL_VARIABLE: "not a url"})
    assert str(caught.value) == (
        "'not a url' is not a SQLAlchemy database URL; set SESSIONKIT_DATABASE_URL to one such as "
        "'postgresql+psycopg://user@localhost/learn', or unset it for in-memory SQLite."
    )


# ---------------------------------------------------------------- sqlite_file=True: two sessions, two transactions


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where tempfile (and so sqlite_file=True) makes its directories, for this test only."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_sqlite_file_gives_each_session_a_transaction_of_its_own(temporary: Path) -> None:
    engine = create_engine(metadata=Base.metadata, environ={}, sqlite_file=True)
    database = Path(engine.url.database or "")
    assert database.name == SQLITE_FILE_NAME
    assert database.parent.parent == temporary
    assert database.parent.name.startswith(f"{TEMPORARY_PREFIX}{os.getpid()}-")
    assert not isinstance(engine.pool, StaticPool)
    with Session(engine) as writer, Session(engine) as reader:
        writer.add(Author(name="Ann"))
        writer.flush()  # the INSERT is sent, not committed
        assert writer.connection().connection.dbapi_connection is not reader.connection().connection.dbapi_connection
        assert reader.query(Author).count() == 0  # isolation
        writer.commit()
        assert reader.query(Author).count() == 1
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT * 1000
    engine.dispose()


@pytest.mark.usefixtures("temporary")
def test_a_second_writer_on_the_file_fails_fast() -> None:
    engine = create_engine(metadata=Base.metadata, environ={}, sqlite_file=True)
    with Session(engine) as first, Session(engine) as second:
        first.add(Author(name="Ann"))
        first.flush()  # holds the write lock until it commits or rolls back
        second.add(Author(name="Bo"))
        started = time.perf_counter()
        with pytest.raises(OperationalError, match="database is locked"):
            second.flush()
        assert time.perf_counter() - started < SQLITE_BUSY_TIMEOUT + 2
    engine.dispose()


@pytest.mark.usefixtures("temporary")
def test_the_temporary_directory_goes_with_the_engine() -> None:
    engine = create_engine(metadata=Base.metadata, environ={}, sqlite_file=True)
    with Session(engine) as session:
        session.add(Author(name="Ann"))
        session.commit()
    directory = Path(engine.url.database or "").parent
    assert {path.name for path in directory.iterdir()} >= {SQLITE_FILE_NAME}
    engine.dispose()
    del engine, session  # the session keeps its bind
    gc.collect()
    assert not directory.exists()


@pytest.mark.skipif(os.name == "nt", reason="directories are never swept on Windows")
def test_directories_of_processes_that_are_gone_are_removed(temporary: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    gone = temporary / f"{TEMPORARY_PREFIX}{int(finished.stdout)}-abc"
    mine = temporary / f"{TEMPORARY_PREFIX}{os.getpid()}-def"
    other = temporary / f"{TEMPORARY_PREFIX}notapid-ghi"
    for directory in (gone, mine, other):
        directory.mkdir()
        (directory / SQLITE_FILE_NAME).write_bytes(b"")
    made = Path(temporary_directory())
    assert made.parent == temporary
    assert not gone.exists()
    assert mine.exists()
    assert other.exists()


def test_sqlite_file_leaves_a_server_alone() -> None:
    url = "postgresql+psycopg://user@localhost/learn"
    engine = create_engine(environ={DATABASE_URL_VARIABLE: url}, sqlite_file=True)  # no connection is made
    assert engine.url.render_as_string() == url
    assert not event.contains(engine, "connect", teaching._write_ahead_log)


def test_sqlite_file_keeps_a_named_file_and_an_explicit_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'learn.db'}"
    engine = create_engine(url, sqlite_file=True, connect_args={"timeout": 7})
    assert engine.url.database == str(tmp_path / "learn.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
    engine.dispose()
    assert (tmp_path / "learn.db").exists()
