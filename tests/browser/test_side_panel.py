"""The live view in a JupyterLab side panel: it stays in sight, and its tokens move when a cell far below runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import save_screenshot
from tests.browser.helpers import SETUP, STEPS, TRACK, wait_for_tokens

pytestmark = pytest.mark.browser

VIEW_CELL = 2
FILLER = 20  # cells between the view and the work: the view's own output is far out of sight


def test_the_side_panel_follows_cells_far_below(
    jupyter_server: Any, open_notebook: Any, browser_page: Any, browser_monitor: Any
) -> None:
    from playwright.sync_api import expect

    filler = [f"# a cell of the lesson\nstep_{i} = {i}" for i in range(FILLER)]
    cells = [SETUP, TRACK, "%sessionkit view --side", *filler] + [code for _, code, _ in STEPS]
    jupyter_server.write_notebook("side_panel.ipynb", cells)
    nb = open_notebook("side_panel.ipynb")
    for index in range(VIEW_CELL + 1):
        nb.run_cell(index)
    side = browser_page.locator(".jupyterlab-sidecar")
    expect(side.locator(".sessionkit-diagram svg")).to_be_visible()
    note = nb.output(VIEW_CELL).locator(".sessionkit-side-note")
    expect(note).to_have_text("The live view is in the side panel on the right, in sight as you work further down.")
    first = VIEW_CELL + FILLER + 1
    for number, (name, _, expected) in enumerate(STEPS):
        nb.run_cell(first + number)
        wait_for_tokens(browser_page, ".jupyterlab-sidecar", 0, expected)
        expect(side.locator(".sessionkit-diagram svg")).to_be_in_viewport()
        if number in (0, len(STEPS) - 1):
            save_screenshot(browser_page, f"side-panel-{number + 1}-{name}")
    assert browser_monitor.blocked == [], browser_monitor.blocked
    assert browser_monitor.page_errors == [], browser_monitor.page_errors
