"""``track()``: listen to a real Session through SQLAlchemy's event API and record typed events.

A ``Tracker`` is its two sides together: the ``Recorder`` (``sessionkit.core.recording``),
whose listeners do as little as SQLAlchemy's own dispatch allows, and the ``Reader`` built on
it (``sessionkit.core.reading``), which makes labels, events and notes when someone reads the
log (or at once, while someone is subscribed), so tracking costs next to nothing while it
runs. This module adds the public API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from sessionkit.core.events import Event, Note, Statement, Transition
from sessionkit.core.exceptions import EventNotFoundError, setting_error
from sessionkit.core.labels import gc_paused
from sessionkit.core.reading import Callback, Reader
from sessionkit.core.recording import _CALLING
from sessionkit.core.snapshot import Snapshot, capture, replay
from sessionkit.core.targets import Target, model_targets, resolve


def track(
    target: Any, *, sql: bool = True, max_events: int = 10_000, models: Any = None, kind: type[Tracker] | None = None
) -> Tracker:
    """Start recording what happens in the sessions ``target`` reaches.

    ``target`` is a ``Session``, a ``sessionmaker``, a ``scoped_session``, a ``Session``
    subclass (``Session`` itself means every session), an ``AsyncSession`` or an
    ``async_sessionmaker``. ``models`` (a declarative base or mapped classes) makes newly
    constructed objects known, as transient, before any session sees them. ``kind`` is the
    ``Tracker`` class to make (``sessionkit.track`` makes the public one, with its pictures).

    >>> from sqlalchemy import create_engine
    >>> from sqlalchemy import Integer
    >>> from sqlalchemy.orm import DeclarativeBase, Session, mapped_column
    >>> class Base(DeclarativeBase): pass
    >>> class Author(Base):
    ...     __tablename__ = "author"
    ...     id = mapped_column(Integer, primary_key=True)
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> session = Session(engine)
    >>> with track(session) as tracker:
    ...     session.add(Author())
    ...     session.commit()
    >>> [t.hook for t in tracker.transitions]
    ['transient_to_pending', 'pending_to_persistent']
    """
    resolved = resolve(target)
    if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
        msg = f"max_events must be a positive whole number, but was given {max_events!r}."
        raise setting_error(msg, max_events, int)
    return (kind or Tracker)(resolved, sql=bool(sql), max_events=max_events, models=model_targets(models))


class Tracker(Reader):
    """Records the lifecycle of every object, transaction and statement in the tracked sessions."""

    #: The class of the snapshots it takes (the public ``sessionkit.Snapshot`` adds tables to it).
    snapshot_class: ClassVar[type[Snapshot]] = Snapshot

    def __init__(self, target: Target, *, sql: bool, max_events: int, models: list[Any]) -> None:
        super().__init__(target, sql=sql, max_events=max_events)
        self._cleared = 0
        self._attach(models)

    # ------------------------------------------------------------------ public API
    @property
    def events(self) -> list[Event]:
        """Every recorded event, oldest first (at most ``max_events`` of them)."""
        self._drain()
        return list(self._events)

    @property
    def transitions(self) -> list[Transition]:
        """The ``"transition"`` events: SQLAlchemy's lifecycle hooks as they fired."""
        return [e for e in self.events if isinstance(e, Transition)]

    @property
    def statements(self) -> list[Statement]:
        """The ``"sql"`` events: every statement the tracked sessions sent."""
        return [e for e in self.events if isinstance(e, Statement)]

    @property
    def notes(self) -> list[Note]:
        """The ``"note"`` events: where an object's real state differs from what a hook said."""
        return [e for e in self.events if isinstance(e, Note)]

    @property
    def dropped(self) -> int:
        """How many events the ``max_events`` bound has discarded, oldest first."""
        self._drain()
        return self._recorded - self._cleared - len(self._events)

    @property
    def active(self) -> bool:
        """Whether the tracker is still listening: not stopped, and its listeners still in SQLAlchemy."""
        return self._active and self._listening()

    @property
    def sessions(self) -> dict[str, Any]:
        """The live sessions this tracker has seen, by label."""
        self._drain()
        return {
            label: session
            for key, label in self._session_labels.items()
            if (session := self._sessions.get(key)) is not None
        }

    def event(self, seq: int) -> Event:
        """The recorded event numbered ``seq``."""
        for found in self.events:
            if found.seq == seq:
                return found
        msg = f"no recorded event has seq {seq!r}; recorded events run from {self._span()}."
        raise EventNotFoundError(msg)

    def _span(self) -> str:
        if not self._events:
            return "none (the log is empty)"
        return f"{self._events[0].seq} to {self._events[-1].seq}"

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(event)`` for every event as it happens; returns a function that stops it."""
        if not callable(callback):
            msg = f"subscribe() needs a callable taking one event, but was given {callback!r}."  # type: ignore[unreachable]
            raise TypeError(msg)
        with self._lock:
            self._drain()
            self._subscribers.append(callback)
            if self._drain_quietly not in self._wake:
                self._wake_also(self._drain_quietly)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
                if not self._subscribers:
                    self._wake_no_more(self._drain_quietly)

        return unsubscribe

    def watch(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback()`` (no arguments) whenever anything is recorded; returns a function that stops it.

        Cheaper than ``subscribe``: no event is built until someone reads the log, so a
        redraw throttle can use it without slowing the session down.
        """
        if not callable(callback):
            msg = f"watch() needs a callable taking no arguments, but was given {callback!r}."  # type: ignore[unreachable]
            raise TypeError(msg)

        def woken() -> None:
            try:
                callback()
            except Exception as error:  # noqa: BLE001 - a watcher must never break the session
                self._warn_once(callback, error)

        self._wake_also(woken)

        def unwatch() -> None:
            self._wake_no_more(woken)

        return unwatch

    def clear(self) -> None:
        """Forget every recorded event (objects keep their labels)."""
        with self._lock:
            self._drain()
            self._events.clear()
            self._cleared = self._recorded
            self._last_transition = None

    def stop(self) -> None:
        """Remove every listener this tracker added. Safe to call more than once.

        Called from a subscriber or watcher, while SQLAlchemy is running the tracker's
        listeners, it stops recording at once and removes them at the next read of the log:
        SQLAlchemy cannot remove a listener while it runs.
        """
        with self._lock:
            self._drain()
            if getattr(_CALLING, "depth", 0):
                self._active = False
                self._wake_changed()  # the hook listeners now append nothing
                for ident in list(self._sql_connections):
                    self._forget_connection(ident)
                self._detach_later = True
                return
            self._detach()

    def __enter__(self) -> Tracker:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def snapshot(self, at: int | None = None) -> Snapshot:
        """The tracked objects now (their real states), or as the log says they were after event ``at``."""
        self._drain()
        if at is None:
            with self._lock, gc_paused():
                return capture(
                    self._labels, self._session_labels, self._recorded, self._last_transition, self.snapshot_class
                )
        return replay(self.events, at, self.snapshot_class)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        status = "tracking" if self.active else "stopped"
        return f"<sessionkit.Tracker {status} {self.target.description}: {len(self)} events>"
