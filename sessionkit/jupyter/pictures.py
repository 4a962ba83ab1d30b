"""What the views show, without any widget: the live caption, the replay's steps, and a still picture.

The widgets (:mod:`sessionkit.jupyter.live`, :mod:`sessionkit.jupyter.replay`) show these
pictures; without ipywidgets, ``Tracker.view()`` and ``Tracker.replay()`` show one of them
as a :class:`StillPicture` instead.
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sessionkit.core.events import Event
from sessionkit.core.exceptions import EventNotFoundError
from sessionkit.core.snapshot import Snapshot, replay
from sessionkit.jupyter.settings import (
    DEFAULT_MAX_REDRAWS_PER_SECOND,
    check_interval_ms,
    check_log_length,
    check_redraw_rate,
    check_seq,
    check_show_sql,
)
from sessionkit.render.diagram import DEFAULT_MAX_TOKENS, check_max_tokens
from sessionkit.render.lanes import LaneBook
from sessionkit.render.panels import DEFAULT_LOG_LENGTH, Picture, render_picture

if TYPE_CHECKING:
    from sessionkit.core.tracker import Tracker

#: The milliseconds a playing replay waits between two steps, by default.
DEFAULT_INTERVAL_MS = 800


def live_caption(tracker: Tracker, snapshot: Snapshot) -> str:
    """The line above a live picture: what is tracked and which moment is shown."""
    moment = f"after event {snapshot.at}" if snapshot.at else "before any event"
    status = "" if tracker.active else " (tracking stopped)"
    return f"sessionkit live view: {tracker.target.description}, {moment}{status}"


class Recording:
    """The events a replay steps through (those recorded when it was made), and the picture after each.

    At step ``k`` (the event numbered ``k``) the picture shows the session as it was right
    after event ``k`` (``tracker.snapshot(at=k)``), with that event described in words.
    """

    def __init__(self, tracker: Tracker, *, max_tokens: int, show_sql: bool, log_length: int) -> None:
        self.max_tokens = check_max_tokens(max_tokens)
        self.show_sql = check_show_sql(show_sql)
        self.log_length = check_log_length(log_length)
        self.description = tracker.target.description
        self.events = tracker.events
        self.seqs = [event.seq for event in self.events]
        book = LaneBook()
        book.observe_events(self.events)
        #: The token slots every step's picture shares: its boxes and edges hold still from step to step.
        self.lanes = book.lanes(max_tokens)

    def first_step(self, start: int | None) -> int:
        """The step a replay opens at: the recorded event at ``start`` (or the one before it), else the first."""
        if start is None:
            return self.seqs[0] if self.seqs else 0
        return self.nearest(check_seq(start, "start"))

    def nearest(self, seq: int) -> int:
        """The recorded event at ``seq``, or the last one before it (the first if none is; 0 if none was recorded)."""
        if not self.seqs:
            return 0
        index = bisect.bisect_right(self.seqs, seq) - 1
        return self.seqs[max(index, 0)]

    def picture_at(self, seq: int) -> Picture:
        """The picture of the session right after event ``seq`` (which must be a step)."""
        if not self.seqs:
            snapshot = Snapshot((), at=0, live=False)
            events: Sequence[Event] = []
            caption = f"sessionkit replay: {self.description}, nothing recorded yet"
        else:
            index = bisect.bisect_left(self.seqs, seq)
            if index == len(self.seqs) or self.seqs[index] != seq:
                msg = f"the replay has no step {seq!r}; its steps are events {self.seqs[0]} to {self.seqs[-1]}."
                raise EventNotFoundError(msg)
            snapshot = replay(self.events, seq)
            events = self.events[: index + 1]
            caption = (
                f"sessionkit replay: {self.description}, event {seq} "
                f"(step {index + 1} of {len(self.seqs)}): {events[-1].describe()}"
            )
        return render_picture(
            snapshot,
            events,
            caption=caption,
            max_tokens=self.max_tokens,
            log_length=self.log_length,
            show_sql=self.show_sql,
            current=seq,
            lanes=self.lanes,
        )


class StillPicture:
    """A picture that does not change: what ``Tracker.view()`` and ``replay()`` give without ipywidgets.

    It shows as ``text/plain`` and a static ``text/html`` picture, like a saved notebook.
    """

    widget = None
    diagram_widget = None
    live = False

    def __init__(self, picture: Picture) -> None:
        self.picture = picture

    @property
    def svg(self) -> str:
        """The diagram as SVG text (empty when it could not be drawn)."""
        return self.picture.svg

    def detach(self) -> None:
        """Nothing to stop: a still picture never updates."""

    def close(self) -> None:
        """Nothing to close: a still picture has no widget."""

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:  # noqa: ARG002
        return {"text/plain": self.picture.text, "text/html": self.picture.html()}, {}

    def __repr__(self) -> str:
        return self.picture.text


def widgets_missing() -> bool:
    """Whether ipywidgets or anywidget cannot be imported (a warning then says how to get live views)."""
    try:
        import anywidget  # noqa: F401
        import ipywidgets  # noqa: F401
    except ImportError as error:
        missing = error.name or "ipywidgets"
        warnings.warn(
            f"{missing} is not installed, so this view is a static picture that does not update; "
            "install ipywidgets and anywidget (pip install ipywidgets anywidget) for live views.",
            RuntimeWarning,
            stacklevel=3,
        )
        return True
    return False


def still_view(
    tracker: Tracker,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    max_redraws_per_second: float = DEFAULT_MAX_REDRAWS_PER_SECOND,
    show_sql: bool = True,
    log_length: int = DEFAULT_LOG_LENGTH,
    clock: object = None,  # noqa: ARG001 - the live view's options, accepted alike
    schedule: object = None,  # noqa: ARG001
    shell: object = None,  # noqa: ARG001
) -> StillPicture:
    """The live view's picture of now, as a still picture (its settings checked as the live view checks them)."""
    check_max_tokens(max_tokens)
    check_redraw_rate(max_redraws_per_second)
    check_show_sql(show_sql)
    check_log_length(log_length)
    snapshot = tracker.snapshot()
    picture = render_picture(
        snapshot,
        tracker.events,
        caption=live_caption(tracker, snapshot),
        max_tokens=max_tokens,
        log_length=log_length,
        show_sql=show_sql,
    )
    return StillPicture(picture)


def still_replay(
    tracker: Tracker,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    show_sql: bool = True,
    log_length: int = DEFAULT_LOG_LENGTH,
    interval_ms: int = DEFAULT_INTERVAL_MS,
    start: int | None = None,
) -> StillPicture:
    """The replay's first picture (or the one at ``start``), as a still picture."""
    recording = Recording(tracker, max_tokens=max_tokens, show_sql=show_sql, log_length=log_length)
    check_interval_ms(interval_ms)
    return StillPicture(recording.picture_at(recording.first_step(start)))
