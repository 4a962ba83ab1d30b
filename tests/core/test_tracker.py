"""The tracker against a real session: every hook, in order, with labels and identities."""

from __future__ import annotations

import gc
import re
import warnings
import weakref
from collections import Counter

import pytest
from sqlalchemy import Engine, event, insert, inspect, select, text
from sqlalchemy.orm import Session, make_transient, scoped_session, sessionmaker

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


# ---------------------------------------------------------------- single-object scenarios


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


def test_make_transient_is_noted_where_the_hook_says_detached(session: Session) -> None:
    a = Author()
    session.add(a)
    session.flush()
    tracker = track(session)
    make_transient(a)
    (transition,) = tracker.transitions
    (note,) = tracker.notes
    assert (transition.hook, transition.after) == ("persistent_to_detached", ObjectState.DETACHED)
    assert (note.seq, note.label, note.hook) == (transition.seq + 1, transition.label, "persistent_to_detached")
    assert (note.expected, note.actual) == (ObjectState.DETACHED, ObjectState.TRANSIENT)
    assert "make_transient()" in note.describe()
    assert tracker.snapshot()[note.label].state is ObjectState.TRANSIENT
    assert tracker.snapshot(at=transition.seq)[note.label].state is ObjectState.DETACHED
    assert tracker.snapshot(at=note.seq)[note.label].state is ObjectState.TRANSIENT
    assert tracker.dropped == 0


def test_make_transient_is_noted_for_subscribers_too(session: Session) -> None:
    a = Author()
    session.add(a)
    session.flush()
    tracker = track(session)
    seen: list[sessionkit.Event] = []
    tracker.subscribe(seen.append)
    make_transient(a)  # the subscriber gets persistent_to_detached before the key is taken
    session.add(a)
    assert [e.kind for e in seen] == ["transition", "note", "transition"]
    assert [e.seq for e in seen] == [e.seq for e in tracker.events]
    assert seen[1].actual is ObjectState.TRANSIENT


def test_expunge_detaches_with_no_note(session: Session) -> None:
    a = Author()
    session.add(a)
    session.flush()
    tracker = track(session)
    session.expunge(a)
    assert hooks(tracker) == ["persistent_to_detached"]
    assert tracker.notes == []
    assert sessionkit.state_of(a) is ObjectState.DETACHED


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


# ---------------------------------------------------------------- labels and sessions


def test_labels_count_per_class_and_stay_with_the_object(session: Session) -> None:
    tracker = track(session)
    a1, b1, a2 = Author(), Book(), Author()
    session.add_all([a1, b1, a2])
    session.commit()
    session.delete(a2)
    session.commit()
    by_instance = {}
    for t in tracker.transitions:
        if t.instance is not None:
            by_instance.setdefault(id(t.instance), set()).add(t.label)
    assert all(len(labels) == 1 for labels in by_instance.values())
    assert sorted({t.label for t in tracker.transitions}) == ["Author 1", "Author 2", "Book 1"]
    persisted = {t.label: t.identity for t in tracker.transitions if t.hook == "pending_to_persistent"}
    assert persisted == {"Author 1": (a1.id,), "Book 1": (b1.id,), "Author 2": (a2.id,)}
    assert "0x" not in repr(tracker.events) + tracker.to_frame().to_string()


def test_identity_appears_once_it_exists(session: Session) -> None:
    tracker = track(session)
    a = Author()
    session.add(a)
    session.flush()
    pending, persistent = tracker.transitions
    assert pending.identity is None
    assert persistent.identity == (a.id,)
    assert tracker.snapshot()["Author 1"].identity == (a.id,)


def test_each_event_names_its_session(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    tracker = track(Maker)
    with Maker() as first, Maker() as second:
        first.add(Author())
        second.add(Author())
        first.flush()
        second.flush()
    assert {e.session for e in tracker.transitions} == {"session 1", "session 2"}
    assert {t.label: t.session for t in tracker.transitions} == {"Author 1": "session 1", "Author 2": "session 2"}


def test_models_make_new_objects_known_as_transient(session: Session) -> None:
    tracker = track(session, models=Base)
    a = Author(name="Ann")
    snapshot = tracker.snapshot()
    assert [(o.label, o.state) for o in snapshot] == [("Author 1", ObjectState.TRANSIENT)]
    assert snapshot["Author 1"].instance is a
    assert [e.kind for e in tracker.events] == ["created"]
    session.add(a)
    assert tracker.transitions[0].label == "Author 1"


def test_without_models_an_object_is_known_from_its_first_event(session: Session) -> None:
    tracker = track(session)
    a = Author()
    assert len(tracker.snapshot()) == 0
    session.add(a)
    assert [o.label for o in tracker.snapshot()] == ["Author 1"]


# ---------------------------------------------------------------- targets


def test_every_kind_of_target(engine) -> None:
    maker = sessionmaker(bind=engine)
    scoped = scoped_session(sessionmaker(bind=engine))

    class MySession(Session):
        pass

    for target, make in [
        (Session(engine), None),
        (maker, maker),
        (scoped, scoped),
        (MySession, lambda: MySession(engine)),
        (Session, lambda: Session(engine)),
    ]:
        session = target if make is None else make()
        with track(target) as tracker:
            a = Author()
            session.add(a)
            session.rollback()
        assert hooks(tracker) == ["transient_to_pending", "pending_to_transient"], target
        session.close()
    scoped.remove()


def test_a_sessionmaker_reaches_only_its_own_sessions(engine) -> None:
    mine, other = sessionmaker(bind=engine), sessionmaker(bind=engine)
    tracker = track(mine)
    with mine() as s1, other() as s2:
        s1.add(Author())
        s2.add(Author())
        assert hooks(tracker) == ["transient_to_pending"]
    assert {(t.label, t.session) for t in tracker.transitions} == {("Author 1", "session 1")}


def test_a_sessionmaker_reaches_sessions_made_before_tracking(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    with Maker() as session:
        tracker = track(Maker)
        session.add(Author())
        session.flush()
    assert hooks(tracker) == ["transient_to_pending", "pending_to_persistent"]
    assert len(tracker.statements) == 1


@pytest.mark.parametrize("bad", [42, "session", Author, sessionmaker, None, object()])
def test_bad_targets_raise_and_attach_nothing(bad: object) -> None:
    before = {hook: event.contains(Session, hook, lambda *a: None) for hook in sessionkit.HOOKS}
    with pytest.raises(sessionkit.SessionkitError) as raised:
        track(bad)
    assert isinstance(raised.value, TypeError)
    message = str(raised.value)
    assert repr(bad) in message
    assert "sessionmaker" in message
    assert "scoped_session" in message
    assert before == {hook: event.contains(Session, hook, lambda *a: None) for hook in sessionkit.HOOKS}


@pytest.mark.parametrize("bad", [0, -5])
def test_a_max_events_below_one_is_a_value_error(session: Session, bad: int) -> None:
    with pytest.raises(sessionkit.InvalidSettingError, match="max_events must be a positive whole number") as caught:
        track(session, max_events=bad)
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, TypeError)


@pytest.mark.parametrize("bad", ["10", 2.5, None, True])
def test_a_max_events_of_another_type_is_a_type_error_too(session: Session, bad: object) -> None:
    with pytest.raises(TypeError, match=f"but was given {re.escape(repr(bad))}") as caught:
        track(session, max_events=bad)  # type: ignore[arg-type]
    assert isinstance(caught.value, sessionkit.InvalidSettingError)
    assert isinstance(caught.value, ValueError)


def test_bad_models_are_rejected(session: Session) -> None:
    with pytest.raises(TypeError, match="declarative base"):
        track(session, models=[int])
    with pytest.raises(TypeError, match=r"but was given 'Author'; pass the declarative base"):
        track(session, models="Author")  # a name is not the class: said as such, not letter by letter


# ---------------------------------------------------------------- stop, clear, subscribe


def test_stop_removes_every_listener_and_is_idempotent(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    tracker = track(Maker, models=Base)
    with Maker() as session:
        session.add(Author())
        session.flush()  # leaves a listened connection
        listeners = list(tracker._listeners)
        statement_listeners = [
            (dialect, name, fn) for dialect, added in tracker._sql_dialects.items() for name, fn in added
        ]
        assert listeners
        assert statement_listeners
        assert tracker._sql_connections
        tracker.stop()
        tracker.stop()
        assert not tracker.active
        for on, name, fn in listeners:
            assert not event.contains(on, name, fn)
        for dialect, name, fn in statement_listeners:
            assert not event.contains(dialect, name, fn)
        assert not tracker._sql_connections
        count = len(tracker.events)
        session.add(Author())
        session.commit()
        assert len(tracker.events) == count


def test_with_block_stops_on_exit(session: Session) -> None:
    with track(session) as tracker:
        assert tracker.active
    assert not tracker.active
    session.add(Author())
    assert tracker.events == []


def test_clear_empties_the_log_but_keeps_labels(session: Session) -> None:
    tracker = track(session)
    a = Author()
    session.add(a)
    tracker.clear()
    assert tracker.events == []
    session.flush()
    assert [t.label for t in tracker.transitions] == ["Author 1"]


def test_subscribers_get_each_event_as_it_happens(session: Session) -> None:
    tracker = track(session)
    seen: list[tuple[str, ObjectState]] = []

    def on_event(e: sessionkit.Event) -> None:
        if isinstance(e, sessionkit.Transition):
            seen.append((e.hook, sessionkit.state_of(e.instance)))

    unsubscribe = tracker.subscribe(on_event)
    a = Author()
    session.add(a)
    assert seen == [("transient_to_pending", ObjectState.PENDING)]
    session.flush()
    assert seen[-1][0] == "pending_to_persistent"
    unsubscribe()
    unsubscribe()
    session.delete(a)
    session.flush()
    assert len(seen) == 2
    unsubscribe = tracker.subscribe(on_event)  # subscribed again: each event as it happens once more
    session.add(Author())
    assert seen[2:] == [("transient_to_pending", ObjectState.PENDING)]
    unsubscribe()


def test_a_failing_subscriber_never_breaks_the_session(session: Session) -> None:
    tracker = track(session)
    calls = []

    def broken(e: sessionkit.Event) -> None:
        calls.append(e.seq)
        raise ZeroDivisionError

    tracker.subscribe(broken)
    a = Author(name="Ann")
    with pytest.warns(RuntimeWarning, match="ZeroDivisionError") as warned:
        session.add(a)
        session.commit()
    assert len([w for w in warned if issubclass(w.category, RuntimeWarning)]) == 1
    assert len(calls) == len(tracker.events) > 3
    assert sessionkit.state_of(a) is ObjectState.PERSISTENT
    assert session.scalars(select(Author.name)).all() == ["Ann"]
    assert hooks(tracker) == ["transient_to_pending", "pending_to_persistent"]


def test_a_failing_subscriber_never_breaks_the_session_where_warnings_are_errors(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker = track(session)
    tracker.subscribe(lambda e: 1 / 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session.add(Author(name="Ann"))
        session.commit()
    assert hooks(tracker) == ["transient_to_pending", "pending_to_persistent"]  # nothing lost either
    assert session.scalars(select(Author.name)).all() == ["Ann"]
    assert capsys.readouterr().err.count("ZeroDivisionError") == 1  # said once, on stderr


def test_each_failing_subscriber_is_reported_once_even_after_others_are_gone(session: Session) -> None:
    class Broken:
        def __call__(self, event: sessionkit.Event) -> None:
            raise ValueError(event.kind)

    tracker = track(session)
    warned = []
    for _ in range(3):  # each new callback may well get the address of the one freed before it
        callback = Broken()
        unsubscribe = tracker.subscribe(callback)
        with pytest.warns(RuntimeWarning, match="ValueError") as caught:
            session.add(Author())
            session.flush()
        warned.append(len(caught))
        unsubscribe()
        del callback, unsubscribe
    assert warned == [1, 1, 1]


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


@pytest.mark.parametrize("how", ["subscribe", "watch"])
def test_stop_from_a_callback_never_breaks_the_session(session: Session, how: str) -> None:
    tracker = track(session)
    listener = tracker._listeners[0]

    def stop_at_the_first_insert(e: object = None) -> None:
        if how == "watch" or getattr(e, "hook", None) == "pending_to_persistent":
            tracker.stop()

    if how == "subscribe":
        tracker.subscribe(stop_at_the_first_insert)
    session.add_all([Author(name="a"), Author(name="b")])
    if how == "watch":
        tracker.watch(stop_at_the_first_insert)
    session.commit()  # SQLAlchemy is running the listener that stops the tracker: it must go on
    assert not tracker.active
    assert session.scalars(select(Author.name).order_by(Author.name)).all() == ["a", "b"]
    recorded = len(tracker.events)  # the first read after it also removes the listeners
    assert not event.contains(*listener)
    session.add(Author(name="c"))
    session.commit()
    assert len(tracker.events) == recorded  # nothing more recorded


def test_subscribe_needs_a_callable(session: Session) -> None:
    with pytest.raises(TypeError, match="needs a callable"):
        track(session).subscribe("print")


# ---------------------------------------------------------------- weak references and bounds


def test_the_tracker_never_keeps_an_object_alive(session: Session) -> None:
    tracker = track(session)
    a = Author()
    session.add(a)
    session.commit()
    assert len(tracker.snapshot()) == 1
    ref = weakref.ref(a)
    del a
    gc.collect()
    assert ref() is None
    assert all(t.instance is None for t in tracker.transitions)
    snapshot = tracker.snapshot()
    assert len(snapshot) == 0
    assert snapshot.collected == ("Author 1",)
    assert "collected" in snapshot.summary()


def test_an_unreferenced_added_object_leaves_after_commit(session: Session) -> None:
    tracker = track(session)
    session.add(Author())
    session.commit()
    gc.collect()
    assert tracker.snapshot().collected_count == 1
    assert [o.label for o in tracker.snapshot()] == []


def test_the_log_is_bounded_oldest_first(session: Session) -> None:
    tracker = track(session, max_events=50)
    for _ in range(200):
        session.add(Author())
    events = tracker.events
    assert len(events) == 50
    assert tracker.dropped == 151  # 200 transitions and one begin, minus the 50 kept
    assert events[-1].seq == 201
    assert [e.seq for e in events] == list(range(152, 202))
    # Every object the kept records name is known, in its real state.
    snapshot = tracker.snapshot()
    assert len(snapshot) >= 50
    assert {o.state for o in snapshot} == {ObjectState.PENDING}
    assert [o.instance.id for o in snapshot] == [None] * len(snapshot)


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


def test_objects_named_only_by_records_trimmed_unread_are_still_labelled_in_order(session: Session) -> None:
    tracker = track(session, max_events=10)
    authors = [Author(name=str(i)) for i in range(100)]
    gc.disable()  # the collector's runs would trim too, at moments of their own
    try:
        session.add_all(authors)  # a begin and 100 transient_to_pending: past the bound, nobody reading
        with session.no_autoflush:
            session.execute(text("SELECT 1"))  # a statement: the unread buffer is trimmed back to 10 records
    finally:
        gc.enable()
    assert len(tracker._raw) == 10
    snapshot = tracker.snapshot()
    assert tracker.dropped == 92
    assert [obj.label for obj in snapshot] == [f"Author {i}" for i in range(1, 101)]  # first sight
    assert [obj.instance for obj in snapshot] == authors
    assert {obj.state for obj in snapshot} == {ObjectState.PENDING}
    assert tracker._trimmed == []  # read: kept no longer


def test_what_a_tracker_keeps_about_a_session_goes_with_it(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    tracker = track(Maker, max_events=20)
    tracker.subscribe(lambda event: None)  # every event is built as it happens, as in a live view
    for _ in range(300):
        with Maker() as session:
            session.add(Author())
            session.commit()
    del session
    gc.collect()
    events = tracker.events  # a read forgets the sessions Python has collected
    assert tracker._session_labels == {}
    assert tracker._last_flush == {}
    # Labels are never given twice: the last session is still the 300th.
    numbers = [int(event.session.removeprefix("session ")) for event in events]
    assert numbers == sorted(numbers)
    assert numbers[-1] == 300
    with Maker() as session:
        session.add(Author())
        session.commit()
    assert tracker.events[-1].session == "session 301"


def test_a_session_dropped_in_the_middle_of_a_transaction_leaves_nothing_behind(
    Maker: sessionmaker[Session],  # noqa: N803
) -> None:
    with Maker() as setup:
        setup.add(Author())
        setup.commit()
    tracker = track(Maker)
    session = Maker()
    author = session.scalars(select(Author)).one()
    session.delete(author)
    session.flush()  # persistent_to_deleted: checked when the transaction ends, which it never does
    state = weakref.ref(inspect(author))
    assert tracker._watch
    del session, author
    gc.collect()
    assert [t.hook for t in tracker.transitions] == ["loaded_as_persistent", "persistent_to_deleted"]
    assert not tracker._watch
    assert state() is None
    assert len(tracker.snapshot()) == 0


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


def test_a_stopped_tracker_is_no_longer_bounded_by_the_collector(session: Session) -> None:
    from sessionkit.core.tracker import _BOUNDED, _on_collection

    tracker = track(session)
    assert tracker in _BOUNDED
    assert _on_collection in gc.callbacks
    tracker.stop()
    assert tracker not in _BOUNDED


def test_labels_of_collected_objects_leave_no_trace(session: Session) -> None:
    tracker = track(session, max_events=10)
    for _ in range(300):
        author = Author()
        session.add(author)
        session.expunge(author)
    del author
    gc.collect()
    snapshot = tracker.snapshot()
    assert len(snapshot) == 0
    assert snapshot.collected_count > 0  # those named by kept records; the rest were trimmed unread
    assert len(tracker._labels.last_seq) == 0


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


def test_watchers_are_woken_without_building_events(session: Session) -> None:
    tracker = track(session)
    wakes: list[int] = []
    unwatch = tracker.watch(lambda: wakes.append(len(tracker._raw)))
    session.add(Author())
    session.flush()
    assert wakes[:2] == [1, 2]  # begin, transient_to_pending: still raw, nothing built yet
    assert len(wakes) == len(tracker.events)
    unwatch()
    unwatch()
    session.add(Author())
    assert len(wakes) == len(tracker.events) - 1


def test_a_failing_watcher_warns_once_and_never_breaks_the_session(session: Session) -> None:
    tracker = track(session)
    calls = []

    def broken() -> None:
        calls.append(1)
        raise ValueError

    tracker.watch(broken)
    with pytest.warns(RuntimeWarning, match="ValueError") as warned:
        session.add(Author(name="Ann"))
        session.commit()
    assert len([w for w in warned if issubclass(w.category, RuntimeWarning)]) == 1
    assert len(calls) == len(tracker.events)
    assert session.scalars(select(Author.name)).all() == ["Ann"]


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
