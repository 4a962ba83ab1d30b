"""The marimo lesson run as a plain script (``app.run()``): the Python API where there is no IPython.

No IPython shell runs there, so the live view has no after-cell hook and no display updates:
it must redraw from SQLAlchemy's events alone (on its timer thread), show a change that fires
no event once asked to (``refresh()``), and every step picture and the exercise must work. The
lesson runs in a fresh interpreter, so nothing of this test process (pytest, a shell) helps it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LESSON = Path(__file__).parents[2] / "notebooks" / "marimo" / "02_adding_instances.py"

SCRIPT = """
import importlib.util, json, sys, time
spec = importlib.util.spec_from_file_location("lesson", sys.argv[1])
lesson = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lesson)
outputs, defs = lesson.app.run()

from IPython import get_ipython
from sessionkit.render.diagram import StateDiagram

tracker, live = defs["tracker"], defs["live"]


def drawn():
    last = tracker.events[-1].seq
    deadline = time.monotonic() + 10
    while not live.frame["caption"].endswith(f"after event {last}") and time.monotonic() < deadline:
        time.sleep(0.02)
    return live.frame["caption"], last


drawn_by_events, last = drawn()
defs["ann"].name = "Annie"  # the session begins a transaction for it: an event
drawn()
defs["bo"].name = "Bob"  # the transaction is there: no event at all, yet Bo is dirty now
time.sleep(0.3)
before_refresh = {row[0]: row[4] for row in live.frame["objects"]["rows"]}
live.refresh()
after_refresh = {row[0]: row[4] for row in live.frame["objects"]["rows"]}

steps = [defs[name] for name in ("picture_1", "picture_2", "picture_3", "flush_picture", "picture_5", "picture_6")]
print(json.dumps({
    "shell": repr(get_ipython()),
    "last": last,
    "drawn_by_events": drawn_by_events,
    "live": live.live,
    "displayed": live.displayed,
    "states": {obj.label: obj.state.value for obj in tracker.snapshot()},
    "steps": [isinstance(step, StateDiagram) and step.compact for step in steps],
    "step_moves": [[move.label for move in step.moves] for step in steps],
    "asked": defs["flush_exercise"].asked.value,
    "right": str(defs["flush_exercise"].check("persistent")),
    "before_refresh": before_refresh["Author 2"],
    "after_refresh": after_refresh["Author 2"],
}))
"""


@pytest.fixture(scope="module")
def lesson_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    pytest.importorskip("marimo", reason="marimo is not installed (pip install marimo)")
    workdir = tmp_path_factory.mktemp("marimo-script")
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", SCRIPT, str(LESSON)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    facts: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return facts


def test_the_lesson_runs_where_there_is_no_ipython_shell(lesson_run: dict[str, object]) -> None:
    assert lesson_run["shell"] == "None"
    assert lesson_run["states"] == {
        "Author 1": "persistent",
        "Book 1": "persistent",
        "Author 2": "persistent",
        "Author 3": "persistent",
        "Author 4": "persistent",
        "Author 5": "persistent",
    }


def test_without_a_shell_the_live_view_redraws_from_events_alone(lesson_run: dict[str, object]) -> None:
    assert lesson_run["live"] is True
    assert lesson_run["displayed"] is False  # never shown through IPython: no display to update
    assert lesson_run["drawn_by_events"] == f"sessionkit live view: sessionmaker, after event {lesson_run['last']}"


def test_a_change_without_an_event_shows_after_refresh(lesson_run: dict[str, object]) -> None:
    assert "dirty" not in str(lesson_run["before_refresh"])  # no after-cell hook looked again
    assert "dirty" in str(lesson_run["after_refresh"])


def test_every_step_picture_shows_its_own_moves(lesson_run: dict[str, object]) -> None:
    assert lesson_run["steps"] == [True] * 6
    assert lesson_run["step_moves"] == [
        [],  # a new object: no hook fires, it just appears as transient
        ["Author 1", "Book 1"],
        ["Author 2", "Author 3"],
        ["Author 1", "Author 2", "Author 3", "Book 1"],
        ["Author 4", "Author 4", "Author 5"],  # Dan added and autoflushed, Eli added
        ["Author 5"],
    ]


def test_the_exercise_is_checked_against_the_real_session(lesson_run: dict[str, object]) -> None:
    assert lesson_run["asked"] == "persistent"
    assert str(lesson_run["right"]).startswith("Correct: it is persistent.")
