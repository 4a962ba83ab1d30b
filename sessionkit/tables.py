"""pandas tables of a tracked session: the event log, the objects, the SQL per flush, the lifecycle."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sessionkit.events import Event, Statement, format_identity
from sessionkit.states import HOOKS

if TYPE_CHECKING:
    from pandas import DataFrame

    from sessionkit.snapshot import Snapshot

EVENT_COLUMNS = ("seq", "kind", "session", "hook", "object", "identity", "before", "after", "detail")
OBJECT_COLUMNS = (
    "object",
    "state",
    "identity",
    "session",
    "dirty",
    "is_modified",
    "marked_for_deletion",
    "expired",
    "expired_attributes",
    "changes",
)


def _state_text(state: Any) -> str | None:
    return None if state is None else str(state)


def event_row(event: Event) -> dict[str, Any]:
    """One event as a row of plain values (states as their names)."""
    identity = getattr(event, "identity", None)
    detail = ""
    if isinstance(event, Statement):
        detail = event.sql
    elif event.kind in ("flush", "begin", "commit", "rollback", "note"):
        detail = event.describe()
    return {
        "seq": event.seq,
        "kind": event.kind,
        "session": event.session,
        "hook": getattr(event, "hook", None),
        "object": getattr(event, "label", None),
        "identity": format_identity(identity) if identity is not None else None,
        "before": _state_text(getattr(event, "expected", getattr(event, "before", None))),
        "after": _state_text(getattr(event, "actual", getattr(event, "after", None))),
        "detail": detail,
    }


def events_frame(events: Iterable[Event]) -> DataFrame:
    """The event log, one row per event."""
    import pandas as pd

    return pd.DataFrame([event_row(e) for e in events], columns=list(EVENT_COLUMNS))


def snapshot_frame(snapshot: Snapshot) -> DataFrame:
    """The tracked objects, one row each, with their real state and sub-states."""
    import pandas as pd

    rows = [
        {
            "object": obj.label,
            "state": obj.state.value,
            "identity": format_identity(obj.identity) if obj.identity is not None else None,
            "session": obj.session,
            "dirty": obj.dirty,
            "is_modified": obj.modified,
            "marked_for_deletion": obj.marked_for_deletion,
            "expired": obj.expired,
            "expired_attributes": ", ".join(obj.expired_attributes),
            "changes": "; ".join(
                f"{c.name}: {', '.join(map(repr, c.deleted)) or '-'} -> {', '.join(map(repr, c.added)) or '-'}"
                for c in obj.changes
            ),
        }
        for obj in snapshot
    ]
    return pd.DataFrame(rows, columns=list(OBJECT_COLUMNS))


def snapshot_html(snapshot: Snapshot) -> str:
    """A compact, escaped HTML table of the objects (deterministic: no ids, no styles)."""
    header = "".join(f"<th>{html.escape(c)}</th>" for c in ("object", "state", "identity", "sub-states"))
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(obj.label)}</td><td>{obj.state.value}</td>"
        f"<td>{html.escape(format_identity(obj.identity))}</td>"
        f"<td>{html.escape(', '.join(obj.badges))}</td>"
        "</tr>"
        for obj in snapshot
    )
    caption = html.escape(snapshot.summary().splitlines()[0])
    return f"<table><caption>{caption}</caption><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"


def lifecycle_table() -> DataFrame:
    """SQLAlchemy's ten lifecycle hooks: hook, from, to, and the Session calls that cause it."""
    import pandas as pd

    rows = [
        {
            "hook": hook.name,
            "from": "(a row)" if hook.before is None else hook.before.value,
            "to": hook.after.value,
            "caused by": hook.causes,
        }
        for hook in HOOKS.values()
    ]
    return pd.DataFrame(rows, columns=["hook", "from", "to", "caused by"])
