"""Saved views tell the truth: executed by nbconvert (nbclient), a live view's saved output shows the final event."""

from __future__ import annotations

from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.browser.helpers import SETUP
from tests.notebooks.test_execute_notebooks import script

LESSON = [
    SETUP,
    "%load_ext sessionkit\ntracker = %sessionkit track session --models Base",
    "%sessionkit view",
    'ann = Author(name="Ann")\nsession.add(ann)',
    "session.flush()",
    "session.commit()",
    "session.delete(ann)\nsession.commit()",
    "len(tracker.events)",
]
VIEW = 2


def lesson(tmp_path: Path, *, ignored: bool = False) -> Path:
    cells = [new_code_cell(source) for source in LESSON]
    if ignored:
        cells[VIEW].metadata["tags"] = ["nbval-ignore-output"]
    path = tmp_path / "lesson.ipynb"
    nbformat.write(new_notebook(cells=cells), path)  # type: ignore[no-untyped-call]
    return path


def view_text(nb: nbformat.NotebookNode) -> str:
    outputs = nb.cells[VIEW].outputs
    assert len(outputs) == 1, outputs
    assert outputs[0].output_type == "display_data"
    return str(outputs[0].data["text/plain"])


def last_event(nb: nbformat.NotebookNode) -> int:
    return int(nb.cells[-1].outputs[0].data["text/plain"])


def test_nbconvert_saves_the_live_view_as_the_session_was_when_the_notebook_stopped(tmp_path: Path) -> None:
    path = lesson(tmp_path)
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    manager = KernelManager(kernel_name=script.CURRENT_ENV, kernel_spec_manager=script._CurrentEnvSpecs())
    NotebookClient(nb, km=manager, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    final = last_event(nb)
    text = view_text(nb)
    assert f"after event {final}" in text, text
    assert "Author 1 (1): persistent -> detached" in text or "deleted -> detached" in text, text
    html = nb.cells[VIEW].outputs[0].data["text/html"]
    assert f"after event {final}" in html  # the static picture too, not only its words


def test_the_notebook_script_writes_compared_views_as_nbval_sees_them_and_ignored_ones_as_they_ended(
    tmp_path: Path,
) -> None:
    compared = script.execute(lesson(tmp_path))
    assert "before any event" in view_text(compared)  # nbval compares what the cell displayed at the time
    ignored = script.execute(lesson(tmp_path, ignored=True))
    assert f"after event {last_event(ignored)}" in view_text(ignored)
