"""pytest plugin: the outcome of every test in a run, by node id, written as JSON when the run ends.

    python -s -m pytest test/orm -p record_outcomes --record-outcomes=plain.json

A test's outcome is what pytest's own summary counts for it: ``passed``, ``failed``,
``skipped``, ``xfailed``, ``xpassed`` or ``error``, joined with ``+`` when it counts twice
(``passed+error``: the test passed, then its teardown failed). A file that cannot be collected
counts as an ``error`` under its own node id. The first failure's message is kept beside the
outcome. The file also names the SQLAlchemy that ran, so the harness can check that it was the
installed one and not the source tree's ``lib/``, and the CPU time the run took.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

#: How much of a failure's message is kept: enough to recognise it in a CI log.
MESSAGE_LIMIT = 300


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--record-outcomes PATH``: where the outcomes are written."""
    parser.addoption("--record-outcomes", metavar="PATH", help="write every test's outcome to PATH as JSON")


def pytest_configure(config: pytest.Config) -> None:
    """Register the recorder when ``--record-outcomes`` is given."""
    path = config.getoption("--record-outcomes")
    if path:
        config.pluginmanager.register(OutcomeRecorder(config, Path(path)), "record-outcomes-recorder")


def message(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The line that says why ``report`` failed (the exception, with its message), shortened."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or report.longreprtext.strip().rsplit("\n", 1)[-1]
    text = " ".join(str(text).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


class OutcomeRecorder:
    """Collects each test's outcome as pytest's summary counts it, and writes them at the end."""

    def __init__(self, config: pytest.Config, path: Path) -> None:
        self.config = config
        self.path = path
        self.tests: dict[str, dict[str, str]] = {}

    def add(self, nodeid: str, category: str, report: pytest.TestReport | pytest.CollectReport) -> None:
        """Count ``category`` for ``nodeid``, keeping the first failure's message."""
        entry = self.tests.setdefault(nodeid, {"outcome": "", "message": ""})
        entry["outcome"] = f"{entry['outcome']}+{category}" if entry["outcome"] else category
        if report.failed and not entry["message"]:
            entry["message"] = message(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """One phase of a test ended: count it the way the terminal summary does."""
        category, _, _ = self.config.hook.pytest_report_teststatus(report=report, config=self.config)
        if category:  # a setup or teardown that passed counts for nothing
            self.add(report.nodeid, str(category), report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A file or class that failed to be collected, or was skipped whole, counts under its node id."""
        if report.failed:
            self.add(report.nodeid, "error", report)
        elif report.skipped:
            self.add(report.nodeid, "skipped", report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:  # noqa: ARG002 - pytest's name
        """Write the outcomes, with the SQLAlchemy and Python that produced them."""
        sqlalchemy: Any = sys.modules.get("sqlalchemy")
        result = {
            "sqlalchemy": {
                "version": getattr(sqlalchemy, "__version__", None),
                "file": getattr(sqlalchemy, "__file__", None),
            },
            "python": sys.version,
            "exitstatus": int(exitstatus),
            "cpu_seconds": time.process_time(),  # the whole process: steadier than wall time on a busy machine
            "tests": self.tests,
        }
        self.path.write_text(json.dumps(result, indent=1), encoding="utf-8")
