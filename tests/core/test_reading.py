"""Reading the log: labels, session labels, truth notes, weak references and what a read forgets."""

from __future__ import annotations

import gc
import weakref

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, make_transient, sessionmaker

import sessionkit
from sessionkit import ObjectState, track
from tests.models import Author, Base, Book


def hooks(tracker: sessionkit.Tracker) -> list[str]:
    return [t.hook for t in tracker.transitions]


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


# ---------------------------------------------------------------- truth notes


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
