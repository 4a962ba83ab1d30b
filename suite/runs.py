"""One pass of SQLAlchemy's test suite (plain, or with every Session tracked), run from its source tree.

Each pass is ``python -s -m pytest PATHS`` in its own copy of the unpacked source distribution:
``-s`` keeps the tree's ``lib/`` off ``sys.path`` (its ``conftest.py`` adds it otherwise), so the
installed SQLAlchemy is the one tested. The copy lets two passes run side by side: on SQLite the
suite attaches a ``pysqlite_test_schema.db`` file in the working folder, and deletes it, as it goes.

The plugins come from ``plugins/``, put on ``PYTHONPATH``: every pass records its outcomes,
and the tracked pass also tracks every Session. No other plugin is
loaded (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``): SQLAlchemy's suite needs none beyond its own, and
those installed for sessionkit's tests (nbval, hypothesis, ...) add seconds to every start.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

#: The folder holding the ``-p`` plugins.
PLUGINS = Path(__file__).parent / "plugins"

#: A pass that takes longer than this is stopped: CI must not hang.
TIMEOUT = 30 * 60


@dataclass
class Pass:
    """A run of the suite: its command, where its outcomes and log go, and how long it took."""

    name: str
    python: str
    paths: list[str]
    results: Path
    tracked: bool
    seconds: float = 0.0
    returncode: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started: float = 0.0

    @property
    def outcomes(self) -> Path:
        """The outcomes the ``record_outcomes`` plugin writes."""
        return self.results / f"{self.name}-outcomes.json"

    @property
    def tracking(self) -> Path:
        """The report the ``track_every_session`` plugin writes (the tracked pass only)."""
        return self.results / f"{self.name}-tracking.json"

    @property
    def tree(self) -> Path:
        """The pass's own copy of the source tree, where it runs."""
        return self.results / self.name

    @property
    def log(self) -> Path:
        """The output of pytest."""
        return self.results / f"{self.name}.log"

    def command(self) -> list[str]:
        """The pytest command, to run from the source tree."""
        command = [self.python, "-s", "-m", "pytest", *self.paths, "-p", "no:cacheprovider"]
        command += ["-p", "record_outcomes", f"--record-outcomes={self.outcomes}"]
        if self.tracked:
            command += ["-p", "track_every_session", f"--track-report={self.tracking}"]
        return command

    def copy(self, source: Path) -> None:
        """Make the pass's copy of ``source`` afresh (without the documentation, which no test reads)."""
        if self.tree.exists():
            shutil.rmtree(self.tree)
        shutil.copytree(source, self.tree, ignore=shutil.ignore_patterns("doc", "__pycache__", "*.db"))

    def start(self, source: Path, log: IO[bytes]) -> None:
        """Start the pass in a copy of ``source``, its output going to ``log``."""
        for stale in (self.outcomes, self.tracking):
            stale.unlink(missing_ok=True)
        self.copy(source)
        python_path = os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": python_path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter, our own arguments
            self.command(), cwd=self.tree, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def wait(self, deadline: float) -> None:
        """Wait for the pass to end (stopping it at ``deadline``), and note how long it took."""
        if self.process is None:
            return
        try:
            self.returncode = self.process.wait(timeout=max(0.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.returncode = self.process.wait()
        self.seconds = time.perf_counter() - self.started


def run(passes: list[Pass], source: Path, *, together: bool) -> None:
    """Run ``passes`` in ``source``: side by side (each on its own core) if ``together``, else one by one."""
    for one in passes:
        one.results.mkdir(parents=True, exist_ok=True)
    logs = [one.log.open("wb") for one in passes]
    try:
        if together:
            for one, log in zip(passes, logs, strict=True):
                one.start(source, log)
            deadline = time.perf_counter() + TIMEOUT
            for one in passes:
                one.wait(deadline)
        else:
            for one, log in zip(passes, logs, strict=True):
                one.start(source, log)
                one.wait(time.perf_counter() + TIMEOUT)
    finally:
        for one in passes:
            if one.process is not None and one.process.poll() is None:
                one.process.kill()
                one.process.wait()
        for log in logs:
            log.close()
