"""The panels a view shows, drawn from a snapshot and the log: diagram, identity map, event log, SQL.

Each is drawn as escaped HTML (for saved notebooks and nbconvert) and as plain text (for
``text/plain`` and nbval); :func:`render_picture` draws them all at once. Deterministic: no
memory addresses, no random ids, no timestamps.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sessionkit.core.events import Event, Flush, Statement, format_identity
from sessionkit.core.snapshot import Snapshot
from sessionkit.render.diagram import DEFAULT_MAX_TOKENS
from sessionkit.render.tables import changes_text, most_recent

DEFAULT_LOG_LENGTH = 20
#: Rows of the identity-map table in a view (the most recently active objects).
TABLE_ROWS = 30
#: Flushes whose SQL a view shows (the most recent ones).
SQL_GROUPS = 3
#: Statements shown per flush, and characters of their parameters.
STATEMENTS_PER_GROUP = 20
PARAMETERS_WIDTH = 200

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
    from sessionkit.render.diagram import diagram

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
