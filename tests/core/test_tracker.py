"""The tracker's public API: track() and its targets, stop, clear, subscribe and watch."""

from __future__ import annotations

import re
import warnings

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, scoped_session, sessionmaker

import sessionkit
from sessionkit import ObjectState, track
from tests.models import Author, Base


def hooks(tracker: sessionkit.Tracker) -> list[str]:
    return [t.hook for t in tracker.transitions]


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


@pytest.mark.parametrize("bad", [42, "session", sessionmaker, None, object()])  # a model: see below
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


# ---------------------------------------------------------------- stop, clear, subscribe, watch


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


# ---------------------------------------------------------------------- what track() refuses, in a learner's words
ADVICE = (
    "not a session; pass the Session or sessionmaker your code uses, and your declarative base as models= to see "
    "objects from the moment they are made, e.g. track(Session, models=Base)."
)


@pytest.mark.parametrize(
    ("given", "start"),
    [
        (Author, "track() was given Author, a mapped class, "),
        (Author(name="Ann"), "track() was given an object of the mapped class Author, "),
        (Base, "track() was given Base, a declarative base, "),
    ],
    ids=["mapped class", "mapped instance", "declarative base"],
)
def test_tracking_a_model_says_what_it_is_and_what_to_pass(given: object, start: str) -> None:
    with pytest.raises(sessionkit.TargetError) as caught:
        track(given)
    assert str(caught.value) == start + ADVICE
    assert "DeclarativeAttributeIntercept" not in str(caught.value)
    assert isinstance(caught.value, TypeError)


def test_anything_else_is_named_with_what_is_accepted() -> None:
    with pytest.raises(sessionkit.TargetError, match=r"^track\(\) cannot attach to 3 \(int\); accepted: a Session"):
        track(3)
