"""The saved replay.html, opened from disk in Chromium with every network request blocked: it plays by itself.

Play, the buttons, the slider and the arrow keys move the tokens from box to box, and the
caption names each step's event, exactly as the widget's player does (it is the same module).
Where scripts do not run, the page shows the last frame and the steps in words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sessionkit.jupyter.views import ReplayView
from tests.browser.conftest import save_screenshot
from tests.browser.test_replay import Player, check_player, tracked_lesson

pytestmark = pytest.mark.browser


def saved_lesson(folder: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The browser tests' lesson, saved as replay.html; what each step must show."""
    tracker = tracked_lesson()
    replay = ReplayView(tracker)
    try:
        path = replay.save(folder / "replay.html")
        expected = [
            {
                "seq": seq,
                "caption": replay.picture_at(seq).caption,
                "tokens": {obj.label: obj.state.value for obj in tracker.snapshot(at=seq)},
            }
            for seq in replay.steps
        ]
    finally:
        replay.close()
    return path, expected


def test_the_saved_replay_plays_from_disk_with_no_network(
    browser_page: Any, browser_monitor: Any, tmp_path: Path
) -> None:
    path, expected = saved_lesson(tmp_path)
    browser_page.goto(path.as_uri())
    browser_page.wait_for_selector(".sessionkit-player .sessionkit-diagram svg")
    scope = browser_page.locator(".sessionkit-replay-page")
    player = Player(browser_page, scope, ".sessionkit-replay-page", 0, expected)
    check_player(player, "saved-replay")
    save_screenshot(browser_page, "saved-replay-page", full_page=True)
    assert browser_monitor.blocked == [], browser_monitor.blocked  # it asked for nothing
    assert browser_monitor.page_errors == [], browser_monitor.page_errors


def test_without_scripts_the_saved_replay_shows_the_last_frame_and_the_steps(
    chromium_browser: Any, tmp_path: Path
) -> None:
    path, expected = saved_lesson(tmp_path)
    context = chromium_browser.new_context(java_script_enabled=False)  # as in a viewer that strips scripts
    context.route(
        "**/*", lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_()
    )
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        steps = page.locator(".sessionkit-replay-page details li").all_inner_texts()
        assert len(steps) == len(expected)
        assert steps[-1] == "Author 2 went from deleted to detached (deleted_to_detached, session 1)."
        assert page.locator(".sessionkit-replay-page .sessionkit-diagram svg").count() == 1
        assert f"after event {expected[-1]['seq']}" in page.locator(".sessionkit-replay-page").inner_text()
        save_screenshot(page, "saved-replay-no-scripts", full_page=True)
    finally:
        context.close()
