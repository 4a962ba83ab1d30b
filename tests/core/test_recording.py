"""The listeners against a real session: every hook in order, SQL capture, and the unread buffer's bound."""

from __future__ import annotations

import gc
import weakref
from collections import Counter

import pytest
from sqlalchemy import Engine, event, insert, inspect, select, text
from sqlalchemy.orm import Session, make_transient, sessionmaker

import sessionkit
from sessionkit import ObjectState, track
from tests.models import Author, Base, Book


def hooks(tracker: sessionkit.Tracker) -> list[str]:
    return [t.hook for t in tracker.transitions]


def step(tracker: sessionkit.Tracker, action) -> list[str]:
    """Run one step and return the hooks it fired (the log is cleared first)."""
    tracker.clear()
    action()
    return hooks(tracker)


# ---------------------------------------------------------------- every hook, as SQLAlchemy fires it


def test_transient_to_pending(session: Session) -> None:
    tracker = track(session)
    a = Author(name="Ann")
    assert step(tracker, lambda: session.add(a)) == ["transient_to_pending"]
    (t,) = tracker.transitions
    assert (t.before, t.after, t.label, t.instance, t.session) == (
        ObjectState.TRANSIENT,
        ObjectState.PENDING,
        "Author 1",
        a,
        "session 1",
    )


def test_pending_to_transient_by_rollback_and_by_expunge(session: Session) -> None:
    a, b = Author(), Author()
    session.add_all([a, b])
    tracker = track(session)
    assert step(tracker, lambda: session.expunge(a)) == ["pending_to_transient"]
    assert step(tracker, session.rollback) == ["pending_to_transient"]
    assert sessionkit.state_of(b) is ObjectState.TRANSIENT


def test_pending_to_persistent_fires_once(session: Session) -> None:
    a = Author(name="Ann")
    session.add(a)
    tracker = track(session)
    assert step(tracker, session.flush) == ["pending_to_persistent"]
    assert tracker.transitions[0].identity == (a.id,)
    a.name = "Anne"
    assert step(tracker, session.flush) == []
    assert [s.sql.split()[0] for s in tracker.statements] == ["UPDATE"]


def test_pending_to_persistent_of_a_dereferenced_object(session: Session) -> None:
    session.add(Author())
    tracker = track(session)
    gc.collect()
    assert step(tracker, session.flush) == ["pending_to_persistent"]


def test_detached_to_persistent_by_add(session: Session) -> None:
    a = Author()
    session.add(a)
    session.flush()
    session.expunge(a)
    tracker = track(session)
    assert step(tracker, lambda: session.add(a)) == ["detached_to_persistent"]


def test_loaded_as_persistent(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    with Maker() as setup:
        setup.add(Author(name="Ann"))
        setup.commit()
    with Maker() as session:
        tracker = track(session)
        loaded = session.scalars(select(Author)).one()
        (t,) = tracker.transitions
        assert (t.hook, t.before, t.after, t.instance) == ("loaded_as_persistent", None, ObjectState.PERSISTENT, loaded)
        assert step(tracker, lambda: session.refresh(loaded)) == []


def test_delete_of_a_detached_object(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    with Maker() as session:
        a = Author()
        session.add(a)
        session.commit()
    with Maker() as session:
        tracker = track(session)
        assert step(tracker, lambda: session.delete(a)) == ["detached_to_persistent"]
        assert step(tracker, session.flush) == ["persistent_to_deleted"]


def test_cascaded_delete_of_a_detached_parent(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    with Maker() as session:
        parent = Author(books=[Book(), Book()])
        session.add(parent)
        session.commit()
        assert len(parent.books) == 2
    with Maker() as session:
        tracker = track(session)
        session.delete(parent)
        assert Counter(hooks(tracker)) == Counter({"detached_to_persistent": 3})
        assert sorted(t.label for t in tracker.transitions) == ["Author 1", "Book 1", "Book 2"]


def test_persistent_to_deleted_waits_for_the_flush(session: Session) -> None:
    a = Author()
    session.add(a)
    session.commit()
    tracker = track(session)
    assert step(tracker, lambda: session.delete(a)) == []
    assert sessionkit.state_of(a) is ObjectState.PERSISTENT
    assert step(tracker, session.flush) == ["persistent_to_deleted"]
    assert sessionkit.state_of(a) is ObjectState.DELETED


@pytest.mark.parametrize("how", ["expunge", "expunge_all", "close"])
def test_persistent_to_detached(session: Session, how: str) -> None:
    a = Author()
    session.add(a)
    session.flush()
    tracker = track(session)
    action = {"expunge": lambda: session.expunge(a), "expunge_all": session.expunge_all, "close": session.close}[how]
    assert step(tracker, action) == ["persistent_to_detached"]


def test_persistent_to_detached_by_make_transient(session: Session) -> None:
    a = Author()
    session.add(a)
    session.flush()
    tracker = track(session)
    assert step(tracker, lambda: make_transient(a)) == ["persistent_to_detached"]


def test_persistent_to_transient_by_rollback(session: Session) -> None:
    a = Author()
    session.add(a)
    session.flush()
    tracker = track(session)
    assert step(tracker, session.rollback) == ["persistent_to_transient"]
    assert sessionkit.state_of(a) is ObjectState.TRANSIENT


def test_deleted_to_persistent_by_rollback(session: Session) -> None:
    a = Author()
    session.add(a)
    session.commit()
    session.delete(a)
    session.flush()
    tracker = track(session)
    assert step(tracker, session.rollback) == ["deleted_to_persistent"]


def test_deleted_to_detached_by_commit(session: Session) -> None:
    a = Author()
    session.add(a)
    session.commit()
    session.delete(a)
    session.flush()
    tracker = track(session)
    assert step(tracker, session.commit) == ["deleted_to_detached"]
    assert inspect(a).was_deleted
    assert sessionkit.state_of(a) is ObjectState.DETACHED
    assert tracker.notes == []


def test_deleted_to_detached_by_expunge(session: Session) -> None:
    a = Author()
    session.add(a)
    session.commit()
    session.delete(a)
    session.flush()
    tracker = track(session)
    assert step(tracker, lambda: session.expunge(a)) == ["deleted_to_detached"]


def test_merge_events_name_the_copy(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    with Maker() as session:
        a = Author(name="Ann")
        session.add(a)
        session.commit()
        session.expunge(a)
    with Maker() as session:
        tracker = track(session)
        copy = session.merge(a)
        assert copy is not a
        (t,) = tracker.transitions
        assert (t.hook, t.instance) == ("loaded_as_persistent", copy)
        assert step(tracker, lambda: session.merge(Author(name="Bo"))) == ["transient_to_pending"]


def test_a_whole_lifecycle_in_order(session: Session) -> None:
    tracker = track(session)
    a = Author(name="Ann")
    session.add(a)
    session.flush()
    session.delete(a)
    session.commit()
    assert hooks(tracker) == [
        "transient_to_pending",
        "pending_to_persistent",
        "persistent_to_deleted",
        "deleted_to_detached",
    ]
    assert [e.kind for e in tracker.events] == [
        "begin",
        "transition",
        "flush",
        "sql",
        "transition",
        "sql",  # delete() loads the books its cascade reaches
        "flush",
        "sql",
        "transition",
        "commit",
        "transition",
    ]
    seqs = [e.seq for e in tracker.events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)


def test_a_transition_keeps_the_identity_the_insert_gave_whatever_happens_later(session: Session) -> None:
    tracker = track(session)
    rolled_back = Author()
    session.add(rolled_back)
    session.flush()
    flushed_id = rolled_back.id
    session.rollback()  # the INSERT is undone: the object is transient, with no identity now
    rekeyed = Author(id=50)
    session.add(rekeyed)
    session.commit()
    session.expunge(rekeyed)
    make_transient(rekeyed)
    rekeyed.id = 77
    session.add(rekeyed)
    session.commit()
    inserted = [(t.label, t.identity) for t in tracker.transitions if t.hook == "pending_to_persistent"]
    assert inserted == [("Author 1", (flushed_id,)), ("Author 2", (50,)), ("Author 2", (77,))]


def test_flush_counts_agree_with_the_public_collections(session: Session) -> None:
    tracker = track(session)
    keep, change, drop = Author(name="keep"), Author(name="change"), Author(name="drop")
    session.add_all([keep, change, drop])
    session.commit()
    session.delete(drop)  # loads drop.books first (the cascade), which autoflushes
    change.name = "changed"
    session.add_all([Author(), Author()])
    expected = (len(session.new), len(session.dirty), len(session.deleted))
    tracker.clear()
    session.flush()
    flush = next(e for e in tracker.events if e.kind == "flush")
    assert (flush.new, flush.dirty, flush.deleted) == expected == (2, 1, 1)


# ---------------------------------------------------------------- the unread buffer's bound


def test_memory_is_bounded_while_nobody_reads(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    rows = 2_000
    with Maker() as setup:
        setup.add_all([Author(name=str(i)) for i in range(rows)])
        setup.commit()
    with Maker() as session:
        tracker = track(session, max_events=10)
        bound = tracker._raw_limit
        assert bound == 10 + 64
        # One query streaming rows the session does not keep (loaded_as_persistent, then expunge):
        # no step ends meanwhile, so the collector's runs, every few hundred records, bound it.
        longest = 0
        for author in session.scalars(select(Author)).yield_per(50):
            session.expunge(author)
            longest = max(longest, len(tracker._raw) + len(tracker._trimmed))
        # 2 * rows records were made; those trimmed are kept to label up to the slack of 64
        assert bound < longest <= bound + 64 + gc.get_threshold()[0]
        # Statements outside a flush, one after another in one transaction: each one checks.
        assert len(tracker.events) == 10  # a read: nothing unread or trimmed is left
        longest = 0
        for _ in range(rows):
            session.execute(text("SELECT 1"))
            longest = max(longest, len(tracker._raw) + len(tracker._trimmed))
        assert bound < longest < 2 * bound
        # Objects the session keeps (pending) are trimmed by the step that follows them,
        # with the collector paused too.
        gc.disable()
        try:
            for _ in range(rows):
                session.add(Author())
            assert len(tracker._raw) > rows
            session.flush()  # a flush's own statements don't check: its end trims
            assert len(tracker._raw) <= bound
        finally:
            gc.enable()
        assert len(tracker.events) == 10
        assert tracker.dropped > 4 * rows - 10


def test_collected_sessions_are_forgotten_without_any_read(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    with Maker() as setup:
        setup.add_all([Author(name=str(i)) for i in range(300)])
        setup.commit()
        ids = setup.scalars(select(Author.id)).all()
    tracker = track(Maker, max_events=50)
    for n, author_id in enumerate(ids):
        session = Maker()
        session.delete(session.get(Author, author_id))
        session.flush()  # persistent_to_deleted, waiting for an end of the transaction that never comes
        del session
        if n % 10 == 9:
            gc.collect()  # the dropped sessions give their connections back to the pool
    # Nobody has read the log: the trims at each transaction's end forgot the collected sessions.
    assert len(tracker._ended_sessions) < 50
    assert len(tracker._watch) < 50
    assert tracker._session_labels == {}  # labels are only given when the log is read


def test_a_stopped_tracker_is_no_longer_bounded_by_the_collector(session: Session) -> None:
    from sessionkit.core.recording import _BOUNDED, _on_collection

    tracker = track(session)
    assert tracker in _BOUNDED
    assert _on_collection in gc.callbacks
    tracker.stop()
    assert tracker not in _BOUNDED


# ---------------------------------------------------------------- SQL capture


def test_sql_is_attributed_to_its_flush(session: Session) -> None:
    tracker = track(session)
    session.add_all([Author(name="Ann"), Author(name="Bo")])
    session.flush()
    flush = next(e for e in tracker.events if e.kind == "flush")
    assert flush.new == 2
    assert tracker.statements
    assert all(s.flush == flush.seq for s in tracker.statements)
    assert "INSERT INTO sk_author" in tracker.statements[0].sql
    session.scalars(select(Author)).all()
    assert tracker.statements[-1].flush is None
    assert "SELECT" in tracker.statements[-1].sql


def test_sql_false_records_no_statements(session: Session) -> None:
    tracker = track(session, sql=False)
    session.add(Author())
    session.commit()
    assert tracker.statements == []
    assert hooks(tracker) == ["transient_to_pending", "pending_to_persistent"]


def test_sql_of_a_connection_held_when_tracking_starts(session: Session) -> None:
    session.add(Author(name="Ann"))
    session.flush()
    tracker = track(session)
    session.execute(select(Author))
    assert len(tracker.statements) == 1


def test_two_trackers_on_one_engine_see_only_their_own_sql(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    with Maker() as s1, Maker() as s2:
        t1, t2 = track(s1), track(s2)
        s1.add(Author(name="one"))
        s1.flush()
        s2.add(Author(name="two"))
        s2.add(Author(name="three"))
        s2.flush()
        s2.execute(select(Author))
    one = [s.parameters for s in t1.statements]
    two = [s.parameters for s in t2.statements]
    assert len(one) == 1
    assert "one" in str(one)
    assert "one" not in str(two)
    assert "three" in str(two)


def test_two_trackers_on_one_session_each_see_each_statement_once(session: Session) -> None:
    t1, t2 = track(session), track(session)
    session.add(Author())
    session.flush()
    assert len(t1.statements) == len(t2.statements) == 1


def test_sql_from_a_bind_set_later_by_configure(engine) -> None:
    maker = sessionmaker()
    tracker = track(maker)
    maker.configure(bind=engine)
    with maker() as session:
        session.add(Author())
        session.flush()
    assert len(tracker.statements) == 1
    assert hooks(tracker) == ["transient_to_pending", "pending_to_persistent"]


def test_sql_from_a_per_session_bind_override(engine) -> None:
    from tests.conftest import make_engine

    other = make_engine("sqlite://")
    Base.metadata.create_all(other)
    maker = sessionmaker(bind=engine)
    tracker = track(maker)
    with maker(bind=other) as session:
        assert session.get_bind() is other
        session.add(Author(name="elsewhere"))
        session.commit()
    assert "elsewhere" in str(tracker.statements[0].parameters)
    with other.connect() as conn:
        assert conn.scalar(select(Author.name)) == "elsewhere"
    other.dispose()


def test_an_abandoned_sessions_connection_is_not_kept_alive(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    tracker = track(Maker)
    session = Maker()
    session.execute(select(Author))
    connection = weakref.ref(session.connection())
    del session  # never closed: SQLAlchemy returns its connection to the pool when it is collected
    gc.collect()
    assert connection() is None
    assert not tracker._sql_connections
    assert len(tracker.statements) == 1


def test_a_tracker_whose_session_is_gone_leaves_nothing_on_the_engine(engine) -> None:
    session = Session(engine)
    tracker = track(session)  # never stopped
    session.execute(select(Author))
    session.close()
    assert len(tracker.statements) == 1
    added = [pair for listeners in tracker._sql_dialects.values() for pair in listeners]
    assert added
    collected = weakref.ref(tracker)
    del tracker, session
    gc.collect()
    assert collected() is None  # the engine, still in use, does not keep it alive
    for name, fn in added:
        assert not event.contains(engine.dialect, name, fn)
    with engine.connect() as connection:
        assert connection.execute(select(Author.id)).all() == []


def test_statements_without_parameters_and_executemany_are_recorded(session: Session) -> None:
    tracker = track(session)
    session.execute(text("SELECT 1"))
    session.connection().exec_driver_sql("SELECT 2")
    session.execute(insert(Author), [{"name": "Ann"}, {"name": "Bo"}])
    first, second, *inserts = tracker.statements
    assert (first.sql, first.executemany) == ("SELECT 1", False)
    assert (second.sql, len(second.parameters), second.executemany) == ("SELECT 2", 0, False)
    assert all(s.executemany for s in inserts)
    assert "Bo" in str([s.parameters for s in inserts])


def test_untracked_sessions_on_the_same_engine_are_not_recorded(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    with Maker() as tracked, Maker() as untracked:
        tracker = track(tracked)
        untracked.execute(text("SELECT 1"))
        tracked.execute(text("SELECT 2"))
        untracked.execute(text("SELECT 3"))
        assert [s.sql for s in tracker.statements] == ["SELECT 2"]
        tracked.commit()
        tracked.execute(text("SELECT 4"))  # a new transaction, perhaps on another connection
    assert [s.sql for s in tracker.statements] == ["SELECT 2", "SELECT 4"]


def test_sessions_bound_to_one_connection_each_get_their_own_statements(engine: Engine) -> None:
    with engine.connect() as connection, connection.begin() as outer:
        tracker = track(Session)
        first, second = Session(bind=connection), Session(bind=connection)
        first.add(Author(name="A"))
        first.flush()
        second.add(Author(name="B"))
        second.flush()
        first.commit()  # the first is done with the connection; the second still uses it
        second.add(Author(name="B2"))
        second.flush()
        second.commit()
        tracker.stop()
        outer.rollback()
    inserts = [(s.session, s.parameters) for s in tracker.statements if s.sql.startswith("INSERT")]
    values = [(session, list(p.values() if isinstance(p, dict) else p)) for session, p in inserts]
    assert values == [
        ("session 1", ["A"]),
        ("session 2", ["B"]),
        ("session 2", ["B2"]),
    ]


def test_a_connection_outlives_a_session_dropped_on_it(engine: Engine) -> None:
    with engine.connect() as connection:
        Maker = sessionmaker(bind=connection)
        tracker = track(Maker)
        session = Maker()
        session.add(Author())
        session.flush()
        del session
        gc.collect()
        assert {event.session for event in tracker.events} == {"session 1"}
        seen = len(tracker.events)
        connection.execute(text("SELECT 1"))  # the connection's own statement: no tracked session's
        assert len(tracker.events) == seen
        with Maker() as session:
            session.add(Author())
            session.flush()
        assert {event.session for event in tracker.events[seen:]} == {"session 2"}
