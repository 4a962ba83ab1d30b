"""What keeps live views current: a throttle that coalesces redraws, and one feed per tracker.

No widgets here: a feed draws a :class:`~sessionkit.render.panels.Picture` for each view
that subscribes (anything that has the :class:`Viewer` methods), and the view shows it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sessionkit.jupyter.settings import DEFAULT_MAX_REDRAWS_PER_SECOND

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from sessionkit.core.events import Event
    from sessionkit.core.snapshot import Snapshot
    from sessionkit.core.tracker import Tracker
    from sessionkit.render.panels import Picture

Clock = Callable[[], float]
Cancel = Callable[[], object]
Schedule = Callable[[float, Callable[[], None]], Cancel]


def thread_timer(delay: float, action: Callable[[], None]) -> Cancel:
    """Run ``action`` after ``delay`` seconds on a daemon thread; returns a function that cancels it."""
    timer = threading.Timer(delay, action)
    timer.name = "sessionkit-redraw"
    timer.daemon = True
    timer.start()
    return timer.cancel


class Throttle:
    """Coalesces pokes: runs ``action`` at most once per ``interval`` seconds, and always after the last poke.

    A poke only sets a flag and, if nothing is scheduled, schedules one run; so a loop of
    10,000 events costs a handful of runs. The run scheduled after the last poke starts
    after it, so the final state is always drawn. An action that is slow twice running (a
    huge session) is spaced out further, so that it takes at most ``busy_share`` of the time.
    ``clock`` and ``schedule`` are injectable: tests drive them by hand.

    >>> runs = []
    >>> throttle = Throttle(lambda: runs.append(1), 0.1, schedule=lambda delay, run: run)
    >>> for _ in range(1000):
    ...     throttle.poke()
    >>> throttle.flush()
    >>> len(runs)
    1
    """

    busy_share = 0.25

    def __init__(
        self,
        action: Callable[[], None],
        interval: float,
        *,
        clock: Clock = time.monotonic,
        schedule: Schedule = thread_timer,
    ) -> None:
        self.action = action
        self.interval = interval
        self._clock = clock
        self._schedule = schedule
        self._cond = threading.Condition(threading.RLock())
        self._dirty = False
        self._token = 0
        self._cancel: Cancel | None = None
        self._runner: int | None = None
        self._last_start = float("-inf")
        self._closed = False
        #: How long the last run took, in seconds of ``clock``.
        self.cost = 0.0
        self._costs: deque[float] = deque(maxlen=2)
        #: How many times ``action`` has run.
        self.runs = 0
        #: The last error ``action`` raised, if any (it is never re-raised).
        self.error: Exception | None = None

    @property
    def pending(self) -> bool:
        """Whether a poke is waiting for its run."""
        return self._dirty

    def poke(self) -> None:
        """Ask for a run: now if the last one is ``interval`` old, else as soon as it is."""
        if self._dirty and (self._cancel is not None or self._runner is not None):
            # A run is already asked for and will start after this poke (it clears the flag as it
            # starts): nothing to add, and no lock taken, which matters in a loop of events.
            return
        with self._cond:
            if self._closed:
                return
            self._dirty = True
            if self._cancel is None and self._runner is None:
                self._arm()

    def _arm(self) -> None:
        # One slow run (a view's first, which also reads the backlog) does not slow the next ones.
        typical = min(self._costs) if len(self._costs) == self._costs.maxlen else 0.0
        period = max(self.interval, typical / self.busy_share)
        delay = max(0.0, self._last_start + period - self._clock())
        self._token += 1
        token = self._token
        self._cancel = self._schedule(delay, lambda: self._fire(token))

    def _fire(self, token: int) -> None:
        with self._cond:
            if token != self._token:
                return  # cancelled, or overtaken by flush()
            self._cancel = None
            if self._closed or not self._dirty or self._runner is not None:
                return
            self._begin()
        self._run()

    def _begin(self) -> None:
        self._dirty = False
        self._runner = threading.get_ident()
        self._last_start = self._clock()

    def _run(self) -> None:
        try:
            self.action()
        except Exception as error:  # noqa: BLE001 - a redraw must never break the learner's session
            self.error = error
        finally:
            with self._cond:
                self.cost = max(0.0, self._clock() - self._last_start)
                self._costs.append(self.cost)
                self.runs += 1
                self._runner = None
                self._cond.notify_all()
                if self._dirty and self._cancel is None and not self._closed:
                    self._arm()

    def flush(self, timeout: float = 30.0) -> None:
        """Run a pending action now, in this thread (after waiting for one that is running)."""
        with self._cond:
            if self._runner == threading.get_ident():
                return  # called from inside the action
            self._cond.wait_for(lambda: self._runner is None, timeout=timeout)
            if self._closed or not self._dirty or self._runner is not None:
                return
            self._disarm()
            self._begin()
        self._run()

    def _disarm(self) -> None:
        self._token += 1
        cancel, self._cancel = self._cancel, None
        if cancel is not None:
            cancel()

    def close(self) -> None:
        """Cancel what is scheduled and ignore later pokes."""
        with self._cond:
            self._closed = True
            self._dirty = False
            self._disarm()


# ---------------------------------------------------------------------- one feed per tracker
class Viewer(Protocol):
    """What a feed needs of a live view: its settings, a way to draw a picture, and where to show it."""

    max_tokens: int
    log_length: int
    show_sql: bool
    max_redraws_per_second: float

    def render(self, snapshot: Snapshot, events: Sequence[Event]) -> Picture:
        """The picture this view shows of ``snapshot``."""

    def _show(self, picture: Picture) -> None:
        """Show a new picture."""

    def _failed(self, error: Exception) -> None:
        """Say that the picture could not be drawn (keeping the last good one)."""

    def detach(self) -> None:
        """Stop updating."""

    @property
    def displayed(self) -> bool:
        """Whether the view was displayed in a notebook, whose saved output should follow it."""

    def cell_finished(self) -> None:
        """A cell ended: bring the view's saved outputs up to date."""


class Feed:
    """One tracker's subscription, shared by all its live views: one snapshot per redraw, views in sync."""

    def __init__(self, tracker: Tracker, *, clock: Clock, schedule: Schedule, shell: Any) -> None:
        self.tracker = tracker
        self.views: list[Viewer] = []
        self.throttle = Throttle(self.draw, 1 / DEFAULT_MAX_REDRAWS_PER_SECOND, clock=clock, schedule=schedule)
        self._shell = shell
        # watch() builds no events while the session runs: the redraw reads the log in one go.
        self._unsubscribe: Callable[[], None] | None = tracker.watch(self.throttle.poke)
        if shell is not None:
            shell.events.register("post_run_cell", self._after_cell)

    def _after_cell(self, result: object = None) -> None:  # noqa: ARG002
        # A cell can change sub-states (dirty, expired) without any event: look again.
        self.throttle.poke()
        views = [view for view in self.views if view.displayed]
        if views:
            # Displayed views update their saved pictures now, while the cell's output is still open.
            self.throttle.flush()
            for view in views:
                view.cell_finished()

    def attach(self, view: Viewer) -> None:
        """Add a view and draw it (and the others) now."""
        self.views.append(view)
        self.retune()
        self.throttle.poke()
        self.throttle.flush()

    def detach(self, view: Viewer) -> None:
        """Remove a view; the feed closes with its last view."""
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
        """Stop listening to the tracker and the shell."""
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
_FEEDS: dict[Tracker, Feed] = {}


def feed_for(tracker: Tracker, *, clock: Clock | None = None, schedule: Schedule | None = None, shell: Any) -> Feed:
    """The feed of ``tracker``, made on first use (``shell=None``: IPython's current shell, if any)."""
    with _FEEDS_LOCK:
        feed = _FEEDS.get(tracker)
        if feed is None:
            if shell is None:
                shell = _current_shell()
            feed = _FEEDS[tracker] = Feed(
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
