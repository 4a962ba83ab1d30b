"""Async sessions: track() reaches an AsyncSession, an async_sessionmaker and an async_scoped_session.

Every test runs real asyncio code (``asyncio.run`` inside the test): on aiosqlite always, and
on asyncpg and psycopg's async mode when SESSIONKIT_TEST_DATABASE_URLS names a PostgreSQL server.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import event, func, make_url, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_scoped_session,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

import sessionkit
from sessionkit import Flush, ObjectState, track
from tests.conftest import DATABASE_URLS
from tests.models import Author, Base, Book

T = TypeVar("T")


def async_urls() -> list[Any]:
    """aiosqlite, plus asyncpg and psycopg (async) for each PostgreSQL URL under test."""
    urls: list[Any] = [pytest.param("sqlite+aiosqlite", id="aiosqlite")]
    for url in DATABASE_URLS:
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql":
            for driver in ("asyncpg", "psycopg_async"):
                async_url = parsed.set(drivername=f"postgresql+{driver}")
                urls.append(pytest.param(async_url.render_as_string(hide_password=False), id=driver))
    return urls


@pytest.fixture(params=async_urls())
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite+aiosqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'async.db'}"  # a file: each connection sees the same tables
    return str(request.param)


def run(url: str, scenario: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Create the tables, run ``scenario(engine)`` in a fresh event loop, then drop them again."""

    async def main() -> T:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.drop_all)
                await conn.run_sync(Base.metadata.create_all)
            return await scenario(engine)
        finally:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.drop_all)
            await engine.dispose()

    # A thread of its own: a test that ran earlier may have left an event loop running in this one
    # (Playwright's sync API does, for the browser tests), and asyncio.run() refuses to nest.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


def hooks(tracker: sessionkit.Tracker) -> list[str]:
    return [t.hook for t in tracker.transitions]


# ---------------------------------------------------------------- an AsyncSession


def test_an_async_session_through_its_sync_session(url: str) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        async with AsyncSession(engine) as session:
            tracker = track(session, models=Base)
            ann = Author(name="Ann", books=[Book(title="One")])
            assert {(o.label, o.state) for o in tracker.snapshot()} == {
                ("Author 1", ObjectState.TRANSIENT),
                ("Book 1", ObjectState.TRANSIENT),
            }
            session.add(ann)
            assert Counter(hooks(tracker)) == Counter({"transient_to_pending": 2})
            snapshot = tracker.snapshot()
            assert {(o.label, o.state, o.session) for o in snapshot} == {
                ("Author 1", ObjectState.PENDING, "session 1"),
                ("Book 1", ObjectState.PENDING, "session 1"),
            }

            await session.flush()
            (flush,) = [e for e in tracker.events if isinstance(e, Flush)]
            assert (flush.new, flush.dirty, flush.deleted) == (2, 0, 0)
            inserts = tracker.statements
            assert [s.sql.split()[2] for s in inserts] == ["sk_author", "sk_book"]
            assert all(s.flush == flush.seq for s in inserts)
            assert "Ann" in str(inserts[0].parameters)
            assert tracker.snapshot()["Author 1"].identity == (ann.id,)

            await session.commit()
            after_commit = tracker.snapshot()["Author 1"]  # reads expired state without loading (no IO)
            assert (after_commit.state, after_commit.expired) == (ObjectState.PERSISTENT, True)

            tracker.clear()
            loaded = (await session.scalars(select(Author).where(Author.name == "Ann"))).one()
            assert loaded is ann
            (query,) = tracker.statements
            assert query.sql.startswith("SELECT")
            assert query.flush is None

            await session.delete(ann)  # loads the books its cascade reaches
            await session.commit()
            assert Counter(hooks(tracker)) == Counter({"persistent_to_deleted": 2, "deleted_to_detached": 2})
            assert sessionkit.state_of(ann) is ObjectState.DETACHED
            assert tracker.snapshot()["Author 1"].state is ObjectState.DETACHED
            assert tracker.sessions == {"session 1": session.sync_session}
            assert tracker.target.instance is session.sync_session
            assert "AsyncSession" in repr(tracker)
            tracker.stop()

    run(url, scenario)


def test_run_sync_and_rollback_in_an_async_session(url: str) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        async with AsyncSession(engine) as session:
            tracker = track(session)
            await session.run_sync(lambda sync: sync.add(Author(name="via run_sync")))
            await session.flush()
            await session.rollback()
            assert hooks(tracker) == ["transient_to_pending", "pending_to_persistent", "persistent_to_transient"]
            assert [e.kind for e in tracker.events if e.kind in {"begin", "rollback"}] == ["begin", "rollback"]
            assert await session.scalar(select(func.count()).select_from(Author)) == 0
            tracker.stop()

    run(url, scenario)


# ---------------------------------------------------------------- an async_sessionmaker


def test_an_async_sessionmaker_reaches_its_sessions_and_only_those(url: str) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        mine, other = async_sessionmaker(engine), async_sessionmaker(engine)
        tracker = track(mine)
        async with mine() as first, mine() as second, other() as third:
            first.add(Author(name="first"))
            second.add(Author(name="second"))
            third.add(Author(name="third"))
            Session().add(Author(name="sync"))
            await first.commit()
            await second.commit()
            await third.commit()
        assert {(t.label, t.session) for t in tracker.transitions} == {
            ("Author 1", "session 1"),
            ("Author 2", "session 2"),
        }
        assert Counter(hooks(tracker)) == Counter({"transient_to_pending": 2, "pending_to_persistent": 2})
        parameters = " ".join(str(s.parameters) for s in tracker.statements)
        assert "first" in parameters
        assert "second" in parameters
        assert "third" not in parameters
        tracker.stop()

    run(url, scenario)


def test_concurrent_sessions_of_one_async_sessionmaker(url: str) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        maker = async_sessionmaker(engine, expire_on_commit=False)
        tracker = track(maker)

        async def work(name: str) -> Author:
            async with maker() as session:
                author = Author(name=name, books=[Book(title=f"{name}'s book")])
                session.add(author)
                await session.flush()
                await asyncio.sleep(0)  # let the other task run between flush and commit
                await session.scalars(select(Author).where(Author.name == name))
                await session.commit()
                return author

        authors = dict(zip(("one", "two"), await asyncio.gather(work("one"), work("two")), strict=True))
        by_session: dict[str | None, list[str]] = {}
        for t in tracker.transitions:
            by_session.setdefault(t.session, []).append(t.hook)
        assert set(by_session) == {"session 1", "session 2"}
        for seen in by_session.values():
            assert Counter(seen) == Counter(
                {"transient_to_pending": 2, "pending_to_persistent": 2, "persistent_to_detached": 2}
            )
        owner = {name: next(t.session for t in tracker.transitions if t.instance is a) for name, a in authors.items()}
        assert set(owner.values()) == {"session 1", "session 2"}
        flushes = {e.seq: e.session for e in tracker.events if isinstance(e, Flush)}
        assert sorted(str(label) for label in flushes.values()) == ["session 1", "session 2"]
        for statement in tracker.statements:
            if statement.sql.startswith("INSERT INTO sk_author"):
                name = "one" if "one" in str(statement.parameters) else "two"
                assert statement.session == owner[name]
                assert statement.flush is not None
                assert flushes[statement.flush] == statement.session
            elif statement.sql.startswith("INSERT"):
                assert statement.flush is not None
                assert flushes[statement.flush] == statement.session
            else:
                assert statement.flush is None
        tracker.stop()

    run(url, scenario)


def test_an_async_scoped_session(url: str) -> None:
    async def scenario(engine: AsyncEngine) -> None:
        maker = async_sessionmaker(engine)
        scoped = async_scoped_session(maker, scopefunc=asyncio.current_task)
        with track(scoped) as tracker:
            scoped.add(Author())
            await scoped.commit()
            await scoped.remove()
        assert hooks(tracker) == ["transient_to_pending", "pending_to_persistent"]
        assert tracker.target.description == "async_scoped_session"
        assert "sync_session_class" not in maker.kw

    run(url, scenario)


def test_a_sessionmaker_as_sync_session_class_is_listened_to_as_it_is(url: str) -> None:
    """SQLAlchemy's documented way to have session events per async factory: nothing needs changing."""

    async def scenario(engine: AsyncEngine) -> None:
        sync_maker = sessionmaker()
        maker = async_sessionmaker(engine, sync_session_class=sync_maker)
        before = dict(maker.kw)
        tracker = track(maker)
        assert maker.kw == before
        assert tracker.target.listen_on is sync_maker
        async with maker() as session:
            session.add(Author())
            await session.commit()
        assert hooks(tracker) == ["transient_to_pending", "pending_to_persistent"]
        tracker.stop()
        assert maker.kw == before

    run(url, scenario)


def test_a_custom_sync_session_class_is_kept(url: str) -> None:
    class MySession(Session):
        pass

    class MyAsyncSession(AsyncSession):
        sync_session_class = MySession

    async def scenario(engine: AsyncEngine) -> None:
        by_kw = async_sessionmaker(engine, sync_session_class=MySession)
        by_class = async_sessionmaker(engine, class_=MyAsyncSession)
        for maker in (by_kw, by_class):
            before = dict(maker.kw)
            with track(maker) as tracker:
                async with maker() as session:
                    assert isinstance(session.sync_session, MySession)
                    session.add(Author())
                    await session.commit()
            assert hooks(tracker) == ["transient_to_pending", "pending_to_persistent"]
            assert maker.kw == before
        # Another factory of the same class is not reached.
        with track(by_kw) as tracker:
            async with by_class() as session:
                session.add(Author())
        assert tracker.events == []

    run(url, scenario)


# ---------------------------------------------------------------- stop() undoes what track() changed


def test_stop_restores_the_async_sessionmaker() -> None:
    maker = async_sessionmaker()
    before, text = dict(maker.kw), repr(maker)
    first = track(maker)
    assert "sync_session_class" in maker.kw  # the private subclass its sessions are built from, meanwhile
    sync_class = maker.kw["sync_session_class"]
    assert issubclass(sync_class, Session)
    assert sync_class is not Session
    second = track(maker)
    first.stop()
    assert maker.kw["sync_session_class"] is sync_class  # still tracked by the second tracker
    session = maker()
    session.add(Author())
    assert hooks(second) == ["transient_to_pending"]
    assert hooks(first) == []
    second.stop()
    second.stop()
    assert (maker.kw, repr(maker)) == (before, text)
    session.add(Author())
    assert hooks(second) == ["transient_to_pending"]
    assert type(maker().sync_session) is Session


def test_stop_restores_an_explicit_sync_session_class() -> None:
    class MySession(Session):
        pass

    maker = async_sessionmaker(sync_session_class=MySession)
    with track(maker):
        assert maker.kw["sync_session_class"] is not MySession
    assert maker.kw["sync_session_class"] is MySession


def test_stop_leaves_a_sync_session_class_configured_while_tracking() -> None:
    class Chosen(Session):
        pass

    maker = async_sessionmaker()
    with track(maker):
        maker.configure(sync_session_class=Chosen)
    assert maker.kw["sync_session_class"] is Chosen


def test_a_failed_track_changes_nothing() -> None:
    maker = async_sessionmaker()
    before = dict(maker.kw)
    with pytest.raises(sessionkit.InvalidSettingError):
        track(maker, max_events=0)
    with pytest.raises(sessionkit.TargetError):
        track(maker, models=[int])
    assert maker.kw == before


def test_tracking_again_reaches_sessions_made_while_tracked_before() -> None:
    maker = async_sessionmaker()
    with track(maker):
        session = maker()
    with track(maker) as again:
        session.add(Author())
    assert hooks(again) == ["transient_to_pending"]


def test_an_async_session_made_before_tracking_its_maker_is_not_reached() -> None:
    """Unlike a sessionmaker's, an async_sessionmaker's sessions share no class of their own until
    track() gives it one, so a session made earlier is out of reach: track that AsyncSession itself."""
    maker = async_sessionmaker()
    early = maker()
    with track(maker) as tracker:
        early.add(Author())
    assert tracker.events == []
    with track(early) as tracker:
        early.add(Author())
    assert hooks(tracker) == ["transient_to_pending"]


# ---------------------------------------------------------------- what cannot be tracked


def test_a_sync_session_class_that_is_not_a_class_is_refused() -> None:
    def make_session(**kw: Any) -> Session:
        return Session(**kw)

    maker = async_sessionmaker(sync_session_class=make_session)
    before = dict(maker.kw)
    with pytest.raises(sessionkit.TargetError, match="sync_session_class") as raised:
        track(maker)
    assert isinstance(raised.value, TypeError)
    assert "make_session" in str(raised.value)
    assert maker.kw == before


def test_an_async_scoped_session_of_a_plain_callable_is_refused() -> None:
    scoped: Any = async_scoped_session(AsyncSession, scopefunc=lambda: None)  # type: ignore[arg-type]
    with pytest.raises(sessionkit.TargetError, match="async_scoped_session made from an async_sessionmaker"):
        track(scoped)


def test_async_targets_are_listed_when_a_target_is_refused() -> None:
    with pytest.raises(sessionkit.TargetError) as raised:
        track(object())
    for name in ("AsyncSession", "async_sessionmaker", "async_scoped_session"):
        assert name in str(raised.value)


def test_stopped_trackers_leave_no_listener_on_the_sync_class() -> None:
    maker = async_sessionmaker()
    tracker = track(maker)
    listeners = list(tracker._listeners)
    tracker.stop()
    assert all(not event.contains(on, name, fn) for on, name, fn in listeners)
