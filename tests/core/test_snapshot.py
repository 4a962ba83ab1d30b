"""Snapshots tell the truth: real states, sub-states, notes where hooks mislead, and replays."""

from __future__ import annotations

import re
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

import sessionkit
from sessionkit import ObjectState, track
from sessionkit.core.snapshot import _value_text
from tests.models import Author, Base, Book

# ---------------------------------------------------------------- sub-states


def test_marked_for_deletion_is_persistent_and_in_session_deleted(session: Session) -> None:
    tracker = track(session)
    a = Author()
    session.add(a)
    session.commit()
    session.delete(a)
    obj = tracker.snapshot()["Author 1"]
    assert (obj.state, obj.marked_for_deletion) == (ObjectState.PERSISTENT, True)
    assert "marked for deletion" in obj.badges
    session.flush()
    obj = tracker.snapshot()["Author 1"]
    assert (obj.state, obj.marked_for_deletion) == (ObjectState.DELETED, False)


def test_expired_after_commit_and_loaded_again_on_access(session: Session) -> None:
    tracker = track(session)
    a = Author(name="Ann")
    session.add(a)
    session.commit()
    obj = tracker.snapshot()["Author 1"]
    assert obj.expired is True
    assert set(obj.expired_attributes) >= {"id", "name"}
    assert a.name == "Ann"
    assert tracker.snapshot()["Author 1"].expired is False
    assert "SELECT" in tracker.statements[-1].sql


def test_dirty_with_and_without_a_net_change(session: Session) -> None:
    tracker = track(session)
    a = Author(name="Ann")
    session.add(a)
    session.flush()
    a.name = "Ann"  # the same value: dirty, yet is_modified says no
    obj = tracker.snapshot()["Author 1"]
    assert (obj.dirty, obj.modified) == (True, False)
    a.name = "Anne"
    obj = tracker.snapshot()["Author 1"]
    assert (obj.dirty, obj.modified) == (True, True)
    (change,) = obj.changes
    assert (change.name, change.added, change.deleted) == ("name", ("Anne",), ("Ann",))
    frame = tracker.snapshot().to_frame()
    assert list(frame.columns[:6]) == ["object", "state", "identity", "session", "dirty", "is_modified"]
    for column in ("marked_for_deletion", "expired"):
        assert column in frame.columns
    assert frame.loc[0, "changes"] == "name: 'Ann' -> 'Anne'"


def test_pending_objects_are_new_not_dirty(session: Session) -> None:
    tracker = track(session)
    session.add(Author(name="Ann"))
    (obj,) = tracker.snapshot()
    assert (obj.state, obj.dirty, obj.identity) == (ObjectState.PENDING, False, None)


# ---------------------------------------------------------------- truthfulness


def test_insert_delete_rollback_fires_deleted_to_detached_but_ends_transient(session: Session) -> None:
    tracker = track(session)
    a = Author()
    session.add(a)
    session.flush()
    session.delete(a)
    session.flush()
    tracker.clear()
    session.rollback()
    assert [t.hook for t in tracker.transitions] == ["deleted_to_detached"]
    assert sessionkit.state_of(a) is ObjectState.TRANSIENT
    assert tracker.snapshot()["Author 1"].state is ObjectState.TRANSIENT
    (note,) = tracker.notes
    assert (note.label, note.hook, note.expected, note.actual) == (
        "Author 1",
        "deleted_to_detached",
        ObjectState.DETACHED,
        ObjectState.TRANSIENT,
    )
    assert "transient" in note.describe()
    frame = tracker.to_frame()
    assert frame[frame.kind == "note"][["object", "before", "after"]].values.tolist() == [
        ["Author 1", "detached", "transient"]
    ]


def test_expire_on_commit_false_leaves_a_flushed_delete_deleted(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        tracker = track(session)
        a = Author()
        session.add(a)
        session.commit()
        session.delete(a)
        session.flush()
        session.commit()
        assert "deleted_to_detached" not in [t.hook for t in tracker.transitions]
        assert sessionkit.state_of(a) is ObjectState.DELETED
        assert tracker.snapshot()["Author 1"].state is ObjectState.DELETED
        (note,) = tracker.notes
        assert note.actual is ObjectState.DELETED
        assert "expire_on_commit=False" in note.text


def test_a_normal_commit_adds_no_note(session: Session) -> None:
    tracker = track(session)
    a = Author()
    session.add(a)
    session.commit()
    session.delete(a)
    session.commit()
    assert tracker.notes == []
    assert tracker.snapshot()["Author 1"].state is ObjectState.DETACHED


def test_replayed_states_follow_the_log(session: Session) -> None:
    tracker = track(session)
    a = Author()
    session.add(a)
    session.flush()
    session.delete(a)
    session.flush()
    session.rollback()
    states = {t.seq: t.after for t in tracker.transitions}
    for seq, after in states.items():
        past = tracker.snapshot(at=seq)
        assert past["Author 1"].state is after
        assert past.last_transition is not None
        assert past.last_transition.seq == seq
        assert not past.live
    final = tracker.snapshot(at=tracker.events[-1].seq)
    assert final["Author 1"].state is ObjectState.TRANSIENT  # the note corrects the hook
    assert len(tracker.snapshot(at=0)) == 0


def test_replay_rejects_unknown_moments(session: Session) -> None:
    tracker = track(session, max_events=3)
    for _ in range(5):
        session.add(Author())
    with pytest.raises(sessionkit.EventNotFoundError, match="names no recorded event"):
        tracker.snapshot(at=99)
    with pytest.raises(sessionkit.EventNotFoundError, match="were dropped"):
        tracker.snapshot(at=0)
    with pytest.raises(LookupError):
        tracker.snapshot(at=1)


# ---------------------------------------------------------------- non-interference


def _scenario(maker: sessionmaker[Session]) -> list[tuple[object, ...]]:
    """A long scenario; returns the inspect() flags of every object after every step."""
    seen: list[tuple[object, ...]] = []
    with maker() as session:
        a, b = Author(name="Ann", books=[Book(title="One")]), Author(name="Bo")
        objects = [a, b, a.books[0]]

        def record() -> None:
            for o in objects:
                s = inspect(o)
                seen.append(
                    (s.transient, s.pending, s.persistent, s.deleted, s.detached, s.modified, s.expired, s.was_deleted)
                )

        for action in (
            lambda: session.add_all([a, b]),
            session.flush,
            lambda: setattr(a, "name", "Anne"),
            session.commit,
            lambda: session.delete(b),
            session.flush,
            session.rollback,
            lambda: session.expunge(a),
            lambda: session.add(a),
            lambda: session.delete(a),
            session.commit,
            lambda: session.scalars(select(Author)).all(),
        ):
            action()
            record()
    return seen


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        authors = conn.execute(select(Author.__table__).order_by(Author.id)).all()
        books = conn.execute(select(Book.__table__).order_by(Book.id)).all()
    return [tuple(r) for r in authors + books]


def test_tracking_changes_nothing_sqlalchemy_does(tmp_path: Path) -> None:
    plain_engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    tracked_engine = create_engine(f"sqlite:///{tmp_path / 'tracked.db'}")
    for engine in (plain_engine, tracked_engine):
        Base.metadata.create_all(engine)
    plain = _scenario(sessionmaker(bind=plain_engine))
    tracked_maker = sessionmaker(bind=tracked_engine)
    with track(tracked_maker, models=Base) as tracker:
        tracked = _scenario(tracked_maker)
        tracker.snapshot()
        tracker.to_frame()
    assert tracked == plain
    assert _rows(tracked_engine) == _rows(plain_engine)
    assert len(tracker.transitions) > 10


# ---------------------------------------------------------------- threads


@pytest.mark.parametrize("subscribed", [False, True], ids=["unread", "subscribed"])
def test_sessions_in_several_threads_record_every_event_once(engine: Engine, tmp_path: Path, subscribed: bool) -> None:
    if engine.url.get_backend_name() == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'threads.db'}")
        Base.metadata.create_all(engine)
    maker = sessionmaker(bind=engine)
    tracker = track(maker)
    delivered: list[int] = []
    if subscribed:
        tracker.subscribe(lambda e: delivered.append(e.seq))
    threads, per_thread = 4, 50
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        with maker() as session:
            for _ in range(per_thread):
                session.add(Author())
            session.commit()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    counts = Counter(t.hook for t in tracker.transitions)
    assert counts == {"transient_to_pending": threads * per_thread, "pending_to_persistent": threads * per_thread}
    assert len({t.label for t in tracker.transitions}) == threads * per_thread
    assert len({e.session for e in tracker.events}) == threads
    seqs = [e.seq for e in tracker.events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert Counter(e.kind for e in tracker.events)["commit"] == threads
    assert delivered == (seqs if subscribed else [])


def test_subscribing_and_unsubscribing_while_other_threads_record(engine: Engine, tmp_path: Path) -> None:
    if engine.url.get_backend_name() == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'threads.db'}")
        Base.metadata.create_all(engine)
    maker = sessionmaker(bind=engine)
    tracker = track(maker)
    done = threading.Event()
    delivered: Counter[int] = Counter()

    def work() -> None:
        with maker() as session:
            for _ in range(200):
                session.add(Author())
            session.commit()

    def toggle() -> None:
        while not done.is_set():
            tracker.subscribe(lambda e: delivered.update([e.seq]))()
            tracker.watch(lambda: None)()

    toggler = threading.Thread(target=toggle)
    toggler.start()
    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    toggler.join()
    assert tracker._wake == []
    counts = Counter(t.hook for t in tracker.transitions)
    assert counts == {"transient_to_pending": 400, "pending_to_persistent": 400}
    assert set(delivered.values()) <= {1}  # never twice
    seen: list[str] = []
    tracker.subscribe(lambda e: seen.append(e.kind))  # the listeners still wake a new subscriber at once
    with maker() as session:
        session.add(Author())
        assert seen == ["begin", "transition"]


def test_related_objects_in_changes_are_shown_by_label_never_by_address(session: Session) -> None:
    tracker = track(session)
    author = Author(name="Ann")
    session.add(author)
    session.commit()
    book = Book(title="T")
    author.books.append(book)
    snapshot = tracker.snapshot()
    (change,) = snapshot["Author 1"].changes
    assert change.added == (book,)  # the values themselves, as SQLAlchemy's history has them
    assert change.text == "books: - -> Book 1"
    frame = snapshot.to_frame().set_index("object")
    assert frame.loc["Book 1", "changes"] == "author: - -> Author 1; title: - -> 'T'"
    # objects the tracker has not seen, and values whose repr carries an address
    assert _value_text(Book(title="U"), tracker._labels) == "Book (not tracked)"
    assert _value_text(Ellipsis, tracker._labels) == "Ellipsis"
    assert re.fullmatch(r"<object object>", _value_text(object(), tracker._labels))


def test_a_rolled_back_unflushed_delete_is_noted(session: Session) -> None:
    a = Author()
    session.add(a)
    session.commit()
    tracker = track(session)
    session.delete(a)
    session.rollback()
    assert [t.hook for t in tracker.transitions] == ["deleted_to_persistent"]
    (note,) = tracker.notes
    assert (note.label, note.hook, note.actual) == ("Author 1", "deleted_to_persistent", ObjectState.PERSISTENT)
    assert "never deleted" in note.text


def test_a_rolled_back_flushed_delete_is_not_noted(session: Session) -> None:
    a = Author()
    session.add(a)
    session.commit()
    tracker = track(session)
    session.delete(a)
    session.flush()
    session.rollback()
    assert [t.hook for t in tracker.transitions] == ["persistent_to_deleted", "deleted_to_persistent"]
    assert tracker.notes == []


# ---------------------------------------------------------------- deterministic order within a step


def test_one_hook_for_many_objects_is_logged_in_label_order(session: Session) -> None:
    tracker = track(session)
    authors = [Author(name=f"a{i}") for i in range(30)]
    session.add_all(authors)
    session.flush()
    session.rollback()  # persistent_to_transient for all, in SQLAlchemy's set order
    for hook in ("pending_to_persistent", "persistent_to_transient"):
        run = [t for t in tracker.transitions if t.hook == hook]
        assert [t.label for t in run] == [f"Author {i}" for i in range(1, 31)]
        assert [t.seq for t in run] == sorted(t.seq for t in run)
        assert [t.instance for t in run] == authors


def test_objects_first_seen_together_are_labelled_by_primary_key(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    with Maker() as session:
        parent = Author(books=[Book(title=str(i)) for i in range(20)])
        session.add(parent)
        session.commit()
        books_by_id = sorted(parent.books, key=lambda b: b.id)
    with Maker() as session:
        tracker = track(session)
        session.delete(parent)  # detached_to_persistent for the parent and each book
        labelled = {t.label: t.instance for t in tracker.transitions if t.label.startswith("Book")}
    assert [labelled[f"Book {i}"] for i in range(1, 21)] == books_by_id
