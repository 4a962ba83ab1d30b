"""The typed events a tracker records: one frozen class per kind of fact."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sessionkit.core.states import ObjectState


def format_identity(identity: tuple[Any, ...] | None) -> str:
    """Show a primary key the way a learner writes it: ``1`` or ``(1, 'a')``."""
    if identity is None:
        return ""
    if len(identity) == 1:
        return repr(identity[0])
    return repr(identity)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened in a tracked session, numbered in order by ``seq``."""

    kind: ClassVar[str] = "event"
    seq: int
    session: str | None

    def describe(self) -> str:
        """Say in one sentence what happened."""
        return f"{self.session}: {self.kind}"


@dataclass(frozen=True, slots=True)
class Transition(Event):
    """One of SQLAlchemy's ten lifecycle hooks fired for an object."""

    kind: ClassVar[str] = "transition"
    hook: str
    before: ObjectState | None
    after: ObjectState
    label: str
    identity: tuple[Any, ...] | None = None
    _ref: weakref.ref[Any] | None = field(default=None, repr=False, compare=False)

    @property
    def instance(self) -> Any:
        """The object while it is alive, else ``None``."""
        return None if self._ref is None else self._ref()

    def describe(self) -> str:
        """Say in one sentence what happened."""
        if self.before is None:
            return f"{self.label} was loaded from a row; it is {self.after} ({self.hook}, {self.session})."
        return f"{self.label} went from {self.before} to {self.after} ({self.hook}, {self.session})."


@dataclass(frozen=True, slots=True)
class Created(Event):
    """A mapped object was constructed (``InstanceEvents.init``); it starts out transient."""

    kind: ClassVar[str] = "created"
    hook: ClassVar[str] = "init"
    before: ClassVar[None] = None
    after: ClassVar[ObjectState] = ObjectState.TRANSIENT
    label: str
    _ref: weakref.ref[Any] | None = field(default=None, repr=False, compare=False)

    @property
    def instance(self) -> Any:
        """The object while it is alive, else ``None``."""
        return None if self._ref is None else self._ref()

    def describe(self) -> str:
        """Say in one sentence what happened."""
        return f"{self.label} was created; it is transient."


@dataclass(frozen=True, slots=True)
class Begin(Event):
    """The session began a transaction (``after_transaction_create``), or a savepoint when ``nested``."""

    kind: ClassVar[str] = "begin"
    nested: bool = False

    def describe(self) -> str:
        """Say in one sentence what happened."""
        what = "a savepoint (begin_nested)" if self.nested else "a transaction"
        return f"{self.session} began {what}."


@dataclass(frozen=True, slots=True)
class Flush(Event):
    """The session started a flush (``before_flush``) with this many pending, dirty and marked objects."""

    kind: ClassVar[str] = "flush"
    new: int = 0
    dirty: int = 0
    deleted: int = 0

    def describe(self) -> str:
        """Say in one sentence what happened."""
        return f"{self.session} flushed: {self.new} new, {self.dirty} dirty, {self.deleted} marked for deletion."


@dataclass(frozen=True, slots=True)
class Commit(Event):
    """The session committed (``after_commit``); ``nested`` for a released savepoint."""

    kind: ClassVar[str] = "commit"
    nested: bool = False

    def describe(self) -> str:
        """Say in one sentence what happened."""
        return f"{self.session} released its savepoint." if self.nested else f"{self.session} committed."


@dataclass(frozen=True, slots=True)
class Rollback(Event):
    """The session rolled back (``after_soft_rollback``); ``nested`` for a savepoint."""

    kind: ClassVar[str] = "rollback"
    nested: bool = False

    def describe(self) -> str:
        """Say in one sentence what happened."""
        what = "to its savepoint" if self.nested else "its transaction"
        return f"{self.session} rolled back {what}."


@dataclass(frozen=True, slots=True)
class Statement(Event):
    """A SQL statement a tracked session sent to the database (the dialect's ``do_execute`` events)."""

    kind: ClassVar[str] = "sql"
    sql: str = ""
    parameters: Any = None
    executemany: bool = False
    flush: int | None = None

    def describe(self) -> str:
        """Say in one sentence what happened."""
        first_line = self.sql.strip().splitlines()[0] if self.sql.strip() else ""
        during = f" during flush {self.flush}" if self.flush is not None else ""
        return f"{self.session} sent SQL{during}: {first_line}"


@dataclass(frozen=True, slots=True)
class Note(Event):
    """The real state of an object disagrees with what the last hook said (or no hook fired)."""

    kind: ClassVar[str] = "note"
    label: str = ""
    hook: str | None = None
    expected: ObjectState | None = None
    actual: ObjectState | None = None
    text: str = ""

    def describe(self) -> str:
        """Say in one sentence what happened."""
        return self.text
