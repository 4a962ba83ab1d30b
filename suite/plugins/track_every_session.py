"""pytest plugin: every Session of the run tracked by sessionkit, and its log read every 200 tests.

    python -s -m pytest test/orm -p track_every_session --track-report=tracking.json

When the run starts it calls ``sessionkit.track(sqlalchemy.orm.Session)``. Some of SQLAlchemy's
test classes call ``SessionEvents._clear()`` after each test, which removes every listener on the
``Session`` class, the tracker's included. So before each test it checks that the tracker still
listens, and if not, reads the old tracker's log, stops it and tracks anew. It does not ask
``tracker.active``, which knows only of ``stop()``: it asks SQLAlchemy (``event.contains``) about
a no-op listener of its own on ``after_begin``, attached right after the tracker's, which any
``_clear()`` removes with them.

Each read builds the events (``tracker.events``), as a learner's read does. An exception raised
while reading, tracking or stopping is caught, so the run goes on, and written to the report: the
harness fails on it. The report also gives the number of events recorded over the whole run.
"""

from __future__ import annotations

import contextlib
import json
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sessionkit import Tracker

#: Read the log after every this many tests.
READ_EVERY = 200

#: Warnings raised while reading are reported, up to this many.
WARNINGS_KEPT = 20


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--track-report PATH``: track every Session, and write what tracking saw to PATH."""
    parser.addoption("--track-report", metavar="PATH", help="track every Session; write the tracking report to PATH")


def pytest_configure(config: pytest.Config) -> None:
    """Register the tracking when ``--track-report`` is given."""
    path = config.getoption("--track-report")
    if path:
        config.pluginmanager.register(EverySessionTracked(Path(path)), "track-every-session")


def still_listening(*args: Any, **kwargs: Any) -> None:
    """The witness: a no-op ``after_begin`` listener that is removed whenever the tracker's are."""


class EverySessionTracked:
    """Keeps one tracker on the ``Session`` class for the whole run, and reads its log now and then."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tracker: Tracker | None = None
        self.tests = 0
        self.reads = 0
        self.attachments = 0
        self.events_of_stopped = 0  # events recorded by the trackers already replaced
        self.events_of_current = 0  # events the current tracker had recorded at its last read
        self.errors: list[dict[str, str]] = []
        self.warnings: list[str] = []
        self.warning_count = 0
        self.stop_notices = 0  # reads that said, as they should, that recording had stopped

    @contextlib.contextmanager
    def guarded(self, when: str) -> Iterator[None]:
        """Record an exception raised inside (and what was being done, ``when``) instead of raising it."""
        try:
            yield
        except Exception as error:  # noqa: BLE001 - every exception is a finding for the report
            self.errors.append({"when": when, "error": repr(error), "traceback": traceback.format_exc()})

    # ------------------------------------------------------------------ the tracker
    def listening(self) -> bool:
        """Whether the tracker's listeners are still on the ``Session`` class."""
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        witnessed = event.contains(Session, "after_begin", still_listening)
        if self.tracker is not None and not witnessed and self.tracker.active:
            self.errors.append(
                {"when": "after listeners were removed", "error": "tracker.active still said True", "traceback": ""}
            )
        return self.tracker is not None and self.tracker.active and witnessed

    def attach(self, when: str) -> None:
        """Track every Session with a new tracker, and put the witness beside its listeners."""
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        import sessionkit

        with self.guarded(f"tracking every Session {when}"):
            self.tracker = sessionkit.track(Session)
            self.events_of_current = 0
            self.attachments += 1
            if not event.contains(Session, "after_begin", still_listening):
                event.listen(Session, "after_begin", still_listening)

    def detach(self, when: str) -> None:
        """Read the tracker's log a last time, then stop it and remove the witness."""
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        tracker, self.tracker = self.tracker, None
        if tracker is None:
            return
        self.read(tracker, when)
        self.events_of_stopped += self.events_of_current
        self.events_of_current = 0
        with self.guarded(f"stopping the tracker {when}"):
            tracker.stop()
        if event.contains(Session, "after_begin", still_listening):
            event.remove(Session, "after_begin", still_listening)

    def read(self, tracker: Tracker, when: str) -> None:
        """Build the log, as a learner's read does, and note how many events the tracker has recorded."""
        with self.guarded(f"reading the log {when}"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.reads += 1
            events = tracker.events
            self.events_of_current = len(events) + tracker.dropped
        for warning in caught:
            if str(warning.message).startswith("sessionkit stopped recording"):
                self.stop_notices += 1
                continue
            self.warning_count += 1
            if len(self.warnings) < WARNINGS_KEPT:
                self.warnings.append(f"{when}: {warning.category.__name__}: {warning.message}")

    # ------------------------------------------------------------------ pytest's hooks
    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:  # noqa: ARG002 - pytest's name
        """Track every Session from the start of the run."""
        self.attach("at the start of the run")

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:  # noqa: ARG002
        """Before a test's setup: track anew if the tracker's listeners were removed behind its back."""
        if not self.listening():
            self.detach(f"before {nodeid} (its listeners were removed)")
            self.attach(f"before {nodeid}")

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:  # noqa: ARG002
        """After a test's teardown: every ``READ_EVERY`` tests, read the log."""
        self.tests += 1
        if self.tests % READ_EVERY == 0 and self.tracker is not None:
            self.read(self.tracker, f"after {nodeid}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:  # noqa: ARG002 - pytest's names
        """Read the log a last time, stop tracking, and write the report."""
        self.detach("at the end of the run")
        import sessionkit

        report = {
            "sessionkit": {"version": sessionkit.__version__, "file": sessionkit.__file__},
            "tests": self.tests,
            "reads": self.reads,
            "attachments": self.attachments,
            "events": self.events_of_stopped + self.events_of_current,
            "errors": self.errors,
            "warning_count": self.warning_count,
            "warnings": self.warnings,
            "stop_notices": self.stop_notices,
        }
        self.path.write_text(json.dumps(report, indent=1), encoding="utf-8")
