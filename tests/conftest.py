"""Fixtures: a real engine (SQLite by default, or each URL in SESSIONKIT_TEST_DATABASE_URLS) and sessions."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, close_all_sessions, sessionmaker
from sqlalchemy.pool import StaticPool

from tests.models import Base

DATABASE_URLS = (os.environ.get("SESSIONKIT_TEST_DATABASE_URLS") or "sqlite://").split()

#: Seconds a server may take to accept a connection, and a statement may wait for a lock,
#: before the run gives up: a test that leaves a transaction open fails instead of hanging CI.
TIMEOUT = 10

#: Per-backend connect arguments that apply those limits.
_LIMITS: dict[str, dict[str, object]] = {
    "postgresql": {"connect_timeout": TIMEOUT, "options": f"-c lock_timeout={TIMEOUT}s"},
    "mysql": {
        "connect_timeout": TIMEOUT,
        "init_command": f"SET SESSION lock_wait_timeout = {TIMEOUT}, innodb_lock_wait_timeout = {TIMEOUT}",
    },
}
_LIMITS["mariadb"] = _LIMITS["mysql"]


def make_engine(url: str) -> Engine:
    if url == "sqlite://":
        return create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    parsed = make_url(url)
    limits = _LIMITS.get(parsed.get_backend_name(), {})
    if parsed.get_driver_name() not in {"psycopg", "psycopg2", "pymysql", "mysqldb"}:
        limits = {}  # other drivers spell these arguments differently
    return create_engine(parsed, connect_args=dict(limits))


def unreachable(urls: list[str]) -> list[str]:
    """The URLs whose database cannot be connected to, each with the reason."""
    return [problem for url in urls if (problem := _connection_problem(url)) is not None]


def _connection_problem(url: str) -> str | None:
    try:
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure (driver missing, refused, bad URL) is reported
        shown = make_url(url).render_as_string(hide_password=True) if "://" in url else url
        return f"{shown}: {type(error).__name__}: {str(error).strip().splitlines()[0]}"
    return None


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail the whole run, before any test, when SESSIONKIT_TEST_DATABASE_URLS names a database we cannot use.

    CI never silently skips a backend: a server that is down is an error, not a skip.
    """
    problems = unreachable(DATABASE_URLS)
    if problems:
        listed = "\n  ".join(problems)
        msg = (
            f"SESSIONKIT_TEST_DATABASE_URLS names databases that cannot be used:\n  {listed}\n"
            "Start the server (and install its driver, e.g. pip install -e '.[test]'), "
            "or leave the URL out of SESSIONKIT_TEST_DATABASE_URLS."
        )
        raise pytest.UsageError(msg)


@pytest.fixture(params=DATABASE_URLS, ids=lambda url: url.split(":", 1)[0])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    engine = make_engine(request.param)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    close_all_sessions()  # a session a failed test left open would hold locks DROP TABLE waits for
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def Maker(engine: Engine) -> sessionmaker[Session]:  # noqa: N802
    return sessionmaker(bind=engine)


@pytest.fixture
def session(Maker: sessionmaker[Session]) -> Iterator[Session]:  # noqa: N803
    with Maker() as session:
        yield session
