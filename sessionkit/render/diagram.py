"""The state diagram: the five states as graphviz clusters, and every tracked object a token in one.

``diagram(snapshot)`` builds the picture as DOT text with the ``graphviz`` package: which
tokens each state shows, their labels and the highlighted move. ``StateDiagram`` shows it
in Jupyter as SVG that pygraphviz renders in-process (``sessionkit.render.rendering``).

>>> from sessionkit import ObjectSnapshot, ObjectState, Snapshot
>>> snapshot = Snapshot([ObjectSnapshot("Author 1", ObjectState.PENDING, last_seq=2)], at=2, live=False)
>>> picture = diagram(snapshot)
>>> print(picture.summary())
State diagram after event 2 (replayed): 1 tracked
  transient   -
  pending     Author 1
  persistent  -
  deleted     -
  detached    -
>>> "subgraph cluster_pending" in picture.source
True
"""

from __future__ import annotations

from itertools import compress, repeat
from operator import attrgetter, ge
from typing import TYPE_CHECKING, Any

from sessionkit.core.exceptions import setting_error
from sessionkit.core.snapshot import ObjectSnapshot, Snapshot
from sessionkit.core.states import HOOKS, STATE_ORDER, ObjectState
from sessionkit.render.lanes import MORE, TOKEN_ATTRS, LaneBook, Lanes
from sessionkit.render.quoting import TOOLTIP_LIMIT, clean, html_text, token_id
from sessionkit.render.rendering import SAVE_FORMATS, Renderable, RenderError, render
from sessionkit.render.tokens import HIGHLIGHT as _HIGHLIGHT
from sessionkit.render.tokens import draw_token

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sessionkit.core.events import Transition

# SAVE_FORMATS, RenderError, render and token_id are the rendering's and the quoting's, importable from here too.
__all__ = [
    "CLUSTERS",
    "DEFAULT_MAX_TOKENS",
    "EDGE_LABELS",
    "SAVE_FORMATS",
    "RenderError",
    "StateDiagram",
    "diagram",
    "render",
    "token_id",
]

#: How many tokens a state shows before the rest become one "+N more" token.
DEFAULT_MAX_TOKENS = 12

#: The graphviz cluster that draws each state, in the order an object travels through them.
CLUSTERS: dict[ObjectState, str] = {state: f"cluster_{state.value}" for state in STATE_ORDER}

#: The Session calls written on the edge of each lifecycle hook.
EDGE_LABELS: dict[str, str] = {
    "transient_to_pending": "add / add_all",
    "pending_to_persistent": "flush",
    "loaded_as_persistent": "query load / merge",
    "persistent_to_deleted": "delete + flush",
    "deleted_to_detached": "commit",
    "persistent_to_detached": "expunge / close",
    "detached_to_persistent": "add of a detached object",
    "pending_to_transient": "rollback / expunge",
    "persistent_to_transient": "rollback",
    "deleted_to_persistent": "rollback",
}

#: What each state means, written under its name.
STATE_NOTES: dict[ObjectState, str] = {
    ObjectState.TRANSIENT: "no session,\nno identity",
    ObjectState.PENDING: "in session.new:\nINSERT at the next flush",
    ObjectState.PERSISTENT: "in the identity map:\nhas a row",
    ObjectState.DELETED: "DELETE flushed,\nnot yet committed",
    ObjectState.DETACHED: "has an identity,\nno session",
}

_FILL = {
    ObjectState.TRANSIENT: "#f3f4f6",
    ObjectState.PENDING: "#fef3c7",
    ObjectState.PERSISTENT: "#dcfce7",
    ObjectState.DELETED: "#fee2e2",
    ObjectState.DETACHED: "#dbeafe",
}
#: Longest last move a caption shows: the caption stays narrower than the five boxes.
_CAPTION_MOVE = 100
_ARROW = "\u2192"
_GREY = "#6b7280"

#: Hooks whose edges run forward, one state to the next: they alone rank the states, left to right.
_FORWARD = frozenset({"transient_to_pending", "pending_to_persistent", "persistent_to_deleted", "deleted_to_detached"})


def _anchor(state: ObjectState) -> str:
    """The DOT node id of a state's note, which the edges between states start and end at."""
    return f"state_{state.value}"


# ---------------------------------------------------------------------- which tokens to draw


_LABEL = attrgetter("label")

#: Roughly how many last-seq values a column samples to bound its threshold before the exact pass.
_SAMPLE = 1024


class _Column:
    """The tokens one state shows: its most recently active objects (and the focus), in label order.

    Built for 100,000 objects: apart from one grouping loop, the work per object is done by C
    loops (``compress``, slicing, ``sorted``), and only a few candidates are ranked exactly.
    """

    __slots__ = ("hidden", "shown", "state", "total")

    def __init__(
        self,
        state: ObjectState,
        members: list[ObjectSnapshot],
        seqs: list[int | None],
        max_tokens: int,
        focus: str | None,
    ) -> None:
        self.state = state
        self.total = total = len(members)
        self.shown = members
        if total > max_tokens:
            ranks: list[int] = [-1 if seq is None else seq for seq in seqs] if None in seqs else seqs  # type: ignore[assignment]
            # The k-th largest of any subset is no larger than the k-th largest of all: a safe lower bound.
            head = total - max_tokens
            sample = ranks[: head : max(1, head // _SAMPLE)] + ranks[head:]
            bound = sorted(sample)[-max_tokens]
            candidates = list(compress(range(total), map(ge, ranks, repeat(bound))))
            candidates.sort(key=ranks.__getitem__)  # stable: among equal seqs, the later label wins
            chosen = candidates[-max_tokens:]
            if focus is not None and all(members[index].label != focus for index in chosen):
                labels = list(map(_LABEL, members))
                if focus in labels:
                    chosen[0] = labels.index(focus)
            self.shown = [members[index] for index in sorted(chosen)]
        self.hidden = total - len(self.shown)


def _columns(snapshot: Snapshot, max_tokens: int, focus: str | None) -> list[_Column]:
    """One column per state, in travel order."""
    groups: dict[str, tuple[list[ObjectSnapshot], list[int | None]]] = {s.value: ([], []) for s in STATE_ORDER}
    for obj in snapshot.objects:
        members, seqs = groups[obj.state._value_]  # the plain value: hashing an Enum member costs a Python call
        members.append(obj)
        seqs.append(obj.last_seq)
    return [_Column(state, *groups[state.value], max_tokens, focus) for state in STATE_ORDER]


# ---------------------------------------------------------------------- the picture


class StateDiagram(Renderable):
    """The picture of a snapshot: states as clusters, objects as tokens, the latest move in red.

    ``source`` is the DOT text, ``digraph`` the ``graphviz.Digraph`` behind it; in Jupyter it
    shows as SVG (rendered in-process by pygraphviz, see ``Renderable``) with a text summary beside it.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        highlight: bool = True,
        lanes: Lanes | LaneBook | None = None,
        moves: Sequence[Transition] | None = None,
        compact: bool = False,
    ) -> None:
        self.snapshot = snapshot
        self.max_tokens = max_tokens
        self.highlight = highlight
        self.compact = compact
        last = snapshot.last_transition if highlight else None
        #: The moves drawn in red: the last one, or every move of a step (``moves``).
        self.moves: tuple[Transition, ...] = tuple(moves) if moves is not None else (() if last is None else (last,))
        self._focus = last
        self._columns = _columns(snapshot, max_tokens, None if last is None else last.label)
        if isinstance(lanes, LaneBook):  # a live view's book: it learns the tokens drawn now, in order of first sight
            shown = {obj.label for column in self._columns for obj in column.shown}
            lanes.observe(snapshot, (obj for obj in snapshot.objects if obj.label in shown))
            lanes = lanes.lanes(max_tokens)
        #: Where each token sits: the slots a sequence of pictures shares (a lone picture packs its own).
        self.lanes = lanes or Lanes.packed((column.shown, column.hidden) for column in self._columns)
        self.digraph: Any = _build(self, last)

    @property
    def source(self) -> str:
        """The DOT text of the picture."""
        return str(self.digraph.source)

    @property
    def highlighted(self) -> Transition | None:
        """The transition the picture highlights: the most recent one, if any (and highlighting is on)."""
        return self._focus

    def summary(self) -> str:
        """A deterministic text picture: the objects each state shows, by label, and what just moved."""
        snapshot = self.snapshot
        moment = f"after event {snapshot.at}" if snapshot.at else "before any event"
        kind = "now" if snapshot.live else "replayed"
        lines = [f"State diagram {moment} ({kind}): {len(snapshot.objects):,} tracked"]
        for column in self._columns:
            names = [clean(obj.describe(), TOOLTIP_LIMIT) for obj in column.shown]
            if column.hidden:
                names.append(f"+{column.hidden:,} more ({column.total:,} in all)")
            lines.append(f"  {column.state.value:<11} {', '.join(names) or '-'}")
        if self.compact or self.moves != ((self._focus,) if self._focus else ()):
            moved = [clean(_move(move), TOOLTIP_LIMIT) for move in self.moves] or ["nothing"]
            lines.extend(f"  moved       {move}" for move in moved)
        elif self._focus is not None:
            lines.append(f"  last move   {clean(_move(self._focus), TOOLTIP_LIMIT)}")
        if snapshot.collected_count:
            recent = ", ".join(clean(label) for label in snapshot.collected[-3:])
            lines.append(f"  collected   {snapshot.collected_count:,} by Python (latest: {recent})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def diagram(
    snapshot: Snapshot,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    highlight: bool = True,
    lanes: Lanes | LaneBook | None = None,
) -> StateDiagram:
    """The state diagram of a snapshot (``tracker.diagram(at=...)`` draws one from a tracker).

    ``max_tokens`` caps the tokens a state shows (the most recently active ones; the rest
    become a "+N more" token); ``highlight`` marks the most recent transition in red.
    ``lanes`` (see :mod:`sessionkit.render.lanes`) are the token slots a sequence of pictures
    shares, so that its boxes, edges and resting tokens hold still from one to the next; a
    :class:`~sessionkit.render.lanes.LaneBook` instead learns each picture's tokens as they are drawn.
    """
    if not isinstance(snapshot, Snapshot):
        hint = " (use tracker.diagram(), or diagram(tracker.snapshot()))" if hasattr(snapshot, "snapshot") else ""  # type: ignore[unreachable]
        msg = f"diagram() needs a Snapshot, but was given {snapshot!r}{hint}."
        raise TypeError(msg)
    return StateDiagram(snapshot, max_tokens=check_max_tokens(max_tokens), highlight=bool(highlight), lanes=lanes)


def check_max_tokens(value: object) -> int:
    """Validate the number of tokens a state box shows before "+N more"."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"max_tokens must be a whole number of at least 1 (tokens drawn per state), but was given {value!r}."
        raise setting_error(msg, value, int)
    return value


def _move(transition: Transition, arrow: str = "->") -> str:
    before = "a row" if transition.before is None else transition.before.value
    return f"{transition.label}: {before} {arrow} {transition.after.value} ({transition.hook})"


def _build(picture: StateDiagram, last: Transition | None) -> Any:
    """The graphviz Digraph: one cluster per state (in travel order), tokens inside, hooks as edges."""
    import graphviz

    snapshot, compact = picture.snapshot, picture.compact
    dot = graphviz.Digraph(
        "sessionkit",
        graph_attr={
            "rankdir": "LR",
            "compound": "true",
            "newrank": "true",
            "fontname": "Helvetica",
            "fontsize": "10",
            "fontcolor": _GREY,
            "nodesep": "0.08" if compact else "0.12",
            "ranksep": "0.25" if compact else "0.4",
            "labelloc": "b",
        },
        node_attr={**TOKEN_ATTRS, "fillcolor": "white"},
        edge_attr={
            "fontname": "Helvetica",
            "fontsize": "9",
            "color": _GREY,
            "fontcolor": "#374151",
            "arrowsize": "0.7",
        },
    )
    moment = f"after event {snapshot.at}" if snapshot.at else "before any event"
    caption = f"{moment} ({'now' if snapshot.live else 'replayed'}) · {len(snapshot.objects):,} tracked"
    # Always two lines, each narrower than the boxes: a caption that changed the picture's size would move them.
    move = "no move yet" if last is None else f"last move: {html_text(_move(last, _ARROW), _CAPTION_MOVE)}"
    if compact:
        moved = "; ".join(_move(move, _ARROW).rsplit(" (", 1)[0] for move in picture.moves)
        move = f"moved: {html_text(moved, _CAPTION_MOVE)}" if moved else "nothing moved"
    dot.attr(label=f"<{caption}<BR/>{move}>")
    focus = {move.label for move in picture.moves}
    for column in picture._columns:  # noqa: SLF001 - the picture's own parts
        _draw_column(dot, column, focus, snapshot, picture.lanes, compact=compact)
    rows = "rows" if compact else "database rows"
    hooks = {move.hook for move in picture.moves}
    hidden = {"style": "invis"} if compact and "loaded_as_persistent" not in hooks else {}
    dot.node("database", label=rows, shape="cylinder", fillcolor="#f3f4f6", fontsize="10", color=_GREY, **hidden)
    for name, hook in HOOKS.items():
        tail = "database" if hook.before is None else _anchor(hook.before)
        attrs = {
            "label": EDGE_LABELS[name],
            "lhead": CLUSTERS[hook.after],
            "tooltip": f"{name}: {hook.causes}",
        }
        if hook.before is not None:
            attrs["ltail"] = CLUSTERS[hook.before]
        if name in _FORWARD:
            attrs["weight"] = "10"  # the states stand in one straight row, in travel order
        else:
            attrs["constraint"] = "false"
        if compact and name not in hooks:
            # A step shows the way forward and the arrows its objects took; the other labels keep their room.
            attrs.update(fontcolor="transparent", color="#d1d5db", **({} if name in _FORWARD else {"style": "invis"}))
        if name in hooks:
            attrs.update(color=_HIGHLIGHT, fontcolor=_HIGHLIGHT, penwidth="2.5", **{"class": "recent"})
        dot.edge(tail, _anchor(hook.after), **attrs)
    if snapshot.collected_count:
        recent = ", ".join(html_text(label) for label in reversed(snapshot.collected[-3:]))
        latest = f'<BR/><FONT POINT-SIZE="9">latest: {recent}</FONT>' if recent else ""
        dot.node(
            "collected",
            label=f"<collected by Python: {snapshot.collected_count:,}{latest}>",
            shape="note",
            style="filled",
            fillcolor="white",
            color=_GREY,
            fontcolor=_GREY,
            fontsize="10",
        )
        dot.edge(_anchor(ObjectState.DETACHED), "collected", style="invis")
    return dot


def _draw_column(
    dot: Any, column: _Column, focus: set[str], snapshot: Snapshot, lanes: Lanes, *, compact: bool = False
) -> None:
    state = column.state
    fixed: dict[str, str] = {}
    if lanes.width is not None and lanes.height is not None:
        fixed = {"fixedsize": "true", "width": f"{lanes.width / 72:.3f}", "height": f"{lanes.height / 72:.3f}"}
    with dot.subgraph(name=CLUSTERS[state]) as cluster:
        cluster.attr(
            label=state.value,
            labelloc="t",
            style="rounded,filled",
            fillcolor=_FILL[state],
            color="#9ca3af",
            fontsize="13",
            fontcolor="#111827",
        )
        ids = [_anchor(state)]
        note = {"label": "", "width": "0.1", "height": "0.1"} if compact else {"label": STATE_NOTES[state]}
        cluster.node(ids[0], shape="plaintext", style="", fontsize="9", fontcolor=_GREY, **note)
        for slot, seat in enumerate(lanes.seat(column.shown, column.hidden)):
            if seat is None:  # an empty slot keeps the box its size
                ids.append(f"slot_{state.value}_{slot}")
                cluster.node(ids[-1], label="", style="invis", **(fixed or {"width": "0.1"}))
            elif seat == MORE:
                ids.append(f"more_{state.value}")
                cluster.node(
                    ids[-1],
                    label=f"+{column.hidden:,} more",
                    style="rounded,dashed",
                    fontcolor=_GREY,
                    tooltip=f"{column.hidden:,} less recently active {state.value} objects are not drawn",
                    **fixed,
                )
            else:
                ids.append(draw_token(cluster, seat, focus, snapshot, fixed))
        # Pin the column: every slot on the state's rank, stacked top to bottom in lane order.
        chain = " -> ".join(reversed(ids))
        cluster.body.append(f"\t{{rank=same; edge [style=invis]; {chain}}}\n")
