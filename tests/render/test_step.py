"""tracker.step(): a lesson step in a compact picture, the moves since the last step in red."""

from __future__ import annotations

import pygraphviz
import pytest
from sqlalchemy.orm import Session

import sessionkit
from sessionkit import EventNotFoundError
from sessionkit.render.diagram import CLUSTERS
from sessionkit.render.quoting import token_id
from tests.models import Author


def highlighted(source: str) -> tuple[set[str], set[str]]:
    graph = pygraphviz.AGraph(string=source)
    nodes = {str(node) for node in graph.nodes() if node.attr.get("class") == "recent"}
    hooks = {str(edge.attr["tooltip"]).split(":")[0] for edge in graph.edges() if edge.attr.get("class") == "recent"}
    return nodes, hooks


def test_each_step_shows_the_moves_since_the_last_one(session: Session) -> None:
    tracker = sessionkit.track(session)
    ann, bob = Author(name="Ann"), Author(name="Bob")
    session.add_all([ann, bob])
    first = tracker.step()
    assert highlighted(first.source) == ({token_id("Author 1"), token_id("Author 2")}, {"transient_to_pending"})
    session.flush()
    second = tracker.step()
    assert highlighted(second.source)[1] == {"pending_to_persistent"}
    text = second._repr_mimebundle_()["text/plain"]
    assert "moved       Author 1: pending -> persistent (pending_to_persistent)" in text
    assert "transient_to_pending" not in text
    assert "<svg" in second._repr_mimebundle_()["image/svg+xml"]
    quiet = tracker.step()
    assert highlighted(quiet.source) == (set(), set())
    assert "moved       nothing" in quiet.summary()
    again = tracker.step(since=0)
    assert highlighted(again.source)[1] == {"transient_to_pending", "pending_to_persistent"}


def test_step_pictures_keep_their_boxes_from_step_to_step(session: Session) -> None:
    tracker = sessionkit.track(session)
    people = [Author(name="Ann"), Author(name="Bob")]
    session.add_all(people)
    session.flush()
    tracker.step()  # the lanes now know both objects and their identities
    boxes = []
    for action in (session.commit, lambda: session.delete(people[0]), session.flush, session.commit):
        action()
        graph = pygraphviz.AGraph(string=tracker.step().source)
        graph.layout(prog="dot")
        boxes.append([graph.get_subgraph(name).graph_attr["bb"] for name in CLUSTERS.values()])
    assert all(box == boxes[0] for box in boxes)


def test_since_must_be_an_event_number(session: Session) -> None:
    tracker = sessionkit.track(session)
    with pytest.raises(EventNotFoundError, match="since="):
        tracker.step(since=-1)


def test_a_step_lists_its_moves_object_by_object_whatever_order_sqlalchemy_fired_them(session: Session) -> None:
    tracker = sessionkit.track(session)
    authors = [Author(name=f"Author {number}") for number in range(1, 12)]
    session.add_all(authors)
    session.flush()  # eleven pending_to_persistent hooks, fired in set order
    moved = tracker.step(since=0).moves
    labels = [move.label for move in moved]
    assert labels == [label for number in range(1, 12) for label in [f"Author {number}"] * 2]
    assert [move.hook for move in moved[:2]] == ["transient_to_pending", "pending_to_persistent"]
