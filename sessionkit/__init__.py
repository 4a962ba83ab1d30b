"""sessionkit: watch SQLAlchemy Session objects move between the five states."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sessionkit.events import Begin, Commit, Created, Event, Flush, Note, Rollback, Statement, Transition
from sessionkit.exceptions import (
    EventNotFoundError,
    InvalidSettingError,
    InvalidSettingTypeError,
    NotMappedError,
    SessionkitError,
    TargetError,
)
from sessionkit.exercises import Exercise, Quiz
from sessionkit.snapshot import AttributeChange, ObjectSnapshot, Snapshot
from sessionkit.states import HOOKS, ObjectState, state_of
from sessionkit.tracker import Tracker, track

if TYPE_CHECKING:
    from pandas import DataFrame

    from sessionkit.statediagram import StateDiagram

__version__ = "0.1.0"

__all__ = [
    "HOOKS",
    "AttributeChange",
    "Begin",
    "Commit",
    "Created",
    "Event",
    "EventNotFoundError",
    "Exercise",
    "Flush",
    "InvalidSettingError",
    "InvalidSettingTypeError",
    "NotMappedError",
    "Note",
    "ObjectSnapshot",
    "ObjectState",
    "Quiz",
    "Rollback",
    "SessionkitError",
    "Snapshot",
    "Statement",
    "TargetError",
    "Tracker",
    "Transition",
    "diagram",
    "lifecycle_table",
    "load_ipython_extension",
    "state_of",
    "track",
    "unload_ipython_extension",
]


def diagram(snapshot: Snapshot, **options: Any) -> StateDiagram:
    """The graphviz state diagram of a snapshot (see ``sessionkit.statediagram.StateDiagram``)."""
    from sessionkit.statediagram import diagram as build

    return build(snapshot, **options)


def lifecycle_table() -> DataFrame:
    """SQLAlchemy's ten lifecycle hooks as a table: hook, from, to, and the Session calls that cause it."""
    from sessionkit.tables import lifecycle_table as build

    return build()


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%sessionkit`` magics (``%load_ext sessionkit``)."""
    from sessionkit.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove everything ``%load_ext sessionkit`` added (``%unload_ext sessionkit``)."""
    from sessionkit.magics import unload_ipython_extension as unload

    unload(ipython)
