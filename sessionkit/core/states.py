"""The five states of an object in a Session, and how to tell which one it is in."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

from sqlalchemy import inspect
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.orm import session as orm_session

from sessionkit.core.exceptions import NotMappedError

#: SQLAlchemy's weak registry of live sessions, by ``hash_key`` (``InstanceState.session`` looks in it).
_LIVE_SESSIONS = getattr(orm_session, "_sessions", None)


class ObjectState(enum.Enum):
    """Where an ORM object stands with respect to a Session.

    >>> ObjectState.PENDING.value
    'pending'
    """

    TRANSIENT = "transient"
    PENDING = "pending"
    PERSISTENT = "persistent"
    DELETED = "deleted"
    DETACHED = "detached"

    def __str__(self) -> str:
        return self.value


#: The states in the order an object travels through them.
STATE_ORDER = tuple(ObjectState)

#: The states in which an object has an identity (a primary key).
KEYED_STATES = frozenset({ObjectState.PERSISTENT, ObjectState.DELETED, ObjectState.DETACHED})

#: The states in which an object belongs to a session.
ATTACHED_STATES = frozenset({ObjectState.PENDING, ObjectState.PERSISTENT, ObjectState.DELETED})


def state_of(obj: Any) -> ObjectState:
    """Return the real current state of a mapped instance (tracked or not).

    >>> from sqlalchemy import Integer
    >>> from sqlalchemy.orm import DeclarativeBase, mapped_column
    >>> class Base(DeclarativeBase): pass
    >>> class Note(Base):
    ...     __tablename__ = "note"
    ...     id = mapped_column(Integer, primary_key=True)
    >>> state_of(Note())
    <ObjectState.TRANSIENT: 'transient'>
    """
    try:
        instance_state = inspect(obj)
    except NoInspectionAvailable:
        instance_state = None
    if instance_state is None or not getattr(instance_state, "is_instance", False):
        msg = (
            f"state_of() needs an instance of a mapped class, but was given {obj!r}; "
            "pass an object created from an ORM-mapped class."
        )
        raise NotMappedError(msg)
    return state_of_instance_state(instance_state)


def session_of(instance_state: Any) -> Any:
    """The live session an ``InstanceState`` belongs to, or ``None``: what ``instance_state.session`` says.

    Read without changing SQLAlchemy's registry of sessions: ``.session`` (and ``.deleted``)
    look it up in a ``WeakValueDictionary``, and each lookup commits the removals of
    sessions freed meanwhile, which inside ``close_all_sessions()``'s loop over that
    registry changes its size mid-iteration.
    """
    session_id = instance_state.session_id
    if session_id is None:
        return None
    if _LIVE_SESSIONS is None:  # pragma: no cover - a SQLAlchemy without the registry
        return instance_state.session
    found = _LIVE_SESSIONS.data.get(session_id)
    return None if found is None else found()


def state_of_instance_state(instance_state: Any) -> ObjectState:
    """Return the state of an ``InstanceState`` (what ``inspect(obj)`` gives).

    Attached means it names a live session, as ``InstanceState.session`` says (see ``session_of``).
    """
    attached = session_of(instance_state) is not None
    if instance_state.key is None:
        return ObjectState.PENDING if attached else ObjectState.TRANSIENT
    if not attached:
        return ObjectState.DETACHED
    return ObjectState.DELETED if instance_state._deleted else ObjectState.PERSISTENT  # noqa: SLF001 - .deleted looks the session up again


class Hook(NamedTuple):
    """One of SQLAlchemy's ten lifecycle hooks, the states it names and what causes it."""

    name: str
    before: ObjectState | None
    after: ObjectState
    causes: str


_T, _PE, _PS, _D, _DT = STATE_ORDER

#: SQLAlchemy's ten ``SessionEvents`` lifecycle hooks, in the order an object meets them.
HOOKS: dict[str, Hook] = {
    hook.name: hook
    for hook in (
        Hook("transient_to_pending", _T, _PE, "add / add_all (also save-update cascade, merge of a new row)"),
        Hook("pending_to_persistent", _PE, _PS, "flush (INSERT)"),
        Hook("loaded_as_persistent", None, _PS, "query load (a row becomes a new object)"),
        Hook("persistent_to_deleted", _PS, _D, "delete + flush (DELETE)"),
        Hook("deleted_to_detached", _D, _DT, "commit after a flushed delete; expunge"),
        Hook("persistent_to_detached", _PS, _DT, "expunge / expunge_all / close"),
        Hook("detached_to_persistent", _DT, _PS, "add (or delete, or merge(load=False)) of a detached object"),
        Hook("pending_to_transient", _PE, _T, "rollback / expunge / close of a pending object"),
        Hook("persistent_to_transient", _PS, _T, "rollback of a flushed INSERT"),
        Hook("deleted_to_persistent", _D, _PS, "rollback of a flushed delete"),
    )
}
