"""The recording side of a tracker: the listeners SQLAlchemy calls, and the unread buffer they fill.

Listeners do as little as SQLAlchemy's own dispatch allows: each appends one tuple to a
buffer. Labels, weak references and event objects are made when someone reads the log
(``sessionkit.core.reading``), or at once while someone is subscribed, so tracking costs
next to nothing while it runs.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import sys
import threading
import warnings
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

from sessionkit.core.states import HOOKS
from sessionkit.core.targets import Target
from sessionkit.core.truth import WATCHED

#: Hooks SQLAlchemy fires once the object's state names no session (``InstanceState._detach_states``).
_LEAVING = ("persistent_to_detached", "pending_to_transient", "persistent_to_transient")

#: How deep this thread is in calls to subscribers and watchers, made from inside SQLAlchemy's listeners.
_CALLING = threading.local()

#: Trackers whose unread buffers the cyclic garbage collector's runs keep bounded.
_BOUNDED: weakref.WeakSet[Recorder] = weakref.WeakSet()


def _on_collection(phase: str, info: dict[str, int]) -> None:  # noqa: ARG001 - gc.callbacks' signature
    """Ask each tracker whose unread buffer has passed its bound to trim it at its next record.

    Every record is an allocation the collector counts, so it runs every few hundred
    records at most: a loop of hooks with no step between them (rows streamed by one query,
    add and expunge) stays bounded without the hooks checking a length each time.
    """
    if phase != "start":
        return
    try:
        trackers = list(_BOUNDED)
    except RuntimeError:  # another thread started a tracker meanwhile: the next run will see it
        return
    for tracker in trackers:
        tracker._trim_soon()  # noqa: SLF001


def warn(message: str) -> None:
    """A ``RuntimeWarning`` from inside a listener: where warnings are errors, printed instead of raised.

    Raised, it would reach the learner's SQLAlchemy call, and the events being built would be lost.
    """
    try:
        warnings.warn(message, RuntimeWarning, stacklevel=4)
    except Warning:
        with contextlib.suppress(Exception):
            print(f"RuntimeWarning: {message}", file=sys.stderr)  # noqa: T201


def _ignore(record: tuple[Any, ...]) -> None:
    """What the hook listeners append to once their tracker has stopped."""


def _unlisten(on: Any, listeners: list[tuple[str, Callable[..., Any]]]) -> None:
    """Remove the listeners from ``on`` (or from what a weak reference ``on`` still names) where they still are."""
    if isinstance(on, weakref.ref):
        on = on()
    for name, fn in listeners:
        if on is not None and event.contains(on, name, fn):
            event.remove(on, name, fn)


class Recorder:
    """The recording side of a tracker: the listeners it adds, each appending one record to an unread buffer."""

    def __init__(self, target: Target, *, sql: bool, max_events: int) -> None:
        self.target = target
        self.sql = sql
        self.max_events = max_events
        self._raw: list[tuple[Any, ...]] = []
        self._raw_start = 0  # how many records have left the front of the buffer: the position of its first
        self._trimmed: list[tuple[Any, ...]] = []  # unread records dropped from the log, kept to label
        # Trimmed back to max_events once past twice that: each trim drops as many records as it
        # keeps, so dropping and moving records costs a constant per record, as a list grows.
        self._raw_limit = max_events + max(64, max_events)
        self._recorded = 0
        self._lock = threading.RLock()
        self._wake: list[Callable[[], None]] = []  # run after each record: drain for subscribers, watchers
        self._sessions: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._ended_sessions: list[int] = []  # keys of sessions Python has collected, not forgotten yet
        self._watch: defaultdict[int, list[tuple[Any, ...]]] = defaultdict(list)  # session -> records for _verify
        self._failed_listeners: set[str] = set()  # sessionkit's own listeners that raised: warned once each
        self._listeners: list[tuple[Any, str, Callable[..., Any]]] = []
        self._unlisteners: list[weakref.finalize[Any, Any]] = []
        self._active = False
        self._detach_later = False  # stop() ran inside a callback, while SQLAlchemy ran the listeners

    if TYPE_CHECKING:  # the reading side's (sessionkit.core.reading.Reader): at trims

        def _forget_ended_sessions(self) -> None: ...

    def _step_listeners(self) -> list[tuple[str, Callable[..., None]]]:
        """The listeners of whole Session steps (``sessionkit.core.steps``): none at this level."""
        return []

    # ------------------------------------------------------------------ listening
    def _listen(self, on: Any, name: str, fn: Callable[..., Any], **kw: Any) -> None:
        event.listen(on, name, fn, **kw)
        self._listeners.append((on, name, fn))

    def _attach(self, models: list[Any]) -> None:
        on = self.target.listen_on
        self._undo_prepare = self.target.prepare()
        try:
            for hook, listener in self._hook_listeners().items():
                self._listen(on, hook, listener, raw=True)
            for model in models:
                self._listen(model, "init", self._init_listener(), raw=True, propagate=True)
            for name, step_listener in self._step_listeners():
                self._listen(on, name, self._guarded(name, step_listener))
        except Exception:
            self._detach()
            raise
        self._active = True
        _BOUNDED.add(self)
        if _on_collection not in gc.callbacks:
            gc.callbacks.append(_on_collection)

    def _guarded(self, name: str, listener: Callable[..., None]) -> Callable[..., None]:
        """``listener`` as SQLAlchemy calls it: whatever goes wrong inside is told once, never raised into the call.

        A hook fired by hand with other arguments than a Session gives (SQLAlchemy's own tests
        do) is no step of a session: it reaches the learner's listeners, and records nothing.
        """
        expected = len(inspect.signature(listener).parameters)

        def guarded(*args: Any) -> None:
            if len(args) != expected:
                return
            try:
                listener(*args)
            except Exception as error:  # noqa: BLE001 - the learner's SQLAlchemy call must go on
                self._listener_failed(name, error)

        return guarded

    def _listener_failed(self, name: str, error: Exception) -> None:
        if name not in self._failed_listeners:
            self._failed_listeners.add(name)
            warn(
                f"sessionkit could not record a {name} ({type(error).__name__}: {error}); it goes on recording, "
                "and SQLAlchemy's own call is unchanged."
            )

    def _listening(self) -> bool:
        """Whether SQLAlchemy still has this tracker's listeners (something may remove them behind its back)."""
        if not self._listeners:
            return False
        on, name, listener = self._listeners[0]
        return bool(event.contains(on, name, listener))

    def _hook_listeners(self) -> dict[str, Callable[[Any, Any], None]]:  # noqa: C901 - one scope: one shared append
        """One listener per lifecycle hook, each appending one record to the unread buffer.

        While anyone must be woken after each record (subscribers, watchers, a trim the
        collector asked for), ``append`` is swapped for one that wakes them too (see
        ``_wake_changed``), so the listeners never check for that themselves.
        """
        raw, watch, woken = self._raw, self._watch, self._woken
        append = raw.append

        def waking_append(record: tuple[Any, ...]) -> None:
            raw.append(record)
            woken()

        def wake_after_each_record(*, wake: bool) -> None:
            nonlocal append
            append = _ignore if not self._active else waking_append if wake else raw.append

        self._wake_after_each_record: Callable[..., None] = wake_after_each_record

        # While an object is in a session its state names the session, and is cheaper to read
        # than the Session's own key; the hooks that take it out fire once it names none.
        def leaving(hook: str) -> Callable[[Any, Any], None]:
            def listener(session: Any, state: Any) -> None:
                append((hook, session.hash_key, state))

            return listener

        def staying(hook: str) -> Callable[[Any, Any], None]:
            def listener(session: Any, state: Any) -> None:
                append((hook, state.session_id or session.hash_key, state))

            return listener

        def keyed(hook: str) -> Callable[[Any, Any], None]:
            # the identity the INSERT gave, as it was: a rollback or make_transient() may take it later
            def listener(session: Any, state: Any) -> None:
                append((hook, state.session_id or session.hash_key, state, state.key))

            return listener

        def watched(hook: str) -> Callable[[Any, Any], None]:
            def listener(session: Any, state: Any) -> None:
                key = state.session_id or session.hash_key
                watch[key].append(record := (hook, key, state))
                append(record)

            return listener

        def listener_for(hook: str) -> Callable[[Any, Any], None]:
            if hook in WATCHED:
                return watched(hook)
            if hook in _LEAVING:
                return leaving(hook)
            return keyed(hook) if hook == "pending_to_persistent" else staying(hook)

        return {hook: listener_for(hook) for hook in HOOKS}

    def _init_listener(self) -> Callable[..., None]:
        def listener(state: Any, args: Any, kwargs: Any) -> None:  # noqa: ARG001
            self._record("init", None, state)

        return listener

    def _record(self, *entry: Any) -> None:
        if not self._active:  # stopped from a callback: the listeners go at the next read
            return
        self._raw.append(entry)
        if self._wake or len(self._raw) > self._raw_limit:
            self._woken()

    def _woken(self) -> None:
        """After a record: keep the unread buffer bounded, then wake subscribers and watchers."""
        wake = self._wake
        if self._trim in wake:
            with contextlib.suppress(ValueError):  # another thread took the request first
                wake.remove(self._trim)
            self._wake_changed()
        if len(self._raw) > self._raw_limit:
            self._trim()
        _CALLING.depth = getattr(_CALLING, "depth", 0) + 1
        try:
            for woken in wake:
                woken()
        finally:
            _CALLING.depth -= 1

    def _wake_also(self, woken: Callable[[], None]) -> None:
        self._wake.append(woken)
        self._wake_changed()

    def _wake_no_more(self, woken: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):  # already gone (another thread, or asked twice)
            self._wake.remove(woken)
        self._wake_changed()

    def _wake_changed(self) -> None:
        """Have the hook listeners wake ``_wake`` after each record exactly while it is not empty."""
        if not self._wake:
            self._wake_after_each_record(wake=False)
        if self._wake:  # another thread added one meanwhile: this check comes after its append
            self._wake_after_each_record(wake=True)

    def _trim_soon(self) -> None:
        """Have the next record trim the unread buffer, if it is past its bound (see ``_on_collection``)."""
        if len(self._raw) > self._raw_limit and self._trim not in self._wake:
            self._wake_also(self._trim)

    def _trim(self) -> None:
        """Drop the oldest unread records beyond ``max_events`` from the log.

        Nobody can see them as events any more, but the objects they name are labelled at
        the next read, in order of first sight, so a snapshot still shows them: this trim's
        records are kept for that, and older trims' up to ``max(64, max_events)`` in all.
        """
        with self._lock:
            excess = len(self._raw) - self.max_events
            if excess > 0:
                trimmed = self._trimmed
                trimmed += self._raw[:excess]
                del self._raw[:excess]
                self._raw_start += excess
                self._recorded += excess
                keep = max(excess, self._raw_limit - self.max_events)  # this trim's, and older ones' up to the slack
                if len(trimmed) > keep:
                    del trimmed[: len(trimmed) - keep]
            self._forget_ended_sessions()

    def _meet(self, session: Any) -> None:
        """Know a live session; once Python collects it, a later read or trim forgets what was kept about it."""
        if session.hash_key not in self._sessions:
            self._sessions[session.hash_key] = session
            weakref.finalize(session, self._ended_sessions.append, session.hash_key)

    def _detach(self) -> None:
        self._active = False
        _BOUNDED.discard(self)
        if not _BOUNDED and _on_collection in gc.callbacks:
            gc.callbacks.remove(_on_collection)
        undo, self._undo_prepare = self._undo_prepare, _undo_nothing
        undo()
        for on, name, fn in self._listeners:
            _unlisten(on, [(name, fn)])
        self._listeners.clear()
        for unlisten in self._unlisteners:
            unlisten()
        self._unlisteners.clear()


def _undo_nothing() -> None:
    """Stand in for a target's undo once it has run."""
