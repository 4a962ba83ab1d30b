"""The notebooks' database: a temporary SQLite file (never shared memory), or SESSIONKIT_DATABASE_URL when set."""

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

from sessionkit import InvalidSettingError, ObjectState, state_of, teaching
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


def test_an_explicit_url_wins_and_options_pass_through(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mine.db'}"
    engine = create_engine(url, echo=True, environ={DATABASE_URL_VARIABLE: "nonsense"})
    assert engine.echo is True
    assert engine.url.render_as_string() == url


def test_a_url_that_is_not_one_says_what_to_set() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        create_engine(environ={DATABASE_URL_VARIABLE: "not a url"})
    assert str(caught.value) == (
        "'not a url' is not a SQLAlchemy database URL; set SESSIONKIT_DATABASE_URL to one such as "
        "'postgresql+psycopg://user@localhost/learn', or unset it for a temporary SQLite file."
    )


# ---------------------------------------------------------------- in-memory SQLite becomes a temporary file


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where tempfile (and so the default engine) makes its directories, for this test only."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_the_default_gives_each_session_a_connection_of_its_own(temporary: Path) -> None:
    engine = create_engine(metadata=Base.metadata, environ={})
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
    engine = create_engine(metadata=Base.metadata, environ={})
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
    engine = create_engine(metadata=Base.metadata, environ={})
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


def test_a_server_is_used_as_it_is() -> None:
    url = "postgresql+psycopg://user@localhost/learn"
    engine = create_engine(environ={DATABASE_URL_VARIABLE: url})  # no connection is made
    assert engine.url.render_as_string() == url
    assert not event.contains(engine, "connect", teaching._write_ahead_log)


def test_a_named_file_is_kept_and_an_explicit_timeout_wins(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'learn.db'}"
    engine = create_engine(url, connect_args={"timeout": 7})
    assert engine.url.database == str(tmp_path / "learn.db")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
    engine.dispose()
    assert (tmp_path / "learn.db").exists()


# ---------------------------------------------------------------- what a learner does with two sessions


@pytest.mark.parametrize(
    "environ", [{}, {DATABASE_URL_VARIABLE: "sqlite://"}, {DATABASE_URL_VARIABLE: "sqlite:///:memory:"}]
)
@pytest.mark.usefixtures("temporary")
def test_a_second_session_neither_sees_nor_undoes_the_first_ones_work(environ: dict[str, str]) -> None:
    engine = create_engine(metadata=Base.metadata, environ=environ)
    first, second = Session(engine), Session(engine)
    ann = Author(name="Ann")
    first.add(ann)
    first.flush()  # the INSERT is sent inside first's transaction
    assert second.query(Author).count() == 0  # not committed: invisible to another session
    second.close()  # must not roll back first's transaction
    assert state_of(ann) is ObjectState.PERSISTENT
    first.commit()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM sk_author")).scalars().all() == ["Ann"]
    first.close()
    engine.dispose()


@pytest.mark.usefixtures("temporary")
def test_an_explicit_in_memory_url_becomes_a_file_too() -> None:
    engine = create_engine("sqlite://", metadata=Base.metadata)
    assert Path(engine.url.database or "").name == SQLITE_FILE_NAME
    assert not isinstance(engine.pool, StaticPool)
    engine.dispose()


def test_dispose_removes_the_temporary_directory(temporary: Path) -> None:
    engine = create_engine(metadata=Base.metadata, environ={})
    with Session(engine) as session:
        session.add(Author(name="Ann"))
        session.commit()
    directory = Path(engine.url.database or "").parent
    assert directory.parent == temporary
    assert {path.name for path in directory.iterdir()} >= {SQLITE_FILE_NAME}
    engine.dispose()  # no garbage collection needed: the engine is still referenced here
    assert not directory.exists()
    assert list(temporary.iterdir()) == []


LESSON = """
import sys, time
from pathlib import Path
from sqlalchemy import text
from sqlalchemy.orm import Session
from sessionkit.teaching import create_engine
from sessionkit import ObjectState, state_of
from tests.models import Author, Base

name, sync, together = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
engine = create_engine(metadata=Base.metadata, environ={})  # left for the interpreter's exit to clean up
print(Path(engine.url.database).parent, flush=True)


def meet(step):
    (sync / f"{name}-{step}").touch()
    deadline = time.monotonic() + 60
    while len(list(sync.glob(f"*-{step}"))) < together:
        assert time.monotonic() < deadline, f"the other lesson never reached {step}"
        time.sleep(0.02)


session = Session(engine)
session.add(Author(name=name))
session.commit()
meet("committed")  # both lessons have written, on what each believes is its own database
assert session.scalars(text("SELECT name FROM sk_author")).all() == [name]
meet("read")
print("ok", flush=True)
"""


def run_lessons(tmp_path: Path, *names: str) -> list[tuple[Path, str]]:
    """Run one small lesson per name, all at once, each in its own Python; their directories and outputs."""
    sync = tmp_path / "sync"
    sync.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop(DATABASE_URL_VARIABLE, None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", LESSON, name, str(sync), str(len(names))],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        directory, verdict = out.splitlines()
        results.append((Path(directory), verdict))
    return results


def test_two_lessons_at_once_each_have_their_own_database(tmp_path: Path) -> None:
    results = run_lessons(tmp_path, "Ann", "Bo")
    assert [verdict for _, verdict in results] == ["ok", "ok"]
    first, second = (directory for directory, _ in results)
    assert first != second
    assert first.parent == second.parent == tmp_path


def test_the_temporary_directory_goes_when_the_interpreter_exits(tmp_path: Path) -> None:
    ((directory, verdict),) = run_lessons(tmp_path, "Ann")
    assert verdict == "ok"
    assert directory.parent == tmp_path
    assert not directory.exists()
    assert not list(tmp_path.glob(f"{TEMPORARY_PREFIX}*"))
