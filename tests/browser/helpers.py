"""What the browser tests share: a small lesson's cells, and reading the diagram's tokens off the page.

Where a token sits is read from the rendered geometry: a token is in a state when its box
lies inside that state's box, as a learner sees it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import DEFAULT_TIMEOUT_MS, REPO_ROOT

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

# (name, cell, where every token must sit afterwards); the objects are held by variables, so none is collected.
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

# Every element matching a selector, open shadow roots (marimo puts each widget in one) searched too.
DEEP_ALL = """(root, selector) => {
    const found = Array.from(root.querySelectorAll(selector));
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) found.push(...deepAll(el.shadowRoot, selector));
    return found;
  }"""

# Where each token of the diagram in the index-th element matching a selector sits:
# {label: [states whose box holds it]}, the state boxes in page order, and running animations.
READ_TOKENS = """
([scopeSelector, index]) => {
  const deepAll = __DEEP_ALL__;
  const scope = deepAll(document, scopeSelector)[index];
  const svg = scope && scope.querySelector('.sessionkit-diagram svg');
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
""".replace("__DEEP_ALL__", DEEP_ALL)


def read_tokens(page: Any, scope_selector: str, index: int) -> Any:
    return page.evaluate(READ_TOKENS, [scope_selector, index])


def wait_for_tokens(page: Any, scope_selector: str, index: int, expected: dict[str, str]) -> dict[str, Any]:
    """Wait until the diagram in the ``index``-th ``scope_selector`` shows ``expected`` (label: state), at rest."""
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
        page.wait_for_function(check, arg=[scope_selector, index, expected], timeout=DEFAULT_TIMEOUT_MS, polling=100)
    except PlaywrightTimeoutError as error:
        seen = read_tokens(page, scope_selector, index)
        pytest.fail(f"expected tokens {json.dumps(expected)}, the page shows {json.dumps(seen)} ({error})")
    seen = read_tokens(page, scope_selector, index)
    assert seen is not None
    return dict(seen)


def identity_map(scope: Any) -> dict[str, str]:
    """The identity map a view shows in the page: ``{object: state}``."""
    rows = scope.locator(".sessionkit-objects tbody tr").all()
    return {row.locator("td").nth(0).inner_text(): row.locator("td").nth(1).inner_text() for row in rows}


# Whether the event log of the view in the index-th element matching a selector shows its newest
# entry: the pane scrolls, and a learner should not have to scroll it to see what just happened.
NEWEST_EVENT_IN_SIGHT = """
([scopeSelector, index]) => {
  const scope = document.querySelectorAll(scopeSelector)[index];
  const body = scope && scope.querySelector('.sessionkit-log .sessionkit-pane-body');
  const newest = body && body.querySelector('li:last-child');
  if (!newest || !body.clientHeight) return false;
  const pane = body.getBoundingClientRect();
  const entry = newest.getBoundingClientRect();
  return entry.top >= pane.top - 1 && entry.bottom <= pane.bottom + 1;
}
"""


def wait_for_newest_event(page: Any, scope_selector: str, index: int) -> None:
    """Wait until the view's event log has its newest entry in sight."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        page.wait_for_function(NEWEST_EVENT_IN_SIGHT, arg=[scope_selector, index], timeout=5000, polling=100)
    except PlaywrightTimeoutError as error:
        pytest.fail(f"the event log does not show its newest entry ({error})")
