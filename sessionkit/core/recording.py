"""The recording side of a tracker: the listeners SQLAlchemy calls, and the unread buffer they fill.

Listeners do as little as SQLAlchemy's own dispatch allows: each appends one tuple to a
buffer. Labels, weak references and event objects are made when someone reads the log
(``sessionkit.core.reading``), or at once while someone is subscribed, so tracking costs
next to nothing while it runs.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import ExecuteStyle

from sessionkit.core.states import HOOKS
from sessionkit.core.targets import Target
from sessionkit.core.truth import WATCHED

#: Hooks SQLAlchemy fires once the object's state names no session (``InstanceState._detach_states``).
_LEAVING = ("persistent_to_detached", "pending_to_transient", "persistent_to_transient")

#: The only style in which ``do_execute`` sends many rows: insertmanyvalues batches.
_MANY_VALUES = ExecuteStyle.INSERTMANYVALUES

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
        self._trimmed: list[tuple[Any, ...]] = []  # unread records dropped from the log, kept to label
        # Trimmed back to max_events once past twice that: each trim drops as many records as it
        # keeps, so dropping and moving records costs a constant per record, as a list grows.
        self._raw_limit = max_events + max(64, max_events)
        self._recorded = 0
        self._lock = threading.RLock()
        self._wake: list[Callable[[], None]] = []  # run after each record: drain for subscribers, watchers
        self._sessions: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._ended_sessions: list[int] = []  # keys of sessions Python has collected, not forgotten yet
        self._in_flush: set[int] = set()
        self._watch: defaultdict[int, list[tuple[Any, ...]]] = defaultdict(list)  # session -> records for _verify
        self._committed: set[int] = set()
        self._joined_mid_transaction: set[int] = set()
        # id(connection) -> session key, while the connection's transaction lasts; never the
        # connection itself, so an abandoned session's connection still goes back to its pool
        self._sql_connections: dict[int, int] = {}
        self._connection_finalizers: dict[int, weakref.finalize[Any, Any]] = {}
        self._sharers: dict[int, list[int]] = {}  # id(connection) -> every tracked session using it, in order
        self._sql_dialects: weakref.WeakKeyDictionary[Any, list[tuple[str, Callable[..., None]]]] = (
            weakref.WeakKeyDictionary()
        )
        self._listeners: list[tuple[Any, str, Callable[..., Any]]] = []
        self._unlisteners: list[weakref.finalize[Any, Any]] = []
        self._active = False
        self._detach_later = False  # stop() ran inside a callback, while SQLAlchemy ran the listeners

    if TYPE_CHECKING:  # the reading side's (sessionkit.core.reading.Reader): as a transaction ends, and at trims

        def _verify(self, session: Any, key: int) -> None: ...

        def _forget_ended_sessions(self) -> None: ...

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
            self._listen(on, "after_transaction_create", self._on_transaction_create)
            self._listen(on, "after_transaction_end", self._on_transaction_end)
            self._listen(on, "after_begin", self._on_begin)
            self._listen(on, "before_flush", self._on_before_flush)
            self._listen(on, "after_commit", self._on_commit)
            self._listen(on, "after_soft_rollback", self._on_soft_rollback)
        except Exception:
            self._detach()
            raise
        self._active = True
        _BOUNDED.add(self)
        if _on_collection not in gc.callbacks:
            gc.callbacks.append(_on_collection)
        for session in self.target.live_sessions():
            self._meet(session)
            transaction = session.get_transaction()
            if transaction is not None:
                self._joined_mid_transaction.add(session.hash_key)
                for connection, *_ in list(getattr(transaction, "_connections", {}).values()):
                    self._on_begin(session, transaction, connection)

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

    def _on_transaction_create(self, session: Any, transaction: Any) -> None:
        self._meet(session)
        if transaction.parent is None or transaction.nested:
            self._record("begin", session.hash_key, transaction.nested)

    def _on_begin(self, session: Any, transaction: Any, connection: Any) -> None:  # noqa: ARG002
        if not self.sql or not self._active:
            return
        ident, key = id(connection), session.hash_key
        with self._lock:
            sharers = self._sharers.get(ident)
            if sharers is not None:  # sessions bound to one Connection: its statements are the newest one's
                if key not in sharers:
                    sharers.append(key)
                    self._sql_connections[ident] = key
                return
            if connection.dialect not in self._sql_dialects:
                self._listen_for_statements(connection.dialect)
            self._sql_connections[ident] = key
            self._sharers[ident] = [key]
            self._connection_finalizers[ident] = weakref.finalize(connection, self._forget_connection, ident)

    def _listen_for_statements(self, dialect: Any) -> None:
        """Listen where the dialect sends each statement to the DBAPI cursor, for tracked connections only.

        The dialect's ``do_execute`` events cost one call per statement; connection events
        would also dispatch ``before_execute``, ``after_execute`` and ``after_cursor_execute``
        for every statement, which for row-by-row INSERTs costs more than the rest of tracking.
        """
        raw, wake, limit, in_flush = self._raw, self._wake, self._raw_limit, self._in_flush
        append, tracked = raw.append, self._sql_connections
        woken = weakref.WeakMethod(self._woken)  # an engine outlives its trackers: it must not keep one alive

        def do_execute(cursor: Any, statement: str, parameters: Any, context: Any, executemany: Any = None) -> None:  # noqa: ARG001
            try:
                key = tracked.get(id(context.root_connection))
                if key is None:
                    return
                if executemany is None:  # execute_style: the executemany property is slow, and this runs a lot
                    executemany = context.execute_style is _MANY_VALUES
            except AttributeError:  # a statement with no execution context: not a session's
                return
            flushing = key in in_flush
            append(("sql", key, statement, parameters, executemany, flushing))
            # A flush's statements need no bound here: the flush's end trims, as every step's does.
            if (wake or (not flushing and len(raw) > limit)) and (wake_up := woken()) is not None:
                wake_up()

        def do_executemany(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
            do_execute(cursor, statement, parameters, context, True)  # noqa: FBT003

        def do_execute_no_params(cursor: Any, statement: str, context: Any) -> None:
            parameters = getattr(context, "parameters", None)
            do_execute(cursor, statement, parameters[0] if parameters else (), context, False)  # noqa: FBT003

        listeners: list[tuple[str, Callable[..., None]]] = [
            ("do_execute", do_execute),
            ("do_executemany", do_executemany),
            ("do_execute_no_params", do_execute_no_params),
        ]
        for name, fn in listeners:
            event.listen(dialect, name, fn)
        self._sql_dialects[dialect] = listeners
        # A tracker nobody stops, whose sessions are gone, takes its listeners with it.
        self._unlisteners.append(weakref.finalize(self, _unlisten, weakref.ref(dialect), listeners))

    def _on_before_flush(self, session: Any, flush_context: Any, instances: Any) -> None:  # noqa: ARG002
        key = session.hash_key
        self._in_flush.add(key)
        for ident, sharers in list(self._sharers.items()):
            if len(sharers) > 1 and key in sharers:  # a shared connection: the flushing session's statements
                self._sql_connections[ident] = key
        self._record("flush", key, *_pending_work(session))

    def _on_commit(self, session: Any) -> None:
        nested = session.in_nested_transaction()
        if not nested:
            self._committed.add(session.hash_key)
        self._record("commit", session.hash_key, nested)

    def _on_soft_rollback(self, session: Any, previous_transaction: Any) -> None:
        if previous_transaction.parent is None or previous_transaction.nested:
            self._record("rollback", session.hash_key, previous_transaction.nested)

    def _on_transaction_end(self, session: Any, transaction: Any) -> None:
        if len(self._raw) > self._raw_limit:
            self._trim()
        key = session.hash_key
        self._in_flush.discard(key)  # a flush runs in a subtransaction of its own, even when it fails
        if transaction.parent is not None:
            return
        self._release_connections(key)
        self._verify(session, key)

    def _release_connections(self, key: int) -> None:
        """The session's transaction is over: statements on its connections are no longer its own."""
        for ident, sharers in list(self._sharers.items()):
            if key in sharers:
                sharers.remove(key)
                if sharers:  # another tracked session still uses the connection
                    self._sql_connections[ident] = sharers[-1]
                else:
                    self._forget_connection(ident)

    def _forget_connection(self, ident: int) -> None:
        self._sql_connections.pop(ident, None)
        self._sharers.pop(ident, None)
        finalizer = self._connection_finalizers.pop(ident, None)
        if finalizer is not None:
            finalizer.detach()

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
        self._sql_dialects.clear()
        for ident in list(self._sql_connections):
            self._forget_connection(ident)


def _pending_work(session: Any) -> tuple[int, int, int]:
    """How many objects the flush starting now has to insert, update and delete.

    ``session.new``, ``.dirty`` and ``.deleted`` build a set of every object each time; the
    session's own collections give the same counts without that (the public ones otherwise).
    """
    try:
        marked = session._deleted  # noqa: SLF001
        modified = session.identity_map._modified  # noqa: SLF001
        return len(session._new), sum(1 for state in modified if state not in marked), len(marked)  # noqa: SLF001
    except AttributeError:  # pragma: no cover - a SQLAlchemy that reorganised its internals
        return len(session.new), len(session.dirty), len(session.deleted)


def _undo_nothing() -> None:
    """Stand in for a target's undo once it has run."""
