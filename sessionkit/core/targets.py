"""What ``track()`` can attach to: finding the event targets behind a session, factory or class."""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.orm import session as orm_session

from sessionkit.core.exceptions import TargetError

ACCEPTED = (
    "a Session instance, a sessionmaker, a scoped_session, a Session subclass "
    "(Session itself means every session), an AsyncSession, an async_sessionmaker "
    "or an async_scoped_session"
)


@dataclass(frozen=True)
class Target:
    """The object event listeners attach to, the class of the sessions it reaches and a name for it."""

    listen_on: Any
    session_class: type[Session]
    instance: Session | None
    description: str
    claim: Callable[[], Callable[[], None]] | None = field(default=None, compare=False)

    def prepare(self) -> Callable[[], None]:
        """Make the sessions this target reaches send their events; returns the function that undoes it.

        Only an ``async_sessionmaker`` needs this (see ``_FactorySwap``); for every other
        target it changes nothing.
        """
        return _nothing if self.claim is None else self.claim()

    def live_sessions(self) -> Iterator[Session]:
        """The sessions alive right now that this target reaches."""
        if self.instance is not None:
            yield self.instance
            return
        registry = getattr(orm_session, "_sessions", {})
        for session in list(registry.values()):
            if isinstance(session, self.session_class):
                yield session


def resolve(target: Any) -> Target:
    """Find what to listen on for ``target``, or raise ``TargetError`` naming what is accepted."""
    async_target = _resolve_async(target)
    if async_target is not None:
        return async_target
    if isinstance(target, Session):
        return Target(target, type(target), target, f"{type(target).__name__} instance")
    if isinstance(target, scoped_session):
        factory: Any = target.session_factory  # typed as a sessionmaker, but any callable is allowed
        if isinstance(factory, sessionmaker):
            return Target(factory, factory.class_, None, "scoped_session")
        msg = (
            f"track() needs a scoped_session made from a sessionmaker, but this one wraps "
            f"{factory!r}; accepted: {ACCEPTED}."
        )
        raise TargetError(msg)
    if isinstance(target, sessionmaker):
        return Target(target, target.class_, None, "sessionmaker")
    if isinstance(target, type) and issubclass(target, Session):
        name = "every Session" if target is Session else f"every {target.__name__}"
        return Target(target, target, None, name)
    raise TargetError(_not_a_target(target))


def _not_a_target(target: Any) -> str:
    """The message for something ``track()`` cannot attach to; a model or its base is named as such."""
    kind = model_kind(target)
    if kind is None:
        return f"track() cannot attach to {target!r} ({type(target).__name__}); accepted: {ACCEPTED}."
    given = f"{target.__name__}, {kind}" if isinstance(target, type) else kind
    return (
        f"track() was given {given}, not a session; pass the Session or sessionmaker your code uses, and your "
        f"declarative base as models= to see objects from the moment they are made, e.g. track(Session, models=Base)."
    )


def model_kind(target: Any) -> str | None:
    """What a model-side object is, in a learner's words (``None`` if it is none of them).

    >>> from sqlalchemy import Integer
    >>> from sqlalchemy.orm import DeclarativeBase, mapped_column
    >>> class Base(DeclarativeBase): pass
    >>> class Author(Base):
    ...     __tablename__ = "author"
    ...     id = mapped_column(Integer, primary_key=True)
    >>> model_kind(Author), model_kind(Author()), model_kind(Base), model_kind(3)
    ('a mapped class', 'an object of the mapped class Author', 'a declarative base', None)
    """
    if isinstance(target, type):
        if hasattr(target, "__mapper__"):
            return "a mapped class"
        if hasattr(target, "registry") and hasattr(target, "metadata"):
            return "a declarative base"
        return None
    if hasattr(type(target), "__mapper__"):
        return f"an object of the mapped class {type(target).__name__}"
    return None


def _resolve_async(target: Any) -> Target | None:
    """Reach an async session or factory through the sync ``Session`` it wraps; ``None`` if not async."""
    if "sqlalchemy.ext.asyncio" not in sys.modules:
        # No async object can exist before SQLAlchemy's asyncio module is imported, and importing
        # it needs greenlet, which a plain install of SQLAlchemy 2.1 does not bring.
        return None
    from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session, async_sessionmaker

    if isinstance(target, AsyncSession):
        sync = target.sync_session
        return Target(sync, type(sync), sync, "AsyncSession instance")
    description = "async_sessionmaker"
    if isinstance(target, async_scoped_session):
        description = "async_scoped_session"
        target = target.session_factory
        if not isinstance(target, async_sessionmaker):
            msg = (
                f"track() needs an async_scoped_session made from an async_sessionmaker, but this one "
                f"wraps {target!r}; accepted: {ACCEPTED}."
            )
            raise TargetError(msg)
    if not isinstance(target, async_sessionmaker):
        return None
    sync_class = target.kw.get("sync_session_class") or getattr(target.class_, "sync_session_class", Session)
    if isinstance(sync_class, sessionmaker):
        # SQLAlchemy's documented way to listen per async factory: a sessionmaker as its
        # sync_session_class, whose private subclass the listeners attach to. Nothing to change.
        return Target(sync_class, sync_class.class_, None, description)
    if not (isinstance(sync_class, type) and issubclass(sync_class, Session)):
        msg = (
            f"track() cannot reach the sessions of {target!r}: its sync_session_class {sync_class!r} is "
            "neither a Session subclass nor a sessionmaker; pass sync_session_class=sessionmaker(...) "
            "to the async_sessionmaker, or track each AsyncSession."
        )
        raise TargetError(msg)
    swap = _FactorySwap.of(target, sync_class)
    return Target(swap.private, swap.private, None, description, claim=swap.claim)


_MISSING = object()


class _FactorySwap:
    """An ``async_sessionmaker`` made to build its sync sessions from a private subclass, while tracked.

    ``async_sessionmaker`` (unlike ``sessionmaker``) makes no subclass of its own, so listeners
    on its sync class would reach every session of that class in the process. ``sessionmaker``
    solves the same problem with ``type(class_.__name__, (class_,), {})``; this does the same,
    puts the subclass in the factory's ``sync_session_class`` while a tracker claims it, and
    puts the factory's own setting back when the last claim is released. The subclass is kept
    for the factory's lifetime, so tracking again reaches sessions it made earlier.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _by_factory: ClassVar[weakref.WeakKeyDictionary[Any, _FactorySwap]] = weakref.WeakKeyDictionary()

    def __init__(self, factory: Any, base: type[Session]) -> None:
        self._factory = weakref.ref(factory)
        self.base = base
        self.private: type[Session] = type(base.__name__, (base,), {})
        self._claims = 0
        self._original: Any = _MISSING

    @classmethod
    def of(cls, factory: Any, sync_class: type[Session]) -> _FactorySwap:
        """The swap for ``factory``, made anew if its ``sync_session_class`` was changed meanwhile."""
        with cls._lock:
            swap = cls._by_factory.get(factory)
            if swap is None or sync_class not in (swap.base, swap.private):
                swap = cls._by_factory[factory] = cls(factory, sync_class)
            return swap

    def claim(self) -> Callable[[], None]:
        """Put the private subclass in place; returns the function that releases this claim."""
        factory = self._factory()
        if factory is None:  # pragma: no cover - a factory already collected has no sessions to reach
            return _nothing
        with self._lock:
            if self._claims == 0:
                self._original = factory.kw.get("sync_session_class", _MISSING)
                factory.kw["sync_session_class"] = self.private
            self._claims += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                self._claims -= 1
                if self._claims == 0:
                    self._restore(factory)

        return release

    def _restore(self, factory: Any) -> None:
        if factory.kw.get("sync_session_class") is not self.private:
            return  # the learner configured another class meanwhile: theirs stays
        if self._original is _MISSING:
            del factory.kw["sync_session_class"]
        else:
            factory.kw["sync_session_class"] = self._original
        self._original = _MISSING


def _nothing() -> None:
    """Undo nothing: the target needed no change."""


def model_targets(models: Any) -> list[Any]:
    """Mapped classes or declarative bases to watch for new (transient) instances."""
    if models is None:
        return []
    items = [models] if isinstance(models, type) else models
    if not isinstance(items, Iterable) or isinstance(items, (str, bytes)):
        msg = (
            f"models= needs a declarative base or mapped classes, but was given {models!r}; "
            "pass the declarative base (e.g. models=Base) or a list of mapped classes."
        )
        raise TargetError(msg)
    result = list(items)
    for item in result:
        is_model = isinstance(item, type) and (
            _is_mapped(item) or issubclass(item, DeclarativeBase) or hasattr(item, "registry")
        )
        if not is_model:
            msg = (
                f"models= needs a declarative base or mapped classes, but {item!r} is neither; "
                "pass the declarative base (e.g. models=Base) or a list of mapped classes."
            )
            raise TargetError(msg)
    return result


def _is_mapped(cls: type) -> bool:
    from sqlalchemy import inspect

    return inspect(cls, raiseerr=False) is not None
