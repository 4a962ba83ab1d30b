"""The live view: one anywidget redrawn as the tracked session changes (``Tracker.view()``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from sessionkit.core.events import Event
from sessionkit.core.snapshot import Snapshot
from sessionkit.jupyter.feed import Clock, Feed, Schedule, Throttle, feed_for
from sessionkit.jupyter.pictures import live_caption
from sessionkit.jupyter.settings import (
    DEFAULT_MAX_REDRAWS_PER_SECOND,
    check_log_length,
    check_redraw_rate,
    check_show_sql,
)
from sessionkit.jupyter.widget import PictureWidget
from sessionkit.render.diagram import DEFAULT_MAX_TOKENS, check_max_tokens
from sessionkit.render.lanes import LaneBook
from sessionkit.render.panels import DEFAULT_LOG_LENGTH, Picture, render_picture

if TYPE_CHECKING:
    from sessionkit.core.tracker import Tracker

#: The first line of a side view's text: what a saved notebook says where no side panel is drawn.
SIDE_TEXT = "This live view opens in a JupyterLab side panel; where there is none, it is shown here."


class LiveView(PictureWidget):
    """The live picture of a tracked session: state diagram, identity map, event log and SQL of each flush.

    One anywidget. It redraws as events arrive, also while one long cell runs, at most
    ``max_redraws_per_second`` times a second, and always once after the last event. Views
    of one tracker share one subscription and show the same moment. Errors while drawing
    are shown in the view, never raised into the learner's code. ``clock``, ``schedule``
    and ``shell`` are for tests: a fake clock, a hand-run timer, an IPython shell whose
    ``post_run_cell`` hook redraws (by default, the current one).
    """

    #: Set when the view is also open in a side panel (``view(side=True)``): the key its copies find each other by.
    side = traitlets.Unicode("").tag(sync=True)
    #: The side panel (a ``sidecar.Sidecar``) the view is open in, if any.
    panel: object = None

    def __init__(
        self,
        tracker: Tracker,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        max_redraws_per_second: float = DEFAULT_MAX_REDRAWS_PER_SECOND,
        show_sql: bool = True,
        log_length: int = DEFAULT_LOG_LENGTH,
        clock: Clock | None = None,
        schedule: Schedule | None = None,
        shell: Any = None,
    ) -> None:
        tokens, rate = check_max_tokens(max_tokens), check_redraw_rate(max_redraws_per_second)
        sql, length = check_show_sql(show_sql), check_log_length(log_length)
        self.tracker = tracker
        self.max_tokens = tokens
        self.max_redraws_per_second = rate
        self.show_sql = sql
        self.log_length = length
        self.picture = None
        #: Every object this view has drawn, in order of first sight: a lane each, so its pictures hold still.
        self.lanes = LaneBook(live=True)
        self._display_ids: list[str] = []
        #: The last error met while drawing (shown in the view), or ``None``.
        self.error: Exception | None = None
        self._feed: Feed | None = None
        super().__init__()
        self._feed = feed_for(tracker, clock=clock, schedule=schedule, shell=shell)
        self._feed.attach(self)

    @property
    def live(self) -> bool:
        """Whether the view still redraws as events arrive."""
        return self._feed is not None

    @property
    def throttle(self) -> Throttle | None:
        """The throttle shared by this tracker's views (``None`` once detached)."""
        return None if self._feed is None else self._feed.throttle

    def caption(self, snapshot: Snapshot) -> str:
        """The line above the diagram: what is tracked and which moment is shown."""
        return live_caption(self.tracker, snapshot)

    def configure(
        self,
        *,
        max_tokens: int | None = None,
        max_redraws_per_second: float | None = None,
        show_sql: bool | None = None,
        log_length: int | None = None,
    ) -> None:
        """Change settings (each is validated before any changes) and redraw."""
        checked = {
            "max_tokens": None if max_tokens is None else check_max_tokens(max_tokens),
            "max_redraws_per_second": (
                None if max_redraws_per_second is None else check_redraw_rate(max_redraws_per_second)
            ),
            "show_sql": None if show_sql is None else check_show_sql(show_sql),
            "log_length": None if log_length is None else check_log_length(log_length),
        }
        for name, value in checked.items():
            if value is not None:
                setattr(self, name, value)
        if self._feed is not None:
            self._feed.retune()
        self.refresh()

    def refresh(self) -> None:
        """Redraw now, in this thread."""
        if self._feed is not None:
            self._feed.throttle.poke()
            self._feed.throttle.flush()
        else:
            self._draw_alone()

    def render(self, snapshot: Snapshot, events: Sequence[Event]) -> Picture:
        """The picture this view shows of ``snapshot`` (with its own settings)."""
        return render_picture(
            snapshot,
            events,
            caption=self.caption(snapshot),
            max_tokens=self.max_tokens,
            log_length=self.log_length,
            show_sql=self.show_sql,
            lanes=self.lanes,
        )

    def _draw_alone(self) -> None:
        try:
            self._show(self.render(self.tracker.snapshot(), self.tracker.events))
        except Exception as error:  # noqa: BLE001 - the session must go on
            self._failed(error)

    def _show(self, picture: Picture) -> None:
        self.error = None
        self._display(picture)

    def _failed(self, error: Exception) -> None:
        self.error = error
        self._say(f"The view could not be updated ({type(error).__name__}: {error}); it shows the last good picture.")

    def _latest(self) -> Picture | None:
        if self._feed is not None:
            self._feed.throttle.flush()  # what arrived a moment ago, drawn now
        if self.picture is None:
            self._draw_alone()
        return self.picture

    @property
    def displayed(self) -> bool:
        """Whether the view was displayed in a notebook (its saved outputs follow it as each cell ends)."""
        return bool(self._display_ids)

    def _ipython_display_(self) -> None:
        """Display the view with a display id, so each cell's end can update its saved picture."""
        from IPython.display import display

        data, metadata = self._repr_mimebundle_()
        display_id = uuid.uuid4().hex
        self._display_ids.append(display_id)
        display(data, metadata=metadata, raw=True, display_id=display_id)  # type: ignore[no-untyped-call]

    def cell_finished(self) -> None:
        """Update every displayed copy of the view: its static SVG/HTML and text now show the session as it is.

        The widget itself is already up to date; this is what a saved or nbconvert-executed
        notebook keeps (IPython's ``update_display``, by display id).
        """
        if not self._display_ids or self._closed:
            return
        from IPython.display import update_display

        data, metadata = self._repr_mimebundle_()
        for display_id in self._display_ids:
            update_display(data, metadata=metadata, raw=True, display_id=display_id)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        text = super().__repr__()
        return f"{SIDE_TEXT}\n{text}" if getattr(self, "side", "") else text

    def detach(self) -> None:
        """Stop updating; the last picture stays."""
        feed, self._feed = getattr(self, "_feed", None), None
        if feed is not None:
            feed.detach(self)

    def close(self) -> None:
        """Stop updating and close the widget."""
        self.detach()
        super().close()
