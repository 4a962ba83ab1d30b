"""Tracking never changes what SQLAlchemy does, even where sessionkit's own listeners meet the unexpected.

Each case comes from SQLAlchemy's own ORM test suite run with every Session tracked.
"""

from __future__ import annotations

import warnings
from unittest import mock

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, close_all_sessions, sessionmaker
from sqlalchemy.orm.events import SessionEvents

from sessionkit import track
from tests.models import Author


def mock_bind() -> mock.Mock:
    """A bind whose dialect is a test double: SQLAlchemy's events cannot listen to it."""
    return mock.Mock(
        connect=mock.Mock(
            return_value=mock.Mock(
                _is_future=False,
                execution_options=mock.Mock(
                    return_value=mock.Mock(_is_future=False, in_transaction=mock.Mock(return_value=False))
                ),
            )
        )
    )


def test_a_bind_that_cannot_be_listened_to_behaves_as_untracked_with_one_warning() -> None:
    bind = mock_bind()
    session = Session(bind=bind)
    tracker = track(session)
    try:
        with pytest.warns(RuntimeWarning, match="cannot record the SQL") as caught:
            connection = session.connection(execution_options={"isolation_level": "FOO"})
        assert len(caught) == 1
        assert bind.mock_calls == [mock.call.connect()]
        assert bind.connect().mock_calls == [mock.call.execution_options(isolation_level="FOO")]
        assert connection == bind.connect().execution_options()
        session.close()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # told once: the same bind again says nothing
            Session(bind=bind).connection(execution_options={"isolation_level": "FOO"})
        assert [event.kind for event in tracker.events][:1] == ["begin"]
        assert tracker.active
    finally:
        tracker.stop()


def test_close_all_sessions_survives_a_session_freed_while_it_runs(engine: Engine) -> None:
    maker = sessionmaker(bind=engine)
    tracker = track(Session)
    try:
        first = maker()
        doomed = Author(name="doomed")
        first.add(doomed)
        first.commit()
        first.delete(doomed)
        first.flush()  # a flushed DELETE: the transaction's end is checked against the real state
        holder = Author(name="holder")
        first.add(holder)
        holder.other_session = maker()  # type: ignore[attr-defined] - reachable only through the pending object
        del holder
        close_all_sessions()
        assert tracker.active
        assert "persistent_to_deleted" in [t.hook for t in tracker.transitions]
    finally:
        tracker.stop()


@pytest.mark.parametrize("insert", [False, True])
def test_a_hook_fired_by_hand_with_no_arguments_reaches_every_listener(insert: bool) -> None:
    tracker = track(Session)
    theirs = mock.Mock()
    factory = sessionmaker()
    event_listen = __import__("sqlalchemy").event.listen
    event_listen(factory, "before_flush", theirs, insert=insert)
    try:
        factory().dispatch.before_flush()
        assert theirs.mock_calls == [mock.call()]
        assert [event.kind for event in tracker.events] == []
    finally:
        tracker.stop()
        __import__("sqlalchemy").event.remove(factory, "before_flush", theirs)


def test_a_tracker_whose_listeners_were_removed_says_it_is_not_active(engine: Engine) -> None:
    tracker = track(Session)
    try:
        SessionEvents._clear()  # what some of SQLAlchemy's test classes do between tests
        assert not tracker.active
        with pytest.warns(RuntimeWarning, match="stopped recording") as caught:
            tracker.events
        assert len(caught) == 1
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # said once
            tracker.events
        with Session(engine) as session:
            session.add(Author())
        assert tracker.events == []
        assert "stopped" in repr(tracker)
    finally:
        tracker.stop()
