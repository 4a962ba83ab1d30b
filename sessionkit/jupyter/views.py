"""The live view and the replay of a tracked session, with static pictures for saved notebooks.

``LiveView`` (``Tracker.view()``) redraws the state diagram, the identity map, the event log
and the SQL of each flush as events arrive; ``ReplayView`` (``Tracker.replay()``) scrubs
through the recorded events. ipywidgets and anywidget are imported only when a view is built.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import html
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sessionkit.core.events import Event
from sessionkit.core.exceptions import EventNotFoundError
from sessionkit.core.snapshot import Snapshot, replay
from sessionkit.jupyter.feed import Clock, Schedule, Throttle, thread_timer
from sessionkit.jupyter.settings import (
    DEFAULT_MAX_REDRAWS_PER_SECOND,
    check_log_length,
    check_redraw_rate,
    check_seq,
    check_show_sql,
)
from sessionkit.render.diagram import DEFAULT_MAX_TOKENS, check_max_tokens
from sessionkit.render.panels import DEFAULT_LOG_LENGTH, STYLE, Picture, render_picture

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from sessionkit.core.tracker import Tracker

__all__ = ["LiveView", "ReplayView", "detach_views"]

STATIC = Path(__file__).parent / "static"


def _ipywidgets() -> Any:
    """The ipywidgets module, or ``None`` with a warning that says how to get it."""
    try:
        import ipywidgets
    except ImportError:
        warnings.warn(
            "ipywidgets is not installed, so this view is a static picture that does not update; "
            "install it (pip install ipywidgets) for live views.",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return ipywidgets


@functools.cache
def diagram_widget_class() -> type[Any] | None:
    """The anywidget class that shows the diagram and slides moved tokens; ``None`` without anywidget."""
    try:
        import anywidget
        import traitlets
    except ImportError:
        return None

    class DiagramWidget(anywidget.AnyWidget):
        """The state diagram as SVG; on each change the tokens slide from their old boxes."""

        _esm = STATIC / "diagram.js"
        _css = STATIC / "diagram.css"
        svg = traitlets.Unicode("").tag(sync=True)

        def __repr__(self) -> str:
            return "DiagramWidget(sessionkit state diagram)"

        def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
            found = super()._repr_mimebundle_(**kwargs)
            data, metadata = found if found is not None else ({}, {})
            data["text/plain"] = repr(self)
            if self.svg:
                data["image/svg+xml"] = self.svg
            return data, metadata

    return DiagramWidget


class _Panels:
    """The ipywidgets of one view: caption, diagram, identity map, event log, SQL."""

    def __init__(self, widgets: Any, extra: Sequence[Any] = ()) -> None:
        diagram_class = diagram_widget_class()
        self.caption = widgets.HTML()
        self.diagram = diagram_class() if diagram_class is not None else widgets.HTML()
        pane = {"flex": "1 1 0", "min_width": "0", "max_height": "22em", "overflow": "auto", "margin": "0 1em 0 0"}
        self.objects = widgets.HTML(layout=widgets.Layout(**pane))
        self.log = widgets.HTML(layout=widgets.Layout(**pane))
        self.sql = widgets.HTML(layout=widgets.Layout(**pane))
        for name, widget in (("objects", self.objects), ("log", self.log), ("sql", self.sql)):
            widget.add_class(f"sessionkit-{name}")
        row = widgets.HBox([self.objects, self.log, self.sql])
        self.root = widgets.VBox([*extra, self.caption, self.diagram, row])
        self.root.add_class("sessionkit-view")

    def show(self, picture: Picture) -> None:
        caption = f"{STYLE}<b>{html.escape(picture.caption)}</b>"
        if hasattr(self.diagram, "svg"):
            self.diagram.svg = picture.svg
            if not picture.svg:  # not drawn: the DOT text and the reason, where the picture would be
                caption += picture.diagram_html
        else:
            self.diagram.value = picture.diagram_html
        self.caption.value = caption
        self.objects.value = picture.objects_html
        self.log.value = picture.log_html
        self.sql.value = picture.sql_html
        self.sql.layout.display = None if picture.show_sql else "none"

    def close(self) -> None:
        for widget in (self.caption, self.diagram, self.objects, self.log, self.sql, self.root):
            widget.close()


def _bundle(panels: _Panels | None, picture: Picture, include: Any, exclude: Any) -> dict[str, Any]:
    """The widget's mimebundle with a deterministic text/plain and a static HTML picture beside it."""
    data: dict[str, Any] = {}
    if panels is not None:
        found = panels.root._repr_mimebundle_(include=include, exclude=exclude)
        data.update(found[0] if isinstance(found, tuple) else found or {})
    data["text/plain"] = picture.text
    data["text/html"] = picture.html()
    return data


# ---------------------------------------------------------------------- the live view
class _Feed:
    """One tracker's subscription, shared by all its live views: one snapshot per redraw, views in sync."""

    def __init__(self, tracker: Tracker, *, clock: Clock, schedule: Schedule, shell: Any) -> None:
        self.tracker = tracker
        self.views: list[LiveView] = []
        self.throttle = Throttle(self.draw, 1 / DEFAULT_MAX_REDRAWS_PER_SECOND, clock=clock, schedule=schedule)
        self._shell = shell
        # watch() builds no events while the session runs: the redraw reads the log in one go.
        self._unsubscribe: Callable[[], None] | None = tracker.watch(self.throttle.poke)
        if shell is not None:
            shell.events.register("post_run_cell", self._after_cell)

    def _after_cell(self, result: object = None) -> None:  # noqa: ARG002
        # A cell can change sub-states (dirty, expired) without any event: look again.
        self.throttle.poke()

    def attach(self, view: LiveView) -> None:
        self.views.append(view)
        self.retune()
        self.throttle.poke()
        self.throttle.flush()

    def detach(self, view: LiveView) -> None:
        if view in self.views:
            self.views.remove(view)
        if not self.views:
            self.close()
        else:
            self.retune()

    def retune(self) -> None:
        """The fastest rate any view asks for."""
        if self.views:
            self.throttle.interval = 1 / max(view.max_redraws_per_second for view in self.views)

    def close(self) -> None:
        self.throttle.close()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._shell is not None:
            with contextlib.suppress(ValueError):
                self._shell.events.unregister("post_run_cell", self._after_cell)
            self._shell = None
        with _FEEDS_LOCK:
            if _FEEDS.get(self.tracker) is self:
                del _FEEDS[self.tracker]

    def draw(self) -> None:
        """Take one snapshot and show it in every view (each with its own settings)."""
        views = list(self.views)
        try:
            snapshot = self.tracker.snapshot()
            events = self.tracker.events
        except Exception as error:  # noqa: BLE001 - the session must go on
            for view in views:
                view._failed(error)  # noqa: SLF001
            return
        pictures: dict[tuple[int, int, bool], Picture] = {}
        for view in views:
            key = (view.max_tokens, view.log_length, view.show_sql)
            try:
                if key not in pictures:
                    pictures[key] = view.render(snapshot, events)
                view._show(pictures[key])  # noqa: SLF001
            except Exception as error:  # noqa: BLE001 - one broken view must not stop the others
                view._failed(error)  # noqa: SLF001


_FEEDS_LOCK = threading.Lock()
# One feed per tracker while it has live views (the feed removes itself when the last one closes).
_FEEDS: dict[Tracker, _Feed] = {}


def _feed_for(tracker: Tracker, *, clock: Clock | None, schedule: Schedule | None, shell: Any) -> _Feed:
    with _FEEDS_LOCK:
        feed = _FEEDS.get(tracker)
        if feed is None:
            if shell is None:
                shell = _current_shell()
            feed = _FEEDS[tracker] = _Feed(
                tracker,
                clock=clock or time.monotonic,
                schedule=schedule or thread_timer,
                shell=shell,
            )
        return feed


def _current_shell() -> InteractiveShell | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell: InteractiveShell | None = get_ipython()
    return shell


def detach_views(tracker: Tracker) -> None:
    """Stop the live views of ``tracker`` updating (their last picture stays on screen)."""
    feed = _FEEDS.get(tracker)
    if feed is not None:
        for view in list(feed.views):
            view.detach()
        feed.close()


class _PanelsView:
    """What the live view and the replay share: their panels of widgets."""

    _panels: _Panels | None

    @property
    def widget(self) -> Any:
        """The ipywidgets ``VBox`` (``None`` without ipywidgets)."""
        return None if self._panels is None else self._panels.root

    @property
    def diagram_widget(self) -> Any:
        """The widget that shows the diagram (its ``svg`` trait is the SVG text)."""
        return None if self._panels is None else self._panels.diagram


class LiveView(_PanelsView):
    """The live picture of a tracked session: state diagram, identity map, event log and SQL of each flush.

    It redraws as events arrive, also while one long cell runs, at most
    ``max_redraws_per_second`` times a second, and always once after the last event. Views
    of one tracker share one subscription and show the same moment. Errors while drawing
    are shown in the view, never raised into the learner's code.
    """

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
        self.tracker = tracker
        self.max_tokens = check_max_tokens(max_tokens)
        self.max_redraws_per_second = check_redraw_rate(max_redraws_per_second)
        self.show_sql = check_show_sql(show_sql)
        self.log_length = check_log_length(log_length)
        self.picture: Picture | None = None
        #: The last error met while drawing (shown in the view), or ``None``.
        self.error: Exception | None = None
        widgets = _ipywidgets()
        self._panels = _Panels(widgets) if widgets is not None else None
        self._feed: _Feed | None = _feed_for(tracker, clock=clock, schedule=schedule, shell=shell)
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
        moment = f"after event {snapshot.at}" if snapshot.at else "before any event"
        status = "" if self.tracker.active else " (tracking stopped)"
        return f"sessionkit live view: {self.tracker.target.description}, {moment}{status}"

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
        )

    def _draw_alone(self) -> None:
        try:
            self._show(self.render(self.tracker.snapshot(), self.tracker.events))
        except Exception as error:  # noqa: BLE001 - the session must go on
            self._failed(error)

    def _show(self, picture: Picture) -> None:
        self.picture = picture
        self.error = None
        if self._panels is not None:
            self._panels.show(picture)

    def _failed(self, error: Exception) -> None:
        self.error = error
        if self._panels is not None:
            note = f"The view could not be updated ({type(error).__name__}: {error}); it shows the last good picture."
            self._panels.caption.value = f"{STYLE}<b>{html.escape(note)}</b>"

    def detach(self) -> None:
        """Stop updating; the last picture stays."""
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.detach(self)

    def close(self) -> None:
        """Stop updating and close the widgets."""
        self.detach()
        if self._panels is not None:
            self._panels.close()
            self._panels = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        if self._feed is not None:
            self._feed.throttle.flush()
        if self.picture is None:
            self._draw_alone()
        if self.picture is None:  # pragma: no cover - _draw_alone failed before any picture
            return {"text/plain": f"sessionkit live view: {self.tracker.target.description} (no picture)"}
        return _bundle(self._panels, self.picture, include, exclude)

    def __repr__(self) -> str:
        return self.picture.text if self.picture is not None else "sessionkit live view"


# ---------------------------------------------------------------------- replay
class ReplayView(_PanelsView):
    """A Play button and a slider over the recorded events, in the manner of Python Tutor.

    At step ``k`` (the event numbered ``k``) the diagram, the identity map and the SQL show
    the session as it was right after event ``k`` (``tracker.snapshot(at=k)``), with that
    event described in words. The steps are the events recorded when the replay was made.
    """

    def __init__(
        self,
        tracker: Tracker,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        show_sql: bool = True,
        log_length: int = DEFAULT_LOG_LENGTH,
        interval_ms: int = 800,
        start: int | None = None,
    ) -> None:
        self.tracker = tracker
        self.max_tokens = check_max_tokens(max_tokens)
        self.show_sql = check_show_sql(show_sql)
        self.log_length = check_log_length(log_length)
        self.events = tracker.events
        self._seqs = [event.seq for event in self.events]
        first = self._seqs[0] if self._seqs else 0
        last = self._seqs[-1] if self._seqs else 0
        self._step = self._nearest(first if start is None else check_seq(start, "start"))
        self.picture = self.picture_at(self._step)
        widgets = _ipywidgets()
        self._panels: _Panels | None = None
        self.slider: Any = None
        self.play: Any = None
        if widgets is not None:
            self.play = widgets.Play(value=self._step, min=first, max=last, step=1, interval=interval_ms)
            self.play.description = "Play"
            self.slider = widgets.IntSlider(
                value=self._step, min=first, max=last, step=1, description="event", continuous_update=True
            )
            self._link = widgets.jslink((self.play, "value"), (self.slider, "value"))
            controls = widgets.HBox([self.play, self.slider])
            self._panels = _Panels(widgets, extra=[controls])
            if not self._seqs:
                self.play.disabled = self.slider.disabled = True
            self._panels.show(self.picture)
            self.slider.observe(self._on_slider, names="value")

    @property
    def step(self) -> int:
        """The seq number of the event shown (0 when nothing was recorded)."""
        return self._step

    @property
    def steps(self) -> list[int]:
        """Every step: the seq numbers of the recorded events."""
        return list(self._seqs)

    def _nearest(self, seq: int) -> int:
        """The recorded event at ``seq``, or the last one before it (the first if none is)."""
        if not self._seqs:
            return 0
        index = bisect.bisect_right(self._seqs, seq) - 1
        return self._seqs[max(index, 0)]

    def show(self, seq: int) -> None:
        """Show the session right after event ``seq``."""
        check_seq(seq, "show()")
        if self.slider is not None:
            self.slider.value = self._nearest(seq)  # the observer draws it
        else:
            self._go(seq)

    def _on_slider(self, change: dict[str, Any]) -> None:
        self._go(change["new"])

    def _go(self, seq: int) -> None:
        self._step = self._nearest(seq)
        try:
            self.picture = self.picture_at(self._step)
        except Exception as error:  # noqa: BLE001 - a bad step must not break the notebook
            if self._panels is not None:
                note = f"Step {seq} could not be drawn ({type(error).__name__}: {error})."
                self._panels.caption.value = f"{STYLE}<b>{html.escape(note)}</b>"
            return
        if self._panels is not None:
            self._panels.show(self.picture)

    def picture_at(self, seq: int) -> Picture:
        """The picture of the session right after event ``seq``."""
        description = self.tracker.target.description
        if not self._seqs:
            snapshot = Snapshot((), at=0, live=False)
            events: Sequence[Event] = []
            caption = f"sessionkit replay: {description}, nothing recorded yet"
        else:
            index = bisect.bisect_left(self._seqs, seq)
            if index == len(self._seqs) or self._seqs[index] != seq:
                msg = f"the replay has no step {seq!r}; its steps are events {self._seqs[0]} to {self._seqs[-1]}."
                raise EventNotFoundError(msg)
            snapshot = replay(self.events, seq)
            events = self.events[: index + 1]
            caption = (
                f"sessionkit replay: {description}, event {seq} "
                f"(step {index + 1} of {len(self._seqs)}): {events[-1].describe()}"
            )
        return render_picture(
            snapshot,
            events,
            caption=caption,
            max_tokens=self.max_tokens,
            log_length=self.log_length,
            show_sql=self.show_sql,
            current=seq,
        )

    def close(self) -> None:
        """Close the widgets."""
        if self._panels is not None:
            self._link.close()
            self.play.close()
            self.slider.close()
            self._panels.close()
            self._panels = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return _bundle(self._panels, self.picture, include, exclude)

    def __repr__(self) -> str:
        return self.picture.text
