"""pandas tables and HTML of a tracked session: events, objects, SQL per flush, the lifecycle itself."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

import sessionkit
from sessionkit import (
    Begin,
    Commit,
    Flush,
    ObjectSnapshot,
    ObjectState,
    Snapshot,
    Statement,
    Transition,
    track,
)
from sessionkit.core.states import HOOKS, STATE_ORDER
from sessionkit.render.tables import (
    EVENT_COLUMNS,
    OBJECT_COLUMNS,
    SQL_COLUMNS,
    flush_writes,
    snapshot_html,
    sql_frame,
)
from tests.models import Author, Book

T, PE, PS, D, DT = STATE_ORDER


# ---------------------------------------------------------------- SQL per flush


def test_each_statement_names_its_flush_and_the_objects_that_flush_wrote(session: Session) -> None:
    tracker = track(session)
    ann, bo = Author(name="Ann"), Author(name="Bo")
    session.add_all([ann, bo])
    session.flush()
    session.scalars(select(Author)).all()
    ann.name = "Anne"
    session.flush()
    session.delete(bo)
    session.commit()

    frame = tracker.sql_frame()
    assert list(frame.columns) == list(SQL_COLUMNS)
    assert str(frame["flush"].dtype) == "Int64"
    flushes = [e.seq for e in tracker.events if isinstance(e, Flush)]
    assert len(flushes) == 3

    inserts = frame[frame["statement"].str.startswith("INSERT")]
    assert len(inserts) >= 1
    assert set(inserts["flush"]) == {flushes[0]}
    assert Counter(inserts.iloc[0]["objects"]) == Counter(["Author 1", "Author 2"])
    assert "Ann" in str(list(inserts["parameters"]))

    selects = frame[frame["statement"].str.startswith("SELECT")]
    assert len(selects) >= 1
    assert selects["flush"].isna().all()
    assert all(objects == () for objects in selects["objects"])

    (update,) = frame[frame["statement"].str.startswith("UPDATE")].itertuples()
    assert update.flush == flushes[1]
    assert update.objects == ()  # an UPDATE fires no lifecycle hook: its objects are not known

    (delete,) = frame[frame["statement"].str.startswith("DELETE")].itertuples()
    assert delete.flush == flushes[2]
    assert delete.objects == ("Author 2",)
    assert delete.session == "session 1"
    assert list(frame["seq"]) == sorted(frame["seq"])


def test_sql_frame_matches_the_statements(session: Session) -> None:
    tracker = track(session)
    session.add(Author(books=[Book(), Book()]))
    session.commit()
    frame = tracker.sql_frame()
    assert list(frame["seq"]) == [s.seq for s in tracker.statements]
    assert list(frame["statement"]) == [s.sql for s in tracker.statements]
    written = frame.dropna(subset=["flush"]).iloc[0]["objects"]
    assert Counter(written) == Counter(["Author 1", "Book 1", "Book 2"])
    assert frame.equals(sql_frame(tracker.events))


def test_an_empty_log_gives_an_empty_frame_with_the_columns(session: Session) -> None:
    frame = track(session).sql_frame()
    assert frame.empty
    assert list(frame.columns) == list(SQL_COLUMNS)


def transition(seq: int, session: str, hook: str, label: str) -> Transition:
    found = HOOKS[hook]
    return Transition(seq, session, hook, found.before, found.after, label)


def test_a_flush_ends_at_the_first_other_event_of_its_session() -> None:
    events = [
        Flush(1, "s1", new=1),
        Begin(2, "s1"),
        Statement(3, "s1", "INSERT", flush=1),
        Transition(4, "s2", "transient_to_pending", T, PE, "Other 1"),  # another session: does not end it
        transition(5, "s1", "pending_to_persistent", "Author 1"),
        Flush(6, "s2", new=1),
        transition(7, "s2", "pending_to_persistent", "Other 1"),
        transition(8, "s1", "persistent_to_deleted", "Author 9"),
        Commit(9, "s1"),
        transition(10, "s1", "pending_to_persistent", "Author 2"),  # after the commit: not this flush's
        Flush(11, "s1"),
        transition(12, "s1", "transient_to_pending", "Author 3"),  # not a flush's hook: ends it
        transition(13, "s1", "pending_to_persistent", "Author 4"),
    ]
    assert flush_writes(events) == {1: ("Author 1", "Author 9"), 6: ("Other 1",), 11: ()}


def test_statements_of_a_flush_whose_flush_event_was_dropped_keep_its_seq() -> None:
    frame = sql_frame([Statement(5, "s1", "INSERT", (1,), flush=2)])
    assert frame.iloc[0]["flush"] == 2
    assert frame.iloc[0]["objects"] == ()


# ---------------------------------------------------------------- the lifecycle itself


def test_lifecycle_table_lists_the_ten_hooks() -> None:
    table = sessionkit.lifecycle_table()
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == ["hook", "from", "to", "caused by"]
    assert list(table["hook"]) == list(HOOKS)
    for row in table.itertuples(index=False):
        hook = HOOKS[str(row.hook)]
        assert row[1] == ("(a row)" if hook.before is None else hook.before.value)
        assert row.to == hook.after.value
        assert row[3] == hook.causes
    loaded = table.set_index("hook").loc["loaded_as_persistent"]
    assert (loaded["from"], loaded["to"]) == ("(a row)", "persistent")
    assert "add" in table.set_index("hook").loc["transient_to_pending", "caused by"]


# ---------------------------------------------------------------- events and objects


def test_events_frame_has_one_row_per_event(session: Session) -> None:
    tracker = track(session)
    session.add(Author())
    session.commit()
    frame = tracker.to_frame()
    assert list(frame.columns) == list(EVENT_COLUMNS)
    assert list(frame["seq"]) == [e.seq for e in tracker.events]
    hooks = frame.dropna(subset=["hook"])
    assert list(hooks["hook"]) == ["transient_to_pending", "pending_to_persistent"]
    assert list(hooks["after"]) == ["pending", "persistent"]


def test_snapshot_frame_has_one_row_per_object(session: Session) -> None:
    tracker = track(session)
    a = Author(name="Ann")
    session.add(a)
    session.flush()
    a.name = "Anne"
    frame = tracker.snapshot().to_frame()
    assert list(frame.columns) == list(OBJECT_COLUMNS)
    row = frame.iloc[0]
    assert (row["object"], row["state"], row["identity"], row["dirty"]) == ("Author 1", "persistent", str(a.id), True)
    assert "name: 'Ann' -> 'Anne'" in row["changes"]


# ---------------------------------------------------------------- HTML


class Tags(HTMLParser):
    """Every start tag and attribute, all the text, and the text of each body cell by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self.rows[-1].append("")

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_body and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def read_html(markup: str) -> Tags:
    parser = Tags()
    parser.feed(markup)
    parser.close()
    return parser


TABLE_TAGS = {"table", "caption", "thead", "tbody", "tr", "th", "td"}


@settings(max_examples=80, deadline=None)
@given(
    labels=st.lists(
        st.one_of(st.text(), st.sampled_from(['<script>alert("x")</script>', "</td></tr>", "&amp;", "'\"", "<b>"])),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    identity=st.one_of(st.none(), st.tuples(st.text())),
)
def test_snapshot_html_escapes_whatever_the_labels_say(labels: list[str], identity: tuple[str] | None) -> None:
    snapshot = Snapshot([ObjectSnapshot(label, PS, identity=identity) for label in labels], at=4, live=True)
    markup = snapshot._repr_html_()
    parsed = read_html(markup)
    assert set(parsed.tags) <= TABLE_TAGS
    assert parsed.attrs in ([], [("colspan", "4")])
    assert [row[:2] for row in parsed.rows] == [[label, "persistent"] for label in labels]
    assert {row[2] for row in parsed.rows} == {"" if identity is None else repr(identity[0])}


def test_snapshot_html_is_deterministic_and_compact(session: Session) -> None:
    tracker = track(session)
    session.add_all([Author() for _ in range(120)])
    snapshot = tracker.snapshot()
    markup = snapshot._repr_html_()
    assert markup == snapshot_html(snapshot)
    assert markup == tracker.snapshot()._repr_html_()
    parsed = read_html(markup)
    assert parsed.tags.count("tr") == 1 + 50 + 1
    text = "".join(parsed.text)
    assert "… and 70 more" in text
    assert "Author 120" in text  # the most recently active are the ones listed
    assert "Author 1<" not in markup
    assert "120 tracked (120 pending)" in text
    assert "id=" not in markup
    assert "style" not in markup


def test_snapshot_html_counts_collected_objects() -> None:
    snapshot = Snapshot(
        [ObjectSnapshot("Author 2", ObjectState.DETACHED, identity=(2,))],
        at=7,
        live=True,
        collected=("Author 1",),
        collected_count=1,
    )
    text = "".join(read_html(snapshot._repr_html_()).text)
    assert "after event 7 (now): 1 tracked (1 detached); 1 collected by Python" in text


@pytest.mark.parametrize("live", [True, False])
def test_snapshot_html_says_now_or_replayed(live: bool) -> None:
    text = "".join(read_html(Snapshot([], at=0, live=live)._repr_html_()).text)
    kind = "now" if live else "replayed"
    assert text == f"Session objects before any event ({kind}): 0 trackedobjectstateidentitysub-states"
