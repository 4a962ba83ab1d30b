"""The committed lessons, read as a learner reads them with the kernel off, and as nbval compares them.

* Every step of the lessons that teach the tutorial's sections has a picture: each ``## Step``
  section of notebooks 2 and 3 holds at least one SVG diagram among its saved outputs, and
  notebook 1 holds at least three.
* nbval still checks the notebooks: at most a quarter of the cells with outputs are left
  uncompared (``nbval-ignore-output`` or ``NBVAL_IGNORE_OUTPUT``), and no step picture is.
* The live view of a lesson opens beside the notebook, and its saved copy shows the session as
  the notebook left it, which only an uncompared cell can hold (nbval compares what a cell first
  displayed).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.notebooks.test_execute_notebooks import script

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
STEP_HEADING = re.compile(r"^## Step\b.*$", re.MULTILINE)
HEADING = re.compile(r"^#{1,2} ", re.MULTILINE)
MOMENT = re.compile(r"after event (\d+)")
MAX_IGNORED = 0.25


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]


def text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def pictures(cell: Any) -> int:
    """How many SVG diagrams a code cell's saved outputs hold."""
    if cell.cell_type != "code":
        return 0
    return sum("<svg" in text(output.get("data", {}).get("image/svg+xml", "")) for output in cell.outputs)


def step_sections(nb: Any) -> dict[str, list[Any]]:
    """Each ``## Step ...`` heading with the cells up to the next heading of level 1 or 2."""
    sections: dict[str, list[Any]] = {}
    current: list[Any] | None = None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and HEADING.search(cell.source):
            step = STEP_HEADING.search(cell.source)
            current = sections.setdefault(step.group(0), []) if step else None
            continue
        if current is not None:
            current.append(cell)
    return sections


@pytest.mark.parametrize("name", ["02-adding-instances", "03-deleting-instances"])
def test_every_step_of_the_tutorial_lessons_shows_a_diagram(name: str) -> None:
    sections = step_sections(read(NOTEBOOKS / f"{name}.ipynb"))
    assert len(sections) >= 6, sorted(sections)
    bare = [heading for heading, cells in sections.items() if not any(pictures(cell) for cell in cells)]
    assert not bare, f"{name}: steps without a diagram in the saved notebook: {bare}"


def test_the_first_lesson_shows_at_least_three_diagrams() -> None:
    nb = read(NOTEBOOKS / "01-creating-a-session.ipynb")
    assert sum(pictures(cell) for cell in nb.cells) >= 3


@pytest.mark.parametrize("path", LESSONS, ids=[path.stem for path in LESSONS])
def test_nbval_compares_at_least_three_quarters_of_the_outputs(path: Path) -> None:
    nb = read(path)
    with_outputs = [cell for cell in nb.cells if cell.cell_type == "code" and cell.outputs]
    ignored = [cell for cell in with_outputs if script.nbval_ignores(cell)]
    if with_outputs:
        assert len(ignored) / len(with_outputs) <= MAX_IGNORED, f"{len(ignored)} of {len(with_outputs)} ignored"
    assert not [cell.source for cell in ignored if pictures(cell)], "a step picture nbval does not compare"


@pytest.mark.parametrize("path", LESSONS[1:8], ids=[path.stem for path in LESSONS[1:8]])
def test_the_live_view_opens_beside_the_lesson_and_was_saved_as_the_lesson_ended(path: Path) -> None:
    nb = read(path)
    views = [cell for cell in nb.cells if cell.cell_type == "code" and "%sessionkit view" in cell.source]
    assert len(views) == 1, [cell.source for cell in views]
    view = views[0]
    assert "%sessionkit view --side" in view.source
    assert script.nbval_ignores(view), "the saved view changes as later cells run: nbval cannot compare it"
    (output,) = view.outputs  # the copy in the side panel is not saved with the notebook
    saved = text(output.data["text/plain"])
    assert saved.startswith("This live view opens in a JupyterLab side panel")
    later = [
        int(moment)
        for cell in nb.cells
        if cell.cell_type == "code" and cell is not view
        for out in cell.outputs
        for moment in MOMENT.findall(text(out.get("text", "")) + text(out.get("data", {}).get("text/plain", "")))
    ]
    shown = [int(moment) for moment in MOMENT.findall(saved)]
    assert shown, saved
    assert shown[0] >= max(later, default=0), f"the saved view shows event {shown[0]}, the notebook reached {later}"
    assert "before any event" not in text(output.data["text/html"])
