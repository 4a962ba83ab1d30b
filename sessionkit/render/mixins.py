"""The pictures and tables a tracker or a snapshot offers, as mixins for the public classes.

The core classes know nothing of these: ``sessionkit.Tracker`` and ``sessionkit.Snapshot``
are composed of a core class and these mixins, the way ``graphviz.Graph`` is composed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from pandas import DataFrame

    from sessionkit.core.events import Event
    from sessionkit.core.snapshot import Snapshot
    from sessionkit.render.diagram import StateDiagram


class Recorded(Protocol):
    """What the tracker mixins use of a tracker."""

    @property
    def events(self) -> list[Event]:
        """Every recorded event, oldest first."""

    def snapshot(self, at: int | None = None) -> Snapshot:
        """The tracked objects now, or as they were after event ``at``."""


class SnapshotTables:
    """``to_frame()`` and the HTML table a notebook shows for a snapshot."""

    def to_frame(self) -> DataFrame:
        """The objects as a pandas DataFrame, one row each."""
        from sessionkit.render.tables import snapshot_frame

        return snapshot_frame(cast("Snapshot", self))

    def _repr_html_(self) -> str:
        from sessionkit.render.tables import snapshot_html

        return snapshot_html(cast("Snapshot", self))


class TrackerPictures:
    """A tracker's state diagram, its step pictures and its log as DataFrames."""

    def to_frame(self: Recorded) -> DataFrame:
        """The event log as a pandas DataFrame."""
        from sessionkit.render.tables import events_frame

        return events_frame(self.events)

    def sql_frame(self: Recorded) -> DataFrame:
        """The SQL sent, one row per statement, with the flush that sent it and the objects that flush wrote."""
        from sessionkit.render.tables import sql_frame

        return sql_frame(self.events)

    def diagram(self: Recorded, at: int | None = None, **options: Any) -> StateDiagram:
        """The state diagram now, or as it was right after event ``at``."""
        from sessionkit.render.diagram import diagram

        return diagram(self.snapshot(at=at), **options)

    def step(self: Recorded, since: int | None = None, *, max_tokens: int = 12) -> StateDiagram:
        """One lesson step in a compact picture: the five boxes now, every move since the last ``step()`` in red.

        Put it at the end of a cell (or ``display()`` it) under each step of a lesson: it shows
        as SVG with a plain-text summary of the boxes and the moves. ``since=seq`` shows the
        moves after event ``seq`` instead. A tracker's step pictures share their lanes: boxes
        keep their size and objects their rows from one step to the next.
        """
        from sessionkit.render.step import step_picture

        return step_picture(self, since, max_tokens=max_tokens)
