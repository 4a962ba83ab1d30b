"""``track()``: listen to a real Session through SQLAlchemy's event API and record typed events.

Listeners do as little as SQLAlchemy's own dispatch allows: each appends one tuple to a
buffer. Labels, weak references and event objects are made when someone reads the log
(or at once, while someone is subscribed), so tracking costs next to nothing while it runs.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import warnings
import weakref
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from sqlalchemy import event
from sqlalchemy.engine.interfaces import ExecuteStyle

from sessionkit.core.events import Begin, Commit, Created, Event, Flush, Note, Rollback, Statement, Transition
from sessionkit.core.exceptions import EventNotFoundError, setting_error
from sessionkit.core.labels import Labels, gc_paused
from sessionkit.core.snapshot import Snapshot, capture, replay
from sessionkit.core.states import HOOKS, KEYED_STATES, state_of_instance_state
from sessionkit.core.targets import Target, model_targets, resolve
from sessionkit.core.truth import WATCHED, disagreement, identity_taken

Callback = Callable[[Event], object]

#: Hooks SQLAlchemy fires once the object's state names no session (``InstanceState._detach_states``).
_LEAVING = ("persistent_to_detached", "pending_to_transient", "persistent_to_transient")

#: Batches this large are built with the cyclic garbage collector paused.
_LARGE_BATCH = 1_000

#: The only style in which ``do_execute`` sends many rows: insertmanyvalues batches.
_MANY_VALUES = ExecuteStyle.INSERTMANYVALUES

#: How deep this thread is in calls to subscribers and watchers, made from inside SQLAlchemy's listeners.
_CALLING = threading.local()

#: Trackers whose unread buffers the cyclic garbage collector's runs keep bounded.
_BOUNDED: weakref.WeakSet[Tracker] = weakref.WeakSet()


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


def _warn(message: str) -> None:
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


def track(
    target: Any, *, sql: bool = True, max_events: int = 10_000, models: Any = None, kind: type[Tracker] | None = None
) -> Tracker:
    """Start recording what happens in the sessions ``target`` reaches.

    ``target`` is a ``Session``, a ``sessionmaker``, a ``scoped_session``, a ``Session``
    subclass (``Session`` itself means every session), an ``AsyncSession`` or an
    ``async_sessionmaker``. ``models`` (a declarative base or mapped classes) makes newly
    constructed objects known, as transient, before any session sees them. ``kind`` is the
    ``Tracker`` class to make (``sessionkit.track`` makes the public one, with its pictures).

    >>> from sqlalchemy import create_engine
    >>> from sqlalchemy import Integer
    >>> from sqlalchemy.orm import DeclarativeBase, Session, mapped_column
    >>> class Base(DeclarativeBase): pass
    >>> class Author(Base):
    ...     __tablename__ = "author"
    ...     id = mapped_column(Integer, primary_key=True)
    >>> engine = create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> session = Session(engine)
    >>> with track(session) as tracker:
    ...     session.add(Author())
    ...     session.commit()
    >>> [t.hook for t in tracker.transitions]
    ['transient_to_pending', 'pending_to_persistent']
    """
    resolved = resolve(target)
    if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
        msg = f"max_events must be a positive whole number, but was given {max_events!r}."
        raise setting_error(msg, max_events, int)
    return (kind or Tracker)(resolved, sql=bool(sql), max_events=max_events, models=model_targets(models))


class Tracker:
    """Records the lifecycle of every object, transaction and statement in the tracked sessions."""

    #: The class of the snapshots it takes (the public ``sessionkit.Snapshot`` adds tables to it).
    snapshot_class: ClassVar[type[Snapshot]] = Snapshot

    def __init__(self, target: Target, *, sql: bool, max_events: int, models: list[Any]) -> None:
        self.target = target
        self.sql = sql
        self.max_events = max_events
        self._raw: list[tuple[Any, ...]] = []
        self._trimmed: list[tuple[Any, ...]] = []  # unread records dropped from the log, kept to label
        # Trimmed back to max_events once past twice that: each trim drops as many records as it
        # keeps, so dropping and moving records costs a constant per record, as a list grows.
        self._raw_limit = max_events + max(64, max_events)
        self._recorded = 0
        self._cleared = 0
        self._events: deque[Event] = deque(maxlen=max_events)
        self._lock = threading.RLock()
        self._subscribers: list[Callback] = []
        self._wake: list[Callable[[], None]] = []  # run after each record: drain for subscribers, watchers
        self._failed: weakref.WeakSet[Any] = weakref.WeakSet()  # callbacks that raised: warned once
        self._failed_unreferenceable: list[object] = []  # the same, for those a weak reference cannot name
        self._labels = Labels()
        self._session_labels: dict[int, str] = {}
        self._session_count = 0
        self._sessions: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._ended_sessions: list[int] = []  # keys of sessions Python has collected, not forgotten yet
        self._building = 0  # a read is building records taken out of the buffer: forgetting waits for it
        self._in_flush: set[int] = set()
        self._last_flush: dict[int, int] = {}
        self._unchecked: list[tuple[Any, ...]] = []  # persistent_to_detached records built during the hook
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
        self._last_transition: Transition | None = None
        self._attach(models)

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
            _warn(f"sessionkit could not record an event: {error!r}")

    def _drain(self) -> None:
        with self._lock:
            if self._detach_later and not getattr(_CALLING, "depth", 0):
                self._detach_later = False
                self._detach()
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
                batch = raw[:count]
                del raw[:count]  # records appended meanwhile (other threads) stay for the next read
                self._building += 1
                try:
                    if count < _LARGE_BATCH:
                        self._build(batch)
                    else:
                        with gc_paused():
                            self._build(batch)
                finally:
                    self._building -= 1
            self._forget_ended_sessions()

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

    def _build(self, batch: list[tuple[Any, ...]]) -> None:
        skip = len(batch) - self.max_events
        for run in self._runs(batch):
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

    def _runs(self, batch: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
        """The batch in runs; a run of one hook in one step (a flush, a rollback, ...) in label order.

        SQLAlchemy fires the hooks of one step in set order, which changes from run to run;
        a run has no order of its own, so it is shown in a deterministic one: by label, or
        by primary key for objects not labelled yet. Runs are yielded one at a time, so
        objects labelled in one run order the next.
        """
        start = 0
        while start < len(batch):
            kind, key = batch[start][0], batch[start][1]
            end = start + 1
            if kind in HOOKS:
                while end < len(batch) and batch[end][0] == kind and batch[end][1] == key:
                    end += 1
            run = batch[start:end]
            if len(run) > 1:
                with contextlib.suppress(TypeError):  # primary keys of kinds that do not compare
                    run = sorted(run, key=self._run_order)
            yield run
            start = end

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
        _warn(
            f"sessionkit subscriber {callback!r} raised {error!r}; it keeps being called, "
            "and later errors from it are not reported."
        )

    # ------------------------------------------------------------------ public API
    @property
    def events(self) -> list[Event]:
        """Every recorded event, oldest first (at most ``max_events`` of them)."""
        self._drain()
        return list(self._events)

    @property
    def transitions(self) -> list[Transition]:
        """The ``"transition"`` events: SQLAlchemy's lifecycle hooks as they fired."""
        return [e for e in self.events if isinstance(e, Transition)]

    @property
    def statements(self) -> list[Statement]:
        """The ``"sql"`` events: every statement the tracked sessions sent."""
        return [e for e in self.events if isinstance(e, Statement)]

    @property
    def notes(self) -> list[Note]:
        """The ``"note"`` events: where an object's real state differs from what a hook said."""
        return [e for e in self.events if isinstance(e, Note)]

    @property
    def dropped(self) -> int:
        """How many events the ``max_events`` bound has discarded, oldest first."""
        self._drain()
        return self._recorded - self._cleared - len(self._events)

    @property
    def active(self) -> bool:
        """Whether the tracker is still listening."""
        return self._active

    @property
    def sessions(self) -> dict[str, Any]:
        """The live sessions this tracker has seen, by label."""
        self._drain()
        return {
            label: session
            for key, label in self._session_labels.items()
            if (session := self._sessions.get(key)) is not None
        }

    def event(self, seq: int) -> Event:
        """The recorded event numbered ``seq``."""
        for found in self.events:
            if found.seq == seq:
                return found
        msg = f"no recorded event has seq {seq!r}; recorded events run from {self._span()}."
        raise EventNotFoundError(msg)

    def _span(self) -> str:
        if not self._events:
            return "none (the log is empty)"
        return f"{self._events[0].seq} to {self._events[-1].seq}"

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(event)`` for every event as it happens; returns a function that stops it."""
        if not callable(callback):
            msg = f"subscribe() needs a callable taking one event, but was given {callback!r}."  # type: ignore[unreachable]
            raise TypeError(msg)
        with self._lock:
            self._drain()
            self._subscribers.append(callback)
            if self._drain_quietly not in self._wake:
                self._wake_also(self._drain_quietly)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
                if not self._subscribers:
                    self._wake_no_more(self._drain_quietly)

        return unsubscribe

    def watch(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback()`` (no arguments) whenever anything is recorded; returns a function that stops it.

        Cheaper than ``subscribe``: no event is built until someone reads the log, so a
        redraw throttle can use it without slowing the session down.
        """
        if not callable(callback):
            msg = f"watch() needs a callable taking no arguments, but was given {callback!r}."  # type: ignore[unreachable]
            raise TypeError(msg)

        def woken() -> None:
            try:
                callback()
            except Exception as error:  # noqa: BLE001 - a watcher must never break the session
                self._warn_once(callback, error)

        self._wake_also(woken)

        def unwatch() -> None:
            self._wake_no_more(woken)

        return unwatch

    def clear(self) -> None:
        """Forget every recorded event (objects keep their labels)."""
        with self._lock:
            self._drain()
            self._events.clear()
            self._cleared = self._recorded
            self._last_transition = None

    def stop(self) -> None:
        """Remove every listener this tracker added. Safe to call more than once.

        Called from a subscriber or watcher, while SQLAlchemy is running the tracker's
        listeners, it stops recording at once and removes them at the next read of the log:
        SQLAlchemy cannot remove a listener while it runs.
        """
        with self._lock:
            self._drain()
            if getattr(_CALLING, "depth", 0):
                self._active = False
                self._wake_changed()  # the hook listeners now append nothing
                for ident in list(self._sql_connections):
                    self._forget_connection(ident)
                self._detach_later = True
                return
            self._detach()

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

    def __enter__(self) -> Tracker:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def snapshot(self, at: int | None = None) -> Snapshot:
        """The tracked objects now (their real states), or as the log says they were after event ``at``."""
        self._drain()
        if at is None:
            with self._lock, gc_paused():
                return capture(
                    self._labels, self._session_labels, self._recorded, self._last_transition, self.snapshot_class
                )
        return replay(self.events, at, self.snapshot_class)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        status = "tracking" if self._active else "stopped"
        return f"<sessionkit.Tracker {status} {self.target.description}: {len(self)} events>"


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


def _identity(state: Any, *recorded: Any) -> tuple[Any, ...]:
    """The primary key of an ``InstanceState`` as recorded, else as it is now; empty while it has none."""
    key = recorded[0] if recorded else state.key
    return () if key is None else tuple(key[1])


def _undo_nothing() -> None:
    """Stand in for a target's undo once it has run."""


def _ref(state: Any) -> weakref.ref[Any] | None:
    obj = state.obj()
    return None if obj is None else weakref.ref(obj)
