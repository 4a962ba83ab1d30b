"""docs/writing-a-lesson.md, followed word for word in a fresh environment: the lesson runs, saves and passes nbval."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tests.fresh import run_fresh

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "writing-a-lesson.md"

#: Minutes the whole guide may take (most of it is pip, which reuses its cache).
TIMEOUT = 20 * 60


def sections() -> dict[str, list[tuple[str, str]]]:
    """Each numbered section's fenced blocks, as (language, text)."""
    text = GUIDE.read_text(encoding="utf-8")
    found = {}
    for part in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        number = part.split(".", 1)[0]
        found[number] = re.findall(r"^```(\w+)\n(.*?)^```$", part, flags=re.MULTILINE | re.DOTALL)
    return found


def lesson_notebook() -> nbformat.NotebookNode:
    cells = []
    for language, text in sections()["2"]:
        assert language in {"python", "markdown"}, language
        cells.append((new_code_cell if language == "python" else new_markdown_cell)(text.rstrip("\n")))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def commands(number: str) -> list[str]:
    return [text.strip() for language, text in sections()[number] if language == "bash"]


def test_the_guide_has_what_the_issue_asks_for() -> None:
    cells = "\n".join(text for _, text in sections()["2"])
    assert "class Course(Base)" in cells  # a new model
    assert "%sessionkit track Session --models Base" in cells  # tracking
    assert cells.count("%%sessionkit") == 1  # a step with a picture
    assert cells.count("quiz.ask(") == 1  # one exercise
    assert "--nbval " in commands("4")[0]  # and nbval's check, in strict mode
    assert "--nbval-lax" not in commands("4")[0]


@pytest.mark.slow
def test_following_the_guide_in_a_fresh_environment_gives_a_lesson_nbval_checks(tmp_path: Path) -> None:
    repository, lessons = tmp_path / "sessionkit", tmp_path / "my-lessons"
    git = shutil.which("git") or "git"
    tracked = subprocess.run([git, "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in tracked.splitlines():
        if (ROOT / name).is_file():
            (repository / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repository / name)
    lessons.mkdir()
    nbformat.write(lesson_notebook(), lessons / "my-lesson.ipynb")
    (sanitize,) = [text for language, text in sections()["4"] if language == "text"]
    (lessons / "nbval-sanitize.cfg").write_text(sanitize, encoding="utf-8")

    def guide(*steps: str) -> subprocess.CompletedProcess[str]:
        """The guide's own commands, in one shell: install in the repository, then work in the lessons folder."""
        script = "\n".join(["set -e", *commands("1"), f"cd {lessons}", *steps])
        return run_fresh([shutil.which("bash") or "/bin/bash", "-c", script], cwd=repository, timeout=TIMEOUT)

    saved = guide(*commands("3"))
    assert saved.returncode == 0, saved.stdout + saved.stderr
    nb = nbformat.read(lessons / "my-lesson.ipynb", as_version=4)
    shown = [output for cell in nb.cells for output in cell.get("outputs", [])]
    assert not [output for output in shown if output.output_type == "error"]
    texts = "\n".join(str(output.get("data", {}).get("text/plain", output.get("text", ""))) for output in shown)
    assert "Course 1 went from transient to pending" in texts  # the step's report
    assert "Answer: pending." in texts  # the exercise, as GitHub shows it
    assert any("<svg" in output.get("data", {}).get("text/html", "") for output in shown)  # the picture

    checked = guide(*commands("4"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"\b4 passed\b", checked.stdout), checked.stdout

    # The check can fail: a saved output that no longer matches what the code does.
    text = (lessons / "my-lesson.ipynb").read_text(encoding="utf-8")
    (lessons / "my-lesson.ipynb").write_text(text.replace("Answer: pending.", "Answer: persistent."), encoding="utf-8")
    broken = guide(*commands("4"))
    assert broken.returncode != 0
    assert "Answer: persistent." in broken.stdout
