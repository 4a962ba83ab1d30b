"""The log keeps SQLAlchemy's order: a plain listener on every hook is the witness.

Only inside one flush, commit or rollback, where SQLAlchemy fires a hook for many objects
in set order, does the log choose an order of its own (by label), and there the hooks are
the same multiset as the witness saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, ForeignKey, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, close_all_sessions, mapped_column, relationship

import sessionkit
from sessionkit import HOOKS, track
from tests.models import Author, Book

Witnessed = list[tuple[str, object]]


@pytest.fixture
def witness(session: Session) -> Iterator[Witnessed]:
    """Every lifecycle hook SQLAlchemy fires on ``session``, in its order: ``(hook, object)``."""
    seen: Witnessed = []
    listeners = []
    for hook in HOOKS:

        def listener(_session: Session, obj: object, hook: str = hook) -> None:
            seen.append((hook, obj))

        event.listen(session, hook, listener)
        listeners.append((hook, listener))
    yield seen
    for hook, listener in listeners:
        event.remove(session, hook, listener)


def logged(tracker: sessionkit.Tracker) -> Witnessed:
    return [(t.hook, t.instance) for t in tracker.transitions]


def during(
    tracker: sessionkit.Tracker, witness: Witnessed, action: Callable[[], object]
) -> tuple[Witnessed, Witnessed]:
    """What the witness saw and what the log says of one action (both cleared first)."""
    tracker.events  # read what came before, so the action's records are read alone
    tracker.clear()
    witness.clear()
    action()
    return list(witness), logged(tracker)


def test_expunges_are_logged_in_the_order_they_were_called(session: Session, witness: Witnessed) -> None:
    tracker = track(session)
    first, second = Author(name="first"), Author(name="second")
    session.add_all([first, second])
    session.flush()

    def expunge_second_then_first() -> None:
        session.expunge(second)
        session.expunge(first)

    seen, log = during(tracker, witness, expunge_second_then_first)
    assert seen == [("persistent_to_detached", second), ("persistent_to_detached", first)]
    assert log == seen


@pytest.mark.parametrize("read_between", [False, True], ids=["read-after", "read-between"])
def test_adds_are_logged_in_call_order_whenever_the_log_is_read(
    session: Session, witness: Witnessed, read_between: bool
) -> None:
    tracker = track(session)
    book, author = Book(title="loose"), Author(name="Ann")

    def add_book_then_author() -> None:
        session.add(book)
        if read_between:
            tracker.events
        session.add(author)

    seen, log = during(tracker, witness, add_book_then_author)
    assert seen == [("transient_to_pending", book), ("transient_to_pending", author)]
    assert log == seen


class OrderBase(DeclarativeBase):
    pass


class User(OrderBase):
    """SQLAlchemy's own test names: the child's class sorts before the parent's."""

    __tablename__ = "sk_order_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    addresses: Mapped[list[Address]] = relationship(cascade="all, delete-orphan")


class Address(OrderBase):
    __tablename__ = "sk_order_address"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("sk_order_user.id"))


@pytest.fixture
def users(engine: Engine) -> Iterator[None]:
    OrderBase.metadata.create_all(engine)
    yield
    close_all_sessions()
    OrderBase.metadata.drop_all(engine)


@pytest.mark.usefixtures("users")
def test_a_cascaded_delete_of_a_detached_parent_keeps_sqlalchemys_order(
    Maker: Callable[[], Session],  # noqa: N803 - the shared fixture's name
    session: Session,
    witness: Witnessed,
) -> None:
    tracker = track(session)
    with Maker() as setup:
        setup.add(User(addresses=[Address()]))
        setup.commit()
    parent = session.scalars(select(User)).one()
    child = parent.addresses[0]
    session.close()

    seen, log = during(tracker, witness, lambda: session.delete(parent))
    assert [hook for hook, _ in seen] == ["detached_to_persistent", "detached_to_persistent"]
    assert seen[0][1] is parent  # as SQLAlchemy's own SessionLifecycleEventsTest expects
    assert seen[1][1] is child
    assert log == seen


def test_inside_one_flush_the_log_is_the_witnessed_multiset_in_label_order(
    session: Session, witness: Witnessed
) -> None:
    tracker = track(session)
    authors = [Author(name=f"a{i}") for i in range(12)]
    session.add_all(reversed(authors))
    seen, log = during(tracker, witness, session.flush)
    assert Counter((hook, id(obj)) for hook, obj in log) == Counter((hook, id(obj)) for hook, obj in seen)
    labels = [t.label for t in tracker.transitions]
    assert labels == sorted(labels, key=lambda label: int(label.rsplit(" ", 1)[1]))
    assert len(labels) == 12


def test_the_marks_of_steps_stay_bounded_while_nobody_reads(session: Session) -> None:
    tracker = track(session, sql=False, max_events=50)
    for _ in range(300):
        session.add(Author())
        session.flush()  # each flush's end is marked
    assert len(tracker._step_marks) <= 60
    last = tracker.transitions[-2:]
    assert [t.hook for t in last] == ["transient_to_pending", "pending_to_persistent"]
