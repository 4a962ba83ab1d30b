"""Lanes: where each token sits in its state's box, so that a sequence of pictures holds still.

Every state's box has the same number of token *slots*, each the same size; a slot with no
token holds an invisible placeholder. Graphviz then lays out every picture of a sequence
(a replay's frames, a live view's redraws, a step's before and after) with the same boxes,
edges and labels, and only the tokens that changed state move.

Across a sequence of up to ``max_tokens`` objects, each object has a lane of its own: the
same row in whichever box it is in, so a token that stays keeps its place and a token that
moves slides straight across. Past ``max_tokens`` objects, lanes are shared (an object's
home row is its lane modulo ``max_tokens``; the longest-staying token keeps a contested
row) and the last slot shows "+N more". A lone picture packs its tokens from the top.

>>> from sessionkit import ObjectSnapshot, ObjectState, Snapshot
>>> book = LaneBook()
>>> book.observe(Snapshot([ObjectSnapshot("Author 1", ObjectState.PENDING, last_seq=2)], at=2, live=False))
>>> book.observe(Snapshot([ObjectSnapshot("Author 2", ObjectState.TRANSIENT, last_seq=3)], at=3, live=False))
>>> lanes = book.lanes(max_tokens=12)
>>> lanes.rows, lanes.slots
({'Author 1': 0, 'Author 2': 1}, 2)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from sessionkit.core.events import format_identity
from sessionkit.core.snapshot import ObjectSnapshot, Snapshot
from sessionkit.render.quoting import html_text
from sessionkit.render.rendering import RenderError, node_sizes

if TYPE_CHECKING:
    from sessionkit.core.events import Event

__all__ = ["MORE", "LaneBook", "Lanes", "Seat"]

#: The seat of the "+N more" token.
MORE: Literal["more"] = "more"
#: What a slot holds: an object's token, the "+N more" token, or nothing (an invisible placeholder).
Seat = ObjectSnapshot | Literal["more"] | None

#: How a token is drawn (the diagram's node defaults): what its size is measured with.
TOKEN_ATTRS = {
    "shape": "box",
    "style": "rounded,filled",
    "fontname": "Helvetica",
    "fontsize": "11",
    "height": "0.3",
    "margin": "0.08,0.03",
}
_MORE_TEXT = "+99,999 more"
_SMALL = '<B>X</B><BR/><FONT POINT-SIZE="9">{}</FONT>'
_LINES = ("<B>X</B>", _SMALL.format("x"), _SMALL.format("x<BR/>x"))


@dataclass(frozen=True)
class Lanes:
    """The token slots of every box: each object's home row, how many slots, and their size.

    ``width`` and ``height`` (points) are ``None`` for a lone picture, whose tokens keep
    their natural size. ``more`` says whether the last slot is kept for "+N more".
    """

    rows: dict[str, int]
    slots: int
    more: bool = False
    width: float | None = None
    height: float | None = None

    @classmethod
    def packed(cls, columns: Iterable[tuple[Sequence[ObjectSnapshot], int]]) -> Lanes:
        """The lanes of a lone picture: each box's tokens from the top, in label order; ``(shown, hidden)`` per box."""
        rows: dict[str, int] = {}
        slots, more = 1, False
        for shown, hidden in columns:
            rows.update((obj.label, row) for row, obj in enumerate(shown))
            slots = max(slots, len(shown) + (1 if hidden else 0))
            more = more or bool(hidden)
        return cls(rows, slots, more=more)

    def seat(self, shown: Sequence[ObjectSnapshot], hidden: int) -> list[Seat]:
        """What each slot of one box holds: every shown token in its home row where it can, "+N more" last."""
        token_slots = self.slots - (1 if self.more else 0)
        seats: list[Seat] = [None] * max(token_slots, 1)
        homeless: list[ObjectSnapshot] = []
        # The token that has stayed longest keeps a contested row; among equals, the first label.
        for obj in sorted(shown, key=_staying):
            row = self.rows.get(obj.label)
            if row is not None and seats[row % len(seats)] is None:
                seats[row % len(seats)] = obj
            else:
                homeless.append(obj)
        for obj in homeless:
            free = next((index for index, seat in enumerate(seats) if seat is None), None)
            if free is None:
                seats.append(obj)  # more tokens than the lanes foresaw: the box grows
            else:
                seats[free] = obj
        if self.more:
            seats.append(MORE if hidden else None)
        elif hidden:
            seats.append(MORE)
        return seats


def _staying(obj: ObjectSnapshot) -> tuple[int, str]:
    return (-1 if obj.last_seq is None else obj.last_seq, obj.label)


@dataclass
class LaneBook:
    """Collects the objects of a sequence of pictures, in order of first sight, and the text their tokens show.

    ``observe()`` a snapshot or ``observe_events()`` a log; ``lanes(max_tokens)`` gives the
    lanes, their tokens measured by Graphviz to fit the widest text seen. A live view keeps
    one book, and each picture it draws teaches it the tokens drawn.
    """

    order: dict[str, int] = field(default_factory=dict)
    lines: int = 1
    #: Pictures of a live session: sub-states (dirty, expired, marked for deletion) come and go with
    #: no event, so every slot has room for a line of them from the start.
    live: bool = False
    #: The token texts seen (HTML-like labels), each with its natural width once measured.
    widths: dict[str, float | None] = field(default_factory=dict)

    def _see(self, label: str, identity: tuple[object, ...] | None, badges: Sequence[str] = ()) -> None:
        if label not in self.order:
            self.order[label] = len(self.order)
        texts = [f"<B>{html_text(label) or ' '}</B>"]
        if identity is not None:
            texts.append(_SMALL.format(f"identity {html_text(format_identity(identity))}"))
        if badges:
            texts.append(_SMALL.format(" · ".join(badges)))
        self.lines = max(self.lines, len(texts))
        for text in texts:
            self.widths.setdefault(text, None)

    def observe(self, snapshot: Snapshot, objects: Iterable[ObjectSnapshot] | None = None) -> None:
        """Note the objects of ``snapshot`` (or just ``objects`` of it): their labels, identities and sub-states."""
        for obj in snapshot.objects if objects is None else objects:
            self._see(obj.label, obj.identity, snapshot.badges_of(obj))

    def observe_events(self, events: Iterable[Event]) -> None:
        """Note every object the log names, with the identities it gives them.

        A replayed object whose Python object is gone shows "since collected": that is noted too.
        """
        for event in events:
            label = getattr(event, "label", None)
            if isinstance(label, str):
                gone = hasattr(event, "after") and getattr(event, "instance", None) is None
                self._see(label, getattr(event, "identity", None), ("since collected",) if gone else ())

    def lanes(self, max_tokens: int) -> Lanes:
        """The lanes for what was observed: a row per object, every slot sized for the largest token seen."""
        count = len(self.order)
        more = count > max_tokens
        slots = max(1, min(count, max_tokens)) + (1 if more else 0)
        rows = {label: index % max_tokens for label, index in self.order.items()}
        if more:
            self.widths.setdefault(_MORE_TEXT, None)
        if self.live:
            self.lines = max(self.lines, 3)
            self.widths.setdefault(_SMALL.format("marked for deletion"), None)
        width, height = self._measure()
        return Lanes(rows, slots, more=more, width=width, height=height)

    def _measure(self) -> tuple[float | None, float | None]:
        """The size of every slot: the widest and tallest token seen (``None``: Graphviz could not measure)."""
        unmeasured = [text for text, width in self.widths.items() if width is None]
        templates = list(_LINES[: min(self.lines, len(_LINES))])
        try:
            sizes = node_sizes(unmeasured + templates, _attributes(TOKEN_ATTRS))
        except RenderError:
            return None, None  # natural sizes: the picture is drawn (or says why it cannot be) all the same
        for text, (width, _) in zip(unmeasured, sizes, strict=False):
            self.widths[text] = width
        widest = max([width for width in self.widths.values() if width is not None] + [sizes[-1][0]])
        tallest = max(height for _, height in sizes[len(unmeasured) :])
        # A token has a pen's width to spare all round (the highlighted one is drawn thicker).
        return round(widest + 4, 1), round(tallest + 2, 1)


def _attributes(attrs: dict[str, str]) -> str:
    return " ".join(f'{name}="{value}"' for name, value in attrs.items())
