"""Readable, deterministic names for tracked objects: ``Author 1``, ``Author 2``, ..."""

from __future__ import annotations

import gc
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: How many recently collected labels a tracker remembers (the count is kept in full).
RECENTLY_COLLECTED = 100


class _LabelledRef(weakref.ref):  # type: ignore[type-arg]
    """A weak reference to a tracked object that knows the object's label."""

    __slots__ = ("label",)
    label: str


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while labelling or capturing many objects.

    Each pass over a large heap costs far more than the work itself; reference counting
    still frees objects as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Labels:
    """Names objects by class and order of first sight, and remembers which are still alive.

    Everything is held weakly: a label outlives its object only as text.
    """

    def __init__(self) -> None:
        self._by_state: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._counters: dict[str, int] = {}
        self._alive: dict[str, tuple[weakref.ref[Any], Any]] = {}
        self._dying: deque[_LabelledRef] = deque()
        self.last_seq: dict[str, int] = {}
        self.collected: deque[str] = deque(maxlen=RECENTLY_COLLECTED)
        self.collected_count = 0

    def known(self, state: Any) -> str | None:
        """The label of an ``InstanceState`` if it has one yet."""
        return self._by_state.get(state)

    def label(self, state: Any) -> str:
        """The label of an ``InstanceState``, given at first sight."""
        found = self._by_state.get(state)
        if found is not None:
            return found
        name = state.class_.__name__
        number = self._counters.get(name, 0) + 1
        self._counters[name] = number
        found = f"{name} {number}"
        self._by_state[state] = found
        obj = state.obj()
        if obj is None:
            self._note_collected(found)
        else:
            ref = _LabelledRef(obj, self._dying.append)
            ref.label = found
            self._alive[found] = (ref, state)
        return found

    def seen(self, label: str, seq: int) -> None:
        """Remember that ``label`` took part in event ``seq`` (while its object is alive)."""
        if label in self._alive:
            self.last_seq[label] = seq

    def alive(self) -> list[tuple[str, Any, Any]]:
        """``(label, object, InstanceState)`` for every labelled object still alive, in label order."""
        self.settle()
        result = []
        for label, (ref, state) in list(self._alive.items()):
            obj = ref()
            if obj is not None:
                result.append((label, obj, state))
        return result

    def settle(self) -> None:
        """Move objects that Python has collected out of the living."""
        while self._dying:
            label = self._dying.popleft().label
            if self._alive.pop(label, None) is not None:
                self._note_collected(label)

    def _note_collected(self, label: str) -> None:
        self.collected.append(label)
        self.collected_count += 1
        self.last_seq.pop(label, None)
