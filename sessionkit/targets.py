"""What ``track()`` can attach to: finding the event targets behind a session, factory or class."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.orm import session as orm_session

from sessionkit.exceptions import TargetError

ACCEPTED = (
    "a Session instance, a sessionmaker, a scoped_session, a Session subclass "
    "(Session itself means every session), an AsyncSession or an async_sessionmaker"
)


@dataclass(frozen=True)
class Target:
    """The object event listeners attach to, the class of the sessions it reaches and a name for it."""

    listen_on: Any
    session_class: type[Session]
    instance: Session | None
    description: str

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
        factory = target.session_factory
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
    msg = f"track() cannot attach to {target!r} ({type(target).__name__}); accepted: {ACCEPTED}."
    raise TargetError(msg)


def _resolve_async(target: Any) -> Target | None:
    try:
        from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, async_scoped_session
    except ImportError:  # pragma: no cover - asyncio extension always ships with SQLAlchemy 2
        return None
    if isinstance(target, AsyncSession):
        sync = target.sync_session
        return Target(sync, type(sync), sync, "AsyncSession instance")
    if isinstance(target, async_scoped_session):
        target = target.session_factory
    if isinstance(target, async_sessionmaker):
        sync_class = target.kw.get("sync_session_class") or Session
        if sync_class is Session:
            # A private subclass keeps the listeners to this factory's sessions only.
            sync_class = type("TrackedSession", (Session,), {})
            target.kw["sync_session_class"] = sync_class
        return Target(sync_class, sync_class, None, "async_sessionmaker")
    return None


def model_targets(models: Any) -> list[Any]:
    """Mapped classes or declarative bases to watch for new (transient) instances."""
    if models is None:
        return []
    items = [models] if isinstance(models, type) else models
    if not isinstance(items, Iterable):
        msg = (
            f"models= needs a declarative base or mapped classes, but was given {models!r}; "
            "pass the declarative base (e.g. models=Base) or a list of mapped classes."
        )
        raise TargetError(msg)
    result = list(items)
    for item in result:
        if not (isinstance(item, type) and (_is_mapped(item) or issubclass(item, DeclarativeBase) or hasattr(item, "registry"))):
            msg = (
                f"models= needs a declarative base or mapped classes, but {item!r} is neither; "
                "pass the declarative base (e.g. models=Base) or a list of mapped classes."
            )
            raise TargetError(msg)
    return result


def _is_mapped(cls: type) -> bool:
    from sqlalchemy import inspect

    return inspect(cls, raiseerr=False) is not None
