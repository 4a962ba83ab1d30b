"""The replay driven by its own controls, in a real JupyterLab and in a page with no kernel at all.

In JupyterLab the notebook runs a small lesson, shows ``%sessionkit replay``, and the test
then uses only what a learner has: the step buttons, the slider, the arrow, Home and End
keys, and Play/Pause. After each move the caption must name the event of that step and every
token must sit in the box of its state at that moment (what ``tracker.snapshot(at=k)``
says, written by the kernel). The same JavaScript player then runs from frames embedded in a
plain page, with no kernel behind it, as a saved replay will.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import sessionkit
from sessionkit.jupyter.views import ReplayView
from tests.browser.conftest import save_screenshot
from tests.browser.helpers import COUNT_ANIMATIONS, SETUP, STEPS, TRACK, wait_for_tokens
from tests.models import Author, Base

pytestmark = pytest.mark.browser

REPLAY = "replay = %sessionkit replay\nreplay.interval_ms = 250\nreplay"
REPLAY_CELL = 2 + len(STEPS)
# Run in the page's kernel: what each step must show, as the tracker says.
EXPECTED = """\
import json, pathlib
pathlib.Path("replay_expected.json").write_text(json.dumps([
    {"seq": seq, "caption": replay.picture_at(seq).caption,
     "tokens": {obj.label: obj.state.value for obj in replay.tracker.snapshot(at=seq)}}
    for seq in replay.steps
]))
"""
# Every caption the player showed, in order (kept by a MutationObserver while it plays).
WATCH_CAPTIONS = """
(player) => {
  window.__captions = [];
  const caption = player.querySelector('.sessionkit-caption');
  new MutationObserver(() => window.__captions.push(caption.textContent))
    .observe(caption, {childList: true, characterData: true, subtree: true});
}
"""


def moves_of(expected: list[dict[str, Any]], label: str) -> list[int]:
    """The indices of the steps at which ``label`` changed state (its first appearance included)."""
    found, before = [], None
    for index, step in enumerate(expected):
        state = step["tokens"].get(label)
        if state is not None and state != before:
            found.append(index)
        before = state
    return found


class Player:
    """The replay in the page, used as a learner uses it."""

    def __init__(self, page: Any, scope: Any, scope_selector: str, index: int, expected: list[dict[str, Any]]) -> None:
        self.page = page
        self.root = scope.locator(".sessionkit-player")
        self.scope = (scope_selector, index)
        self.expected = expected

    def button(self, label: str) -> Any:
        return self.root.locator(f"button[aria-label='{label}']")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def shows(self, index: int, shot: str | None = None) -> None:
        """The player shows step ``index``: its caption, its tokens at rest, its place on the slider."""
        from playwright.sync_api import expect

        step = self.expected[index]
        expect(self.root.locator(".sessionkit-caption")).to_have_text(step["caption"])
        wait_for_tokens(self.page, *self.scope, step["tokens"])
        assert self.root.locator(".sessionkit-slider").input_value() == str(index)
        expect(self.root.locator(".sessionkit-position")).to_have_text(f"step {index + 1} of {len(self.expected)}")
        current = self.root.locator(".sessionkit-log li.sessionkit-current")
        expect(current).to_have_attribute("value", str(step["seq"]))
        if shot:
            save_screenshot(self.root, shot)

    def plays_to_the_end(self) -> list[str]:
        """Press Play, see it turn into Pause, and wait until it has played every step; the captions it showed."""
        from playwright.sync_api import expect

        self.root.evaluate(WATCH_CAPTIONS)
        play = self.root.locator(".sessionkit-play")
        play.click()
        expect(play).to_have_attribute("aria-label", "Pause")
        expect(play).to_have_attribute("aria-label", "Play", timeout=60_000)  # back to Play at the last step
        self.shows(len(self.expected) - 1)
        return list(self.page.evaluate("() => window.__captions"))


def check_player(player: Player, name: str) -> None:
    """Drive a player with its buttons, slider, keys and Play, checking each step it shows."""
    from playwright.sync_api import expect

    last = len(player.expected) - 1
    player.shows(0, f"{name}-1-first")
    expect(player.button("Previous event")).to_be_disabled()
    expect(player.button("First event")).to_be_disabled()

    player.button("Next event").click()
    player.shows(1)

    # The keys, with the focus on the player: Author 2 moves from box to box.
    player.root.focus()
    at = 1
    for move in moves_of(player.expected, "Author 2"):
        for _ in range(move - at):
            player.press("ArrowRight")
        at = max(at, move)
        player.shows(at, f"{name}-2-author-2-{player.expected[at]['tokens']['Author 2']}")
    states = [player.expected[i]["tokens"]["Author 2"] for i in moves_of(player.expected, "Author 2")]
    assert states == ["transient", "pending", "persistent", "deleted", "detached"]
    player.press("ArrowLeft")
    player.shows(at - 1)
    player.press("End")
    player.shows(last)
    expect(player.button("Next event")).to_be_disabled()
    player.press("Home")
    player.shows(0)

    player.button("Last event").click()
    player.shows(last)
    player.button("Previous event").click()
    player.shows(last - 1)
    player.button("First event").click()
    player.shows(0)
    player.root.locator(".sessionkit-slider").fill(str(last // 2))
    player.shows(last // 2, f"{name}-3-slider")

    player.button("First event").click()
    player.shows(0)
    captions = player.plays_to_the_end()
    wanted = [step["caption"] for step in player.expected[1:]]
    seen = [caption for caption in dict.fromkeys(captions) if caption in wanted]
    assert seen == wanted, captions  # every step shown, in order
    save_screenshot(player.root, f"{name}-4-played")


def test_replay_by_its_own_controls_in_jupyterlab(
    jupyter_server: Any, open_notebook: Any, browser_page: Any, browser_monitor: Any
) -> None:
    cells = [SETUP, TRACK] + [code for _, code, _ in STEPS] + [REPLAY]
    jupyter_server.write_notebook("replay.ipynb", cells)
    nb = open_notebook("replay.ipynb")
    nb.run_all()
    nb.execute(EXPECTED)
    expected = json.loads((jupyter_server.root_dir / "replay_expected.json").read_text())
    assert expected[0]["caption"].startswith("sessionkit replay: Session instance, event 1 (step 1 of ")
    player = Player(browser_page, nb.output(REPLAY_CELL), nb.CELL_SELECTOR, REPLAY_CELL, expected)
    check_player(player, "replay-lab")
    save_screenshot(browser_page, "replay-lab-page", full_page=True)
    assert browser_monitor.blocked == [], browser_monitor.blocked
    assert browser_monitor.page_errors == [], browser_monitor.page_errors


# ---------------------------------------------------------------------- no kernel
def tracked_lesson() -> sessionkit.Tracker:
    """The lesson of the notebook, run here in this process, tracked."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    session = Session(engine)
    with sessionkit.track(session, models=Base) as tracker:
        ann, bob = Author(name="Ann"), Author(name="Bob")
        session.add_all([ann, bob])
        session.flush()
        session.commit()
        session.delete(bob)
        session.flush()
        session.commit()
    return tracker


def frames_of_a_lesson() -> tuple[list[int], list[dict[str, Any]], list[dict[str, Any]]]:
    """The lesson of the notebook run here, in this process: the steps, their frames, what each must show."""
    tracker = tracked_lesson()
    replay = ReplayView(tracker)
    try:
        steps = replay.steps
        frames = [dict(replay.picture_at(seq).frame()) for seq in steps]
        expected = [
            {
                "seq": seq,
                "caption": frame["caption"],
                "tokens": {obj.label: obj.state.value for obj in tracker.snapshot(at=seq)},
            }
            for seq, frame in zip(steps, frames, strict=True)
        ]
    finally:
        replay.close()
    return steps, frames, expected


def page_of(steps: list[int], frames: list[dict[str, Any]]) -> str:
    """A page that plays ``frames`` with the widget's own module: no kernel, no network."""
    from sessionkit.jupyter.widget import STATIC, view_module

    data = json.dumps({"steps": steps, "frames": frames, "interval": 150}).replace("</", "<\\/")
    module = view_module()
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>replay</title>"
        f"<style>{(STATIC / 'view.css').read_text()}</style></head><body>"
        f"<div id='replay'></div><script type='application/json' id='frames'>{data}</script>"
        f"<script type='module'>{module}\n"
        "const data = JSON.parse(document.getElementById('frames').textContent);\n"
        "mountPlayer(document.getElementById('replay'), framesSource(data));\n"
        "</script></body></html>"
    )


def test_the_player_runs_from_frames_embedded_in_a_page(browser_page: Any, browser_monitor: Any) -> None:
    steps, frames, expected = frames_of_a_lesson()
    browser_page.set_content(page_of(steps, frames))
    player = Player(browser_page, browser_page.locator("#replay"), "#replay", 0, expected)
    check_player(player, "replay-page")

    # The tokens slide from box to box, unless the reader asked for less motion.
    browser_page.evaluate(COUNT_ANIMATIONS)
    player.button("First event").click()
    player.shows(0)
    player.button("Next event").click()
    player.shows(1)
    assert browser_page.evaluate("() => window.__sessionkitAnimations") > 0
    browser_page.emulate_media(reduced_motion="reduce")
    browser_page.evaluate("() => { window.__sessionkitAnimations = 0; }")
    for index in (2, 3, 4):
        player.button("Next event").click()
        player.shows(index)
    assert browser_page.evaluate("() => window.__sessionkitAnimations") == 0
    assert browser_monitor.blocked == [], browser_monitor.blocked
    assert browser_monitor.page_errors == [], browser_monitor.page_errors
    assert [m for m in browser_monitor.console if m.startswith("[error]")] == []


HOSTILE = "<img src=x onerror=\"window.__ran = 'caption'\">"
HOSTILE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="window.__ran = 1">'
    "<script>window.__ran = 2</script>"
    '<g class="node" onclick="window.__ran = 3"><title>token</title><text font-weight="bold">Author 1</text></g>'
    '<a href="javascript:window.__ran = 4"><text>link</text></a>'
    '<image href="http://example.com/tracker.png" width="1" height="1"/>'
    '<use xlink:href="http://example.com/sprite.svg#x"/>'
    '<rect style="fill: url(http://example.com/paint)" width="1" height="1"/>'
    '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>'
    '<set attributeName="href" to="javascript:window.__ran = 5"/>'
    "</svg>"
)
READ_HOSTILE = """
() => {
  const view = document.querySelector('#picture .sessionkit-view');
  const svg = view.querySelector('.sessionkit-diagram svg');
  const attributes = Array.from(svg.querySelectorAll('*')).concat([svg])
    .flatMap(el => Array.from(el.attributes).map(a => a.name + '=' + a.value));
  return {
    ran: window.__ran === undefined ? null : String(window.__ran),
    caption: view.querySelector('.sessionkit-caption').textContent,
    cell: view.querySelector('.sessionkit-objects td').textContent,
    log: view.querySelector('.sessionkit-log li').textContent,
    sql: view.querySelector('.sessionkit-sql pre').textContent,
    elements: Array.from(svg.querySelectorAll('*')).map(el => el.localName),
    attributes,
    html: view.querySelectorAll('img, b, script').length,
  };
}
"""


def test_learner_data_never_runs_as_html_or_script(browser_page: Any, browser_monitor: Any) -> None:
    from sessionkit.jupyter.widget import view_module

    frame = {
        "caption": HOSTILE,
        "current": None,
        "svg": HOSTILE_SVG,
        "summary": "a hostile diagram",
        "problem": "",
        "dot": "",
        "objects": {"columns": ["object", "state"], "rows": [["<b>Author 1</b>", "pending"]], "more": 0},
        "log": [[1, HOSTILE]],
        "sql": [{"title": "t", "statements": [{"seq": 2, "sql": "</pre><script>x()</script>", "parameters": ""}]}],
        "note": "",
    }
    data = json.dumps(frame).replace("</", "<\\/")
    page = (
        "<!doctype html><html><body><div id='picture'></div>"
        f"<script type='application/json' id='frame'>{data}</script>"
        f"<script type='module'>{view_module()}\n"
        "createPicture(document.getElementById('picture'))"
        ".update(JSON.parse(document.getElementById('frame').textContent));\n"
        "</script></body></html>"
    )
    browser_page.set_content(page)
    browser_page.wait_for_selector("#picture .sessionkit-diagram svg")
    browser_page.locator("#picture g.node").dispatch_event("click")  # its onclick is gone
    seen = browser_page.evaluate(READ_HOSTILE)
    assert seen["ran"] is None
    assert seen["caption"] == seen["log"] == HOSTILE  # shown as the text it is
    assert seen["cell"] == "<b>Author 1</b>"
    assert seen["sql"] == "</pre><script>x()</script>"
    assert seen["html"] == 0
    assert not {"script", "foreignObject", "set"} & set(seen["elements"])
    assert [a for a in seen["attributes"] if a.startswith("on") or "example.com" in a or "javascript:" in a] == []
    assert browser_monitor.blocked == []  # nothing even tried to load from outside
    assert browser_monitor.page_errors == []
