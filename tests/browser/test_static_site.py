"""The static course site (``scripts/build_site.py``), opened from disk in Chromium with every network request blocked.

The site is built from the committed notebooks (not re-executed) into a temporary folder. The
index links every lesson in order; lesson 4's saved ``%sessionkit replay`` output plays with its
own controls (the step buttons and the arrow keys), its caption naming each step's event, and no
page asks for anything but the files beside it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import REPO_ROOT, save_screenshot
from tests.browser.helpers import wait_for_tokens

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
# a script or stylesheet the page would fetch from a server
REMOTE_SOURCE = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built by the README's command into a temporary folder."""
    out = tmp_path_factory.mktemp("site") / "site"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "build_site.py"), "--out", str(out)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    return out


def test_the_site_has_a_page_per_lesson_and_loads_nothing_from_the_network(site: Path) -> None:
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == sorted(["index.html", *(f"{nb.stem}.html" for nb in NOTEBOOKS)])
    for page in site.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not REMOTE_SOURCE.search(text), f"{page.name} loads {REMOTE_SOURCE.search(text)}"
        assert not re.search(r"href=\"[^\"]*\.ipynb", text), f"{page.name} still links a notebook"


def test_the_index_leads_to_lesson_4_whose_replay_plays_offline(
    site: Path, browser_page: Any, browser_monitor: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto((site / "index.html").as_uri())
    links = page.locator("ul.sessionkit-lessons a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [f"{nb.stem}.html" for nb in NOTEBOOKS]
    save_screenshot(page, "site-index", full_page=True)

    links.filter(has_text="The whole lifecycle").click()
    expect(page).to_have_url((site / "04-the-whole-lifecycle.html").as_uri())
    page.wait_for_selector(".sessionkit-player .sessionkit-diagram svg")
    player = page.locator(".sessionkit-player").first
    caption = player.locator(".sessionkit-caption")
    expect(caption).to_have_text(re.compile(r"event 1 \(step 1 of \d+\): Author 1 was created; it is transient\."))
    wait_for_tokens(page, ".sessionkit-player", 0, {"Author 1": "transient"})

    player.locator("button[aria-label='Next event']").click()
    expect(caption).to_have_text(re.compile(r"event 2 \(step 2 of \d+\): session 1 began a transaction\."))
    expect(player.locator(".sessionkit-position")).to_contain_text("step 2 of")

    player.focus()
    page.keyboard.press("ArrowRight")
    expect(caption).to_have_text(
        re.compile(r"event 3 \(step 3 of \d+\): Author 1 went from transient to pending \(transient_to_pending,")
    )
    expect(player.locator(".sessionkit-log li.sessionkit-current")).to_contain_text("transient_to_pending")
    wait_for_tokens(page, ".sessionkit-player", 0, {"Author 1": "pending"})
    player.scroll_into_view_if_needed()
    save_screenshot(page, "site-lesson-4-replay-step-3")
    save_screenshot(player, "site-lesson-4-replay-player")

    page.keyboard.press("ArrowLeft")
    expect(caption).to_have_text(re.compile(r"event 2 \(step 2 of \d+\)"))
    assert browser_monitor.blocked == [], browser_monitor.blocked  # the pages asked for nothing
    assert browser_monitor.page_errors == [], browser_monitor.page_errors
