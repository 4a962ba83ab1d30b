"""The reading side of a tracker: typed events, labels and truth notes, built from the unread buffer.

Nothing is built while the session runs (unless someone is subscribed): the records the
listeners appended are turned into events when someone reads the log.
"""

from __future__ import annotations

import contextlib
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from sessionkit.core.events import Begin, Commit, Created, Event, Flush, Note, Rollback, Statement, Transition
from sessionkit.core.labels import Labels, gc_paused
from sessionkit.core.recording import _CALLING, warn
from sessionkit.core.states import HOOKS, KEYED_STATES, state_of_instance_state
from sessionkit.core.steps import Steps
from sessionkit.core.targets import Target
from sessionkit.core.truth import disagreement, identity_taken

Callback = Callable[[Event], object]

#: Records that open a step whose hooks SQLAlchemy fires in set order (a rollback's opening is only marked).
_OPENS_A_STEP = frozenset({"flush", "commit"})

#: Batches this large are built with the cyclic garbage collector paused.
_LARGE_BATCH = 1_000


class Reader(Steps):
    """The reading side of a tracker: events, labels and notes built from what its listeners recorded."""

    def __init__(self, target: Target, *, sql: bool, max_events: int) -> None:
        super().__init__(target, sql=sql, max_events=max_events)
        self._events: deque[Event] = deque(maxlen=max_events)
        self._subscribers: list[Callback] = []
        self._failed: weakref.WeakSet[Any] = weakref.WeakSet()  # callbacks that raised: warned once
        self._failed_unreferenceable: list[object] = []  # the same, for those a weak reference cannot name
        self._labels = Labels()
        self._session_labels: dict[int, str] = {}
        self._session_count = 0
        self._building = 0  # a read is building records taken out of the buffer: forgetting waits for it
        self._last_flush: dict[int, int] = {}
        self._unchecked: list[tuple[Any, ...]] = []  # persistent_to_detached records built during the hook
        self._last_transition: Transition | None = None

    # ------------------------------------------------------------------ truth notes
    def _verify(self, session: Any, key: int) -> None:
        """Note where an object's real state is not what its hooks said, as the transaction ends.

        SQLAlchemy detaches flushed-deleted objects at commit only when ``expire_on_commit``
        is set; a rollback can fire ``deleted_to_detached`` for an object it then makes
        transient, and ``deleted_to_persistent`` for one that was only marked by ``delete()``.
        """
        watched = self._watch.pop(key, None)
        committed = key in self._committed
        self._committed.discard(key)
        joined_late = key in self._joined_mid_transaction
        self._joined_mid_transaction.discard(key)
        if not watched or (committed and session.expire_on_commit):
            return
        hooks: dict[Any, list[str]] = {}
        for hook, _, state in watched:
            hooks.setdefault(state, []).append(hook)
        for state, fired in hooks.items():
            note = disagreement(fired, state_of_instance_state(state), committed=committed, joined_late=joined_late)
            if note is not None:
                hook, expected, actual, text = note
                self._record("note", key, state, hook, expected, actual, text)

    # ------------------------------------------------------------------ the log
    def _drain_quietly(self) -> None:
        try:
            self._drain()
        except Exception as error:  # noqa: BLE001 - the learner's SQLAlchemy call must go on
            warn(f"sessionkit could not record an event: {error!r}")

    def _drain(self) -> None:
        with self._lock:
            if self._detach_later and not getattr(_CALLING, "depth", 0):
                self._detach_later = False
                self._detach()
            elif self._active and not self._listening():
                self._lost_listeners()
            unchecked, self._unchecked = self._unchecked, []
            for entry in unchecked:
                self._check_identity(entry)
            trimmed, self._trimmed = self._trimmed, []
            if trimmed:
                with gc_paused():
                    self._label_only(trimmed)
            raw = self._raw
            count = len(raw)
            if count:
                batch, start = raw[:count], self._raw_start
                del raw[:count]  # records appended meanwhile (other threads) stay for the next read
                self._raw_start += count
                self._building += 1
                try:
                    if count < _LARGE_BATCH:
                        self._build(batch, start)
                    else:
                        with gc_paused():
                            self._build(batch, start)
                finally:
                    self._building -= 1
            self._forget_ended_sessions()

    def _lost_listeners(self) -> None:
        """Something removed the listeners behind the tracker's back (``event.remove``, ``SessionEvents._clear()``)."""
        self._detach()
        warn(
            f"sessionkit stopped recording {self.target.description}: its listeners were removed from SQLAlchemy "
            "(by event.remove() or by clearing every Session listener); call sessionkit.track() again to record anew."
        )

    def _forget_ended_sessions(self) -> None:
        """Drop what was kept about collected sessions whose records are all built; their events keep their labels.

        A collected session records nothing more, so once no unread or unchecked record names
        it, nothing will ask for its label again. Reads and trims both call this, so a program
        that never reads stays bounded too.
        """
        if not self._ended_sessions or self._building:
            return
        with self._lock:
            ended = len(self._ended_sessions)  # the collector may add more meanwhile, from any thread
            named = {record[1] for record in self._raw} | {entry[1] for entry in self._unchecked}
            later = []
            for key in self._ended_sessions[:ended]:
                if key in named:
                    later.append(key)
                    continue
                self._session_labels.pop(key, None)
                self._last_flush.pop(key, None)
                self._watch.pop(key, None)
                self._committed.discard(key)
                self._joined_mid_transaction.discard(key)
                self._in_flush.discard(key)
                self._release_connections(key)
            self._ended_sessions[:ended] = later

    def _label_only(self, trimmed: list[tuple[Any, ...]]) -> None:
        """Label the objects that records trimmed unread name, as a read would have."""
        for run in self._runs(trimmed):
            for entry in run:
                if entry[0] in HOOKS or entry[0] == "init":
                    self._labels.label(entry[2])

    def _build(self, batch: list[tuple[Any, ...]], start: int) -> None:
        skip = len(batch) - self.max_events
        for run in self._runs(batch, start):
            for entry in run:
                self._recorded += 1
                made = self._materialize(self._recorded, entry, keep=skip <= 0)
                skip -= 1
                if made is None:
                    continue
                self._add(made)
                if entry[0] == "persistent_to_detached":
                    if self._subscribers:  # built as the hook runs: make_transient() has yet to take the key
                        self._unchecked.append(entry)
                    else:
                        self._check_identity(entry)
        self._labels.settle()

    def _check_identity(self, entry: tuple[Any, ...]) -> None:
        note = identity_taken(entry[0], entry[2].key)
        if note is not None:
            self._recorded += 1
            self._add(self._materialize(self._recorded, ("note", entry[1], entry[2], *note), keep=True))

    def _add(self, made: Event | None) -> None:
        if made is None:
            return
        self._events.append(made)
        if isinstance(made, Transition):
            self._last_transition = made
        for callback in list(self._subscribers):
            self._notify(callback, made)

    def _runs(self, batch: list[tuple[Any, ...]], start: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
        """The batch in runs, in the order it was recorded; a run of one hook inside one step in label order.

        Inside a flush, a commit or a rollback SQLAlchemy fires a hook for many objects in
        set order, which changes from run to run: such a run is shown in a deterministic
        order, by label (or by primary key for objects not labelled yet). Everywhere else
        each record keeps its place. ``start`` is the batch's position in the buffer, where
        the steps' marks are placed (records trimmed unread pass none). Runs are yielded one
        at a time, so objects labelled in one run order the next.
        """
        open_steps, marks = self._open_steps, self._step_marks
        run: list[tuple[Any, ...]] = []
        for index, entry in enumerate(batch):
            kind, key = entry[0], entry[1]
            if start is not None and marks and marks[0][0] <= start + index:
                self._place_marks(start + index + 1)
            if run and (kind != run[0][0] or key != run[0][1] or key not in open_steps):
                yield self._in_label_order(run)
                run = []
            if kind in _OPENS_A_STEP:
                open_steps.add(key)
            if kind in HOOKS and key in open_steps:
                run.append(entry)
            else:
                yield [entry]
        if run:
            yield self._in_label_order(run)

    def _in_label_order(self, run: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        with contextlib.suppress(TypeError):  # primary keys of kinds that do not compare
            return sorted(run, key=self._run_order)
        return run

    def _run_order(self, entry: tuple[Any, ...]) -> tuple[Any, ...]:
        state = entry[2]
        label = self._labels.known(state)
        if label is not None:
            name, _, number = label.rpartition(" ")
            return (0, name, int(number), ())
        return (1, state.class_.__name__, 0, _identity(state))

    def _materialize(self, seq: int, entry: tuple[Any, ...], *, keep: bool) -> Event | None:  # noqa: C901, PLR0911
        """Turn one record into event ``seq`` (or, when ``keep`` is false, only note what it names)."""
        kind, key = entry[0], entry[1]
        session = None if key is None else self._session_label(key)
        if kind == "flush":
            self._last_flush[key] = seq
        if kind in HOOKS or kind == "init":
            label = self._labels.label(entry[2])
            self._labels.seen(label, seq)
        if not keep:
            return None
        if kind in HOOKS:
            hook, state = HOOKS[kind], entry[2]
            identity = (_identity(state, *entry[3:]) or None) if hook.after in KEYED_STATES else None
            return Transition(seq, session, kind, hook.before, hook.after, label, identity, _ref(state))
        if kind == "sql":
            statement, parameters, executemany, in_flush = entry[2:]
            flush = self._last_flush.get(key) if in_flush else None
            return Statement(seq, session, statement, parameters, bool(executemany), flush)
        if kind == "flush":
            return Flush(seq, session, *entry[2:])
        if kind == "begin":
            return Begin(seq, session, entry[2])
        if kind == "commit":
            return Commit(seq, session, entry[2])
        if kind == "rollback":
            return Rollback(seq, session, entry[2])
        if kind == "init":
            return Created(seq, session, label, _ref(entry[2]))
        state, hook_name, expected, actual, text = entry[2:]
        label = self._labels.label(state)
        self._labels.seen(label, seq)
        return Note(seq, session, label, hook_name, expected, actual, text.format(label=label, actual=actual))

    def _session_label(self, key: int) -> str:
        label = self._session_labels.get(key)
        if label is None:
            self._session_count += 1
            label = self._session_labels[key] = f"session {self._session_count}"
        return label

    def _notify(self, callback: Callback, made: Event) -> None:
        try:
            callback(made)
        except Exception as error:  # noqa: BLE001 - a subscriber must never break the session
            self._warn_once(callback, error)

    def _warn_once(self, callback: object, error: Exception) -> None:
        try:
            if callback in self._failed:
                return
            self._failed.add(callback)
        except TypeError:  # no weak reference to it: a builtin, kept alive anyway
            if any(failed is callback for failed in self._failed_unreferenceable):
                return
            self._failed_unreferenceable.append(callback)
        warn(
            f"sessionkit subscriber {callback!r} raised {error!r}; it keeps being called, "
            "and later errors from it are not reported."
        )


def _identity(state: Any, *recorded: Any) -> tuple[Any, ...]:
    """The primary key of an ``InstanceState`` as recorded, else as it is now; empty while it has none."""
    key = recorded[0] if recorded else state.key
    return () if key is None else tuple(key[1])


def _ref(state: Any) -> weakref.ref[Any] | None:
    obj = state.obj()
    return None if obj is None else weakref.ref(obj)
