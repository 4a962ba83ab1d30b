"""The notebooks' database: in-memory SQLite by default, SESSIONKIT_DATABASE_URL when set."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from sessionkit import InvalidSettingError
from sessionkit.teaching import DATABASE_URL_VARIABLE, create_engine, database_url
from tests.models import Author, Base


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, "sqlite://"),
        ({DATABASE_URL_VARIABLE: ""}, "sqlite://"),
        ({DATABASE_URL_VARIABLE: "  "}, "sqlite://"),
        ({DATABASE_URL_VARIABLE: " postgresql+psycopg://u@h/db "}, "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_url_reads_the_variable(environ: dict[str, str], url: str) -> None:
    assert database_url(environ) == url


def test_database_url_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL_VARIABLE, "sqlite:///from-env.db")
    assert database_url() == "sqlite:///from-env.db"
    monkeypatch.delenv(DATABASE_URL_VARIABLE)
    assert database_url() == "sqlite://"


def test_in_memory_sqlite_is_one_shared_database() -> None:
    engine = create_engine(metadata=Base.metadata, environ={})
    assert isinstance(engine.pool, StaticPool)
    with Session(engine) as writer:
        writer.add(Author(name="Ann"))
        writer.commit()
    with engine.connect() as other:  # another checkout sees the same in-memory database
        assert other.execute(text("SELECT name FROM sk_author")).scalar_one() == "Ann"


def test_metadata_gives_fresh_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'learn.db'}"
    engine = create_engine(metadata=Base.metadata, environ={DATABASE_URL_VARIABLE: url})
    assert engine.url.database == str(tmp_path / "learn.db")
    assert not isinstance(engine.pool, StaticPool)
    with Session(engine) as session:
        session.add(Author(name="Ann"))
        session.commit()
    again = create_engine(url, metadata=Base.metadata)
    with Session(again) as session:
        assert session.query(Author).count() == 0
    assert set(inspect(again).get_table_names()) == {"sk_author", "sk_book"}
    engine.dispose()
    again.dispose()


def test_an_explicit_url_wins_and_options_pass_through() -> None:
    engine = create_engine("sqlite://", echo=True, environ={DATABASE_URL_VARIABLE: "nonsense"})
    assert engine.echo is True
    assert engine.url.render_as_string() == "sqlite://"


def test_a_url_that_is_not_one_says_what_to_set() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        create_engine(environ={DATABASE_URL_VARIABLE: "not a url"})
    assert str(caught.value) == (
        "'not a url' is not a SQLAlchemy database URL; set SESSIONKIT_DATABASE_URL to one such as "
        "'postgresql+psycopg://user@localhost/learn', or unset it for in-memory SQLite."
    )
