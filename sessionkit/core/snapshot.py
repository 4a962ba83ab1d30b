"""What the tracked session looks like: now (real states) or at a past event (from the log)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sessionkit.core.events import Event, Note, Transition, format_identity
from sessionkit.core.exceptions import EventNotFoundError
from sessionkit.core.states import (
    ATTACHED_STATES,
    KEYED_STATES,
    STATE_ORDER,
    ObjectState,
    session_of,
    state_of_instance_state,
)

#: `` at 0x7f...`` in a default repr: different on every run, so never shown.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

if TYPE_CHECKING:
    import weakref

    from sessionkit.core.labels import Labels


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """A pending change to one attribute: what was set (``added``) and what it replaced (``deleted``)."""

    name: str
    added: tuple[Any, ...]
    deleted: tuple[Any, ...]
    #: ``name: old -> new``, with tracked objects by their labels and never a memory address
    text: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class ObjectSnapshot:
    """One tracked object: its state, identity and sub-states (``None`` where a replay cannot know)."""

    label: str
    state: ObjectState
    identity: tuple[Any, ...] | None = None
    session: str | None = None
    dirty: bool | None = None
    modified: bool | None = None
    marked_for_deletion: bool | None = None
    expired: bool | None = None
    expired_attributes: tuple[str, ...] = ()
    changes: tuple[AttributeChange, ...] = ()
    last_seq: int | None = None
    _ref: weakref.ref[Any] | None = field(default=None, repr=False, compare=False)

    @property
    def instance(self) -> Any:
        """The object while it is alive, else ``None``."""
        return None if self._ref is None else self._ref()

    @property
    def badges(self) -> tuple[str, ...]:
        """The sub-states that hold, in words: ``dirty``, ``marked for deletion``, ``expired``."""
        flags = (
            (self.dirty, "dirty"),
            (self.marked_for_deletion, "marked for deletion"),
            (self.expired, "expired"),
        )
        return tuple(name for flag, name in flags if flag)

    def describe(self, badges: tuple[str, ...] | None = None) -> str:
        """One line: label, identity and badges (its own, unless others are given)."""
        identity = f" ({format_identity(self.identity)})" if self.identity is not None else ""
        shown = self.badges if badges is None else badges
        listed = f" [{', '.join(shown)}]" if shown else ""
        return f"{self.label}{identity}{listed}"


class Snapshot:
    """The tracked objects at one moment, in label order, with the transition that led there."""

    def __init__(
        self,
        objects: Iterable[ObjectSnapshot],
        *,
        at: int,
        live: bool,
        last_transition: Transition | None = None,
        collected: tuple[str, ...] = (),
        collected_count: int = 0,
    ) -> None:
        self.objects = tuple(objects)
        self.at = at
        self.live = live
        self.last_transition = last_transition
        self.collected = collected
        self.collected_count = collected_count

    def __iter__(self) -> Iterator[ObjectSnapshot]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def __getitem__(self, label: str) -> ObjectSnapshot:
        for obj in self.objects:
            if obj.label == label:
                return obj
        known = ", ".join(o.label for o in self.objects[:10]) or "none"
        msg = f"no tracked object is labelled {label!r}; known labels include: {known}."
        raise KeyError(msg)

    def collected_since(self, obj: ObjectSnapshot) -> bool:
        """Whether a replayed object has since been collected by Python (its state is then history)."""
        return not self.live and obj.instance is None

    def badges_of(self, obj: ObjectSnapshot) -> tuple[str, ...]:
        """``obj.badges``, and ``since collected`` for a replayed object Python has collected since."""
        return (*obj.badges, "since collected") if self.collected_since(obj) else obj.badges

    def by_state(self) -> dict[ObjectState, list[ObjectSnapshot]]:
        """The objects grouped by state, every state present, in travel order."""
        groups: dict[ObjectState, list[ObjectSnapshot]] = {state: [] for state in STATE_ORDER}
        for obj in self.objects:
            groups[obj.state].append(obj)
        return groups

    def summary(self) -> str:
        """A deterministic text picture: the objects in each state, by label."""
        moment = f"after event {self.at}" if self.at else "before any event"
        kind = "now" if self.live else "replayed"
        lines = [f"Session objects {moment} ({kind}): {len(self.objects)} tracked"]
        for state, members in self.by_state().items():
            names = ", ".join(obj.describe(self.badges_of(obj)) for obj in members) or "-"
            lines.append(f"  {state.value:<11} {names}")
        if self.collected_count:
            lines.append(f"  collected   {self.collected_count} (garbage-collected by Python)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def capture(
    labels: Labels,
    session_labels: dict[int, str],
    at: int,
    last_transition: Transition | None,
    kind: type[Snapshot] = Snapshot,
) -> Snapshot:
    """The real current state of every labelled object that is still alive, as a ``kind``."""
    import weakref

    session_sets: dict[int, tuple[Any, Any]] = {}
    objects = []
    for label, obj, state in labels.alive():
        current = state_of_instance_state(state)
        session = session_of(state)
        dirty = marked = False
        modified = None
        if session is not None:
            sets = session_sets.get(session.hash_key)
            if sets is None:
                sets = session_sets[session.hash_key] = (session.dirty, session.deleted)
            dirty = obj in sets[0]
            marked = current is ObjectState.PERSISTENT and obj in sets[1]
            modified = session.is_modified(obj) if dirty else False
        key = state.key
        objects.append(
            ObjectSnapshot(
                label=label,
                state=current,
                identity=None if key is None else tuple(key[1]),
                session=None if state.session_id is None else session_labels.get(state.session_id),
                dirty=dirty,
                modified=modified,
                marked_for_deletion=marked,
                expired=bool(state.expired),
                expired_attributes=tuple(sorted(state.expired_attributes)),
                changes=_changes(state, labels) if state.modified else (),
                last_seq=labels.last_seq.get(label),
                _ref=weakref.ref(obj),
            )
        )
    return kind(
        objects,
        at=at,
        live=True,
        last_transition=last_transition,
        collected=tuple(labels.collected),
        collected_count=labels.collected_count,
    )


def _changes(state: Any, labels: Labels) -> tuple[AttributeChange, ...]:
    changes = []
    for attr in state.attrs:
        history = attr.history
        if history.added or history.deleted:
            added, deleted = tuple(history.added or ()), tuple(history.deleted or ())
            old, new = (", ".join(_value_text(value, labels) for value in values) or "-" for values in (deleted, added))
            changes.append(AttributeChange(attr.key, added, deleted, text=f"{attr.key}: {old} -> {new}"))
    return tuple(changes)


def _value_text(value: Any, labels: Labels) -> str:
    """A related object by its label (or class), anything else by its repr without memory addresses."""
    from sqlalchemy import inspect

    state = inspect(value, raiseerr=False)
    if getattr(state, "is_instance", False):
        return labels.known(state) or f"{type(value).__name__} (not tracked)"
    return _ADDRESS.sub("", repr(value))


def replay(events: list[Event], at: int, kind: type[Snapshot] = Snapshot) -> Snapshot:
    """The states the log gives each object right after event ``at`` (sub-states are unknown), as a ``kind``."""
    if isinstance(at, bool) or not isinstance(at, int):
        msg = f"at= needs the seq number of a recorded event, but was given {at!r}."
        raise EventNotFoundError(msg)
    first = events[0].seq if events else None
    last = events[-1].seq if events else 0
    if at != 0 and (first is None or not first <= at <= last):
        span = "no events are recorded" if first is None else f"recorded events run from {first} to {last}"
        msg = f"at={at} names no recorded event; {span}."
        raise EventNotFoundError(msg)
    if at == 0 and first is not None and first != 1:
        msg = f"at=0 cannot be replayed: the first {first - 1} events were dropped (max_events)."
        raise EventNotFoundError(msg)
    current: dict[str, ObjectSnapshot] = {}
    last_transition = None
    for recorded in events:
        if recorded.seq > at:
            break
        if isinstance(recorded, Note):
            before = current.get(recorded.label)
            if before is not None and recorded.actual is not None:
                current[recorded.label] = _moved(before, recorded.actual, recorded.seq)
            continue
        label = getattr(recorded, "label", None)
        after = getattr(recorded, "after", None)
        if label is None or after is None:
            continue
        identity = getattr(recorded, "identity", None) if after in KEYED_STATES else None
        current[label] = ObjectSnapshot(
            label=label,
            state=after,
            identity=identity,
            session=recorded.session if after in ATTACHED_STATES else None,
            last_seq=recorded.seq,
            _ref=getattr(recorded, "_ref", None),
        )
        if isinstance(recorded, Transition):
            last_transition = recorded
    return kind(current.values(), at=at, live=False, last_transition=last_transition)


def _moved(obj: ObjectSnapshot, state: ObjectState, seq: int) -> ObjectSnapshot:
    identity = obj.identity if state in KEYED_STATES else None
    session = obj.session if state in ATTACHED_STATES else None
    return ObjectSnapshot(obj.label, state, identity, session, last_seq=seq, _ref=obj._ref)  # noqa: SLF001
