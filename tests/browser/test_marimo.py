"""The views and the marimo lesson in marimo, which renders anywidgets but not ipywidgets containers.

Each app is served by ``marimo run`` on 127.0.0.1 (no IPython there: marimo runs cells itself).
A small app shows ``tracker.view()`` and ``tracker.replay()``: both must render, and the
replay's own controls must move it (marimo carries the ``step`` trait to Python and the
``frame`` back). The lesson shipped in ``notebooks/marimo`` must show its step pictures, check
its exercise against the real session, and redraw its live view when a button runs a cell.
Skipped where marimo is not installed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import REPO_ROOT, save_screenshot
from tests.browser.helpers import DEEP_ALL, wait_for_tokens

pytestmark = pytest.mark.browser

APP = f"""\
import marimo

app = marimo.App()


@app.cell
def _():
    import sys
    sys.path.insert(0, {str(REPO_ROOT)!r})
    import marimo as mo
    from sqlalchemy import String, create_engine
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
    from sqlalchemy.pool import StaticPool
    import sessionkit

    class Base(DeclarativeBase):
        pass

    class Author(Base):
        __tablename__ = "author"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50))

    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    session = Session(engine)
    tracker = sessionkit.track(session, models=Base)
    ann = Author(name="Ann")
    session.add(ann)
    session.flush()
    return mo, tracker


@app.cell
def _(mo, tracker):
    live = mo.ui.anywidget(tracker.view())
    live
    return


@app.cell
def _(mo, tracker):
    replay = mo.ui.anywidget(tracker.replay())
    replay
    return
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def marimo_run(app: Path, workdir: Path) -> Iterator[str]:
    """The URL of ``app``, served by ``marimo run`` from ``workdir`` (stopped on leaving)."""
    pytest.importorskip("marimo", reason="marimo is not installed (pip install marimo)")
    port = _free_port()
    command = [sys.executable, "-m", "marimo", "run", str(app), "--headless"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-token"]
    log = (workdir / "marimo.log").open("wb")
    server = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                assert server.poll() is None, (workdir / "marimo.log").read_text()
                assert time.monotonic() < deadline, "marimo did not start"
                time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


@pytest.fixture
def marimo_app(tmp_path: Path) -> Iterator[str]:
    """The URL of the small app above."""
    (tmp_path / "lesson.py").write_text(APP)
    with marimo_run(tmp_path / "lesson.py", tmp_path) as url:
        yield url


def test_views_in_marimo(marimo_app: str, browser_page: Any, browser_monitor: Any) -> None:
    from playwright.sync_api import expect

    browser_page.goto(marimo_app)
    views = browser_page.locator(".sessionkit-view")
    expect(views).to_have_count(2, timeout=60_000)
    wait_for_tokens(browser_page, ".sessionkit-view", 0, {"Author 1": "persistent"})
    player = browser_page.locator(".sessionkit-player")
    caption = player.locator(".sessionkit-caption")
    expect(caption).to_contain_text("event 1 (step 1 of 6): Author 1 was created; it is transient.")
    wait_for_tokens(browser_page, ".sessionkit-player", 0, {"Author 1": "transient"})

    player.locator("button[aria-label='Next event']").click()
    expect(caption).to_contain_text("(step 2 of 6)")
    player.focus()
    browser_page.keyboard.press("End")
    expect(caption).to_contain_text("(step 6 of 6): Author 1 went from pending to persistent")
    wait_for_tokens(browser_page, ".sessionkit-player", 0, {"Author 1": "persistent"})
    save_screenshot(browser_page, "marimo-views", full_page=True)
    assert browser_monitor.page_errors == [], browser_monitor.page_errors


# Graphviz pictures outside the live views (open shadow roots searched too): the step pictures.
STEP_PICTURES = f"""() => {{
  const deepAll = {DEEP_ALL};
  return deepAll(document, 'svg g.graph').filter(g => !g.closest('.sessionkit-view')).length;
}}"""


def _step_pictures(page: Any) -> int:
    return int(page.evaluate(f"({STEP_PICTURES})()"))


LESSON = REPO_ROOT / "notebooks" / "marimo" / "02_adding_instances.py"
# Ann, her book Dune, Bo, Cy, Dan and Eli: all persistent once the lesson has committed.
LESSON_END = {"Author 1": "persistent", "Book 1": "persistent"} | {f"Author {n}": "persistent" for n in range(2, 6)}


def test_the_marimo_lesson_checks_its_exercise_and_redraws_when_a_cell_runs(
    tmp_path: Path, browser_page: Any, browser_monitor: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    with marimo_run(LESSON, tmp_path) as url:
        page.goto(url)
        views = page.locator(".sessionkit-view")
        expect(views).to_have_count(2, timeout=60_000)  # the live view at the top and again under "Try it"
        for index in range(2):
            wait_for_tokens(page, ".sessionkit-view", index, LESSON_END)
        # The flush's picture waits for the exercise's answer; steps 1, 2, 3, 5 and 6 show now.
        assert _step_pictures(page) == 5
        save_screenshot(page, "marimo-lesson-start", full_page=True)

        prompt = page.get_by_text("Pick a state above", exact=False)
        expect(prompt).to_be_visible()
        page.get_by_role("radio", name="pending").check()
        expect(page.get_by_text("Not quite: you said pending, but state_of() says persistent")).to_be_visible()
        page.get_by_role("radio", name="persistent").check()
        expect(page.get_by_text("Correct: it is persistent. (Your first answer is the one that counts")).to_be_visible()
        page.wait_for_function(f"() => ({STEP_PICTURES})() === 6")
        expect(page.get_by_text("INSERT INTO book").first).to_be_visible()
        page.get_by_role("heading", name="Step 4").scroll_into_view_if_needed()
        save_screenshot(page, "marimo-lesson-exercise-answered")

        page.get_by_role("button", name="Add an author and flush").click()
        expect(page.get_by_text("Added Guest: it is persistent")).to_be_visible(timeout=30_000)
        after = LESSON_END | {"Author 6": "persistent"}
        for index in range(2):
            wait_for_tokens(page, ".sessionkit-view", index, after)
        try_it = page.locator(".sessionkit-view").nth(1)
        try_it.scroll_into_view_if_needed()
        save_screenshot(try_it, "marimo-lesson-view-after-a-click")
        save_screenshot(page, "marimo-lesson-end", full_page=True)
        assert browser_monitor.blocked == [], browser_monitor.blocked
        assert browser_monitor.page_errors == [], browser_monitor.page_errors
