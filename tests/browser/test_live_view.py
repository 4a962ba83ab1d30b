"""The live view in a real JupyterLab and Chromium, off-network: the tokens move as cells run.

A notebook tracks a session with ``%sessionkit``, shows ``%sessionkit view`` and then runs
add, flush, commit, delete and commit cells. After each one the diagram's SVG in the page
must show every token inside the box of its state (read from the rendered geometry), and
a screenshot of the view is kept under ``test-artifacts/browser/``. A replay of the
recorded events is scrubbed from Python at the end.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DEFAULT_TIMEOUT_MS, REPO_ROOT, save_screenshot

pytestmark = pytest.mark.browser

SETUP = f"""\
import sys
sys.path.insert(0, {str(REPO_ROOT)!r})  # the sessionkit under test
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

class Base(DeclarativeBase):
    pass

class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))

engine = create_engine("sqlite://", poolclass=StaticPool)
Base.metadata.create_all(engine)
session = Session(engine)"""

TRACK = "%load_ext sessionkit\n%sessionkit track session --models Base"
VIEW = "%sessionkit view"
VIEW_CELL = 2

# (cell, where every token must sit afterwards); the objects are held by variables, so none is collected.
STEPS: list[tuple[str, str, dict[str, str]]] = [
    (
        "add",
        'ann = Author(name="Ann")\nbob = Author(name="Bob")\nsession.add_all([ann, bob])',
        {"Author 1": "pending", "Author 2": "pending"},
    ),
    ("flush", "session.flush()", {"Author 1": "persistent", "Author 2": "persistent"}),
    ("commit", "session.commit()", {"Author 1": "persistent", "Author 2": "persistent"}),
    ("delete", "session.delete(bob)\nsession.flush()", {"Author 1": "persistent", "Author 2": "deleted"}),
    ("commit-delete", "session.commit()", {"Author 1": "persistent", "Author 2": "detached"}),
]
REPLAY = "replay = %sessionkit replay\nreplay"

# Counts Web Animations started on the page: the tokens slide between boxes.
COUNT_ANIMATIONS = """
(() => {
  window.__sessionkitAnimations = 0;
  const animate = Element.prototype.animate;
  Element.prototype.animate = function (...args) {
    window.__sessionkitAnimations += 1;
    return animate.apply(this, args);
  };
})();
"""

# Where each token of the diagram in one cell's output sits: {label: [states whose box holds it]}.
READ_TOKENS = """
([cellSelector, index]) => {
  const cell = document.querySelectorAll(cellSelector)[index];
  const svg = cell && cell.querySelector('.sessionkit-diagram svg');
  if (!svg) return null;
  const boxes = {};
  for (const g of svg.querySelectorAll('g.cluster')) {
    const title = g.querySelector(':scope > title');
    const shape = g.querySelector('path, polygon');
    if (title && shape) boxes[title.textContent.replace(/^cluster_/, '')] = shape.getBoundingClientRect();
  }
  const inside = (r, b) => r.width > 0 && r.left >= b.left - 0.5 && r.right <= b.right + 0.5
                           && r.top >= b.top - 0.5 && r.bottom <= b.bottom + 0.5;
  const tokens = {};
  for (const node of svg.querySelectorAll('g.node')) {
    const bold = node.querySelector('text[font-weight="bold"]');
    if (!bold) continue;
    const rect = node.getBoundingClientRect();
    tokens[bold.textContent.trim()] = Object.keys(boxes).filter(state => inside(rect, boxes[state]));
  }
  const moving = svg.getAnimations ? svg.getAnimations({subtree: true}).length : 0;
  return {states: Object.keys(boxes), tokens, moving};
}
"""


def read_tokens(page: Any, cell_selector: str, index: int) -> Any:
    return page.evaluate(READ_TOKENS, [cell_selector, index])


def wait_for_tokens(page: Any, cell_selector: str, index: int, expected: dict[str, str]) -> dict[str, Any]:
    """Wait until the diagram in cell ``index`` shows exactly ``expected`` (label -> state), at rest."""
    check = (
        f"(args) => {{ const seen = ({READ_TOKENS})(args.slice(0, 2)); const want = args[2];"
        " if (!seen || seen.moving) return false;"
        " const labels = Object.keys(seen.tokens);"
        " if (labels.length !== Object.keys(want).length) return false;"
        " return labels.every(l => want[l] !== undefined && seen.tokens[l].length === 1"
        " && seen.tokens[l][0] === want[l]); }"
    )
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_function(check, arg=[cell_selector, index, expected], timeout=DEFAULT_TIMEOUT_MS, polling=100)
    except PlaywrightTimeoutError as error:
        seen = read_tokens(page, cell_selector, index)
        pytest.fail(f"expected tokens {json.dumps(expected)}, the page shows {json.dumps(seen)} ({error})")
    seen = read_tokens(page, cell_selector, index)
    assert seen is not None
    return dict(seen)


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
    for number, (name, _, expected) in enumerate(STEPS, start=1):
        nb.run_cell(VIEW_CELL + number)
        wait_for_tokens(browser_page, selector, VIEW_CELL, expected)
        shots.append(save_screenshot(nb.output(VIEW_CELL), f"live-view-{number}-{name}"))
        animations = browser_page.evaluate("() => window.__sessionkitAnimations")
        assert animations > animations_before, f"no token moved or appeared after {name}"
        animations_before = animations

    caption = nb.output(VIEW_CELL).locator(".sessionkit-view").first.inner_text()
    assert "sessionkit live view: Session instance, after event" in caption

    replay_cell = VIEW_CELL + len(STEPS) + 1
    nb.run_cell(replay_cell)
    wait_for_tokens(browser_page, selector, replay_cell, {"Author 1": "transient"})  # step 1: Ann was created
    shots.append(save_screenshot(nb.output(replay_cell), "live-view-replay-first"))
    nb.execute("replay.show(replay.steps[-1])")
    wait_for_tokens(browser_page, selector, replay_cell, STEPS[-1][2])
    assert "session 1 committed." in nb.output(replay_cell).inner_text()
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
