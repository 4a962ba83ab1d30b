"""Every doctest starts with nothing left for the garbage collector.

doctest's debugger calls ``linecache.checkcache()`` first, which on Python 3.11 lists the
cache, then reads each entry. SQLAlchemy 2.1 puts the source of each mapped class's
generated ``__init__`` there and removes it when the class is collected. A collection in
between (a mapped class an earlier test left behind, collected by any thread) made a doctest
fail with ``KeyError: '<sqlalchemy generated __init__ ...>'``.
"""

from __future__ import annotations

import gc

import pytest
from _pytest.doctest import DoctestItem


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Collect what earlier tests left before a doctest runs."""
    if isinstance(item, DoctestItem):
        gc.collect()
