"""The listeners of whole Session steps: transactions, flushes, commits, rollbacks and the SQL they send.

Each runs once per step, not once per object, and whatever goes wrong inside one is told
once as a ``RuntimeWarning`` and never reaches the learner's call (``Recorder._guarded``).
A flush, a commit and a rollback fire their lifecycle hooks for many objects in set
order: where each step opens and closes is noted beside the buffer (a flush or a commit
record opens one too), so a read orders those hooks, and only those, by label.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import ExecuteStyle

from sessionkit.core.recording import Recorder, _unlisten, warn
from sessionkit.core.targets import Target

#: The only style in which ``do_execute`` sends many rows: insertmanyvalues batches.
_MANY_VALUES = ExecuteStyle.INSERTMANYVALUES


class Steps(Recorder):
    """A recorder that also listens to the steps of each session and captures their SQL."""

    def __init__(self, target: Target, *, sql: bool, max_events: int) -> None:
        super().__init__(target, sql=sql, max_events=max_events)
        self._in_flush: set[int] = set()
        self._stepping: set[int] = set()  # sessions inside a flush, commit or rollback
        # (position in the buffer, opens, session key): where a flush, commit or rollback opens and closes
        self._step_marks: list[tuple[int, bool, int]] = []
        self._open_steps: set[int] = set()  # sessions whose step the marks placed so far leave open
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

    if TYPE_CHECKING:  # the reading side's (sessionkit.core.reading.Reader): as a transaction ends

        def _verify(self, session: Any, key: int) -> None: ...

    def _step_listeners(self) -> list[tuple[str, Callable[..., None]]]:
        return [
            ("after_transaction_create", self._on_transaction_create),
            ("after_transaction_end", self._on_transaction_end),
            ("after_begin", self._on_begin),
            ("before_flush", self._on_before_flush),
            ("after_commit", self._on_commit),
            ("after_rollback", self._on_rollback),
            ("after_soft_rollback", self._on_soft_rollback),
        ]

    def _attach(self, models: list[Any]) -> None:
        super()._attach(models)
        for session in self.target.live_sessions():
            self._meet(session)
            transaction = session.get_transaction()
            if transaction is not None:
                self._joined_mid_transaction.add(session.hash_key)
                on_begin = self._guarded("after_begin", self._on_begin)
                for connection, *_ in list(getattr(transaction, "_connections", {}).values()):
                    on_begin(session, transaction, connection)

    def _detach(self) -> None:
        super()._detach()
        self._sql_dialects.clear()
        for ident in list(self._sql_connections):
            self._forget_connection(ident)

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
                self._listen_for_statements(connection)
            self._sql_connections[ident] = key
            self._sharers[ident] = [key]
            self._connection_finalizers[ident] = weakref.finalize(connection, self._forget_connection, ident)

    def _listen_for_statements(self, connection: Any) -> None:
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
        dialect, added = connection.dialect, []
        try:
            for name, fn in listeners:
                event.listen(dialect, name, fn)
                added.append((name, fn))
        except Exception as error:  # noqa: BLE001 - a bind SQLAlchemy's events cannot reach: no SQL, and no error
            _unlisten(dialect, added)
            self._sql_dialects[dialect] = []
            warn(
                f"sessionkit cannot record the SQL sent through {connection!r} ({type(error).__name__}: {error}); "
                "it records everything else, and SQLAlchemy's own calls are unchanged."
            )
            return
        self._sql_dialects[dialect] = listeners
        # A tracker nobody stops, whose sessions are gone, takes its listeners with it.
        self._unlisteners.append(weakref.finalize(self, _unlisten, weakref.ref(dialect), listeners))

    def _on_before_flush(self, session: Any, flush_context: Any, instances: Any) -> None:  # noqa: ARG002
        key = session.hash_key
        self._in_flush.add(key)
        self._stepping.add(key)
        for ident, sharers in list(self._sharers.items()):
            if len(sharers) > 1 and key in sharers:  # a shared connection: the flushing session's statements
                self._sql_connections[ident] = key
        self._record("flush", key, *_pending_work(session))

    def _on_commit(self, session: Any) -> None:
        nested = session.in_nested_transaction()
        if not nested:
            self._committed.add(session.hash_key)
        self._stepping.add(session.hash_key)
        self._record("commit", session.hash_key, nested)

    def _on_rollback(self, session: Any) -> None:
        self._stepping.add(session.hash_key)
        self._mark(session.hash_key, opens=True)

    def _trim(self) -> None:
        super()._trim()
        self._place_marks(self._raw_start)  # the trimmed records' marks: the list stays bounded too

    def _place_marks(self, upto: int) -> None:
        """Open and close the steps the marks before buffer position ``upto`` say, and forget those marks."""
        marks, placed = self._step_marks, 0
        while placed < len(marks) and marks[placed][0] < upto:
            _, opens, key = marks[placed]
            (self._open_steps.add if opens else self._open_steps.discard)(key)
            placed += 1
        del marks[:placed]

    def _mark(self, key: int, *, opens: bool) -> None:
        """Note where in the buffer a step opens or closes: beside it, so it is no record and wakes nobody."""
        if self._active:
            self._step_marks.append((self._raw_start + len(self._raw), opens, key))

    def _on_soft_rollback(self, session: Any, previous_transaction: Any) -> None:
        if previous_transaction.parent is None or previous_transaction.nested:
            self._record("rollback", session.hash_key, previous_transaction.nested)

    def _on_transaction_end(self, session: Any, transaction: Any) -> None:
        if len(self._raw) > self._raw_limit:
            self._trim()
        key = session.hash_key
        self._in_flush.discard(key)  # a flush runs in a subtransaction of its own, even when it fails
        if key in self._stepping:
            self._stepping.discard(key)
            self._mark(key, opens=False)
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
