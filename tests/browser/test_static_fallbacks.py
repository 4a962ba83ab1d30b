"""The static pictures a frontend shows when it cannot run sessionkit's widgets, opened with JavaScript off.

VS Code and Colab render anywidgets through their own widget managers, which cannot run here.
Where a frontend has no widget manager for them (an untrusted notebook, a Colab without the
custom widget manager, nbviewer, GitHub), it falls back to the other entries of each output's
mimebundle. Those fallbacks are checked here as a frontend gets them: the ``text/html`` of the
live view, of the replay and of an exercise, and the ``image/svg+xml`` of a step picture, put in
one page and opened in Chromium with JavaScript disabled. Every token must sit in the box of
its object's real state, the replay must show its last step and the list of steps, and the
exercise its question with the answer folded away.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

import sessionkit
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, VIEWPORT, BrowserMonitor, save_screenshot
from tests.browser.helpers import READ_TOKENS
from tests.conftest import make_engine
from tests.models import Author, Base, Book

pytestmark = pytest.mark.browser


def _bundle(obj: Any) -> dict[str, Any]:
    data = obj._repr_mimebundle_()
    return dict(data[0] if isinstance(data, tuple) else data)


@pytest.fixture
def fallback_page(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], int]]:
    """A page of every fallback, from a real session: Ann persistent, Bo pending, Cy deleted, Dune detached."""
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    session = Session(engine)
    with sessionkit.track(session, models=Base) as tracker:
        ann, bo, cy = Author(name="Ann"), Author(name="Bo"), Author(name="Cy")
        dune = Book(title="Dune", author=ann)
        session.add_all([ann, cy])
        session.commit()
        session.expunge(dune)
        session.delete(cy)
        session.flush()
        session.add(bo)
        view, replay, step = tracker.view(), tracker.replay(), tracker.step()
        exercise = sessionkit.Exercise("Which state is Bo in?", bo, hint="add(), no flush yet.")
        expected = {obj.label: obj.state.value for obj in tracker.snapshot()}
        events = len(tracker.events)
        sections = {
            "view": _bundle(view)["text/html"],
            "replay": _bundle(replay)["text/html"],
            # a frontend puts an image/svg+xml output straight into the page
            "step": f'<div class="sessionkit-diagram">{_bundle(step)["image/svg+xml"]}</div>',
            "exercise": _bundle(exercise)["text/html"],
        }
        view.close()
        replay.close()
    body = "\n".join(f'<section id="{name}">{html}</section>' for name, html in sections.items())
    page = tmp_path / "fallbacks.html"
    page.write_text(f'<!doctype html><html><meta charset="utf-8"><body>{body}</body></html>', encoding="utf-8")
    yield page, expected, events
    session.close()
    engine.dispose()


@pytest.fixture
def page_without_javascript(chromium_browser: Any, browser_monitor: BrowserMonitor) -> Iterator[Any]:
    context = chromium_browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.route("**/*", browser_monitor.handle_route)
    page = context.new_page()
    browser_monitor.attach(page)
    try:
        yield page
    finally:
        context.close()


def _tokens(page: Any, selector: str) -> dict[str, list[str]]:
    seen = page.evaluate(READ_TOKENS, [selector, 0])
    assert seen is not None, f"no diagram in {selector}"
    return dict(seen["tokens"])


def test_static_fallbacks_show_the_real_states_without_javascript(
    fallback_page: tuple[Path, dict[str, str], int], page_without_javascript: Any, browser_monitor: BrowserMonitor
) -> None:
    path, expected, events = fallback_page
    assert expected == {"Author 1": "persistent", "Book 1": "detached", "Author 2": "pending", "Author 3": "deleted"}
    page = page_without_javascript
    page.goto(path.as_uri())
    assert page.evaluate("() => typeof window") == "object"  # Playwright's own scripts still run
    assert page.locator("script").count() >= 1  # the replay's player is there, and did not run
    want = {label: [state] for label, state in expected.items()}
    assert _tokens(page, "#view") == want
    assert _tokens(page, "#replay") == want  # no script: the replay shows its last step
    assert (
        page.locator("#replay .sessionkit-caption")
        .inner_text()
        .startswith(f"sessionkit replay: Session instance, event {events} (step {events} of {events})")
    )
    assert page.locator("#replay details li").count() == events  # every step, listed
    assert _tokens(page, "#step") == want
    exercise = page.locator("#exercise")
    assert "Which state is Bo in?" in exercise.inner_text()
    answer = exercise.locator("details").last
    assert not answer.evaluate("el => el.open")  # folded away until the learner opens it
    assert "Answer" in answer.inner_text()
    assert "pending" not in answer.inner_text()  # hidden until opened
    assert "pending" in (answer.text_content() or "")
    save_screenshot(page, "static-fallbacks-without-javascript", full_page=True)
    assert browser_monitor.blocked == []
    assert browser_monitor.page_errors == []
