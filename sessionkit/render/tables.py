"""pandas tables of a tracked session: the event log, the objects, the SQL per flush, the lifecycle."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from sessionkit.core.events import Begin, Event, Flush, Statement, Transition, format_identity
from sessionkit.core.states import HOOKS

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pandas import DataFrame

    from sessionkit.core.snapshot import ObjectSnapshot, Snapshot

#: How many objects ``Snapshot._repr_html_`` lists before it says how many more there are.
HTML_ROWS = 50

#: The lifecycle hooks a flush fires for the objects it wrote: INSERTed, then DELETEd.
FLUSH_HOOKS = frozenset({"pending_to_persistent", "persistent_to_deleted"})

SQL_COLUMNS = ("seq", "session", "flush", "statement", "parameters", "executemany", "objects")

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

    frame: DataFrame = pd.DataFrame([event_row(e) for e in events], columns=list(EVENT_COLUMNS))
    return frame


def changes_text(obj: ObjectSnapshot) -> str:
    """An object's pending attribute changes in one line: ``name: 'old' -> 'new'; ...``."""
    return "; ".join(change.text for change in obj.changes)


def most_recent(objects: Sequence[ObjectSnapshot], limit: int) -> list[ObjectSnapshot]:
    """At most ``limit`` objects: the most recently active ones, kept in their original (label) order."""
    if len(objects) <= limit:
        return list(objects)
    order = sorted(range(len(objects)), key=lambda i: (objects[i].last_seq or 0, i))
    return [objects[i] for i in sorted(order[-limit:])]


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
            "changes": changes_text(obj),
        }
        for obj in snapshot
    ]
    frame: DataFrame = pd.DataFrame(rows, columns=list(OBJECT_COLUMNS))
    return frame


def snapshot_html(snapshot: Snapshot, max_rows: int = HTML_ROWS) -> str:
    """A compact, escaped HTML table of the objects (deterministic: no ids, no styles).

    At most ``max_rows`` objects are listed, the most recently active ones in label order;
    a last row counts the rest (``snapshot.to_frame()`` has them all).
    """
    objects = list(snapshot)
    shown = most_recent(objects, max_rows)
    header = "".join(f"<th>{c}</th>" for c in ("object", "state", "identity", "sub-states"))
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(obj.label)}</td><td>{obj.state.value}</td>"
        f"<td>{html.escape(format_identity(obj.identity))}</td>"
        f"<td>{html.escape(', '.join(obj.badges))}</td>"
        "</tr>"
        for obj in shown
    )
    if len(objects) > len(shown):
        more = len(objects) - len(shown)
        rows += f'<tr><td colspan="4">… and {more:,} more (snapshot.to_frame() lists all)</td></tr>'
    moment = f"after event {snapshot.at}" if snapshot.at else "before any event"
    counts = ", ".join(f"{len(members)} {state.value}" for state, members in snapshot.by_state().items() if members)
    caption = f"Session objects {moment} ({'now' if snapshot.live else 'replayed'}): {len(objects):,} tracked"
    if counts:
        caption += f" ({counts})"
    if snapshot.collected_count:
        caption += f"; {snapshot.collected_count:,} collected by Python"
    return (
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
    )


def flush_writes(events: Iterable[Event]) -> dict[int, tuple[str, ...]]:
    """The objects each flush wrote, by the seq of its ``Flush`` event.

    A flush's events follow its ``Flush`` event in its session: its statements (``Statement.flush``
    names it), perhaps the ``Begin`` of the transaction it opened, then the hooks it fired for the
    rows it INSERTed (``pending_to_persistent``) and DELETEd (``persistent_to_deleted``). The first
    other event of that session ends the flush. (An UPDATE fires no hook: its objects are not known.)
    """
    writes: dict[int, list[str]] = {}
    open_flush: dict[str | None, int] = {}
    for event in events:
        if isinstance(event, Flush):
            open_flush[event.session] = event.seq
            writes[event.seq] = []
            continue
        flush = open_flush.get(event.session)
        if flush is None:
            continue
        if isinstance(event, Transition) and event.hook in FLUSH_HOOKS:
            writes[flush].append(event.label)
        elif not (isinstance(event, Begin) or (isinstance(event, Statement) and event.flush == flush)):
            del open_flush[event.session]
    return {flush: tuple(labels) for flush, labels in writes.items()}


def sql_frame(events: Iterable[Event]) -> DataFrame:
    """The SQL the sessions sent, one row per statement: the flush that sent it and the objects that flush wrote.

    ``flush`` is the seq of the ``Flush`` event (missing for SQL outside a flush, such as a
    query's SELECT); ``objects`` are the labels of the objects that flush INSERTed or DELETEd.
    """
    import pandas as pd

    recorded = list(events)
    writes = flush_writes(recorded)
    rows = [
        {
            "seq": event.seq,
            "session": event.session,
            "flush": event.flush,
            "statement": event.sql,
            "parameters": event.parameters,
            "executemany": event.executemany,
            "objects": () if event.flush is None else writes.get(event.flush, ()),
        }
        for event in recorded
        if isinstance(event, Statement)
    ]
    frame: DataFrame = pd.DataFrame(rows, columns=list(SQL_COLUMNS))
    frame["flush"] = frame["flush"].astype("Int64")
    return frame


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
    frame: DataFrame = pd.DataFrame(rows, columns=["hook", "from", "to", "caused by"])
    return frame
