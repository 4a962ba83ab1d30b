"""The views in marimo, which renders anywidgets (``mo.ui.anywidget``) but not ipywidgets containers.

A marimo app tracks a session, shows ``tracker.view()`` and ``tracker.replay()``, and is
served by ``marimo run`` on 127.0.0.1. Both views must render, and the replay's own controls
must move it (marimo carries the ``step`` trait to Python and the ``frame`` back). Skipped
where marimo is not installed.
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
from tests.browser.helpers import wait_for_tokens

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


@pytest.fixture
def marimo_app(tmp_path: Path) -> Iterator[str]:
    """The URL of the app, served by ``marimo run`` (stopped after the test)."""
    pytest.importorskip("marimo", reason="marimo is not installed (pip install marimo)")
    (tmp_path / "lesson.py").write_text(APP)
    port = _free_port()
    command = [sys.executable, "-m", "marimo", "run", "lesson.py", "--headless"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-token"]
    log = (tmp_path / "marimo.log").open("wb")
    server = subprocess.Popen(command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                assert server.poll() is None, (tmp_path / "marimo.log").read_text()
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
