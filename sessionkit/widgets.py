"""The live view and the replay of a tracked session, with static pictures for saved notebooks.

``LiveView`` (``Tracker.view()``) redraws the state diagram, the identity map, the event log
and the SQL of each flush as events arrive; ``ReplayView`` (``Tracker.replay()``) scrubs
through the recorded events. ipywidgets and anywidget are imported only when a view is
built; everything else here (the throttle, the pictures) is plain Python.

The diagram is laid out in the kernel by pygraphviz (the same SVG the static picture
shows) and drawn by a small anywidget that slides each token from its old place to its
new one, so a learner sees what moved.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import html
import re
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sessionkit.events import Event, Flush, Statement, format_identity
from sessionkit.exceptions import EventNotFoundError, setting_error
from sessionkit.snapshot import Snapshot, replay
from sessionkit.statediagram import DEFAULT_MAX_TOKENS, check_max_tokens
from sessionkit.tables import changes_text, most_recent

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from sessionkit.tracker import Tracker

__all__ = [
    "LiveView",
    "Picture",
    "ReplayView",
    "StaticView",
    "Throttle",
    "render_picture",
]

DEFAULT_MAX_REDRAWS_PER_SECOND = 10.0
DEFAULT_LOG_LENGTH = 20
#: The fastest redraw rate a view accepts (a browser cannot show more anyway).
REDRAW_RATE_LIMIT = 60.0
#: Rows of the identity-map table in a view (the most recently active objects).
TABLE_ROWS = 30
#: Flushes whose SQL a view shows (the most recent ones).
SQL_GROUPS = 3
#: Statements shown per flush, and characters of their parameters.
STATEMENTS_PER_GROUP = 20
PARAMETERS_WIDTH = 200

Clock = Callable[[], float]
Cancel = Callable[[], object]
Schedule = Callable[[float, Callable[[], None]], Cancel]


# ---------------------------------------------------------------------- settings
def check_redraw_rate(value: object) -> float:
    """Validate the most redraws per second a live view may make."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= REDRAW_RATE_LIMIT:
        msg = (
            f"max_redraws_per_second must be a number above 0 and at most {REDRAW_RATE_LIMIT:g}, "
            f"but was given {value!r}; 10 is the default."
        )
        raise setting_error(msg, value, (int, float))
    return float(value)


def check_log_length(value: object) -> int:
    """Validate how many recent events a view lists."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"log_length must be a whole number of at least 1 (events listed), but was given {value!r}."
        raise setting_error(msg, value, int)
    return value


def _check_seq(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{what} needs the seq number of an event (a whole number), but was given {value!r}."
        raise setting_error(msg, value, int)
    return value


def check_show_sql(value: object) -> bool:
    """Validate the switch that shows or hides the SQL of each flush."""
    if not isinstance(value, bool):
        msg = f"show_sql must be True or False, but was given {value!r}."
        raise setting_error(msg, value, bool)
    return value


# ---------------------------------------------------------------------- throttle
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


# ---------------------------------------------------------------------- pictures
#: Compact, deterministic styles for the panels (scoped to the view; no ids).
STYLE = (
    "<style>.sessionkit-view table{border-collapse:collapse;font-size:90%}"
    ".sessionkit-view th,.sessionkit-view td{padding:1px 6px;text-align:left;white-space:nowrap;vertical-align:top}"
    ".sessionkit-view h4{margin:4px 0}.sessionkit-view pre{margin:2px 0;white-space:pre-wrap}"
    ".sessionkit-view ol{margin:0;padding-left:3em;line-height:1.4}</style>"
)


@dataclass(frozen=True)
class Picture:
    """One redraw: the diagram as SVG and each panel as escaped HTML, plus a text summary.

    Deterministic: no memory addresses, no random ids, no timestamps.
    """

    caption: str
    svg: str
    diagram_html: str
    objects_html: str
    log_html: str
    sql_html: str
    text: str
    show_sql: bool = True

    def html(self) -> str:
        """The whole picture as one static HTML block (for saved notebooks and nbconvert)."""
        panels = [self.objects_html, self.log_html] + ([self.sql_html] if self.show_sql else [])
        cells = "".join(f'<div style="flex:1 1 18em;min-width:0;overflow-x:auto">{panel}</div>' for panel in panels)
        return (
            f'<div class="sessionkit-view">{STYLE}'
            f'<p class="sessionkit-caption"><b>{html.escape(self.caption)}</b></p>'
            f"{self.diagram_html}"
            f'<div style="display:flex;flex-wrap:wrap;gap:1em">{cells}</div>'
            "</div>"
        )


def inline_svg(svg: str) -> str:
    """The ``<svg>`` element of an SVG document, without its XML prolog, doctype and comments."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    return re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL).strip()


def render_diagram(snapshot: Snapshot, max_tokens: int) -> tuple[str, str, str]:
    """``(svg, html, text)`` of the state diagram; if it cannot be drawn, no SVG and the DOT text with the reason."""
    from sessionkit.statediagram import diagram

    source = ""
    text = snapshot.summary()
    try:
        picture = diagram(snapshot, max_tokens=max_tokens)
        source, text = picture.source, picture.summary()
        svg = picture.svg()
    except Exception as error:  # noqa: BLE001 - the learner sees the reason, never a traceback
        reason = f"The diagram could not be drawn ({type(error).__name__}: {error})."
        shown = f"<pre>{html.escape(source)}</pre>" if source else ""
        return "", f'<div class="sessionkit-diagram"><p>{html.escape(reason)}</p>{shown}</div>', text
    return svg, f'<div class="sessionkit-diagram">{inline_svg(svg)}</div>', text


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def objects_html(snapshot: Snapshot, limit: int = TABLE_ROWS) -> str:
    """The identity map as an escaped HTML table: object, state, identity, session, sub-states, changes."""
    shown = most_recent(snapshot.objects, limit)
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(obj.label)}</td><td>{obj.state.value}</td>"
        f"<td>{html.escape(format_identity(obj.identity))}</td>"
        f"<td>{html.escape(obj.session or '')}</td>"
        f"<td>{html.escape(', '.join(snapshot.badges_of(obj)))}</td>"
        f"<td>{html.escape(_shorten(changes_text(obj), PARAMETERS_WIDTH))}</td>"
        "</tr>"
        for obj in shown
    )
    header = "".join(f"<th>{name}</th>" for name in ("object", "state", "identity", "session", "sub-states", "changes"))
    more = len(snapshot.objects) - len(shown)
    note = f"<p>+{more} more (the {len(shown)} most recently active are shown)</p>" if more else ""
    if not shown:
        return "<h4>Identity map</h4><p>No tracked objects yet.</p>"
    return f"<h4>Identity map</h4><table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>{note}"


def objects_text(snapshot: Snapshot, limit: int = TABLE_ROWS) -> str:
    """The identity map as aligned text lines."""
    shown = most_recent(snapshot.objects, limit)
    if not shown:
        return "No tracked objects yet."
    width = max(len(obj.label) for obj in shown)
    lines = []
    for obj in shown:
        parts = [
            f"{obj.label:<{width}}",
            f"{obj.state.value:<10}",
            format_identity(obj.identity) or "-",
            obj.session or "-",
            ", ".join(snapshot.badges_of(obj)),
            changes_text(obj),
        ]
        lines.append("  ".join(part for part in parts if part).rstrip())
    more = len(snapshot.objects) - len(shown)
    if more:
        lines.append(f"+{more} more")
    return "\n".join(lines)


def log_lines(events: Sequence[Event]) -> list[str]:
    """Each event as ``seq. sentence``."""
    return [f"{event.seq:>5}. {event.describe()}" for event in events]


def log_html(events: Sequence[Event], current: int | None = None) -> str:
    """An ordered list of the events in words; the one numbered ``current`` stands out."""
    if not events:
        return "<h4>Event log</h4><p>No events yet.</p>"
    items = []
    for event in events:
        text = html.escape(event.describe())
        if event.seq == current:
            text = f"<b>{text}</b>"
        items.append(f'<li value="{event.seq}">{text}</li>')
    return f"<h4>Event log</h4><ol>{''.join(items)}</ol>"


@dataclass
class SqlGroup:
    """The statements one flush sent (``flush`` is its event), or statements sent outside a flush."""

    flush_seq: int | None
    flush: Flush | None = None
    statements: list[Statement] = field(default_factory=list)

    @property
    def title(self) -> str:
        """A heading: the flush in words, or where the statements came from."""
        if self.flush is not None:
            return f"Flush (event {self.flush.seq}): {self.flush.describe()}"
        if self.flush_seq is not None:
            return f"Flush (event {self.flush_seq})"
        return "Outside a flush (queries, loads, refreshes)"


def sql_groups(events: Sequence[Event], limit: int | None = SQL_GROUPS) -> list[SqlGroup]:
    """The statements grouped by the flush that sent them, oldest first; only the last ``limit`` groups."""
    groups: list[SqlGroup] = []  # newest first while scanning backwards
    for event in reversed(events):
        if isinstance(event, Statement):
            if not groups or groups[-1].flush_seq != event.flush:
                if limit is not None and len(groups) == limit:
                    break
                groups.append(SqlGroup(event.flush))
            groups[-1].statements.append(event)
        elif isinstance(event, Flush):
            for group in groups:
                if group.flush_seq == event.seq:
                    group.flush = event
    for group in groups:
        group.statements.reverse()
    groups.reverse()
    return groups


def _statement_text(statement: Statement) -> tuple[str, str]:
    parameters = "" if statement.parameters in (None, (), [], {}) else repr(statement.parameters)
    if statement.executemany:
        parameters = f"{parameters} (executemany)"
    return statement.sql.strip(), _shorten(parameters, PARAMETERS_WIDTH)


def sql_html(groups: Sequence[SqlGroup], current: int | None = None) -> str:
    """The SQL of each flush as escaped HTML; the statement numbered ``current`` stands out."""
    if not groups:
        return "<h4>SQL</h4><p>No SQL sent yet.</p>"
    parts = ["<h4>SQL</h4>"]
    for group in groups:
        parts.append(f"<p><i>{html.escape(group.title)}</i></p>")
        shown = group.statements[:STATEMENTS_PER_GROUP]
        for statement in shown:
            sql, parameters = _statement_text(statement)
            params = f"\n-- {html.escape(parameters)}" if parameters else ""
            style = ' style="font-weight:bold"' if statement.seq == current else ""
            parts.append(f"<pre{style}>{html.escape(sql)}{params}</pre>")
        if len(group.statements) > len(shown):
            parts.append(f"<p>+{len(group.statements) - len(shown)} more statements</p>")
    return "".join(parts)


def sql_text(groups: Sequence[SqlGroup]) -> str:
    """The SQL of each flush as plain text."""
    if not groups:
        return "No SQL sent yet."
    lines = []
    for group in groups:
        lines.append(group.title)
        for statement in group.statements[:STATEMENTS_PER_GROUP]:
            sql, parameters = _statement_text(statement)
            lines.extend(f"    {line}" for line in sql.splitlines())
            if parameters:
                lines.append(f"    -- {parameters}")
        if len(group.statements) > STATEMENTS_PER_GROUP:
            lines.append(f"    +{len(group.statements) - STATEMENTS_PER_GROUP} more statements")
    return "\n".join(lines)


def render_picture(
    snapshot: Snapshot,
    events: Sequence[Event],
    *,
    caption: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    log_length: int = DEFAULT_LOG_LENGTH,
    show_sql: bool = True,
    current: int | None = None,
) -> Picture:
    """Draw everything a view shows of ``snapshot``, with ``events`` as the log (oldest first)."""
    svg, diagram_html, text = render_diagram(snapshot, max_tokens)
    return Picture(
        caption=caption,
        svg=svg,
        diagram_html=diagram_html,
        objects_html=objects_html(snapshot),
        log_html=log_html(events[-log_length:], current),
        sql_html=sql_html(sql_groups(events), current) if show_sql else "",
        text=f"{caption}\n{text}",
        show_sql=show_sql,
    )


class StaticView:
    """Text and HTML shown as they are: what the magics print for ``log``, ``sql`` and ``map``."""

    def __init__(self, text: str, html_text: str) -> None:
        self.text = text
        self.html = html_text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html


# ---------------------------------------------------------------------- widgets
_DIAGRAM_ESM = """
const DURATION = 450;

function sanitize(text) {
  if (!text) return null;
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length) return null;
  for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
  for (const el of svg.querySelectorAll("*")) {
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") || (name.endsWith("href") && !attr.value.startsWith("#"))) {
        el.removeAttribute(attr.name);
      }
    }
  }
  return document.importNode(svg, true);
}

function positions(root) {
  const found = new Map();
  for (const node of root.querySelectorAll("g.node")) {
    const title = node.querySelector(":scope > title");
    if (title) found.set(title.textContent, node.getBoundingClientRect());
  }
  return found;
}

function slide(svg, before) {
  const still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  if (still || !before.size) return;
  for (const node of svg.querySelectorAll("g.node")) {
    const title = node.querySelector(":scope > title");
    const old = title ? before.get(title.textContent) : undefined;
    if (!old) {
      node.animate([{ opacity: 0 }, { opacity: 1 }], { duration: DURATION, easing: "ease-out" });
      continue;
    }
    const now = node.getBoundingClientRect();
    const ctm = node.parentNode.getScreenCTM();
    const dx = (old.left - now.left) / (ctm && ctm.a ? ctm.a : 1);
    const dy = (old.top - now.top) / (ctm && ctm.d ? ctm.d : 1);
    if (Math.abs(dx) < 0.5 && Math.abs(dy) < 0.5) continue;
    node.animate(
      [{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "translate(0px, 0px)" }],
      { duration: DURATION, easing: "ease-in-out" },
    );
  }
}

function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "sessionkit-diagram";
  el.appendChild(box);
  const show = (moving) => {
    const before = moving ? positions(box) : new Map();
    const svg = sanitize(model.get("svg"));
    if (svg) box.replaceChildren(svg);
    else box.replaceChildren();
    if (svg) slide(svg, before);
  };
  show(false);
  const onChange = () => show(true);
  model.on("change:svg", onChange);
  return () => model.off("change:svg", onChange);
}

export default { render };
"""

_DIAGRAM_CSS = """
.sessionkit-diagram { overflow-x: auto; text-align: center; }
.sessionkit-diagram svg { max-width: 100%; height: auto; }
"""


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

        _esm = _DIAGRAM_ESM
        _css = _DIAGRAM_CSS
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
        self._step = self._nearest(first if start is None else _check_seq(start, "start"))
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
        _check_seq(seq, "show()")
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
