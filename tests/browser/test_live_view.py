"""The live view in a real JupyterLab and Chromium, off-network: the tokens move as cells run.

A notebook tracks a session with ``%sessionkit``, shows ``%sessionkit view`` (one anywidget)
and then runs add, flush, commit, delete and commit cells. After each one the diagram's SVG
in the page must show every token inside the box of its state (read from the rendered
geometry) and the identity map must say the same; a screenshot of the view is kept under
``test-artifacts/browser/``. A replay of the recorded events is moved from Python at the end,
and its own controls follow. The live view also renders in Voila.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import save_screenshot
from tests.browser.helpers import COUNT_ANIMATIONS, SETUP, STEPS, TRACK, identity_map, wait_for_tokens

pytestmark = pytest.mark.browser

VIEW = "%sessionkit view"
VIEW_CELL = 2
REPLAY = "replay = %sessionkit replay\nreplay"


def test_live_view_follows_add_flush_commit_delete(
    jupyter_server: Any, open_notebook: Any, browser_page: Any, browser_monitor: Any
) -> None:
    cells = [SETUP, TRACK, VIEW] + [code for _, code, _ in STEPS] + [REPLAY]
    jupyter_server.write_notebook("live_view.ipynb", cells)
    browser_page.add_init_script(COUNT_ANIMATIONS)
    nb = open_notebook("live_view.ipynb")
    selector = nb.CELL_SELECTOR
    shots: list[Path] = []

    for index in range(VIEW_CELL + 1):
        nb.run_cell(index)
    seen = wait_for_tokens(browser_page, selector, VIEW_CELL, {})
    assert seen["states"] == ["transient", "pending", "persistent", "deleted", "detached"]
    shots.append(save_screenshot(nb.output(VIEW_CELL), "live-view-0-empty"))

    animations_before = 0
    before: dict[str, str] = {}
    for number, (name, _, expected) in enumerate(STEPS, start=1):
        nb.run_cell(VIEW_CELL + number)
        wait_for_tokens(browser_page, selector, VIEW_CELL, expected)
        assert identity_map(nb.output(VIEW_CELL)) == expected, name
        shots.append(save_screenshot(nb.output(VIEW_CELL), f"live-view-{number}-{name}"))
        animations = browser_page.evaluate("() => window.__sessionkitAnimations")
        if expected != before:
            assert animations > animations_before, f"no token moved or appeared after {name}"
        else:  # calm frames: where no object changed state, nothing moves
            assert animations == animations_before, f"tokens moved after {name}, though none changed state"
        animations_before, before = animations, expected

    caption = nb.output(VIEW_CELL).locator(".sessionkit-caption").inner_text()
    assert caption.startswith("sessionkit live view: Session instance, after event")
    log = nb.output(VIEW_CELL).locator(".sessionkit-log li").all_inner_texts()
    assert log[-2:] == [
        "session 1 committed.",
        "Author 2 went from deleted to detached (deleted_to_detached, session 1).",
    ]
    sql = nb.output(VIEW_CELL).locator(".sessionkit-sql pre").all_inner_texts()
    assert sql[-1].startswith("DELETE FROM author WHERE author.id = ?")
    assert nb.output(VIEW_CELL).locator(".sessionkit-view").count() == 1  # one widget, nothing else

    replay_cell = VIEW_CELL + len(STEPS) + 1
    nb.run_cell(replay_cell)
    wait_for_tokens(browser_page, selector, replay_cell, {"Author 1": "transient"})  # step 1: Ann was created
    shots.append(save_screenshot(nb.output(replay_cell), "live-view-replay-first"))
    player = nb.output(replay_cell).locator(".sessionkit-player")
    assert player.locator(".sessionkit-position").inner_text().startswith("step 1 of ")
    nb.execute("replay.show(replay.steps[-1])")
    wait_for_tokens(browser_page, selector, replay_cell, STEPS[-1][2])
    caption = player.locator(".sessionkit-caption").inner_text()
    assert caption.endswith("): Author 2 went from deleted to detached (deleted_to_detached, session 1).")
    assert "session 1 committed." in player.locator(".sessionkit-log").inner_text()
    steps = player.locator(".sessionkit-position").inner_text().removeprefix("step ").split(" of ")
    assert steps[0] == steps[1]  # the player's own controls moved with the step set from Python
    assert player.locator("button[aria-label='Next event']").is_disabled()
    shots.append(save_screenshot(nb.output(replay_cell), "live-view-replay-last"))
    shots.append(save_screenshot(browser_page, "live-view-page", full_page=True))

    assert all(path.stat().st_size > 0 for path in shots)
    assert browser_monitor.blocked == [], browser_monitor.blocked
    assert browser_monitor.page_errors == [], browser_monitor.page_errors


LONG_CELL = """\
import time
kept = []
for name in ("Cy", "Di", "Ed"):
    kept.append(Author(name=name))
    session.add(kept[-1])
    time.sleep(2)
"""


def test_live_view_redraws_while_one_long_cell_runs(
    jupyter_server: Any, open_notebook: Any, browser_page: Any, browser_monitor: Any
) -> None:
    jupyter_server.write_notebook("long_cell.ipynb", [SETUP, TRACK, VIEW])
    nb = open_notebook("long_cell.ipynb")
    for index in range(VIEW_CELL + 1):
        nb.run_cell(index)
    wait_for_tokens(browser_page, nb.CELL_SELECTOR, VIEW_CELL, {})

    errors: list[BaseException] = []

    def run() -> None:
        try:
            nb.execute(LONG_CELL, timeout=60)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    cell = threading.Thread(target=run, name="long-cell")
    cell.start()
    try:
        expected: dict[str, str] = {}
        for number in (1, 2):
            expected[f"Author {number}"] = "pending"
            wait_for_tokens(browser_page, nb.CELL_SELECTOR, VIEW_CELL, expected)
            assert cell.is_alive(), "the cell ended before the view showed its progress"
            save_screenshot(nb.output(VIEW_CELL), f"long-cell-{number}-while-running")
    finally:
        cell.join(60)
    assert not errors, errors
    expected["Author 3"] = "pending"
    wait_for_tokens(browser_page, nb.CELL_SELECTOR, VIEW_CELL, expected)
    save_screenshot(nb.output(VIEW_CELL), "long-cell-3-done")
    assert browser_monitor.blocked == [], browser_monitor.blocked
    assert browser_monitor.page_errors == [], browser_monitor.page_errors


def test_live_view_in_voila(jupyter_server: Any, open_notebook: Any, browser_page: Any, browser_monitor: Any) -> None:
    jupyter_server.write_notebook("voila_view.ipynb", [SETUP, TRACK, VIEW, STEPS[0][1]])
    nb = open_notebook("voila_view.ipynb", mode="voila")
    nb.run_all()
    wait_for_tokens(browser_page, "#rendered_cells", 0, STEPS[0][2])  # the add cell ran after the view cell
    nb.execute(STEPS[1][1])  # a flush from the page's kernel: the view follows
    wait_for_tokens(browser_page, "#rendered_cells", 0, STEPS[1][2])
    assert identity_map(browser_page.locator("#rendered_cells")) == STEPS[1][2]
    save_screenshot(browser_page.locator(".sessionkit-view"), "voila-live-view")
    assert browser_monitor.page_errors == [], browser_monitor.page_errors
