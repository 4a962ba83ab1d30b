"""sessionkit: watch SQLAlchemy Session objects move between the five states.

The package is three layers, each importing only the ones below it: ``core`` (SQLAlchemy's
events in; typed events and snapshots out), ``render`` (DOT, SVG, HTML, text, DataFrames)
and ``jupyter`` (magics, widgets, exercises). This module composes the public ``Tracker``
and ``Snapshot`` from a core class and the mixins of the layers above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sessionkit.core import snapshot as _snapshot
from sessionkit.core import tracker as _tracker
from sessionkit.core.events import Begin, Commit, Created, Event, Flush, Note, Rollback, Statement, Transition
from sessionkit.core.exceptions import (
    EventNotFoundError,
    InvalidSettingError,
    InvalidSettingTypeError,
    NotMappedError,
    SessionkitError,
    TargetError,
)
from sessionkit.core.snapshot import AttributeChange, ObjectSnapshot
from sessionkit.core.states import HOOKS, ObjectState, state_of
from sessionkit.jupyter.exercises import Exercise
from sessionkit.jupyter.mixins import TrackerViews
from sessionkit.jupyter.quiz import Quiz
from sessionkit.render.mixins import SnapshotTables, TrackerPictures

if TYPE_CHECKING:
    from pandas import DataFrame

    from sessionkit.render.diagram import StateDiagram

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


class Snapshot(SnapshotTables, _snapshot.Snapshot):
    """The tracked objects at one moment, in label order, with the transition that led there."""


class Tracker(TrackerViews, TrackerPictures, _tracker.Tracker):
    """Records the lifecycle of every object, transaction and statement in the tracked sessions.

    ``diagram()``, ``to_frame()``, ``sql_frame()``, ``view()`` and ``replay()`` draw what it recorded.
    """

    snapshot_class = Snapshot

    def snapshot(self, at: int | None = None) -> Snapshot:
        """The tracked objects now (their real states), or as the log says they were after event ``at``."""
        return cast("Snapshot", super().snapshot(at))


def track(target: Any, *, sql: bool = True, max_events: int = 10_000, models: Any = None) -> Tracker:
    """Start recording what happens in the sessions ``target`` reaches (see ``sessionkit.core.tracker.track``).

    ``target`` is a ``Session``, a ``sessionmaker``, a ``scoped_session``, a ``Session``
    subclass (``Session`` itself: every session), an ``AsyncSession`` or an ``async_sessionmaker``.
    """
    tracker = _tracker.track(target, sql=sql, max_events=max_events, models=models, kind=Tracker)
    return cast("Tracker", tracker)


def diagram(snapshot: Snapshot, **options: Any) -> StateDiagram:
    """The graphviz state diagram of a snapshot (see ``sessionkit.render.diagram.StateDiagram``)."""
    from sessionkit.render.diagram import diagram as build

    return build(snapshot, **options)


def lifecycle_table() -> DataFrame:
    """SQLAlchemy's ten lifecycle hooks as a table: hook, from, to, and the Session calls that cause it."""
    from sessionkit.render.tables import lifecycle_table as build

    return build()


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%sessionkit`` magics (``%load_ext sessionkit``)."""
    from sessionkit.jupyter.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove everything ``%load_ext sessionkit`` added (``%unload_ext sessionkit``)."""
    from sessionkit.jupyter.magics import unload_ipython_extension as unload

    unload(ipython)
