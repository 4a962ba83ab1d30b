"""Where SQLite, PostgreSQL and MariaDB send different SQL, the tracker still tells the same story.

Each test runs on every backend in SESSIONKIT_TEST_DATABASE_URLS. Beside the tracker, a
``WitnessSession`` keeps its own record, without sessionkit: every lifecycle hook SQLAlchemy
fired, in order, and which ``flush()`` call (if any) each statement was sent in. The tracker
must agree with it exactly: each transition once, each statement attributed to the right flush.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, FetchedValue, Integer, String, event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, close_all_sessions, mapped_column

import sessionkit
from sessionkit import Flush, ObjectState, Tracker, track
from tests.models import Author, Book

ROOT = Path(__file__).resolve().parents[2]


def backend(engine: Engine) -> str:
    """``sqlite``, ``postgresql`` or ``mariadb`` (MySQL proper would be ``mysql``)."""
    if engine.dialect.name == "mysql" and getattr(engine.dialect, "is_mariadb", False):
        return "mariadb"
    return engine.dialect.name


def table(sql: str) -> str:
    """The table a simple statement reads or writes."""
    found = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", sql)
    return found.group(1) if found else ""


# ---------------------------------------------------------------- an independent witness


class WitnessSession(Session):
    """A Session that records, without sessionkit, the hooks fired and the flush each statement belongs to."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.hooks: list[tuple[str, Any]] = []
        self.statements: list[tuple[str, int | None]] = []
        self.flushes = 0
        self._in_flush: int | None = None
        self._engine: Engine | None = None

    def flush(self, objects: Any = None) -> None:
        try:
            super().flush(objects)
        finally:
            self._in_flush = None

    def watch(self, engine: Engine) -> None:
        for hook in sessionkit.HOOKS:
            event.listen(self, hook, self._hook_recorder(hook), raw=True)
        event.listen(self, "before_flush", self._before_flush)
        event.listen(engine, "before_cursor_execute", self._statement)
        self._engine = engine

    def unwatch(self) -> None:
        if self._engine is not None:
            event.remove(self._engine, "before_cursor_execute", self._statement)
            self._engine = None

    def _hook_recorder(self, hook: str) -> Any:
        def record(session: Session, state: Any) -> None:
            self.hooks.append((hook, state.obj()))

        return record

    def _before_flush(self, session: Session, flush_context: Any, instances: Any) -> None:
        self.flushes += 1
        self._in_flush = self.flushes

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append((statement, self._in_flush))


def _runs(hooks: list[tuple[str, Any]]) -> list[tuple[str, set[int]]]:
    """Consecutive events of one hook, as (hook, the ids of its objects)."""
    runs: list[tuple[str, set[int]]] = []
    for hook, obj in hooks:
        if not runs or runs[-1][0] != hook:
            runs.append((hook, set()))
        runs[-1][1].add(id(obj))
    return runs


@dataclass
class Watched:
    session: WitnessSession
    tracker: Tracker
    engine: Engine

    def agree(self) -> None:
        """The tracker saw exactly what the witness saw: each hook once, each statement in its flush."""
        witness, tracker = self.session, self.tracker
        got = [(t.hook, t.instance) for t in tracker.transitions]
        assert [hook for hook, _ in got] == [hook for hook, _ in witness.hooks]
        # Within a run of one hook the tracker shows objects in label order, not SQLAlchemy's set order.
        assert _runs(got) == _runs(witness.hooks)
        flushes = [e.seq for e in tracker.events if isinstance(e, Flush)]
        assert len(flushes) == witness.flushes
        ordinal = {seq: number for number, seq in enumerate(flushes, start=1)}
        recorded = [(s.sql, None if s.flush is None else ordinal[s.flush]) for s in tracker.statements]
        assert recorded == witness.statements

    def sql(self, pattern: str) -> list[sessionkit.Statement]:
        """The recorded statements matching ``pattern`` (a regular expression, searched)."""
        return [s for s in self.tracker.statements if re.search(pattern, s.sql)]

    def flush_seqs(self) -> list[int]:
        return [e.seq for e in self.tracker.events if isinstance(e, Flush)]


def watch(session: WitnessSession, engine: Engine) -> Watched:
    session.watch(engine)
    return Watched(session, track(session), engine)


@pytest.fixture
def witness(engine: Engine) -> Iterator[WitnessSession]:
    with WitnessSession(engine) as session:
        yield session
        session.unwatch()


# ---------------------------------------------------------------- a table with server-generated values


class StampBase(DeclarativeBase):
    pass


class Stamp(StampBase):
    """A row whose ``counter`` the database sets (server default) and may change on UPDATE."""

    __tablename__ = "sk_stamp"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    counter: Mapped[int] = mapped_column(Integer, server_default=text("7"), server_onupdate=FetchedValue())


@pytest.fixture
def stamps(engine: Engine) -> Iterator[None]:
    StampBase.metadata.drop_all(engine)
    StampBase.metadata.create_all(engine)
    yield
    close_all_sessions()  # the test's session may still hold the locks DROP TABLE needs
    StampBase.metadata.drop_all(engine)


# ---------------------------------------------------------------- RETURNING


def test_single_row_inserts_use_returning_or_lastrowid(engine: Engine, witness: WitnessSession, stamps: None) -> None:
    w = watch(witness, engine)
    author, stamp = Author(name="Ann"), Stamp(name="s")
    witness.add_all([author, stamp])
    witness.flush()
    w.agree()
    (flush,) = w.flush_seqs()
    (author_insert,) = w.sql("^INSERT INTO sk_author")
    (stamp_insert,) = w.sql("^INSERT INTO sk_stamp")
    assert author_insert.flush == stamp_insert.flush == flush
    # Only the key to fetch: PostgreSQL asks for it with RETURNING, SQLite and MariaDB read cursor.lastrowid.
    assert ("RETURNING" in author_insert.sql) is (backend(engine) == "postgresql")
    # A server default to fetch as well (eager_defaults): every backend here says RETURNING.
    assert "RETURNING" in stamp_insert.sql
    assert stamp.counter == 7
    assert [t.hook for t in w.tracker.transitions].count("pending_to_persistent") == 2


def test_server_values_after_update_come_back_by_returning_or_by_a_select_inside_the_flush(
    engine: Engine, witness: WitnessSession, stamps: None
) -> None:
    rows = [Stamp(name=f"s{i}") for i in range(3)]
    witness.add_all(rows)
    witness.commit()
    for row in rows:
        row.name += "!"
    witness.flush()  # loads the expired rows first, outside any flush
    w = watch(witness, engine)
    for row in rows:
        row.name += "?"
    witness.flush()
    w.agree()
    (flush,) = w.flush_seqs()
    assert all(s.flush == flush for s in w.tracker.statements)
    assert w.tracker.transitions == []
    updates, selects = w.sql("^UPDATE sk_stamp"), w.sql("^SELECT")
    if backend(engine) == "mariadb":
        # No UPDATE ... RETURNING: one executemany UPDATE, then a SELECT per row, all inside the flush.
        assert [(s.executemany, len(s.parameters)) for s in updates] == [(True, 3)]
        assert len(selects) == 3
        assert all("sk_stamp.counter" in s.sql for s in selects)
    else:
        # UPDATE ... RETURNING, one statement per row (each row's RETURNING must be read back).
        assert len(updates) == 3
        assert all("RETURNING" in s.sql and not s.executemany for s in updates)
        assert selects == []


# ---------------------------------------------------------------- batched INSERTs (insertmanyvalues)


def test_batched_inserts_belong_to_their_flush_and_each_object_persists_once(
    engine: Engine, witness: WitnessSession
) -> None:
    page = 2
    witness.bind = engine.execution_options(insertmanyvalues_page_size=page)
    w = watch(witness, engine)
    authors = [Author(name=f"a{i}", books=[Book(title=f"b{i}")]) for i in range(5)]
    witness.add_all(authors)
    witness.flush()
    w.agree()
    (flush,) = w.flush_seqs()
    inserts = w.sql("^INSERT INTO")
    assert all(s.flush == flush for s in w.tracker.statements)
    assert all(s.executemany for s in inserts)  # SQLAlchemy runs insertmanyvalues as an executemany context
    author_inserts, book_inserts = w.sql("^INSERT INTO sk_author"), w.sql("^INSERT INTO sk_book")
    if backend(engine) == "sqlite":
        # SQLite cannot promise RETURNING rows in VALUES order, so the ORM sends one row per statement.
        assert len(author_inserts) == len(book_inserts) == 5
    else:
        # One multi-row INSERT ... RETURNING per page of rows.
        assert len(author_inserts) == len(book_inserts) == math.ceil(5 / page)
        assert all("RETURNING" in s.sql for s in inserts)
    objects = [*authors, *(b for a in authors for b in a.books)]
    persisted = [t.instance for t in w.tracker.transitions if t.hook == "pending_to_persistent"]
    assert len(persisted) == len(objects) == 10
    assert {id(o) for o in persisted} == {id(o) for o in objects}
    assert all(sessionkit.state_of(o) is ObjectState.PERSISTENT for o in objects)


def test_deletes_with_cascade_loads_and_an_autoflush_between_them(engine: Engine, witness: WitnessSession) -> None:
    authors = [Author(name=f"a{i}", books=[Book(), Book()]) for i in range(2)]
    witness.add_all(authors)
    witness.commit()
    w = watch(witness, engine)
    for author in authors:
        witness.delete(author)
    witness.commit()
    w.agree()
    # delete() loads the expired author and the books its cascade reaches (outside any flush);
    # loading the second author autoflushes the first delete, so the commit's flush has only the second.
    first, second = w.flush_seqs()
    sent = [(s.sql.split()[0], table(s.sql), s.flush) for s in w.tracker.statements]
    assert sent == [
        ("SELECT", "sk_author", None),
        ("SELECT", "sk_book", None),
        ("DELETE", "sk_book", first),
        ("DELETE", "sk_author", first),
        ("SELECT", "sk_author", None),
        ("SELECT", "sk_book", None),
        ("DELETE", "sk_book", second),
        ("DELETE", "sk_author", second),
    ]
    assert [(s.executemany, len(s.parameters)) for s in w.sql("^DELETE FROM sk_book")] == [(True, 2), (True, 2)]
    hooks = [t.hook for t in w.tracker.transitions]
    assert hooks.count("loaded_as_persistent") == 4
    assert hooks.count("persistent_to_deleted") == hooks.count("deleted_to_detached") == 6
    assert all(inspect(a).was_deleted and sessionkit.state_of(a) is ObjectState.DETACHED for a in authors)


# ---------------------------------------------------------------- savepoints


def test_savepoint_sql_is_sent_by_the_flush_that_needs_it(engine: Engine, witness: WitnessSession) -> None:
    w = watch(witness, engine)
    kept = Author(name="kept")
    witness.add(kept)
    witness.flush()  # the outer transaction holds a connection before the savepoint (pysqlite needs that)

    savepoint = witness.begin_nested()
    undone = Author(name="undone")
    witness.add(undone)
    witness.flush()
    savepoint.rollback()

    savepoint = witness.begin_nested()
    released = Author(name="released")
    witness.add(released)
    savepoint.commit()
    witness.commit()
    w.agree()

    first, second, third = w.flush_seqs()
    sent = [(re.sub(r"sa_savepoint_\d+", "sp", s.sql), s.flush) for s in w.sql("SAVEPOINT")]
    # SAVEPOINT is sent lazily, by the flush that first needs the connection; the way out is not.
    assert sent == [
        ("SAVEPOINT sp", second),
        ("ROLLBACK TO SAVEPOINT sp", None),
        ("SAVEPOINT sp", third),
        ("RELEASE SAVEPOINT sp", None),
    ]
    assert [s.flush for s in w.sql("^INSERT")] == [first, second, third]
    kinds = [
        (e.kind, getattr(e, "nested", None)) for e in w.tracker.events if e.kind in {"begin", "commit", "rollback"}
    ]
    assert kinds == [
        ("begin", False),
        ("begin", True),
        ("rollback", True),
        ("begin", True),
        ("commit", True),
        ("commit", False),
    ]
    assert [(t.hook, t.instance) for t in w.tracker.transitions if t.hook == "persistent_to_transient"] == [
        ("persistent_to_transient", undone)
    ]
    assert [sessionkit.state_of(o) for o in (kept, undone, released)] == [
        ObjectState.PERSISTENT,
        ObjectState.TRANSIENT,
        ObjectState.PERSISTENT,
    ]
    with engine.connect() as conn:
        assert sorted(conn.scalars(select(Author.name))) == ["kept", "released"]


def test_a_failed_flush_inside_a_savepoint(engine: Engine, witness: WitnessSession) -> None:
    witness.add(Author(id=1, name="first"))
    witness.commit()
    w = watch(witness, engine)
    duplicate = Author(id=1, name="duplicate")
    with pytest.raises(IntegrityError), witness.begin_nested():  # noqa: PT012 - the idiom taught: a savepoint around it
        witness.add(duplicate)
        witness.flush()
    # PostgreSQL aborts the whole transaction on an error; the savepoint is what lets it go on.
    assert witness.scalar(select(func.count()).select_from(Author)) == 1
    witness.add(Author(id=2, name="second"))
    witness.commit()
    w.agree()

    failed, later = w.flush_seqs()
    rollback_to = w.sql("^ROLLBACK TO SAVEPOINT")
    assert [s.flush for s in rollback_to] == [failed]  # the flush's own error handling sends it
    (count,) = w.sql("count")
    assert count.flush is None
    assert [s.flush for s in w.sql("^INSERT")] == [failed, later]
    assert [(t.hook, t.instance) for t in w.tracker.transitions if t.instance is duplicate] == [
        ("transient_to_pending", duplicate),
        ("pending_to_transient", duplicate),
    ]


def test_a_failed_flush_without_a_savepoint_ends_its_flush(engine: Engine, witness: WitnessSession) -> None:
    witness.add(Author(id=1, name="first"))
    witness.commit()
    w = watch(witness, engine)
    witness.add(Author(id=1, name="duplicate"))
    with pytest.raises(IntegrityError):
        witness.flush()
    witness.rollback()
    assert witness.scalar(select(func.count()).select_from(Author)) == 1
    w.agree()
    (failed,) = w.flush_seqs()
    assert [s.flush for s in w.tracker.statements] == [failed, None]


# ---------------------------------------------------------------- DDL inside a transaction


def test_ddl_inside_a_transaction(engine: Engine, witness: WitnessSession) -> None:
    table = "sk_ddl_probe"
    try:
        w = watch(witness, engine)
        author = Author(name="before DDL")
        witness.add(author)
        witness.flush()
        witness.execute(text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)"))
        witness.rollback()
        w.agree()
        (flush,) = w.flush_seqs()
        assert [(s.sql.split()[0], s.flush) for s in w.tracker.statements] == [("INSERT", flush), ("CREATE", None)]
        # The ORM rolls back the same way everywhere: one persistent_to_transient, the object is transient.
        assert [t.hook for t in w.tracker.transitions] == [
            "transient_to_pending",
            "pending_to_persistent",
            "persistent_to_transient",
        ]
        assert sessionkit.state_of(author) is ObjectState.TRANSIENT
        with engine.connect() as conn:
            rows = conn.scalars(select(Author.name)).all()
        if engine.dialect.name == "mysql":
            # MariaDB (and MySQL) commit implicitly before DDL: the INSERT survived the rollback.
            assert rows == ["before DDL"]
        else:
            # PostgreSQL and SQLite run DDL inside the transaction: the rollback undid both.
            assert rows == []
    finally:
        witness.close()
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))


# ---------------------------------------------------------------- the run fails when a server is down


def test_an_unreachable_database_fails_the_run_before_any_test() -> None:
    env = {**os.environ, "SESSIONKIT_TEST_DATABASE_URLS": "sqlite:// postgresql+psycopg://postgres@127.0.0.1:1/test"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "tests/core/test_databases.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "SESSIONKIT_TEST_DATABASE_URLS names databases that cannot be used" in output
    assert "127.0.0.1:1/test" in output
    assert "skipped" not in output
