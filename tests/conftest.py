"""Fixtures: a real engine (SQLite by default, or each URL in SESSIONKIT_TEST_DATABASE_URLS) and sessions."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from tests.models import Base

DATABASE_URLS = os.environ.get("SESSIONKIT_TEST_DATABASE_URLS", "sqlite://").split()


def make_engine(url: str) -> Engine:
    if url == "sqlite://":
        return create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    return create_engine(url)


@pytest.fixture(params=DATABASE_URLS, ids=lambda url: url.split(":", 1)[0])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    engine = make_engine(request.param)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def Maker(engine: Engine) -> sessionmaker[Session]:  # noqa: N802
    return sessionmaker(bind=engine)


@pytest.fixture
def session(Maker: sessionmaker[Session]) -> Iterator[Session]:  # noqa: N803
    with Maker() as session:
        yield session
