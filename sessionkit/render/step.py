"""A lesson's step in one compact picture: the five boxes now, with every move since the last step in red.

``tracker.step()`` draws it (see :class:`sessionkit.render.mixins.TrackerPictures`). The
pictures of one tracker's steps share their lanes, so from one step to the next the boxes
keep their size and every object its row: a reader scrolling down a lesson sees only the
moved tokens change place.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sessionkit.core.events import Transition
from sessionkit.core.exceptions import EventNotFoundError
from sessionkit.render.diagram import DEFAULT_MAX_TOKENS, StateDiagram, check_max_tokens
from sessionkit.render.lanes import LaneBook

if TYPE_CHECKING:
    from sessionkit.render.mixins import Recorded

__all__ = ["step_picture"]


@dataclass
class _Steps:
    """What one tracker's steps share: the last event a step showed, and the lanes."""

    seen: int = 0
    book: LaneBook = field(default_factory=lambda: LaneBook(live=True))


_STEPS: weakref.WeakKeyDictionary[Recorded, _Steps] = weakref.WeakKeyDictionary()


def _by_object(move: Transition) -> list[str | int]:
    """Sort key: the object's label in natural order ("Author 2" before "Author 10").

    SQLAlchemy fires the hooks of one flush, commit or rollback in set order, so the moves of a
    step are listed object by object (a stable sort keeps each object's own moves in order):
    the same step always reads the same.
    """
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", move.label)]


def step_picture(tracker: Recorded, since: int | None = None, *, max_tokens: int = DEFAULT_MAX_TOKENS) -> StateDiagram:
    """The session now, compact, with the moves after event ``since`` (default: since the last step) in red."""
    if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
        msg = f"since= needs the seq number of an event (0 for the start), but was given {since!r}."
        raise EventNotFoundError(msg)
    steps = _STEPS.setdefault(tracker, _Steps())
    events = tracker.events
    start = steps.seen if since is None else since
    moves = sorted((event for event in events if isinstance(event, Transition) and event.seq > start), key=_by_object)
    steps.seen = events[-1].seq if events else 0
    return StateDiagram(
        tracker.snapshot(), max_tokens=check_max_tokens(max_tokens), lanes=steps.book, moves=moves, compact=True
    )
