"""Where SQLAlchemy's hooks and an object's real state disagree: the notes a tracker adds.

A hook's name says which state an object moves to; a few paths leave it elsewhere, or move
it with no hook at all. A tracker watches the hooks below and, as each transaction ends,
asks ``disagreement`` whether what they said still holds; ``identity_taken`` it asks as it
reads each ``persistent_to_detached``.
"""

from __future__ import annotations

from sessionkit.core.states import ObjectState

#: Hooks whose promise a tracker checks when the transaction ends (``Tracker._verify``).
WATCHED = ("persistent_to_deleted", "deleted_to_detached", "deleted_to_persistent")


def disagreement(
    hooks: list[str], actual: ObjectState, *, committed: bool, joined_late: bool
) -> tuple[str, ObjectState, ObjectState, str] | None:
    """``(hook, what it implied, the real state, a sentence)`` where one object's hooks misled, else ``None``."""
    last = hooks[-1]
    if last == "deleted_to_detached" and actual is not ObjectState.DETACHED:
        text = (
            "{label} is really {actual}, although SQLAlchemy fired deleted_to_detached: "
            "the rollback undid its INSERT as well as its DELETE."
        )
        return last, ObjectState.DETACHED, actual, text
    if last == "persistent_to_deleted" and actual is ObjectState.DELETED:
        text = (
            "{label} is still deleted after the commit: with expire_on_commit=False "
            "SQLAlchemy neither detaches it nor fires deleted_to_detached."
            if committed
            else "{label} is still deleted after the transaction ended: close() and expunge_all() "
            "do not detach a flushed-deleted object, and no hook fires."
        )
        return last, ObjectState.DETACHED, actual, text
    first_restore = hooks.index("deleted_to_persistent") if "deleted_to_persistent" in hooks else None
    if first_restore is not None and "persistent_to_deleted" not in hooks[:first_restore] and not joined_late:
        text = (
            "{label} was never deleted: delete() only marked it and no flush ran, so it stayed "
            "persistent; SQLAlchemy still fires deleted_to_persistent when the rollback unmarks it."
        )
        return "deleted_to_persistent", ObjectState.DELETED, ObjectState.PERSISTENT, text
    return None


def identity_taken(hook: str, key: object) -> tuple[str, ObjectState, ObjectState, str] | None:
    """The note for a ``persistent_to_detached`` object whose identity ``key`` is gone, else ``None``.

    A detached object keeps its identity; only ``make_transient()`` takes it, right after
    firing ``persistent_to_detached`` (or later, with no hook at all, for a detached object).
    """
    if hook != "persistent_to_detached" or key is not None:
        return None
    text = (
        "{label} is transient, not detached: make_transient() took its identity after "
        "SQLAlchemy fired persistent_to_detached, and no hook fires for that."
    )
    return hook, ObjectState.DETACHED, ObjectState.TRANSIENT, text
