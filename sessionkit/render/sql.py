"""The SQL a tracked session sent, grouped by the flush that sent it: as data, escaped HTML and text."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from sessionkit.core.events import Event, Flush, Statement

#: Flushes whose SQL a view shows (the most recent ones).
SQL_GROUPS = 3
#: Statements shown per flush, and characters of their parameters.
STATEMENTS_PER_GROUP = 20
PARAMETERS_WIDTH = 200


def shorten(text: str, width: int) -> str:
    """``text``, cut to ``width`` characters with an ellipsis if it is longer."""
    return text if len(text) <= width else text[: width - 1] + "…"


class StatementFrame(TypedDict):
    """One statement: its event number, its SQL and its parameters as text."""

    seq: int
    sql: str
    parameters: str


class SqlGroupFrame(TypedDict):
    """The statements one flush sent (or that were sent outside a flush), and how many more it sent."""

    title: str
    statements: list[StatementFrame]
    more: int


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

    def frame(self) -> SqlGroupFrame:
        """The group as text: its title, its first :data:`STATEMENTS_PER_GROUP` statements, how many more."""
        shown = self.statements[:STATEMENTS_PER_GROUP]
        statements: list[StatementFrame] = []
        for statement in shown:
            sql, parameters = _statement_text(statement)
            statements.append({"seq": statement.seq, "sql": sql, "parameters": parameters})
        return {"title": self.title, "statements": statements, "more": len(self.statements) - len(shown)}


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
    return statement.sql.strip(), shorten(parameters, PARAMETERS_WIDTH)


def sql_frames_html(groups: Sequence[SqlGroupFrame], current: int | None = None) -> str:
    """The SQL of each group, given as data, as escaped HTML; the statement numbered ``current`` stands out."""
    if not groups:
        return "<h4>SQL</h4><p>No SQL sent yet.</p>"
    parts = ["<h4>SQL</h4>"]
    for group in groups:
        parts.append(f"<p><i>{html.escape(group['title'])}</i></p>")
        for statement in group["statements"]:
            parameters = statement["parameters"]
            params = f"\n-- {html.escape(parameters)}" if parameters else ""
            style = ' style="font-weight:bold"' if statement["seq"] == current else ""
            parts.append(f"<pre{style}>{html.escape(statement['sql'])}{params}</pre>")
        if group["more"]:
            parts.append(f"<p>+{group['more']} more statements</p>")
    return "".join(parts)


def sql_html(groups: Sequence[SqlGroup], current: int | None = None) -> str:
    """The SQL of each flush as escaped HTML; the statement numbered ``current`` stands out."""
    return sql_frames_html([group.frame() for group in groups], current)


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
