"""The panels a view shows, drawn from a snapshot and the log: diagram, identity map, event log, SQL.

:func:`render_picture` reads them all at once into a :class:`Picture`, which gives them three
ways: as a :class:`Frame` of plain data (what a widget's JavaScript draws), as escaped HTML
(for saved notebooks and nbconvert) and as plain text (for ``text/plain`` and nbval). All
three are deterministic: no memory addresses, no random ids, no timestamps. The SQL panel's
grouping lives in :mod:`sessionkit.render.sql`; its names are available here too.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from sessionkit.core.events import Event, format_identity
from sessionkit.core.snapshot import Snapshot
from sessionkit.render.diagram import DEFAULT_MAX_TOKENS
from sessionkit.render.lanes import LaneBook, Lanes
from sessionkit.render.sql import (
    PARAMETERS_WIDTH,
    SqlGroup,
    SqlGroupFrame,
    StatementFrame,
    shorten,
    sql_frames_html,
    sql_groups,
    sql_html,
    sql_text,
)
from sessionkit.render.tables import changes_text, most_recent

__all__ = [
    "DEFAULT_LOG_LENGTH",
    "OBJECT_COLUMNS",
    "STYLE",
    "TABLE_ROWS",
    "Diagram",
    "Frame",
    "ObjectsFrame",
    "Picture",
    "SqlGroup",
    "SqlGroupFrame",
    "StatementFrame",
    "StaticView",
    "draw_diagram",
    "inline_svg",
    "log_entries",
    "log_html",
    "log_lines",
    "object_rows",
    "objects_html",
    "objects_text",
    "render_diagram",
    "render_picture",
    "sql_groups",
    "sql_html",
    "sql_text",
]

DEFAULT_LOG_LENGTH = 20
#: Rows of the identity-map table in a view (the most recently active objects).
TABLE_ROWS = 30
#: The identity map's columns.
OBJECT_COLUMNS = ("object", "state", "identity", "session", "sub-states", "changes")

#: Compact, deterministic styles for the panels (scoped to the view; no ids).
STYLE = (
    "<style>.sessionkit-view table{border-collapse:collapse;font-size:90%}"
    ".sessionkit-view th,.sessionkit-view td{padding:1px 6px;text-align:left;white-space:nowrap;vertical-align:top}"
    ".sessionkit-view h4{margin:4px 0}.sessionkit-view pre{margin:2px 0;white-space:pre-wrap}"
    ".sessionkit-view ol{margin:0;padding-left:3em;line-height:1.4}</style>"
)


# ---------------------------------------------------------------------- the frame: what a widget draws
class ObjectsFrame(TypedDict):
    """The identity map: one row of :data:`OBJECT_COLUMNS` texts per object shown, and how many more there are."""

    columns: list[str]
    rows: list[list[str]]
    more: int


class Frame(TypedDict):
    """One picture as plain, JSON-able data: what the view's JavaScript draws with ``textContent``.

    ``svg`` is empty when the diagram could not be drawn; ``problem`` then says why and ``dot``
    holds its DOT text. ``summary`` is the diagram in words (the SVG's accessible label).
    ``current`` is the event a replay shows (``None`` in a live view). ``sql`` is ``None``
    when the SQL is switched off. ``note`` is a message about the view itself, such as a
    failed redraw (empty when all is well).
    """

    caption: str
    current: int | None
    svg: str
    summary: str
    problem: str
    dot: str
    objects: ObjectsFrame
    log: list[tuple[int, str]]
    sql: list[SqlGroupFrame] | None
    note: str


# ---------------------------------------------------------------------- the picture
@dataclass(frozen=True)
class Diagram:
    """The state diagram of one snapshot: its SVG, or (when it cannot be drawn) the reason and the DOT text."""

    svg: str
    summary: str
    problem: str = ""
    dot: str = ""

    @functools.cached_property
    def html(self) -> str:
        """The diagram as an escaped HTML block: the inline SVG, or the reason and the DOT text."""
        if self.svg:
            return f'<div class="sessionkit-diagram">{inline_svg(self.svg)}</div>'
        shown = f"<pre>{html.escape(self.dot)}</pre>" if self.dot else ""
        return f'<div class="sessionkit-diagram"><p>{html.escape(self.problem)}</p>{shown}</div>'


@dataclass(frozen=True)
class Picture:
    """One redraw: the diagram, the identity map, the event log and the SQL of each flush.

    :meth:`frame` gives it as data for a widget, :meth:`html` as one static HTML block and
    ``text`` as a text summary. Deterministic: no memory addresses, no random ids, no timestamps.
    """

    caption: str
    diagram: Diagram
    objects: ObjectsFrame
    log: tuple[tuple[int, str], ...]
    sql: tuple[SqlGroupFrame, ...] | None = None
    current: int | None = None

    @property
    def svg(self) -> str:
        """The diagram as an SVG document (empty when it could not be drawn)."""
        return self.diagram.svg

    @property
    def show_sql(self) -> bool:
        """Whether the picture has the SQL panel."""
        return self.sql is not None

    @property
    def text(self) -> str:
        """The caption and the diagram in words: what ``text/plain`` shows."""
        return f"{self.caption}\n{self.diagram.summary}"

    @property
    def diagram_html(self) -> str:
        """The diagram as escaped HTML."""
        return self.diagram.html

    @functools.cached_property
    def objects_html(self) -> str:
        """The identity map as an escaped HTML table."""
        return _objects_html(self.objects)

    @functools.cached_property
    def log_html(self) -> str:
        """The event log as an escaped HTML list; the current event stands out."""
        return _log_html(self.log, self.current)

    @functools.cached_property
    def sql_html(self) -> str:
        """The SQL of the last flushes as escaped HTML (empty when the SQL is switched off)."""
        return "" if self.sql is None else sql_frames_html(self.sql, self.current)

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

    def frame(self, note: str = "") -> Frame:
        """The picture as plain data for the view's JavaScript (the SVG without its XML prolog)."""
        return {
            "caption": self.caption,
            "current": self.current,
            "svg": inline_svg(self.diagram.svg) if self.diagram.svg else "",
            "summary": self.diagram.summary,
            "problem": self.diagram.problem,
            "dot": self.diagram.dot,
            "objects": self.objects,
            "log": list(self.log),
            "sql": None if self.sql is None else list(self.sql),
            "note": note,
        }


def inline_svg(svg: str) -> str:
    """The ``<svg>`` element of an SVG document, without its XML prolog, doctype and comments."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    return re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL).strip()


def draw_diagram(snapshot: Snapshot, max_tokens: int, lanes: Lanes | LaneBook | None = None) -> Diagram:
    """The state diagram of ``snapshot`` in ``lanes``; if it cannot be drawn, no SVG but the reason and the DOT text."""
    from sessionkit.render.diagram import diagram

    source = ""
    summary = snapshot.summary()
    try:
        picture = diagram(snapshot, max_tokens=max_tokens, lanes=lanes)
        source, summary = picture.source, picture.summary()
        svg = picture.svg()
    except Exception as error:  # noqa: BLE001 - the learner sees the reason, never a traceback
        reason = f"The diagram could not be drawn ({type(error).__name__}: {error})."
        return Diagram("", summary, problem=reason, dot=source)
    return Diagram(svg, summary)


def render_diagram(snapshot: Snapshot, max_tokens: int) -> tuple[str, str, str]:
    """``(svg, html, text)`` of the state diagram; if it cannot be drawn, no SVG and the DOT text with the reason."""
    drawn = draw_diagram(snapshot, max_tokens)
    return drawn.svg, drawn.html, drawn.summary


# ---------------------------------------------------------------------- identity map
def object_rows(snapshot: Snapshot, limit: int = TABLE_ROWS) -> ObjectsFrame:
    """The identity map as rows of text: the ``limit`` most recently active objects, in label order."""
    shown = most_recent(snapshot.objects, limit)
    rows = [
        [
            obj.label,
            obj.state.value,
            format_identity(obj.identity),
            obj.session or "",
            ", ".join(snapshot.badges_of(obj)),
            shorten(changes_text(obj), PARAMETERS_WIDTH),
        ]
        for obj in shown
    ]
    return {"columns": list(OBJECT_COLUMNS), "rows": rows, "more": len(snapshot.objects) - len(shown)}


def _objects_html(objects: ObjectsFrame) -> str:
    if not objects["rows"]:
        return "<h4>Identity map</h4><p>No tracked objects yet.</p>"
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in objects["rows"]
    )
    header = "".join(f"<th>{name}</th>" for name in objects["columns"])
    more = objects["more"]
    note = f"<p>+{more} more (the {len(objects['rows'])} most recently active are shown)</p>" if more else ""
    return f"<h4>Identity map</h4><table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>{note}"


def objects_html(snapshot: Snapshot, limit: int = TABLE_ROWS) -> str:
    """The identity map as an escaped HTML table: object, state, identity, session, sub-states, changes."""
    return _objects_html(object_rows(snapshot, limit))


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


# ---------------------------------------------------------------------- event log
def log_lines(events: Sequence[Event]) -> list[str]:
    """Each event as ``seq. sentence``."""
    return [f"{event.seq:>5}. {event.describe()}" for event in events]


def log_entries(events: Sequence[Event]) -> tuple[tuple[int, str], ...]:
    """Each event as ``(seq, sentence)``."""
    return tuple((event.seq, event.describe()) for event in events)


def _log_html(entries: Sequence[tuple[int, str]], current: int | None) -> str:
    if not entries:
        return "<h4>Event log</h4><p>No events yet.</p>"
    items = []
    for seq, sentence in entries:
        text = html.escape(sentence)
        if seq == current:
            text = f"<b>{text}</b>"
        items.append(f'<li value="{seq}">{text}</li>')
    return f"<h4>Event log</h4><ol>{''.join(items)}</ol>"


def log_html(events: Sequence[Event], current: int | None = None) -> str:
    """An ordered list of the events in words; the one numbered ``current`` stands out."""
    return _log_html(log_entries(events), current)


# ---------------------------------------------------------------------- everything at once
def render_picture(
    snapshot: Snapshot,
    events: Sequence[Event],
    *,
    caption: str,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    log_length: int = DEFAULT_LOG_LENGTH,
    show_sql: bool = True,
    current: int | None = None,
    lanes: Lanes | LaneBook | None = None,
) -> Picture:
    """Draw everything a view shows of ``snapshot``, with ``events`` as the log (oldest first).

    ``lanes`` are the token slots the pictures of one view share (see :mod:`sessionkit.render.lanes`).
    """
    return Picture(
        caption=caption,
        diagram=draw_diagram(snapshot, max_tokens, lanes),
        objects=object_rows(snapshot),
        log=log_entries(events[-log_length:]),
        sql=tuple(group.frame() for group in sql_groups(events)) if show_sql else None,
        current=current,
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
