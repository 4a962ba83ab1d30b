"""Fixtures of the Jupyter tests: IPython's global test shell, with sessionkit loaded and a notebook's names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.testing import globalipapp
from sqlalchemy.orm import Session, sessionmaker

from tests.jupyter.shell import run_cell
from tests.models import Author, Base, Book


@pytest.fixture(scope="module")
def ip() -> Any:
    # Looked up on the module each time: the first call starts the shell and rebinds it to the shell's own.
    return globalipapp.get_ipython()


@pytest.fixture
def shell(ip: Any, engine: Any, Maker: Any, session: Session) -> Iterator[Any]:  # noqa: N803
    """The shell with sessionkit loaded and a session, a sessionmaker and the models in the notebook."""
    names = {
        "engine": engine,
        "Maker": Maker,
        "session": session,
        "sessionmaker": sessionmaker,
        "Base": Base,
        "Author": Author,
        "Book": Book,
    }
    hooks = list(ip.events.callbacks["post_run_cell"])
    ip.user_ns.update(names)
    run_cell(ip, "%load_ext sessionkit")
    yield ip
    run_cell(ip, "%unload_ext sessionkit")
    ip.config.pop("SessionkitMagics", None)  # %config writes there too
    for name in [*names, "ann", "other", "marker", "scoped", "Sub", "Holder", "Other"]:
        ip.user_ns.pop(name, None)
    assert ip.events.callbacks["post_run_cell"] == hooks
