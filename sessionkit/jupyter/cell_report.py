"""The report ``%%sessionkit`` shows after running a cell: its events, its SQL, the diagram before and after."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from sessionkit.render.panels import StaticView, log_html, log_lines, render_diagram, sql_groups, sql_html, sql_text

if TYPE_CHECKING:
    from sessionkit.core.tracker import Tracker

__all__ = ["report_cell"]


def report_cell(shell: Any, tracker: Tracker, cell: str, *, max_tokens: int, show_sql: bool) -> StaticView:
    """Run ``cell`` in ``shell`` and report what ``tracker`` recorded while it ran.

    The cell's output and errors show as for any cell, and its result is still recorded as
    the cell's own. The report says how many events the cell caused (and what stopped it, if
    anything did), lists them, shows the SQL of each flush when ``show_sql`` is on, and draws
    the state diagram before and after.
    """
    before = tracker.snapshot()
    _, before_html, before_text = (_as_before_the_cell(part, before.at) for part in render_diagram(before, max_tokens))
    outer = shell.displayhook.exec_result
    try:
        result = shell.run_cell(cell)  # output and errors show as for any cell
    finally:
        shell.displayhook.exec_result = outer  # so this cell's own result is still recorded
    after = tracker.snapshot()
    _, after_html, after_text = render_diagram(after, max_tokens)
    events = [event for event in tracker.events if event.seq > before.at]
    groups = sql_groups(events, limit=None)
    count = f"{len(events)} event{'s' if len(events) != 1 else ''}"
    error = result.error_before_exec or result.error_in_exec
    stopped = f" before it stopped with {type(error).__name__}: {error}" if error is not None else ""
    lines = [f"The cell caused {count}{stopped}.", *log_lines(events)]
    if show_sql:
        lines += ["SQL:", sql_text(groups)]
    lines += ["Before:", before_text, "After:", after_text]
    pictures = "".join(
        f'<div style="flex:1 1 20em;min-width:0"><h4>{title}</h4>{picture}</div>'
        for title, picture in (("Before", before_html), ("After", after_html))
    )
    page = (
        f'<div class="sessionkit-cell"><p><b>{html.escape(lines[0])}</b></p>'
        f'<div style="display:flex;flex-wrap:wrap;gap:1em">{pictures}</div>'
        f"{log_html(events)}{sql_html(groups) if show_sql else ''}</div>"
    )
    return StaticView("\n".join(lines), page)


def _as_before_the_cell(picture: str, at: int) -> str:
    """A picture's caption as the "before" of a cell: drawn before the cell ran, not "now"."""
    moment = f"after event {at} (now)" if at else "before any event (now)"
    meant = f"before this cell ran, as after event {at}" if at else "before this cell ran, when no event had happened"
    return picture.replace(moment, meant, 1)
