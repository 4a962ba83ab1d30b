"""Tokens: how one object looks in the state diagram (its label, identity, sub-states and highlight)."""

from __future__ import annotations

from typing import Any

from sessionkit.core.events import format_identity
from sessionkit.core.snapshot import ObjectSnapshot, Snapshot
from sessionkit.render.quoting import LABEL_LIMIT, html_text, quoted, token_id

__all__ = ["HIGHLIGHT", "draw_token", "token_label"]

#: The colour of what just moved.
HIGHLIGHT = "#dc2626"

BADGE_COLORS = {
    "dirty": "#b45309",
    "marked for deletion": "#b91c1c",
    "expired": "#4b5563",
    "since collected": "#6b7280",
}


def draw_token(cluster: Any, obj: ObjectSnapshot, focus: set[str], snapshot: Snapshot, fixed: dict[str, str]) -> str:
    """Draw an object's token in ``cluster`` (highlighted if its label is in ``focus``); returns its node id."""
    node = token_id(obj.label)
    badges = snapshot.badges_of(obj)
    attrs = dict(fixed)
    if _shortened(obj):  # the token shows everything else itself
        attrs["tooltip"] = quoted(obj.describe(badges))
    if snapshot.collected_since(obj):
        attrs["style"] = "rounded,dashed,filled"
    if obj.label in focus:
        attrs.update(color=HIGHLIGHT, penwidth="2.5", fillcolor="#fff1f2", **{"class": "recent"})
    cluster.node(node, label=token_label(obj, badges), **attrs)
    return node


def _shortened(obj: ObjectSnapshot) -> bool:
    """Whether the token cuts its label or identity short."""
    identity = "" if obj.identity is None else format_identity(obj.identity)
    return max(len(obj.label), len(identity)) > LABEL_LIMIT


def token_label(obj: ObjectSnapshot, badges: tuple[str, ...]) -> str:
    """The token's HTML-like label: the object's label in bold, its identity and badges in small print."""
    name = html_text(obj.label) or " "  # Graphviz rejects an empty <B></B>
    small = []
    if obj.identity is not None:
        small.append(f"identity {html_text(format_identity(obj.identity))}")
    if badges:
        small.append(" · ".join(f'<FONT COLOR="{BADGE_COLORS[badge]}">{badge}</FONT>' for badge in badges))
    if not small:
        return f"<<B>{name}</B>>"
    return f'<<B>{name}</B><BR/><FONT POINT-SIZE="9">{"<BR/>".join(small)}</FONT>>'
