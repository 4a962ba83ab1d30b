"""Calm frames: laid out by Graphviz, a sequence of pictures keeps its boxes and edges; only moved tokens move."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pygraphviz
import pytest
from sqlalchemy.orm import Session, sessionmaker

import sessionkit
from sessionkit import ObjectSnapshot, ObjectState, Snapshot
from sessionkit.render.diagram import CLUSTERS, StateDiagram, diagram
from sessionkit.render.lanes import MORE, TOKEN_ATTRS, LaneBook, Lanes
from sessionkit.render.quoting import html_text, token_id
from tests.models import Author, Base, Book

T, PE, PS, D, DT = ObjectState


# ---------------------------------------------------------------- a real session, laid out frame by frame
def lesson(Maker: sessionmaker[Session]) -> sessionkit.Tracker:  # noqa: N803
    """Authors and books through every state: add, flush, commit, delete, rollback, expunge, add again."""
    tracker = sessionkit.track(Maker, models=Base)
    with Maker() as session:
        ann, bob, cy = Author(name="Ann"), Author(name="Bob"), Author(name="Cy")
        session.add_all([ann, bob])
        session.flush()
        session.add(cy)
        session.commit()
        session.delete(bob)
        session.flush()
        session.rollback()
        book = Book(title="Notes", author=ann)
        session.add(book)
        session.commit()
        session.delete(cy)
        session.commit()
        session.expunge(ann)
        session.add(ann)
        session.commit()
    return tracker


def layout(picture: StateDiagram) -> dict[str, Any]:
    """Graphviz's layout of a picture: each cluster's box, each hook's label position, each node's centre."""
    graph = pygraphviz.AGraph(string=picture.source)
    graph.layout(prog="dot")
    boxes = {name: _numbers(graph.get_subgraph(name).graph_attr["bb"]) for name in CLUSTERS.values()}
    labels = {
        str(edge.attr["tooltip"]).split(":", 1)[0]: _numbers(edge.attr["lp"])
        for edge in graph.edges()
        if edge.attr["lp"]
    }
    nodes = {str(node): _numbers(node.attr["pos"]) for node in graph.nodes()}
    return {"boxes": boxes, "labels": labels, "nodes": nodes, "size": _numbers(graph.graph_attr["bb"])}


def _numbers(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(","))


def close(a: tuple[float, ...], b: tuple[float, ...], tolerance: float = 1.0) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def frames(tracker: sessionkit.Tracker, lanes: Lanes | None) -> Iterator[tuple[int, Snapshot, dict[str, Any]]]:
    for event in tracker.events:
        snapshot = tracker.snapshot(at=event.seq)
        yield event.seq, snapshot, layout(diagram(snapshot, lanes=lanes))


def test_boxes_edges_and_labels_hold_still_across_every_frame_of_a_replay(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    tracker = lesson(Maker)
    book = LaneBook()
    book.observe_events(tracker.events)
    laid = list(frames(tracker, book.lanes(12)))
    assert len(laid) > 30
    _, _, first = laid[0]
    for seq, _, frame in laid:
        for name, box in first["boxes"].items():
            assert close(frame["boxes"][name], box), f"event {seq}: {name} is {frame['boxes'][name]}, was {box}"
        for hook, where in first["labels"].items():
            assert close(frame["labels"][hook], where), f"event {seq}: the label of {hook} moved"
        assert close(frame["size"], first["size"])


def test_only_the_tokens_that_changed_state_move(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    tracker = lesson(Maker)
    book = LaneBook()
    book.observe_events(tracker.events)
    laid = list(frames(tracker, book.lanes(12)))
    moves = 0
    for (_, before, old), (seq, after, new) in itertools.pairwise(laid):
        was = {obj.label: obj.state for obj in before.objects}
        for obj in after.objects:
            node = token_id(obj.label)
            if obj.label not in was:
                continue
            if was[obj.label] == obj.state:
                assert close(new["nodes"][node], old["nodes"][node]), f"event {seq}: {obj.label} moved but stayed"
            else:
                moves += 1
                assert not close(new["nodes"][node], old["nodes"][node]), f"event {seq}: {obj.label} did not move"
                # Each object has a lane of its own: a move runs straight across, at the same height.
                assert abs(new["nodes"][node][1] - old["nodes"][node][1]) <= 1
    assert moves >= 10


def test_lone_pictures_of_the_same_session_do_not_hold_still(Maker: sessionmaker[Session]) -> None:  # noqa: N803
    # What the comparison above guards against: without shared lanes, each picture packs its own boxes.
    tracker = lesson(Maker)
    boxes = {tuple(frame["boxes"][CLUSTERS[PS]]) for _, _, frame in frames(tracker, None)}
    assert len(boxes) > 1


def test_a_live_view_book_learns_the_tokens_it_draws_and_keeps_their_lanes() -> None:
    book = LaneBook()
    one = Snapshot([ObjectSnapshot("Author 1", PE, last_seq=2)], at=2, live=True)
    two = Snapshot(
        [ObjectSnapshot("Author 1", PS, identity=(1,), last_seq=5), ObjectSnapshot("Author 2", PE, last_seq=6)],
        at=6,
        live=True,
    )
    diagram(one, lanes=book)
    picture = diagram(two, lanes=book)
    assert picture.lanes.rows == {"Author 1": 0, "Author 2": 1}
    assert picture.lanes.slots == 2
    assert picture.lanes.height is not None
    assert picture.lanes.height > 21.6  # room for the identity line


def test_a_live_view_first_drawn_late_gives_lanes_in_order_of_first_sight() -> None:
    # A view first drawn once the objects are in several states (a redraw that comes late, a view
    # made after the work): the rows follow the objects' order, not the order of the boxes.
    book = LaneBook(live=True)
    late = Snapshot(
        [
            ObjectSnapshot("Author 1", PS, identity=(1,), last_seq=5),
            ObjectSnapshot("Book 1", DT, identity=(1,), last_seq=9),
            ObjectSnapshot("Author 2", PE, last_seq=7),
        ],
        at=9,
        live=True,
    )
    picture = diagram(late, lanes=book)
    assert picture.lanes.rows == {"Author 1": 0, "Book 1": 1, "Author 2": 2}


# ---------------------------------------------------------------- seating
def objects(*specs: tuple[str, int]) -> list[ObjectSnapshot]:
    return [ObjectSnapshot(label, PS, last_seq=seq) for label, seq in specs]


def test_each_token_sits_in_its_own_lane_and_empty_slots_stay() -> None:
    lanes = Lanes({"A": 0, "B": 1, "C": 2}, slots=3)
    seats = lanes.seat(objects(("C", 4)), 0)
    assert [seat if seat is None else seat.label for seat in seats] == [None, None, "C"]  # type: ignore[union-attr]


def test_past_max_tokens_the_longest_staying_token_keeps_a_shared_lane_and_more_sits_last() -> None:
    lanes = Lanes({"A": 0, "B": 1, "C": 0}, slots=3, more=True)  # two token slots and "+N more"
    seats = lanes.seat(objects(("C", 9), ("A", 3)), 5)
    assert [getattr(seat, "label", seat) for seat in seats] == ["A", "C", MORE]


def test_more_tokens_than_lanes_foresaw_make_the_box_grow_rather_than_vanish() -> None:
    seats = Lanes({"A": 0}, slots=1).seat(objects(("A", 1), ("B", 2)), 0)
    assert [getattr(seat, "label", seat) for seat in seats] == ["A", "B"]


def test_past_max_tokens_every_box_keeps_a_slot_for_more() -> None:
    book = LaneBook()
    book.observe(Snapshot([ObjectSnapshot(f"Author {i}", PS, last_seq=i) for i in range(1, 6)], at=5, live=False))
    lanes = book.lanes(max_tokens=3)
    assert (lanes.slots, lanes.more) == (4, True)
    assert lanes.rows["Author 4"] == 0


@pytest.mark.parametrize("label", ["W" * 40, "Author 1"])
def test_tokens_are_as_wide_as_the_widest_label_needs(label: str) -> None:
    book = LaneBook()
    book.observe(Snapshot([ObjectSnapshot(label, PS, identity=(1,), last_seq=1)], at=1, live=True))
    lanes = book.lanes(12)
    attrs = " ".join(f'{name}="{value}"' for name, value in TOKEN_ATTRS.items())
    graph = pygraphviz.AGraph(string=f"digraph {{ n [{attrs} label=<<B>{html_text(label)}</B>>] }}")
    graph.layout(prog="dot")
    natural = float(graph.get_node("n").attr["width"]) * 72
    assert lanes.width is not None
    assert natural <= lanes.width <= natural + 5
